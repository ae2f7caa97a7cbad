//! Open-model arrivals: the n-th request has an intended send time fixed in advance, whatever the answers do.
//! A sender that starts late (every sender was busy) still measures from the intended time, so a slow server
//! shows up in the corrected latency instead of silently lowering the rate (coordinated omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the arrival rate evolves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// This many requests per second, evenly spaced.
    Constant(f64),
    /// `start` requests per second in the first second, `step` more each following second (quota probe).
    Ramp { start: f64, step: f64 },
    /// As fast as the senders go (closed model; nothing to correct).
    Unpaced,
}

/// Arrivals keep this far from the edges of each second, so that timer jitter (1 ms) and latency do not carry a
/// request into the next one-second quota window (R-RL-1): at exactly the quota, one such request is a 1006.
const EDGE: f64 = 0.030;

#[derive(Debug)]
pub struct Schedule {
    shape: Shape,
    duration: Duration,
    next: AtomicU64,
}

impl Schedule {
    pub fn new(shape: Shape, duration: Duration) -> Schedule {
        Schedule { shape, duration, next: AtomicU64::new(0) }
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Claim the next arrival: its index and its offset from the start, or `None` once past the duration.
    /// Unpaced arrivals have no offset of their own (`Some((n, None))`).
    pub fn claim(&self, elapsed: Duration) -> Option<(u64, Option<Duration>)> {
        if self.shape == Shape::Unpaced {
            return (elapsed < self.duration).then(|| (self.next.fetch_add(1, Ordering::Relaxed), None));
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let at = self.offset(n)?;
        (at < self.duration).then_some((n, Some(at)))
    }

    /// Intended offset of arrival `n`.
    pub fn offset(&self, n: u64) -> Option<Duration> {
        match self.shape {
            // Whole rates fill each second's window between its edges; others are simply evenly spaced.
            Shape::Constant(rate) if rate >= 1.0 && rate.fract() == 0.0 => {
                let per_s = rate as u64;
                Some(within_second(n / per_s, n % per_s, per_s))
            }
            Shape::Constant(rate) if rate > 0.0 => Some(Duration::from_secs_f64(n as f64 / rate)),
            Shape::Ramp { start, .. } => {
                let mut before = 0u64;
                for second in 0..86_400u64 {
                    let count = self.rate_in_second(second).unwrap_or(start) as u64;
                    let count = count.max(1);
                    if n < before + count {
                        return Some(within_second(second, n - before, count));
                    }
                    before += count;
                }
                None
            }
            _ => None,
        }
    }

    /// Requests per second the schedule asks for in second `second` (whole requests).
    pub fn rate_in_second(&self, second: u64) -> Option<f64> {
        match self.shape {
            Shape::Constant(rate) => Some(rate),
            Shape::Ramp { start, step } => Some((start + step * second as f64).floor().max(1.0)),
            Shape::Unpaced => None,
        }
    }
}

/// The `j`-th of `count` arrivals of second `second`, spread between the second's edges.
fn within_second(second: u64, j: u64, count: u64) -> Duration {
    let usable = 1.0 - 2.0 * EDGE;
    Duration::from_secs_f64(second as f64 + EDGE + j as f64 * usable / count.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_arrivals_are_evenly_spaced_and_stop_at_the_duration() {
        let s = Schedule::new(Shape::Constant(500.0), Duration::from_secs(2));
        let (n, at) = s.claim(Duration::ZERO).unwrap();
        assert_eq!((n, at), (0, Some(Duration::from_millis(30))));
        // 500 arrivals a second stay between 30 ms and 970 ms of their second.
        assert_eq!(s.offset(250), Some(Duration::from_millis(500)));
        assert_eq!(s.offset(500), Some(Duration::from_millis(1030)));
        assert!(s.offset(499).unwrap() < Duration::from_millis(970));
        let odd = Schedule::new(Shape::Constant(2.5), Duration::from_secs(2));
        assert_eq!(odd.offset(1), Some(Duration::from_millis(400)));
        let claimed = std::iter::from_fn(|| s.claim(Duration::ZERO)).count();
        assert_eq!(claimed + 1, 1000);
    }

    #[test]
    fn a_ramp_adds_step_requests_each_second() {
        let s = Schedule::new(Shape::Ramp { start: 10.0, step: 5.0 }, Duration::from_secs(60));
        // Second 0: 10 arrivals, second 1: 15, second 2: 20.
        assert_eq!(s.offset(9).unwrap().as_secs(), 0);
        assert_eq!(s.offset(10), Some(Duration::from_millis(1030)));
        assert_eq!(s.offset(25), Some(Duration::from_millis(2030)));
        assert_eq!(s.rate_in_second(2), Some(20.0));
    }

    #[test]
    fn unpaced_runs_until_the_duration() {
        let s = Schedule::new(Shape::Unpaced, Duration::from_secs(1));
        assert_eq!(s.claim(Duration::from_millis(10)), Some((0, None)));
        assert_eq!(s.claim(Duration::from_secs(2)), None);
    }
}
