//! Where the journal writes its entries' bytes: slices of large chunks, so that recording allocates once a chunk
//! rather than once an entry, and, once the ring is full, not at all.

use std::collections::VecDeque;

use bytes::BytesMut;

/// Bytes of one chunk: some sixty entries of a client's size.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The chunk being written, and the chunks filled before it, oldest first.
#[derive(Debug)]
pub struct Chunks {
    /// `None` until the first entry.
    current: Option<BytesMut>,
    filled: VecDeque<BytesMut>,
    /// Filled chunks kept at most. A chunk is used again once every entry in it has left the ring and its readers;
    /// past this many, the oldest is let go instead (it is freed when its last entry is), so that a backlog (a
    /// stalled stream subscriber, a full JSONL queue) or one entry held long does not keep chunks for ever.
    keep: usize,
}

impl Chunks {
    /// Chunks for a ring of `entries`: one kept for every 16 entries, and 8 more (a client's entry is about 1 KB,
    /// so the ring spans one chunk for every 60 or so: the ring and a backlog as large again fit).
    pub fn for_ring(entries: usize) -> Chunks {
        Chunks { current: None, filled: VecDeque::new(), keep: entries / 16 + 8 }
    }

    /// Lets every filled chunk go (the ring was emptied: they are freed as their entries are).
    pub fn release(&mut self) {
        self.filled = VecDeque::new();
    }

    /// Filled chunks kept now.
    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.filled.len()
    }

    /// A chunk with room for `bytes` more: the current one, else the oldest filled one if nothing holds any of its
    /// entries any more (entries leave the ring in the order they came), else a new one.
    pub fn with_room(&mut self, bytes: usize) -> &mut BytesMut {
        if self.current.as_ref().is_none_or(|current| current.capacity() - current.len() < bytes) {
            let free = self.filled.front_mut().is_some_and(|oldest| oldest.try_reclaim(CHUNK_BYTES));
            let reused = if free { self.filled.pop_front() } else { None };
            let next = reused.unwrap_or_else(|| BytesMut::with_capacity(CHUNK_BYTES));
            // Empty (its entries were split off it): kept for the allocation its entries still share.
            if let Some(filled) = self.current.replace(next) {
                self.filled.push_back(filled);
            }
            if self.filled.len() > self.keep {
                self.filled.pop_front();
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
        let mut chunks = Chunks::for_ring(100);
        let first = chunks.with_room(10);
        first.extend_from_slice(&[1; CHUNK_BYTES - 5]);
        let entry = first.split().freeze();
        let first_start = entry.as_ptr();
        // No room for 10 more: a second chunk, while an entry still holds the first.
        chunks.with_room(10).extend_from_slice(&[2; CHUNK_BYTES - 5]);
        let second = chunks.with_room(0).split().freeze();
        assert_ne!(second.as_ptr(), first_start);
        assert_ne!(chunks.with_room(10).as_ptr(), first_start, "the first chunk's entry is alive: not reused");
        let third = chunks.with_room(10);
        third.extend_from_slice(&[3; CHUNK_BYTES - 5]);
        let third = third.split().freeze();
        drop(entry);
        // The first chunk is free now: the next chunk is it, from its start.
        assert_eq!(chunks.with_room(10).as_ptr(), first_start);
        assert_eq!(chunks.with_room(10).capacity(), CHUNK_BYTES);
        assert_eq!((second[0], third[0]), (2, 3), "entries in other chunks are untouched");
    }

    #[test]
    fn a_chunk_held_long_is_let_go_past_the_ring_s_share_and_reuse_goes_on() {
        let mut chunks = Chunks::for_ring(16);
        // Each entry takes all but a little of a chunk: the next needs a chunk of its own.
        let fill = |chunks: &mut Chunks| {
            let chunk = chunks.with_room(CHUNK_BYTES - 64);
            chunk.extend_from_slice(&[7; CHUNK_BYTES - 64]);
            chunk.split().freeze()
        };
        // Each entry fills a chunk; an entry starts where its chunk does.
        let held = fill(&mut chunks);
        let mut starts = std::collections::HashSet::from([held.as_ptr()]);
        // Entries that leave at once: every chunk after the held one is free, but the held one is the oldest.
        for _ in 0..20 {
            starts.insert(fill(&mut chunks).as_ptr());
        }
        assert!(chunks.filled.len() <= chunks.keep, "{} kept, at most {}", chunks.filled.len(), chunks.keep);
        // The held chunk was let go, so the oldest is free again: the next entries use chunks already made.
        let made = starts.len();
        for _ in 0..5 {
            starts.insert(fill(&mut chunks).as_ptr());
        }
        assert_eq!(starts.len(), made, "no new chunk once the held one was let go");
        assert!(made < 21, "chunks were used again during the first entries too ({made} made)");
        assert_eq!(held[0], 7, "the held entry's bytes are untouched");
        chunks.release();
        assert!(chunks.filled.is_empty());
    }
}
