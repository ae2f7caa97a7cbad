//! The SVG charts of report.html, drawn from the report's per-second timeline.

use std::fmt::Write as _;

use crate::plots::{self, Series, BLUE_, GREEN_, GREY_, ORANGE_, RED_};
use crate::recorder::SecondPoint;
use crate::sizing::BEHAVIOUR_WINDOW_S;

use super::LoadReport;

impl LoadReport {
    pub(super) fn charts(&self) -> String {
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
