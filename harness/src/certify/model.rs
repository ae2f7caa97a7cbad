//! The result model every report is written from: rules, their verdicts, and findings with evidence.

use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The real system refuses it, or the operator is warned for it.
    Error,
    /// Works today, breaks under conditions the mock can stage.
    Warning,
}

/// A rule's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    /// Nothing in the traffic the rule could judge (e.g. no loginout at all).
    NotExercised,
}

/// One thing wrong, with where it was seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub message: String,
    /// Journal ids of the requests that show it.
    pub journal_ids: Vec<u64>,
    /// Lines of evidence (sign strings, plaintext, answers), quoted in the reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The SPEC choice the finding rests on, if any (our reading, not the seeds' words).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<super::choices::Choice>,
}

impl Finding {
    /// A finding that rests on a SPEC choice.
    pub fn resting_on(mut self, choice: Option<super::choices::Choice>) -> Finding {
        self.choice = choice;
        self
    }
}

/// A rule and what the traffic showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The SPEC.md rule it enforces.
    pub spec: &'static str,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

/// A whole certification.
#[derive(Debug, Clone, Serialize)]
pub struct CertifyReport {
    pub profile: String,
    pub command: Vec<String>,
    /// Exit codes of the client's runs (`None`: killed at the time limit).
    pub runs: Vec<Option<i32>>,
    pub requests: usize,
    pub rules: Vec<RuleResult>,
    /// What a reader must know to read the verdicts right (e.g. "no fault was injected"), shown first in every
    /// report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Seconds certify spent beyond the client's own run (mock start, judging, reports).
    pub overhead_s: f64,
}

impl CertifyReport {
    /// Rules that failed.
    pub fn failed(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.verdict == Verdict::Failed)
    }

    /// True when every rule passed or was not exercised.
    pub fn all_passed(&self) -> bool {
        self.failed().next().is_none()
    }
}
