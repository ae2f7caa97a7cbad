//! Where the journal writes its entries' bytes: slices of large chunks, so that recording allocates once a chunk
//! rather than once an entry, and, once the ring is full, not at all. Each core writes chunks of its own
//! ([`crate::per_core`]): entries written by two cores into one chunk shared its count and the cache lines where they
//! met, which moved between the cores on every entry.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use bytes::BytesMut;

use crate::per_core::{line, per_core, PerCore, LINES};

/// Bytes of one chunk: some sixty entries of a client's size.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Every core's chunks. A chunk is used again once every entry in it has left the ring and its readers. Together the
/// cores keep at most one filled chunk for every 16 entries of the ring, and 8 more (a client's entry is about 1 KB,
/// so the ring spans one chunk for every 60 or so: the ring and a backlog as large again fit); past that, the oldest
/// filled chunk of another core is let go (it is freed when its last entry is), else this core's own. So a backlog (a
/// stalled stream subscriber, a full JSONL queue) or one entry held long does not keep chunks for ever, and the
/// chunks of a core that stopped recording go to the cores that need room, one for each they keep.
#[derive(Debug)]
pub struct CoreChunks {
    lines: PerCore<Mutex<Chunks>>,
    /// Filled chunks kept now, by every core.
    kept: AtomicUsize,
    limit: usize,
}

impl CoreChunks {
    /// The chunks of a ring of `entries`.
    pub fn for_ring(entries: usize) -> CoreChunks {
        CoreChunks { lines: per_core(), kept: AtomicUsize::new(0), limit: entries / 16 + 8 }
    }

    /// Runs `write` on this core's current chunk, where most entries fit, with the room left in it. `None` when
    /// there is no current chunk or `write` found the room too small: then [`write`](Self::write) finds one.
    pub fn write_in_current<R>(&self, write: impl FnOnce(&mut BytesMut, usize) -> Option<R>) -> Option<R> {
        let mut chunks = lock(&self.lines[line()]);
        let current = chunks.current.as_mut()?;
        let left = current.capacity() - current.len();
        write(current, left)
    }

    /// Runs `write` on a chunk of this core's with room for `bytes` more, then keeps within the budget.
    pub fn write<R>(&self, bytes: usize, write: impl FnOnce(&mut BytesMut) -> R) -> R {
        let own = line();
        let written = write(lock(&self.lines[own]).with_room(bytes, &self.kept));
        if self.kept.load(Ordering::Relaxed) > self.limit {
            self.trim(own);
        }
        written
    }

    /// Lets one filled chunk go: another core's oldest if one is free to take (a core that stopped recording keeps
    /// its chunks otherwise), else this core's. A core busy this instant is passed over: the next entry tries again.
    fn trim(&self, own: usize) {
        for offset in 1..=LINES {
            let mut chunks = match self.lines[(own + offset) % LINES].try_lock() {
                Ok(chunks) => chunks,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            if chunks.let_go_oldest(&self.kept) {
                return;
            }
        }
    }

    /// Lets every filled chunk go (the ring was emptied: they are freed as their entries are).
    pub fn release(&self) {
        for chunks in &self.lines {
            lock(chunks).release(&self.kept);
        }
    }

    /// Filled chunks kept now, by every core.
    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.kept.load(Ordering::Relaxed)
    }
}

/// A core's chunks (a poisoned lock only means a write panicked: the chunks are whole, a write's leftovers dropped).
fn lock(chunks: &Mutex<Chunks>) -> MutexGuard<'_, Chunks> {
    chunks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One core's chunk being written, and the chunks it filled before, oldest first.
#[derive(Debug, Default)]
pub struct Chunks {
    /// `None` until the first entry.
    current: Option<BytesMut>,
    filled: VecDeque<BytesMut>,
}

impl Chunks {
    /// Lets every filled chunk go.
    fn release(&mut self, kept: &AtomicUsize) {
        kept.fetch_sub(self.filled.len(), Ordering::Relaxed);
        self.filled = VecDeque::new();
    }

    /// Lets the oldest filled chunk go; false when there is none.
    fn let_go_oldest(&mut self, kept: &AtomicUsize) -> bool {
        let oldest = self.filled.pop_front().is_some();
        if oldest {
            kept.fetch_sub(1, Ordering::Relaxed);
        }
        oldest
    }

    /// A chunk with room for `bytes` more: the current one, else the oldest filled one if nothing holds any of its
    /// entries any more (entries leave the ring in the order they came), else a new one.
    fn with_room(&mut self, bytes: usize, kept: &AtomicUsize) -> &mut BytesMut {
        if self.current.as_ref().is_none_or(|current| current.capacity() - current.len() < bytes) {
            let free = self.filled.front_mut().is_some_and(|oldest| oldest.try_reclaim(CHUNK_BYTES));
            let reused = if free { self.filled.pop_front() } else { None };
            if reused.is_some() {
                kept.fetch_sub(1, Ordering::Relaxed);
            }
            let next = reused.unwrap_or_else(|| BytesMut::with_capacity(CHUNK_BYTES));
            // Empty (its entries were split off it): kept for the allocation its entries still share.
            if let Some(filled) = self.current.replace(next) {
                self.filled.push_back(filled);
                kept.fetch_add(1, Ordering::Relaxed);
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
        let (mut chunks, kept) = (Chunks::default(), AtomicUsize::new(0));
        let first = chunks.with_room(10, &kept);
        first.extend_from_slice(&[1; CHUNK_BYTES - 5]);
        let entry = first.split().freeze();
        let first_start = entry.as_ptr();
        // No room for 10 more: a second chunk, while an entry still holds the first.
        chunks.with_room(10, &kept).extend_from_slice(&[2; CHUNK_BYTES - 5]);
        let second = chunks.with_room(0, &kept).split().freeze();
        assert_ne!(second.as_ptr(), first_start);
        assert_ne!(chunks.with_room(10, &kept).as_ptr(), first_start, "the first chunk's entry is alive: not reused");
        let third = chunks.with_room(10, &kept);
        third.extend_from_slice(&[3; CHUNK_BYTES - 5]);
        let third = third.split().freeze();
        drop(entry);
        // The first chunk is free now: the next chunk is it, from its start.
        assert_eq!(chunks.with_room(10, &kept).as_ptr(), first_start);
        assert_eq!(chunks.with_room(10, &kept).capacity(), CHUNK_BYTES);
        assert_eq!((second[0], third[0]), (2, 3), "entries in other chunks are untouched");
        assert_eq!(kept.load(Ordering::Relaxed), chunks.filled.len());
    }

    /// An entry of this thread's that takes all but a little of a chunk: the next needs a chunk of its own.
    fn fill(chunks: &CoreChunks) -> bytes::Bytes {
        chunks.write(CHUNK_BYTES - 64, |chunk| {
            chunk.extend_from_slice(&[7; CHUNK_BYTES - 64]);
            chunk.split().freeze()
        })
    }

    fn filled(chunks: &CoreChunks, line: usize) -> usize {
        lock(&chunks.lines[line]).filled.len()
    }

    #[test]
    fn a_chunk_held_long_is_let_go_past_the_ring_s_share_and_reuse_goes_on() {
        let chunks = CoreChunks::for_ring(16);
        // Each entry fills a chunk; an entry starts where its chunk does.
        let held = fill(&chunks);
        let mut starts = std::collections::HashSet::from([held.as_ptr()]);
        // Entries that leave at once: every chunk after the held one is free, but the held one is the oldest.
        for _ in 0..20 {
            starts.insert(fill(&chunks).as_ptr());
        }
        assert!(chunks.kept() <= chunks.limit, "{} kept, at most {}", chunks.kept(), chunks.limit);
        assert_eq!(chunks.kept(), filled(&chunks, line()));
        // The held chunk was let go, so the oldest is free again: the next entries use chunks already made.
        let made = starts.len();
        for _ in 0..5 {
            starts.insert(fill(&chunks).as_ptr());
        }
        assert_eq!(starts.len(), made, "no new chunk once the held one was let go");
        assert!(made < 21, "chunks were used again during the first entries too ({made} made)");
        assert_eq!(held[0], 7, "the held entry's bytes are untouched");
        chunks.release();
        assert_eq!((chunks.kept(), filled(&chunks, line())), (0, 0));
    }

    #[test]
    fn a_core_that_stopped_recording_gives_its_chunks_up_to_one_that_records() {
        let chunks = CoreChunks::for_ring(16);
        // Another core fills chunks whose entries stay alive a while (a stalled reader), then stops recording.
        let (idle, held) = std::thread::scope(|scope| {
            scope.spawn(|| (line(), (0..chunks.limit + 5).map(|_| fill(&chunks)).collect::<Vec<_>>())).join()
        })
        .expect("thread");
        assert_ne!(idle, line());
        assert_eq!(chunks.kept(), chunks.limit, "the idle core kept as many as the budget allows");
        drop(held);
        // This core records entries that stay in its ring (its budget full, the last in the chunk it writes): each
        // chunk it keeps is one the idle core gives up.
        let ring: Vec<_> = (0..=chunks.limit).map(|_| fill(&chunks)).collect();
        assert!(chunks.kept() <= chunks.limit, "{} kept, at most {}", chunks.kept(), chunks.limit);
        assert_eq!(filled(&chunks, idle), 0, "the idle core still keeps chunks");
        // Once its entries leave, this core goes on in the chunks it keeps: no new one.
        let mine: std::collections::HashSet<_> = ring.iter().map(|entry| entry.as_ptr()).collect();
        drop(ring);
        for _ in 0..40 {
            let entry = fill(&chunks);
            assert!(mine.contains(&entry.as_ptr()), "a new chunk while this core's own were free");
        }
        assert_eq!(chunks.kept(), filled(&chunks, line()));
    }
}
