//! The one clock every time rule reads. Real time by default; the admin API can move it forward, set it,
//! or freeze it. It keeps ticking from wherever it was set unless frozen.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds in a day, an hour.
pub const DAY_MS: u64 = 86_400_000;
pub const HOUR_MS: u64 = 3_600_000;
/// Beijing time is UTC+8 (R-PEND-2).
const BEIJING_OFFSET_MS: u64 = 8 * HOUR_MS;

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

/// R-PEND-2: true during the daily 00:00–04:00 Beijing-time outage.
pub fn in_mps_outage(t_ms: u64) -> bool {
    (t_ms + BEIJING_OFFSET_MS) % DAY_MS < 4 * HOUR_MS
}

/// R-PEND-2: 04:00 Beijing time of the Beijing day containing `t_ms`.
pub fn outage_end_ms(t_ms: u64) -> u64 {
    let beijing = t_ms + BEIJING_OFFSET_MS;
    (beijing - beijing % DAY_MS + 4 * HOUR_MS).saturating_sub(BEIJING_OFFSET_MS)
}

/// The Beijing calendar date of `t_ms` (R-ID: a birth date may not be in the future).
pub fn beijing_date(t_ms: u64) -> chrono::NaiveDate {
    let secs = ((t_ms + BEIJING_OFFSET_MS) / 1000) as i64;
    chrono::DateTime::from_timestamp(secs, 0).map(|d| d.date_naive()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-01-15T00:00:00+08:00 = 2026-01-14T16:00:00Z
    const MIDNIGHT_BEIJING: u64 = 1_768_406_400_000;

    #[test]
    fn outage_is_midnight_to_four_beijing_time() {
        assert!(in_mps_outage(MIDNIGHT_BEIJING));
        assert!(in_mps_outage(MIDNIGHT_BEIJING + 4 * HOUR_MS - 1));
        assert!(!in_mps_outage(MIDNIGHT_BEIJING + 4 * HOUR_MS));
        assert!(!in_mps_outage(MIDNIGHT_BEIJING - 1));
        assert_eq!(outage_end_ms(MIDNIGHT_BEIJING + 3 * HOUR_MS), MIDNIGHT_BEIJING + 4 * HOUR_MS);
        assert_eq!(beijing_date(MIDNIGHT_BEIJING).to_string(), "2026-01-15");
        assert_eq!(beijing_date(MIDNIGHT_BEIJING - 1).to_string(), "2026-01-14");
    }

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
