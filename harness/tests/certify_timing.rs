//! What the client knew, and when: a rule holds an answer against the client only when it could read it (in time,
//! over HTTP 200, whole) and only against what it sent after that answer came. Each test shows a careful client
//! that an older judge failed, and the mutant the rule is there for, still caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::judging::{judged, one_fault, production_fault};
use common::*;
use nppa_harness::certify::model::Verdict;
use nppa_harness::certify::rules::Profile;
use nppa_mockserver::faults::FaultAction;
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
use nppa_protocol::{Interface, StatusCode};

#[tokio::test]
async fn rn_discipline_holds_a_pending_person_against_the_client_only_once_it_read_pending() {
    // A check answered pending 5.5 s late, past the client's 5 s timeout: the client never read "pending" and sends
    // the check again with a fresh ai (R-AI: the first may have reached the server), which is pending too. It then
    // queries the ai it read. That is no re-check of a pending person. One that read "pending" and checks the
    // person again with a fresh ai is still caught.
    let (_, name, id) = PRESET_PENDING;
    for read_pending in [false, true] {
        let mock = start().await;
        if !read_pending {
            one_fault(&mock, production_fault(Interface::Check, None, Some(CLIENT_TIMEOUT_MS + 500), 1));
        }
        let client = mock.client();
        let first = client.check("fresh-ai-1", name, id).await;
        assert_eq!(first.is_ok(), read_pending, "{first:?}");
        if !read_pending {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(client.check("fresh-ai-2", name, id).await.unwrap().status(), Some(1));
        let journal = journaled(&mock, 2).await;
        assert!(journal.iter().all(|e| e.errcode == Some(0)), "both checks made a pending record: {journal:#?}");
        client.query("fresh-ai-2").await.unwrap();
        if read_pending {
            client.query("fresh-ai-1").await.unwrap();
        }
        let verdict = judged(&mock, Profile::All, "RN-DISCIPLINE");
        let rechecked = verdict.findings.iter().any(|f| f.message.contains("again while its check"));
        assert_eq!(rechecked, read_pending, "{verdict:#?}");
    }
}

#[tokio::test]
async fn rn_discipline_counts_only_the_failures_the_client_read() {
    // A person whose check fails (status 2). The first two answers come 5.5 s late, past the client's timeout (the
    // mock took both checks), so the client tries again and reads the failure on the third: one failure read, no
    // loop. A client that reads two failures and checks a third time is still caught.
    let id = id_num(7);
    let failing = |c: &mut nppa_mockserver::config::Config| {
        c.identities.fixtures.push(nppa_mockserver::config::FixtureConfig {
            name: "李四".into(),
            id_num: id.clone(),
            outcome: nppa_mockserver::config::FixtureOutcome::Failure,
            delay_s: None,
            then: None,
        })
    };
    for read_failures in [false, true] {
        let mock = start_with(failing).await;
        if !read_failures {
            one_fault(&mock, production_fault(Interface::Check, None, Some(CLIENT_TIMEOUT_MS + 500), 2));
        }
        let client = mock.client();
        for n in 1..=3 {
            let exchange = client.check(&format!("ai-{n}"), "李四", &id).await;
            let read = exchange.as_ref().is_ok_and(|e| e.status() == Some(2));
            assert_eq!(read, read_failures || n == 3, "check {n}: {exchange:?}");
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
        let journal = journaled(&mock, 3).await;
        assert!(journal.iter().all(|e| e.errcode == Some(0)), "the mock took all three: {journal:#?}");
        let verdict = judged(&mock, Profile::All, "RN-DISCIPLINE");
        let looped = verdict.findings.iter().any(|f| f.message.contains("after it failed"));
        assert_eq!(looped, read_failures, "{verdict:#?}");
    }
}

#[tokio::test]
async fn err_busy_holds_only_a_1006_the_client_read_from_when_it_read_it() {
    let busy = || Some(FaultAction::Status { errcode: StatusCode::Busy });
    let records = |si: &str, now_ms: u64| vec![guest(1, si, 1, now_ms)];

    // A 1006 answered 5.5 s late, past the client's timeout: the client never read it and re-sends the report
    // 200 ms after giving up. A 1006 read in time and re-sent 200 ms later is still caught.
    for read_busy in [false, true] {
        let mock = start().await;
        let delay = (!read_busy).then_some(CLIENT_TIMEOUT_MS + 500);
        one_fault(&mock, production_fault(Interface::Loginout, busy(), delay, 1));
        let client = mock.client();
        let report = records("s1", mock.now_ms().await);
        let first = client.loginout(report.clone()).await;
        assert_eq!(first.is_ok(), read_busy, "{first:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        client.loginout(report).await.unwrap();
        journaled(&mock, 2).await;
        let verdict = judged(&mock, Profile::Fuzz, "ERR-BUSY");
        assert_eq!(verdict.verdict == Verdict::Failed, read_busy, "{verdict:#?}");
    }

    // A 1006 answered 3 s slow (in time): another report of the game sent 1.5 s after the refused one arrived was
    // sent before the client could know of the 1006 (in flight, R-RL-2's tolerance counts from the answer). One
    // sent 1.5 s after the client read the 1006 is still caught.
    for after_reading in [false, true] {
        let mock = start().await;
        one_fault(&mock, production_fault(Interface::Loginout, busy(), Some(3_000), 1));
        let client = mock.client();
        let now = mock.now_ms().await;
        let mut refused = Some({
            let client = client.clone();
            let report = records("s1", now);
            tokio::spawn(async move { client.loginout(report).await })
        });
        if after_reading {
            assert_eq!(code(&refused.take().unwrap().await.unwrap().unwrap()), 1006);
        }
        tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
        client.loginout(records("s2", mock.now_ms().await)).await.unwrap();
        if let Some(refused) = refused {
            assert_eq!(code(&refused.await.unwrap().unwrap()), 1006);
        }
        let verdict = judged(&mock, Profile::Fuzz, "ERR-BUSY");
        assert_eq!(verdict.verdict == Verdict::Failed, after_reading, "{verdict:#?}");
    }
}

#[tokio::test]
async fn rn_query_takes_a_query_resigned_after_a_1011_for_a_retry_not_polling() {
    // A query refused 1011 (injected: the client's signature was right) is re-signed and sent again 200 ms later, as
    // a careful client does once (ERR-RETRY allows it): it had no answer to the first, so this is no polling of the
    // ai. A client that read the pending result and asks again 200 ms later still polls too often (V2.1 FAQ 3).
    let (ai, name, id) = PRESET_PENDING;
    for refused_first in [true, false] {
        let mock = start().await;
        let client = mock.client();
        assert_eq!(client.check(ai, name, id).await.unwrap().status(), Some(1));
        if refused_first {
            let refusal = Some(FaultAction::Status { errcode: StatusCode::PartnerAuthError });
            one_fault(&mock, production_fault(Interface::Query, refusal, None, 1));
        }
        let first = client.query(ai).await.unwrap();
        assert_eq!(code(&first), if refused_first { 1011 } else { 0 });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(client.query(ai).await.unwrap().status(), Some(1));
        let verdict = judged(&mock, Profile::All, "RN-QUERY");
        let too_close = verdict.findings.iter().any(|f| f.message.contains("space the queries"));
        assert_eq!(too_close, !refused_first, "{verdict:#?}");
    }
}

#[tokio::test]
async fn out_answer_follows_a_check_retried_with_a_fresh_ai() {
    // R-AI: a check whose answer was HTTP 503 may have reached NPPA, so a careful library retries it with a fresh ai
    // (the same check, V2.1 FAQ 2) and returns that answer for the call the game made with the first ai. That hid
    // nothing. A library that returns status 1 for it, or success when every attempt failed, is still caught.
    use nppa_harness::certify::outcomes::{self, Outcome, Outcomes};
    let (_, name, id) = PRESET_OK;
    let line = |status: u8, pi: Option<&str>| Outcome {
        interface: Interface::Check,
        ai: Some("game-ai".into()),
        records: vec![],
        errcode: Some(0),
        status: Some(status),
        pi: pi.map(Into::into),
        error: None,
    };
    let out_answer = |mock: &Mock, outcome: Outcome| {
        let results = outcomes::judge(&entries(mock), &Outcomes { lines: vec![outcome], unreadable: vec![] });
        results.into_iter().find(|r| r.id == "OUT-ANSWER").unwrap()
    };
    // An ai is free again after a final result (R-CHK-2): a game that checks another person with it makes another
    // call, matched with that person's checks.
    let mock = start().await;
    let client = mock.client();
    let mut lines = vec![];
    for person in [id_num(42), id_num(43)] {
        let exchange = client.check("game-ai", "张三", &person).await.unwrap();
        assert_eq!(exchange.status(), Some(0));
        lines.push(Outcome { pi: exchange.pi().map(Into::into), ..line(0, None) });
    }
    let results = outcomes::judge(&entries(&mock), &Outcomes { lines, unreadable: vec![] });
    let verdict = results.into_iter().find(|r| r.id == "OUT-ANSWER").unwrap();
    assert_eq!(verdict.verdict, Verdict::Passed, "{verdict:#?}");

    for retried in [true, false] {
        let mock = start().await;
        let unavailable = Some(FaultAction::HttpStatus { status: 503, body: None });
        one_fault(&mock, production_fault(Interface::Check, unavailable, None, 1));
        let client = mock.client();
        assert_eq!(client.check("game-ai", name, id).await.unwrap().http_status, 503);
        if retried {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            assert_eq!(client.check("fresh-ai", name, id).await.unwrap().status(), Some(0));
            let verdict = out_answer(&mock, line(0, Some(PRESET_OK_PI)));
            assert_eq!(verdict.verdict, Verdict::Passed, "{verdict:#?}");
            let verdict = out_answer(&mock, line(1, None));
            assert_eq!(verdict.verdict, Verdict::Failed, "{verdict:#?}");
        } else {
            let verdict = out_answer(&mock, line(0, Some(PRESET_OK_PI)));
            assert_eq!(verdict.verdict, Verdict::Failed, "{verdict:#?}");
            assert!(verdict.findings[0].message.contains("an error was reported as success"), "{verdict:#?}");
        }
    }
}
