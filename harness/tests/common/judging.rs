//! Judging the mock's journal in tests: the report of a profile, one rule of it, its findings as text, and faults to
//! stage (shared by the certify review tests).

use nppa_harness::certify::judge;
use nppa_harness::certify::model::{CertifyReport, RuleResult, Verdict};
use nppa_harness::certify::rules::Profile;
use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
use nppa_protocol::Interface;

use super::{entries, Mock};

/// The mock's journal judged under `profile`, the client having exited 0.
pub fn report(mock: &Mock, profile: Profile) -> CertifyReport {
    judge(&entries(mock), mock.server.service().config(), profile, vec![], vec![Some(0)])
}

pub fn rule<'r>(report: &'r CertifyReport, id: &str) -> &'r RuleResult {
    report.rules.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no rule {id}"))
}

/// One rule of the mock's journal judged under `profile`.
pub fn judged(mock: &Mock, profile: Profile, id: &str) -> RuleResult {
    rule(&report(mock, profile), id).clone()
}

/// A rule's findings, one message a line.
pub fn text(rule: &RuleResult) -> String {
    rule.findings.iter().map(|f| format!("{}\n", f.message)).collect()
}

/// The rule did not fail (passed, or had nothing to judge).
pub fn not_failed(report: &CertifyReport, id: &str) {
    let r = rule(report, id);
    assert_ne!(r.verdict, Verdict::Failed, "false finding of {id}:\n{}", text(r));
}

pub fn one_fault(mock: &Mock, rule: FaultRule) {
    mock.server.service().faults().add(FaultRequest::One(rule)).unwrap();
}

/// A fault on production paths of one interface, for its first `count` requests.
pub fn production_fault(
    interface: Interface,
    action: Option<FaultAction>,
    delay_ms: Option<u64>,
    count: u64,
) -> FaultRule {
    FaultRule {
        test_system: Some(false),
        interface: Some(interface),
        count: Some(count),
        action,
        delay_ms,
        ..FaultRule::default()
    }
}
