//! The real-name record store (R-CHK-2/3, R-PEND-1/2/3, R-QRY-1/2/3/5).
//!
//! Only pending checks leave a record. A record is keyed by its ai (in the configured namespace) and has one
//! deadline: 48 h after the check, replaced by "300 s after the first final query". Deadlines sit in a
//! per-shard min-heap, so expiry takes what is due instead of scanning; lookups also treat a record past its
//! deadline as gone, so correctness never waits for the sweeper. Shards keep hot paths apart; each holds its
//! records in 72 bytes apiece, without an allocation of their own (`shard.rs`).

mod deadlines;
mod key;
mod shard;

use std::hash::BuildHasher;

// Keys come from clients (ai, pi): foldhash's quality variant, randomly seeded per store, several times cheaper
// than SipHash on keys this short.
use foldhash::quality::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use nppa_protocol::messages::AuthStatus;
use nppa_protocol::StatusCode;

use key::StoredKey;
use shard::{HashedKey, Shard};

const SHARDS: usize = 64;

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

/// A live record as it stands, read without touching it ([`RealNameStore::peek`]): for the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPeek {
    pub resolves_at_ms: u64,
    /// When the record is deleted: the check's TTL (R-PEND-3), or the first final query's 300 s (R-QRY-2).
    pub deadline_ms: u64,
    pub then_success: bool,
    /// A query by its owner has returned the final answer (the deadline is then that query's).
    pub final_queried: bool,
    pub game: usize,
    pub owner: usize,
}

impl RecordPeek {
    /// What a query by its owner would answer at `now_ms` (R-QRY-1).
    pub fn status(&self, now_ms: u64) -> AuthStatus {
        status_at(self.resolves_at_ms, self.then_success, now_ms)
    }
}

/// A record's status at `now_ms`: pending until it resolves, then its final answer (R-PEND-1, R-QRY-1).
fn status_at(resolves_at_ms: u64, then_success: bool, now_ms: u64) -> AuthStatus {
    if now_ms < resolves_at_ms {
        AuthStatus::Pending
    } else if then_success {
        AuthStatus::Success
    } else {
        AuthStatus::Failure
    }
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
        let hasher = RandomState::default();
        RealNameStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new(hasher.clone()))).collect(),
            hasher,
            live_per_game: (0..games).map(|_| AtomicU64::new(0)).collect(),
            live_total: AtomicU64::new(0),
        }
    }

    fn hashed(&self, key: &str) -> HashedKey {
        let key = StoredKey::new(key);
        HashedKey { key, hash: self.hasher.hash_one(key) }
    }

    fn shard(&self, key: &HashedKey) -> MutexGuard<'_, Shard> {
        // The shard's index takes its buckets from the hash's low bits and its tags from the top 7: the shard
        // number comes from bits between, so that neither is skewed within a shard.
        let index = ((key.hash >> 32) as usize) % SHARDS;
        // A poisoned lock only means another request panicked while holding it; a shard's updates do not panic
        // (no unwrap, places and slots kept in range), so the shard is still sound.
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// R-CHK-3: is there a live record for this key?
    pub fn is_live(&self, key: &str, now_ms: u64) -> bool {
        let key = self.hashed(key);
        let shard = self.shard(&key);
        shard.find(&key).and_then(|slot| shard.record(slot)).is_some_and(|r| r.deadline_ms() > now_ms)
    }

    /// Records a pending check. Fails with 2004 when the key is live, 2002 when the game is at `cap`.
    pub fn insert_pending(&self, key: &str, now_ms: u64, cap: u64, record: PendingRecord) -> Result<(), StatusCode> {
        let key = self.hashed(key);
        let mut shard = self.shard(&key);
        self.make_room(&mut shard, &key, now_ms)?;
        if self.live_in_game(record.game) >= cap {
            drop(shard);
            // Expired records may still be counted: free what is due, then look again.
            self.sweep(now_ms);
            if self.live_in_game(record.game) >= cap {
                return Err(StatusCode::ResourceLimit);
            }
            shard = self.shard(&key);
            self.make_room(&mut shard, &key, now_ms)?;
        }
        // Only a shard holding 2^32 records is full; the cap's code is the nearest to say so.
        shard.insert(&key, &record).map_err(|_| StatusCode::ResourceLimit)?;
        if let Some(counter) = self.live_per_game.get(record.game) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.live_total.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// 2004 when the key has a live record; an expired one, not yet swept, makes way for the new one.
    fn make_room(&self, shard: &mut Shard, key: &HashedKey, now_ms: u64) -> Result<(), StatusCode> {
        let Some(slot) = shard.find(key) else {
            return Ok(());
        };
        if shard.record(slot).is_some_and(|r| r.deadline_ms() > now_ms) {
            return Err(StatusCode::AiInUse);
        }
        if let Some(expired) = shard.remove(slot) {
            self.forget(expired.game);
        }
        Ok(())
    }

    /// R-QRY-1/2/3/5: the current answer for a key asked by enterprise `asker`, or `None` (2003) when there is no
    /// live record it submitted: another enterprise's query neither sees the record nor starts its deletion.
    /// The owner's first final answer schedules deletion `delete_after_ms` later.
    pub fn query(&self, key: &str, asker: usize, now_ms: u64, delete_after_ms: u64) -> Option<QueryResult> {
        let key = self.hashed(key);
        let mut shard = self.shard(&key);
        let slot = shard.find(&key)?;
        let record = shard.record_mut(slot)?;
        if record.deadline_ms() <= now_ms || record.owner as usize != asker {
            return None;
        }
        let status = status_at(record.resolves_at_ms, record.then_success, now_ms);
        if status == AuthStatus::Pending {
            return Some(QueryResult { status, id_num: None });
        }
        let answer = QueryResult { status, id_num: (status == AuthStatus::Success).then_some(record.id_num) };
        if !record.final_queried {
            record.final_queried = true;
            shard.set_deadline(slot, now_ms.saturating_add(delete_after_ms));
        }
        Some(answer)
    }

    /// The live record for a key, as it stands: unlike [`query`](Self::query) it starts no deletion and moves no
    /// deadline, whoever asks (the admin API's view of the store).
    pub fn peek(&self, key: &str, now_ms: u64) -> Option<RecordPeek> {
        let key = self.hashed(key);
        let shard = self.shard(&key);
        let record = shard.find(&key).and_then(|slot| shard.record(slot))?;
        (record.deadline_ms() > now_ms).then(|| RecordPeek {
            resolves_at_ms: record.resolves_at_ms,
            deadline_ms: record.deadline_ms(),
            then_success: record.then_success,
            final_queried: record.final_queried,
            game: record.game as usize,
            owner: record.owner as usize,
        })
    }

    /// Deletes every record whose deadline has passed, taking due deadlines only. Returns how many.
    pub fn sweep(&self, now_ms: u64) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            while let Some(record) = shard.remove_due(now_ms) {
                self.forget(record.game);
                removed += 1;
            }
            shard.shrink();
        }
        removed
    }

    fn forget(&self, game: u32) {
        if let Some(counter) = self.live_per_game.get(game as usize) {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
        self.live_total.fetch_sub(1, Ordering::Relaxed);
    }

    /// Records held for game `game` (live, or expired and not yet swept): what the 2002 cap counts.
    pub fn live_in_game(&self, game: usize) -> u64 {
        self.live_per_game.get(game).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Records held (live, or expired and not yet swept).
    pub fn live(&self) -> u64 {
        self.live_total.load(Ordering::Relaxed)
    }

    /// Drops every record.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            *shard.lock().unwrap_or_else(|p| p.into_inner()) = Shard::new(self.hasher.clone());
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
    fn peeking_starts_no_deletion_and_shows_the_first_final_querys() {
        let store = RealNameStore::new(1);
        store.insert_pending("a", 0, 10, pending(1_000_000)).expect("insert");
        let pending_now = store.peek("a", 50).expect("live");
        assert_eq!((pending_now.status(50), pending_now.final_queried), (AuthStatus::Pending, false));
        // Resolved (at 100) and read many times: still the check's deadline.
        for now in [100, 200, 300] {
            let peeked = store.peek("a", now).expect("live");
            assert_eq!(
                (peeked.status(now), peeked.deadline_ms, peeked.final_queried),
                (AuthStatus::Success, 1_000_000, false)
            );
        }
        // The first final query's 300 count from the query, not from a read.
        assert!(store.query("a", 0, 500, 300).is_some());
        let queried = store.peek("a", 501).expect("live");
        assert_eq!((queried.deadline_ms, queried.final_queried), (800, true));
        assert_eq!(store.peek("a", 800), None);
        assert_eq!(store.peek("b", 0), None);
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

    fn held_in_shards(store: &RealNameStore) -> usize {
        store
            .shards
            .iter()
            .map(|shard| {
                let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
                shard.assert_consistent();
                shard.len()
            })
            .sum()
    }

    #[test]
    fn a_deadline_shortened_by_the_first_final_query_frees_the_record_when_swept() {
        let store = RealNameStore::new(1);
        let forty_eight_hours = nppa_protocol::record::PENDING_TTL_MS;
        store.insert_pending("a", 0, 10, pending(forty_eight_hours)).expect("insert");
        assert_eq!(store.query("a", 0, 100, 300).map(|r| r.status), Some(AuthStatus::Success));
        assert_eq!(store.sweep(399), 0);
        assert_eq!((store.live(), store.live_in_game(0), held_in_shards(&store)), (1, 1, 1));
        assert_eq!(store.sweep(400), 1);
        assert_eq!((store.live(), store.live_in_game(0), held_in_shards(&store)), (0, 0, 0));
        // The 48 h deadline it had is gone with it: it does not take the ai's next record.
        store.insert_pending("a", 500, 10, pending(forty_eight_hours + 500)).expect("the ai again");
        assert_eq!(store.sweep(forty_eight_hours), 0);
        assert!(store.is_live("a", forty_eight_hours));
    }

    #[test]
    fn a_record_replaced_after_its_deadline_leaves_only_the_new_deadline() {
        let store = RealNameStore::new(1);
        store.insert_pending("a", 0, 10, pending(10)).expect("first");
        // Not swept yet: the expired record makes way for the new one.
        store.insert_pending("a", 10, 10, pending(1_000)).expect("the ai again");
        assert_eq!((store.live(), held_in_shards(&store)), (1, 1));
        assert_eq!(store.sweep(10), 0);
        assert!(store.is_live("a", 999));
        assert_eq!(store.sweep(1_000), 1);
        assert_eq!((store.live(), held_in_shards(&store)), (0, 0));
    }

    #[test]
    fn the_first_final_query_may_also_move_the_deadline_later() {
        // A TTL shorter than the 300 s after the first final query: the later deadline wins, as it always has.
        let store = RealNameStore::new(1);
        store.insert_pending("a", 0, 10, pending(150)).expect("insert");
        assert!(store.query("a", 0, 120, 300).is_some());
        assert_eq!(store.sweep(150), 0);
        assert!(store.query("a", 0, 419, 300).is_some());
        assert_eq!(store.sweep(420), 1);
    }

    #[test]
    fn keys_longer_than_32_bytes_are_records_of_their_own() {
        // The per-game namespace puts the bizId and a NUL before the ai.
        let store = RealNameStore::new(1);
        let ai = "0123456789abcdef0123456789abcdef";
        let (mine, theirs) = (format!("1101999999\u{0}{ai}"), format!("1101999998\u{0}{ai}"));
        store.insert_pending(&mine, 0, 10, pending(1_000)).expect("mine");
        assert_eq!(store.insert_pending(&mine, 1, 10, pending(1_000)), Err(StatusCode::AiInUse));
        assert!(!store.is_live(&theirs, 1) && !store.is_live(ai, 1));
        store.insert_pending(&theirs, 1, 10, pending(1_000)).expect("theirs");
        store.insert_pending(ai, 1, 10, pending(1_000)).expect("global");
        assert_eq!(store.query(&mine, 0, 100, 300).and_then(|r| r.id_num), Some(42));
        assert_eq!(store.live(), 3);
    }

    #[test]
    fn a_shard_emptied_by_a_sweep_gives_memory_back_and_keeps_the_rest() {
        let store = RealNameStore::new(1);
        for i in 0..2_000u64 {
            let deadline_ms = if i % 10 == 0 { 100 + i } else { 10 };
            let record = PendingRecord { id_num: i, resolves_at_ms: 0, ..pending(deadline_ms) };
            store.insert_pending(&format!("{i:032}"), 0, u64::MAX, record).expect("insert");
        }
        assert_eq!(store.sweep(10), 1_800);
        assert_eq!(held_in_shards(&store), 200);
        let room: usize = store.shards.iter().map(|s| s.lock().map_or(0, |s| s.room())).sum();
        assert!(room < 800, "{room} slots kept for 200 records");
        // The records that moved are still found, with their own data and deadlines (the query keeps the deadline).
        for i in (0..2_000u64).step_by(10) {
            let key = format!("{i:032}");
            assert_eq!(store.query(&key, 0, 100 + i - 1, 1).and_then(|r| r.id_num), Some(i));
            assert_eq!(store.sweep(100 + i), 1, "record {i} expires at its own deadline");
        }
        assert_eq!((store.live(), held_in_shards(&store)), (0, 0));
    }

    /// The store's rules without shards, slots or heaps: a record past its deadline answers as gone, counts drop
    /// when it is swept or replaced.
    #[derive(Default)]
    struct Model {
        records: std::collections::HashMap<String, (PendingRecord, bool)>,
    }

    impl Model {
        /// Records held for game `game` (live, or expired and not yet swept): what the 2002 cap counts.
        pub fn live_in_game(&self, game: usize) -> u64 {
            self.records.values().filter(|(r, _)| r.game == game).count() as u64
        }

        fn sweep(&mut self, now_ms: u64) -> usize {
            let before = self.records.len();
            self.records.retain(|_, (r, _)| r.deadline_ms > now_ms);
            before - self.records.len()
        }

        fn insert(&mut self, key: &str, now_ms: u64, cap: u64, record: PendingRecord) -> Result<(), StatusCode> {
            match self.records.get(key) {
                Some((r, _)) if r.deadline_ms > now_ms => return Err(StatusCode::AiInUse),
                Some(_) => drop(self.records.remove(key)),
                None => {}
            }
            if self.live_in_game(record.game) >= cap {
                self.sweep(now_ms);
                if self.live_in_game(record.game) >= cap {
                    return Err(StatusCode::ResourceLimit);
                }
            }
            self.records.insert(key.to_string(), (record, false));
            Ok(())
        }

        fn query(&mut self, key: &str, asker: usize, now_ms: u64, delete_after_ms: u64) -> Option<QueryResult> {
            let (record, final_queried) = self.records.get_mut(key)?;
            if record.deadline_ms <= now_ms || record.owner != asker {
                return None;
            }
            if now_ms < record.resolves_at_ms {
                return Some(QueryResult { status: AuthStatus::Pending, id_num: None });
            }
            if !*final_queried {
                *final_queried = true;
                record.deadline_ms = now_ms + delete_after_ms;
            }
            Some(if record.then_success {
                QueryResult { status: AuthStatus::Success, id_num: Some(record.id_num) }
            } else {
                QueryResult { status: AuthStatus::Failure, id_num: None }
            })
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            key: usize,
            resolves_in: u64,
            ttl: u64,
            then_success: bool,
            game: usize,
            owner: usize,
            cap: u64,
        },
        Query {
            key: usize,
            asker: usize,
            delete_after: u64,
        },
        IsLive {
            key: usize,
        },
        /// Reading a record changes nothing the next query or sweep sees.
        Peek {
            key: usize,
        },
        Sweep,
        /// The mock's clock may also be set back.
        Clock(i64),
    }

    const KEYS: [&str; 6] = [
        "a",
        "b",
        "0123456789abcdef0123456789abcdef",
        "1101999999\u{0}0123456789abcdef0123456789abcdef",
        "1101999999\u{0}0123456789abcdef0123456789abcdeg",
        "玩玩玩玩玩玩玩玩玩玩玩玩",
    ];

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let key = 0..KEYS.len();
        prop_oneof![
            (key.clone(), 0..300u64, 1..600u64, any::<bool>(), 0..2usize, 0..2usize, 1..5u64).prop_map(
                |(key, resolves_in, ttl, then_success, game, owner, cap)| Op::Insert {
                    key,
                    resolves_in,
                    ttl,
                    then_success,
                    game,
                    owner,
                    cap
                }
            ),
            (key.clone(), 0..2usize, 1..400u64).prop_map(|(key, asker, delete_after)| Op::Query {
                key,
                asker,
                delete_after
            }),
            key.clone().prop_map(|key| Op::IsLive { key }),
            key.prop_map(|key| Op::Peek { key }),
            Just(Op::Sweep),
            (-100..300i64).prop_map(Op::Clock),
        ]
    }

    proptest::proptest! {
        /// Every answer and every count is the model's, whatever the order of checks, queries, sweeps and clock moves.
        #[test]
        fn the_store_answers_as_the_model(ops in proptest::collection::vec(op(), 1..120)) {
            let store = RealNameStore::new(2);
            let mut model = Model::default();
            let mut now: u64 = 1_000;
            for op in ops {
                match op {
                    Op::Insert { key, resolves_in, ttl, then_success, game, owner, cap } => {
                        let record = PendingRecord {
                            resolves_at_ms: now + resolves_in,
                            deadline_ms: now + ttl,
                            then_success,
                            id_num: now,
                            game,
                            owner,
                        };
                        let got = store.insert_pending(KEYS[key], now, cap, record);
                        proptest::prop_assert_eq!(got, model.insert(KEYS[key], now, cap, record));
                    }
                    Op::Query { key, asker, delete_after } => {
                        let got = store.query(KEYS[key], asker, now, delete_after);
                        proptest::prop_assert_eq!(got, model.query(KEYS[key], asker, now, delete_after));
                    }
                    Op::IsLive { key } => {
                        let expected = model.records.get(KEYS[key]).is_some_and(|(r, _)| r.deadline_ms > now);
                        proptest::prop_assert_eq!(store.is_live(KEYS[key], now), expected);
                    }
                    Op::Peek { key } => {
                        let expected = model.records.get(KEYS[key]).filter(|(r, _)| r.deadline_ms > now).map(
                            |&(r, final_queried)| RecordPeek {
                                resolves_at_ms: r.resolves_at_ms,
                                deadline_ms: r.deadline_ms,
                                then_success: r.then_success,
                                final_queried,
                                game: r.game,
                                owner: r.owner,
                            },
                        );
                        proptest::prop_assert_eq!(store.peek(KEYS[key], now), expected);
                    }
                    Op::Sweep => proptest::prop_assert_eq!(store.sweep(now), model.sweep(now)),
                    Op::Clock(delta) => now = now.saturating_add_signed(delta).max(1_000),
                }
                proptest::prop_assert_eq!(store.live(), model.records.len() as u64);
                for game in 0..2 {
                    proptest::prop_assert_eq!(store.live_in_game(game), model.live_in_game(game));
                }
                proptest::prop_assert_eq!(held_in_shards(&store), model.records.len());
            }
        }
    }
}
