//! Behaviour rules of `nppa certify` judged through the real mock, each with the mutant it must catch and the
//! correct variants it must leave clean.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::judge;
use nppa_harness::certify::model::{RuleResult, Verdict};
use nppa_harness::certify::rules::Profile;

fn pairs(mock: &Mock) -> RuleResult {
    let report = judge(&entries(mock), mock.server.service().config(), Profile::Behaviour, vec![], vec![Some(0)]);
    report.rules.into_iter().find(|r| r.id == "BEH-PAIRS").unwrap()
}

#[tokio::test]
async fn beh_pairs_catches_a_session_that_opens_with_a_logout_bt_swapped() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    // The login reported as bt=0, the logout as bt=1.
    assert_eq!(code(&client.loginout(vec![guest(1, "swapped", 0, now)]).await.unwrap()), 0);
    mock.advance(2_000).await;
    assert_eq!(code(&client.loginout(vec![guest(1, "swapped", 1, now + 2_000)]).await.unwrap()), 0);
    let rule = pairs(&mock);
    assert_eq!(rule.verdict, Verdict::Failed);
    let text: String = rule.findings.iter().map(|f| f.message.clone() + "\n").collect();
    assert!(text.contains("\"swapped\" is logged out") && text.contains("bt swapped"), "{text}");
}

#[tokio::test]
async fn beh_pairs_leaves_logins_and_logouts_in_order_clean_in_one_batch_or_two_and_after_a_refused_login() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    // In one batch, login first.
    client.loginout(vec![guest(1, "one-batch", 1, now), guest(2, "one-batch", 0, now)]).await.unwrap();
    // Across two reports.
    client.loginout(vec![guest(1, "two-reports", 1, now)]).await.unwrap();
    mock.advance(1_000).await;
    client.loginout(vec![guest(1, "two-reports", 0, now + 1_000)]).await.unwrap();
    // A login refused as too old (3005), its logout accepted: the login was reported, so the order is right.
    let mut late = guest(1, "late-login", 1, now);
    late.ot -= 400;
    assert_eq!(code(&client.loginout(vec![late]).await.unwrap()), 3001);
    client.loginout(vec![guest(1, "late-login", 0, now + 1_000)]).await.unwrap();
    let rule = pairs(&mock);
    assert_eq!(rule.verdict, Verdict::Passed, "{rule:#?}");
}

fn discipline(mock: &Mock) -> RuleResult {
    let report = judge(&entries(mock), mock.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    report.rules.into_iter().find(|r| r.id == "RN-DISCIPLINE").unwrap()
}

#[tokio::test]
async fn rn_discipline_catches_a_pending_ai_checked_again_and_a_pending_check_never_queried() {
    let (ai, name, id_num) = PRESET_PENDING;
    // Checked again while pending: the system answers 2004.
    let mock = start().await;
    let client = mock.client();
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    assert_eq!(code(&client.check(ai, name, id_num).await.unwrap()), 2004);
    client.query(ai).await.unwrap();
    let rule = discipline(&mock);
    assert_eq!(rule.verdict, Verdict::Failed);
    assert!(rule.findings.iter().any(|f| f.message.contains("answered 2004")), "{rule:#?}");

    // Never queried.
    let mock = start().await;
    assert_eq!(mock.client().check(ai, name, id_num).await.unwrap().status(), Some(1));
    let rule = discipline(&mock);
    assert_eq!(rule.verdict, Verdict::Failed);
    assert!(rule.findings[0].message.contains("never queried"), "{rule:#?}");

    // The careful way: check once, query later (still pending, then resolved).
    let mock = start().await;
    let client = mock.client();
    assert_eq!(client.check(ai, name, id_num).await.unwrap().status(), Some(1));
    mock.advance(2_000).await;
    client.query(ai).await.unwrap();
    mock.advance(31_000).await;
    assert_eq!(client.query(ai).await.unwrap().status(), Some(0));
    assert_eq!(discipline(&mock).verdict, Verdict::Passed, "{:#?}", discipline(&mock));
}

#[tokio::test]
async fn beh_batch_names_a_record_counter_that_wraps_in_an_over_long_report() {
    let mock = start().await;
    let now = mock.now_ms().await;
    // An 8-bit counter over 300 records: …, 254, 255, 0, 1, …
    let records: Vec<_> = (1..=300).map(|n| guest(n % 256, &format!("w{n}"), 1, now)).collect();
    assert_eq!(code(&mock.client().loginout(records).await.unwrap()), 3003);
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::Behaviour, vec![], vec![Some(0)]);
    let rule = report.rules.into_iter().find(|r| r.id == "BEH-BATCH").unwrap();
    let text: String = rule.findings.iter().map(|f| f.message.clone() + "\n").collect();
    assert!(text.contains("300 records in one report") && text.contains("wrap from 255 to 0 at record 256"), "{text}");
}

fn resend(mock: &Mock) -> RuleResult {
    let report = judge(&entries(mock), mock.server.service().config(), Profile::Behaviour, vec![], vec![Some(0)]);
    report.rules.into_iter().find(|r| r.id == "BEH-RESEND").unwrap()
}

#[tokio::test]
async fn beh_resend_names_a_library_that_cannot_read_data_empty_and_allows_a_resend_after_a_cut_answer() {
    use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
    use nppa_protocol::Interface;
    // Accepted with `"data":""`, sent again: the library did not take the answer for a success.
    let mock = start().await;
    let now = mock.now_ms().await;
    let record = guest(1, "accepted-once", 1, now);
    assert_eq!(code(&mock.client().loginout(vec![record.clone()]).await.unwrap()), 0);
    mock.advance(500).await;
    mock.client().loginout(vec![record]).await.unwrap();
    let rule = resend(&mock);
    assert_eq!(rule.verdict, Verdict::Failed, "{rule:#?}");
    assert!(rule.findings[0].message.contains("data \"\"") && rule.findings[0].message.contains("cannot read"));

    // The answer was cut (the mock had accepted): re-sending is what a careful client does.
    let mock = start().await;
    let cut = FaultRule {
        interface: Some(Interface::Loginout),
        count: Some(1),
        action: Some(FaultAction::Truncate),
        ..FaultRule::default()
    };
    mock.server.service().faults().add(FaultRequest::One(cut)).unwrap();
    let now = mock.now_ms().await;
    let record = guest(1, "cut-answer", 1, now);
    assert!(mock.client().loginout(vec![record.clone()]).await.is_err(), "a cut answer is no answer");
    mock.advance(200).await;
    assert_eq!(code(&mock.client().loginout(vec![record]).await.unwrap()), 0);
    let rule = resend(&mock);
    assert_eq!(rule.verdict, Verdict::Passed, "{rule:#?}");
}

#[tokio::test]
async fn a_finding_that_rests_on_a_spec_choice_says_so_and_names_the_setting() {
    let mock = start().await;
    let client = mock.client();
    // A Latin name is refused by our reading of R-NAME (2005); the client sends it again unchanged.
    for _ in 0..2 {
        assert_eq!(code(&client.check("latin-name", "John Smith", PRESET_OK.2).await.unwrap()), 2005);
        mock.advance(1_000).await;
    }
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    let retry = report.rules.iter().find(|r| r.id == "ERR-RETRY").unwrap();
    assert_eq!(retry.verdict, Verdict::Failed, "{retry:#?}");
    let choice = retry.findings[0].choice.expect("rests on a choice");
    assert_eq!((choice.rule, choice.setting), ("R-NAME", Some("rules.name_rule = \"any_script\"")));
    let markdown = nppa_harness::certify::report::markdown(&report);
    assert!(
        markdown.contains("our reading of R-NAME (a SPEC choice)") && markdown.contains("rules.name_rule"),
        "{markdown}"
    );
}
