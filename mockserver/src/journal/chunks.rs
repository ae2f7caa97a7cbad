//! Where the journal writes its entries' bytes: slices of large chunks, so that recording allocates once a chunk
//! rather than once an entry, and, once the ring is full, not at all.

use std::collections::VecDeque;

use bytes::BytesMut;

/// Bytes of one chunk: some sixty entries of a client's size.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Filled chunks kept for use again at most (64 MiB; the default ring of 50 000 entries spans about 800). A chunk is
/// used again once every entry in it has left the ring and its readers; one held longer is let go past this many.
const KEPT_CHUNKS: usize = 1024;

/// The chunk being written, and the chunks filled before it, oldest first.
#[derive(Debug, Default)]
pub struct Chunks {
    current: BytesMut,
    filled: VecDeque<BytesMut>,
}

impl Chunks {
    /// A chunk with room for `bytes` more: the current one, else the oldest filled one if nothing holds any of its
    /// entries any more (entries leave the ring in the order they came), else a new one.
    pub fn with_room(&mut self, bytes: usize) -> &mut BytesMut {
        if self.current.capacity() - self.current.len() < bytes {
            let free = self.filled.front_mut().is_some_and(|oldest| oldest.try_reclaim(CHUNK_BYTES));
            let reused = if free { self.filled.pop_front() } else { None };
            let filled =
                std::mem::replace(&mut self.current, reused.unwrap_or_else(|| BytesMut::with_capacity(CHUNK_BYTES)));
            // Empty (its entries were split off it): kept for the allocation its entries still share.
            if filled.capacity() > 0 {
                self.filled.push_back(filled);
            }
            if self.filled.len() > KEPT_CHUNKS {
                self.filled.pop_front();
            }
        }
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_used_again_once_nothing_holds_its_entries() {
        let mut chunks = Chunks::default();
        let first = chunks.with_room(10);
        first.extend_from_slice(&[1; CHUNK_BYTES - 5]);
        let entry = first.split().freeze();
        let first_start = entry.as_ptr();
        // No room for 10 more: a second chunk, while an entry still holds the first.
        chunks.with_room(10).extend_from_slice(&[2; CHUNK_BYTES - 5]);
        let second = chunks.current.split().freeze();
        assert_ne!(second.as_ptr(), first_start);
        assert_ne!(chunks.with_room(10).as_ptr(), first_start, "the first chunk's entry is alive: not reused");
        chunks.current.extend_from_slice(&[3; CHUNK_BYTES - 5]);
        let third = chunks.current.split().freeze();
        drop(entry);
        // The first chunk is free now: the next chunk is it, from its start.
        assert_eq!(chunks.with_room(10).as_ptr(), first_start);
        assert_eq!(chunks.current.capacity(), CHUNK_BYTES);
        assert_eq!((second[0], third[0]), (2, 3), "entries in other chunks are untouched");
    }
}
