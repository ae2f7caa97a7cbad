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
            Shape::Constant(rate) if rate > 0.0 => Some(Duration::from_secs_f64(n as f64 / rate)),
            Shape::Ramp { start, step } => {
                let mut before = 0u64;
                for second in 0..86_400u64 {
                    let count = self.rate_in_second(second).unwrap_or(start) as u64;
                    let count = count.max(1);
                    if n < before + count {
                        let within = (n - before) as f64 / count as f64;
                        return Some(Duration::from_secs_f64(second as f64 + within));
                    }
                    before += count;
                    if step <= 0.0 && before > n {
                        break;
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_arrivals_are_evenly_spaced_and_stop_at_the_duration() {
        let s = Schedule::new(Shape::Constant(500.0), Duration::from_secs(2));
        let (n, at) = s.claim(Duration::ZERO).unwrap();
        assert_eq!((n, at), (0, Some(Duration::ZERO)));
        assert_eq!(s.offset(250), Some(Duration::from_millis(500)));
        let claimed = std::iter::from_fn(|| s.claim(Duration::ZERO)).count();
        assert_eq!(claimed + 1, 1000);
    }

    #[test]
    fn a_ramp_adds_step_requests_each_second() {
        let s = Schedule::new(Shape::Ramp { start: 10.0, step: 5.0 }, Duration::from_secs(60));
        // Second 0: 10 arrivals, second 1: 15, second 2: 20.
        assert_eq!(s.offset(9).unwrap().as_secs(), 0);
        assert_eq!(s.offset(10), Some(Duration::from_secs(1)));
        assert_eq!(s.offset(25), Some(Duration::from_secs(2)));
        assert_eq!(s.rate_in_second(2), Some(20.0));
    }

    #[test]
    fn unpaced_runs_until_the_duration() {
        let s = Schedule::new(Shape::Unpaced, Duration::from_secs(1));
        assert_eq!(s.claim(Duration::from_millis(10)), Some((0, None)));
        assert_eq!(s.claim(Duration::from_secs(2)), None);
    }
}
