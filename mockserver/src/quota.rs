//! Rate limits per (appId, bizId, interface) (R-RL-1) and the block after a 1006 (R-RL-2), on the mock clock.
//!
//! Each cell counts requests in the current one-second window of the mock clock (a fixed window, our
//! reading of "QPS") in one packed atomic, and holds the end of its block: lock-free on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};

use nppa_protocol::quota::{self, QuotaBlock};

#[derive(Debug, Default)]
struct Cell {
    /// High 32 bits: window second (Unix s); low 32 bits: requests counted in it.
    window: AtomicU64,
    /// Requests are refused until this mock time (ms).
    blocked_until_ms: AtomicU64,
}

/// One cell per binding and interface.
#[derive(Debug)]
pub struct QuotaTable {
    cells: Box<[Cell]>,
    block: QuotaBlock,
    blocks_started: AtomicU64,
}

/// What [`QuotaTable::peek`] reads of a cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CellState {
    /// Requests counted in the current one-second window (the one over the limit included).
    pub count: u32,
    /// The end of the block running now, if one is.
    pub blocked_until_ms: Option<u64>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This request went over the limit and started a block.
    OverLimit { blocked_until_ms: u64 },
    /// The cell is blocked from an earlier 1006.
    Blocked { blocked_until_ms: u64 },
}

impl QuotaTable {
    /// A table for `bindings` bindings × 3 interfaces.
    pub fn new(bindings: usize, block: QuotaBlock) -> QuotaTable {
        QuotaTable {
            cells: (0..bindings * 3).map(|_| Cell::default()).collect(),
            block,
            blocks_started: AtomicU64::new(0),
        }
    }

    /// Counts one request against `limit` per second; `Err` means answer 1006.
    pub fn admit(&self, binding: usize, interface: usize, limit: u32, now_ms: u64) -> Result<(), Refusal> {
        let Some(cell) = self.cells.get(binding * 3 + interface) else {
            return Ok(());
        };
        let blocked_until_ms = cell.blocked_until_ms.load(Ordering::Acquire);
        if now_ms < blocked_until_ms {
            return Err(Refusal::Blocked { blocked_until_ms });
        }
        let second = (now_ms / quota::WINDOW_MS) & 0xFFFF_FFFF;
        let previous = cell
            .window
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |packed| {
                let (window, count) = (packed >> 32, packed & 0xFFFF_FFFF);
                Some(if window == second { (window << 32) | (count + 1).min(0xFFFF_FFFF) } else { (second << 32) | 1 })
            })
            .unwrap_or(0);
        let count = if previous >> 32 == second { (previous & 0xFFFF_FFFF) + 1 } else { 1 };
        if count <= u64::from(limit) {
            return Ok(());
        }
        let until = self.block.until_ms(now_ms);
        cell.blocked_until_ms.fetch_max(until, Ordering::AcqRel);
        self.blocks_started.fetch_add(1, Ordering::Relaxed);
        Err(Refusal::OverLimit { blocked_until_ms: until })
    }

    /// A cell as it stands at `now_ms`, read without counting: the requests in the current window and the end of a
    /// block still running (`GET /__admin/quotas`).
    pub fn peek(&self, binding: usize, interface: usize, now_ms: u64) -> CellState {
        let Some(cell) = self.cells.get(binding * 3 + interface) else { return CellState::default() };
        let packed = cell.window.load(Ordering::Acquire);
        let second = (now_ms / quota::WINDOW_MS) & 0xFFFF_FFFF;
        let count = if packed >> 32 == second { (packed & 0xFFFF_FFFF) as u32 } else { 0 };
        let blocked_until_ms = Some(cell.blocked_until_ms.load(Ordering::Acquire)).filter(|until| now_ms < *until);
        CellState { count, blocked_until_ms }
    }

    /// How many 1006 blocks have started.
    pub fn blocks_started(&self) -> u64 {
        self.blocks_started.load(Ordering::Relaxed)
    }

    /// Forgets every count and block.
    pub fn clear(&self) {
        for cell in self.cells.iter() {
            cell.window.store(0, Ordering::Release);
            cell.blocked_until_ms.store(0, Ordering::Release);
        }
        self.blocks_started.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_over_the_limit_blocks_for_sixty_seconds() {
        let table = QuotaTable::new(1, QuotaBlock::SixtySeconds);
        let t = 1_000_000;
        for _ in 0..50 {
            assert_eq!(table.admit(0, 2, 50, t), Ok(()));
        }
        assert_eq!(table.peek(0, 2, t), CellState { count: 50, blocked_until_ms: None });
        assert_eq!(table.admit(0, 2, 50, t + 1), Err(Refusal::OverLimit { blocked_until_ms: t + 1 + quota::BLOCK_MS }));
        let until = Some(t + 1 + quota::BLOCK_MS);
        assert_eq!(table.peek(0, 2, t + 2), CellState { count: 51, blocked_until_ms: until });
        assert_eq!(table.peek(0, 2, t + 1_000), CellState { count: 0, blocked_until_ms: until }, "the next second");
        // Other interfaces of the same binding are not affected.
        assert_eq!(table.admit(0, 0, 50, t + 2), Ok(()));
        assert!(matches!(table.admit(0, 2, 50, t + quota::BLOCK_MS), Err(Refusal::Blocked { .. })));
        assert_eq!(table.admit(0, 2, 50, t + quota::BLOCK_MS + 1), Ok(()));
    }

    #[test]
    fn next_minute_mode_ends_at_the_minute() {
        let table = QuotaTable::new(1, QuotaBlock::NextMinute);
        assert_eq!(table.admit(0, 0, 0, 61_500), Err(Refusal::OverLimit { blocked_until_ms: 120_000 }));
    }
}
