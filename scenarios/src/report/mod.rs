//! The run's report: one model (`LoadReport`), written as JSON (`report.json`, the contract `--baseline` reads),
//! Markdown (`report.md`) and a self-contained HTML page with plots (`report.html`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::{unexpected, BurstResult, RunResult, ScenarioKind, StopReason};
use crate::plots::{self, Series, BLUE_, GREEN_, GREY_, ORANGE_, RED_};
use crate::recorder::{CoordinatedOmission, InterfaceLatency, Outcome, SecondPoint};
use crate::sizing::{SizingResult, BEHAVIOUR_WINDOW_S};
use crate::thresholds::{LatencyStat, Measurements, Metric, Threshold, ThresholdResult};
use crate::workloads::{ProbeFinding, RealnameStats, ReportStats};

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
}

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
    pub model: Option<serde_json::Value>,
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
}

/// What `build` needs besides the run itself.
pub struct ReportContext {
    pub run_id: String,
    pub scenario: ScenarioKind,
    pub started_at: String,
    pub target: String,
    pub options: serde_json::Value,
    pub model: Option<SizingResult>,
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
        },
        latency: m.interfaces,
        coordinated_omission: m.coordinated_omission,
        timeline: m.timeline,
        burst: run.burst,
        model: context.model.and_then(|model| serde_json::to_value(model).ok()),
        probe: run.probe,
        realname: run.realname,
        report: run.report,
        thresholds: Vec::new(),
        baseline: None,
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

    pub fn judge(&mut self, thresholds: &[Threshold]) {
        self.thresholds = thresholds.iter().map(|t| t.evaluate(self)).collect();
    }

    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }

    /// Write report.json, report.md and report.html into `dir`; returns their paths.
    pub fn write_all(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let files = [
            ("report.json", serde_json::to_string_pretty(self)?),
            ("report.md", self.markdown()),
            ("report.html", self.html()),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            written.push(path);
        }
        Ok(written)
    }

    /// The few lines printed at the end of a run.
    pub fn console_summary(&self) -> String {
        let s = &self.summary;
        let clock = if self.simulated { " of simulated time" } else { "" };
        let mut out = format!(
            "{} requests in {:.1} s of wall time ({:.1} req/s{clock}), unexpected answers: {}; stopped: {}\n",
            s.requests, s.wall_seconds, s.achieved_rate, s.unexpected_errors, s.stop_reason
        );
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

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let s = &self.summary;
        let _ = writeln!(md, "# nppa load — {} ({})\n", self.scenario, self.run_id);
        let _ = writeln!(
            md,
            "Started {} against {}{}.\n",
            self.started_at,
            self.target,
            if self.simulated { ", simulated on the mock's clock" } else { "" }
        );
        let _ = writeln!(
            md,
            "| requests | rate (req/s) | unexpected answers | wall (s) | CPU (s) | req per CPU s | stopped |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---|");
        let _ = writeln!(
            md,
            "| {} | {:.1} | {} ({:.3} %) | {:.1} | {:.1} | {:.0} | {} |\n",
            s.requests,
            s.achieved_rate,
            s.unexpected_errors,
            s.error_rate * 100.0,
            s.wall_seconds,
            s.cpu_seconds,
            s.requests_per_cpu_second,
            s.stop_reason
        );
        let codes: Vec<String> = s.by_errcode.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        let _ = writeln!(md, "Answers by errcode: {}\n", codes.join(", "));
        md += &self.latency_markdown();
        let co = &self.coordinated_omission;
        let _ = writeln!(
            md,
            "Coordinated omission: {} sends started late because every sender was busy (worst {:.1} ms late); \
             the corrected p99 counts from the intended send time.\n",
            co.late_starts, co.max_lateness_ms
        );
        if let Some(b) = &self.burst {
            md += &burst_markdown(b, self.model.as_ref());
        }
        if let Some(p) = &self.probe {
            let _ = writeln!(md, "## Quota probe\n\n{}\n", probe_sentence(p));
        }
        if let Some(r) = &self.realname {
            let _ = writeln!(
                md,
                "## Real-name lifecycle\n\nchecks {}, queries {}, pending {}, succeeded {}, failed {}, unresolved at the end {}\n",
                r.checks, r.queries, r.pending, r.succeeded, r.failed, r.unresolved
            );
        }
        if let Some(r) = &self.report {
            let _ = writeln!(
                md,
                "## Behaviour reports\n\nplayers {}, logins {}, logouts {}, records accepted {}, rejected {} (3005: {}), \
                 sessions open at the end {}, idle slots {}\n",
                r.players,
                r.logins,
                r.logouts,
                r.records_accepted,
                r.records_rejected,
                r.records_3005,
                r.open_sessions,
                r.idle_slots
            );
        }
        md += &self.baseline_markdown();
        if !self.thresholds.is_empty() {
            let _ = writeln!(md, "## Thresholds\n\n| rule | measured | result |\n|---|---:|---|");
            for t in &self.thresholds {
                let actual = t.actual.map_or("n/a".into(), |a| format!("{a:.3}"));
                let _ = writeln!(md, "| `{}` | {} | {} |", t.rule, actual, if t.passed { "pass" } else { "**FAIL**" });
            }
            md += "\n";
        }
        md
    }

    fn latency_markdown(&self) -> String {
        let mut md = String::from(
            "## Latency (ms)\n\n| interface | errcode | count | p50 | p90 | p99 | p99.9 | max | corrected p99 |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for (interface, l) in &self.latency {
            let row = |code: &str, p: &crate::recorder::Percentiles, corrected: String| {
                format!(
                    "| {interface} | {code} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {corrected} |\n",
                    p.count, p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms
                )
            };
            md += &row("all", &l.all, format!("{:.3}", l.corrected.p99_ms));
            for (code, p) in &l.by_errcode {
                md += &row(code, p, String::new());
            }
        }
        md += "\nThe HDR histograms are in report.json: `latency.<interface>.hdr`, and per errcode `hdr_by_errcode.<code>` (HdrHistogram V2, compressed, base64).\n\n";
        md
    }

    fn baseline_markdown(&self) -> String {
        let Some(b) = &self.baseline else { return String::new() };
        let mut md = format!(
            "## Against the baseline\n\n{} (run {}): rate {:.1} → {:.1} req/s, unexpected answers {} → {}\n\n\
             | interface | p50 before | p50 now | p99 before | p99 now | p99 change |\n|---|---:|---:|---:|---:|---:|\n",
            b.file, b.baseline_run, b.baseline_rate, b.rate, b.baseline_errors, b.errors
        );
        for r in &b.rows {
            let _ = writeln!(
                md,
                "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:+.1} % |",
                r.interface, r.baseline_p50_ms, r.p50_ms, r.baseline_p99_ms, r.p99_ms, r.p99_change_percent
            );
        }
        md + "\n"
    }

    pub fn html(&self) -> String {
        let mut body = format!("<h1>nppa load — {} ({})</h1>\n", escape(&self.scenario), escape(&self.run_id));
        let verdict = match (&self.burst, self.thresholds.is_empty()) {
            (Some(b), _) => burst_verdict(b),
            (None, false) if self.passed() => "Every threshold passed.".to_owned(),
            (None, false) => "A threshold failed.".to_owned(),
            (None, true) => format!("{} unexpected answers.", self.summary.unexpected_errors),
        };
        let _ = write!(body, "<p class=\"verdict\">{}</p>", escape(&verdict));
        body += &self.charts();
        // The Markdown's own title is already above the charts.
        let markdown = self.markdown();
        let rest = markdown.split_once('\n').map_or(markdown.as_str(), |(_, rest)| rest);
        body += &markdown_to_html(rest);
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nppa load — {} ({})</title>\n\
             <style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}}\
             table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
             th{{background:#f3f3f3}}td:first-child{{text-align:left}}.verdict{{font-size:1.3em;font-weight:bold}}\
             figure{{margin:1em 0}}code{{background:#f3f3f3}}</style></head><body>\n{}\n</body></html>\n",
            escape(&self.scenario),
            escape(&self.run_id),
            body
        )
    }

    fn charts(&self) -> String {
        let t = &self.timeline;
        let points = |f: &dyn Fn(&SecondPoint) -> Option<f64>| -> Vec<(f64, f64)> {
            t.iter().filter_map(|p| f(p).map(|v| (p.t as f64, v))).collect()
        };
        let mut html = String::new();
        let mut figure = |svg: String| {
            let _ = writeln!(html, "<figure>{svg}</figure>");
        };
        figure(plots::line_chart(
            "Latency over time",
            "ms",
            &[
                Series { label: "p50", color: BLUE_, points: points(&|p| p.p50_ms) },
                Series { label: "p99", color: ORANGE_, points: points(&|p| p.p99_ms) },
            ],
            None,
        ));
        figure(plots::line_chart(
            "Requests per second",
            "requests/s",
            &[
                Series { label: "sent", color: BLUE_, points: points(&|p| Some(p.requests as f64)) },
                Series { label: "answered errcode 0", color: GREEN_, points: points(&|p| Some(p.ok as f64)) },
            ],
            None,
        ));
        if t.iter().any(|p| p.records > 0) {
            figure(plots::line_chart(
                "Behaviour records per second",
                "records/s",
                &[Series { label: "records sent", color: GREEN_, points: points(&|p| Some(p.records as f64)) }],
                None,
            ));
        }
        figure(plots::line_chart(
            "1006 and 3005",
            "per second",
            &[
                Series { label: "1006 answers", color: RED_, points: points(&|p| Some(p.errors_1006 as f64)) },
                Series { label: "3005 records", color: ORANGE_, points: points(&|p| Some(p.records_3005 as f64)) },
            ],
            None,
        ));
        if self.burst.is_some() {
            figure(plots::line_chart(
                "Backlog during the burst",
                "records waiting",
                &[Series { label: "backlog", color: GREY_, points: points(&|p| p.gauges.map(|g| g.backlog as f64)) }],
                None,
            ));
            figure(plots::line_chart(
                "Oldest waiting record",
                "age (s)",
                &[Series {
                    label: "oldest record's age",
                    color: BLUE_,
                    points: points(&|p| p.gauges.map(|g| g.oldest_age_s)),
                }],
                Some((BEHAVIOUR_WINDOW_S, "180 s: older records get 3005")),
            ));
        }
        html
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

fn probe_sentence(p: &ProbeFinding) -> String {
    match (p.limit_found, p.rate_at_1006, p.highest_rate_without_1006) {
        (Some(limit), rate, _) => format!(
            "{}: the first 1006 came in second {} of the ramp, asked {} req/s; the server accepted {limit} requests in \
             that second: the limit is {limit} req/s.",
            p.interface,
            p.first_1006_second.unwrap_or(0),
            rate.map_or("?".into(), |r| format!("{r:.0}"))
        ),
        (None, _, Some(highest)) => {
            format!("{}: no 1006 up to {highest:.0} req/s; the limit is higher (ramp further).", p.interface)
        }
        _ => format!("{}: no 1006 seen.", p.interface),
    }
}

fn burst_verdict(b: &BurstResult) -> String {
    let t = &b.totals;
    if t.lost_3005 == 0 && t.given_up == 0 {
        format!(
            "The burst made it: all {} records accepted in {:.1} s, the oldest {:.1} s old (limit 180 s).",
            t.records,
            t.drain_ms as f64 / 1000.0,
            b.ages.max_ms / 1000.0
        )
    } else {
        format!(
            "The burst did not make it: {} of {} records were older than 180 s when they reached NPPA (3005){}.",
            t.lost_3005,
            t.records,
            if t.given_up > 0 { format!(", {} more given up", t.given_up) } else { String::new() }
        )
    }
}

fn burst_markdown(b: &BurstResult, model: Option<&serde_json::Value>) -> String {
    let t = &b.totals;
    let p = &b.plan;
    let mut md = format!(
        "## Logout burst\n\n{}\n\n{} players over {:.0} s, {} game(s), batches of {}, {} requests/s per game.\n\n",
        burst_verdict(b),
        p.players,
        p.window_ms as f64 / 1000.0,
        p.games,
        p.batch,
        p.requests_per_s
    );
    let measured_oldest = b.ages.max_ms / 1000.0;
    let num = |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_f64);
    let _ = writeln!(md, "| | {} | model |\n|---|---:|---:|", if b.simulated { "simulation" } else { "measured" });
    let rows: [(&str, String, Option<f64>); 5] = [
        ("drain time (s)", format!("{:.1}", t.drain_ms as f64 / 1000.0), model.and_then(|m| num(m, "drain_time_s"))),
        ("oldest record when sent (s)", format!("{measured_oldest:.1}"), model.and_then(|m| num(m, "oldest_age_s"))),
        ("records lost to 3005", t.lost_3005.to_string(), model.and_then(|m| num(m, "predicted_losses"))),
        ("requests", t.requests.to_string(), None),
        ("1006 answers", t.answers_1006.to_string(), None),
    ];
    for (name, measured, predicted) in rows {
        let _ = writeln!(md, "| {name} | {measured} | {} |", predicted.map_or("".into(), |v| format!("{v:.1}")));
    }
    if t.answers_1006 > 0 {
        let _ = writeln!(
            md,
            "\n**{} answers 1006**: each blocked the game for 60 s (R-RL-2). The pace of {} requests/s is above \
             the quota; the model assumes a pace within it.",
            t.answers_1006, p.requests_per_s
        );
    }
    let _ = writeln!(
        md,
        "\nRecords: {} accepted, {} lost to 3005, {} given up, {} re-sends, {} answers 3001, largest batch {}.\n\
         Age of records when sent (s): p50 {:.1}, p99 {:.1}, max {:.1}.\n",
        t.accepted,
        t.lost_3005,
        t.given_up,
        t.resent,
        t.answers_3001,
        t.largest_batch,
        b.ages.p50_ms / 1000.0,
        b.ages.p99_ms / 1000.0,
        measured_oldest
    );
    md
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The report's Markdown, as HTML (tables included).
fn markdown_to_html(md: &str) -> String {
    let mut html = String::new();
    let parser = pulldown_cmark::Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::html::push_html(&mut html, parser);
    html
}
