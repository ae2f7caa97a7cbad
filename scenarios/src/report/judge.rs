//! Thresholds judged against the report: the numbers each metric names, and the verdict.

use crate::recorder::InterfaceLatency;
use crate::thresholds::{LatencyStat, Measurements, Metric, Threshold};

use super::LoadReport;

impl LoadReport {
    pub fn judge(&mut self, thresholds: &[Threshold]) {
        self.thresholds = thresholds.iter().map(|t| t.evaluate(self)).collect();
    }

    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }
}

impl Measurements for LoadReport {
    fn measure(&self, metric: Metric) -> Option<f64> {
        let burst = self.burst.as_ref();
        match metric {
            Metric::Latency { stat, interface } => {
                let pick = |l: &InterfaceLatency| match stat {
                    LatencyStat::P50 => l.all.p50_ms,
                    LatencyStat::P90 => l.all.p90_ms,
                    LatencyStat::P99 => l.all.p99_ms,
                    LatencyStat::P999 => l.all.p999_ms,
                    LatencyStat::Max => l.all.max_ms,
                    LatencyStat::CorrectedP99 => l.corrected.p99_ms,
                };
                match interface {
                    Some(interface) => self.latency.get(interface.name()).map(pick),
                    None => self.latency.values().map(pick).reduce(f64::max),
                }
            }
            Metric::Errors => Some(self.summary.unexpected_errors as f64),
            Metric::ErrorRate => Some(self.summary.error_rate * 100.0),
            Metric::Rate => Some(self.summary.achieved_rate),
            Metric::Requests => Some(self.summary.requests as f64),
            Metric::Lost => burst.map(|b| b.totals.lost_3005 as f64),
            Metric::Drain => burst.map(|b| b.totals.drain_ms as f64 / 1000.0),
            Metric::OldestAge => burst.map(|b| b.ages.max_ms / 1000.0),
            Metric::P99VsBaseline => self.baseline.as_ref().and_then(|b| b.worst_p99_change_percent),
        }
    }
}
