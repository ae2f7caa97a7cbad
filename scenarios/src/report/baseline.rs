//! The comparison with an earlier run's report.json (`--baseline`): p50/p99 per interface, rate and errors.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::LoadReport;

/// Per interface: the baseline's and this run's p50/p99, and the change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineRow {
    pub interface: String,
    pub baseline_p50_ms: f64,
    pub p50_ms: f64,
    pub baseline_p99_ms: f64,
    pub p99_ms: f64,
    pub p99_change_percent: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineComparison {
    pub file: String,
    pub baseline_run: String,
    pub rows: Vec<BaselineRow>,
    pub baseline_rate: f64,
    pub rate: f64,
    pub baseline_errors: u64,
    pub errors: u64,
    /// The largest p99 increase among interfaces both runs have, in percent.
    pub worst_p99_change_percent: Option<f64>,
}

impl LoadReport {
    /// Compare with an earlier report.json.
    pub fn compare_with(&mut self, file: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read the baseline {}: {e}", file.display()))?;
        let baseline: LoadReport = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not an `nppa load` report.json: {e}", file.display()))?;
        let mut rows = Vec::new();
        for (interface, now) in &self.latency {
            let Some(before) = baseline.latency.get(interface) else { continue };
            let change = if before.all.p99_ms > 0.0 {
                (now.all.p99_ms - before.all.p99_ms) / before.all.p99_ms * 100.0
            } else {
                0.0
            };
            rows.push(BaselineRow {
                interface: interface.clone(),
                baseline_p50_ms: before.all.p50_ms,
                p50_ms: now.all.p50_ms,
                baseline_p99_ms: before.all.p99_ms,
                p99_ms: now.all.p99_ms,
                p99_change_percent: change,
            });
        }
        let worst = rows.iter().map(|r| r.p99_change_percent).reduce(f64::max);
        self.baseline = Some(BaselineComparison {
            file: file.display().to_string(),
            baseline_run: baseline.run_id,
            rows,
            baseline_rate: baseline.summary.achieved_rate,
            rate: self.summary.achieved_rate,
            baseline_errors: baseline.summary.unexpected_errors,
            errors: self.summary.unexpected_errors,
            worst_p99_change_percent: worst,
        });
        Ok(())
    }
}
