//! State that every request writes, kept once per core: a value each thread writes alone stays in its core's cache,
//! where one shared by all moves between cores on every write (measured by `benches/two_cores.py`).

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Lines per value. Threads beyond this many share lines (still right, only slower); the mock runs one worker per
/// core.
pub const LINES: usize = 8;

/// One value per line.
pub type PerCore<T> = [CachePadded<T>; LINES];

/// A fresh [`PerCore`].
pub fn per_core<T: Default>() -> PerCore<T> {
    std::array::from_fn(|_| CachePadded::default())
}

/// This thread's line: given out in turn on a thread's first use, so that a runtime's workers each have their own.
pub fn line() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static LINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % LINES;
    }
    LINE.with(|line| *line)
}
