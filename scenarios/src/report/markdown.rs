//! report.md: the run as Markdown (also the body of report.html).

use std::fmt::Write as _;

use nppa_protocol::quota;

use crate::engine::BurstResult;
use crate::recorder::Percentiles;
use crate::sizing::SizingResult;

use super::prose::{burst_verdict, probe_sentence};
use super::LoadReport;

impl LoadReport {
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
            let row = |code: &str, p: &Percentiles, corrected: String| {
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
}

fn burst_markdown(b: &BurstResult, model: Option<&SizingResult>) -> String {
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
    // What JSON cannot hold (an infinite drain time when nothing can be sent) is left blank.
    let predicted = |pick: fn(&SizingResult) -> f64| model.map(pick).filter(|v| v.is_finite());
    let _ = writeln!(md, "| | {} | model |\n|---|---:|---:|", if b.simulated { "simulation" } else { "measured" });
    let rows: [(&str, String, Option<f64>); 5] = [
        ("drain time (s)", format!("{:.1}", t.drain_ms as f64 / 1000.0), predicted(|m| m.drain_time_s)),
        ("oldest record when sent (s)", format!("{measured_oldest:.1}"), predicted(|m| m.oldest_age_s)),
        ("records lost to 3005", t.lost_3005.to_string(), predicted(|m| m.predicted_losses as f64)),
        ("requests", t.requests.to_string(), None),
        ("1006 answers", t.answers_1006.to_string(), None),
    ];
    for (name, measured, predicted) in rows {
        let _ = writeln!(md, "| {name} | {measured} | {} |", predicted.map_or("".into(), |v| format!("{v:.1}")));
    }
    if t.answers_1006 > 0 {
        let _ = writeln!(
            md,
            "\n**1006 answered {} time(s)**: each blocked the game for {} s (R-RL-2), which the model does not \
             foresee. More requests arrived in one second of the mock clock than the quota allows: a pace of {} \
             requests/s above the quota, or requests late enough to land in the next second's window (the driver \
             keeps {} ms from each second's edges).",
            t.answers_1006,
            quota::BLOCK_MS / 1000,
            p.requests_per_s,
            p.margin_ms
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
