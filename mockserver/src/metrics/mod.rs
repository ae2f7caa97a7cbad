//! `GET /metrics` in Prometheus text format (prometheus-client): requests by interface and errcode, a latency
//! histogram per interface, injected faults by kind, requests the HTTP layer ended by kind, connections refused by
//! reason, requests forwarded to the upstream by outcome and shadow differences by kind, and, read at scrape time, live records, quota blocks,
//! journal losses, connections, and the standard `process_*` families (CPU, memory, file descriptors, threads, start
//! time) of the process that serves it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use nppa_protocol::{Interface, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use crate::faults::FaultKind;
use crate::http_error::HttpErrorKind;
use crate::journal::{DifferenceKind, Journal};
use crate::quota::QuotaTable;
use crate::store::RealNameStore;

mod per_core;
use per_core::{PerCoreCounter, PerCoreHistogram};

/// The latency histogram's series.
type LatencyHistogram = PerCoreHistogram<{ BUCKETS.len() }>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    interface: &'static str,
    errcode: u16,
    /// `production` or `test` (the test system's paths).
    environment: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// Why a connection was closed as soon as it was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its IP had `server.max_connections_per_ip` open (R-CONN-1).
    PerIp,
    /// The mock had `server.max_connections` open, from all peers.
    Total,
}

impl Refusal {
    /// Every reason, for the metrics' zero series.
    pub const ALL: [Refusal; 2] = [Refusal::PerIp, Refusal::Total];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::PerIp => "per_ip",
            Refusal::Total => "max_connections",
        }
    }
}

/// What became of a request forwarded to the upstream (upstream and shadow modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamOutcome {
    /// The upstream answered (whatever its status or errcode).
    Answered,
    /// Not delivered: the connection or TLS failed.
    Unreachable,
    /// Delivered, but the connection broke before a whole answer came (the upstream may have acted on it).
    BrokeOff,
    /// No whole answer within `upstream.timeout_s`.
    TimedOut,
    /// Not sent: the client's body did not arrive whole.
    NotForwarded,
}

impl UpstreamOutcome {
    /// Every outcome, for the metrics' zero series.
    pub const ALL: [UpstreamOutcome; 5] = [
        UpstreamOutcome::Answered,
        UpstreamOutcome::Unreachable,
        UpstreamOutcome::BrokeOff,
        UpstreamOutcome::TimedOut,
        UpstreamOutcome::NotForwarded,
    ];

    /// The `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamOutcome::Answered => "answered",
            UpstreamOutcome::Unreachable => "unreachable",
            UpstreamOutcome::BrokeOff => "broke_off",
            UpstreamOutcome::TimedOut => "timed_out",
            UpstreamOutcome::NotForwarded => "not_forwarded",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InterfaceLabel {
    interface: &'static str,
}

/// The metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, PerCoreCounter>,
    latency: Family<InterfaceLabel, LatencyHistogram>,
    faults: Family<KindLabel, Counter>,
    http_errors: Family<KindLabel, Counter>,
    refused: Family<ReasonLabel, Counter>,
    upstream: Family<OutcomeLabel, Counter>,
    differences: Family<KindLabel, Counter>,
    open_connections: Arc<AtomicI64>,
    series: SeriesHandles,
}

/// The interfaces, and "unknown" for paths that name none.
const INTERFACE_SLOTS: usize = Interface::ALL.len() + 1;

/// Handles of the request series once used: counting a request is then an atomic add, not hashing its labels under
/// the family's lock. A series still enters its family on first use, so `/metrics` lists the same series.
#[derive(Debug)]
struct SeriesHandles {
    /// By (interface slot, environment, errcode).
    requests: Box<[OnceLock<PerCoreCounter>]>,
    /// By interface slot.
    latency: [OnceLock<LatencyHistogram>; INTERFACE_SLOTS],
}

impl SeriesHandles {
    fn new() -> SeriesHandles {
        let requests = (0..INTERFACE_SLOTS * 2 * StatusCode::ALL.len()).map(|_| OnceLock::new()).collect();
        SeriesHandles { requests, latency: std::array::from_fn(|_| OnceLock::new()) }
    }
}

/// Values that live elsewhere, read on each scrape.
#[derive(Debug)]
struct StateCollector {
    store: Arc<RealNameStore>,
    quotas: Arc<QuotaTable>,
    journal: Arc<Journal>,
    open_connections: Arc<AtomicI64>,
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let live = ConstGauge::new(self.store.live() as i64);
        live.encode(encoder.encode_descriptor(
            "nppa_live_records",
            "Live real-name records (pending checks and results not yet deleted)",
            None,
            live.metric_type(),
        )?)?;
        let blocks = ConstCounter::new(self.quotas.blocks_started());
        blocks.encode(encoder.encode_descriptor(
            "nppa_quota_blocks",
            "1006 blocks started (R-RL-2)",
            None,
            blocks.metric_type(),
        )?)?;
        let stats = self.journal.stats();
        let lost = ConstCounter::new(stats.file_dropped + stats.stream_lagged);
        lost.encode(encoder.encode_descriptor(
            "nppa_journal_dropped",
            "Journal entries the JSONL file or a stream subscriber could not take",
            None,
            lost.metric_type(),
        )?)?;
        let evicted = ConstCounter::new(stats.evicted);
        evicted.encode(encoder.encode_descriptor(
            "nppa_journal_evicted",
            "Journal entries pushed out of the in-memory ring",
            None,
            evicted.metric_type(),
        )?)?;
        let open = ConstGauge::new(self.open_connections.load(Ordering::Relaxed));
        open.encode(encoder.encode_descriptor(
            "nppa_open_connections",
            "Open client connections",
            None,
            open.metric_type(),
        )?)?;
        Ok(())
    }
}

/// The standard process families (as the Prometheus client libraries name them), read at scrape time. A value the
/// platform does not give is left out.
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let process = metrics_process::collector::collect();
        if let Some(seconds) = process.cpu_seconds_total {
            let cpu = ConstCounter::new(seconds);
            cpu.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                cpu.metric_type(),
            )?)?;
        }
        let gauges = [
            ("process_open_fds", "Number of open file descriptors", process.open_fds),
            ("process_max_fds", "Maximum number of open file descriptors", process.max_fds),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes", process.virtual_memory_bytes),
            (
                "process_virtual_memory_max_bytes",
                "Maximum amount of virtual memory available in bytes",
                process.virtual_memory_max_bytes,
            ),
            ("process_resident_memory_bytes", "Resident memory size in bytes", process.resident_memory_bytes),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                process.start_time_seconds,
            ),
            ("process_threads", "Number of OS threads in the process", process.threads),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
                gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
            }
        }
        Ok(())
    }
}

/// Latency buckets in seconds: 50 µs to 10 s.
const BUCKETS: [f64; 16] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 10.0];

impl Metrics {
    /// Metrics reading the given state at scrape time.
    pub fn new(store: Arc<RealNameStore>, quotas: Arc<QuotaTable>, journal: Arc<Journal>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, PerCoreCounter>::default();
        registry.register("nppa_requests", "Protocol requests answered, by interface and errcode", requests.clone());
        let latency =
            Family::<InterfaceLabel, LatencyHistogram>::new_with_constructor(|| LatencyHistogram::new(BUCKETS));
        registry.register("nppa_request_duration_seconds", "Time to answer a protocol request", latency.clone());
        let faults = Family::<KindLabel, Counter>::default();
        registry.register("nppa_faults_injected", "Requests a fault rule changed, by kind", faults.clone());
        let http_errors = Family::<KindLabel, Counter>::default();
        registry.register(
            "nppa_http_errors",
            "Requests the HTTP layer ended (did not parse, or head or body too slow), by kind",
            http_errors.clone(),
        );
        let refused = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "nppa_connections_refused",
            "Connections closed as soon as accepted, by the limit they met",
            refused.clone(),
        );
        let upstream = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "nppa_upstream_requests",
            "Requests forwarded to the upstream (upstream and shadow modes), by what became of them",
            upstream.clone(),
        );
        let differences = Family::<KindLabel, Counter>::default();
        registry.register(
            "nppa_shadow_differences",
            "Shadow mode: answers of the upstream that differ from the mock's by meaning, by what differs",
            differences.clone(),
        );
        let build_info = Family::<VersionLabel, Gauge>::default();
        registry.register("nppa_build_info", "The mock's version (always 1)", build_info.clone());
        build_info.get_or_create(&VersionLabel { version: env!("CARGO_PKG_VERSION") }).set(1);
        // Every family with its known label values from the start, at 0: a dashboard or an alert on a rate sees
        // the series before the first event, not a gap.
        for kind in FaultKind::ALL {
            drop(faults.get_or_create(&KindLabel { kind: kind.as_str() }));
        }
        for kind in HttpErrorKind::ALL {
            drop(http_errors.get_or_create(&KindLabel { kind: kind.as_str() }));
        }
        for refusal in Refusal::ALL {
            drop(refused.get_or_create(&ReasonLabel { reason: refusal.as_str() }));
        }
        for outcome in UpstreamOutcome::ALL {
            drop(upstream.get_or_create(&OutcomeLabel { outcome: outcome.as_str() }));
        }
        for kind in DifferenceKind::ALL {
            drop(differences.get_or_create(&KindLabel { kind: kind.as_str() }));
        }
        for interface in Interface::ALL.map(Interface::name) {
            drop(requests.get_or_create(&RequestLabels { interface, errcode: 0, environment: "production" }));
            drop(latency.get_or_create(&InterfaceLabel { interface }));
        }
        let open_connections = Arc::new(AtomicI64::new(0));
        registry.register_collector(Box::new(StateCollector {
            store,
            quotas,
            journal,
            open_connections: Arc::clone(&open_connections),
        }));
        registry.register_collector(Box::new(ProcessCollector));
        let series = SeriesHandles::new();
        Metrics {
            registry,
            requests,
            latency,
            faults,
            http_errors,
            refused,
            upstream,
            differences,
            open_connections,
            series,
        }
    }

    /// Counts one answered request. `interface` is `None` (label "unknown") for paths that name none;
    /// `test_system` for the test system's paths.
    pub fn observe(&self, interface: Option<Interface>, code: StatusCode, test_system: bool, seconds: f64) {
        let slot = interface.map_or(Interface::ALL.len(), Interface::index);
        let name = interface.map_or("unknown", Interface::name);
        let request_labels = || RequestLabels {
            interface: name,
            errcode: code.code(),
            environment: if test_system { "test" } else { "production" },
        };
        // `StatusCode::ALL` lists every variant in declaration order: `code as usize` is its place there.
        let index = (slot * 2 + usize::from(test_system)) * StatusCode::ALL.len() + code as usize;
        match self.series.requests.get(index) {
            Some(cell) => cell.get_or_init(|| self.requests.get_or_create(&request_labels()).clone()).inc(),
            None => self.requests.get_or_create(&request_labels()).inc(),
        };
        let latency = || self.latency.get_or_create(&InterfaceLabel { interface: name }).clone();
        match self.series.latency.get(slot) {
            Some(cell) => cell.get_or_init(latency).observe(seconds),
            None => latency().observe(seconds),
        }
    }

    /// Counts one injected fault.
    pub fn fault_injected(&self, kind: FaultKind) {
        self.faults.get_or_create(&KindLabel { kind: kind.as_str() }).inc();
    }

    /// Counts one request the HTTP layer ended (and silent connections closed at the head timeout).
    pub fn http_error(&self, kind: HttpErrorKind) {
        self.http_errors.get_or_create(&KindLabel { kind: kind.as_str() }).inc();
    }

    /// Counts one connection closed as soon as it was accepted.
    pub fn connection_refused(&self, refusal: Refusal) {
        self.refused.get_or_create(&ReasonLabel { reason: refusal.as_str() }).inc();
    }

    /// Counts one request forwarded to the upstream (or not, when its body did not arrive whole).
    pub fn upstream(&self, outcome: UpstreamOutcome) {
        self.upstream.get_or_create(&OutcomeLabel { outcome: outcome.as_str() }).inc();
    }

    /// Counts one difference between the upstream's answer and the mock's (shadow mode).
    pub fn shadow_difference(&self, kind: DifferenceKind) {
        self.differences.get_or_create(&KindLabel { kind: kind.as_str() }).inc();
    }

    /// A connection opened (+1) or closed (-1).
    pub fn connections(&self, delta: i64) {
        self.open_connections.fetch_add(delta, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
