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

/// One thing wrong, with where it was seen. A cause the traffic shows many times (every record of a batch, every
/// request of a run) is one finding with a count: its message, ids and evidence are the first time's, and
/// `later_ids` names the next few.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub message: String,
    /// Journal ids of the requests that show it (the first time).
    pub journal_ids: Vec<u64>,
    /// Lines of evidence (sign strings, plaintext, answers), quoted in the reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The SPEC choice the finding rests on, if any (our reading, not the seeds' words).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<super::choices::Choice>,
    /// How many times the traffic showed this cause.
    pub count: usize,
    /// For a cause seen more than once: the request that showed each later time, the first few of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub later_ids: Vec<u64>,
    /// The rules whose findings explain this one (an official case answered 1011 points to ENV-SIGN): the reports
    /// show those rules first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub see: Vec<&'static str>,
    /// What makes two findings one cause: the message without the details of one request. `None`: the message.
    #[serde(skip)]
    cause: Option<String>,
}

/// How many later times a grouped finding names by journal id.
pub const LATER_IDS_SHOWN: usize = 5;

impl Finding {
    pub fn new(message: impl Into<String>, journal_ids: Vec<u64>, evidence: Vec<String>) -> Finding {
        Finding {
            message: message.into(),
            journal_ids,
            evidence,
            choice: None,
            count: 1,
            later_ids: vec![],
            see: vec![],
            cause: None,
        }
    }

    /// A finding that rests on a SPEC choice.
    pub fn resting_on(mut self, choice: Option<super::choices::Choice>) -> Finding {
        self.choice = choice;
        self
    }

    /// Names the rules that diagnose what this finding only shows.
    pub fn see(mut self, rules: &[&'static str]) -> Finding {
        self.see = rules.to_vec();
        self
    }

    /// Names the cause this finding shares with others of its rule: the message's words without this request's
    /// details (its id, its values).
    pub fn because(mut self, cause: impl Into<String>) -> Finding {
        self.cause = Some(cause.into());
        self
    }

    fn cause(&self) -> &str {
        self.cause.as_deref().unwrap_or(&self.message)
    }
}

/// One finding per cause, in the order each cause was first seen, with its count and the ids of its later times.
pub fn group_by_cause(findings: Vec<Finding>) -> Vec<Finding> {
    let mut grouped: Vec<Finding> = Vec::new();
    let mut index: std::collections::HashMap<(String, Option<&'static str>), usize> = Default::default();
    for finding in findings {
        let key = (finding.cause().to_owned(), finding.choice.map(|c| c.reading));
        match index.get(&key) {
            Some(&i) => {
                let first = &mut grouped[i];
                first.count += finding.count;
                // The request that showed it last in each later time (the re-send, the retry, the record's report).
                let shown = finding.journal_ids.last().into_iter().chain(&finding.later_ids);
                for id in shown.filter(|id| !first.journal_ids.contains(id)) {
                    if first.later_ids.len() < LATER_IDS_SHOWN && !first.later_ids.contains(id) {
                        first.later_ids.push(*id);
                    }
                }
            }
            None => {
                index.insert(key, grouped.len());
                grouped.push(finding);
            }
        }
    }
    grouped
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
    /// Where each run starts in the journal: its requests have ids above this (and up to the next run's), so that
    /// `--journal` judges the runs one by one again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs_after_id: Vec<u64>,
    /// The judge's tolerances (`--busy-tolerance`, `--query-spacing`), so that `--journal` judges with them again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<super::traffic::Thresholds>,
    pub requests: usize,
    pub rules: Vec<RuleResult>,
    /// Upstream mode: the answers judged were not the mock's but those of these upstreams (the real NPPA's, when
    /// recorded against it), each URL once. Empty when the mock answered everything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answered_by: Vec<String>,
    /// What a reader must know to read the verdicts right (e.g. "no fault was injected"), shown first in every
    /// report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// `--profile fuzz`: the seed, the variations met, and the smallest failing set found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuzz: Option<super::fuzz::FuzzReport>,
    /// Seconds certify spent beyond the client's own run (mock start, judging, reports).
    pub overhead_s: f64,
    /// When the run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Seconds the whole run took, the client's runs included.
    pub wall_s: f64,
    /// How long judging each rule took, by rule id (the JUnit testcases' time).
    #[serde(skip)]
    pub judging: JudgingTimes,
    /// What the client wrote to its stdout and stderr (the JUnit file's system-out and system-err).
    #[serde(skip)]
    pub client_output: super::client_output::ClientOutput,
}

/// How long judging each rule took, by rule id.
pub type JudgingTimes = std::collections::BTreeMap<&'static str, std::time::Duration>;

impl CertifyReport {
    /// Rules that failed.
    pub fn failed(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.verdict == Verdict::Failed)
    }

    /// The failed rules in the order to read them: first those another failure points to (its root cause, e.g.
    /// ENV-SIGN for official cases answered 1011), then the others, each group in catalogue order.
    pub fn failed_causes_first(&self) -> Vec<&RuleResult> {
        let pointed: std::collections::HashSet<&str> =
            self.failed().flat_map(|r| r.findings.iter().flat_map(|f| f.see.iter().copied())).collect();
        let (causes, others): (Vec<&RuleResult>, Vec<&RuleResult>) =
            self.failed().partition(|r| pointed.contains(r.id));
        causes.into_iter().chain(others).collect()
    }

    /// The failed rules whose findings point to `rule` (what it explains).
    pub fn explained_by(&self, rule: &str) -> Vec<&'static str> {
        self.failed().filter(|r| r.findings.iter().any(|f| f.see.contains(&rule))).map(|r| r.id).collect()
    }

    /// True when every rule passed or was not exercised.
    pub fn all_passed(&self) -> bool {
        self.failed().next().is_none()
    }
}

/// Who answered a recorded journal: the upstreams of its forwarded requests (upstream mode), each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnsweredBy {
    /// The upstreams' URLs (scheme, host, prefix), in the order first seen.
    pub upstreams: Vec<String>,
    /// Requests forwarded, of `requests`.
    pub forwarded: usize,
    /// Forwarded requests the upstream did not answer (the client got the mock's 502).
    pub unanswered: usize,
    pub requests: usize,
}

impl AnsweredBy {
    pub fn of(entries: &[nppa_mockserver::journal::JournalEntry]) -> AnsweredBy {
        let mut answered = AnsweredBy { requests: entries.len(), ..AnsweredBy::default() };
        for entry in entries {
            // Shadow mode's entries hold the mock's answer unless the client got the upstream's
            // (`shadow_serve = "upstream"`).
            let Some(upstream) = entry.upstream.as_ref().filter(|u| u.answered_the_client()) else { continue };
            answered.forwarded += 1;
            answered.unanswered += usize::from(upstream.status.is_none());
            let sent = match &entry.query {
                Some(query) => format!("{}?{query}", entry.path),
                None => entry.path.clone(),
            };
            let base = upstream.url.strip_suffix(&sent).unwrap_or(&upstream.url).to_owned();
            if !answered.upstreams.contains(&base) {
                answered.upstreams.push(base);
            }
        }
        answered
    }

    /// The report's note: whose answers the verdicts rest on. `None` when the mock answered everything.
    pub fn note(&self) -> Option<String> {
        if self.forwarded == 0 {
            return None;
        }
        let share = match self.forwarded == self.requests {
            true => "every request".to_owned(),
            false => format!("{} of {} requests", self.forwarded, self.requests),
        };
        let unanswered = match self.unanswered {
            0 => String::new(),
            n => format!("; {n} got no answer from it (the client got the mock's HTTP 502)"),
        };
        Some(format!(
            "recorded in upstream mode (or shadow mode serving the upstream's answers): the answers judged are the upstream's, not the mock's ({share} forwarded to {}{unanswered}); when that is the real NPPA, the verdicts judge the client against the real system",
            self.upstreams.join(", ")
        ))
    }
}
