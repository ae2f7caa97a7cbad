//! Where the journal writes its entries' bytes: slices of large chunks, so that recording allocates once a chunk
//! rather than once an entry, and, once the ring is full, not at all. Each core writes chunks of its own
//! ([`crate::per_core`]): entries written by two cores into one chunk shared its count and the cache lines where they
//! met, which moved between the cores on every entry.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;

/// Bytes of one chunk: some sixty entries of a client's size.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// How many filled chunks the journal's [`Chunks`] together keep at most. A chunk is used again once every entry in
/// it has left the ring and its readers; past this many, the oldest of the core that fills one is let go instead (it
/// is freed when its last entry is), so that a backlog (a stalled stream subscriber, a full JSONL queue), one entry
/// held long or a core that stopped recording does not keep chunks for ever.
#[derive(Debug)]
pub struct ChunkBudget {
    kept: AtomicUsize,
    limit: usize,
}

impl ChunkBudget {
    /// The budget for a ring of `entries`: one chunk for every 16 entries, and 8 more (a client's entry is about
    /// 1 KB, so the ring spans one chunk for every 60 or so: the ring and a backlog as large again fit).
    pub fn for_ring(entries: usize) -> ChunkBudget {
        ChunkBudget { kept: AtomicUsize::new(0), limit: entries / 16 + 8 }
    }

    /// Filled chunks kept now, by every core.
    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.kept.load(Ordering::Relaxed)
    }
}

/// One core's chunk being written, and the chunks it filled before, oldest first.
#[derive(Debug, Default)]
pub struct Chunks {
    /// `None` until the first entry.
    current: Option<BytesMut>,
    filled: VecDeque<BytesMut>,
}

impl Chunks {
    /// Lets every filled chunk go (the ring was emptied: they are freed as their entries are).
    pub fn release(&mut self, budget: &ChunkBudget) {
        budget.kept.fetch_sub(self.filled.len(), Ordering::Relaxed);
        self.filled = VecDeque::new();
    }

    /// A chunk with room for `bytes` more: the current one, else the oldest filled one if nothing holds any of its
    /// entries any more (entries leave the ring in the order they came), else a new one.
    pub fn with_room(&mut self, bytes: usize, budget: &ChunkBudget) -> &mut BytesMut {
        if self.current.as_ref().is_none_or(|current| current.capacity() - current.len() < bytes) {
            let free = self.filled.front_mut().is_some_and(|oldest| oldest.try_reclaim(CHUNK_BYTES));
            let reused = if free { self.filled.pop_front() } else { None };
            if reused.is_some() {
                budget.kept.fetch_sub(1, Ordering::Relaxed);
            }
            let next = reused.unwrap_or_else(|| BytesMut::with_capacity(CHUNK_BYTES));
            // Empty (its entries were split off it): kept for the allocation its entries still share.
            if let Some(filled) = self.current.replace(next) {
                self.filled.push_back(filled);
                if budget.kept.fetch_add(1, Ordering::Relaxed) >= budget.limit && self.filled.pop_front().is_some() {
                    budget.kept.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
        self.current.get_or_insert_with(BytesMut::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_used_again_once_nothing_holds_its_entries() {
        let (mut chunks, budget) = (Chunks::default(), ChunkBudget::for_ring(100));
        let first = chunks.with_room(10, &budget);
        first.extend_from_slice(&[1; CHUNK_BYTES - 5]);
        let entry = first.split().freeze();
        let first_start = entry.as_ptr();
        // No room for 10 more: a second chunk, while an entry still holds the first.
        chunks.with_room(10, &budget).extend_from_slice(&[2; CHUNK_BYTES - 5]);
        let second = chunks.with_room(0, &budget).split().freeze();
        assert_ne!(second.as_ptr(), first_start);
        assert_ne!(chunks.with_room(10, &budget).as_ptr(), first_start, "the first chunk's entry is alive: not reused");
        let third = chunks.with_room(10, &budget);
        third.extend_from_slice(&[3; CHUNK_BYTES - 5]);
        let third = third.split().freeze();
        drop(entry);
        // The first chunk is free now: the next chunk is it, from its start.
        assert_eq!(chunks.with_room(10, &budget).as_ptr(), first_start);
        assert_eq!(chunks.with_room(10, &budget).capacity(), CHUNK_BYTES);
        assert_eq!((second[0], third[0]), (2, 3), "entries in other chunks are untouched");
    }

    /// An entry that takes all but a little of a chunk: the next needs a chunk of its own.
    fn fill(chunks: &mut Chunks, budget: &ChunkBudget) -> bytes::Bytes {
        let chunk = chunks.with_room(CHUNK_BYTES - 64, budget);
        chunk.extend_from_slice(&[7; CHUNK_BYTES - 64]);
        chunk.split().freeze()
    }

    #[test]
    fn a_chunk_held_long_is_let_go_past_the_ring_s_share_and_reuse_goes_on() {
        let (mut chunks, budget) = (Chunks::default(), ChunkBudget::for_ring(16));
        // Each entry fills a chunk; an entry starts where its chunk does.
        let held = fill(&mut chunks, &budget);
        let mut starts = std::collections::HashSet::from([held.as_ptr()]);
        // Entries that leave at once: every chunk after the held one is free, but the held one is the oldest.
        for _ in 0..20 {
            starts.insert(fill(&mut chunks, &budget).as_ptr());
        }
        assert!(chunks.filled.len() <= budget.limit, "{} kept, at most {}", chunks.filled.len(), budget.limit);
        assert_eq!(budget.kept(), chunks.filled.len());
        // The held chunk was let go, so the oldest is free again: the next entries use chunks already made.
        let made = starts.len();
        for _ in 0..5 {
            starts.insert(fill(&mut chunks, &budget).as_ptr());
        }
        assert_eq!(starts.len(), made, "no new chunk once the held one was let go");
        assert!(made < 21, "chunks were used again during the first entries too ({made} made)");
        assert_eq!(held[0], 7, "the held entry's bytes are untouched");
        chunks.release(&budget);
        assert!(chunks.filled.is_empty());
        assert_eq!(budget.kept(), 0);
    }

    #[test]
    fn the_cores_share_one_budget_and_a_core_that_stopped_does_not_raise_it() {
        let budget = ChunkBudget::for_ring(16);
        let (mut idle, mut busy) = (Chunks::default(), Chunks::default());
        // One core fills chunks whose entries stay alive (a stalled reader), then stops recording.
        let held: Vec<_> = (0..budget.limit + 5).map(|_| fill(&mut idle, &budget)).collect();
        assert_eq!(budget.kept(), budget.limit, "the idle core kept as many as the budget allows");
        // The other core's filled chunks are let go at once, as they fill: the total stays within the budget.
        for _ in 0..30 {
            drop(fill(&mut busy, &budget));
            assert!(budget.kept() <= budget.limit, "{} kept, at most {}", budget.kept(), budget.limit);
        }
        assert!(busy.filled.is_empty());
        // Once the idle core's chunks are let go (the ring emptied), the busy core keeps and reuses its own again.
        drop(held);
        idle.release(&budget);
        let mut starts = std::collections::HashSet::new();
        for _ in 0..20 {
            starts.insert(fill(&mut busy, &budget).as_ptr());
        }
        assert!(starts.len() <= 2, "the busy core used its freed chunks again ({} made)", starts.len());
    }
}
