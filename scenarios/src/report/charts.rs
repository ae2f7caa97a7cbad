//! The SVG charts of report.html, drawn from the report's per-second timeline. A series that is zero all along
//! is left out, and a chart left with no series is not drawn (a run without 1006 has no 1006 chart).

use plotters::style::RGBColor;

use crate::plots::{self, Series, BLUE_, GREEN_, GREY_, ORANGE_, PURPLE_, RED_};
use crate::recorder::SecondPoint;
use crate::sizing::BEHAVIOUR_WINDOW_S;

use super::LoadReport;

/// One colour per interface, in the order the report lists them.
const INTERFACE_COLORS: [RGBColor; 4] = [BLUE_, ORANGE_, GREEN_, PURPLE_];

/// A chart to draw: its series, before the empty ones are dropped.
struct Chart<'a> {
    title: String,
    y_label: &'a str,
    series: Vec<Series>,
    limit: Option<(f64, &'a str)>,
}

impl LoadReport {
    /// Every chart with something to show, each an inline `<svg>`.
    pub(super) fn charts(&self) -> Vec<String> {
        let x_max = self.timeline.last().map_or(1, |p| p.t);
        let mut charts = vec![self.latency_chart()];
        charts.push(Chart {
            title: "Requests per second".into(),
            y_label: "requests/s",
            // "sent" dashed and drawn last: on top of "answered" where they are equal, and both visible.
            series: vec![
                Series::solid("answered errcode 0", GREEN_, self.points(|p| Some(p.ok as f64))),
                Series::dashed("sent", BLUE_, self.points(|p| Some(p.requests as f64))),
            ],
            limit: None,
        });
        charts.push(Chart {
            title: "Behaviour records per second".into(),
            y_label: "records/s",
            series: vec![Series::solid("records sent", GREEN_, self.points(|p| Some(p.records as f64)))],
            limit: None,
        });
        charts.push(Chart {
            title: "1006 and 3005".into(),
            y_label: "per second",
            series: vec![
                Series::solid("1006 answers", RED_, self.points(|p| Some(p.errors_1006 as f64))),
                Series::solid("3005 records", ORANGE_, self.points(|p| Some(p.records_3005 as f64))),
            ],
            limit: None,
        });
        if self.burst.is_some() {
            charts.push(Chart {
                title: "Backlog during the burst".into(),
                y_label: "records waiting",
                series: vec![Series::solid("backlog", GREY_, self.points(|p| p.gauges.map(|g| g.backlog as f64)))],
                limit: None,
            });
            charts.push(Chart {
                title: "Oldest waiting record".into(),
                y_label: "age (s)",
                series: vec![Series::solid(
                    "oldest record's age",
                    BLUE_,
                    self.points(|p| p.gauges.map(|g| g.oldest_age_s)),
                )],
                limit: Some((BEHAVIOUR_WINDOW_S, "180 s: older records get 3005")),
            });
        }
        charts
            .into_iter()
            .filter_map(|mut chart| {
                chart.series.retain(Series::shows_anything);
                (!chart.series.is_empty())
                    .then(|| plots::line_chart(&chart.title, chart.y_label, x_max, &chart.series, chart.limit))
            })
            .collect()
    }

    /// p50 (dashed) and p99 of each interface, per second, without the warm-up: the first second's connections
    /// and caches would set the scale and flatten the rest. The title says what was left out.
    fn latency_chart(&self) -> Chart<'static> {
        let after_warm_up = self.timeline.iter().any(|p| p.t >= self.warm_up_s && !p.interfaces.is_empty());
        // A run no longer than its warm-up is shown whole.
        let from = if after_warm_up { self.warm_up_s } else { 0 };
        let mut series = Vec::new();
        for (interface, color) in self.latency.keys().zip(INTERFACE_COLORS.iter().cycle()) {
            let at = |q: fn(&crate::recorder::SecondLatencyMs) -> f64| {
                self.timeline
                    .iter()
                    .filter(|p| p.t >= from)
                    .filter_map(|p| p.interfaces.get(interface).map(|l| (p.t, q(l))))
                    .collect::<Vec<_>>()
            };
            series.push(Series::solid(format!("{interface} p99"), *color, at(|l| l.p99_ms)));
            series.push(Series::dashed(format!("{interface} p50"), *color, at(|l| l.p50_ms)));
        }
        let title = match from {
            0 => "Latency over time".to_owned(),
            s => format!("Latency over time (the first {s} s left out: warm-up)"),
        };
        Chart { title, y_label: "ms", series, limit: None }
    }

    fn points(&self, f: impl Fn(&SecondPoint) -> Option<f64>) -> Vec<(u64, f64)> {
        self.timeline.iter().filter_map(|p| f(p).map(|v| (p.t, v))).collect()
    }
}
