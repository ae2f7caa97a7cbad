//! What the open-model scenarios send: real-name checks and their queries, players' sessions, the quota probe.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use nppa_protocol::behaviour::MAX_RECORDS;
use nppa_protocol::messages::{AuthStatus, BehaviourRecord, LoginoutRequest};
use nppa_protocol::request::{Credentials, SignedRequest};
use nppa_protocol::Interface;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::people;
use crate::recorder::Outcome;
use crate::schedule::{Schedule, Shape};
use crate::target::Signer;

/// One request a workload wants sent, with what it needs to read the answer.
#[derive(Debug)]
pub struct Action {
    pub request: SignedRequest,
    /// realname: the ai checked or queried, and how many queries it had.
    pub ai: Option<String>,
    pub tries: u8,
    /// loginout: records in the request.
    pub records: u32,
}

/// A query gives up after this many pending answers.
const MAX_QUERIES: u8 = 20;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Tag that keeps this run's ais apart from earlier runs against the same mock (R-CHK-3).
fn run_tag() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as u32
}

// ---------------------------------------------------------------------------------------------------------------
// realname: check → (pending) → query
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RealnameStats {
    pub checks: u64,
    pub queries: u64,
    /// Checks answered status 1 (pending).
    pub pending: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Pending ais still unresolved when the run ended.
    pub unresolved: u64,
}

/// The real-name lifecycle: a pending check is queried after `query_after`, again while it stays pending
/// (R-QRY-4: only pending results are queried, and not too often).
#[derive(Debug)]
pub struct Realname {
    query_after: Duration,
    run: u32,
    due: Mutex<VecDeque<(u64, String, u8)>>,
    stats: Mutex<RealnameStats>,
}

impl Realname {
    pub fn new(query_after: Duration) -> Realname {
        Realname { query_after, run: run_tag(), due: Mutex::default(), stats: Mutex::default() }
    }

    /// A query if one is due, otherwise a check of a new player.
    pub fn next(&self, n: u64, now_ms: u64, signer: &Signer, credentials: &Credentials) -> Option<Action> {
        let due = {
            let mut queue = lock(&self.due);
            match queue.front() {
                Some((at, _, _)) if *at <= now_ms => queue.pop_front(),
                _ => None,
            }
        };
        if let Some((_, ai, tries)) = due {
            lock(&self.stats).queries += 1;
            let request = signer.query(credentials, &ai, now_ms);
            return Some(Action { request, ai: Some(ai), tries: tries + 1, records: 0 });
        }
        let check = people::new_check(self.run, n);
        lock(&self.stats).checks += 1;
        let request = signer.check(credentials, &check, now_ms);
        Some(Action { request, ai: Some(check.ai), tries: 0, records: 0 })
    }

    pub fn settle(&self, action: &Action, answer: &Answer, now_ms: u64) {
        if answer.outcome != Outcome::Code(0) {
            return;
        }
        let mut stats = lock(&self.stats);
        match answer.status {
            Some(AuthStatus::Pending) => {
                if action.request.interface == Interface::Check {
                    stats.pending += 1;
                }
                if action.tries < MAX_QUERIES {
                    if let Some(ai) = &action.ai {
                        let at = now_ms + self.query_after.as_millis() as u64;
                        lock(&self.due).push_back((at, ai.clone(), action.tries));
                    }
                }
            }
            Some(AuthStatus::Success) => stats.succeeded += 1,
            Some(AuthStatus::Failure) => stats.failed += 1,
            _ => {}
        }
    }

    pub fn stats(&self) -> RealnameStats {
        let mut stats = lock(&self.stats).clone();
        stats.unresolved = lock(&self.due).len() as u64;
        stats
    }
}

// ---------------------------------------------------------------------------------------------------------------
// report: players log in, play a session of random length, log out, come back
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ReportStats {
    pub players: u64,
    pub logins: u64,
    pub logouts: u64,
    pub records_accepted: u64,
    pub records_rejected: u64,
    pub records_3005: u64,
    /// Arrivals with nothing due to report.
    pub idle_slots: u64,
    /// Sessions still open when the run ended (their logouts were not due yet).
    pub open_sessions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    at_ms: u64,
    player: u64,
    session: u32,
    login: bool,
}

/// Sessions of `players` players over the run: logins spread over the first part of the run, session lengths
/// and breaks drawn from exponential distributions (seeded, so runs repeat). Each login is reported with its
/// logout under the same si (R-BEH-3); every tenth player is a guest (ct = 2, R-BEH-2).
#[derive(Debug)]
pub struct Report {
    mean_session_ms: f64,
    end_ms: u64,
    run: u32,
    events: Mutex<(BinaryHeap<Reverse<Event>>, StdRng)>,
    stats: Mutex<ReportStats>,
}

impl Report {
    pub fn new(players: u64, session: Duration, duration: Duration, start_ms: u64) -> Report {
        let mean_session_ms = (session.as_millis() as f64).max(1000.0);
        let end_ms = start_ms + duration.as_millis() as u64;
        let spread_ms = (duration.as_millis() as f64 / 2.0).min(mean_session_ms);
        let heap = (0..players)
            .map(|p| {
                let at_ms = start_ms + (p as f64 * spread_ms / players.max(1) as f64) as u64;
                Reverse(Event { at_ms, player: p, session: 0, login: true })
            })
            .collect();
        let stats = ReportStats { players, ..ReportStats::default() };
        Report {
            mean_session_ms,
            end_ms,
            run: run_tag(),
            events: Mutex::new((heap, StdRng::seed_from_u64(7))),
            stats: Mutex::new(stats),
        }
    }

    fn exponential(rng: &mut StdRng, mean: f64) -> u64 {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        (-mean * u.ln()) as u64
    }

    /// The events due before `now_ms` (at most `batch`), as one loginout request.
    pub fn next(&self, now_ms: u64, signer: &Signer, credentials: &Credentials, batch: u32) -> Option<Action> {
        let mut records = Vec::new();
        {
            let mut guard = lock(&self.events);
            let (heap, rng) = &mut *guard;
            while records.len() < (batch as usize).clamp(1, MAX_RECORDS) {
                // ot is in seconds and must be earlier than timestamps (R-BEH-TIME).
                match heap.peek() {
                    Some(Reverse(e)) if e.at_ms < now_ms && (e.at_ms / 1000) * 1000 < now_ms => {}
                    _ => break,
                }
                let Some(Reverse(event)) = heap.pop() else { break };
                records.push(self.record(&event, records.len() as i64 + 1));
                let next = if event.login {
                    let length = Self::exponential(rng, self.mean_session_ms).max(1000);
                    Event { at_ms: event.at_ms + length, login: false, ..event }
                } else {
                    let pause = Self::exponential(rng, self.mean_session_ms / 2.0).max(1000);
                    Event { at_ms: event.at_ms + pause, login: true, session: event.session + 1, ..event }
                };
                // Logouts are always kept, so that every reported login gets its logout; new logins stop at the end.
                if !next.login || next.at_ms < self.end_ms {
                    heap.push(Reverse(next));
                }
            }
        }
        if records.is_empty() {
            return None;
        }
        {
            let mut stats = lock(&self.stats);
            for r in &records {
                if r.bt == 1 {
                    stats.logins += 1;
                } else {
                    stats.logouts += 1;
                }
            }
        }
        let count = records.len() as u32;
        let request = signer.loginout(credentials, &LoginoutRequest::new(records), now_ms);
        Some(Action { request, ai: None, tries: 0, records: count })
    }

    fn record(&self, event: &Event, no: i64) -> BehaviourRecord {
        let guest = event.player.is_multiple_of(10);
        BehaviourRecord {
            no,
            si: format!("rp{:x}p{}s{}", self.run, event.player, event.session),
            bt: i64::from(event.login),
            ot: (event.at_ms / 1000) as i64,
            ct: if guest { 2 } else { 0 },
            di: guest.then(|| format!("dev{:x}{}", self.run, event.player)),
            pi: (!guest).then(|| people::player_pi(event.player)),
        }
    }

    /// Count an answer; returns the records refused with 3005.
    pub fn settle(&self, action: &Action, answer: &Answer) -> u32 {
        let mut stats = lock(&self.stats);
        match answer.outcome {
            Outcome::Code(0) => stats.records_accepted += u64::from(action.records),
            Outcome::Code(3001) => {
                let lost = answer.rejected.iter().filter(|(_, code)| *code == 3005).count() as u32;
                stats.records_rejected += answer.rejected.len() as u64;
                stats.records_3005 += u64::from(lost);
                stats.records_accepted += u64::from(action.records).saturating_sub(answer.rejected.len() as u64);
                return lost;
            }
            _ => stats.records_rejected += u64::from(action.records),
        }
        0
    }

    pub fn idle(&self) {
        lock(&self.stats).idle_slots += 1;
    }

    pub fn stats(&self) -> ReportStats {
        let mut stats = lock(&self.stats).clone();
        stats.open_sessions = lock(&self.events).0.iter().filter(|Reverse(e)| !e.login).count() as u64;
        stats
    }
}

// ---------------------------------------------------------------------------------------------------------------
// quota-probe: ramp one interface until the first 1006
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProbeFinding {
    pub interface: String,
    /// Requests the server accepted in the one-second window where the first 1006 came: the limit.
    pub limit_found: Option<u64>,
    /// Second of the run (from the first arrival) of the first 1006.
    pub first_1006_second: Option<u64>,
    /// Rate the schedule asked for in that second.
    pub rate_at_1006: Option<f64>,
    /// Highest rate asked for without any 1006, when none came.
    pub highest_rate_without_1006: Option<f64>,
}

#[derive(Debug)]
pub struct Probe {
    interface: Interface,
    run: u32,
    accepted_per_second: Mutex<BTreeMap<u64, u64>>,
    first_1006_second: Mutex<Option<u64>>,
    highest_second: AtomicU64,
}

impl Probe {
    pub fn new(interface: Interface) -> Probe {
        Probe {
            interface,
            run: run_tag(),
            accepted_per_second: Mutex::default(),
            first_1006_second: Mutex::default(),
            highest_second: AtomicU64::new(0),
        }
    }

    pub fn next(&self, n: u64, now_ms: u64, signer: &Signer, credentials: &Credentials) -> Option<Action> {
        let request = match self.interface {
            Interface::Check => signer.check(credentials, &people::new_check(self.run, n), now_ms),
            Interface::Query => signer.query(credentials, &people::ai(self.run, n), now_ms),
            Interface::Loginout => {
                let record = BehaviourRecord {
                    no: 1,
                    si: format!("qp{:x}{n}", self.run),
                    bt: 0,
                    ot: (now_ms / 1000 - 1) as i64,
                    ct: 2,
                    di: Some(format!("qp{n}")),
                    pi: None,
                };
                signer.loginout(credentials, &LoginoutRequest::new(vec![record]), now_ms)
            }
        };
        Some(Action { request, ai: None, tries: 0, records: u32::from(self.interface == Interface::Loginout) })
    }

    /// Count an answer by the clock second it was sent in (the server's quota window).
    pub fn settle(&self, answer: &Answer, sent_ms: u64) {
        let second = sent_ms / 1000;
        self.highest_second.fetch_max(second, Ordering::Relaxed);
        match answer.outcome {
            Outcome::Code(1006) => {
                let mut first = lock(&self.first_1006_second);
                if first.is_none_or(|s| second < s) {
                    *first = Some(second);
                }
            }
            Outcome::Transport | Outcome::Http(_) => {}
            // Any protocol answer but 1006 passed the quota gate.
            Outcome::Code(_) => *lock(&self.accepted_per_second).entry(second).or_default() += 1,
        }
    }

    pub fn finding(&self) -> Option<u64> {
        *lock(&self.first_1006_second)
    }

    pub fn result(&self, schedule: &Schedule) -> ProbeFinding {
        let per_second = lock(&self.accepted_per_second);
        let first_second = per_second.keys().next().copied();
        let first = self.finding();
        let relative = |s: u64| first_second.map(|f| s.saturating_sub(f));
        let rate = |s: u64| relative(s).and_then(|r| schedule.rate_in_second(r));
        let highest = match (first, schedule.shape()) {
            (None, Shape::Ramp { .. }) => rate(self.highest_second.load(Ordering::Relaxed)),
            _ => None,
        };
        ProbeFinding {
            interface: self.interface.name().to_owned(),
            limit_found: first.map(|s| per_second.get(&s).copied().unwrap_or(0)),
            first_1006_second: first.and_then(relative),
            rate_at_1006: first.and_then(rate),
            highest_rate_without_1006: highest,
        }
    }
}
