//! The grammar of answers `--profile fuzz` gives a client, and a seeded plan drawn from it: each variation is what
//! the answer to one request of an interface becomes, applied in order to the requests of that interface.
//!
//! - legal but unusual (SPEC §3): keys reordered, whitespace, `\u` escapes, `errmsg` `ok`, `pi: null` on a pending
//!   or failed result, unknown fields, every loginout `data` shape, a 3001 listing every record;
//! - transport: HTTP 500/502/503 with and without a JSON body, `text/html`, chunked, close-delimited, trickled,
//!   cut mid-body, a truncated body, an answer past the 5 s client timeout, reset;
//! - protocol: any code of SPEC §4 answered to a valid request, a 1006 burst.

use std::collections::HashMap;

use nppa_mockserver::faults::{DataShape, FaultAction, FaultRule};
use nppa_mockserver::variation::{Change, Changes};
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
use nppa_protocol::{Interface, StatusCode};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The kinds of variation, as `--skip` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Legal rewrites of the answer: key order, whitespace, escapes, `errmsg` case, `pi: null`, unknown fields.
    Rewrite,
    /// How the answer is sent: `text/html`, chunked, close-delimited, trickled, cut mid-body, truncated, 5.5 s late.
    Transport,
    /// HTTP 500, 502 or 503, with or without a JSON body.
    Http,
    /// The connection closed without an answer.
    Reset,
    /// Another errcode of SPEC §4 answered to a valid request.
    Code,
    /// 1006, once or twice in a row (a careful client then waits 60 s each time).
    Busy,
    /// The loginout answer's `data` as `null`, absent, `{}`, `{"results":[]}`, or a 3001 listing every record.
    Data,
}

impl Kind {
    pub const ALL: [Kind; 7] =
        [Kind::Rewrite, Kind::Transport, Kind::Http, Kind::Reset, Kind::Code, Kind::Busy, Kind::Data];

    /// As `--skip` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rewrite => "rewrite",
            Kind::Transport => "transport",
            Kind::Http => "http",
            Kind::Reset => "reset",
            Kind::Code => "code",
            Kind::Busy => "busy",
            Kind::Data => "data",
        }
    }
}

/// What the answer to one request becomes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// The mock's answer with these changes.
    Changed { changes: Changes },
    /// This errcode instead of the mock's answer.
    Code { errcode: StatusCode },
    /// 1006 to this many requests in a row.
    Busy { burst: u8 },
    /// This HTTP status, with the JSON answer of a system error as its body or none.
    Http { status: u16, json_body: bool },
    /// The connection closed without an answer.
    Reset,
    /// Half of the answer's JSON, with a `Content-Length` that says so.
    Truncated,
    /// The answer, half a second past the 5 s client timeout (SPEC §1): a client without a timeout waits.
    Late,
    /// An accepted loginout with `data` in this shape.
    LoginoutData { shape: DataShape },
}

/// The body of an HTTP error that carries JSON: a system error, as gateways in front of NPPA answer.
const HTTP_ERROR_JSON: &str = r#"{"errcode":1001,"errmsg":"SYS ERROR"}"#;

impl Answer {
    /// The fault rule that gives it (one request, or `burst` of them).
    fn rule(&self, interface: Interface) -> FaultRule {
        let (action, count) = match self {
            Answer::Changed { changes } => (FaultAction::Vary { changes: *changes }, 1),
            Answer::Code { errcode } => (FaultAction::Status { errcode: *errcode }, 1),
            Answer::Busy { burst } => (FaultAction::Status { errcode: StatusCode::Busy }, u64::from(*burst)),
            Answer::Http { status, json_body } => {
                let body = json_body.then(|| HTTP_ERROR_JSON.to_owned());
                (FaultAction::HttpStatus { status: *status, body }, 1)
            }
            Answer::Reset => (FaultAction::Reset, 1),
            Answer::Truncated => (FaultAction::Truncate, 1),
            Answer::Late => {
                let late = FaultRule { delay_ms: Some(CLIENT_TIMEOUT_MS + 500), ..FaultRule::default() };
                return FaultRule { interface: Some(interface), count: Some(1), ..late };
            }
            Answer::LoginoutData { shape } => (FaultAction::LoginoutData { shape: *shape }, 1),
        };
        FaultRule { interface: Some(interface), count: Some(count), action: Some(action), ..FaultRule::default() }
    }

    /// Does a careful client call again after it (a failure, a transient code, 1006)? Three of these in a row
    /// would use up its attempts, so a plan never has them.
    fn asks_for_another_attempt(&self) -> bool {
        match self {
            Answer::Changed { changes } => changes.leave_no_answer(),
            Answer::Code { errcode } => errcode.is_transient(),
            Answer::Busy { .. } | Answer::Http { .. } | Answer::Reset | Answer::Truncated | Answer::Late => true,
            Answer::LoginoutData { .. } => false,
        }
    }

    /// Simpler answers that might still break a client, simplest first: one change of several, a burst of one.
    pub fn simpler(&self) -> Vec<Answer> {
        match self {
            Answer::Changed { changes } if changes.len() > 1 => {
                changes.iter().map(|c| Answer::Changed { changes: Changes::of(&[c]) }).collect()
            }
            Answer::Busy { burst } if *burst > 1 => vec![Answer::Busy { burst: 1 }],
            _ => Vec::new(),
        }
    }

    /// In a few words: `keys_reversed+chunked`, `errcode 1011`, `HTTP 503 with a JSON body`.
    pub fn describe(&self) -> String {
        match self {
            Answer::Changed { changes } => format!("the answer with {changes}"),
            Answer::Code { errcode } => format!("errcode {} ({})", errcode.code(), errcode.errmsg()),
            Answer::Busy { burst: 1 } => "errcode 1006 (SYS REQ BUSY ERROR)".to_owned(),
            Answer::Busy { burst } => format!("errcode 1006 (SYS REQ BUSY ERROR) {burst} times in a row"),
            Answer::Http { status, json_body: true } => format!("HTTP {status} with the JSON body {HTTP_ERROR_JSON}"),
            Answer::Http { status, json_body: false } => format!("HTTP {status} with an empty body"),
            Answer::Reset => "the connection closed without an answer".to_owned(),
            Answer::Truncated => "half of its JSON (a Content-Length that says so)".to_owned(),
            Answer::Late => format!("the answer {} ms late, past the 5 s client timeout", CLIENT_TIMEOUT_MS + 500),
            Answer::LoginoutData { shape } => format!("an accepted loginout with data {}", shape_json(*shape)),
        }
    }
}

fn shape_json(shape: DataShape) -> &'static str {
    match shape {
        DataShape::Absent => "absent",
        DataShape::Null => "null",
        DataShape::Object => "{}",
        DataShape::EmptyString => "\"\"",
        DataShape::EmptyResults => "{\"results\":[]}",
    }
}

/// One variation of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variation {
    /// Its number in the plan, from 1 (what `--replay` names).
    pub id: u32,
    pub interface: Interface,
    pub answer: Answer,
}

/// The variations drawn from a seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub seed: u64,
    pub variations: Vec<Variation>,
}

/// Rewrites that fit an interface's answers (a `pi: null` needs a result; a 3001 of every record is `Data`).
fn rewrites(interface: Interface) -> Vec<Change> {
    let mut changes = vec![
        Change::KeysReversed,
        Change::Spaced,
        Change::EscapedStrings,
        Change::ErrmsgLowercase,
        Change::ExtraFields,
    ];
    if interface != Interface::Loginout {
        changes.push(Change::PiNull);
    }
    changes
}

const TRANSPORT: [Change; 5] =
    [Change::HtmlContentType, Change::Chunked, Change::Trickled, Change::CutMidBody, Change::CloseDelimited];

/// Codes a valid request can be answered: every code of SPEC §4 but success, 1006 (`Busy`) and 3001 (`Data`).
fn codes() -> Vec<StatusCode> {
    StatusCode::ALL.iter().copied().filter(|c| !c.is_ok() && !c.is_busy() && *c != StatusCode::PartialError).collect()
}

impl Plan {
    /// `cases` variations drawn from `seed`, none of the kinds in `skip`: the same seed gives the same plan.
    pub fn generate(seed: u64, cases: u32, skip: &[Kind]) -> Plan {
        let mut rng = StdRng::seed_from_u64(seed);
        let kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|k| !skip.contains(k)).collect();
        let mut variations = Vec::new();
        let mut busy_drawn = false;
        // Per interface, how many answers in a row ask a careful client for another attempt.
        let mut in_a_row: HashMap<Interface, u32> = HashMap::new();
        // Bounded: with only kinds that have little to give (one burst), a plan is shorter than asked.
        let mut draws = 0;
        while variations.len() < cases as usize && !kinds.is_empty() && draws < cases.saturating_mul(50) {
            draws += 1;
            let interface = *[Interface::Check, Interface::Query, Interface::Loginout]
                .choose(&mut rng)
                .unwrap_or(&Interface::Check);
            let Some(kind) = kinds.choose(&mut rng).copied() else { break };
            let Some(answer) = draw(&mut rng, kind, interface, busy_drawn) else { continue };
            let row = in_a_row.entry(interface).or_default();
            if answer.asks_for_another_attempt() {
                if *row >= 2 {
                    continue;
                }
                *row += 1;
            } else {
                *row = 0;
            }
            busy_drawn |= matches!(answer, Answer::Busy { .. });
            variations.push(Variation { id: variations.len() as u32 + 1, interface, answer });
        }
        Plan { seed, variations }
    }

    /// The variations `picks` name, narrowed as they say, as fault rules in plan order.
    pub fn rules(&self, picks: &[Pick]) -> Vec<(Pick, FaultRule)> {
        picks
            .iter()
            .filter_map(|pick| {
                let variation = self.variations.iter().find(|v| v.id == pick.id)?;
                let answer = pick.answer.as_ref().unwrap_or(&variation.answer);
                Some((pick.clone(), answer.rule(variation.interface)))
            })
            .collect()
    }

    /// Every variation, whole.
    pub fn all(&self) -> Vec<Pick> {
        self.variations.iter().map(|v| Pick { id: v.id, answer: None }).collect()
    }

    /// The variation `id`.
    pub fn get(&self, id: u32) -> Option<&Variation> {
        self.variations.iter().find(|v| v.id == id)
    }
}

/// One answer of `kind` for `interface`; `None` when the kind has nothing for it (a loginout shape for a check).
fn draw(rng: &mut StdRng, kind: Kind, interface: Interface, busy_drawn: bool) -> Option<Answer> {
    Some(match kind {
        Kind::Rewrite => {
            let candidates = rewrites(interface);
            let n = rng.random_range(1..=3);
            let chosen: Vec<Change> = candidates.choose_multiple(rng, n).copied().collect();
            Answer::Changed { changes: Changes::of(&chosen) }
        }
        Kind::Transport => {
            // One in five: the JSON cut in half, whole as HTTP goes; one in six, an answer past the client timeout.
            if rng.random_bool(0.2) {
                return Some(Answer::Truncated);
            }
            if rng.random_bool(0.17) {
                return Some(Answer::Late);
            }
            let transport = *TRANSPORT.choose(rng)?;
            // Sometimes with a rewrite, as a real gateway's answer would differ in both.
            let mut changes = Changes::of(&[transport]);
            if rng.random_bool(0.5) {
                changes = changes.with(*rewrites(interface).choose(rng)?);
            }
            Answer::Changed { changes }
        }
        Kind::Http => Answer::Http { status: *[500, 502, 503].choose(rng)?, json_body: rng.random_bool(0.5) },
        Kind::Reset => Answer::Reset,
        Kind::Code => Answer::Code { errcode: *codes().choose(rng)? },
        // One burst a plan: each 1006 costs a careful client a minute.
        Kind::Busy if busy_drawn => return None,
        Kind::Busy => Answer::Busy { burst: rng.random_range(1..=2) },
        Kind::Data if interface != Interface::Loginout => return None,
        Kind::Data => {
            if rng.random_bool(0.2) {
                Answer::Changed { changes: Changes::of(&[Change::EveryRecordRejected]) }
            } else {
                Answer::LoginoutData { shape: *DataShape::ALL.choose(rng)? }
            }
        }
    })
}

/// A variation of the plan to apply, whole or narrowed (`7`, `7:keys_reversed`, `3:burst1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pick {
    pub id: u32,
    /// Replaces the plan's answer (a simpler one found while shrinking).
    pub answer: Option<Answer>,
}

impl std::fmt::Display for Pick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.answer {
            None => write!(f, "{}", self.id),
            Some(Answer::Changed { changes }) => write!(f, "{}:{changes}", self.id),
            Some(Answer::Busy { burst }) => write!(f, "{}:burst{burst}", self.id),
            // Never made by shrinking: written whole.
            Some(_) => write!(f, "{}", self.id),
        }
    }
}

/// Reads `--replay`: picks separated by commas, each `ID` or `ID:CHANGES` or `ID:burstN`.
pub fn parse_picks(text: &str) -> Result<Vec<Pick>, String> {
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pick| {
            let (id, narrowed) = pick.split_once(':').map_or((pick, None), |(i, n)| (i, Some(n)));
            let id: u32 =
                id.parse().map_err(|_| format!("{pick:?}: a variation is named by its number, e.g. 7 or 7:chunked"))?;
            let answer = match narrowed {
                None => None,
                Some(burst) if burst.starts_with("burst") => Some(Answer::Busy {
                    burst: burst["burst".len()..].parse().map_err(|_| format!("{pick:?}: burstN, e.g. burst1"))?,
                }),
                Some(changes) => {
                    Some(Answer::Changed { changes: changes.parse().map_err(|e| format!("{pick:?}: {e}"))? })
                }
            };
            Ok(Pick { id, answer })
        })
        .collect()
}

/// The grammar as proptest strategies, for tests of any client that can run in-process (`--features proptest`).
#[cfg(feature = "proptest")]
pub mod strategy {
    use proptest::prelude::*;
    use proptest::sample::{select, subsequence};

    use super::*;

    /// A plan of `cases` variations from any seed, without the kinds in `skip` (what `--profile fuzz` draws).
    pub fn plan(cases: u32, skip: Vec<Kind>) -> impl Strategy<Value = Plan> {
        any::<u64>().prop_map(move |seed| Plan::generate(seed, cases, &skip))
    }

    /// One variation of any kind for any interface, drawn from the grammar's parts, so that a failure shrinks to a
    /// simpler variation.
    pub fn variation() -> impl Strategy<Value = Variation> {
        select(vec![Interface::Check, Interface::Query, Interface::Loginout])
            .prop_flat_map(|interface| answer(interface).prop_map(move |answer| Variation { id: 1, interface, answer }))
    }

    /// Any answer the grammar has for `interface`.
    pub fn answer(interface: Interface) -> BoxedStrategy<Answer> {
        let changed = |changes: Vec<Change>| Answer::Changed { changes: Changes::of(&changes) };
        let rewrite = subsequence(rewrites(interface), 1..=3).prop_map(changed);
        let transport = (select(TRANSPORT.to_vec()), proptest::option::of(select(rewrites(interface))))
            .prop_map(move |(t, r)| changed(std::iter::once(t).chain(r).collect()));
        let http = (select(vec![500u16, 502, 503]), any::<bool>())
            .prop_map(|(status, json_body)| Answer::Http { status, json_body });
        let code = select(codes()).prop_map(|errcode| Answer::Code { errcode });
        let busy = (1u8..=2).prop_map(|burst| Answer::Busy { burst });
        let common = prop_oneof![
            3 => rewrite,
            2 => transport,
            1 => Just(Answer::Truncated),
            1 => Just(Answer::Late),
            2 => http,
            1 => Just(Answer::Reset),
            2 => code,
            1 => busy,
        ];
        if interface != Interface::Loginout {
            return common.boxed();
        }
        let data = prop_oneof![
            4 => select(DataShape::ALL.to_vec()).prop_map(|shape| Answer::LoginoutData { shape }),
            1 => Just(changed(vec![Change::EveryRecordRejected])),
        ];
        prop_oneof![4 => common, 1 => data].boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        assert_eq!(Plan::generate(7, 20, &[]), Plan::generate(7, 20, &[]));
        assert_ne!(Plan::generate(7, 20, &[]), Plan::generate(8, 20, &[]));
        assert_eq!(Plan::generate(7, 20, &[]).variations.len(), 20);
    }

    #[test]
    fn a_plan_never_asks_a_careful_client_for_a_fourth_attempt_and_has_at_most_one_burst() {
        for seed in 0..500 {
            let plan = Plan::generate(seed, 24, &[]);
            for interface in [Interface::Check, Interface::Query, Interface::Loginout] {
                let mut row = 0;
                for v in plan.variations.iter().filter(|v| v.interface == interface) {
                    row = if v.answer.asks_for_another_attempt() { row + 1 } else { 0 };
                    assert!(row <= 2, "seed {seed}: {plan:#?}");
                }
            }
            let bursts = plan.variations.iter().filter(|v| matches!(v.answer, Answer::Busy { .. })).count();
            assert!(bursts <= 1, "seed {seed}");
        }
    }

    #[test]
    fn skipped_kinds_are_never_drawn() {
        for seed in 0..200 {
            let plan = Plan::generate(seed, 16, &[Kind::Busy, Kind::Code]);
            assert!(plan.variations.iter().all(|v| !matches!(v.answer, Answer::Busy { .. } | Answer::Code { .. })));
        }
    }

    #[test]
    fn picks_round_trip_through_their_words() {
        let picks = vec![
            Pick { id: 7, answer: None },
            Pick { id: 3, answer: Some(Answer::Changed { changes: Changes::of(&[Change::Chunked]) }) },
            Pick { id: 4, answer: Some(Answer::Busy { burst: 1 }) },
        ];
        let text: Vec<String> = picks.iter().map(ToString::to_string).collect();
        assert_eq!(text.join(","), "7,3:chunked,4:burst1");
        assert_eq!(parse_picks(&text.join(",")), Ok(picks));
        assert!(parse_picks("x").is_err());
        assert!(parse_picks("3:nonsense").is_err());
    }
}
