//! Outcome assertions judged through the real mock: a "library" over the reference client writes what it returned
//! for each call; certify matches it with what the mock answered. Careful libraries (retrying, backing off after a
//! 1006, raising after repeated failures, refusing a 5xx whatever its body) are left clean; a library that reports
//! status 0 for an error, one that drops records after a 1006, one that takes a 503's body as the answer, and one
//! that returns an answer it never asked for are caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use nppa_harness::certify::model::{RuleResult, Verdict};
use nppa_harness::certify::outcomes::{self, Outcome, OutcomeRecord, Outcomes};
use nppa_harness::client::{Client, Exchange};
use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
use nppa_protocol::messages::BehaviourRecord;
use nppa_protocol::{quota, Interface, StatusCode};

/// How a library can get its account of a call wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Library {
    /// Retries transient failures (re-signed, spaced), waits out a 1006, treats any non-200 as a failure, raises
    /// after 3 failed attempts, and reports what NPPA answered.
    Careful,
    /// Reports status 0 (success) whatever the errcode.
    StatusZeroOnError,
    /// Gives a report up after a 1006 and tells the game it went through.
    DropsRecordsAfterBusy,
    /// Reads the body of any HTTP status as NPPA's answer.
    IgnoresHttpStatus,
    /// As careful, but gives a call up at its first 1006 and returns that errcode to the game.
    ReturnsTheBusyCode,
}

struct Wrapper {
    client: Client,
    kind: Library,
    outcomes: Vec<Outcome>,
}

fn outcome(interface: Interface) -> Outcome {
    Outcome { interface, ai: None, records: vec![], errcode: None, status: None, pi: None, error: None }
}

impl Wrapper {
    fn new(mock: &Mock, kind: Library) -> Wrapper {
        Wrapper { client: mock.client(), kind, outcomes: vec![] }
    }

    /// One call: up to 3 attempts; what the library makes of the last.
    async fn call(&self, attempt: impl AsyncFn() -> anyhow::Result<Exchange>) -> Result<Exchange, String> {
        let mut last_error = String::new();
        for _ in 0..3 {
            match attempt().await {
                Ok(answer) if answer.http_status == 200 || self.kind == Library::IgnoresHttpStatus => {
                    let busy = answer.code().is_some_and(StatusCode::is_busy);
                    let transient = answer.code().is_some_and(StatusCode::is_transient);
                    if busy && self.kind == Library::Careful {
                        self.client.sleep(Duration::from_millis(quota::BLOCK_MS)).await.unwrap();
                    } else if transient && matches!(self.kind, Library::Careful | Library::ReturnsTheBusyCode) {
                        self.client.sleep(Duration::from_millis(200)).await.unwrap();
                    } else {
                        return Ok(answer);
                    }
                    last_error = format!("errcode {:?}", answer.errcode());
                }
                Ok(answer) => {
                    last_error = format!("HTTP {}", answer.http_status);
                    self.client.sleep(Duration::from_millis(200)).await.unwrap();
                }
                Err(e) => {
                    last_error = e.to_string();
                    self.client.sleep(Duration::from_millis(200)).await.unwrap();
                }
            }
        }
        Err(last_error)
    }

    async fn check(&mut self, ai: &str, name: &str, id_num: &str) {
        let result = self.call(async || self.client.check(ai, name, id_num).await).await;
        let mut line = Outcome { ai: Some(ai.into()), ..outcome(Interface::Check) };
        match result {
            Ok(answer) if self.kind == Library::StatusZeroOnError => {
                (line.errcode, line.status) = (Some(0), Some(0));
                line.pi = answer.pi().map(str::to_owned);
            }
            Ok(answer) => {
                (line.errcode, line.status, line.pi) =
                    (answer.errcode(), answer.status(), answer.pi().map(str::to_owned))
            }
            Err(error) => line.error = Some(error),
        }
        self.outcomes.push(line);
    }

    async fn report(&mut self, records: Vec<BehaviourRecord>) {
        let handed = records.iter().map(|r| OutcomeRecord { si: r.si.clone(), bt: r.bt }).collect();
        let mut line = Outcome { records: handed, ..outcome(Interface::Loginout) };
        let result = self.call(async || self.client.loginout(records.clone()).await).await;
        match result {
            Ok(answer) if self.kind == Library::DropsRecordsAfterBusy && answer.errcode() == Some(1006) => {
                line.errcode = Some(0)
            }
            Ok(answer) => line.errcode = answer.errcode(),
            Err(error) => line.error = Some(error),
        }
        self.outcomes.push(line);
    }
}

fn judged(mock: &Mock, outcomes: &[Outcome]) -> Vec<RuleResult> {
    // Through the file format a client writes.
    let text: String = outcomes.iter().map(|o| serde_json::to_string(o).unwrap() + "\n").collect();
    outcomes::judge(&entries(mock), &Outcomes::parse(&text))
}

fn verdict<'r>(results: &'r [RuleResult], id: &str) -> &'r RuleResult {
    results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no rule {id}"))
}

fn assert_clean(results: &[RuleResult]) {
    for rule in results {
        assert_ne!(rule.verdict, Verdict::Failed, "false finding: {rule:#?}");
    }
}

fn add(mock: &Mock, rule: FaultRule) {
    mock.server.service().faults().add(FaultRequest::One(rule)).unwrap();
}

fn once(interface: Interface, action: FaultAction) -> FaultRule {
    FaultRule {
        interface: Some(interface),
        test_system: Some(false),
        count: Some(1),
        action: Some(action),
        ..FaultRule::default()
    }
}

/// The same calls under the same faults, made by one library: a transient 2007 on the first check, a 1006 on the
/// first report, three resets on the second check.
async fn run(kind: Library) -> (Mock, Vec<Outcome>) {
    let mock = start().await;
    mock.freeze().await;
    add(&mock, once(Interface::Check, FaultAction::Status { errcode: StatusCode::RemoteStateError }));
    add(&mock, once(Interface::Loginout, FaultAction::Status { errcode: StatusCode::Busy }));
    let mut library = Wrapper::new(&mock, kind);
    library.check("outcome-ok", PRESET_OK.1, PRESET_OK.2).await;
    library.check("outcome-pending", PRESET_PENDING.1, PRESET_PENDING.2).await;
    let now = mock.now_ms().await;
    library.report(vec![guest(1, "outcome-session", 1, now)]).await;
    add(&mock, FaultRule { count: Some(3), ..once(Interface::Check, FaultAction::Reset) });
    library.check("outcome-reset", PRESET_OK.1, PRESET_OK.2).await;
    (mock, library.outcomes)
}

#[tokio::test]
async fn a_careful_library_is_clean_under_retries_a_1006_and_repeated_resets() {
    for _ in 0..3 {
        let (mock, outcomes) = run(Library::Careful).await;
        assert!(outcomes[3].error.is_some(), "three resets end in an error: {outcomes:?}");
        let results = judged(&mock, &outcomes);
        assert_clean(&results);
        assert_eq!(verdict(&results, "OUT-ANSWER").verdict, Verdict::Passed);
        assert_eq!(verdict(&results, "OUT-RECORDS").verdict, Verdict::Passed);
    }
}

#[tokio::test]
async fn a_library_that_returns_the_1006_to_the_game_drops_no_record() {
    let (mock, outcomes) = run(Library::ReturnsTheBusyCode).await;
    assert_eq!(outcomes[2].errcode, Some(1006), "{outcomes:?}");
    let results = judged(&mock, &outcomes);
    assert_clean(&results);
    assert_eq!(verdict(&results, "OUT-RECORDS").verdict, Verdict::Passed);
}

#[tokio::test]
async fn out_answer_catches_a_library_that_reports_status_0_for_an_error() {
    let (mock, outcomes) = run(Library::StatusZeroOnError).await;
    let rule = verdict(&judged(&mock, &outcomes), "OUT-ANSWER").clone();
    assert_eq!(rule.verdict, Verdict::Failed);
    let text: String = rule.findings.iter().map(|f| f.message.clone() + "\n").collect();
    assert!(text.contains("ai \"outcome-ok\"") && text.contains("errcode 2007"), "{text}");
    assert!(text.contains("an error was reported as success"), "{text}");
    assert!(text.contains("status 1"), "the pending check reported as status 0: {text}");
}

#[tokio::test]
async fn out_records_catches_a_library_that_drops_records_after_a_1006() {
    let (mock, outcomes) = run(Library::DropsRecordsAfterBusy).await;
    let results = judged(&mock, &outcomes);
    let rule = verdict(&results, "OUT-RECORDS");
    assert_eq!(rule.verdict, Verdict::Failed, "{rule:#?}");
    let text: String = rule.findings.iter().map(|f| f.message.clone() + "\n").collect();
    assert!(
        text.contains("\"outcome-session\"") && text.contains("errcode 1006") && text.contains("dropped"),
        "{text}"
    );
}

#[tokio::test]
async fn a_503_with_an_errcode_0_body_is_no_answer_for_a_library() {
    for kind in [Library::Careful, Library::IgnoresHttpStatus] {
        let mock = start().await;
        mock.freeze().await;
        let body = r#"{"errcode":0,"errmsg":"OK","data":""}"#.to_owned();
        add(&mock, once(Interface::Loginout, FaultAction::HttpStatus { status: 503, body: Some(body) }));
        let mut library = Wrapper::new(&mock, kind);
        let now = mock.now_ms().await;
        library.report(vec![guest(1, "after-503", 1, now)]).await;
        let results = judged(&mock, &library.outcomes);
        if kind == Library::Careful {
            assert_clean(&results);
        } else {
            let records = verdict(&results, "OUT-RECORDS");
            assert_eq!(records.verdict, Verdict::Failed, "{records:#?}");
            assert!(records.findings[0].message.contains("HTTP 503"), "{:?}", records.findings);
            assert_eq!(verdict(&results, "OUT-ANSWER").verdict, Verdict::Failed);
        }
    }
}

#[tokio::test]
async fn out_answer_catches_an_answer_the_library_never_asked_for_and_unreadable_lines() {
    let mock = start().await;
    mock.client().check("asked", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    let text = [
        r#"{"interface":"check","ai":"asked","errcode":0,"status":0}"#,
        r#"{"interface":"query","ai":"never-asked","errcode":0,"status":0}"#,
        r#"{"interface":"check","ai":"x","errcode":"0"}"#,
    ]
    .join("\n");
    let results = outcomes::judge(&entries(&mock), &Outcomes::parse(&text));
    let rule = verdict(&results, "OUT-ANSWER");
    assert_eq!(rule.verdict, Verdict::Failed);
    let messages: Vec<&str> = rule.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("\"never-asked\"") && m.contains("sent no request")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("line 3") && m.contains("not an outcome")), "{messages:#?}");
    assert_eq!(verdict(&results, "OUT-RECORDS").verdict, Verdict::NotExercised);
}

#[tokio::test]
async fn a_library_that_resends_a_3001_s_rejected_records_itself_may_return_0_for_the_call() {
    for resends in [true, false] {
        let mock = start().await;
        mock.freeze().await;
        let client = mock.client();
        let now = mock.now_ms().await;
        let mut late = guest(2, "fixed-later", 1, now);
        late.ot += 5; // in the future: 3005
        let records = vec![guest(1, "taken-at-once", 1, now), late.clone()];
        let first = client.loginout(records.clone()).await.unwrap();
        assert_eq!(first.rejected(), vec![(2, 3005)]);
        if resends {
            // R-BEH-4: only the rejected record, fixed, renumbered.
            mock.advance(6_000).await;
            let mut fixed = late;
            (fixed.no, fixed.ot) = (1, mock.now_ms().await as i64 / 1000 - 1);
            assert_eq!(code(&client.loginout(vec![fixed]).await.unwrap()), 0);
        }
        let handed = records.iter().map(|r| OutcomeRecord { si: r.si.clone(), bt: r.bt }).collect();
        let line = Outcome { records: handed, errcode: Some(0), ..outcome(Interface::Loginout) };
        let results = judged(&mock, &[line]);
        if resends {
            assert_clean(&results);
        } else {
            assert_eq!(verdict(&results, "OUT-ANSWER").verdict, Verdict::Failed, "a 3001 reported as 0");
            assert_eq!(verdict(&results, "OUT-RECORDS").verdict, Verdict::Failed, "record 2 was never taken");
        }
    }
}
