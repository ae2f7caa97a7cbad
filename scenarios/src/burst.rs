//! The logout-burst driver's state: which records wait, which are in flight, how the game's quota is paced, and
//! what each answer means for each record. No I/O and no clock of its own: callers pass the time, so the same
//! driver runs in real time (under goose) and in a simulation on the mock's controllable clock.
//!
//! Rules it follows: at most 128 records a request (R-BEH-1); at most `requests_per_s` requests in each
//! one-second window of the game's quota (R-RL-1), and nothing for 60 s after a 1006 (R-RL-2); after a 3001 only the
//! rejected records are sent again, and a record refused with 3005 is given up, as it will not get younger
//! (R-BEH-4, FAQ 141).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use hdrhistogram::Histogram;
use nppa_protocol::behaviour::MAX_RECORDS;
use nppa_protocol::messages::BehaviourRecord;
use nppa_protocol::quota::BLOCK_MS;
use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::people;
use crate::recorder::{Gauges, Outcome, Percentiles};

/// A record sent again this many times without being accepted is given up.
const MAX_ATTEMPTS: u8 = 5;

/// The burst to drive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BurstPlan {
    pub players: u64,
    /// Logouts are spread evenly over this many ms (0 = all at once).
    pub window_ms: u64,
    pub games: u32,
    /// Records per request, 1–128.
    pub batch: u32,
    /// Requests per second per game: the quota, or less.
    pub requests_per_s: u32,
    /// Clock time (ms) of the first logout.
    pub start_ms: u64,
    /// Slots keep this far from the edges of each second, so that clock skew and latency do not move a request
    /// into the next quota window.
    pub margin_ms: u64,
}

impl BurstPlan {
    /// The clock time of the `k`-th sending slot of a game: `requests_per_s` slots spread over each second.
    pub fn slot_time(&self, k: u64) -> u64 {
        let per_s = u64::from(self.requests_per_s.max(1));
        let base = self.start_ms - self.start_ms % 1000;
        let usable = 1000u64.saturating_sub(2 * self.margin_ms).max(1);
        base + (k / per_s) * 1000 + self.margin_ms + (k % per_s) * usable / per_s
    }

    /// The first slot whose time is at or after `t_ms`.
    pub fn slot_at_or_after(&self, t_ms: u64) -> u64 {
        let per_s = u64::from(self.requests_per_s.max(1));
        let base = self.start_ms - self.start_ms % 1000;
        let mut k = t_ms.saturating_sub(base) / 1000 * per_s;
        while self.slot_time(k) < t_ms {
            k += 1;
        }
        k
    }

    /// When player `p` logs out.
    pub fn logout_ms(&self, p: u64) -> u64 {
        let offset = u128::from(p) * u128::from(self.window_ms) / u128::from(self.players.max(1));
        self.start_ms + u64::try_from(offset).unwrap_or(u64::MAX)
    }

    /// Players of game `g` (players are dealt round-robin: player p plays game p mod games).
    fn players_of(&self, g: u32) -> u64 {
        let games = u64::from(self.games.max(1));
        let g = u64::from(g);
        if self.players > g {
            (self.players - g).div_ceil(games)
        } else {
            0
        }
    }

    fn player(&self, g: u32, i: u64) -> u64 {
        i * u64::from(self.games.max(1)) + u64::from(g)
    }

    /// How many of game g's players have logged out strictly before `now_ms` (so `ot` < timestamps, R-BEH-TIME).
    fn released(&self, g: u32, now_ms: u64) -> u64 {
        if now_ms <= self.start_ms {
            return 0;
        }
        let all = if self.window_ms == 0 {
            self.players
        } else {
            // Players p with start + floor(p·W/N) < now.
            let elapsed = u128::from(now_ms - self.start_ms);
            let n = u128::from(self.players);
            let w = u128::from(self.window_ms);
            u64::try_from(((elapsed * n).div_ceil(w)).min(n)).unwrap_or(self.players)
        };
        let games = u64::from(self.games.max(1));
        let g = u64::from(g);
        if all > g {
            (all - g).div_ceil(games).min(self.players_of(g as u32))
        } else {
            0
        }
    }
}

/// What an answer means for one record of the batch.
enum Fate {
    Accepted,
    /// Refused with 3005: older than 180 s, and it will not get younger.
    TooOld,
    /// Not accepted for another reason (1006, a failed request, another per-record code): send it again.
    Again,
}

/// Records of one request.
#[derive(Debug, Clone)]
pub struct Batch {
    pub game: u32,
    pub sent_ms: u64,
    /// Player numbers, in `no` order (record `no` = index + 1).
    pub players: Vec<u64>,
    /// How many of them are re-sends.
    pub resent: u32,
}

#[derive(Debug, Default)]
struct GameState {
    total: u64,
    fresh_next: u64,
    retry: VecDeque<u64>,
    attempts: HashMap<u64, u8>,
    in_flight: u64,
    next_slot: u64,
    blocked_until_ms: u64,
}

#[derive(Debug)]
struct State {
    games: Vec<GameState>,
    /// Age of each settled record when it was sent, in µs (so that `Percentiles::of` reads it).
    ages_us: Histogram<u64>,
    totals: BurstTotals,
}

/// What became of the records, so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BurstTotals {
    pub records: u64,
    pub accepted: u64,
    /// Refused with 3005: older than 180 s when they reached NPPA.
    pub lost_3005: u64,
    /// Refused for another reason too often, and given up.
    pub given_up: u64,
    /// Record sends that were re-sends (after a 3001, 1006 or a failed request).
    pub resent: u64,
    pub requests: u64,
    pub answers_1006: u64,
    pub answers_3001: u64,
    pub largest_batch: u32,
    /// From the first logout to the last answer that settled a record.
    pub drain_ms: u64,
}

/// The driver: shared by every sender of every game.
#[derive(Debug)]
pub struct Burst {
    plan: BurstPlan,
    state: Mutex<State>,
}

/// What a sender should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Send at this clock time (ms).
    At(u64),
    /// This game has nothing left to send or settle.
    Done,
}

impl Burst {
    pub fn new(plan: BurstPlan) -> Burst {
        let games =
            (0..plan.games.max(1)).map(|g| GameState { total: plan.players_of(g), ..GameState::default() }).collect();
        let ages_us = crate::recorder::hdr(24 * 3_600_000_000);
        let totals = BurstTotals { records: plan.players, ..BurstTotals::default() };
        Burst { plan, state: Mutex::new(State { games, ages_us, totals }) }
    }

    pub fn plan(&self) -> &BurstPlan {
        &self.plan
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claim the game's next sending slot. A slot of a second already past is skipped (sending it now would put
    /// two seconds' requests into one quota window), and so are slots inside a 1006 block.
    pub fn claim_slot(&self, game: u32, now_ms: u64) -> Slot {
        let mut state = self.lock();
        let Some(g) = state.games.get_mut(game as usize) else { return Slot::Done };
        if g.fresh_next == g.total && g.retry.is_empty() && g.in_flight == 0 {
            return Slot::Done;
        }
        let mut k = g.next_slot;
        let earliest = g.blocked_until_ms.max(now_ms - now_ms % 1000);
        if self.plan.slot_time(k) < earliest {
            k = self.plan.slot_at_or_after(earliest);
        }
        g.next_slot = k + 1;
        Slot::At(self.plan.slot_time(k))
    }

    /// Whether the game is inside a 1006 block at `now_ms`.
    pub fn is_blocked(&self, game: u32, now_ms: u64) -> bool {
        self.lock().games.get(game as usize).is_some_and(|g| now_ms < g.blocked_until_ms)
    }

    /// Take up to `batch` records that are due: re-sends first, then logouts in order.
    pub fn take(&self, game: u32, now_ms: u64) -> Option<Batch> {
        let released = self.plan.released(game, now_ms);
        let mut state = self.lock();
        let g = state.games.get_mut(game as usize)?;
        if now_ms < g.blocked_until_ms {
            return None;
        }
        let mut players = Vec::new();
        let limit = (self.plan.batch as usize).clamp(1, MAX_RECORDS);
        let mut resent = 0;
        while players.len() < limit {
            let Some(p) = g.retry.pop_front() else { break };
            players.push(p);
            resent += 1;
        }
        while players.len() < limit && g.fresh_next < released {
            players.push(self.plan.player(game, g.fresh_next));
            g.fresh_next += 1;
        }
        if players.is_empty() {
            return None;
        }
        g.in_flight += players.len() as u64;
        state.totals.requests += 1;
        state.totals.resent += u64::from(resent);
        state.totals.largest_batch = state.totals.largest_batch.max(players.len() as u32);
        Some(Batch { game, sent_ms: now_ms, players, resent })
    }

    /// The plaintext records of a batch (verified players, logouts: bt = 0, ct = 0).
    pub fn records(&self, batch: &Batch) -> Vec<BehaviourRecord> {
        batch
            .players
            .iter()
            .enumerate()
            .map(|(j, &p)| BehaviourRecord {
                no: j as i64 + 1,
                si: format!("ld{p}"),
                bt: 0,
                ot: (self.plan.logout_ms(p) / 1000) as i64,
                ct: 0,
                di: None,
                pi: Some(people::player_pi(p)),
            })
            .collect()
    }

    /// Apply an answer to the batch it answers. Returns how many of its records NPPA refused with 3005.
    pub fn settle(&self, batch: &Batch, answer: &Answer, now_ms: u64) -> u32 {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(g) = state.games.get_mut(batch.game as usize) else { return 0 };
        g.in_flight = g.in_flight.saturating_sub(batch.players.len() as u64);
        let rejected: HashMap<i64, u16> = answer.rejected.iter().copied().collect();
        let mut lost = 0;
        let mut again = Vec::new();
        for (j, &p) in batch.players.iter().enumerate() {
            let fate = match answer.outcome {
                Outcome::Code(0) => Fate::Accepted,
                Outcome::Code(3001) => match rejected.get(&(j as i64 + 1)) {
                    None => Fate::Accepted,
                    Some(3005) => Fate::TooOld,
                    Some(_) => Fate::Again,
                },
                Outcome::Code(3005) => Fate::TooOld,
                _ => Fate::Again,
            };
            let age_us = batch.sent_ms.saturating_sub(self.plan.logout_ms(p)).max(1) * 1000;
            match fate {
                Fate::Accepted => {
                    state.totals.accepted += 1;
                    state.ages_us.saturating_record(age_us);
                }
                Fate::TooOld => {
                    lost += 1;
                    state.ages_us.saturating_record(age_us);
                }
                Fate::Again => again.push(p),
            }
        }
        match answer.outcome {
            Outcome::Code(3001) => state.totals.answers_3001 += 1,
            Outcome::Code(1006) => {
                state.totals.answers_1006 += 1;
                g.blocked_until_ms = g.blocked_until_ms.max(now_ms + BLOCK_MS + self.plan.margin_ms);
            }
            _ => {}
        }
        state.totals.lost_3005 += u64::from(lost);
        // Re-sends go first, in their original order.
        for &p in again.iter().rev() {
            let tries = g.attempts.entry(p).or_insert(0);
            *tries += 1;
            if *tries >= MAX_ATTEMPTS {
                state.totals.given_up += 1;
            } else {
                g.retry.push_front(p);
            }
        }
        let settled = state.totals.accepted + state.totals.lost_3005 + state.totals.given_up;
        if settled > 0 {
            state.totals.drain_ms = state.totals.drain_ms.max(now_ms.saturating_sub(self.plan.start_ms));
        }
        lost
    }

    /// Records waiting to be sent, and the age of the oldest.
    pub fn gauges(&self, now_ms: u64) -> Gauges {
        let state = self.lock();
        let mut backlog = 0;
        let mut oldest: Option<u64> = None;
        for (game, g) in state.games.iter().enumerate() {
            let released = self.plan.released(game as u32, now_ms);
            backlog += released.saturating_sub(g.fresh_next) + g.retry.len() as u64;
            let waiting = g
                .retry
                .front()
                .copied()
                .into_iter()
                .chain((g.fresh_next < released).then(|| self.plan.player(game as u32, g.fresh_next)));
            for p in waiting {
                let logout = self.plan.logout_ms(p);
                oldest = Some(oldest.map_or(logout, |o| o.min(logout)));
            }
        }
        let oldest_age_s = oldest.map_or(0.0, |t| now_ms.saturating_sub(t) as f64 / 1000.0);
        Gauges { backlog, oldest_age_s }
    }

    /// Every record is accepted, lost or given up.
    pub fn finished(&self) -> bool {
        self.lock().games.iter().all(|g| g.fresh_next == g.total && g.retry.is_empty() && g.in_flight == 0)
    }

    pub fn totals(&self) -> BurstTotals {
        self.lock().totals.clone()
    }

    /// Age of the settled records (accepted, or refused with 3005) when they were sent.
    pub fn ages(&self) -> Percentiles {
        Percentiles::of(&self.lock().ages_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(players: u64, window_ms: u64, games: u32) -> BurstPlan {
        BurstPlan {
            players,
            window_ms,
            games,
            batch: MAX_RECORDS as u32,
            requests_per_s: 50,
            start_ms: 1_000_000,
            margin_ms: 20,
        }
    }

    fn ok() -> Answer {
        Answer { outcome: Outcome::Code(0), status: None, rejected: vec![] }
    }

    #[test]
    fn slots_stay_inside_their_second() {
        let p = plan(1, 0, 1);
        for k in 0..200 {
            let t = p.slot_time(k);
            assert_eq!((t - 1_000_000) / 1000, k / 50, "slot {k}");
            assert!(t % 1000 >= 20 && t % 1000 < 980);
        }
        assert_eq!(p.slot_at_or_after(1_002_500), 125);
    }

    #[test]
    fn records_are_released_by_their_logout_time_and_dealt_to_games() {
        let p = plan(1000, 10_000, 3);
        assert_eq!(p.released(0, 1_000_000), 0);
        // After 5 s, players 0..500 (exclusive) have logged out: 167 in game 0, 167 in game 1, 166 in game 2.
        let r: Vec<u64> = (0..3).map(|g| p.released(g, 1_005_000)).collect();
        assert_eq!(r.iter().sum::<u64>(), 500);
        assert_eq!((0..3).map(|g| p.players_of(g)).sum::<u64>(), 1000);
        assert_eq!(p.released(2, 2_000_000), p.players_of(2));
    }

    #[test]
    fn batches_hold_at_most_128_and_resend_only_the_rejected() {
        let burst = Burst::new(plan(300, 0, 1));
        let now = 1_000_500;
        let first = burst.take(0, now).unwrap();
        assert_eq!(first.players.len(), MAX_RECORDS);
        let partial =
            Answer { outcome: Outcome::Code(3001), status: None, rejected: vec![(3, 3005), (5, 3004), (7, 3004)] };
        assert_eq!(burst.settle(&first, &partial, now), 1);
        let second = burst.take(0, now + 20).unwrap();
        // The two 3004 records first, in order, then fresh ones.
        assert_eq!(&second.players[..2], &[first.players[4], first.players[6]]);
        assert_eq!(second.resent, 2);
        assert_eq!(second.players.len(), MAX_RECORDS);
        let t = burst.totals();
        assert_eq!((t.accepted, t.lost_3005, t.resent), (125, 1, 2));
    }

    #[test]
    fn a_1006_blocks_the_game_for_60_s_and_keeps_the_records() {
        let burst = Burst::new(plan(10, 0, 1));
        let now = 1_000_100;
        let batch = burst.take(0, now).unwrap();
        burst.settle(&batch, &Answer { outcome: Outcome::Code(1006), status: None, rejected: vec![] }, now);
        assert!(burst.is_blocked(0, now + 59_000));
        assert!(burst.take(0, now + 30_000).is_none());
        match burst.claim_slot(0, now + 1000) {
            Slot::At(t) => assert!(t >= now + BLOCK_MS),
            Slot::Done => panic!("records are waiting"),
        }
        let again = burst.take(0, now + BLOCK_MS + 100).unwrap();
        assert_eq!(again.players, batch.players);
        burst.settle(&again, &ok(), now + BLOCK_MS + 100);
        assert!(burst.finished());
        assert_eq!(burst.claim_slot(0, now + BLOCK_MS + 200), Slot::Done);
    }

    #[test]
    fn late_slots_are_skipped_to_the_current_second() {
        let burst = Burst::new(plan(10, 0, 1));
        assert_eq!(burst.claim_slot(0, 1_000_000), Slot::At(1_000_020));
        // Three seconds later the next slot is in the current second, not in one already past.
        match burst.claim_slot(0, 1_003_500) {
            Slot::At(t) => assert_eq!(t / 1000, 1003),
            Slot::Done => panic!(),
        }
    }

    #[test]
    fn gauges_show_the_backlog_and_its_oldest_record() {
        let burst = Burst::new(plan(1000, 0, 1));
        let g = burst.gauges(1_010_000);
        assert_eq!(g.backlog, 1000);
        assert!((g.oldest_age_s - 10.0).abs() < 1e-9);
        let batch = burst.take(0, 1_010_000).unwrap();
        burst.settle(&batch, &ok(), 1_010_010);
        assert_eq!(burst.gauges(1_010_010).backlog, 872);
        assert_eq!(burst.ages().count, MAX_RECORDS as u64);
        assert!((burst.ages().max_ms - 10_000.0).abs() < 10.0);
    }

    #[test]
    fn records_carry_the_logout_second_and_a_pi() {
        let burst = Burst::new(plan(5, 5000, 1));
        let batch = burst.take(0, 1_009_000).unwrap();
        let records = burst.records(&batch);
        assert_eq!(records.len(), 5);
        assert_eq!(records[0].no, 1);
        assert_eq!(records[1].ot, 1001);
        assert!(records.iter().all(|r| r.bt == 0 && r.pi.is_some()));
    }
}
