//! `nppa load` and `nppa size` as a user runs them: the binary, the in-process mock, the report files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use nppa_scenarios::report::{LoadReport, SCHEMA};

fn nppa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nppa")).args(args).output().expect("nppa runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Runs `nppa load` into a fresh directory and reads its report.json back.
fn load(dir: &Path, args: &[&str]) -> (Output, Option<LoadReport>) {
    let out = dir.to_str().unwrap();
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out]);
    let output = nppa(&all);
    let report = std::fs::read_to_string(dir.join("report.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    (output, report)
}

fn assert_report_files(dir: &Path, report: &LoadReport) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Latency over time"), "HTML has its plots");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("## Latency (ms)"));
    assert_charts(&html, report);
}

/// The texts of an SVG chart with their alignment: plotters centres the title and the x axis's tick labels,
/// right-aligns the y axis's and left-aligns the legend's.
fn svg_texts(svg: &str) -> Vec<(&str, &str)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let anchor = t.split_once("text-anchor=\"")?.1.split_once('"')?.0;
            let text = t.split_once('>')?.1.split_once("</text>")?.0.trim();
            Some((anchor, text))
        })
        .collect()
}

/// What a reader checks in the charts of a real run: the seconds on the x axis are whole and none repeats, no chart
/// shows only zeros, the latency chart has a p50 and a p99 line per interface of the run and says what warm-up it
/// left out.
fn assert_charts(html: &str, report: &LoadReport) {
    let charts: Vec<Vec<(&str, &str)>> =
        html.split("<svg").skip(1).map(|c| svg_texts(c.split("</svg>").next().unwrap())).collect();
    let title = |texts: &[(&str, &str)]| texts[0].1.to_owned();
    for texts in &charts {
        let ticks: Vec<&str> =
            texts.iter().filter(|(anchor, t)| *anchor == "middle" && t.parse::<f64>().is_ok()).map(|t| t.1).collect();
        let seconds: Vec<u64> =
            ticks.iter().map(|t| t.parse().unwrap_or_else(|_| panic!("tick {t} is whole"))).collect();
        assert!(seconds.len() >= 2 && seconds.windows(2).all(|w| w[0] < w[1]), "{}: ticks {ticks:?}", title(texts));
    }
    let titles: Vec<String> = charts.iter().map(|texts| title(texts)).collect();
    let timeline = &report.timeline;
    let has = |name: &str| titles.iter().any(|t| t == name);
    assert_eq!(has("1006 and 3005"), timeline.iter().any(|p| p.errors_1006 + p.records_3005 > 0), "{titles:?}");
    assert_eq!(has("Behaviour records per second"), timeline.iter().any(|p| p.records > 0), "{titles:?}");
    let latency = charts.iter().find(|texts| title(texts).starts_with("Latency over time")).expect("a latency chart");
    let legend: Vec<&str> = latency.iter().filter(|(anchor, _)| *anchor == "start").map(|t| t.1).collect();
    let expected: Vec<String> = report.latency.keys().flat_map(|i| [format!("{i} p99"), format!("{i} p50")]).collect();
    assert_eq!(legend, expected, "one p99 and one p50 line per interface");
    if timeline.iter().any(|p| p.t >= 1 && !p.interfaces.is_empty()) {
        assert_eq!(title(latency), "Latency over time (the first 1 s left out: warm-up)");
    }
}

#[test]
fn each_scenario_runs_briefly_and_its_report_parses() {
    let runs: [(&str, &[&str]); 5] = [
        ("realname", &["--rate", "100", "--duration", "3s", "--query-after", "500ms", "--pending", "0.3"]),
        ("report", &["--rate", "10", "--duration", "2s", "--players", "100", "--session", "1s"]),
        ("mixed", &["--rate", "50", "--duration", "2s", "--players", "100"]),
        ("logout-burst", &["--players", "3000", "--window", "1s", "--burst-qps", "10"]),
        ("quota-probe", &["--interface", "check", "--rate", "20", "--step", "40", "--duration", "30s"]),
    ];
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let handles: Vec<_> = runs
        .iter()
        .map(|(scenario, args)| {
            let out = dir.join(scenario);
            let mut all = vec![*scenario];
            all.extend_from_slice(args);
            // Quota-probe on check needs a quota it can reach quickly: V1 allows 100 checks a second.
            if *scenario == "quota-probe" {
                all.extend_from_slice(&["--profile", "v1"]);
            }
            let all: Vec<String> = all.into_iter().map(String::from).collect();
            std::thread::spawn(move || {
                let args: Vec<&str> = all.iter().map(String::as_str).collect();
                let (output, report) = load(&out, &args);
                (out, output, report)
            })
        })
        .collect();
    for ((scenario, _), handle) in runs.iter().zip(handles) {
        let (out, output, report) = handle.join().unwrap();
        assert!(output.status.success(), "{scenario}: {}", text(&output));
        let report = report.unwrap_or_else(|| panic!("{scenario} wrote report.json"));
        assert_eq!(report.schema, SCHEMA);
        assert_eq!(report.scenario, *scenario);
        assert!(report.summary.requests > 0, "{scenario}");
        assert_eq!(report.summary.unexpected_errors, 0, "{scenario}: {:?}", report.summary.by_errcode);
        assert!(!report.timeline.is_empty());
        assert_report_files(&out, &report);
        match *scenario {
            "realname" => {
                assert_eq!(report.summary.requests, 300);
                assert!(report.realname.unwrap().queries > 0);
            }
            "logout-burst" => {
                let burst = report.burst.unwrap();
                assert_eq!(burst.totals.accepted, 3000);
                assert!(report.model.is_some(), "the model's prediction is in the report");
            }
            // V1's check quota is 100 a second (R-RL-1). The probe runs in real time and counts by its own seconds:
            // on a loaded machine a few requests sent near a second's end reach the mock in its next window, so the
            // count found may be a few off 100 (96 seen under CI-like load). A wrong quota (50, 150) still fails.
            "quota-probe" => {
                let found = report.probe.unwrap().limit_found;
                assert!(found.is_some_and(|limit| (90..=110).contains(&limit)), "V1 check quota: found {found:?}");
            }
            "report" => assert!(report.report.unwrap().logouts > 0),
            _ => assert!(report.latency.contains_key("check") && report.latency.contains_key("loginout")),
        }
    }
}

#[test]
fn thresholds_and_a_baseline_decide_the_exit_code() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let first = dir.join("first");
    let (output, report) = load(&first, &["realname", "--rate", "50", "--duration", "1s", "--threshold", "errors==0"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(report.unwrap().thresholds[0].passed);

    let baseline = first.join("report.json");
    let (output, report) = load(
        &dir.join("second"),
        &[
            "realname",
            "--rate",
            "50",
            "--duration",
            "1s",
            "--baseline",
            baseline.to_str().unwrap(),
            "--threshold",
            "p99<1us",
            "--threshold",
            "p99_vs_baseline<100000%",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "a failed threshold exits 1: {}", text(&output));
    assert!(text(&output).contains("FAIL"));
    let report = report.unwrap();
    assert!(!report.thresholds[0].passed && report.thresholds[1].passed, "{:?}", report.thresholds);
    let comparison = report.baseline.unwrap();
    assert_eq!(comparison.rows[0].interface, "check");
    assert!(std::fs::read_to_string(dir.join("second/report.md")).unwrap().contains("Against the baseline"));
}

#[test]
fn a_run_that_nothing_answered_exits_2_with_its_reports_written() {
    // A port that was listening and is no more: connections are refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = format!("http://127.0.0.1:{port}");
    let temp = tempfile::tempdir().unwrap();
    let (output, report) = load(temp.path(), &["realname", "--rate", "20", "--duration", "1s", "--target", &target]);
    assert_eq!(output.status.code(), Some(2), "a run with no answer passes no CI gate: {}", text(&output));
    assert!(text(&output).contains("nothing answered") && text(&output).contains(&target), "{}", text(&output));
    let report = report.expect("the reports say what happened");
    assert!(report.summary.requests > 0);
    assert_eq!(report.summary.answered(), 0);
    assert!(report.summary.first_transport_failure.is_some_and(|reason| reason.contains("connect")));
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let output = nppa(&["load", "realname", "--threshold", "p99 fast"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("no comparison"), "{}", text(&output));
    let output = nppa(&["load", "logout-burst", "--batch", "129"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("1–128"));
    let output = nppa(&["load", "realname", "--simulate"]);
    assert_eq!(output.status.code(), Some(2));
    let output = nppa(&["size", "--players", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("players"));
}

#[test]
fn size_prints_the_known_cases_with_formulas() {
    let v21 = text(&nppa(&["size", "--players", "1000000"]));
    assert!(v21.contains("157 whole seconds of quota"), "{v21}");
    assert!(v21.contains("every record reaches NPPA"), "{v21}");
    let v1 = text(&nppa(&["size", "--players", "1000000", "--profile", "v1"]));
    assert!(v1.contains("782 whole seconds of quota"), "{v1}");
    assert!(v1.contains("769600 records would be refused with 3005"), "{v1}");
    assert!(v1.contains("T            = max(R / q, W + 1 / q)"), "{v1}");
    // The loss line shows the records kept, not the players again (1 152 000 = 180 s × 50/s × 128).
    assert!(v21.contains("= 1 × max(0, 1000000 − 1152000) = 0 records answered 3005"), "{v21}");
    // A CI gate on the sizing: exit 1 only when losses are predicted.
    let gate = |profile: &str| nppa(&["size", "--players", "1000000", "--profile", profile, "--fail-on-loss"]);
    assert_eq!(gate("v2.1").status.code(), Some(0));
    let lossy = gate("v1");
    assert_eq!(lossy.status.code(), Some(1), "{}", text(&lossy));
    assert!(String::from_utf8_lossy(&lossy.stderr).contains("769600 records predicted lost"));
}

#[test]
fn size_simulate_agrees_with_the_model() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let out = dir.join("size");
    let output = nppa(&[
        "size",
        "--players",
        "60000",
        "--window",
        "30s",
        "--quota",
        "2",
        "--simulate",
        "--out",
        out.to_str().unwrap(),
    ]);
    let printed = text(&output);
    assert!(output.status.success(), "{printed}");
    let drain = printed.lines().find(|l| l.starts_with("drain time (s)")).unwrap();
    let numbers: Vec<f64> = drain.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let (model, simulated) = (numbers[0], numbers[1]);
    assert!((model - simulated).abs() / model < 0.05, "{drain}");
    let report: LoadReport = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(report.simulated);
    assert!(
        report.burst.unwrap().totals.lost_3005 > 0,
        "60 000 players at 2 × 128 records/s: 234 s to drain, the tail is late"
    );
}

/// Runs `nppa load realname` against `target` for 2 s with `SSL_CERT_FILE=trusted`, into `dir/name`; its output, its
/// report.json and goose's report.
fn load_https(target: &str, dir: &Path, trusted: &Path, name: &str) -> (Output, Option<LoadReport>, String) {
    let out = dir.join(name);
    let output = Command::new(env!("CARGO_BIN_EXE_nppa"))
        .args(["load", "realname", "--target", target, "--rate", "20", "--duration", "2s", "--users", "2"])
        .args(["--goose-report", "--out", out.to_str().unwrap()])
        .env("SSL_CERT_FILE", trusted)
        // The default log level, whatever the caller's.
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let report = std::fs::read_to_string(out.join("report.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    (output, report, std::fs::read_to_string(out.join("goose.html")).unwrap_or_default())
}

/// `--target https://…` as a user runs it: the driver checks the target's certificate (the mock's local CA, trusted
/// through `SSL_CERT_FILE`), and `--goose-report` still counts every request in goose's own report. Untrusted, no
/// request goes out. (`SSL_CERT_FILE` replaces the system's roots on Linux; elsewhere the platform's store rules.)
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_target_is_loaded_once_its_ca_is_trusted_and_goose_s_report_counts_each_request() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_owned();
    let mut config = nppa_mockserver::config::Config::embedded_default();
    config.server.tls = true;
    config.server.tls_dir = dir.join("tls");
    let server = nppa_mockserver::MockServer::new(config).unwrap().bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let ca = server.ca_path().unwrap().to_owned();
    let target = server.base_url();
    assert!(target.starts_with("https://"), "{target}");
    let (output, report, goose) = {
        let (target, dir, ca) = (target.clone(), dir.clone(), ca.clone());
        tokio::task::spawn_blocking(move || load_https(&target, &dir, &ca, "trusted")).await.unwrap()
    };
    assert!(output.status.success(), "{}", text(&output));
    let report = report.unwrap();
    assert_eq!(report.summary.requests, 40);
    assert_eq!(report.summary.unexpected_errors, 0, "{:?}", report.summary.by_errcode);
    // goose's report has the checks under goose's usual label, with their count.
    assert!(goose.contains("POST check"), "goose.html names the requests");
    let row = goose.split("<td>check</td>").nth(1).unwrap_or_default();
    assert!(
        row.trim_start().starts_with("<td>40</td>"),
        "goose.html counts the 40 checks: {}",
        &row[..row.len().min(200)]
    );
    // Trusting another CA (another mock's) only: the driver refuses the certificate, and says so once.
    let mut other = nppa_mockserver::config::Config::embedded_default();
    other.server.tls = true;
    other.server.tls_dir = dir.join("other-tls");
    let other = nppa_mockserver::MockServer::new(other).unwrap().bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let other_ca = other.ca_path().unwrap().to_owned();
    other.shutdown().await;
    let (output, report, _) =
        tokio::task::spawn_blocking(move || load_https(&target, &dir, &other_ca, "untrusted")).await.unwrap();
    let report = report.unwrap();
    assert_eq!(report.summary.by_errcode.get("transport"), Some(&40), "{:?}", report.summary.by_errcode);
    let reason = report.summary.first_transport_failure.unwrap_or_default();
    // The other CA has the same name as the mock's: rustls finds the issuer, and its signature wrong.
    assert!(reason.starts_with("TLS: invalid peer certificate"), "{reason}");
    let printed = text(&output);
    assert!(printed.contains(&format!("40 requests got no answer; the first: {reason}")), "{printed}");
    assert!(!printed.contains("ERROR"), "one sentence, not a log line per request: {printed}");
    server.shutdown().await;
}
