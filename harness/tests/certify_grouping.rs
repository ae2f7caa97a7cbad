//! How certify counts: one finding per cause, with its count and the first ids (not a line per record), and requests
//! answered by a fault are told apart by what they carried (no "retried 4 times" over five different loginouts, no
//! "re-sends the ciphertext" across interfaces). Through the real mock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::model::{RuleResult, Verdict};
use nppa_harness::certify::rules::Profile;
use nppa_harness::certify::{judge, report};
use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
use nppa_protocol::StatusCode;

fn rule(mock: &Mock, profile: Profile, id: &str) -> RuleResult {
    let report = judge(&entries(mock), mock.server.service().config(), profile, vec![], vec![Some(0)]);
    report.rules.into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no rule {id}"))
}

/// Every request of every interface, production and test, meets `action` until `count` of them did.
fn fault_every_request(mock: &Mock, action: Option<FaultAction>, delay_ms: Option<u64>, count: u64) {
    let rule: FaultRule = serde_json::from_value(serde_json::json!({ "count": count })).unwrap();
    let rule = FaultRule { action, delay_ms, ..rule };
    mock.server.service().faults().add(FaultRequest::One(rule)).unwrap();
}

#[tokio::test]
async fn thirty_swapped_sessions_in_three_reports_are_one_finding_with_its_count_and_first_ids() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    // R-BEH-3: each session opens with a "logout" and closes with a "login" (bt swapped), three reports of each.
    let mut report_ids = Vec::new();
    for bt in [0, 1] {
        for report in 0..3 {
            let records = (1..=10).map(|no| guest(no, &format!("swapped-{report}-{no}"), bt, now + bt as u64 * 2_000));
            assert_eq!(code(&client.loginout(records.collect()).await.unwrap()), 0);
            report_ids.push(entries(&mock).last().unwrap().id);
        }
        mock.advance(2_000).await;
    }
    let now = mock.now_ms().await;
    // Another cause in the same rule stays its own finding: a login never logged out.
    client.loginout(vec![guest(1, "left-open", 1, now)]).await.unwrap();

    let pairs = rule(&mock, Profile::Behaviour, "BEH-PAIRS");
    assert_eq!(pairs.verdict, Verdict::Failed);
    assert_eq!(pairs.findings.len(), 2, "{:#?}", pairs.findings);
    let swapped = &pairs.findings[0];
    assert_eq!(swapped.count, 30);
    assert!(swapped.message.contains("\"swapped-0-1\" is logged out"), "{}", swapped.message);
    assert_eq!(swapped.journal_ids, vec![report_ids[0], report_ids[3]], "its logout and its login");
    assert_eq!(swapped.later_ids, report_ids[4..].to_vec(), "the later logins that showed it");
    // The swapped sessions end on a "login" too: with the one left open, 31 logins never logged out.
    assert_eq!(pairs.findings[1].count, 31);
    assert!(pairs.findings[1].message.contains("was never logged out"), "{:#?}", pairs.findings[1]);

    // Every report says it once, with the count.
    let judged = judge(&entries(&mock), mock.server.service().config(), Profile::Behaviour, vec![], vec![Some(0)]);
    let markdown = report::markdown(&judged);
    assert_eq!(markdown.matches("is logged out").count(), 1, "{markdown}");
    assert!(markdown.contains(&format!("30 times in all; later #{}, #{}", report_ids[4], report_ids[5])), "{markdown}");
    let junit = report::junit(&judged).unwrap();
    assert_eq!(junit.matches("is logged out (request").count(), 2, "the failure's message and its text: {junit}");
    assert!(junit.contains("30 times in all"));
    let json = serde_json::to_value(&judged).unwrap();
    let pairs_json = json["rules"].as_array().unwrap().iter().find(|r| r["id"] == "BEH-PAIRS").unwrap();
    assert_eq!(pairs_json["findings"][0]["count"], 30);
}

#[tokio::test]
async fn five_different_loginouts_answered_by_faults_are_not_one_request_retried() {
    // Each fault the faults profile throws, and a 1006: none of them hides what the request carried.
    let actions = [
        Some(FaultAction::Reset),
        Some(FaultAction::HttpStatus { status: 503, body: None }),
        Some(FaultAction::Status { errcode: StatusCode::SysError }),
        Some(FaultAction::Status { errcode: StatusCode::Busy }),
        Some(FaultAction::Truncate),
        Some(FaultAction::Corrupt),
    ];
    for action in actions {
        let mock = start().await;
        fault_every_request(&mock, action.clone(), None, 5);
        let client = mock.client();
        for n in 0..5 {
            let now = mock.now_ms().await;
            let _ = client.loginout(vec![guest(1, &format!("session-{n}"), 1, now)]).await;
            // Spaced past a 1006's block, so that only the rule under test can speak.
            mock.advance(61_000).await;
        }
        assert_eq!(entries(&mock).iter().filter(|e| e.fault.is_some()).count(), 5, "{action:?}");
        let retries = rule(&mock, Profile::Faults, "FLT-RETRIES");
        assert_eq!(retries.verdict, Verdict::Passed, "{action:?}: {retries:#?}");
    }
}

#[tokio::test]
async fn one_loginout_sent_five_times_through_faults_is_retried_four_times() {
    let mock = start().await;
    fault_every_request(&mock, Some(FaultAction::HttpStatus { status: 503, body: None }), None, 5);
    let client = mock.client();
    let now = mock.now_ms().await;
    let record = guest(1, "hammered", 1, now);
    for _ in 0..5 {
        // Re-signed and re-sealed each time, spaced: only the bound is broken.
        let _ = client.loginout(vec![record.clone()]).await;
        mock.advance(1_000).await;
    }
    let retries = rule(&mock, Profile::Faults, "FLT-RETRIES");
    assert_eq!(retries.verdict, Verdict::Failed);
    assert!(retries.findings[0].message.contains("retried 4 times"), "{retries:#?}");
}

#[tokio::test]
async fn calls_of_three_interfaces_answered_by_faults_never_share_a_ciphertext() {
    let actions = [
        Some(FaultAction::Reset),
        Some(FaultAction::HttpStatus { status: 500, body: Some(r#"{"errcode":0,"errmsg":"OK"}"#.into()) }),
        Some(FaultAction::Status { errcode: StatusCode::Busy }),
        Some(FaultAction::Corrupt),
    ];
    for action in actions {
        let mock = start().await;
        fault_every_request(&mock, action.clone(), None, 6);
        let client = mock.client();
        for round in 0..2 {
            let now = mock.now_ms().await;
            let _ = client.check(&format!("nonce-check-{round}"), PRESET_OK.1, PRESET_OK.2).await;
            let _ = client.query(&format!("nonce-query-{round}")).await;
            let _ = client.loginout(vec![guest(1, &format!("nonce-{round}"), 1, now)]).await;
            mock.advance(61_000).await;
        }
        for id in ["ENV-NONCE", "ENV-REPLAY"] {
            let judged = rule(&mock, Profile::Faults, id);
            assert_eq!(judged.verdict, Verdict::Passed, "{action:?}: {judged:#?}");
        }
    }
}

#[tokio::test]
async fn a_check_re_sent_with_its_old_iv_after_a_reset_is_caught() {
    use nppa_protocol::request::{self, Target};
    let mock = start().await;
    fault_every_request(&mock, Some(FaultAction::Reset), None, 1);
    let now = mock.now_ms().await;
    let body = nppa_protocol::messages::CheckRequest {
        ai: "old-iv".into(),
        name: PRESET_OK.1.into(),
        id_num: PRESET_OK.2.into(),
    };
    let client = mock.client();
    let _ = client.send(request::check(&credentials(), &Target::Production, &body, now, [7; 12])).await;
    mock.advance(1_000).await;
    // Re-signed with a fresh timestamps, but sealed again with the same iv.
    let now = mock.now_ms().await;
    client.send(request::check(&credentials(), &Target::Production, &body, now, [7; 12])).await.unwrap();
    let nonce = rule(&mock, Profile::Faults, "ENV-NONCE");
    assert_eq!(nonce.verdict, Verdict::Failed);
    assert!(nonce.findings[0].message.contains("re-sends #"), "{nonce:#?}");
}
