//! Soak: a real `nppa mock` process driven with N mixed requests (checks, queries, loginouts) under seeded faults
//! (resets, HTTP 503, 1001, truncated and corrupt answers, short delays), over 32 connections. At the end the
//! journal (its stats), the JSONL file and `/metrics` must each account for every request sent, and the mock's
//! resident memory is sampled as it goes: it must level off once the journal's ring is full. Exits 1 when an
//! account does not balance or memory keeps growing. Not a timed test: a benchmark, run by hand.
//!
//! ```sh
//! cargo build --release -p nppa-harness && cargo build --release -p nppa-benches --example soak
//! target/release/examples/soak                # 100 000 requests; or: soak <requests> <connections>
//! ```
//! `NPPA_BIN` names the `nppa` binary (default `target/release/nppa`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nppa_benches::{credentials, loginout_request};
use nppa_mockserver::admin_api::{JournalPage, Stats};
use nppa_mockserver::faults::{FaultAction, FaultRule};
use nppa_protocol::messages::CheckRequest;
use nppa_protocol::request::{self, SignedRequest, Target};
use nppa_protocol::StatusCode;

/// The faults, each hitting this share of requests.
const FAULT_SHARE: f64 = 0.01;

/// The journal's ring, kept small so that the run fills it many times over.
const RING: usize = 10_000;

fn faults() -> Vec<FaultRule> {
    let rule = |action: Option<FaultAction>, delay_ms: Option<u64>| FaultRule {
        probability: FAULT_SHARE,
        action,
        delay_ms,
        ..FaultRule::default()
    };
    vec![
        rule(Some(FaultAction::Reset), None),
        rule(Some(FaultAction::HttpStatus { status: 503, body: None }), None),
        rule(Some(FaultAction::Status { errcode: StatusCode::SysError }), None),
        rule(Some(FaultAction::Truncate), None),
        rule(Some(FaultAction::Corrupt), None),
        rule(None, Some(20)),
    ]
}

fn config(journal: &std::path::Path) -> String {
    let mut config = nppa_mockserver::Config::embedded_default();
    config.server.quotas = false; // a soak sends far more than 500 a second
    config.journal.capacity = RING;
    config.journal.file = Some(journal.to_owned());
    config.faults.seed = 7;
    config.faults.rules = faults();
    toml::to_string(&config).expect("the configuration as TOML")
}

/// The i-th request of the mix: 4 checks, 3 queries, 3 loginouts in 10.
fn nth_request(i: u64, now_ms: u64) -> SignedRequest {
    let credentials = credentials();
    let iv: [u8; 12] = rand::random();
    match i % 10 {
        0..=3 => {
            // Presets that answer at once (no record kept) and unknown people (some pend: records live 48 h).
            let (name, id_num) = match i % 3 {
                0 => ("某一一".to_owned(), "110000190101010001".to_owned()),
                1 => ("某二一".to_owned(), "110000190201010009".to_owned()),
                _ => {
                    let first17 = format!("11010519800101{:03}", i % 1000);
                    ("张三".to_owned(), nppa_protocol::idnum::complete(&first17).unwrap())
                }
            };
            let check = CheckRequest { ai: format!("{i:032x}"), name, id_num };
            request::check(&credentials, &Target::Production, &check, now_ms, iv)
        }
        4..=6 => request::query(&credentials, &Target::Production, &format!("{:032x}", i - 4), now_ms),
        _ => {
            let report = loginout_request(1 + (i % 5) as i64, now_ms);
            request::loginout(&credentials, &Target::Production, &report, now_ms, iv)
        }
    }
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Sum of a Prometheus counter's samples, by one label's value.
fn counter_by_label(metrics: &str, name: &str, label: &str) -> BTreeMap<String, u64> {
    let mut sums = BTreeMap::new();
    for line in metrics.lines().filter(|l| l.starts_with(name) && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or((line, "0"));
        let key = series
            .split_once(&format!("{label}=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or(String::new(), |(v, _)| v.to_owned());
        *sums.entry(key).or_insert(0) += value.parse::<f64>().unwrap_or(0.0) as u64;
    }
    sums
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let connections: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(32);
    let nppa = std::env::var_os("NPPA_BIN").map_or_else(|| PathBuf::from("target/release/nppa"), PathBuf::from);
    if !nppa.exists() {
        eprintln!("soak: {} not found: run `cargo build --release -p nppa-harness` or set NPPA_BIN", nppa.display());
        std::process::exit(2);
    }
    let dir = std::env::temp_dir().join(format!("nppa-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal_file = dir.join("journal.jsonl");
    let config_file = dir.join("soak.toml");
    std::fs::write(&config_file, config(&journal_file)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut mock = tokio::process::Command::new(&nppa)
        .args(["mock", "--config"])
        .arg(&config_file)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("mock.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("start nppa mock");
    let pid = mock.id().unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let metrics_url = format!("{base}/metrics");
    let mut up = false;
    for _ in 0..200 {
        if http.get(&metrics_url).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !up {
        let log = std::fs::read_to_string(dir.join("mock.log")).unwrap_or_default();
        eprintln!("soak: {} did not start (is it older than this example? rebuild it):\n{log}", nppa.display());
        std::process::exit(2);
    }
    let rss_start = rss_kib(pid);
    println!("soak: {total} mixed requests over {connections} connections to {base} (pid {pid}), faults on {:.0} % each of 6 kinds, journal ring {RING}", FAULT_SHARE * 100.0);

    let next = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let transport_errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (next, answered, errors, http, base) =
            (next.clone(), answered.clone(), transport_errors.clone(), http.clone(), base.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
                let signed = nth_request(i, now_ms as u64);
                let method = reqwest::Method::from_bytes(signed.method.as_bytes()).unwrap();
                let mut builder = http.request(method, format!("{base}{}", signed.path_and_query));
                for (name, value) in &signed.headers {
                    builder = builder.header(*name, value);
                }
                match builder.body(signed.body).send().await {
                    Ok(response) => match response.bytes().await {
                        Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    },
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // Memory as the run goes, every tenth of it.
    let mut samples = vec![(0u64, rss_start)];
    while !workers.iter().all(|w| w.is_finished()) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let done = next.load(Ordering::Relaxed).min(total);
        if done >= samples.last().unwrap().0 + total / 10 {
            samples.push((done, rss_kib(pid)));
        }
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    samples.push((total, rss_kib(pid)));

    // The three accounts.
    let page: JournalPage = http
        .get(format!("{base}/__admin/journal?after_id={}", u64::MAX - 1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let metrics = http.get(&metrics_url).send().await.unwrap().text().await.unwrap();
    let live: Stats = http.get(format!("{base}/__admin/stats")).send().await.unwrap().json().await.unwrap();
    let _ = mock.start_kill();
    let _ = mock.wait().await; // the JSONL writer flushes as it goes; the file is read after the process is gone
    let lines = std::fs::read_to_string(&journal_file).unwrap_or_default().lines().count() as u64;
    let answered_by_code = counter_by_label(&metrics, "nppa_requests_total", "errcode");
    let faults = counter_by_label(&metrics, "nppa_faults_injected_total", "kind");
    // Faults that answer without a protocol outcome (a reset, an HTTP status) are counted as faults only.
    let without_outcome: u64 =
        faults.iter().filter(|(kind, _)| matches!(kind.as_str(), "reset" | "http_status")).map(|(_, n)| n).sum();
    let in_metrics = answered_by_code.values().sum::<u64>() + without_outcome;
    let stats = page.stats;

    println!(
        "sent {total} in {elapsed:.1} s ({:.0} req/s); the client read {} answers, {} transport errors (resets, cut answers)",
        total as f64 / elapsed,
        answered.load(Ordering::Relaxed),
        transport_errors.load(Ordering::Relaxed)
    );
    println!(
        "journal: recorded {}, in ring {}, evicted {}, file dropped {}; JSONL lines {lines}; /metrics {in_metrics} ({} with an errcode + {without_outcome} resets and HTTP faults)",
        stats.recorded,
        stats.in_ring,
        stats.evicted,
        stats.file_dropped,
        in_metrics - without_outcome
    );
    println!("faults injected: {faults:?}");
    println!("errcodes: {answered_by_code:?}");
    let rss: Vec<String> = samples.iter().map(|(n, kib)| format!("{n}: {:.1} MiB", *kib as f64 / 1024.0)).collect();
    println!("mock resident memory: {}", rss.join(", "));

    let mut failures = Vec::new();
    for (what, counted) in [("journal recorded", stats.recorded), ("JSONL lines", lines), ("/metrics", in_metrics)] {
        if counted != total {
            failures.push(format!("{what} {counted} ≠ {total} sent"));
        }
    }
    if stats.in_ring + stats.evicted != stats.recorded || stats.file_dropped != 0 {
        failures.push(format!("the journal lost entries: {stats:?}"));
    }
    // Bounded: the second half of the run (the ring full long since) may grow by pending records only (a few
    // hundred bytes each at most), never by what was sent.
    let half = samples.iter().find(|(n, _)| *n >= total / 2).map_or(rss_start, |(_, kib)| *kib);
    let end = samples.last().map_or(0, |(_, kib)| *kib);
    let per_request_bytes = end.saturating_sub(half) as f64 * 1024.0 / (total / 2) as f64;
    println!(
        "growth over the second half: {per_request_bytes:.0} bytes per request; {} pending records live at the end",
        live.live_records
    );
    if per_request_bytes > 256.0 {
        failures.push(format!("memory grows {per_request_bytes:.0} bytes per request after the ring filled"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failures.is_empty() {
        println!("soak: every request accounted for; memory bounded");
    } else {
        for f in &failures {
            eprintln!("soak: {f}");
        }
        std::process::exit(1);
    }
}
