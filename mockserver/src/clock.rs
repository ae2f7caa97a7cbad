//! The one clock every time rule reads. Real time by default; the admin API can move it forward, set it,
//! or freeze it. It keeps ticking from wherever it was set unless frozen. Beijing time and the outage are
//! protocol facts: `nppa_protocol::beijing`.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Real time in Unix milliseconds.
pub fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The mock clock.
#[derive(Debug, Default)]
pub struct Clock {
    /// Added to real time when running.
    offset_ms: AtomicI64,
    /// The time shown while frozen.
    frozen_ms: AtomicI64,
    frozen: AtomicBool,
}

impl Clock {
    /// A clock at real time.
    pub fn real() -> Clock {
        Clock::default()
    }

    /// A clock that starts at `start_ms` and ticks from there.
    pub fn starting_at(start_ms: u64) -> Clock {
        let clock = Clock::default();
        clock.set_ms(start_ms);
        clock
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        if self.frozen.load(Ordering::Acquire) {
            return self.frozen_ms.load(Ordering::Acquire).max(0) as u64;
        }
        (wall_ms() as i64).saturating_add(self.offset_ms.load(Ordering::Acquire)).max(0) as u64
    }

    /// Moves the clock forward (or back, with a negative value).
    pub fn advance_ms(&self, delta_ms: i64) {
        self.offset_ms.fetch_add(delta_ms, Ordering::AcqRel);
        self.frozen_ms.fetch_add(delta_ms, Ordering::AcqRel);
    }

    /// Sets the clock to `t_ms`; it keeps ticking from there unless frozen.
    pub fn set_ms(&self, t_ms: u64) {
        let t = t_ms.min(i64::MAX as u64) as i64;
        self.offset_ms.store(t - wall_ms() as i64, Ordering::Release);
        self.frozen_ms.store(t, Ordering::Release);
    }

    /// Stops (true) or restarts (false) the clock at its current reading.
    pub fn freeze(&self, frozen: bool) {
        let now = self.now_ms();
        self.set_ms(now);
        self.frozen.store(frozen, Ordering::Release);
    }

    /// True while frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::Acquire)
    }

    /// Milliseconds between the mock clock and real time.
    pub fn offset_from_wall_ms(&self) -> i64 {
        self.now_ms() as i64 - wall_ms() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-01-15T00:00:00+08:00 = 2026-01-14T16:00:00Z
    const MIDNIGHT_BEIJING: u64 = 1_768_406_400_000;

    #[test]
    fn set_advance_and_freeze() {
        let clock = Clock::starting_at(MIDNIGHT_BEIJING);
        clock.freeze(true);
        let t = clock.now_ms();
        assert!((MIDNIGHT_BEIJING..MIDNIGHT_BEIJING + 60_000).contains(&t));
        clock.advance_ms(300_000);
        assert_eq!(clock.now_ms(), t + 300_000);
        clock.set_ms(5);
        assert_eq!(clock.now_ms(), 5);
        clock.freeze(false);
        assert!(clock.now_ms() >= 5 && clock.now_ms() < 60_000);
    }
}
