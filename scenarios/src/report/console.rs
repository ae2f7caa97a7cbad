//! The few lines `nppa load` prints at the end of a run.

use std::fmt::Write as _;

use super::prose::probe_sentence;
use super::LoadReport;

impl LoadReport {
    /// The few lines printed at the end of a run.
    pub fn console_summary(&self) -> String {
        let s = &self.summary;
        let clock = if self.simulated { " of simulated time" } else { "" };
        let mut out = format!(
            "{} requests in {:.1} s of wall time ({:.1} req/s{clock}), unexpected answers: {}; stopped: {}\n",
            s.requests, s.wall_seconds, s.achieved_rate, s.unexpected_errors, s.stop_reason
        );
        if let Some(reason) = &s.first_transport_failure {
            let failed = s.by_errcode.get("transport").copied().unwrap_or_default();
            let _ = writeln!(out, "  {failed} requests got no answer; the first: {reason}");
        }
        for (interface, l) in &self.latency {
            let _ = writeln!(
                out,
                "  {interface:<9} p50 {:>8.3} ms  p99 {:>8.3} ms  p99.9 {:>8.3} ms  max {:>8.3} ms  (corrected p99 {:.3} ms)",
                l.all.p50_ms, l.all.p99_ms, l.all.p999_ms, l.all.max_ms, l.corrected.p99_ms
            );
        }
        if let Some(b) = &self.burst {
            let t = &b.totals;
            let _ = writeln!(
                out,
                "  burst: {} records, {} accepted, {} lost to 3005, {} given up; drained in {:.1} s; oldest record sent at {:.1} s of age",
                t.records,
                t.accepted,
                t.lost_3005,
                t.given_up,
                t.drain_ms as f64 / 1000.0,
                b.ages.max_ms / 1000.0
            );
        }
        if let Some(p) = &self.probe {
            let _ = writeln!(out, "  probe: {}", probe_sentence(p));
        }
        for t in &self.thresholds {
            let _ = writeln!(
                out,
                "  threshold {:<24} {}  (measured {})",
                t.rule,
                if t.passed { "PASS" } else { "FAIL" },
                t.actual.map_or("n/a".into(), |a| format!("{a:.3}"))
            );
        }
        out
    }
}
