//! `--profile faults` through the real mock: the plan reaches clients that call only the test system, and a run in
//! which no fault was injected says so in every report instead of passing silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::model::Verdict;
use nppa_harness::certify::reference::{self, FlowEnv};
use nppa_harness::certify::rules::Profile;
use nppa_harness::certify::{client_environment, fault_plan, judge, report};
use nppa_mockserver::journal::{JournalEntry, JournalQuery};

fn flow_env(mock: &Mock) -> FlowEnv {
    let env = client_environment(mock.server.service().config(), &mock.base);
    let mut flow = FlowEnv::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
    flow.time = nppa_harness::client::TimeSource::MockClock;
    flow
}

fn entries(mock: &Mock) -> Vec<JournalEntry> {
    let query = JournalQuery { limit: Some(usize::MAX), ..JournalQuery::default() };
    mock.server.service().journal().query(&query).iter().map(|e| (**e).clone()).collect()
}

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
