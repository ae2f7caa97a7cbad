//! Outcome assertions: what the client's library returned for each call, matched with what the mock answered.
//! The traffic cannot show a library that reports status 0 for an error, or drops records after three 1006s and
//! returns no error; the library's own account of each call can.
//!
//! The client writes one JSON line per call to the file named by `NPPA_CERTIFY_OUTCOMES` (absent: nothing
//! changes):
//!
//! ```text
//! {"interface":"check","ai":"a1","errcode":0,"status":1}
//! {"interface":"query","ai":"a1","errcode":0,"status":0,"pi":"1fffbj…"}
//! {"interface":"loginout","records":[{"si":"s1","bt":1}],"errcode":0}
//! {"interface":"check","ai":"a2","error":"timed out"}
//! ```
//!
//! `errcode`, `status` and `pi` are what the library returned; `error` is the error it raised instead.

use std::collections::HashMap;
use std::path::Path;

use nppa_mockserver::journal::JournalEntry;
use nppa_protocol::Interface;
use serde::{Deserialize, Serialize};

use super::model::{group_by_cause, Finding, RuleResult, Severity, Verdict};
use super::traffic::{Plaintext, Seen};

/// The environment variable that names the outcomes file.
pub const ENV: &str = "NPPA_CERTIFY_OUTCOMES";

/// What the client's library returned for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub interface: Interface,
    /// The ai of a check or query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<String>,
    /// The records of a loginout handed to the library.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<OutcomeRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pi: Option<String>,
    /// The error the library raised instead of returning an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One record of a loginout call: its session and whether it is a login (1) or a logout (0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRecord {
    pub si: String,
    pub bt: i64,
}

/// The outcomes file, read: the lines that parsed, and the ones that did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub lines: Vec<Outcome>,
    /// (line number, why) of each line that is not an outcome.
    pub unreadable: Vec<(usize, String)>,
}

impl Outcomes {
    /// Reads the file; `None` when it does not exist or holds nothing (the client reports no outcomes).
    pub fn read(path: &Path) -> std::io::Result<Option<Outcomes>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let outcomes = Outcomes::parse(&text);
        Ok((!outcomes.lines.is_empty() || !outcomes.unreadable.is_empty()).then_some(outcomes))
    }

    /// Parses JSON lines; blank lines are skipped.
    pub fn parse(text: &str) -> Outcomes {
        let mut outcomes = Outcomes::default();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match serde_json::from_str::<Outcome>(line) {
                Ok(outcome) => outcomes.lines.push(outcome),
                Err(e) => outcomes.unreadable.push((i + 1, e.to_string())),
            }
        }
        outcomes
    }
}

/// One protocol request, as the outcome rules need it.
struct Sent<'a> {
    entry: &'a JournalEntry,
    interface: Interface,
    ai: Option<String>,
    /// The (name, idNum) of a check.
    person: Option<(String, String)>,
    records: Vec<(OutcomeRecord, i64)>,
    got: Seen,
}

impl Sent<'_> {
    fn at_ms(&self) -> u64 {
        if self.entry.arrived_ms > 0 {
            self.entry.arrived_ms
        } else {
            self.entry.time_ms
        }
    }
}

fn sent(entries: &[JournalEntry]) -> Vec<Sent<'_>> {
    #[derive(Deserialize)]
    struct Record {
        no: i64,
        si: String,
        bt: i64,
    }
    #[derive(Deserialize)]
    struct Report {
        collections: Vec<Record>,
    }
    let mut sent: Vec<Sent<'_>> = entries
        .iter()
        .filter_map(|entry| {
            let interface = entry.interface?;
            let plaintext = entry.plaintext.as_deref().unwrap_or("");
            // A check's fields, each read alone (the judge's lenient reading): a wrongly typed idNum leaves its ai
            // to match by.
            let check = (interface == Interface::Check).then(|| Plaintext::parse(plaintext, Some(interface)));
            let person = check.as_ref().and_then(Plaintext::person).map(|(n, i)| (n.to_owned(), i.to_owned()));
            let ai = match interface {
                Interface::Check => check.as_ref().and_then(Plaintext::ai).map(str::to_owned),
                Interface::Query => entry
                    .query
                    .as_deref()
                    .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "ai"))
                    .map(|(_, v)| v.into_owned()),
                Interface::Loginout => None,
            };
            let records = match interface {
                Interface::Loginout => serde_json::from_str::<Report>(plaintext)
                    .map(|r| r.collections.into_iter().map(|r| (OutcomeRecord { si: r.si, bt: r.bt }, r.no)).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            Some(Sent { entry, interface, ai, person, records, got: Seen::of(entry) })
        })
        .collect();
    sent.sort_by_key(Sent::at_ms);
    sent
}

/// Judges the outcomes against the traffic: two rules, OUT-ANSWER and OUT-RECORDS.
pub fn judge(entries: &[JournalEntry], outcomes: &Outcomes) -> Vec<RuleResult> {
    let sent = sent(entries);
    let mut unreadable: Vec<Finding> = outcomes
        .unreadable
        .iter()
        .map(|(line, why)| {
            let message =
                format!("line {line} of ${ENV} is not an outcome ({why}); see the README, \"Outcome assertions\"");
            Finding::new(message, vec![], vec![]).because(format!("outcome lines that are not outcomes: {why}"))
        })
        .collect();
    let mut answers = answer_findings(&sent, &outcomes.lines);
    answers.append(&mut unreadable);
    let records = record_findings(&sent, &outcomes.lines);
    let exercised_records = outcomes.lines.iter().any(|o| o.interface == Interface::Loginout);
    vec![
        result(
            "OUT-ANSWER",
            "what the library returned for each call is what NPPA answered (errcode, status, pi), and every call it answered was sent",
            !outcomes.lines.is_empty() || !outcomes.unreadable.is_empty(),
            answers,
        ),
        result(
            "OUT-RECORDS",
            "every record handed to the library was accepted by NPPA, or the library raised an error",
            exercised_records,
            records,
        ),
    ]
}

fn result(id: &'static str, title: &'static str, exercised: bool, findings: Vec<Finding>) -> RuleResult {
    let verdict = match (exercised, findings.is_empty()) {
        (false, _) => Verdict::NotExercised,
        (true, true) => Verdict::Passed,
        (true, false) => Verdict::Failed,
    };
    RuleResult {
        id,
        title,
        severity: Severity::Error,
        spec: "outcome assertions",
        verdict,
        findings: group_by_cause(findings),
    }
}

/// The key a call is matched by: its interface and ai, for a check the person checked, or for a loginout its first
/// record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ai(Interface, String),
    /// A check by (name, idNum): a retry with a fresh ai is the same call (V2.1 FAQ 2), and after an answer the
    /// library could not read it must use one (R-AI, FAQ 200), so the game's ai is only on its first attempt.
    Person(String, String),
    Record(OutcomeRecord),
}

/// The key of an outcome line. A check's is the person of the first check sent with its ai that no earlier line
/// took (an ai is free again after a final result, R-CHK-2, and may be another person's next): `people` lists, for
/// each ai, the person and the place in that person's checks of each check sent with it, in arrival order.
fn key_of_outcome(
    outcome: &Outcome,
    people: &HashMap<&str, Vec<(Key, usize)>>,
    taken: &HashMap<Key, usize>,
) -> Option<Key> {
    match outcome.interface {
        Interface::Loginout => outcome.records.first().cloned().map(Key::Record),
        Interface::Check => outcome.ai.as_deref().map(|ai| {
            let sent_with = people.get(ai).map(Vec::as_slice).unwrap_or_default();
            let untaken = sent_with.iter().find(|(key, i)| *i >= taken.get(key).copied().unwrap_or(0));
            untaken
                .or(sent_with.first())
                .map_or_else(|| Key::Ai(Interface::Check, ai.to_owned()), |(key, _)| key.clone())
        }),
        interface => outcome.ai.clone().map(|ai| Key::Ai(interface, ai)),
    }
}

fn keys_of_sent(sent: &Sent<'_>) -> Vec<Key> {
    match (sent.interface, &sent.person) {
        (Interface::Loginout, _) => sent.records.iter().map(|(r, _)| Key::Record(r.clone())).collect(),
        (Interface::Check, Some((name, id_num))) => vec![Key::Person(name.clone(), id_num.clone())],
        (interface, _) => sent.ai.iter().map(|ai| Key::Ai(interface, ai.clone())).collect(),
    }
}

/// Does what the library returned agree with this answer?
fn agrees(outcome: &Outcome, sent: &Sent<'_>) -> bool {
    // What the client could read in 5 s, or the answer itself when it came later: 5 s is the seed's suggestion
    // ("客户端接口超时时间（建议）：5s"), and a library that waited longer and returned it hid nothing.
    let late = Seen::late_answer(sent.entry);
    let Some(answer) = sent.got.answer().or(late.as_ref()) else { return false };
    outcome.errcode == Some(answer.errcode)
        && outcome.status.is_none_or(|s| answer.status.map(u8::from) == Some(s))
        && (outcome.pi.is_none() || outcome.pi == answer.pi)
}

fn what_was_returned(outcome: &Outcome) -> String {
    match (&outcome.error, outcome.errcode) {
        (Some(error), _) => format!("raised {error:?}"),
        (None, Some(code)) => {
            let mut text = format!("returned errcode {code}");
            if let Some(status) = outcome.status {
                text += &format!(", status {status}");
            }
            text
        }
        (None, None) => "returned neither an errcode nor an error".to_owned(),
    }
}

fn answer_findings(sent: &[Sent<'_>], outcomes: &[Outcome]) -> Vec<Finding> {
    // Each key's requests in arrival order; each call takes its attempts from the front.
    let mut by_key: HashMap<Key, Vec<&Sent<'_>>> = HashMap::new();
    for s in sent {
        for key in keys_of_sent(s) {
            by_key.entry(key).or_default().push(s);
        }
    }
    let mut people: HashMap<&str, Vec<(Key, usize)>> = HashMap::new();
    let mut counted: HashMap<Key, usize> = HashMap::new();
    for s in sent.iter().filter(|s| s.interface == Interface::Check) {
        if let (Some(ai), Some(key @ Key::Person(..))) = (s.ai.as_deref(), keys_of_sent(s).pop()) {
            let place = counted.entry(key.clone()).or_default();
            people.entry(ai).or_default().push((key, *place));
            *place += 1;
        }
    }
    let mut taken: HashMap<Key, usize> = HashMap::new();
    let mut findings = Vec::new();
    for (line, outcome) in outcomes.iter().enumerate() {
        let line = line + 1;
        let Some(key) = key_of_outcome(outcome, &people, &taken) else {
            let message =
                format!("outcome line {line} names no ai (check, query) or records (loginout) to match it by");
            findings.push(Finding::new(message, vec![], vec![]).because("outcomes with nothing to match them by"));
            continue;
        };
        let all = by_key.get(&key).map(Vec::as_slice).unwrap_or_default();
        let from = taken.get(&key).copied().unwrap_or(0).min(all.len());
        let attempts = &all[from..];
        let who = match (&key, outcome.ai.as_deref()) {
            (Key::Record(r), _) => format!("loginout of session {:?} (bt {})", r.si, r.bt),
            (_, ai) => format!("{} of ai {:?}", outcome.interface, ai.unwrap_or_default()),
        };
        if outcome.error.is_some() {
            // The library said it failed; that is never hiding an answer. Its call took the failed attempts at
            // the front (its retries), or one attempt it could not read (a client timeout shorter than ours).
            let failed = attempts.iter().take_while(|s| !s.got.is_success()).count();
            taken.insert(key, from + failed.max(1).min(attempts.len()));
            continue;
        }
        if attempts.is_empty() {
            findings.push(Finding::new(format!(
                    "the library {} for the {who} (outcome line {line}), but sent no request for it: an answer NPPA never gave",
                    what_was_returned(outcome)
                ), vec![], vec![]).because("the library returned an answer for a call it never sent"));
            continue;
        }
        // A library that re-sent a 3001's rejected records itself and returned errcode 0 for the whole call told the
        // truth when NPPA took every record of it in the end.
        let all_taken = outcome.interface == Interface::Loginout
            && outcome.errcode == Some(0)
            && !outcome.records.is_empty()
            && outcome.records.iter().all(|record| sent.iter().any(|s| accepted(s, record)));
        match attempts.iter().position(|s| agrees(outcome, s)).or(all_taken.then_some(0)) {
            Some(i) => {
                taken.insert(key, from + i + 1);
            }
            None => {
                let last = attempts[attempts.len() - 1];
                let hid_an_error = outcome.errcode == Some(0) && !last.got.is_success();
                let answered: Vec<String> =
                    attempts.iter().map(|s| format!("#{} {}", s.entry.id, s.got.describe())).collect();
                findings.push(Finding::new(format!(
                        "the library {} for the {who} (outcome line {line}), but NPPA answered {}: it must return what NPPA answered{}",
                        what_was_returned(outcome),
                        answered.join(", "),
                        if hid_an_error { " (an error was reported as success)" } else { "" }
                    ), attempts.iter().map(|s| s.entry.id).collect(), vec![last.entry.answer.clone()]).because(match hid_an_error {
                        true => "the library reported an error as success",
                        false => "the library returned other than what NPPA answered",
                    }));
                taken.insert(key, all.len());
            }
        }
    }
    findings
}

fn record_findings(sent: &[Sent<'_>], outcomes: &[Outcome]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (line, outcome) in outcomes.iter().enumerate().filter(|(_, o)| o.interface == Interface::Loginout) {
        // The library told the game the records were not (all) reported: it raised an error, or returned NPPA's
        // error code (a 1006 given up on, a 3001). Whether that code is what NPPA answered is OUT-ANSWER's business.
        if outcome.error.is_some() || outcome.errcode.is_some_and(|code| code != 0) {
            continue;
        }
        for record in &outcome.records {
            let carried: Vec<&Sent<'_>> = sent.iter().filter(|s| s.records.iter().any(|(r, _)| r == record)).collect();
            let accepted = carried.iter().any(|s| accepted(s, record));
            if accepted {
                continue;
            }
            let who = format!("the record of session {:?} (bt {})", record.si, record.bt);
            let (cause, message) = if carried.is_empty() {
                ("records handed to the library were never sent, and it raised no error", format!(
                    "{who} was handed to the library (outcome line {}) and never sent, and the library {}: it lost the record without an error",
                    line + 1,
                    what_was_returned(outcome)
                ))
            } else {
                let answers: Vec<String> =
                    carried.iter().map(|s| format!("#{} {}", s.entry.id, s.got.describe())).collect();
                ("records were never accepted, and the library raised no error", format!(
                    "{who} was never accepted ({}), and the library {} (outcome line {}): it dropped the record without an error",
                    answers.join(", "),
                    what_was_returned(outcome),
                    line + 1
                ))
            };
            findings.push(Finding::new(message, carried.iter().map(|s| s.entry.id).collect(), vec![]).because(cause));
        }
    }
    findings
}

/// Did this report's answer accept the record: errcode 0, or a 3001 that did not list its `no`? A late answer
/// counts: NPPA took the record whenever it said so (a library that waited past 5 s for it lost nothing).
fn accepted(sent: &Sent<'_>, record: &OutcomeRecord) -> bool {
    let late = Seen::late_answer(sent.entry);
    let Some(answer) = sent.got.answer().or(late.as_ref()) else { return false };
    let Some((_, no)) = sent.records.iter().find(|(r, _)| r == record) else { return false };
    answer.is_ok() || (answer.errcode == 3001 && !answer.rejected.iter().any(|r| r.no == *no))
}
