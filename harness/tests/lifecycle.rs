//! The real-name record lifecycle on the controllable clock, never sleeping:
//! R-CHK-2/3, R-PEND-1/2/3, R-QRY-1/2/3, R-PI, and the admin clock contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

const SECOND: i64 = 1000;
const HOUR: i64 = 3600 * SECOND;

#[tokio::test]
async fn r_chk_2_final_answers_leave_no_record_and_the_ai_is_free() {
    let mock = start_with(|c| c.identities.failure_fraction = 1.0).await;
    let client = mock.client();
    let (ai, name, id) = PRESET_OK;
    let ok = client.check(ai, name, id).await.unwrap();
    assert_eq!((code(&ok), ok.status(), ok.pi()), (0, Some(0), Some(PRESET_OK_PI)));
    // Nothing to query, and the same ai may be used again at once.
    assert_eq!(code(&client.query(ai).await.unwrap()), 2003);
    assert_eq!(client.check(ai, name, id).await.unwrap().status(), Some(0));
    // A failure (everyone unknown fails in this configuration) leaves nothing either; no pi.
    let failed = client.check(ai, "张三", &id_num(7)).await.unwrap();
    assert_eq!((failed.status(), failed.pi()), (Some(2), None));
    assert_eq!(code(&client.query(ai).await.unwrap()), 2003);
    assert_eq!(mock.live_records().await, 0);
}

#[tokio::test]
async fn r_pend_1_and_r_qry_2_pending_resolves_then_is_deleted_300_s_after_the_first_final_query() {
    let mock = start().await;
    let client = mock.client();
    let (ai, name, id) = PRESET_PENDING;
    let check = client.check(ai, name, id).await.unwrap();
    assert_eq!((check.status(), check.pi()), (Some(1), None));
    assert_eq!(mock.live_records().await, 1);
    // R-QRY-1: pending until the configured delay (30 s by default) has passed; query as often as you like.
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1));
    mock.advance(29 * SECOND).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1));
    mock.advance(2 * SECOND).await;
    let done = client.query(ai).await.unwrap();
    assert_eq!(done.status(), Some(0));
    let pi = done.pi().expect("a pi with status 0").to_owned();
    assert!(nppa_protocol::pi::parse(&pi).is_ok());
    // Queryable again within 300 s, with the same answer; the clock of deletion does not restart.
    mock.advance(299 * SECOND).await;
    assert_eq!(client.query(ai).await.unwrap().pi(), Some(pi.as_str()));
    assert_eq!(code(&client.check(ai, name, id).await.unwrap()), 2004);
    mock.advance(SECOND).await;
    assert_eq!(code(&client.query(ai).await.unwrap()), 2003);
    // Deleted records free their memory, and the ai can be submitted again (FAQ 222).
    assert_eq!(mock.live_records().await, 0);
    assert_eq!(client.check(ai, name, id).await.unwrap().status(), Some(1));
}

#[tokio::test]
async fn r_pend_3_a_record_never_queried_is_deleted_after_48_h() {
    let mock = start().await;
    let client = mock.client();
    let (ai, name, id) = PRESET_PENDING;
    client.check(ai, name, id).await.unwrap();
    mock.advance(48 * HOUR - SECOND).await;
    assert_eq!(mock.live_records().await, 1);
    assert_eq!(code(&client.check(ai, name, id).await.unwrap()), 2004);
    mock.advance(SECOND).await;
    assert_eq!(mock.live_records().await, 0);
    assert_eq!(code(&client.query(ai).await.unwrap()), 2003);
}

#[tokio::test]
async fn r_pend_2_checks_between_midnight_and_four_beijing_time_pend_until_four() {
    let mock = start().await;
    mock.set_clock(MIDNIGHT_BEIJING_MS + HOUR as u64).await; // 01:00 Beijing
    let client = mock.client();
    let (ai, name, id) = PRESET_OK;
    let check = client.check(ai, name, id).await.unwrap();
    assert_eq!(check.status(), Some(1), "a preset success pends during the outage");
    mock.set_clock(MIDNIGHT_BEIJING_MS + 4 * HOUR as u64 - 1000).await; // 03:59:59
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1));
    mock.set_clock(MIDNIGHT_BEIJING_MS + 4 * HOUR as u64).await; // 04:00
    let done = client.query(ai).await.unwrap();
    assert_eq!((done.status(), done.pi()), (Some(0), Some(PRESET_OK_PI)));
    // After 04:00 results come at once again.
    let again = client.check("another-ai", name, id).await.unwrap();
    assert_eq!(again.status(), Some(0));
}

#[tokio::test]
async fn r_pend_2_pending_people_in_the_outage_resolve_no_earlier_than_four() {
    let mock = start().await;
    mock.set_clock(MIDNIGHT_BEIJING_MS + 4 * HOUR as u64 - 10 * SECOND as u64).await; // 03:59:50
    let client = mock.client();
    let (ai, name, id) = PRESET_PENDING;
    assert_eq!(client.check(ai, name, id).await.unwrap().status(), Some(1));
    // 30 s delay would end at 04:00:20, later than 04:00: the delay wins.
    mock.advance(15 * SECOND).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1));
    mock.advance(15 * SECOND).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(0));
}

#[tokio::test]
async fn r_pi_the_same_person_gets_the_same_pi_from_every_enterprise_and_game() {
    let mock = start().await;
    let id = id_num(42);
    let mine = mock.client().check("ai-1", "张三", &id).await.unwrap();
    let other = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY).check("ai-2", "张三", &id).await.unwrap();
    assert_eq!(mine.status(), Some(0));
    assert_eq!(mine.pi(), other.pi());
    // The birth date is the pi's prefix.
    let pi = nppa_protocol::pi::parse(mine.pi().unwrap()).unwrap();
    assert_eq!(pi.birth_date.to_string(), "1990-01-01");
    // Another person gets another pi.
    let third = mock.client().check("ai-3", "张三", &id_num(43)).await.unwrap();
    assert_ne!(third.pi(), mine.pi());
}

#[tokio::test]
async fn r_chk_1_fixtures_and_fractions_decide_unknown_people() {
    let mock = start_with(|c| {
        c.identities.fixtures.push(nppa_mockserver::config::FixtureConfig {
            name: "李四".into(),
            id_num: id_num(5),
            outcome: nppa_mockserver::config::FixtureOutcome::Pending,
            delay_s: Some(600.0),
            then: Some(nppa_mockserver::config::FixtureOutcome::Failure),
        });
        c.identities.pending_fraction = 0.5;
    })
    .await;
    let client = mock.client();
    assert_eq!(client.check("fx", "李四", &id_num(5)).await.unwrap().status(), Some(1));
    mock.advance(599 * SECOND).await;
    assert_eq!(client.query("fx").await.unwrap().status(), Some(1));
    mock.advance(SECOND).await;
    assert_eq!(client.query("fx").await.unwrap().status(), Some(2));
    // With half of the unknown people pending, a population splits, and the same person always gets the same.
    let mut pending = 0;
    for n in 100..160u32 {
        let first = client.check(&format!("p{n}"), "王五", &id_num(n)).await.unwrap().status();
        if first == Some(1) {
            pending += 1;
        }
    }
    assert!((15..=45).contains(&pending), "{pending} of 60 pending");
}

#[tokio::test]
async fn admin_clock_contract() {
    let mock = start().await;
    let (status, clock) = mock.admin("GET", "/__admin/clock", None).await;
    assert_eq!(status, 200);
    let t0 = clock["now_ms"].as_u64().unwrap();
    assert!((NOON_BEIJING_MS..NOON_BEIJING_MS + 60_000).contains(&t0), "started at the configured time");
    let (_, after) = mock.admin("POST", "/__admin/clock", Some(json!({ "advance_ms": 3_600_000 }))).await;
    assert!(after["now_ms"].as_u64().unwrap() >= t0 + 3_600_000);
    let (_, set) = mock.admin("POST", "/__admin/clock", Some(json!({ "set_ms": 1_000_000_000_000u64 }))).await;
    let t1 = set["now_ms"].as_u64().unwrap();
    assert!((1_000_000_000_000..1_000_000_060_000).contains(&t1));
    // It keeps ticking from the new value.
    let mut later = mock.now_ms().await;
    while later == t1 {
        tokio::task::yield_now().await;
        later = mock.now_ms().await;
    }
    assert!(later > t1);
    let (status, error) = mock.admin("POST", "/__admin/clock", Some(json!({ "advance": 1 }))).await;
    assert_eq!(status, 400);
    assert!(error["error"].as_str().unwrap().contains("advance_ms"));
    // Past the range of Unix milliseconds: refused with a reason, and the clock is where it was (no wrap to 0).
    mock.freeze().await;
    let before = mock.now_ms().await;
    for change in [
        json!({ "advance_ms": i64::MAX }),
        json!({ "advance_ms": -(before as i64) - 1 }),
        json!({ "set_ms": u64::MAX }),
    ] {
        let (status, error) = mock.admin("POST", "/__admin/clock", Some(change.clone())).await;
        assert_eq!(status, 400, "{change}");
        assert!(error["error"].as_str().unwrap().contains("nothing changed"), "{error}");
        assert_eq!(mock.now_ms().await, before, "{change}");
    }
}

#[tokio::test]
async fn admin_reset_drops_records_and_quota_blocks() {
    let mock = start_with(|c| c.games[0].quota.query = Some(1)).await;
    mock.freeze().await;
    let client = mock.client();
    let (ai, name, id) = PRESET_PENDING;
    client.check(ai, name, id).await.unwrap();
    assert_eq!(code(&client.query(ai).await.unwrap()), 0);
    assert_eq!(code(&client.query(ai).await.unwrap()), 1006);
    let (status, _) = mock.admin("POST", "/__admin/reset", None).await;
    assert_eq!(status, 200);
    assert_eq!(mock.live_records().await, 0);
    assert_eq!(code(&client.query(ai).await.unwrap()), 2003, "no block, no record");
}

#[tokio::test]
async fn r_qry_5_a_query_answers_only_the_enterprise_that_submitted_the_check() {
    // V2.1, query: "面向已经提交用户实名认证且没有返回结果的游戏运营单位"; 2003: "无该编码提交的实名认证记录".
    let mock = start().await;
    mock.freeze().await;
    let owner = mock.client();
    let other = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    let (ai, name, id) = PRESET_PENDING;
    assert_eq!(owner.check(ai, name, id).await.unwrap().status(), Some(1));
    assert_eq!(code(&other.query(ai).await.unwrap()), 2003, "another enterprise sees no record");
    mock.advance(31 * SECOND).await;
    // Once resolved: the other enterprise still gets 2003, gets no pi, and starts no 300 s deletion.
    let leak = other.query(ai).await.unwrap();
    assert_eq!((code(&leak), leak.pi()), (2003, None));
    mock.advance(301 * SECOND).await;
    let mine = owner.query(ai).await.unwrap();
    assert_eq!((code(&mine), mine.status()), (0, Some(0)), "the owner's record is untouched");
    mock.advance(301 * SECOND).await;
    assert_eq!(code(&owner.query(ai).await.unwrap()), 2003, "deleted 300 s after the owner's first final query");
}
