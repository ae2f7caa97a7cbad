//! What a load run measured: HDR latency histograms per interface and errcode, a per-second timeline, and the
//! coordinated-omission bookkeeping of the open-model schedule. Shared by every sender; one short lock per answer.

use std::collections::BTreeMap;
use std::sync::Mutex;

use base64::Engine as _;
use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies are kept in microseconds, from 1 µs to 10 minutes, 3 significant digits.
const MAX_US: u64 = 600_000_000;

/// How a request ended, as far as the driver could tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// A protocol answer with this errcode (0 = OK).
    Code(u16),
    /// An HTTP status other than 200 without a protocol errcode.
    Http(u16),
    /// No answer: connection refused or reset, timeout.
    Transport,
}

impl Outcome {
    pub fn label(self) -> String {
        match self {
            Outcome::Code(code) => code.to_string(),
            Outcome::Http(status) => format!("http-{status}"),
            Outcome::Transport => "transport".into(),
        }
    }
}

/// One answered (or failed) request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub interface: &'static str,
    pub outcome: Outcome,
    /// From the moment the request was sent to the answer.
    pub service_us: u64,
    /// From the moment the schedule intended to send it to the answer (coordinated omission corrected).
    pub corrected_us: u64,
    /// Second of the run (wall or simulated) the request belongs to.
    pub second: u64,
    /// Records in the request (loginout) and how many of them came back as 3005.
    pub records: u32,
    pub records_3005: u32,
}

/// Per-second gauges a driver sets (the burst's backlog and oldest waiting record).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Gauges {
    pub backlog: u64,
    pub oldest_age_s: f64,
}

/// One second's latency: a histogram while the second may still get answers, then just its p50 and p99, so that
/// a long run keeps a few bytes per second instead of a histogram per second.
#[derive(Debug)]
enum SecondLatency {
    Open(Box<Histogram<u64>>),
    Closed { p50_us: u64, p99_us: u64 },
}

impl SecondLatency {
    fn quantile_us(&self, q: f64) -> u64 {
        match self {
            SecondLatency::Open(h) => h.value_at_quantile(q),
            SecondLatency::Closed { p50_us, p99_us } => {
                if q <= 0.5 {
                    *p50_us
                } else {
                    *p99_us
                }
            }
        }
    }

    fn close(&mut self) {
        if let SecondLatency::Open(h) = self {
            *self = SecondLatency::Closed { p50_us: h.value_at_quantile(0.5), p99_us: h.value_at_quantile(0.99) };
        }
    }
}

/// An open second's histogram: latencies up to a minute.
fn second_histogram() -> SecondLatency {
    SecondLatency::Open(Box::new(hdr(60_000_000)))
}

/// Seconds further back than this are closed (answers arrive at most a few seconds after their send).
const OPEN_SECONDS: usize = 10;

#[derive(Debug)]
struct SecondBucket {
    latency: SecondLatency,
    /// The same, per interface: interfaces differ (a loginout of 128 records is slower than a query).
    by_interface: BTreeMap<&'static str, SecondLatency>,
    requests: u64,
    ok: u64,
    errors_1006: u64,
    records: u64,
    records_3005: u64,
    gauges: Option<Gauges>,
}

#[derive(Debug, Default)]
struct Inner {
    service: BTreeMap<(&'static str, Outcome), Histogram<u64>>,
    corrected: BTreeMap<&'static str, Histogram<u64>>,
    seconds: Vec<SecondBucket>,
    /// Seconds below this index are closed.
    closed: usize,
    late_starts: u64,
    max_lateness_us: u64,
    first_transport_failure: Option<String>,
}

/// The shared recorder.
#[derive(Debug, Default)]
pub struct Recorder {
    inner: Mutex<Inner>,
}

fn histogram() -> Histogram<u64> {
    hdr(MAX_US)
}

/// A 3-significant-digit histogram of values from 1 to `max`.
pub fn hdr(max: u64) -> Histogram<u64> {
    match Histogram::new_with_bounds(1, max.max(2), 3) {
        Ok(h) => h,
        // Only reachable with bounds below 2 or sigfig above 5, which the line above rules out.
        Err(_) => unreachable!("valid constant bounds"),
    }
}

impl Inner {
    fn second(&mut self, second: u64) -> &mut SecondBucket {
        let index = usize::try_from(second).unwrap_or(usize::MAX).min(1_000_000);
        while self.seconds.len() <= index {
            self.seconds.push(SecondBucket {
                latency: second_histogram(),
                by_interface: BTreeMap::new(),
                requests: 0,
                ok: 0,
                errors_1006: 0,
                records: 0,
                records_3005: 0,
                gauges: None,
            });
        }
        while self.closed + OPEN_SECONDS < index {
            let closing = &mut self.seconds[self.closed];
            closing.latency.close();
            closing.by_interface.values_mut().for_each(SecondLatency::close);
            self.closed += 1;
        }
        &mut self.seconds[index]
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the histograms half-written in a way that matters for a report.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn record(&self, sample: Sample) {
        let service = sample.service_us.clamp(1, MAX_US);
        let corrected = sample.corrected_us.clamp(service, MAX_US);
        let mut inner = self.lock();
        inner.service.entry((sample.interface, sample.outcome)).or_insert_with(histogram).saturating_record(service);
        inner.corrected.entry(sample.interface).or_insert_with(histogram).saturating_record(corrected);
        let bucket = inner.second(sample.second);
        if let SecondLatency::Open(h) = &mut bucket.latency {
            h.saturating_record(service);
        }
        if let SecondLatency::Open(h) = bucket.by_interface.entry(sample.interface).or_insert_with(second_histogram) {
            h.saturating_record(service);
        }
        bucket.requests += 1;
        match sample.outcome {
            Outcome::Code(0) => bucket.ok += 1,
            Outcome::Code(1006) => bucket.errors_1006 += 1,
            _ => {}
        }
        bucket.records += u64::from(sample.records);
        bucket.records_3005 += u64::from(sample.records_3005);
    }

    /// A send that started `lateness_us` after its slot because every sender was busy (coordinated omission).
    pub fn late_start(&self, lateness_us: u64) {
        let mut inner = self.lock();
        inner.late_starts += 1;
        inner.max_lateness_us = inner.max_lateness_us.max(lateness_us);
    }

    /// Why a request got no answer; the first reason is kept, for the report to say what went wrong.
    pub fn transport_failure(&self, reason: &dyn std::fmt::Display) {
        let mut inner = self.lock();
        if inner.first_transport_failure.is_none() {
            inner.first_transport_failure = Some(reason.to_string());
        }
    }

    pub fn set_gauges(&self, second: u64, gauges: Gauges) {
        self.lock().second(second).gauges = Some(gauges);
    }

    /// A glance for the progress line: requests, answers other than OK, and the last full second.
    pub fn progress(&self) -> Progress {
        let inner = self.lock();
        let requests = inner.service.values().map(Histogram::len).sum();
        let not_ok = inner.service.iter().filter(|((_, o), _)| *o != Outcome::Code(0)).map(|(_, h)| h.len()).sum();
        let last = inner.seconds.len().checked_sub(2).and_then(|i| inner.seconds.get(i));
        Progress {
            seconds: inner.seconds.len() as u64,
            requests,
            not_ok,
            last_second_requests: last.map_or(0, |b| b.requests),
            last_second_p99_ms: last.and_then(|b| ms(b.latency.quantile_us(0.99), b.requests)),
            gauges: inner.seconds.iter().rev().find_map(|b| b.gauges),
        }
    }

    /// Everything measured so far, as plain numbers.
    pub fn summary(&self) -> Measured {
        let inner = self.lock();
        let mut interfaces: BTreeMap<String, InterfaceLatency> = BTreeMap::new();
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        // Each interface's histogram over all its errcodes.
        let mut all: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
        for ((interface, outcome), hist) in &inner.service {
            let entry = interfaces.entry((*interface).to_owned()).or_insert_with(|| InterfaceLatency {
                all: Percentiles::default(),
                corrected: Percentiles::default(),
                by_errcode: BTreeMap::new(),
                hdr: String::new(),
                hdr_by_errcode: BTreeMap::new(),
            });
            entry.by_errcode.insert(outcome.label(), Percentiles::of(hist));
            entry.hdr_by_errcode.insert(outcome.label(), encode(hist));
            *totals.entry(outcome.label()).or_default() += hist.len();
            let _ = all.entry(interface).or_insert_with(histogram).add(hist);
        }
        for (interface, hist) in &all {
            let Some(entry) = interfaces.get_mut(*interface) else { continue };
            entry.all = Percentiles::of(hist);
            entry.hdr = encode(hist);
            if let Some(corrected) = inner.corrected.get(interface) {
                entry.corrected = Percentiles::of(corrected);
            }
        }
        let timeline = inner
            .seconds
            .iter()
            .enumerate()
            .map(|(t, b)| SecondPoint {
                t: t as u64,
                requests: b.requests,
                ok: b.ok,
                errors_1006: b.errors_1006,
                records: b.records,
                records_3005: b.records_3005,
                p50_ms: ms(b.latency.quantile_us(0.5), b.requests),
                p99_ms: ms(b.latency.quantile_us(0.99), b.requests),
                interfaces: b
                    .by_interface
                    .iter()
                    .map(|(interface, l)| {
                        let at = |q: f64| l.quantile_us(q) as f64 / 1000.0;
                        ((*interface).to_owned(), SecondLatencyMs { p50_ms: at(0.5), p99_ms: at(0.99) })
                    })
                    .collect(),
                gauges: b.gauges,
            })
            .collect();
        Measured {
            requests: totals.values().sum(),
            by_errcode: totals,
            interfaces,
            timeline,
            coordinated_omission: CoordinatedOmission {
                late_starts: inner.late_starts,
                max_lateness_ms: inner.max_lateness_us as f64 / 1000.0,
            },
            first_transport_failure: inner.first_transport_failure.clone(),
        }
    }
}

fn ms(us: u64, count: u64) -> Option<f64> {
    (count > 0).then_some(us as f64 / 1000.0)
}

/// A histogram in HdrHistogram's compressed V2 encoding, base64: `HistogramLogProcessor` and friends read it.
fn encode(hist: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(hist, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// What the progress line shows.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub seconds: u64,
    pub requests: u64,
    pub not_ok: u64,
    pub last_second_requests: u64,
    pub last_second_p99_ms: Option<f64>,
    pub gauges: Option<Gauges>,
}

/// p50/p90/p99/p99.9/max in milliseconds, and the count.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(hist: &Histogram<u64>) -> Percentiles {
        let at = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
        Percentiles {
            count: hist.len(),
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: hist.max() as f64 / 1000.0,
        }
    }
}

/// Latency of one interface: all answers (service time), corrected for coordinated omission, and per errcode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InterfaceLatency {
    pub all: Percentiles,
    pub corrected: Percentiles,
    pub by_errcode: BTreeMap<String, Percentiles>,
    /// The service-time histogram, HdrHistogram V2 compressed and base64-encoded.
    pub hdr: String,
    /// The same, per errcode.
    #[serde(default)]
    pub hdr_by_errcode: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondPoint {
    pub t: u64,
    pub requests: u64,
    pub ok: u64,
    pub errors_1006: u64,
    pub records: u64,
    pub records_3005: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// The second's latency per interface that had answers in it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub interfaces: BTreeMap<String, SecondLatencyMs>,
    pub gauges: Option<Gauges>,
}

/// One interface's latency in one second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondLatencyMs {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CoordinatedOmission {
    /// Sends that left after their slot because every sender was still waiting for an answer.
    pub late_starts: u64,
    pub max_lateness_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub requests: u64,
    pub by_errcode: BTreeMap<String, u64>,
    pub interfaces: BTreeMap<String, InterfaceLatency>,
    pub timeline: Vec<SecondPoint>,
    pub coordinated_omission: CoordinatedOmission,
    /// Why the first request that got no answer got none (connection refused, TLS, timeout…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_transport_failure: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(interface: &'static str, outcome: Outcome, service_us: u64, second: u64) -> Sample {
        Sample { interface, outcome, service_us, corrected_us: service_us, second, records: 0, records_3005: 0 }
    }

    #[test]
    fn percentiles_per_interface_and_errcode() {
        let recorder = Recorder::new();
        for i in 1..=1000 {
            recorder.record(sample("check", Outcome::Code(0), i * 10, 0));
        }
        recorder.record(sample("check", Outcome::Code(1006), 50_000, 1));
        recorder.record(Sample { corrected_us: 90_000, ..sample("query", Outcome::Transport, 1_000, 1) });
        let m = recorder.summary();
        assert_eq!(m.requests, 1002);
        assert_eq!(m.by_errcode["0"], 1000);
        assert_eq!(m.by_errcode["1006"], 1);
        let check = &m.interfaces["check"];
        assert!((check.by_errcode["0"].p50_ms - 5.0).abs() < 0.01);
        assert!((check.by_errcode["0"].p99_ms - 9.9).abs() < 0.01);
        assert!((check.all.max_ms - 50.0).abs() < 0.05);
        assert!(!check.hdr.is_empty());
        assert!((m.interfaces["query"].corrected.max_ms - 90.0).abs() < 0.1);
        assert_eq!(m.timeline.len(), 2);
        assert_eq!(m.timeline[1].errors_1006, 1);
        assert_eq!(m.timeline[0].ok, 1000);
        assert_eq!(m.timeline[1].interfaces.keys().collect::<Vec<_>>(), ["check", "query"], "per interface");
        assert!((m.timeline[0].interfaces["check"].p99_ms - 9.9).abs() < 0.01);
    }

    #[test]
    fn old_seconds_keep_their_percentiles_after_closing() {
        let recorder = Recorder::new();
        for i in 1..=100 {
            recorder.record(sample("check", Outcome::Code(0), i * 100, 0));
        }
        recorder.record(sample("check", Outcome::Code(0), 50, 500));
        let m = recorder.summary();
        assert_eq!(m.timeline.len(), 501);
        assert!((m.timeline[0].p50_ms.unwrap() - 5.0).abs() < 0.05);
        assert!((m.timeline[0].p99_ms.unwrap() - 9.9).abs() < 0.05);
        assert_eq!(m.timeline[1].p99_ms, None);
    }

    #[test]
    fn the_encoded_histogram_decodes_to_the_same_counts() {
        let recorder = Recorder::new();
        for i in 0..100 {
            recorder.record(sample("loginout", Outcome::Code(0), 100 + i, 0));
        }
        recorder.record(sample("loginout", Outcome::Code(1006), 5000, 0));
        let summary = recorder.summary();
        let encoded = &summary.interfaces["loginout"].hdr_by_errcode["0"];
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        let hist: Histogram<u64> =
            hdrhistogram::serialization::Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
        assert_eq!(hist.len(), 100);
        assert_eq!(hist.max(), 199);
    }
}
