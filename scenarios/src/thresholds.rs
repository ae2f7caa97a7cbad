//! Pass/fail rules for CI: `--threshold 'p99<50ms'`, `'check.p99<=5ms'`, `'errors==0'`, `'error_rate<0.1%'`,
//! `'rate>=490'`, `'lost==0'`, `'drain<160s'`, `'oldest_age<180s'`, `'p99_vs_baseline<10%'`.

use std::fmt;

use nppa_protocol::Interface;
use serde::{Deserialize, Serialize};

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

/// A latency statistic: of the service time (`p50` … `max`), or the corrected p99 (counted from the intended send
/// time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyStat {
    P50,
    P90,
    P99,
    P999,
    Max,
    CorrectedP99,
}

impl LatencyStat {
    pub const ALL: [LatencyStat; 6] = [
        LatencyStat::P50,
        LatencyStat::P90,
        LatencyStat::P99,
        LatencyStat::P999,
        LatencyStat::Max,
        LatencyStat::CorrectedP99,
    ];

    /// The name a rule uses.
    pub fn name(self) -> &'static str {
        match self {
            LatencyStat::P50 => "p50",
            LatencyStat::P90 => "p90",
            LatencyStat::P99 => "p99",
            LatencyStat::P999 => "p999",
            LatencyStat::Max => "max",
            LatencyStat::CorrectedP99 => "corrected_p99",
        }
    }
}

/// What a rule measures, in the unit its limit is kept in (see [`Metric::unit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A latency of one interface (`check.p99`), or of the slowest interface when there is no prefix (`p99`).
    Latency {
        stat: LatencyStat,
        interface: Option<Interface>,
    },
    /// Answers the scenario did not ask for.
    Errors,
    /// Unexpected answers per request.
    ErrorRate,
    /// Achieved requests per second.
    Rate,
    Requests,
    /// Burst records refused with 3005.
    Lost,
    /// Time the burst took to drain.
    Drain,
    /// Age of the oldest burst record when sent.
    OldestAge,
    /// The largest p99 increase against `--baseline`.
    P99VsBaseline,
}

/// The unit a metric's limit and measured value are kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Seconds,
    Percent,
    /// Counts and rates: a bare number.
    Number,
}

impl Metric {
    /// The metrics without an interface prefix.
    pub const OTHERS: [Metric; 8] = [
        Metric::Errors,
        Metric::ErrorRate,
        Metric::Rate,
        Metric::Requests,
        Metric::Lost,
        Metric::Drain,
        Metric::OldestAge,
        Metric::P99VsBaseline,
    ];

    /// The name a rule uses, without the interface prefix.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Latency { stat, .. } => stat.name(),
            Metric::Errors => "errors",
            Metric::ErrorRate => "error_rate",
            Metric::Rate => "rate",
            Metric::Requests => "requests",
            Metric::Lost => "lost",
            Metric::Drain => "drain",
            Metric::OldestAge => "oldest_age",
            Metric::P99VsBaseline => "p99_vs_baseline",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Latency { .. } => Unit::Milliseconds,
            Metric::Drain | Metric::OldestAge => Unit::Seconds,
            Metric::ErrorRate | Metric::P99VsBaseline => Unit::Percent,
            Metric::Errors | Metric::Rate | Metric::Requests | Metric::Lost => Unit::Number,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The numbers a rule is checked against (the load report has them).
pub trait Measurements {
    /// `metric` as the run measured it, in the metric's [`Unit`]; `None` when the run has no such number.
    fn measure(&self, metric: Metric) -> Option<f64>;
}

/// Why a rule cannot be used; the message quotes the rule and says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("`{rule}`: no comparison (use <, <=, >, >= or ==), e.g. 'p99<50ms'")]
    NoComparison { rule: String },
    #[error("`{rule}`: unknown interface `{interface}` (check, query or loginout)")]
    UnknownInterface { rule: String, interface: String },
    #[error("`{rule}`: unknown metric `{metric}`; known: {METRICS}")]
    UnknownMetric { rule: String, metric: String },
    #[error("`{rule}`: only latencies take an interface prefix")]
    PrefixOnNonLatency { rule: String },
    #[error("`{rule}`: `{value}` is not a number")]
    NotANumber { rule: String, value: String },
    #[error("`{rule}`: unit `{unit}` does not fit `{metric}`")]
    UnitMismatch { rule: String, unit: String, metric: Metric },
}

/// A parsed rule. Latencies are kept in ms, durations in s, percentages as percent.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub rule: String,
    pub metric: Metric,
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

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let rule = || text.to_owned();
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let ops = [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("<", Op::Lt), (">", Op::Gt), ("=", Op::Eq)];
        let (at, token, op) = ops
            .iter()
            .filter_map(|(token, op)| compact.find(token).map(|at| (at, *token, *op)))
            .min_by_key(|(at, token, _)| (*at, usize::MAX - token.len()))
            .ok_or_else(|| ThresholdError::NoComparison { rule: rule() })?;
        let (name, value) = (&compact[..at], &compact[at + token.len()..]);
        let (prefix, metric_name) = match name.split_once('.') {
            Some((interface, metric)) => (Some(interface), metric),
            None => (None, name),
        };
        let interface = match prefix {
            Some(prefix) => Some(
                Interface::ALL
                    .into_iter()
                    .find(|i| i.name() == prefix)
                    .ok_or_else(|| ThresholdError::UnknownInterface { rule: rule(), interface: prefix.to_owned() })?,
            ),
            None => None,
        };
        let metric = match LatencyStat::ALL.into_iter().find(|s| s.name() == metric_name) {
            Some(stat) => Metric::Latency { stat, interface },
            None => {
                let metric = Metric::OTHERS
                    .into_iter()
                    .find(|m| m.name() == metric_name)
                    .ok_or_else(|| ThresholdError::UnknownMetric { rule: rule(), metric: metric_name.to_owned() })?;
                if interface.is_some() {
                    return Err(ThresholdError::PrefixOnNonLatency { rule: rule() });
                }
                metric
            }
        };
        let limit = parse_value(text, value, metric)?;
        Ok(Threshold { rule: text.trim().to_owned(), metric, op, limit })
    }

    pub fn evaluate(&self, run: &dyn Measurements) -> ThresholdResult {
        let actual = run.measure(self.metric);
        ThresholdResult {
            rule: self.rule.clone(),
            actual,
            passed: actual.is_some_and(|a| self.op.holds(a, self.limit)),
        }
    }
}

/// The limit of `rule`, a number with an optional unit, in `metric`'s unit.
fn parse_value(rule: &str, value: &str, metric: Metric) -> Result<f64, ThresholdError> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| ThresholdError::NotANumber { rule: rule.to_owned(), value: value.to_owned() })?;
    let scale = match (unit, metric.unit()) {
        ("", _) => 1.0,
        ("ms", Unit::Milliseconds) => 1.0,
        ("us" | "µs", Unit::Milliseconds) => 0.001,
        ("s", Unit::Milliseconds) => 1000.0,
        ("s", Unit::Seconds) => 1.0,
        ("ms", Unit::Seconds) => 0.001,
        ("%", Unit::Percent) => 1.0,
        _ => return Err(ThresholdError::UnitMismatch { rule: rule.to_owned(), unit: unit.to_owned(), metric }),
    };
    Ok(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(stat: LatencyStat, interface: Option<Interface>) -> Metric {
        Metric::Latency { stat, interface }
    }

    #[test]
    fn rules_parse_with_units_and_scopes() {
        let t = Threshold::parse("p99 < 50ms").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (latency(LatencyStat::P99, None), Op::Lt, 50.0));
        assert_eq!(t.rule, "p99 < 50ms");
        let t = Threshold::parse("check.p999<=0.5s").unwrap();
        assert_eq!((t.metric, t.op, t.limit), (latency(LatencyStat::P999, Some(Interface::Check)), Op::Le, 500.0));
        let t = Threshold::parse("loginout.corrected_p99<250us").unwrap();
        assert_eq!((t.metric, t.limit), (latency(LatencyStat::CorrectedP99, Some(Interface::Loginout)), 0.25));
        assert_eq!(Threshold::parse("errors==0").unwrap().op, Op::Eq);
        assert_eq!(Threshold::parse("error_rate<0.1%").unwrap().limit, 0.1);
        assert_eq!(Threshold::parse("drain<160s").unwrap().limit, 160.0);
        assert_eq!(Threshold::parse("oldest_age<1500ms").unwrap().limit, 1.5);
        let t = Threshold::parse("rate>=490").unwrap();
        assert_eq!((t.metric, t.op), (Metric::Rate, Op::Ge));
        assert_eq!(Threshold::parse("p99_vs_baseline<10%").unwrap().metric, Metric::P99VsBaseline);
    }

    #[test]
    fn every_metric_parses_by_its_name() {
        for stat in LatencyStat::ALL {
            assert_eq!(Threshold::parse(&format!("{}<1", stat.name())).unwrap().metric, latency(stat, None));
        }
        for metric in Metric::OTHERS {
            assert_eq!(Threshold::parse(&format!("{metric}<1")).unwrap().metric, metric);
        }
    }

    #[test]
    fn bad_rules_say_why() {
        let err = |text: &str| Threshold::parse(text).unwrap_err();
        assert_eq!(err("p99 50ms"), ThresholdError::NoComparison { rule: "p99 50ms".into() });
        assert!(err("p99 50ms").to_string().contains("no comparison"));
        assert!(matches!(err("p98<50ms"), ThresholdError::UnknownMetric { metric, .. } if metric == "p98"));
        assert!(err("p98<50ms").to_string().contains("unknown metric `p98`; known: p50"));
        assert_eq!(err("p99<fast").to_string(), "`p99<fast`: `fast` is not a number");
        assert_eq!(err("errors<5ms").to_string(), "`errors<5ms`: unit `ms` does not fit `errors`");
        assert_eq!(err("check.p99<5%").to_string(), "`check.p99<5%`: unit `%` does not fit `p99`");
        assert_eq!(
            err("login.p99<5ms").to_string(),
            "`login.p99<5ms`: unknown interface `login` (check, query or loginout)"
        );
        assert_eq!(err("check.errors==0").to_string(), "`check.errors==0`: only latencies take an interface prefix");
    }

    struct Fixed;

    impl Measurements for Fixed {
        fn measure(&self, metric: Metric) -> Option<f64> {
            match metric {
                Metric::Latency { .. } => Some(40.0),
                Metric::Errors => Some(0.0),
                _ => None,
            }
        }
    }

    #[test]
    fn a_rule_passes_on_its_measured_value_and_fails_without_one() {
        let judged = |text: &str| Threshold::parse(text).unwrap().evaluate(&Fixed);
        assert_eq!(judged("p99<50ms"), ThresholdResult { rule: "p99<50ms".into(), actual: Some(40.0), passed: true });
        assert!(!judged("p99<=0.03s").passed);
        assert!(judged("errors==0").passed);
        assert_eq!(judged("lost==0"), ThresholdResult { rule: "lost==0".into(), actual: None, passed: false });
    }
}
