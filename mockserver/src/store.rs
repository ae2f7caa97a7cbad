//! The real-name record store (R-CHK-2/3, R-PEND-1/2/3, R-QRY-1/2/3).
//!
//! Only pending checks leave a record. A record is keyed by its ai (in the configured namespace) and has one
//! deadline: 48 h after the check, replaced by "300 s after the first final query". Deadlines sit in a
//! per-shard min-heap, so expiry pops what is due instead of scanning; lookups also treat a record past its
//! deadline as gone, so correctness never waits for the sweeper. Shards keep hot paths apart.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use nppa_protocol::messages::AuthStatus;
use nppa_protocol::StatusCode;

const SHARDS: usize = 64;

/// One live record.
#[derive(Debug)]
struct Record {
    /// When the pending result becomes final.
    resolves_at_ms: u64,
    /// When the record is deleted.
    deadline_ms: u64,
    /// The final answer, and the person (packed idNum, 8 bytes): the pi is derived again when asked.
    then_success: bool,
    id_num: u64,
    /// Set by the first query that returned a final answer (R-QRY-2).
    final_queried: bool,
    game: u32,
    /// R-QRY-5: the enterprise that submitted the check; only it may query the record.
    owner: u32,
}

#[derive(Default)]
struct Shard {
    records: HashMap<Arc<str>, Record>,
    deadlines: BinaryHeap<Reverse<(u64, Arc<str>)>>,
}

/// A new pending record.
#[derive(Debug, Clone, Copy)]
pub struct PendingRecord {
    pub resolves_at_ms: u64,
    pub deadline_ms: u64,
    pub then_success: bool,
    /// The person, as `nppa_protocol::idnum::pack` packs the idNum.
    pub id_num: u64,
    pub game: usize,
    /// The enterprise (its index) that submitted the check (R-QRY-5).
    pub owner: usize,
}

/// What a query finds: the status, and the packed idNum of a success (to derive its pi).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResult {
    pub status: AuthStatus,
    pub id_num: Option<u64>,
}

/// The store.
pub struct RealNameStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    live_per_game: Box<[AtomicU64]>,
    live_total: AtomicU64,
}

impl std::fmt::Debug for RealNameStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RealNameStore({} live)", self.live())
    }
}

impl RealNameStore {
    /// An empty store for `games` games.
    pub fn new(games: usize) -> RealNameStore {
        RealNameStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            live_per_game: (0..games).map(|_| AtomicU64::new(0)).collect(),
            live_total: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        // A poisoned shard only means another request panicked mid-update; the map itself is still sound.
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// R-CHK-3: is there a live record for this key?
    pub fn is_live(&self, key: &str, now_ms: u64) -> bool {
        self.shard(key).records.get(key).is_some_and(|r| r.deadline_ms > now_ms)
    }

    /// Records a pending check. Fails with 2004 when the key is live, 2002 when the game is at `cap`.
    pub fn insert_pending(&self, key: &str, now_ms: u64, cap: u64, record: PendingRecord) -> Result<(), StatusCode> {
        let mut shard = self.shard(key);
        if let Some(existing) = shard.records.get(key) {
            if existing.deadline_ms > now_ms {
                return Err(StatusCode::AiInUse);
            }
            let game = existing.game;
            shard.records.remove(key);
            self.forget(game);
        }
        if self.live_in_game(record.game) >= cap {
            drop(shard);
            // Expired records may still be counted: free what is due, then look again.
            self.sweep(now_ms);
            if self.live_in_game(record.game) >= cap {
                return Err(StatusCode::ResourceLimit);
            }
            shard = self.shard(key);
            if shard.records.get(key).is_some_and(|r| r.deadline_ms > now_ms) {
                return Err(StatusCode::AiInUse);
            }
        }
        let key: Arc<str> = Arc::from(key);
        shard.deadlines.push(Reverse((record.deadline_ms, Arc::clone(&key))));
        shard.records.insert(
            key,
            Record {
                resolves_at_ms: record.resolves_at_ms,
                deadline_ms: record.deadline_ms,
                then_success: record.then_success,
                id_num: record.id_num,
                final_queried: false,
                game: record.game as u32,
                owner: record.owner as u32,
            },
        );
        if let Some(counter) = self.live_per_game.get(record.game) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.live_total.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// R-QRY-1/2/3/5: the current answer for a key asked by enterprise `asker`, or `None` (2003) when there is no
    /// live record it submitted: another enterprise's query neither sees the record nor starts its deletion.
    /// The owner's first final answer schedules deletion `delete_after_ms` later.
    pub fn query(&self, key: &str, asker: usize, now_ms: u64, delete_after_ms: u64) -> Option<QueryResult> {
        let mut shard = self.shard(key);
        let shard = &mut *shard;
        let record = shard.records.get_mut(key)?;
        if record.deadline_ms <= now_ms || record.owner as usize != asker {
            return None;
        }
        if now_ms < record.resolves_at_ms {
            return Some(QueryResult { status: AuthStatus::Pending, id_num: None });
        }
        if !record.final_queried {
            record.final_queried = true;
            record.deadline_ms = now_ms.saturating_add(delete_after_ms);
            let key = shard.records.get_key_value(key).map(|(k, _)| Arc::clone(k))?;
            shard.deadlines.push(Reverse((now_ms.saturating_add(delete_after_ms), key)));
        }
        let record = shard.records.get(key)?;
        Some(if record.then_success {
            QueryResult { status: AuthStatus::Success, id_num: Some(record.id_num) }
        } else {
            QueryResult { status: AuthStatus::Failure, id_num: None }
        })
    }

    /// Deletes every record whose deadline has passed, popping due deadlines only. Returns how many.
    pub fn sweep(&self, now_ms: u64) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let shard = &mut *shard;
            while shard.deadlines.peek().is_some_and(|Reverse((due, _))| *due <= now_ms) {
                let Some(Reverse((due, key))) = shard.deadlines.pop() else {
                    break;
                };
                // A record whose deadline moved has a later heap entry; this one is stale.
                if shard.records.get(&key).is_some_and(|r| r.deadline_ms == due) {
                    if let Some(record) = shard.records.remove(&key) {
                        self.forget(record.game);
                        removed += 1;
                    }
                }
            }
            // Give memory back once a shard has emptied to a quarter of its capacity (after a burst).
            if shard.records.len() * 4 < shard.records.capacity() {
                let keep = shard.records.len() * 2;
                shard.records.shrink_to(keep);
            }
            if shard.deadlines.len() * 4 < shard.deadlines.capacity() {
                let keep = shard.deadlines.len() * 2;
                shard.deadlines.shrink_to(keep);
            }
        }
        removed
    }

    fn forget(&self, game: u32) {
        if let Some(counter) = self.live_per_game.get(game as usize) {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
        self.live_total.fetch_sub(1, Ordering::Relaxed);
    }

    fn live_in_game(&self, game: usize) -> u64 {
        self.live_per_game.get(game).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Records held (live, or expired and not yet swept).
    pub fn live(&self) -> u64 {
        self.live_total.load(Ordering::Relaxed)
    }

    /// Drops every record.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            *shard.lock().unwrap_or_else(|p| p.into_inner()) = Shard::default();
        }
        for counter in self.live_per_game.iter() {
            counter.store(0, Ordering::Relaxed);
        }
        self.live_total.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(deadline_ms: u64) -> PendingRecord {
        PendingRecord { resolves_at_ms: 100, deadline_ms, then_success: true, id_num: 42, game: 0, owner: 0 }
    }

    #[test]
    fn lifecycle_pending_final_then_deleted() {
        let store = RealNameStore::new(1);
        store.insert_pending("a", 0, 10, pending(1_000_000)).expect("insert");
        assert_eq!(store.insert_pending("a", 1, 10, pending(1_000_000)), Err(StatusCode::AiInUse));
        assert_eq!(store.query("a", 0, 50, 300).map(|r| r.status), Some(AuthStatus::Pending));
        let final_answer = store.query("a", 0, 100, 300).expect("final");
        assert_eq!(final_answer.id_num, Some(42));
        // A later query does not push the deletion further.
        assert!(store.query("a", 0, 399, 300).is_some());
        assert_eq!(store.query("a", 0, 400, 300), None);
        assert_eq!(store.live(), 1);
        assert_eq!(store.sweep(400), 1);
        assert_eq!(store.live(), 0);
    }

    #[test]
    fn the_cap_counts_live_records_only() {
        let store = RealNameStore::new(1);
        store.insert_pending("a", 0, 1, pending(10)).expect("first");
        assert_eq!(store.insert_pending("b", 5, 1, pending(10)), Err(StatusCode::ResourceLimit));
        // At t=10 the first record is past its deadline and is swept to make room.
        store.insert_pending("b", 10, 1, pending(20)).expect("after expiry");
        assert_eq!(store.live(), 1);
    }
}
