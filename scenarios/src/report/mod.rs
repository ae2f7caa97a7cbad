//! The run's report: one model (`LoadReport`), written as JSON (`report.json`, the contract `--baseline` reads),
//! Markdown (`report.md`) and a self-contained HTML page with plots (`report.html`).
//!
//! - this module: the model, built from a run, and [`LoadReport::write_all`]
//! - `baseline`: the comparison with an earlier report.json
//! - `judge`: thresholds checked against the model
//! - `console`, `markdown`, `html` (with `charts`): one writer per format; `prose`: the sentences they share

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::{unexpected, BurstResult, RunResult, ScenarioKind, StopReason};
use crate::recorder::{CoordinatedOmission, InterfaceLatency, Outcome, SecondPoint};
use crate::sizing::SizingResult;
use crate::thresholds::ThresholdResult;
use crate::workloads::{ProbeFinding, RealnameStats, ReportStats};

mod baseline;
mod charts;
mod console;
mod html;
mod judge;
mod markdown;
mod prose;

pub use baseline::{BaselineComparison, BaselineRow};

/// `schema` of report.json; bumped when a field changes meaning.
pub const SCHEMA: &str = "nppa-load-report/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub requests: u64,
    pub by_errcode: BTreeMap<String, u64>,
    /// Answers the scenario did not ask for (see `engine::unexpected`).
    pub unexpected_errors: u64,
    pub error_rate: f64,
    /// Requests per second over the seconds that carried traffic.
    pub achieved_rate: f64,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    /// Requests per CPU second of this process: the driver's cost when the mock runs elsewhere (`--target`).
    pub requests_per_cpu_second: f64,
    pub stop_reason: StopReason,
    /// Why the first request that got no answer (`transport` in `by_errcode`) got none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_transport_failure: Option<String>,
}

impl Summary {
    /// Requests that got an answer of any kind (every one but those counted as `transport`).
    pub fn answered(&self) -> u64 {
        self.requests.saturating_sub(self.by_errcode.get("transport").copied().unwrap_or_default())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub schema: String,
    pub run_id: String,
    pub scenario: String,
    pub started_at: String,
    pub target: String,
    pub simulated: bool,
    /// The options the run was started with.
    pub options: serde_json::Value,
    pub summary: Summary,
    /// Per interface: service time (all answers and per errcode), corrected time, and the HDR histogram.
    pub latency: BTreeMap<String, InterfaceLatency>,
    pub coordinated_omission: CoordinatedOmission,
    pub timeline: Vec<SecondPoint>,
    #[serde(default)]
    pub burst: Option<BurstResult>,
    /// The sizing model's prediction for the same burst (logout-burst and `nppa size`).
    #[serde(default)]
    pub model: Option<SizingResult>,
    #[serde(default)]
    pub probe: Option<ProbeFinding>,
    #[serde(default)]
    pub realname: Option<RealnameStats>,
    #[serde(default)]
    pub report: Option<ReportStats>,
    #[serde(default)]
    pub thresholds: Vec<ThresholdResult>,
    #[serde(default)]
    pub baseline: Option<BaselineComparison>,
    /// The first seconds the latency chart leaves out (`--warm-up`): connections being opened and caches filling
    /// would set its scale and flatten the rest. The tables count every request.
    #[serde(default = "default_warm_up_s")]
    pub warm_up_s: u64,
}

/// The warm-up when none is given: the first second.
pub const DEFAULT_WARM_UP_S: u64 = 1;

fn default_warm_up_s() -> u64 {
    DEFAULT_WARM_UP_S
}

/// What `build` needs besides the run itself.
pub struct ReportContext {
    pub run_id: String,
    pub scenario: ScenarioKind,
    pub started_at: String,
    pub target: String,
    pub options: serde_json::Value,
    pub model: Option<SizingResult>,
    /// Whole seconds the latency chart leaves out at the start.
    pub warm_up_s: u64,
}

pub fn build(context: ReportContext, run: RunResult) -> LoadReport {
    let m = run.measured;
    let unexpected_errors: u64 =
        m.by_errcode.iter().filter(|(label, _)| is_unexpected(label, context.scenario)).map(|(_, n)| n).sum();
    let active = m.timeline.iter().filter(|p| p.requests > 0).map(|p| p.t).collect::<Vec<_>>();
    let active_seconds = match (active.first(), active.last()) {
        (Some(first), Some(last)) => (last - first + 1) as f64,
        _ => 1.0,
    };
    let requests = m.requests;
    LoadReport {
        schema: SCHEMA.into(),
        run_id: context.run_id,
        scenario: context.scenario.name().into(),
        started_at: context.started_at,
        target: context.target,
        simulated: run.burst.as_ref().is_some_and(|b| b.simulated),
        options: context.options,
        summary: Summary {
            requests,
            by_errcode: m.by_errcode,
            unexpected_errors,
            error_rate: if requests > 0 { unexpected_errors as f64 / requests as f64 } else { 0.0 },
            achieved_rate: requests as f64 / active_seconds,
            wall_seconds: run.wall_seconds,
            cpu_seconds: run.cpu_seconds,
            requests_per_cpu_second: if run.cpu_seconds > 0.0 { requests as f64 / run.cpu_seconds } else { 0.0 },
            stop_reason: run.stop_reason,
            first_transport_failure: m.first_transport_failure,
        },
        latency: m.interfaces,
        coordinated_omission: m.coordinated_omission,
        timeline: m.timeline,
        burst: run.burst,
        model: context.model,
        probe: run.probe,
        realname: run.realname,
        report: run.report,
        thresholds: Vec::new(),
        baseline: None,
        warm_up_s: context.warm_up_s,
    }
}

fn is_unexpected(label: &str, scenario: ScenarioKind) -> bool {
    let outcome = match label.parse::<u16>() {
        Ok(code) => Outcome::Code(code),
        Err(_) => Outcome::Transport,
    };
    unexpected(outcome, scenario)
}

impl LoadReport {
    /// Write report.json, report.md and report.html into `dir`; returns their paths.
    pub fn write_all(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let files = [
            ("report.json", serde_json::to_string_pretty(self)?),
            ("report.md", self.markdown()),
            ("report.html", self.html()?),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }
}
