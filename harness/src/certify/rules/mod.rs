//! The rules `nppa certify` judges a client's traffic by. Each has an id, a severity and the SPEC rule it
//! enforces; each finding names the requests (journal ids) and quotes the evidence.
//!
//! One module per family, in report order: [`official`] (the 8 test cases), [`envelope`] (signature, sealing,
//! timestamps, query parameters), [`plaintext`] (JSON types and units), [`behaviour`] (loginout reporting and
//! pacing), [`realname`] (check and query discipline), [`faults`] (surviving injected faults), [`errors`]
//! (reacting to error codes).

mod behaviour;
mod envelope;
mod errors;
mod faults;
mod official;
mod plaintext;
mod realname;

use super::model::{group_by_cause, Finding, JudgingTimes, RuleResult, Severity, Verdict};
use super::traffic::{Deployment, Traffic};

/// Which rules a run judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The 8 official test cases, and the envelope of every request.
    Official,
    /// Envelope, plaintext, behaviour reporting, real-name discipline and error handling.
    Behaviour,
    /// Error handling under injected faults (HTTP errors, resets, broken JSON, slow answers, 1006,
    /// loginout `data` variants), with the envelope rules.
    Faults,
    /// Every rule, without injecting faults.
    All,
    /// The faults profile's rules and the outcome assertions, under answers varied as the real system or a network
    /// could (seeded; a failure is shrunk to the smallest set of variations that still fails).
    Fuzz,
}

impl Profile {
    /// As on the command line: `faults`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Official => "official",
            Profile::Behaviour => "behaviour",
            Profile::Faults => "faults",
            Profile::All => "all",
            Profile::Fuzz => "fuzz",
        }
    }
}

/// Which profiles a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// The 8 official cases.
    Official,
    /// The envelope of every request: in every profile.
    Envelope,
    /// Plaintext, behaviour reporting, real-name discipline.
    Behaviour,
    /// Error handling: with behaviour, and under injected faults.
    Errors,
    /// Surviving injected faults.
    Faults,
}

impl Group {
    fn in_profile(self, profile: Profile) -> bool {
        match profile {
            Profile::All => true,
            Profile::Official => matches!(self, Group::Official | Group::Envelope),
            Profile::Behaviour => matches!(self, Group::Envelope | Group::Behaviour | Group::Errors),
            Profile::Faults | Profile::Fuzz => matches!(self, Group::Envelope | Group::Errors | Group::Faults),
        }
    }
}

/// What a judge returns: `None` when the traffic gave it nothing to judge.
type Judgement = Option<Vec<Finding>>;

/// A judge: the traffic, in arrival order, and what is known of the deployment.
type Judge = fn(&Traffic<'_>, &Deployment) -> Judgement;

/// One rule.
#[derive(Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// The SPEC.md rules it enforces.
    pub spec: &'static str,
    group: Group,
    /// What a client must do, in one line (the report's title of the rule).
    pub summary: &'static str,
    judge: Judge,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).field("group", &self.group).finish_non_exhaustive()
    }
}

fn finding(message: impl Into<String>, ids: Vec<u64>, evidence: Vec<String>) -> Finding {
    Finding::new(message, ids, evidence)
}

/// Every rule, in report order.
pub fn catalogue() -> Vec<Rule> {
    [
        &official::RULES[..],
        envelope::RULES,
        plaintext::RULES,
        behaviour::RULES,
        realname::RULES,
        faults::RULES,
        errors::RULES,
    ]
    .concat()
}

/// Judges the traffic under a profile; also says how long each rule took.
pub fn judge(traffic: &Traffic<'_>, deployment: &Deployment, profile: Profile) -> (Vec<RuleResult>, JudgingTimes) {
    let mut times = JudgingTimes::new();
    let results = catalogue()
        .into_iter()
        .filter(|rule| rule.group.in_profile(profile))
        .map(|rule| {
            let started = std::time::Instant::now();
            let judgement = (rule.judge)(traffic, deployment);
            let (verdict, findings) = match judgement {
                None => (Verdict::NotExercised, vec![]),
                Some(findings) if findings.is_empty() => (Verdict::Passed, findings),
                Some(findings) => (Verdict::Failed, group_by_cause(findings)),
            };
            times.insert(rule.id, started.elapsed());
            RuleResult { id: rule.id, title: rule.summary, severity: rule.severity, spec: rule.spec, verdict, findings }
        })
        .collect();
    (results, times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_every_group_is_in_the_all_profile() {
        let rules = catalogue();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rules.len());
        assert!(rules.iter().all(|r| r.group.in_profile(Profile::All)));
    }
}
