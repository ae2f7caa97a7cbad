//! Fault injection (SPEC §9): make the mock misbehave on purpose, by interface, tenant, probability, count and
//! mock-clock window — forced status codes (2006–2008, 4001 or any other), latency, non-200 answers, reset
//! connections, truncated or corrupt JSON, and the loginout `data` shapes seen in the wild. Draws come from
//! one seeded generator, so the same seed and the same request order give the same faults.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use nppa_protocol::{Interface, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::variation::Changes;

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer this errcode instead of processing the request (a number in JSON; unknown codes are refused).
    Status { errcode: StatusCode },
    /// Answer this HTTP status with `body` (none when absent) instead of processing the request.
    HttpStatus {
        status: u16,
        #[serde(default)]
        body: Option<String>,
    },
    /// Close the connection without an answer, before processing.
    Reset,
    /// Process, then send only the first half of the JSON answer.
    Truncate,
    /// Process, then send the JSON answer with a byte changed so that it no longer parses.
    Corrupt,
    /// Process; an accepted loginout answers with `data` in this shape instead of `""`.
    LoginoutData { shape: DataShape },
    /// Process, then answer with these changes; a rule is spent only on an answer all of them fit (`pi_null` waits
    /// for a pending or failed result, `every_record_rejected` for an accepted report).
    Vary { changes: Changes },
}

/// Shapes of `data` in an accepted loginout answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataShape {
    Absent,
    Null,
    Object,
    EmptyString,
    /// `{"results":[]}`: the 3001 shape with nothing rejected.
    EmptyResults,
}

impl DataShape {
    /// Every shape.
    pub const ALL: [DataShape; 5] =
        [DataShape::Absent, DataShape::Null, DataShape::Object, DataShape::EmptyString, DataShape::EmptyResults];
}

/// `GET /__admin/faults` (and the answer of `DELETE`): the rules with their hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultList {
    pub seed: u64,
    pub rules: Vec<ListedFault>,
}

/// A fault rule and how many requests it has hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedFault {
    #[serde(flatten)]
    pub rule: FaultRule,
    pub hits: u64,
}

/// One rule. Every filter left out matches everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Given by the mock.
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub interface: Option<Interface>,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub biz_id: Option<String>,
    /// Only test-system paths (true) or only production paths (false).
    #[serde(default)]
    pub test_system: Option<bool>,
    /// Chance that a matching request is hit (default 1).
    #[serde(default = "always")]
    pub probability: f64,
    /// Hit at most this many requests.
    #[serde(default)]
    pub count: Option<u64>,
    /// Mock-clock window (Unix ms), start inclusive, end exclusive.
    #[serde(default)]
    pub from_ms: Option<u64>,
    #[serde(default)]
    pub until_ms: Option<u64>,
    /// Wait this long (real time) before answering.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// What to do; only the delay when absent.
    #[serde(default)]
    pub action: Option<FaultAction>,
}

fn always() -> f64 {
    1.0
}

impl Default for FaultRule {
    /// A rule that matches every request and does nothing yet: set `action` or `delay_ms`.
    fn default() -> Self {
        FaultRule {
            id: 0,
            interface: None,
            app_id: None,
            biz_id: None,
            test_system: None,
            probability: always(),
            count: None,
            from_ms: None,
            until_ms: None,
            delay_ms: None,
            action: None,
        }
    }
}

/// Why a fault rule is refused (`POST /__admin/faults` answers 400 with this message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultRuleError {
    #[error("probability is between 0 and 1")]
    Probability(f64),
    #[error("a rule needs an action, a delay_ms, or both")]
    NothingToDo,
    #[error("{0} is not an HTTP status")]
    HttpStatus(u16),
    #[error("a vary action needs at least one change")]
    NoChange,
}

impl FaultRule {
    fn validate(&self) -> Result<(), FaultRuleError> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(FaultRuleError::Probability(self.probability));
        }
        if self.delay_ms.is_none() && self.action.is_none() {
            return Err(FaultRuleError::NothingToDo);
        }
        match &self.action {
            Some(FaultAction::HttpStatus { status, .. }) if !(100..=599).contains(status) => {
                Err(FaultRuleError::HttpStatus(*status))
            }
            Some(FaultAction::Vary { changes }) if changes.is_empty() => Err(FaultRuleError::NoChange),
            _ => Ok(()),
        }
    }

    fn matches(&self, request: &FaultTarget<'_>, now_ms: u64) -> bool {
        self.interface.is_none_or(|i| request.interface == Some(i))
            && self.app_id.as_deref().is_none_or(|a| request.app_id == Some(a))
            && self.biz_id.as_deref().is_none_or(|b| request.biz_id == Some(b))
            && self.test_system.is_none_or(|t| request.test_system == t)
            && self.from_ms.is_none_or(|from| now_ms >= from)
            && self.until_ms.is_none_or(|until| now_ms < until)
    }

    /// The kind of fault, for metrics.
    pub fn kind(&self) -> FaultKind {
        self.note().kind()
    }

    /// What this rule does to an exchange, for the journal.
    pub fn note(&self) -> FaultNote {
        let effect = self.action.as_ref().map(|action| match action {
            FaultAction::Status { errcode } => FaultEffect::Status(*errcode),
            FaultAction::HttpStatus { status, .. } => FaultEffect::HttpStatus(*status),
            FaultAction::Reset => FaultEffect::Reset,
            FaultAction::Truncate => FaultEffect::Truncate,
            FaultAction::Corrupt => FaultEffect::Corrupt,
            FaultAction::LoginoutData { shape } => FaultEffect::LoginoutData(*shape),
            FaultAction::Vary { changes } => FaultEffect::Vary(*changes),
        });
        FaultNote { rule: self.id, effect, delay_ms: self.delay_ms }
    }
}

/// The kinds of fault (the `kind` label of `nppa_faults_injected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// A delay alone.
    Delay,
    Status,
    HttpStatus,
    Reset,
    Truncate,
    Corrupt,
    LoginoutData,
    Vary,
}

impl FaultKind {
    /// Every kind, for the metrics' zero series.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Delay,
        FaultKind::Status,
        FaultKind::HttpStatus,
        FaultKind::Reset,
        FaultKind::Truncate,
        FaultKind::Corrupt,
        FaultKind::LoginoutData,
        FaultKind::Vary,
    ];

    /// The label value: the action's `kind` in a rule, or `delay`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::Delay => "delay",
            FaultKind::Status => "status",
            FaultKind::HttpStatus => "http_status",
            FaultKind::Reset => "reset",
            FaultKind::Truncate => "truncate",
            FaultKind::Corrupt => "corrupt",
            FaultKind::LoginoutData => "loginout_data",
            FaultKind::Vary => "vary",
        }
    }
}

/// What a rule's action did to an exchange (the journal's record of a [`FaultAction`], without a body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultEffect {
    /// Answered this errcode.
    Status(StatusCode),
    /// Answered this HTTP status.
    HttpStatus(u16),
    /// Closed the connection without an answer.
    Reset,
    /// Sent half of the answer.
    Truncate,
    /// Sent the answer with a byte changed.
    Corrupt,
    /// Answered an accepted loginout with `data` in this shape.
    LoginoutData(DataShape),
    /// Answered with these changes.
    Vary(Changes),
}

impl FaultEffect {
    /// The kind of fault.
    pub const fn kind(self) -> FaultKind {
        match self {
            FaultEffect::Status(_) => FaultKind::Status,
            FaultEffect::HttpStatus(_) => FaultKind::HttpStatus,
            FaultEffect::Reset => FaultKind::Reset,
            FaultEffect::Truncate => FaultKind::Truncate,
            FaultEffect::Corrupt => FaultKind::Corrupt,
            FaultEffect::LoginoutData(_) => FaultKind::LoginoutData,
            FaultEffect::Vary(_) => FaultKind::Vary,
        }
    }
}

/// A journal entry's `fault`: which rule changed the exchange, how, and after what delay.
///
/// In JSON it is one string, as people read it and tools match it (a contract, SPEC §9):
/// `"fault #2: status 2007"`, `"fault #3: reset after 100 ms"`, `"fault #4: delay 250 ms"`,
/// `"fault #5: http_status 503"`, `"fault #6: loginout_data emptystring"`, `"fault #7: vary keys_reversed+chunked"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultNote {
    /// The rule's id.
    pub rule: u64,
    /// What its action did; `None` for a delay alone.
    pub effect: Option<FaultEffect>,
    /// How long (real ms) it held the answer back.
    pub delay_ms: Option<u64>,
}

impl FaultNote {
    /// The kind of fault.
    pub fn kind(&self) -> FaultKind {
        self.effect.map_or(FaultKind::Delay, FaultEffect::kind)
    }
}

/// The word of a `loginout_data` shape in a journal note (its name in lower case, without `_`).
fn shape_word(shape: DataShape) -> &'static str {
    match shape {
        DataShape::Absent => "absent",
        DataShape::Null => "null",
        DataShape::Object => "object",
        DataShape::EmptyString => "emptystring",
        DataShape::EmptyResults => "emptyresults",
    }
}

impl std::fmt::Display for FaultEffect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultEffect::Status(code) => write!(f, "status {}", code.code()),
            FaultEffect::HttpStatus(status) => write!(f, "http_status {status}"),
            FaultEffect::LoginoutData(shape) => write!(f, "loginout_data {}", shape_word(*shape)),
            FaultEffect::Vary(changes) => write!(f, "vary {changes}"),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

impl std::fmt::Display for FaultNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fault #{}: ", self.rule)?;
        match (self.effect, self.delay_ms) {
            (Some(effect), Some(ms)) => write!(f, "{effect} after {ms} ms"),
            (Some(effect), None) => write!(f, "{effect}"),
            (None, Some(ms)) => write!(f, "delay {ms} ms"),
            (None, None) => f.write_str("delay"),
        }
    }
}

/// A journal `fault` string that is not one the mock writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a fault note (\"fault #N: ACTION\", \"… after MS ms\" or \"fault #N: delay MS ms\")")]
pub struct FaultNoteError {
    pub text: String,
}

impl std::str::FromStr for FaultNote {
    type Err = FaultNoteError;

    fn from_str(text: &str) -> Result<FaultNote, FaultNoteError> {
        let parse = || -> Option<FaultNote> {
            let (rule, rest) = text.strip_prefix("fault #")?.split_once(": ")?;
            let rule = rule.parse().ok()?;
            let ms = |text: &str| text.strip_suffix(" ms")?.parse::<u64>().ok();
            let (effect, delay_ms) = if rest == "delay" {
                (None, None)
            } else if let Some(delay) = rest.strip_prefix("delay ") {
                (None, Some(ms(delay)?))
            } else if let Some((effect, delay)) = rest.split_once(" after ") {
                (Some(parse_effect(effect)?), Some(ms(delay)?))
            } else {
                (Some(parse_effect(rest)?), None)
            };
            Some(FaultNote { rule, effect, delay_ms })
        };
        parse().ok_or_else(|| FaultNoteError { text: text.to_owned() })
    }
}

fn parse_effect(text: &str) -> Option<FaultEffect> {
    let (word, value) = text.split_once(' ').map_or((text, None), |(w, v)| (w, Some(v)));
    let effect = match (word, value) {
        ("status", Some(code)) => FaultEffect::Status(StatusCode::from_code(code.parse().ok()?)?),
        ("http_status", Some(status)) => FaultEffect::HttpStatus(status.parse().ok()?),
        ("loginout_data", Some(shape)) => {
            FaultEffect::LoginoutData(DataShape::ALL.into_iter().find(|s| shape_word(*s) == shape)?)
        }
        ("vary", Some(changes)) => FaultEffect::Vary(changes.parse().ok()?),
        ("reset", None) => FaultEffect::Reset,
        ("truncate", None) => FaultEffect::Truncate,
        ("corrupt", None) => FaultEffect::Corrupt,
        _ => return None,
    };
    Some(effect)
}

impl Serialize for FaultNote {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FaultNote {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What the fault rules see of a request.
#[derive(Debug, Clone, Copy)]
pub struct FaultTarget<'a> {
    pub interface: Option<Interface>,
    pub app_id: Option<&'a str>,
    pub biz_id: Option<&'a str>,
    /// The request is on a test-system path.
    pub test_system: bool,
}

/// A decision to misbehave on one request.
#[derive(Debug, Clone)]
pub struct Injection {
    pub rule: FaultRule,
}

struct Active {
    rule: FaultRule,
    hits: u64,
}

struct State {
    rules: Vec<Active>,
    rng: StdRng,
    seed: u64,
    next_id: u64,
}

/// The fault rules of one server.
pub struct Faults {
    any: AtomicBool,
    state: Mutex<State>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Faults(active: {})", self.any.load(Ordering::Relaxed))
    }
}

/// `POST /__admin/faults`: one rule, or a seed with rules (an object with `rules`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FaultRequest {
    Many {
        #[serde(skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
        rules: Vec<FaultRule>,
    },
    One(FaultRule),
}

impl<'de> Deserialize<'de> for FaultRequest {
    /// Chooses by the `rules` key rather than trying both shapes (`#[serde(untagged)]`), so that a refused
    /// rule says why — an unknown errcode, a misspelt field — instead of "did not match any variant".
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Many {
            #[serde(default)]
            seed: Option<u64>,
            rules: Vec<FaultRule>,
        }
        let value = Value::deserialize(deserializer)?;
        if value.get("rules").is_some() {
            let Many { seed, rules } = serde_json::from_value(value).map_err(serde::de::Error::custom)?;
            Ok(FaultRequest::Many { seed, rules })
        } else {
            serde_json::from_value(value).map(FaultRequest::One).map_err(serde::de::Error::custom)
        }
    }
}

impl Faults {
    /// No rules; draws seeded with `seed`.
    pub fn new(seed: u64) -> Faults {
        Faults {
            any: AtomicBool::new(false),
            state: Mutex::new(State { rules: Vec::new(), rng: StdRng::seed_from_u64(seed), seed, next_id: 1 }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds rules (after those present); a seed restarts the generator. Returns the rules with their ids.
    pub fn add(&self, request: FaultRequest) -> Result<Vec<FaultRule>, FaultRuleError> {
        let (seed, rules) = match request {
            FaultRequest::Many { seed, rules } => (seed, rules),
            FaultRequest::One(rule) => (None, vec![rule]),
        };
        for rule in &rules {
            rule.validate()?;
        }
        let mut state = self.state();
        if let Some(seed) = seed {
            state.rng = StdRng::seed_from_u64(seed);
            state.seed = seed;
        }
        let mut added = Vec::new();
        for mut rule in rules {
            rule.id = state.next_id;
            state.next_id += 1;
            added.push(rule.clone());
            state.rules.push(Active { rule, hits: 0 });
        }
        self.any.store(!state.rules.is_empty(), Ordering::Release);
        Ok(added)
    }

    /// Removes every rule (the generator restarts from its seed).
    pub fn clear(&self) {
        let mut state = self.state();
        state.rules.clear();
        state.rng = StdRng::seed_from_u64(state.seed);
        self.any.store(false, Ordering::Release);
    }

    /// Removes one rule; false when there is none with this id.
    pub fn remove(&self, id: u64) -> bool {
        let mut state = self.state();
        let before = state.rules.len();
        state.rules.retain(|a| a.rule.id != id);
        self.any.store(!state.rules.is_empty(), Ordering::Release);
        state.rules.len() != before
    }

    /// The first matching rule whose draw hits, if any. Cheap when there are no rules.
    pub fn decide(&self, target: &FaultTarget<'_>, now_ms: u64) -> Option<Injection> {
        if !self.armed() {
            return None;
        }
        let mut state = self.state();
        let State { rules, rng, .. } = &mut *state;
        for active in rules.iter_mut() {
            let rule = &active.rule;
            if active.hits >= rule.count.unwrap_or(u64::MAX) || !rule.matches(target, now_ms) {
                continue;
            }
            if rule.probability < 1.0 && !rng.random_bool(rule.probability) {
                continue;
            }
            active.hits += 1;
            return Some(Injection { rule: rule.clone() });
        }
        None
    }

    /// Gives a hit back to rule `id`: its action did not fit the answer (a `vary` whose changes did not all
    /// apply), so the next matching request gets it instead.
    pub fn refund(&self, id: u64) {
        let mut state = self.state();
        if let Some(active) = state.rules.iter_mut().find(|a| a.rule.id == id) {
            active.hits = active.hits.saturating_sub(1);
        }
    }

    /// True when some rule is set: without one, a request need not be described for [`Faults::decide`].
    pub fn armed(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// `GET /__admin/faults`.
    pub fn list(&self) -> FaultList {
        let state = self.state();
        let rules = state.rules.iter().map(|a| ListedFault { rule: a.rule.clone(), hits: a.hits }).collect();
        FaultList { seed: state.seed, rules }
    }
}

/// Turns a JSON answer into the variant a fault asks for (truncate, corrupt, loginout `data` shapes).
pub fn mangle(action: &FaultAction, body: Vec<u8>, accepted_loginout: bool) -> Vec<u8> {
    match action {
        FaultAction::Truncate => body[..body.len() / 2].to_vec(),
        FaultAction::Corrupt => {
            // `{"errcode"=0,…`: still looks like JSON, no longer parses.
            let mut body = body;
            if let Some(colon) = body.iter().position(|&b| b == b':') {
                body[colon] = b'=';
            }
            body
        }
        FaultAction::LoginoutData { shape } if accepted_loginout => {
            let ok = StatusCode::Ok;
            let head = format!("{{\"errcode\":{},\"errmsg\":\"{}\"", ok.code(), ok.errmsg());
            let tail = match shape {
                DataShape::Absent => "}",
                DataShape::Null => ",\"data\":null}",
                DataShape::Object => ",\"data\":{}}",
                DataShape::EmptyString => ",\"data\":\"\"}",
                DataShape::EmptyResults => ",\"data\":{\"results\":[]}}",
            };
            format!("{head}{tail}").into_bytes()
        }
        _ => body,
    }
}

/// `GET /__admin/console/faults.json`: every action a rule may take and the fields each needs, so that a form (the
/// console's) offers them all without a copy of [`FaultAction`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultForm {
    /// Every kind of action, in [`FaultKind::ALL`]'s order; a delay alone is `delay_ms` without an action.
    pub actions: Vec<ActionForm>,
}

/// One kind of action and its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionForm {
    /// The action's `kind` in a rule.
    pub kind: String,
    pub fields: Vec<ActionField>,
}

/// A field of an action: its name in the rule and what it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionField {
    pub name: String,
    pub input: FieldInput,
    pub required: bool,
}

/// What a field takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldInput {
    /// An errcode of the protocol (`GET /__admin/console/codes.json` lists them).
    Errcode,
    /// A whole number in `min..=max`.
    Number {
        min: u64,
        max: u64,
    },
    Text,
    /// One of these words.
    Choice {
        choices: Vec<String>,
    },
    /// A list of some of these words (at least one).
    Choices {
        choices: Vec<String>,
    },
}

/// The form of every action kind (the match is exhaustive: a new kind must say its fields here).
pub fn describe() -> FaultForm {
    let field = |name: &str, input: FieldInput, required: bool| ActionField { name: name.to_owned(), input, required };
    let actions = FaultKind::ALL
        .iter()
        .filter_map(|kind| {
            let fields = match kind {
                FaultKind::Delay => return None,
                FaultKind::Status => vec![field("errcode", FieldInput::Errcode, true)],
                FaultKind::HttpStatus => vec![
                    field("status", FieldInput::Number { min: 100, max: 599 }, true),
                    field("body", FieldInput::Text, false),
                ],
                FaultKind::Reset | FaultKind::Truncate | FaultKind::Corrupt => vec![],
                FaultKind::LoginoutData => {
                    let choices = DataShape::ALL.iter().map(|shape| shape_name(*shape).to_owned()).collect();
                    vec![field("shape", FieldInput::Choice { choices }, true)]
                }
                FaultKind::Vary => {
                    let choices = crate::variation::Change::ALL.iter().map(|c| c.word().to_owned()).collect();
                    vec![field("changes", FieldInput::Choices { choices }, true)]
                }
            };
            Some(ActionForm { kind: kind.as_str().to_owned(), fields })
        })
        .collect();
    FaultForm { actions }
}

/// A shape's name in a rule (`"empty_string"`), as serde writes it.
fn shape_name(shape: DataShape) -> &'static str {
    match shape {
        DataShape::Absent => "absent",
        DataShape::Null => "null",
        DataShape::Object => "object",
        DataShape::EmptyString => "empty_string",
        DataShape::EmptyResults => "empty_results",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn rule(json: Value) -> FaultRequest {
        serde_json::from_value(json).expect("rule")
    }

    const CHECK: FaultTarget<'static> =
        FaultTarget { interface: Some(Interface::Check), app_id: Some("a"), biz_id: None, test_system: false };

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let run = || {
            let faults = Faults::new(0);
            faults
                .add(rule(json!({"seed": 42, "rules": [{"probability": 0.5, "action": {"kind": "reset"}}]})))
                .expect("add");
            (0..64).map(|_| faults.decide(&CHECK, 0).is_some()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|h| **h).count();
        assert!((16..=48).contains(&hits), "{hits} of 64");
    }

    #[test]
    fn filters_count_and_window() {
        let faults = Faults::new(0);
        let json = json!({"interface": "query", "count": 2, "from_ms": 10, "until_ms": 20, "action": {"kind": "status", "errcode": 2007}});
        faults.add(rule(json)).expect("add");
        let query = FaultTarget { interface: Some(Interface::Query), ..CHECK };
        assert!(faults.decide(&CHECK, 15).is_none(), "other interface");
        assert!(faults.decide(&query, 9).is_none(), "before the window");
        assert!(faults.decide(&query, 20).is_none(), "after the window");
        assert!(faults.decide(&query, 10).is_some());
        assert!(faults.decide(&query, 11).is_some());
        assert!(faults.decide(&query, 12).is_none(), "count spent");
        assert_eq!(faults.list().rules[0].hits, 2);
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let faults = Faults::new(0);
        for unknown in [
            json!({"action": {"kind": "status", "errcode": 1013}}),
            json!({"seed": 1, "rules": [{"action": {"kind": "status", "errcode": 1013}}]}),
        ] {
            let err = serde_json::from_value::<FaultRequest>(unknown).expect_err("unknown code");
            assert!(err.to_string().contains("unknown NPPA status code 1013"), "{err}");
        }
        let err = serde_json::from_value::<FaultRequest>(json!({"probabilty": 0.5})).expect_err("typo");
        assert!(err.to_string().contains("probabilty"), "{err}");
        let err = faults.add(rule(json!({"action": {"kind": "http_status", "status": 999}}))).expect_err("bad status");
        assert_eq!(err, FaultRuleError::HttpStatus(999));
        assert_eq!(err.to_string(), "999 is not an HTTP status");
        assert!(faults.add(rule(json!({"probability": 2.0, "action": {"kind": "reset"}}))).is_err());
        assert!(faults.add(rule(json!({}))).is_err());
    }

    #[test]
    fn journal_notes_read_as_before_and_parse_back() {
        let note = |action: Option<Value>, delay_ms: Option<u64>| {
            let mut json = json!({});
            if let Some(action) = action {
                json["action"] = action;
            }
            if let Some(ms) = delay_ms {
                json["delay_ms"] = json!(ms);
            }
            let mut rule: FaultRule = serde_json::from_value(json).expect("rule");
            rule.id = 7;
            rule.note()
        };
        let cases = [
            (note(Some(json!({"kind": "status", "errcode": 2007})), None), "fault #7: status 2007"),
            (note(Some(json!({"kind": "http_status", "status": 503, "body": "x"})), None), "fault #7: http_status 503"),
            (note(Some(json!({"kind": "reset"})), Some(100)), "fault #7: reset after 100 ms"),
            (note(Some(json!({"kind": "truncate"})), None), "fault #7: truncate"),
            (note(Some(json!({"kind": "corrupt"})), None), "fault #7: corrupt"),
            (
                note(Some(json!({"kind": "loginout_data", "shape": "empty_string"})), None),
                "fault #7: loginout_data emptystring",
            ),
            (
                note(Some(json!({"kind": "loginout_data", "shape": "null"})), Some(5)),
                "fault #7: loginout_data null after 5 ms",
            ),
            (note(None, Some(250)), "fault #7: delay 250 ms"),
        ];
        for (note, text) in cases {
            assert_eq!(note.to_string(), text);
            assert_eq!(serde_json::to_value(note).expect("json"), json!(text));
            assert_eq!(serde_json::from_value::<FaultNote>(json!(text)).expect("parses"), note, "{text}");
        }
        assert_eq!(
            "fault #2: status 2007".parse(),
            Ok(FaultNote { rule: 2, effect: Some(FaultEffect::Status(StatusCode::RemoteStateError)), delay_ms: None })
        );
        assert_eq!(note(None, Some(1)).kind(), FaultKind::Delay);
        assert_eq!(note(Some(json!({"kind": "reset"})), Some(1)).kind().as_str(), "reset");
        for bad in ["", "fault #x: reset", "fault #1: status 1013", "fault #1: reset after ms", "fault #1: explode"] {
            assert!(bad.parse::<FaultNote>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mangled_answers() {
        let body = br#"{"errcode":0,"errmsg":"OK","data":""}"#.to_vec();
        assert_eq!(mangle(&FaultAction::Truncate, body.clone(), true), br#"{"errcode":0,"errm"#.to_vec());
        assert!(serde_json::from_slice::<Value>(&mangle(&FaultAction::Corrupt, body.clone(), true)).is_err());
        let absent = mangle(&FaultAction::LoginoutData { shape: DataShape::Absent }, body.clone(), true);
        assert_eq!(absent, br#"{"errcode":0,"errmsg":"OK"}"#.to_vec());
        let untouched = mangle(&FaultAction::LoginoutData { shape: DataShape::Null }, body.clone(), false);
        assert_eq!(untouched, body);
    }

    #[test]
    fn every_loginout_data_shape_is_an_accepted_answer_a_client_reads_as_that_shape() {
        use nppa_protocol::answer::{self, DataShape as Read};
        let body = br#"{"errcode":0,"errmsg":"OK","data":""}"#.to_vec();
        for shape in DataShape::ALL {
            let read =
                answer::parse(&mangle(&FaultAction::LoginoutData { shape }, body.clone(), true)).expect("answer");
            let expected = match shape {
                DataShape::Absent => Read::Absent,
                DataShape::Null => Read::Null,
                DataShape::EmptyString => Read::EmptyString,
                DataShape::Object | DataShape::EmptyResults => Read::Object,
            };
            assert_eq!((read.errcode, read.data, read.rejected.len()), (0, expected, 0), "{shape:?}");
            let note = FaultNote { rule: 1, effect: Some(FaultEffect::LoginoutData(shape)), delay_ms: None };
            assert_eq!(note.to_string().parse::<FaultNote>(), Ok(note), "{shape:?} round-trips in the journal");
        }
    }

    #[test]
    fn the_form_describes_every_action_kind_and_each_description_makes_a_rule() {
        let form = describe();
        let kinds: Vec<&str> = form.actions.iter().map(|a| a.kind.as_str()).collect();
        let expected: Vec<&str> =
            FaultKind::ALL.iter().filter(|k| **k != FaultKind::Delay).map(|k| k.as_str()).collect();
        assert_eq!(kinds, expected);
        for action in &form.actions {
            let choices: Vec<String> = match action.fields.iter().find_map(|f| match &f.input {
                FieldInput::Choice { choices } | FieldInput::Choices { choices } => Some(choices.clone()),
                _ => None,
            }) {
                Some(choices) => choices,
                None => vec![String::new()],
            };
            for choice in choices {
                let mut rule = serde_json::Map::new();
                rule.insert("kind".into(), action.kind.clone().into());
                for f in action.fields.iter().filter(|f| f.required) {
                    let value: Value = match &f.input {
                        FieldInput::Errcode => 2007.into(),
                        FieldInput::Number { min, .. } => (*min).into(),
                        FieldInput::Text => "x".into(),
                        FieldInput::Choice { .. } => choice.clone().into(),
                        FieldInput::Choices { .. } => vec![Value::from(choice.clone())].into(),
                    };
                    rule.insert(f.name.clone(), value);
                }
                let parsed: Result<FaultAction, _> = serde_json::from_value(Value::Object(rule.clone()));
                assert!(parsed.is_ok(), "{rule:?}: {parsed:?}");
            }
        }
    }
}
