//! `--profile faults` through the real mock: the plan reaches clients that call only the test system, and a run in
//! which no fault was injected says so in every report instead of passing silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::judging::{one_fault, production_fault};
use common::*;
use nppa_harness::certify::model::Verdict;
use nppa_harness::certify::reference::{self};
use nppa_harness::certify::rules::Profile;
use nppa_harness::certify::{fault_plan, judge, report};
use nppa_mockserver::journal::JournalEntry;

#[tokio::test]
async fn a_client_that_calls_only_the_test_system_meets_the_plans_faults() {
    let mock = start().await;
    mock.server.service().faults().add(fault_plan()).unwrap();
    reference::official_cases(&flow_env(&mock)).await.unwrap();
    let journal = entries(&mock);
    let faulted: Vec<&JournalEntry> = journal.iter().filter(|e| e.fault.is_some()).collect();
    assert_eq!(faulted.len(), 3, "a check, a query and a loginout of the test system: {faulted:#?}");
    let report = judge(&journal, mock.server.service().config(), Profile::Faults, vec![], vec![Some(0)]);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let survives = report.rules.iter().find(|r| r.id == "FLT-SURVIVES").unwrap();
    assert_ne!(survives.verdict, Verdict::NotExercised, "{survives:#?}");
}

#[tokio::test]
async fn a_faults_run_that_injected_nothing_says_so_in_every_report() {
    // The plan's rules match the three interfaces; a client that sends only to an unknown path meets none.
    let mock = start().await;
    mock.server.service().faults().add(fault_plan()).unwrap();
    let mut stray = nppa_protocol::request::query(
        mock.client().credentials(),
        &nppa_protocol::request::Target::Production,
        "x",
        mock.now_ms().await,
    );
    stray.path_and_query = "/idcard/authentication/querys?ai=x".into();
    mock.client().send(stray).await.unwrap();
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::Faults, vec![], vec![Some(0)]);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(report.notes[0].contains("no fault was injected"));
    let dir = tempfile::tempdir().unwrap();
    report::write_all(&report, &entries(&mock), dir.path()).unwrap();
    for name in ["junit.xml", "report.md", "report.json", "report.html"] {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(text.contains("no fault was injected"), "{name} does not say so");
    }
    // Another profile injects nothing by design and says nothing about it.
    let all = judge(&entries(&mock), mock.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    assert!(all.notes.is_empty());
}

fn rule<'r>(
    results: &'r [nppa_harness::certify::model::RuleResult],
    id: &str,
) -> &'r nppa_harness::certify::model::RuleResult {
    results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no rule {id}"))
}

#[tokio::test]
async fn flt_survives_a_client_that_gives_a_call_up_and_goes_on_survived_and_a_fault_on_its_last_call_shows_nothing() {
    // Fail open: the check answered 502 is given up (no retry), and the client goes on with a query and exits 0.
    let mock = start().await;
    mock.server.service().faults().add(fault_plan()).unwrap();
    let client = mock.client();
    assert_eq!(client.check("given-up", PRESET_OK.1, PRESET_OK.2).await.unwrap().http_status, 502);
    client.query("given-up").await.ok();
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::Faults, vec![], vec![Some(0)]);
    assert_eq!(
        rule(&report.rules, "FLT-SURVIVES").verdict,
        Verdict::Passed,
        "{:#?}",
        rule(&report.rules, "FLT-SURVIVES")
    );

    // The fault hits the client's last request: whether it would have gone on cannot be seen.
    let mock = start().await;
    mock.server.service().faults().add(fault_plan()).unwrap();
    assert_eq!(mock.client().check("last", PRESET_OK.1, PRESET_OK.2).await.unwrap().http_status, 502);
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::Faults, vec![], vec![Some(0)]);
    assert_eq!(rule(&report.rules, "FLT-SURVIVES").verdict, Verdict::NotExercised);
    // Exiting non-zero after it is a failure all the same.
    let crashed = judge(&entries(&mock), mock.server.service().config(), Profile::Faults, vec![], vec![Some(1)]);
    assert_eq!(rule(&crashed.rules, "FLT-SURVIVES").verdict, Verdict::Failed);
}

#[tokio::test]
async fn err_retry_catches_a_retry_after_an_injected_final_code_and_leaves_a_careful_client_clean() {
    use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
    use nppa_protocol::{Interface, StatusCode};
    // A retry after an injected 1005 is caught; none, or one after an injected 1011 (re-signing fixes a real one,
    // and a client cannot tell them apart), is clean.
    for (retries, final_code) in
        [(false, StatusCode::IpError), (true, StatusCode::IpError), (true, StatusCode::PartnerAuthError)]
    {
        let caught = retries && final_code == StatusCode::IpError;
        let mock = start().await;
        let injected = FaultRule {
            interface: Some(Interface::Query),
            count: Some(1),
            action: Some(FaultAction::Status { errcode: final_code }),
            ..FaultRule::default()
        };
        mock.server.service().faults().add(FaultRequest::One(injected)).unwrap();
        let client = mock.client();
        assert_eq!(code(&client.query("final-ai").await.unwrap()), final_code.code());
        if retries {
            mock.advance(200).await;
            client.query("final-ai").await.unwrap();
        }
        client.check("after", PRESET_OK.1, PRESET_OK.2).await.unwrap();
        let report = judge(&entries(&mock), mock.server.service().config(), Profile::Faults, vec![], vec![Some(0)]);
        let verdict = rule(&report.rules, "ERR-RETRY");
        if caught {
            assert_eq!(verdict.verdict, Verdict::Failed, "{verdict:#?}");
            assert!(verdict.findings[0].message.contains(&format!("after errcode {}", final_code.code())));
        } else {
            assert_eq!(verdict.verdict, Verdict::Passed, "{verdict:#?}");
        }
    }
}

#[tokio::test]
async fn the_careful_reference_client_passes_faults_and_all_with_no_finding_run_after_run() {
    for run in 0..3 {
        for profile in [Profile::Faults, Profile::All] {
            let mock = start().await;
            if profile == Profile::Faults {
                mock.server.service().faults().add(fault_plan()).unwrap();
            }
            reference::run(&flow_env(&mock)).await.unwrap();
            let report = judge(&entries(&mock), mock.server.service().config(), profile, vec![], vec![Some(0)]);
            for rule in &report.rules {
                assert_ne!(rule.verdict, Verdict::Failed, "run {run}, {profile:?}: false finding {rule:#?}");
            }
            assert!(report.notes.is_empty(), "{:?}", report.notes);
        }
    }
}

#[tokio::test]
async fn an_injected_code_is_not_held_against_the_request_it_answered_and_a_real_one_is() {
    use nppa_mockserver::faults::FaultAction;
    use nppa_protocol::{Interface, StatusCode};
    // An injected 1007 says nothing of the client's timestamps (fuzz answers any code to a valid request).
    let mock = start().await;
    one_fault(
        &mock,
        production_fault(Interface::Query, Some(FaultAction::Status { errcode: StatusCode::Expire }), None, 1),
    );
    assert_eq!(code(&mock.client().query("any").await.unwrap()), 1007);
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::Fuzz, vec![], vec![Some(0)]);
    assert_eq!(rule(&report.rules, "ENV-TIMESTAMPS").verdict, Verdict::Passed);

    // A timestamps 10 s stale is the client's, and is found.
    let mock = start().await;
    let stale = nppa_protocol::request::query(
        mock.client().credentials(),
        &nppa_protocol::request::Target::Production,
        "any",
        mock.now_ms().await - 10_000,
    );
    assert_eq!(code(&mock.client().send(stale).await.unwrap()), 1007);
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::Fuzz, vec![], vec![Some(0)]);
    assert_eq!(rule(&report.rules, "ENV-TIMESTAMPS").verdict, Verdict::Failed);
}

#[tokio::test]
async fn flt_resends_counts_a_record_nppa_already_took_as_taken_whatever_came_after() {
    use nppa_mockserver::faults::FaultAction;
    use nppa_protocol::Interface;
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let report = vec![guest(1, "taken-early", 1, now)];
    // Accepted, yet sent again (a client that took the answer's content type for a failure); that retry is cut.
    assert_eq!(code(&client.loginout(report.clone()).await.unwrap()), 0);
    one_fault(
        &mock,
        production_fault(Interface::Loginout, Some(FaultAction::HttpStatus { status: 502, body: None }), None, 1),
    );
    mock.advance(200).await;
    assert_eq!(client.loginout(report).await.unwrap().http_status, 502);
    let judged = judge(&entries(&mock), mock.server.service().config(), Profile::Fuzz, vec![], vec![Some(0)]);
    assert_eq!(
        rule(&judged.rules, "FLT-RESENDS").verdict,
        Verdict::Passed,
        "{:#?}",
        rule(&judged.rules, "FLT-RESENDS")
    );

    // A record no answer took and never sent again is still lost.
    let mock = start().await;
    one_fault(
        &mock,
        production_fault(Interface::Loginout, Some(FaultAction::HttpStatus { status: 502, body: None }), None, 1),
    );
    let now = mock.now_ms().await;
    assert_eq!(mock.client().loginout(vec![guest(1, "lost", 1, now)]).await.unwrap().http_status, 502);
    mock.client().check("after", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    let judged = judge(&entries(&mock), mock.server.service().config(), Profile::Fuzz, vec![], vec![Some(0)]);
    assert_eq!(rule(&judged.rules, "FLT-RESENDS").verdict, Verdict::Failed);
}

#[tokio::test]
async fn err_retry_leaves_polling_a_pending_ai_after_an_injected_code_clean_and_catches_a_quick_resend() {
    use nppa_mockserver::faults::FaultAction;
    use nppa_protocol::{Interface, StatusCode};
    for (gap_ms, caught) in [(1_500, false), (200, true)] {
        let mock = start().await;
        one_fault(
            &mock,
            production_fault(Interface::Query, Some(FaultAction::Status { errcode: StatusCode::MethodError }), None, 1),
        );
        let client = mock.client();
        client.check(PRESET_PENDING.0, PRESET_PENDING.1, PRESET_PENDING.2).await.unwrap();
        assert_eq!(code(&client.query(PRESET_PENDING.0).await.unwrap()), 1003);
        mock.advance(gap_ms).await;
        client.query(PRESET_PENDING.0).await.unwrap();
        let judged = judge(&entries(&mock), mock.server.service().config(), Profile::Fuzz, vec![], vec![Some(0)]);
        let verdict = rule(&judged.rules, "ERR-RETRY").verdict;
        assert_eq!(verdict, if caught { Verdict::Failed } else { Verdict::Passed }, "a query {gap_ms} ms later");
    }
}

#[tokio::test]
async fn a_report_answered_late_was_still_taken_for_flt_resends_and_out_records() {
    // A library without the suggested 5 s timeout waits for a late acceptance and returns errcode 0: NPPA took the
    // record, so nothing was lost and nothing was hidden.
    use nppa_harness::certify::outcomes::{self, Outcome, OutcomeRecord, Outcomes};

    use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
    use nppa_protocol::Interface;
    let mock = start().await;
    one_fault(&mock, production_fault(Interface::Loginout, None, Some(CLIENT_TIMEOUT_MS + 500), 1));
    let now = mock.now_ms().await;
    let report = nppa_protocol::messages::LoginoutRequest::new(vec![guest(1, "late-but-taken", 1, now)]);
    let signed = nppa_protocol::request::loginout(
        mock.client().credentials(),
        &nppa_protocol::request::Target::Production,
        &report,
        now,
        rand::random(),
    );
    // `mock.http` has no timeout: it waits for the late answer.
    let mut request = mock.http.post(format!("{}{}", mock.base, signed.path_and_query)).body(signed.body.clone());
    for (name, value) in &signed.headers {
        request = request.header(*name, value);
    }
    let answer = request.send().await.unwrap().text().await.unwrap();
    assert!(answer.starts_with(r#"{"errcode":0"#), "{answer}");
    mock.client().check("after", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    let entries = entries(&mock);
    let judged = judge(&entries, mock.server.service().config(), Profile::Fuzz, vec![], vec![Some(0)]);
    assert_eq!(
        rule(&judged.rules, "FLT-RESENDS").verdict,
        Verdict::Passed,
        "{:#?}",
        rule(&judged.rules, "FLT-RESENDS")
    );
    let returned = Outcome {
        interface: Interface::Loginout,
        ai: None,
        records: vec![OutcomeRecord { si: "late-but-taken".into(), bt: 1 }],
        errcode: Some(0),
        status: None,
        pi: None,
        error: None,
    };
    let rules = outcomes::judge(&entries, &Outcomes { lines: vec![returned], unreadable: vec![] });
    let records = rules.iter().find(|r| r.id == "OUT-RECORDS").unwrap();
    assert_eq!(records.verdict, Verdict::Passed, "{records:#?}");
}

#[tokio::test]
async fn err_retry_holds_only_a_refusal_the_client_read_against_what_it_sent_after_it() {
    // Fuzz seed 9763344124547914458 found this false finding: a check answered 5.5 s late was sent again after the
    // client's 5 s timeout; the retry made the record live, so the late answer (sent after the retry arrived, and
    // read by nobody) was a 2004.
    use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
    use nppa_protocol::Interface;
    let late = || production_fault(Interface::Check, None, Some(CLIENT_TIMEOUT_MS + 500), 1);
    let (ai, name, id) = PRESET_PENDING;
    let judged_retry = |mock: &Mock| common::judging::judged(mock, Profile::Fuzz, "ERR-RETRY");

    // Sent again 200 ms after the timeout, while the late answer was still on its way.
    let mock = start().await;
    one_fault(&mock, late());
    let client = mock.client();
    assert!(client.check(ai, name, id).await.is_err(), "the client gives up at 5 s");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(client.check(ai, name, id).await.unwrap().status(), Some(1));
    let entries_now = journaled(&mock, 2).await;
    assert_eq!(entries_now.iter().find(|e| e.fault.is_some()).and_then(|e| e.errcode), Some(2004), "the seed's case");
    let verdict = judged_retry(&mock);
    assert_eq!(verdict.verdict, Verdict::NotExercised, "no refusal reached the client: {verdict:#?}");

    // Sent again after a late 2004 the client never read: it reads the next 2004 and stops (clean); a client that
    // sends it once more after reading it is caught.
    let mock = start().await;
    let client = mock.client();
    assert_eq!(client.check(ai, name, id).await.unwrap().status(), Some(1));
    one_fault(&mock, late());
    assert!(client.check(ai, name, id).await.is_err(), "the client gives up at 5 s");
    journaled(&mock, 2).await;
    assert_eq!(code(&client.check(ai, name, id).await.unwrap()), 2004);
    let verdict = judged_retry(&mock);
    assert_eq!(verdict.verdict, Verdict::Passed, "{verdict:#?}");
    mock.advance(1_000).await;
    client.check(ai, name, id).await.unwrap();
    let verdict = judged_retry(&mock);
    assert_eq!(verdict.verdict, Verdict::Failed, "{verdict:#?}");
    assert!(verdict.findings[0].message.contains("after errcode 2004"), "{verdict:#?}");
    assert_eq!(verdict.findings.len(), 1, "only the resend after the 2004 the client read: {verdict:#?}");
}

#[tokio::test]
async fn rn_discipline_holds_only_a_pending_answer_the_client_read_against_it() {
    // A check answered pending 5.5 s late, past the client's timeout, then sent again after a back-off: the retry
    // meets 2004. The client never read "pending", so checking again was no breach of discipline, and it had no
    // pending ai to query. One that read "pending" and checks again is still caught.
    use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
    use nppa_protocol::Interface;
    let (ai, name, id) = PRESET_PENDING;
    for read_pending in [false, true] {
        let mock = start().await;
        if !read_pending {
            one_fault(&mock, production_fault(Interface::Check, None, Some(CLIENT_TIMEOUT_MS + 500), 1));
        }
        let client = mock.client();
        let first = client.check(ai, name, id).await;
        assert_eq!(first.is_ok(), read_pending, "{first:?}");
        journaled(&mock, 1).await;
        assert_eq!(code(&client.check(ai, name, id).await.unwrap()), 2004);
        let verdict = common::judging::judged(&mock, Profile::All, "RN-DISCIPLINE");
        if read_pending {
            assert_eq!(verdict.verdict, Verdict::Failed, "{verdict:#?}");
            assert!(verdict.findings.iter().any(|f| f.message.contains("again while its check")), "{verdict:#?}");
        } else {
            assert_ne!(verdict.verdict, Verdict::Failed, "{verdict:#?}");
        }
    }
}

#[tokio::test]
async fn rn_query_holds_a_query_against_a_final_check_only_once_the_client_could_read_it() {
    // A query sent while its check was still being answered (2 s slow, in time) knew nothing of the result; one
    // sent after the client read status 0 queried a result it already had (R-QRY-4).
    use nppa_protocol::Interface;
    let (ai, name, id) = PRESET_OK;
    for after_reading in [false, true] {
        let mock = start().await;
        one_fault(&mock, production_fault(Interface::Check, None, Some(2_000), 1));
        let client = mock.client();
        let checking = {
            let client = client.clone();
            tokio::spawn(async move { client.check(ai, name, id).await })
        };
        if after_reading {
            assert_eq!(checking.await.unwrap().unwrap().status(), Some(0));
            client.query(ai).await.unwrap();
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            client.query(ai).await.unwrap();
            assert_eq!(checking.await.unwrap().unwrap().status(), Some(0));
        }
        let verdict = common::judging::judged(&mock, Profile::All, "RN-QUERY");
        let known = verdict.findings.iter().any(|f| f.message.contains("query only pending results"));
        assert_eq!(known, after_reading, "{verdict:#?}");
    }
}
