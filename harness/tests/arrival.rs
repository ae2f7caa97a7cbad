//! Arrival is the truth: the mock judges every request at the time it arrived, a fault's delay changes when the
//! answer comes and never what it says, the journal keeps what was sent whoever answered it, and certify reads
//! "before" and "after" in arrival order. Through the real server on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use nppa_harness::certify::judge;
use nppa_harness::certify::model::Verdict;
use nppa_harness::certify::rules::Profile;
use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
use nppa_protocol::{Interface, StatusCode};

fn fault(rule: FaultRule) -> FaultRequest {
    FaultRequest::One(rule)
}

#[tokio::test]
async fn r_ts_1_a_delayed_request_is_judged_at_its_arrival_and_gets_its_real_answer() {
    // A 1 s window and a 1.5 s delay: judged when the answer leaves, the fresh timestamps would be 1007.
    let mock = start_with(|c| c.rules.timestamp_window_ms = 1_000).await;
    let delay =
        FaultRule { interface: Some(Interface::Check), count: Some(1), delay_ms: Some(1_500), ..FaultRule::default() };
    mock.server.service().faults().add(fault(delay)).unwrap();
    let answer = mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(
        (code(&answer), answer.status()),
        (0, Some(0)),
        "the delay changed the answer: {}",
        answer.response_body
    );
    let entry = &journaled(&mock, 1).await[0];
    assert!(entry.arrived_ms > 0 && entry.time_ms >= entry.arrived_ms + 1_400, "{entry:?}");
    assert!(entry.fault.is_some());
}

#[tokio::test]
async fn the_journal_keeps_the_plaintext_of_requests_a_fault_or_an_early_gate_answered() {
    let mock = start_with(|c| c.games[0].quota.loginout = Some(1)).await;
    mock.freeze().await; // both reports in one quota second
    let status = FaultRule {
        interface: Some(Interface::Check),
        count: Some(1),
        action: Some(FaultAction::Status { errcode: StatusCode::RemoteStateError }),
        ..FaultRule::default()
    };
    mock.server.service().faults().add(fault(status)).unwrap();
    let client = mock.client();
    assert_eq!(code(&client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 2007);
    let now = mock.now_ms().await;
    assert_eq!(code(&client.loginout(vec![guest(1, "first", 1, now)]).await.unwrap()), 0);
    assert_eq!(code(&client.loginout(vec![guest(1, "second", 1, now)]).await.unwrap()), 1006);
    let wrong_key = mock.client_for(nppa_harness::DEFAULT_APP_ID, nppa_harness::DEFAULT_BIZ_ID, &"ab".repeat(16));
    assert_eq!(code(&wrong_key.check("signed-wrong", PRESET_OK.1, PRESET_OK.2).await.unwrap()), 1011);

    let entries = entries(&mock);
    let plaintext = |i: usize| entries[i].plaintext.clone().unwrap_or_default();
    assert!(plaintext(0).contains(PRESET_OK.0), "answered by the 2007 fault: {:?}", entries[0]);
    assert!(plaintext(2).contains("\"second\""), "answered 1006 before decryption: {:?}", entries[2]);
    assert_ne!(plaintext(1), plaintext(2), "two different reports are told apart");
    // Sealed with a key the enterprise never had: nothing to read, and nothing invented.
    assert_eq!(entries[3].plaintext, None);
}

#[tokio::test]
async fn certify_reads_after_as_after_in_arrival_a_retry_answered_before_the_delayed_request_is_a_later_call() {
    let mock = start().await;
    let slow_error = FaultRule {
        interface: Some(Interface::Query),
        count: Some(1),
        delay_ms: Some(1_500),
        action: Some(FaultAction::Status { errcode: StatusCode::SysError }),
        ..FaultRule::default()
    };
    mock.server.service().faults().add(fault(slow_error)).unwrap();
    // A careful client with a 1 s timeout: it gives up on the held query and sends it again, re-signed.
    let impatient = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let client = mock.client().with_http(impatient);
    assert!(client.query(PRESET_PENDING.0).await.is_err(), "the first query times out");
    client.query(PRESET_PENDING.0).await.unwrap();
    let entries = journaled(&mock, 2).await;
    // The retry was answered first, so it has the smaller id; it arrived second.
    let (retry, held) = (&entries[0], &entries[1]);
    assert!(held.fault.is_some() && retry.fault.is_none() && held.arrived_ms < retry.arrived_ms, "{entries:#?}");

    let report = judge(&entries, mock.server.service().config(), Profile::Faults, vec![], vec![Some(0)]);
    let survives = report.rules.iter().find(|r| r.id == "FLT-SURVIVES").unwrap();
    assert_eq!(survives.verdict, Verdict::Passed, "{survives:#?}");
}
