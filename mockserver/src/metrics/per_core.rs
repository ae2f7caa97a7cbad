//! The two metrics every request writes (its count and its latency) kept per core and summed when scraped.
//!
//! prometheus-client's `Counter` is one atomic and its `Histogram` one lock: with two cores serving, every request
//! moved that cache line from one core to the other (~120 ns a request, `benches/two_cores.py`). Here each thread
//! adds to a line of its own ([`crate::per_core`]); a scrape reads them all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

use crate::per_core::{line, per_core, PerCore};

/// A counter (Prometheus `counter`, encoded as prometheus-client's `Counter` is).
#[derive(Debug, Clone, Default)]
pub struct PerCoreCounter {
    lines: Arc<PerCore<AtomicU64>>,
}

impl PerCoreCounter {
    pub fn inc(&self) {
        self.lines[line()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.lines.iter().map(|line| line.load(Ordering::Relaxed)).sum()
    }
}

impl TypedMetric for PerCoreCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for PerCoreCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// A histogram over `BOUNDS` upper bounds and +Inf (Prometheus `histogram`, encoded as prometheus-client's is).
#[derive(Debug, Clone)]
pub struct PerCoreHistogram<const BOUNDS: usize> {
    bounds: [f64; BOUNDS],
    lines: Arc<PerCore<Mutex<Tally<BOUNDS>>>>,
}

/// One line's observations. Behind a lock that only its own thread takes between scrapes: uncontended, and the
/// sum and count a scrape reads always agree.
#[derive(Debug, Clone, Copy)]
struct Tally<const BOUNDS: usize> {
    sum: f64,
    count: u64,
    /// Observations per bucket (not cumulative), the last one +Inf.
    buckets: [u64; BOUNDS],
    over: u64,
}

impl<const BOUNDS: usize> Default for Tally<BOUNDS> {
    fn default() -> Self {
        Tally { sum: 0.0, count: 0, buckets: [0; BOUNDS], over: 0 }
    }
}

impl<const BOUNDS: usize> PerCoreHistogram<BOUNDS> {
    /// `bounds` in increasing order.
    pub fn new(bounds: [f64; BOUNDS]) -> Self {
        PerCoreHistogram { bounds, lines: Arc::new(per_core()) }
    }

    pub fn observe(&self, value: f64) {
        let bucket = self.bounds.iter().position(|bound| value <= *bound);
        let mut tally = self.lines[line()].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tally.sum += value;
        tally.count += 1;
        match bucket {
            Some(bucket) => tally.buckets[bucket] += 1,
            None => tally.over += 1,
        }
    }

    /// Every line's observations together.
    fn total(&self) -> Tally<BOUNDS> {
        let mut total = Tally::default();
        for line in self.lines.iter() {
            let tally = *line.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            total.sum += tally.sum;
            total.count += tally.count;
            total.over += tally.over;
            total.buckets.iter_mut().zip(tally.buckets).for_each(|(sum, count)| *sum += count);
        }
        total
    }
}

impl<const BOUNDS: usize> TypedMetric for PerCoreHistogram<BOUNDS> {
    const TYPE: MetricType = MetricType::Histogram;
}

impl<const BOUNDS: usize> EncodeMetric for PerCoreHistogram<BOUNDS> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let total = self.total();
        // prometheus-client writes `f64::MAX` as `le="+Inf"`.
        let buckets: Vec<(f64, u64)> =
            self.bounds.iter().copied().zip(total.buckets).chain([(f64::MAX, total.over)]).collect();
        encoder.encode_histogram::<NoLabelSet>(total.sum, total.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::per_core::LINES;
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    /// Bounds and values that are sums of powers of two: their sums are exact in whatever order threads add them,
    /// so that the text can be compared whole.
    const BOUNDS: [f64; 3] = [0.0009765625, 0.0078125, 0.125];

    fn text(register: impl FnOnce(&mut Registry)) -> String {
        let mut registry = Registry::default();
        register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).expect("encode");
        out
    }

    #[test]
    fn scrapes_as_prometheus_client_s_own_types_with_every_thread_counted() {
        // Below, on and between the bounds, and above the last.
        let values = [0.00048828125, 0.0009765625, 0.001953125, 0.0625, 0.5, 8.0, 0.0078125];
        let (counter, histogram) = (PerCoreCounter::default(), PerCoreHistogram::new(BOUNDS));
        // From more threads than there are lines, so that some share one.
        std::thread::scope(|scope| {
            for _ in 0..LINES + 3 {
                scope.spawn(|| {
                    for value in values {
                        counter.inc();
                        histogram.observe(value);
                    }
                });
            }
        });
        let (reference_counter, reference_histogram) = (Counter::<u64>::default(), Histogram::new(BOUNDS));
        for _ in 0..LINES + 3 {
            for value in values {
                reference_counter.inc();
                reference_histogram.observe(value);
            }
        }
        let ours = text(|registry| {
            registry.register("requests", "help", counter.clone());
            registry.register("latency", "help", histogram.clone());
        });
        let reference = text(|registry| {
            registry.register("requests", "help", reference_counter);
            registry.register("latency", "help", reference_histogram);
        });
        assert_eq!(ours, reference);
        assert!(ours.contains("requests_total 77"), "{ours}");
        assert!(ours.contains("latency_bucket{le=\"+Inf\"} 77"), "{ours}");
    }
}
