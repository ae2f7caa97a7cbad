//! A second hostile review of `nppa certify`, through the real mock, aimed at the rules new or rewritten since the
//! first (BEH-PAIRS, BEH-RECORD, FLT-RETRIES, FLT-RESENDS, RN-QUERY, RN-DISCIPLINE, `--journal`). Each test asserts
//! the CORRECT verdict: where certify is wrong today, the test fails.
//! - false findings: a correct client behaviour that a rule flags (`…_is_not_flagged`);
//! - missed bugs: a wrong client behaviour visible in the traffic that every rule passes (`…_is_caught`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::judging::*;
use common::*;

use nppa_harness::certify::rules::Profile;
use nppa_mockserver::faults::FaultAction;
use nppa_protocol::messages::BehaviourRecord;
use nppa_protocol::{Interface, StatusCode};

fn other(mock: &Mock) -> nppa_harness::client::Client {
    mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY)
}

fn with_di(mut record: BehaviourRecord, di: &str) -> BehaviourRecord {
    record.di = Some(di.into());
    record
}

// ------------------------------------------------------------------------------------------------------------------
// False findings: si and ai are game-internal identifiers, yet the rules key them alone
// ------------------------------------------------------------------------------------------------------------------

/// Two enterprises, each with its own game and its own game server that numbers its sessions from 1 (V2.1
/// collections[n].si: "游戏内部会话标识" — a game-internal id; ai likewise "游戏内部成员标识"). Each reports one guest
/// session "1" of its own device, login then logout, at the same seconds.
async fn two_games_numbering_sessions_from_1(mock: &Mock) {
    mock.freeze().await;
    let now = mock.now_ms().await;
    let mine = mock.client();
    let theirs = other(mock);
    let login = |di| with_di(guest(1, "1", 1, now), di);
    assert_eq!(code(&mine.loginout(vec![login("my-device")]).await.unwrap()), 0);
    assert_eq!(code(&theirs.loginout(vec![login("their-device")]).await.unwrap()), 0);
    mock.advance(30_000).await;
    let now = mock.now_ms().await;
    let logout = |di| with_di(guest(1, "1", 0, now), di);
    assert_eq!(code(&mine.loginout(vec![logout("my-device")]).await.unwrap()), 0);
    assert_eq!(code(&theirs.loginout(vec![logout("their-device")]).await.unwrap()), 0);
}

#[tokio::test]
async fn beh_session_two_games_each_numbering_their_sessions_from_1_is_not_flagged() {
    let mock = start().await;
    two_games_numbering_sessions_from_1(&mock).await;
    not_failed(&report(&mock, Profile::Behaviour), "BEH-SESSION");
}

#[tokio::test]
async fn beh_pairs_two_games_each_numbering_their_sessions_from_1_is_not_flagged() {
    // As above, but B's player logs in 1 s after A's and out 1 s after A's: A login, B login, A logout, B logout.
    let mock = start().await;
    mock.freeze().await;
    let now = mock.now_ms().await;
    let at = |mut record: BehaviourRecord, seconds_ago: i64| {
        record.ot -= seconds_ago;
        record
    };
    assert_eq!(
        code(&mock.client().loginout(vec![at(with_di(guest(1, "1", 1, now), "my-device"), 1)]).await.unwrap()),
        0
    );
    assert_eq!(code(&other(&mock).loginout(vec![with_di(guest(1, "1", 1, now), "their-device")]).await.unwrap()), 0);
    mock.advance(30_000).await;
    let now = mock.now_ms().await;
    assert_eq!(
        code(&mock.client().loginout(vec![at(with_di(guest(1, "1", 0, now), "my-device"), 1)]).await.unwrap()),
        0
    );
    assert_eq!(code(&other(&mock).loginout(vec![with_di(guest(1, "1", 0, now), "their-device")]).await.unwrap()), 0);
    not_failed(&report(&mock, Profile::Behaviour), "BEH-PAIRS");
}

#[tokio::test]
async fn beh_resend_two_games_each_numbering_their_sessions_from_1_is_not_flagged() {
    let mock = start().await;
    two_games_numbering_sessions_from_1(&mock).await;
    not_failed(&report(&mock, Profile::Behaviour), "BEH-RESEND");
}

#[tokio::test]
async fn rn_query_two_games_using_the_same_ai_is_not_flagged() {
    // `rules.ai_namespace = "per_game"` (SPEC §4, 2004 row: an option): each game names its accounts its own way, and
    // both have a player "player-1". Game A's player-1 pends and A queries it 2 s later; meanwhile game B's
    // player-1 was checked and succeeded. A queries its own pending ai; it knows no result of it.
    let mock = start_with(|c| c.rules.ai_namespace = nppa_mockserver::config::AiNamespace::PerGame).await;
    mock.freeze().await;
    let (_, pending_name, pending_id) = PRESET_PENDING;
    assert_eq!(mock.client().check("player-1", pending_name, pending_id).await.unwrap().status(), Some(1));
    mock.advance(500).await;
    let theirs = other(&mock).check("player-1", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(theirs.status(), Some(0), "{}", theirs.response_body);
    mock.advance(1_500).await;
    let mine = mock.client().query("player-1").await.unwrap();
    assert_eq!(mine.status(), Some(1), "the mock answers A its own pending record: {}", mine.response_body);
    not_failed(&report(&mock, Profile::Behaviour), "RN-QUERY");
}

#[tokio::test]
async fn flt_retries_another_enterprise_checking_the_same_person_is_not_a_retry_of_its_failed_check() {
    // FAQ 169/235: one idNum may be checked in any game. Enterprise A's check of a person got HTTP 502 and A, failing
    // open, gave that call up; 20 ms later enterprise B (another company, another game, its own credentials) checks
    // the same person for its own player. That is not A retrying, let alone "not spaced".
    let mock = start().await;
    mock.freeze().await;
    let bad_gateway = Some(FaultAction::HttpStatus { status: 502, body: None });
    one_fault(&mock, production_fault(Interface::Check, bad_gateway, None, 1));
    let a = mock.client().check("a-player", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(a.http_status, 502);
    mock.advance(20).await;
    let b = other(&mock).check("b-player", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(code(&b), 0);
    mock.advance(1_000).await;
    mock.client().query("a-player").await.ok(); // A goes on
    not_failed(&report(&mock, Profile::Faults), "FLT-RETRIES");
}

// ------------------------------------------------------------------------------------------------------------------
// False findings: FAQ 252's re-send of a failed report after 3 minutes, with ot shifted
// ------------------------------------------------------------------------------------------------------------------

/// FAQ 252: "如果没有上报成功需要重新上报。如果超过3分钟后重新上报用户行为数据，可以按系统上次上报时间戳和当前上报时间戳的差值
/// 作为偏移量，用户行为实际发生时间累加该偏移量进行数据上报". The login's report got HTTP 502 (nothing taken, nothing
/// readable); NPPA stays unreachable for 200 s; the client re-sends the login with ot shifted by the 200 s, as FAQ
/// 252 says, then reports the logout.
async fn login_resent_after_3_minutes_with_ot_shifted(mock: &Mock) {
    mock.freeze().await;
    let bad_gateway = Some(FaultAction::HttpStatus { status: 502, body: None });
    one_fault(mock, production_fault(Interface::Loginout, bad_gateway, None, 1));
    let client = mock.client();
    let now = mock.now_ms().await;
    let login = guest(1, "faq-252", 1, now);
    assert_eq!(client.loginout(vec![login.clone()]).await.unwrap().http_status, 502);
    mock.advance(200_000).await;
    let shifted = BehaviourRecord { ot: login.ot + 200, ..login };
    assert_eq!(code(&client.loginout(vec![shifted]).await.unwrap()), 0, "the shifted login passes R-BEH-TIME");
    mock.advance(5_000).await;
    let now = mock.now_ms().await;
    assert_eq!(code(&client.loginout(vec![guest(1, "faq-252", 0, now)]).await.unwrap()), 0);
}

#[tokio::test]
async fn beh_pairs_a_login_resent_after_3_minutes_with_ot_shifted_as_faq_252_says_is_not_flagged() {
    let mock = start().await;
    login_resent_after_3_minutes_with_ot_shifted(&mock).await;
    not_failed(&report(&mock, Profile::Behaviour), "BEH-PAIRS");
}

#[tokio::test]
async fn flt_resends_a_login_resent_after_3_minutes_with_ot_shifted_as_faq_252_says_is_not_flagged() {
    let mock = start().await;
    login_resent_after_3_minutes_with_ot_shifted(&mock).await;
    not_failed(&report(&mock, Profile::Faults), "FLT-RESENDS");
}

// ------------------------------------------------------------------------------------------------------------------
// Missed bugs
// ------------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_ai_queried_only_with_another_enterprise_s_credentials_is_caught() {
    // R-QRY-5: a record belongs to the enterprise that submitted its check; another appId's query gets 2003 and
    // learns nothing. A multi-tenant SDK that queries with the wrong tenant's credentials never learns the result of
    // A's pending player. RN-QUERY keys checks by ai alone, so B's query finds A's check; RN-DISCIPLINE counts B's
    // query as A's ai queried.
    let mock = start().await;
    let (ai, name, id_num) = PRESET_PENDING;
    assert_eq!(mock.client().check(ai, name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    let wrong = other(&mock).query(ai).await.unwrap();
    assert_eq!(code(&wrong), StatusCode::NoAuthRecord.code(), "{}", wrong.response_body);
    mock.advance(2_000).await;
    let report = report(&mock, Profile::Behaviour);
    assert!(report.failed().next().is_some(), "a pending ai only ever queried under another appId (2003) passes");
}

#[tokio::test]
async fn records_refused_1006_and_never_sent_again_are_caught() {
    // The plan's loginout 1006: the answer is readable and says NPPA took nothing. FAQ 252: "如果没有上报成功需要重新
    // 上报" (R-BEH-4), after the 60 s block (R-RL-2) and well inside the 180 s window. A client that drops the
    // records after a 1006 loses the login; FLT-RESENDS only looks at answers the client could not read.
    let mock = start().await;
    mock.freeze().await;
    one_fault(
        &mock,
        production_fault(Interface::Loginout, Some(FaultAction::Status { errcode: StatusCode::Busy }), None, 1),
    );
    let client = mock.client();
    let now = mock.now_ms().await;
    assert_eq!(code(&client.loginout(vec![guest(1, "dropped-after-1006", 1, now)]).await.unwrap()), 1006);
    mock.advance(1_000).await;
    client.check("goes-on", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    mock.advance(200_000).await; // past the window: the login can no longer be reported
    client.query("goes-on").await.ok();
    let report = report(&mock, Profile::Faults);
    assert!(report.failed().next().is_some(), "a login refused 1006 and never re-sent passes --profile faults");
}

#[tokio::test]
async fn beh_pairs_a_login_and_logout_in_the_same_second_flushed_by_two_workers_is_not_flagged() {
    // A player whose client crashes while loading: login and logout within one second (ot in seconds, equal). Two
    // workers flush at once and the logout's report arrives first. Nothing says the logout came first; ordering by
    // ot then arrival reads it as a bt swap.
    let mock = start().await;
    mock.freeze().await;
    let now = mock.now_ms().await;
    let client = mock.client();
    assert_eq!(code(&client.loginout(vec![guest(1, "quick-crash", 0, now)]).await.unwrap()), 0);
    assert_eq!(code(&client.loginout(vec![guest(1, "quick-crash", 1, now)]).await.unwrap()), 0);
    not_failed(&report(&mock, Profile::Behaviour), "BEH-PAIRS");
}

// ------------------------------------------------------------------------------------------------------------------
// What certify gets right (kept as guards)
// ------------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn right_today_a_content_type_in_other_case_with_a_charset_and_a_first_report_of_logouts_after_a_restart() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let body = nppa_protocol::messages::CheckRequest {
        ai: "java-style".into(),
        name: PRESET_OK.1.into(),
        id_num: PRESET_OK.2.into(),
    };
    let target = nppa_protocol::request::Target::Production;
    let mut signed = nppa_protocol::request::check(client.credentials(), &target, &body, now, rand::random());
    for (name, value) in signed.headers.iter_mut() {
        if name.eq_ignore_ascii_case("content-type") {
            *name = "content-type";
            *value = "Application/JSON;charset=UTF-8".into();
        }
    }
    assert_eq!(code(&client.send(signed).await.unwrap()), 0);
    assert_eq!(code(&client.loginout(vec![guest(1, "opened-by-the-last-process", 0, now)]).await.unwrap()), 0);
    let report = report(&mock, Profile::Behaviour);
    for id in ["ENV-CONTENT-TYPE", "BEH-PAIRS", "BEH-BATCH", "BEH-RECORD"] {
        not_failed(&report, id);
    }
}

#[tokio::test]
async fn journal_rejudging_a_run_passed_with_a_wider_query_spacing_tolerance_is_not_flagged() {
    // README: "`--journal FILE` judges recorded traffic again as it was judged live when the run's report.json lies
    // beside it". A vendor whose game polls a pending ai every 600 ms ran `nppa certify --query-spacing 500ms` and
    // passed; report.json does not record the tolerances, so judging its journal again fails it.
    let mock = start().await;
    mock.freeze().await;
    let client = mock.client();
    let (ai, name, id_num) = PRESET_PENDING;
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    client.query(ai).await.unwrap();
    mock.advance(600).await;
    client.query(ai).await.unwrap();
    let entries = entries(&mock);
    let thresholds = nppa_harness::certify::traffic::Thresholds { query_spacing_ms: 500, ..Default::default() };
    let config = mock.server.service().config();
    let mut live =
        nppa_harness::certify::judge_with(&entries, config, Profile::Behaviour, vec![], vec![Some(0)], thresholds);
    live.runs_after_id = vec![0];
    not_failed(&live, "RN-QUERY");
    let dir = std::env::temp_dir().join(format!("certify-review2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal: String = entries.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    std::fs::write(dir.join("journal.jsonl"), journal).unwrap();
    std::fs::write(dir.join("report.json"), serde_json::to_string(&live).unwrap()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_nppa"))
        .args(["certify", "--journal"])
        .arg(dir.join("journal.jsonl"))
        .arg("--out")
        .arg(dir.join("again"))
        .output()
        .unwrap();
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("again/report.json"))
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr))),
    )
    .unwrap();
    let rn_query = again["rules"].as_array().unwrap().iter().find(|r| r["id"] == "RN-QUERY").unwrap();
    assert_ne!(rn_query["verdict"], "failed", "judged again, not as it was judged live: {rn_query}");
}
