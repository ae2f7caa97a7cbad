//! Pass/fail rules for CI: `--threshold 'p99<50ms'`, `'check.p99<=5ms'`, `'errors==0'`, `'error_rate<0.1%'`,
//! `'rate>=490'`, `'lost==0'`, `'drain<160s'`, `'oldest_age<180s'`, `'p99_vs_baseline<10%'`.

use serde::{Deserialize, Serialize};

use crate::report::LoadReport;

/// The metrics a rule can name.
pub const METRICS: &str = "p50 p90 p99 p999 max corrected_p99 (ms, per interface with a prefix such as check.p99), \
                           errors, error_rate (%), rate (req/s), requests, lost (3005 records), drain (s), \
                           oldest_age (s), p99_vs_baseline (%)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
            Op::Eq => (actual - limit).abs() < 1e-9,
        }
    }
}

/// A parsed rule. Latencies are kept in ms, durations in s, percentages as percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub rule: String,
    pub interface: Option<String>,
    pub metric: String,
    pub op: Op,
    pub limit: f64,
}

/// How a rule fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub rule: String,
    /// The measured value, or `None` when the run has no such number (which fails the rule).
    pub actual: Option<f64>,
    pub passed: bool,
}

const LATENCY: [&str; 6] = ["p50", "p90", "p99", "p999", "max", "corrected_p99"];
const OTHERS: [&str; 8] =
    ["errors", "error_rate", "rate", "requests", "lost", "drain", "oldest_age", "p99_vs_baseline"];

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let ops = [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("<", Op::Lt), (">", Op::Gt), ("=", Op::Eq)];
        let (at, token, op) = ops
            .iter()
            .filter_map(|(token, op)| compact.find(token).map(|at| (at, *token, *op)))
            .min_by_key(|(at, token, _)| (*at, usize::MAX - token.len()))
            .ok_or_else(|| format!("`{text}`: no comparison (use <, <=, >, >= or ==), e.g. 'p99<50ms'"))?;
        let (name, value) = (&compact[..at], &compact[at + token.len()..]);
        let (interface, metric) = match name.split_once('.') {
            Some((interface, metric)) => (Some(interface.to_owned()), metric.to_owned()),
            None => (None, name.to_owned()),
        };
        if let Some(interface) = &interface {
            if !["check", "query", "loginout"].contains(&interface.as_str()) {
                return Err(format!("`{text}`: unknown interface `{interface}` (check, query or loginout)"));
            }
        }
        let is_latency = LATENCY.contains(&metric.as_str());
        if !is_latency && !OTHERS.contains(&metric.as_str()) {
            return Err(format!("`{text}`: unknown metric `{metric}`; known: {METRICS}"));
        }
        if interface.is_some() && !is_latency {
            return Err(format!("`{text}`: only latencies take an interface prefix"));
        }
        let limit = parse_value(value, &metric).map_err(|why| format!("`{text}`: {why}"))?;
        Ok(Threshold { rule: text.trim().to_owned(), interface, metric, op, limit })
    }

    pub fn evaluate(&self, report: &LoadReport) -> ThresholdResult {
        let actual = self.actual(report);
        ThresholdResult {
            rule: self.rule.clone(),
            actual,
            passed: actual.is_some_and(|a| self.op.holds(a, self.limit)),
        }
    }

    fn actual(&self, report: &LoadReport) -> Option<f64> {
        let latency = |pick: &dyn Fn(&crate::recorder::InterfaceLatency) -> f64| -> Option<f64> {
            match &self.interface {
                Some(name) => report.latency.get(name).map(pick),
                None => report.latency.values().map(pick).reduce(f64::max),
            }
        };
        match self.metric.as_str() {
            "p50" => latency(&|l| l.all.p50_ms),
            "p90" => latency(&|l| l.all.p90_ms),
            "p99" => latency(&|l| l.all.p99_ms),
            "p999" => latency(&|l| l.all.p999_ms),
            "max" => latency(&|l| l.all.max_ms),
            "corrected_p99" => latency(&|l| l.corrected.p99_ms),
            "errors" => Some(report.summary.unexpected_errors as f64),
            "error_rate" => Some(report.summary.error_rate * 100.0),
            "rate" => Some(report.summary.achieved_rate),
            "requests" => Some(report.summary.requests as f64),
            "lost" => report.burst.as_ref().map(|b| b.totals.lost_3005 as f64),
            "drain" => report.burst.as_ref().map(|b| b.totals.drain_ms as f64 / 1000.0),
            "oldest_age" => report.burst.as_ref().map(|b| b.ages.max_ms / 1000.0),
            "p99_vs_baseline" => report.baseline.as_ref().and_then(|b| b.worst_p99_change_percent),
            _ => None,
        }
    }
}

fn parse_value(value: &str, metric: &str) -> Result<f64, String> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("`{value}` is not a number"))?;
    let is_latency = LATENCY.contains(&metric);
    let scale = match (unit, metric) {
        ("", _) => 1.0,
        ("ms", _) if is_latency => 1.0,
        ("us" | "µs", _) if is_latency => 0.001,
        ("s", _) if is_latency => 1000.0,
        ("s", "drain" | "oldest_age") => 1.0,
        ("ms", "drain" | "oldest_age") => 0.001,
        ("%", "error_rate" | "p99_vs_baseline") => 1.0,
        _ => return Err(format!("unit `{unit}` does not fit `{metric}`")),
    };
    Ok(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_units_and_scopes() {
        let t = Threshold::parse("p99 < 50ms").unwrap();
        assert_eq!((t.metric.as_str(), t.op, t.limit, t.interface), ("p99", Op::Lt, 50.0, None));
        let t = Threshold::parse("check.p999<=0.5s").unwrap();
        assert_eq!((t.interface.as_deref(), t.op, t.limit), (Some("check"), Op::Le, 500.0));
        assert_eq!(Threshold::parse("errors==0").unwrap().op, Op::Eq);
        assert_eq!(Threshold::parse("error_rate<0.1%").unwrap().limit, 0.1);
        assert_eq!(Threshold::parse("drain<160s").unwrap().limit, 160.0);
        assert_eq!(Threshold::parse("rate>=490").unwrap().op, Op::Ge);
    }

    #[test]
    fn bad_rules_say_why() {
        assert!(Threshold::parse("p99 50ms").unwrap_err().contains("no comparison"));
        assert!(Threshold::parse("p98<50ms").unwrap_err().contains("unknown metric"));
        assert!(Threshold::parse("p99<fast").unwrap_err().contains("not a number"));
        assert!(Threshold::parse("errors<5ms").unwrap_err().contains("does not fit"));
        assert!(Threshold::parse("login.p99<5ms").unwrap_err().contains("unknown interface"));
    }
}
