//! A hostile review of `nppa certify`, through the real mock. Each test asserts the CORRECT verdict: where certify
//! is wrong today, the test fails. Two kinds:
//! - false findings: a correct client behaviour that a rule flags (`…_is_not_flagged`, `…_passes`);
//! - missed bugs: a wrong client behaviour visible in the traffic that every rule passes (`…_is_caught`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::judging::*;
use common::*;
use nppa_harness::certify::model::{CertifyReport, RuleResult, Verdict};
use nppa_harness::certify::reference;
use nppa_harness::certify::rules::Profile;
use nppa_harness::certify::traffic::Thresholds;
use nppa_harness::certify::{fault_plan, judge, judge_runs, outcomes};
use nppa_mockserver::faults::FaultAction;
use nppa_protocol::messages::{BehaviourRecord, CheckRequest};
use nppa_protocol::request::{self, Target};
use nppa_protocol::Interface;

fn no_rule_failed(report: &CertifyReport, what: &str) {
    let failed: Vec<String> = report.failed().map(|r| format!("{}: {}", r.id, text(r))).collect();
    assert!(failed.is_empty(), "{what}: false findings:\n{}", failed.join("\n"));
}

/// Every finding of every failed rule, one line each.
fn all_findings(report: &CertifyReport) -> String {
    report.failed().map(|r| format!("{}: {}", r.id, text(r))).collect()
}

// ------------------------------------------------------------------------------------------------------------------
// False findings
// ------------------------------------------------------------------------------------------------------------------

/// A careful client whose first query of a pending ai meets the plan's reset: it retries once 200 ms later, then
/// polls the still-pending ai every 3 s (V2.1 FAQ 3 only asks not to query "frequently").
async fn reset_then_polling(mock: &Mock) {
    one_fault(mock, production_fault(Interface::Query, Some(FaultAction::Reset), None, 1));
    let client = mock.client();
    let (ai, name, id_num) = PRESET_PENDING;
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    assert!(client.query(ai).await.is_err(), "the reset");
    mock.advance(200).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1), "the retry");
    for _ in 0..4 {
        mock.advance(3_000).await;
        client.query(ai).await.unwrap();
    }
}

#[tokio::test]
async fn flt_retries_polling_a_pending_ai_after_a_reset_that_was_retried_once_is_not_flagged() {
    let mock = start().await;
    reset_then_polling(&mock).await;
    // One retry, 200 ms after the reset; the four queries after it are polls of a pending result, not retries.
    not_failed(&report(&mock, Profile::Faults), "FLT-RETRIES");
}

#[tokio::test]
async fn rn_query_a_retry_200_ms_after_a_reset_is_not_flagged_when_a_faults_journal_is_judged_again() {
    // `nppa certify --journal DIR/journal.jsonl` judges with the default profile, `all`, which includes RN-QUERY.
    let mock = start().await;
    reset_then_polling(&mock).await;
    not_failed(&report(&mock, Profile::All), "RN-QUERY");
}

#[tokio::test]
async fn rn_query_querying_the_ai_of_a_check_whose_answer_was_cut_is_not_flagged() {
    // The check reached the mock and pended, but the client got half an answer: querying the ai is how it learns
    // the result (and a re-check would get 2004).
    let mock = start().await;
    one_fault(&mock, production_fault(Interface::Check, Some(FaultAction::Truncate), None, 1));
    let client = mock.client();
    let (ai, name, id_num) = PRESET_PENDING;
    assert!(client.check(ai, name, id_num).await.is_err(), "a cut answer is no answer");
    mock.advance(2_000).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1), "the check did create a pending record");
    not_failed(&report(&mock, Profile::All), "RN-QUERY");
}

#[tokio::test]
async fn beh_batch_record_numbers_within_1_to_128_each_once_are_not_flagged_when_not_1_to_n() {
    // V2.1 spec, collections[n].no: "在批量模式中标识一条行为数据，取值范围 1-128" — a range, not 1..n. A client
    // re-sending the rejected records 3 and 7 of a 3001 under their own numbers sends a valid report; the mock takes it.
    let mock = start().await;
    let now = mock.now_ms().await;
    let answer = mock.client().loginout(vec![guest(3, "kept-3", 1, now), guest(7, "kept-7", 1, now)]).await.unwrap();
    assert_eq!(code(&answer), 0, "{}", answer.response_body);
    not_failed(&report(&mock, Profile::All), "BEH-BATCH");
}

#[tokio::test]
async fn env_nonce_one_iv_under_two_different_keys_is_not_flagged() {
    // A deterministic iv (a counter per key, NIST SP 800-38D §8.2.1) is unique per key: the test account's first
    // check and production's first check both use iv 1, under two different keys. GCM forbids reuse under one key.
    let mock = start().await;
    let env = flow_env(&mock);
    let mut iv = [0u8; 12];
    iv[11] = 1;
    let now = mock.now_ms().await;
    let test = env.test_case(0).unwrap();
    let target = Target::TestSystem { test_code: env.test_codes[0].clone() };
    let body = CheckRequest { ai: PRESET_OK.0.into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() };
    assert_eq!(code(&test.send(request::check(test.credentials(), &target, &body, now, iv)).await.unwrap()), 0);
    let production = mock.client();
    let body =
        CheckRequest { ai: "counter-iv-production".into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() };
    let signed = request::check(production.credentials(), &Target::Production, &body, now, iv);
    assert_eq!(code(&production.send(signed).await.unwrap()), 0);
    not_failed(&report(&mock, Profile::Official), "ENV-NONCE");
}

#[tokio::test]
async fn rn_discipline_checking_a_person_again_after_the_query_resolved_the_pending_check_is_not_flagged() {
    // FAQ 169/235: one idNum may be checked any number of times. Here the first check pended and its query answered
    // status 0; later the same person registers another account and is checked again with a new ai.
    let mock = start().await;
    let client = mock.client();
    let (_, name, id_num) = PRESET_PENDING;
    assert_eq!(client.check("first-account", name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    client.query("first-account").await.unwrap();
    mock.advance(31_000).await;
    assert_eq!(client.query("first-account").await.unwrap().status(), Some(0), "resolved");
    mock.advance(600_000).await;
    client.check("second-account", name, id_num).await.unwrap();
    mock.advance(2_000).await;
    client.query("second-account").await.unwrap();
    let report = report(&mock, Profile::All);
    not_failed(&report, "RN-DISCIPLINE");
}

#[tokio::test]
async fn rn_discipline_two_enterprises_checking_the_same_person_is_not_flagged() {
    // Different companies (appIds), different games: each checks the person its own player claims to be. Neither
    // "checks again while pending"; FAQ 169/235 allow the same idNum in any game.
    let mock = start().await;
    let (_, name, id_num) = PRESET_PENDING;
    assert_eq!(mock.client().check("mine-1", name, id_num).await.unwrap().status(), Some(1));
    let other = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    assert_eq!(other.check("theirs-1", name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    mock.client().query("mine-1").await.unwrap();
    other.query("theirs-1").await.unwrap();
    not_failed(&report(&mock, Profile::All), "RN-DISCIPLINE");
}

#[tokio::test]
async fn beh_pairs_a_logout_of_a_session_whose_login_an_earlier_process_reported_is_not_flagged() {
    // The game server restarted: at start it reports the logouts of the sessions its previous process opened
    // (FAQ 249/260: an abnormal exit counts as a logout). Their logins are not in this journal; nothing is swapped.
    let mock = start().await;
    let now = mock.now_ms().await;
    assert_eq!(code(&mock.client().loginout(vec![guest(1, "opened-before-restart", 0, now)]).await.unwrap()), 0);
    not_failed(&report(&mock, Profile::Behaviour), "BEH-PAIRS");
}

#[tokio::test]
async fn beh_pairs_a_login_report_and_a_logout_report_in_flight_together_arriving_out_of_order_is_not_flagged() {
    // Two batches flushed by two workers at once: the one with the logout (ot later) arrives first. The records'
    // ot say the login came first; both reports are accepted.
    let mock = start().await;
    let now = mock.now_ms().await;
    let mut login = guest(1, "parallel-flush", 1, now);
    login.ot -= 2;
    let logout = guest(1, "parallel-flush", 0, now);
    let client = mock.client();
    assert_eq!(code(&client.loginout(vec![logout]).await.unwrap()), 0);
    assert_eq!(code(&client.loginout(vec![login]).await.unwrap()), 0);
    not_failed(&report(&mock, Profile::Behaviour), "BEH-PAIRS");
}

#[tokio::test]
async fn err_busy_a_client_resuming_at_the_next_minute_is_not_flagged_when_the_config_says_next_minute() {
    // The finding says "switch it with `server.quota_block = \"next_minute\"` in --config"; with it switched, a
    // client that resumes when the mock's block ended (the next wall-clock minute, FAQ 103 "在下一分钟解除") is right.
    let mock = start_with(|c| {
        c.server.quota_block = nppa_mockserver::config::QuotaBlock::NextMinute;
        c.games[0].quota.loginout = Some(1);
    })
    .await;
    mock.freeze().await;
    mock.set_clock(NOON_BEIJING_MS + 30_000).await;
    let client = mock.client();
    let now = mock.now_ms().await;
    assert_eq!(code(&client.loginout(vec![guest(1, "nm-1", 1, now)]).await.unwrap()), 0);
    assert_eq!(code(&client.loginout(vec![guest(1, "nm-2", 1, now)]).await.unwrap()), 1006);
    mock.advance(30_500).await; // the next minute: the mock's block is over
    let now = mock.now_ms().await;
    assert_eq!(code(&client.loginout(vec![guest(1, "nm-2", 1, now)]).await.unwrap()), 0, "the mock unblocked");
    not_failed(&report(&mock, Profile::All), "ERR-BUSY");
}

#[tokio::test]
async fn rn_discipline_a_check_pending_in_the_outage_left_for_after_0400_is_not_flagged() {
    // R-PEND-2 / V2.1 query 备注 3: a check pending between 00:00 and 04:00 is queried after 04:00. Certified inside
    // the outage on purpose (README: set clock.start), a careful client does not query before the run ends; querying
    // inside the outage is an RN-QUERY finding, not querying an RN-DISCIPLINE one: no way to pass.
    let mock = start_with(|c| c.clock.start = Some("2026-01-15T01:00:00+08:00".into())).await;
    assert_eq!(mock.client().check("in-the-outage", "张三", &id_num(7)).await.unwrap().status(), Some(1));
    let report = report(&mock, Profile::All);
    not_failed(&report, "RN-DISCIPLINE");
    not_failed(&report, "RN-QUERY");
}

#[tokio::test]
async fn journal_rejudging_a_faults_run_of_the_careful_reference_client_with_the_default_profile_passes() {
    // `nppa certify --journal` defaults to `--profile all`; the careful client's faults journal should stay clean.
    let mock = start().await;
    mock.server.service().faults().add(fault_plan()).unwrap();
    reference::run(&flow_env(&mock)).await.unwrap();
    let entries = journaled(&mock, entries(&mock).len()).await;
    let faults = judge(&entries, mock.server.service().config(), Profile::Faults, vec![], vec![Some(0)]);
    no_rule_failed(&faults, "live, --profile faults");
    let offline = judge(&entries, mock.server.service().config(), Profile::All, vec![], vec![]);
    let official_only: Vec<&RuleResult> =
        offline.failed().filter(|r| !r.id.starts_with("OFFICIAL")).collect::<Vec<_>>();
    // The official cases are not judged under faults (a fault answered some), so only they may fail here.
    assert!(
        official_only.is_empty(),
        "false findings: {}",
        official_only.iter().map(|r| format!("{}: {}", r.id, text(r))).collect::<String>()
    );
}

#[tokio::test]
async fn out_answer_a_library_with_a_longer_timeout_that_returns_a_late_answer_as_it_is_is_not_flagged() {
    // The seed gives 5 s as a suggestion ("客户端接口超时时间（建议）：5s"). A library waiting 10 s got the pending
    // status NPPA answered after 5.5 s and returned it: nothing was hidden.
    let mock = start().await;
    one_fault(&mock, production_fault(Interface::Query, None, Some(5_500), 1));
    let patient = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let client = mock.client().with_http(patient);
    let (ai, name, id_num) = PRESET_PENDING;
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1), "the late answer");
    let lines = format!(
        "{{\"interface\":\"check\",\"ai\":\"{ai}\",\"errcode\":0,\"status\":1}}\n{{\"interface\":\"query\",\"ai\":\"{ai}\",\"errcode\":0,\"status\":1}}\n"
    );
    let results = outcomes::judge(&journaled(&mock, 2).await, &outcomes::Outcomes::parse(&lines));
    let answer = results.iter().find(|r| r.id == "OUT-ANSWER").unwrap();
    assert_ne!(answer.verdict, Verdict::Failed, "false finding: {}", text(answer));
}

// ------------------------------------------------------------------------------------------------------------------
// Missed bugs
// ------------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn records_rejected_3006_to_3010_in_a_3001_are_caught() {
    // Each is a record the client built wrong (SPEC §4, R-BEH-2): ct=1, bt=2, a verified user without pi, a guest
    // without di, a pi that is not a PI. The mock rejects them in a 3001; no rule reports them.
    let mock = start().await;
    let now = mock.now_ms().await;
    let base = |no, si: &str| guest(no, si, 1, now);
    let ct_one = BehaviourRecord { ct: 1, ..base(1, "r3006") };
    let bt_two = BehaviourRecord { bt: 2, ..base(2, "r3007") };
    let no_pi = BehaviourRecord { ct: 0, di: None, pi: None, ..base(3, "r3008") };
    let no_di = BehaviourRecord { di: None, ..base(4, "r3009") };
    let bad_pi = BehaviourRecord { ct: 0, di: None, pi: Some("not-a-pi".into()), ..base(5, "r3010") };
    let answer = mock.client().loginout(vec![ct_one, bt_two, no_pi, no_di, bad_pi]).await.unwrap();
    assert_eq!(code(&answer), 3001);
    let mut rejected: Vec<u16> = answer.rejected().into_iter().map(|(_, c)| c).collect();
    rejected.sort_unstable();
    assert_eq!(rejected, [3006, 3007, 3008, 3009, 3010]);
    let report = report(&mock, Profile::Behaviour);
    let findings = all_findings(&report);
    for code in ["3006", "3007", "3008", "3009", "3010"] {
        assert!(findings.contains(code), "nothing reports the records rejected {code}:\n{findings}");
    }
}

#[tokio::test]
async fn a_loginout_refused_3002_for_an_empty_collections_is_caught() {
    let mock = start().await;
    assert_eq!(code(&mock.client().loginout(vec![]).await.unwrap()), 3002);
    let report = report(&mock, Profile::Behaviour);
    assert!(report.failed().next().is_some(), "a report with no records (3002) passes every rule");
}

#[tokio::test]
async fn flt_retries_a_check_retried_five_times_with_a_fresh_ai_each_time_is_caught() {
    // V2.1 FAQ 2: "对调用失败的请求反复重试次数过多". A new ai per attempt makes every plaintext differ, but it is one
    // person's check sent five times more after a failure.
    let mock = start().await;
    let bad_gateway = Some(FaultAction::HttpStatus { status: 502, body: None });
    one_fault(&mock, production_fault(Interface::Check, bad_gateway, None, 5));
    let client = mock.client();
    for attempt in 0..6 {
        let answer = client.check(&format!("fresh-ai-{attempt}"), PRESET_OK.1, PRESET_OK.2).await.unwrap();
        if answer.http_status == 200 {
            break;
        }
        mock.advance(200).await;
    }
    client.query("something-else").await.ok();
    let report = report(&mock, Profile::Faults);
    let retries = rule(&report, "FLT-RETRIES");
    assert_eq!(retries.verdict, Verdict::Failed, "five retries of one person's check pass: {retries:#?}");
}

#[tokio::test]
async fn a_loginout_answered_http_503_that_the_client_took_for_accepted_and_never_resent_is_caught() {
    // The plan's "HTTP 503 whose body says errcode 0" is there to find clients that ignore the HTTP status. Such a
    // client takes the 503 for an acceptance, never re-sends the records, goes on and exits 0: the records are lost
    // (R-BEH-4: re-send while inside the 180 s window), and every fault rule passes.
    let mock = start().await;
    let ok_body = r#"{"errcode":0,"errmsg":"OK","data":""}"#.to_owned();
    let status_503 = Some(FaultAction::HttpStatus { status: 503, body: Some(ok_body) });
    one_fault(&mock, production_fault(Interface::Loginout, status_503, None, 1));
    let client = mock.client();
    let now = mock.now_ms().await;
    let answer = client.loginout(vec![guest(1, "lost-login", 1, now)]).await.unwrap();
    assert_eq!((answer.http_status, answer.errcode()), (503, Some(0)), "the client reads errcode 0 and moves on");
    mock.advance(1_000).await;
    client.check("goes-on", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    mock.advance(200_000).await; // past the 180 s window: the records can no longer be reported
    client.query("goes-on").await.ok();
    let report = report(&mock, Profile::Faults);
    assert!(report.failed().next().is_some(), "records lost after an HTTP 503 pass --profile faults");
}

#[tokio::test]
async fn beh_pairs_a_session_logged_in_twice_or_logged_out_twice_is_caught() {
    // FAQ 250 / R-BEH-3: each login has exactly one matching logout. A heartbeat reported as a login, and a logout
    // reported both at exit and at the heartbeat timeout.
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let at = |mut record: BehaviourRecord, seconds_ago: i64| {
        record.ot -= seconds_ago;
        record
    };
    let twice_in = [at(guest(1, "logged-in-twice", 1, now), 3), at(guest(2, "logged-in-twice", 1, now), 2)];
    let twice_out = [at(guest(3, "logged-out-twice", 1, now), 3), at(guest(4, "logged-out-twice", 0, now), 2)];
    assert_eq!(code(&client.loginout([twice_in, twice_out].concat()).await.unwrap()), 0);
    mock.advance(1_000).await;
    let now = mock.now_ms().await;
    let ends = vec![guest(1, "logged-in-twice", 0, now), guest(2, "logged-out-twice", 0, now)];
    assert_eq!(code(&client.loginout(ends).await.unwrap()), 0);
    let report = report(&mock, Profile::Behaviour);
    let pairs = rule(&report, "BEH-PAIRS");
    assert_eq!(pairs.verdict, Verdict::Failed, "{pairs:#?}");
    let found = text(pairs);
    assert!(found.contains("logged-in-twice") && found.contains("logged-out-twice"), "{found}");
}

#[tokio::test]
async fn beh_pairs_a_logout_whose_ot_is_before_its_login_s_is_caught() {
    // Reported in order of arrival, but the logout says it happened before the login (a logout time taken from a
    // stale heartbeat, or ot from two clocks).
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    assert_eq!(code(&client.loginout(vec![guest(1, "backwards", 1, now)]).await.unwrap()), 0);
    mock.advance(2_000).await;
    let mut logout = guest(1, "backwards", 0, now);
    logout.ot -= 10;
    assert_eq!(code(&client.loginout(vec![logout]).await.unwrap()), 0);
    let report = report(&mock, Profile::Behaviour);
    assert_eq!(rule(&report, "BEH-PAIRS").verdict, Verdict::Failed, "a logout 10 s before its login passes");
}

#[tokio::test]
async fn repeat_under_faults_says_when_a_later_run_met_no_fault() {
    // `--repeat 2 --profile faults` adds the plan once; every rule has count 1, so run 1 takes every fault and run 2
    // meets none. Run 2 passes the fault rules by judging nothing, and no report says so (a run that met no fault
    // should say so, issue 12 item 4).
    let mock = start().await;
    mock.server.service().faults().add(fault_plan()).unwrap();
    let env = flow_env(&mock);
    reference::run(&env).await.unwrap();
    // As certify does between runs: a slow answer the plan holds back belongs to run 1, whenever it is journaled.
    while mock.server.service().answers_held() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = entries(&mock).len();
    reference::run(&env).await.unwrap();
    let all = entries(&mock);
    let segments = vec![all[..first].to_vec(), all[first..].to_vec()];
    assert!(segments[1].iter().all(|e| e.fault.is_none()), "run 2 met no fault");
    let merged = judge_runs(
        &segments,
        mock.server.service().config(),
        Profile::Faults,
        vec![],
        vec![Some(0), Some(0)],
        Thresholds::default(),
    );
    assert!(
        merged.notes.iter().any(|n| n.contains("no fault")),
        "run 2 was judged under --profile faults without a fault and nothing says so: notes {:?}",
        merged.notes
    );
}

#[tokio::test]
async fn rn_query_a_pending_ai_persisted_by_run_1_and_queried_by_run_2_is_not_flagged() {
    // R-PEND-3: a pending record stays queryable 48 h. A game server that keeps its pending ais across a restart
    // (here: `--repeat 2`, runs judged one by one) queries in run 2 the ai run 1 checked. That is its own pending ai.
    let mock = start().await;
    let client = mock.client();
    let (ai, name, id_num) = PRESET_PENDING;
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(1));
    let first = entries(&mock).len();
    mock.advance(31_000).await; // the process restarts; the new one queries what the old one left pending
    assert_eq!(client.query(ai).await.unwrap().status(), Some(0));
    let all = entries(&mock);
    let segments = vec![all[..first].to_vec(), all[first..].to_vec()];
    let config = mock.server.service().config();
    let merged =
        judge_runs(&segments, config, Profile::Behaviour, vec![], vec![Some(0), Some(0)], Thresholds::default());
    not_failed(&merged, "RN-QUERY");
}

#[tokio::test]
async fn a_post_sent_without_the_json_content_type_is_caught() {
    // V2.1 spec, request headers: "Content-Type String Y 报文类型 默认值 application/json; charset=utf-8". A client
    // whose HTTP library labels a string body application/x-www-form-urlencoded (axios's default for a string) is
    // visible in the journal's headers; neither the mock nor any rule looks.
    let mock = start().await;
    let client = mock.client();
    let body = CheckRequest { ai: "form-encoded".into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() };
    let mut signed =
        request::check(client.credentials(), &Target::Production, &body, mock.now_ms().await, rand::random());
    for (name, value) in signed.headers.iter_mut() {
        if name.eq_ignore_ascii_case("content-type") {
            *value = "application/x-www-form-urlencoded".into();
        }
    }
    assert_eq!(code(&client.send(signed).await.unwrap()), 0, "the mock takes it");
    let report = report(&mock, Profile::Behaviour);
    assert!(report.failed().next().is_some(), "a check labelled application/x-www-form-urlencoded passes");
}

// ------------------------------------------------------------------------------------------------------------------
// What certify gets right (kept as guards)
// ------------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn right_today_careful_behaviours_pass_a_1006_wait_a_skewed_clock_and_a_3001_resend_of_the_rejected_only() {
    let mock = start_with(|c| c.games[0].quota.loginout = Some(1)).await;
    mock.freeze().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    assert_eq!(code(&client.loginout(vec![guest(1, "g-1", 1, now)]).await.unwrap()), 0);
    assert_eq!(code(&client.loginout(vec![guest(1, "g-2", 1, now)]).await.unwrap()), 1006);
    mock.advance(60_200).await; // waits 60 s after the 1006
    let now = mock.now_ms().await;
    // A 3001: record 2 has ot in the future; only it is re-sent, a little later, renumbered 1.
    let mut future = guest(2, "g-3", 1, now);
    future.ot += 2;
    let answer = client.loginout(vec![guest(1, "g-2", 1, now), future.clone()]).await.unwrap();
    assert_eq!(answer.rejected(), vec![(2, 3005)]);
    mock.advance(4_000).await;
    future.no = 1;
    assert_eq!(code(&client.loginout(vec![future]).await.unwrap()), 0);
    // A clock 4 s behind the server's, within R-TS-1's 5 s.
    let skewed = request::query(client.credentials(), &Target::Production, "skewed", mock.now_ms().await - 4_000);
    client.send(skewed).await.unwrap();
    let report = report(&mock, Profile::Behaviour);
    for id in ["ERR-BUSY", "BEH-RESEND", "ENV-TIMESTAMPS", "ENV-REPLAY", "ENV-NONCE", "BEH-BATCH"] {
        not_failed(&report, id);
    }
}

#[tokio::test]
async fn an_http_library_replaying_a_get_after_a_reset_is_not_the_client_retrying_but_an_application_replay_is() {
    // Go's net/http re-sends an idempotent request, byte for byte, on a new connection when a kept-alive one was
    // closed under it: the application never knew. The same bytes sent again 2 s later are the application's.
    for (gap_ms, flagged) in [(0, false), (2_000, true)] {
        let mock = start().await;
        mock.freeze().await;
        one_fault(&mock, production_fault(Interface::Query, Some(FaultAction::Reset), None, 1));
        let client = mock.client();
        let signed = request::query(client.credentials(), &Target::Production, "replayed", mock.now_ms().await);
        assert!(client.send(signed.clone()).await.is_err(), "the reset");
        mock.advance(gap_ms).await;
        client.send(signed).await.unwrap();
        let report = report(&mock, Profile::Faults);
        let replay = rule(&report, "ENV-REPLAY");
        assert_eq!(replay.verdict == Verdict::Failed, flagged, "{gap_ms} ms: {replay:#?}");
        not_failed(&report, "FLT-RETRIES");
    }
}
