//! One shard of the store: records in a slab, a hash index from key to slot, and the deadlines' heap. A record is
//! written once, in its slot; the index and the heap hold 4-byte slot numbers. A live record costs its 72 bytes, 4 in
//! the heap, and 5 per bucket of the index (filled 7/16 to 7/8): 85 to 89 bytes measured (`examples/record_memory`).

use std::hash::BuildHasher;

use foldhash::quality::RandomState;

use hashbrown::HashTable;
use slab::Slab;

use super::deadlines::{Deadlines, Slots};
use super::key::StoredKey;
use super::PendingRecord;

/// One live record.
#[derive(Debug)]
pub(super) struct Record {
    key: StoredKey,
    /// When the pending result becomes final.
    pub(super) resolves_at_ms: u64,
    /// When the record is deleted (moved only through [`Shard::set_deadline`], which keeps the heap in order).
    deadline_ms: u64,
    /// The final answer, and the person (packed idNum, 8 bytes): the pi is derived again when asked.
    pub(super) then_success: bool,
    pub(super) id_num: u64,
    /// Set by the first query that returned a final answer (R-QRY-2).
    pub(super) final_queried: bool,
    pub(super) game: u32,
    /// R-QRY-5: the enterprise that submitted the check; only it may query the record.
    pub(super) owner: u32,
    /// Where the record's deadline sits in the heap.
    place: u32,
}

impl Record {
    pub(super) fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }
}

/// A key with its hash, computed once per request: the store picks the shard with it, the shard's index finds the
/// slot with it.
#[derive(Debug)]
pub(super) struct HashedKey {
    pub(super) key: StoredKey,
    pub(super) hash: u64,
}

/// Every slot number fits in 4 bytes: a shard that would need a larger one is full.
#[derive(Debug)]
pub(super) struct Full;

pub(super) struct Shard {
    records: Slab<Record>,
    /// The slot of each record, by its key's hash (the same hasher as the store's).
    slots: HashTable<u32>,
    deadlines: Deadlines,
    hasher: RandomState,
}

impl Slots for Slab<Record> {
    fn deadline_ms(&self, slot: u32) -> u64 {
        self.get(slot as usize).map_or(u64::MAX, |r| r.deadline_ms)
    }

    fn set_place(&mut self, slot: u32, place: u32) {
        if let Some(record) = self.get_mut(slot as usize) {
            record.place = place;
        }
    }
}

impl Shard {
    pub(super) fn new(hasher: RandomState) -> Shard {
        Shard { records: Slab::new(), slots: HashTable::new(), deadlines: Deadlines::default(), hasher }
    }

    /// The slot of the record with this key, live or not.
    pub(super) fn find(&self, key: &HashedKey) -> Option<u32> {
        let records = &self.records;
        let same_key = |slot: &u32| records.get(*slot as usize).is_some_and(|r| r.key == key.key);
        self.slots.find(key.hash, same_key).copied()
    }

    pub(super) fn record(&self, slot: u32) -> Option<&Record> {
        self.records.get(slot as usize)
    }

    pub(super) fn record_mut(&mut self, slot: u32) -> Option<&mut Record> {
        self.records.get_mut(slot as usize)
    }

    /// Adds a record whose key the shard does not hold (the caller has looked).
    pub(super) fn insert(&mut self, key: &HashedKey, pending: &PendingRecord) -> Result<(), Full> {
        let slot = u32::try_from(self.records.vacant_key()).map_err(|_| Full)?;
        self.records.insert(Record {
            key: key.key,
            resolves_at_ms: pending.resolves_at_ms,
            deadline_ms: pending.deadline_ms,
            then_success: pending.then_success,
            id_num: pending.id_num,
            final_queried: false,
            game: pending.game as u32,
            owner: pending.owner as u32,
            place: u32::MAX,
        });
        let Shard { records, slots, hasher, .. } = self;
        slots.insert_unique(key.hash, slot, |&s| hash_of(hasher, records, s));
        self.deadlines.push(slot, &mut self.records);
        Ok(())
    }

    /// Moves a record's deadline, earlier or later.
    pub(super) fn set_deadline(&mut self, slot: u32, deadline_ms: u64) {
        if let Some(record) = self.records.get_mut(slot as usize) {
            record.deadline_ms = deadline_ms;
            let place = record.place;
            self.deadlines.moved(place, &mut self.records);
        }
    }

    /// Takes a record out of the slab, the index and the heap.
    pub(super) fn remove(&mut self, slot: u32) -> Option<Record> {
        let record = self.records.try_remove(slot as usize)?;
        let hash = self.hasher.hash_one(record.key);
        if let Ok(entry) = self.slots.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        self.deadlines.remove(record.place, &mut self.records);
        Some(record)
    }

    /// Takes out the record whose deadline comes first, if it has passed.
    pub(super) fn remove_due(&mut self, now_ms: u64) -> Option<Record> {
        let slot = self.deadlines.first()?;
        if self.records.get(slot as usize)?.deadline_ms > now_ms {
            return None;
        }
        self.remove(slot)
    }

    /// Gives memory back once the shard has emptied to a quarter of its room (after a burst): the records still
    /// held move down into the freed slots, and the index and the heap follow them.
    pub(super) fn shrink(&mut self) {
        let Shard { records, slots, deadlines, hasher } = self;
        if records.len() * 4 < records.capacity() {
            records.compact(|record, from, to| {
                let Some(entry) = slots.find_mut(hasher.hash_one(record.key), |&s| s as usize == from) else {
                    return false;
                };
                *entry = to as u32;
                deadlines.relocate(record.place, to as u32);
                true
            });
        }
        if slots.len() * 4 < slots.capacity() {
            slots.shrink_to(slots.len() * 2, |&s| hash_of(hasher, records, s));
        }
        deadlines.shrink();
    }

    /// Records held, live or not yet swept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Slots the shard has room for without growing.
    #[cfg(test)]
    pub(super) fn room(&self) -> usize {
        self.records.capacity()
    }

    /// Panics unless the slab, the index and the heap agree.
    #[cfg(test)]
    pub(super) fn assert_consistent(&self) {
        assert_eq!(self.slots.len(), self.records.len());
        assert_eq!(self.deadlines.len(), self.records.len());
        for (slot, record) in self.records.iter() {
            let key = HashedKey { key: record.key, hash: self.hasher.hash_one(record.key) };
            assert_eq!(self.find(&key), Some(slot as u32));
        }
        if let Some(first) = self.deadlines.first() {
            let earliest = self.records.iter().map(|(_, r)| r.deadline_ms).min();
            assert_eq!(self.records.get(first as usize).map(|r| r.deadline_ms), earliest);
        }
    }
}

fn hash_of(hasher: &RandomState, records: &Slab<Record>, slot: u32) -> u64 {
    records.get(slot as usize).map_or(0, |r| hasher.hash_one(r.key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_fits_in_72_bytes() {
        // The budget of issue #14: ≤ 100 bytes per live record in all; the slab's vacant entries take no more.
        assert!(std::mem::size_of::<Record>() <= 72, "{}", std::mem::size_of::<Record>());
    }
}
