//! The `nppa` binary as a user runs it: `nppa mock` starts with no file, prints what a client needs,
//! answers `nppa client`, refuses a bad config with the field, and stops cleanly on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const NPPA: &str = env!("CARGO_BIN_EXE_nppa");

struct RunningMock {
    child: Child,
    base_url: String,
    banner: String,
}

fn start_mock(extra: &[&str]) -> RunningMock {
    let mut child = Command::new(NPPA)
        .args(["mock", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    let mut base_url = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.trim().strip_prefix("base URL") {
            base_url = url.trim().to_owned();
        }
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("__admin/clock") && line.contains("curl") {
            break;
        }
    }
    assert!(!base_url.is_empty(), "no base URL in the banner:\n{banner}");
    RunningMock { child, base_url, banner }
}

fn terminate(mut mock: RunningMock) -> (std::process::ExitStatus, String) {
    Command::new("kill").args(["-TERM", &mock.child.id().to_string()]).status().unwrap();
    let status = mock.child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut mock.child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

fn client(base_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(NPPA).args(["client", "--base-url", base_url]).args(args).output().unwrap()
}

#[test]
fn mock_with_no_config_serves_the_spec_example_and_the_client_reaches_it() {
    let mock = start_mock(&[]);
    for needle in ["fdc6688637bc468e9aea874654cbead2", "b4c932250dbe59ff53b15ee993a9feb5", "1101999999", "nppa client"]
    {
        assert!(mock.banner.contains(needle), "banner lacks {needle}:\n{}", mock.banner);
    }
    // The web console's URL (harness/tests/console.rs opens it in a browser).
    let console = format!("console     {}/__admin/console", mock.base_url);
    assert!(mock.banner.lines().any(|l| l.trim() == console), "banner lacks {console:?}:\n{}", mock.banner);
    let ok =
        client(&mock.base_url, &["-v", "check", "--ai", "cli-1", "--name", "某一一", "--id-num", "110000190101010001"]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{stdout}{stderr}");
    // During 00:00–04:00 Beijing time the check pends (R-PEND-2); otherwise it carries the preset pi.
    assert!(stdout.contains("1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u") || stdout.contains("\"status\": 1"), "{stdout}");
    assert!(stderr.contains("> sign string: b4c932250dbe59ff53b15ee993a9feb5appId"), "{stderr}");
    // A protocol error is exit code 1, with the answer printed.
    let missing = client(&mock.base_url, &["query", "--ai", "never"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("2003"));
    let (status, stderr) = terminate(mock);
    assert!(status.success(), "clean exit on SIGTERM: {status:?}\n{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
}

#[test]
fn a_bad_config_is_refused_with_the_field_and_the_reason() {
    let dir = std::env::temp_dir().join(format!("nppa-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let text = nppa_mockserver::config::DEFAULT_TOML.replace("b4c932250dbe59ff53b15ee993a9feb5", "b4c9");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(NPPA).args(["mock", "--listen", "127.0.0.1:0", "--config"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("enterprise[0].secret_key") && stderr.contains("32 hexadecimal"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn print_config_prints_the_embedded_default() {
    let output = Command::new(NPPA).args(["mock", "--print-config"]).output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), nppa_mockserver::config::DEFAULT_TOML);
}

#[test]
fn client_cannot_reach_a_closed_port_and_says_so() {
    let output = client("http://127.0.0.1:9", &["query", "--ai", "x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("http://127.0.0.1:9"));
}

fn admin(base_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(NPPA).args(["admin", "--base-url", base_url]).args(args).output().unwrap()
}

fn json_of(output: &std::process::Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn nppa_admin_moves_the_clock_injects_faults_and_reads_the_journal() {
    let mock = start_mock(&[]);
    let before = json_of(&admin(&mock.base_url, &["clock"]))["now_ms"].as_u64().unwrap();
    let after = json_of(&admin(&mock.base_url, &["clock", "advance", "48h"]))["now_ms"].as_u64().unwrap();
    assert!(after >= before + 48 * 3_600_000);
    let rule = r#"{"interface":"query","count":1,"action":{"kind":"status","errcode":2008}}"#;
    assert_eq!(json_of(&admin(&mock.base_url, &["faults", "add", rule]))["added"][0]["id"], 1);
    let faulted = client(&mock.base_url, &["--mock-clock", "query", "--ai", "a"]);
    assert!(String::from_utf8_lossy(&faulted.stdout).contains("2008"));
    let journal = admin(&mock.base_url, &["journal"]);
    let lines = String::from_utf8_lossy(&journal.stdout).to_string();
    assert!(lines.contains("query?ai=a → errcode 2008 [fault #1: status 2008]"), "{lines}");
    let bad = admin(&mock.base_url, &["clock", "advance", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("300s"));
    // A pending check's record, read without changing it, and the game's count.
    let pending = ["--mock-clock", "check", "--ai", "p1", "--name", "某二一", "--id-num", "110000190201010009"];
    assert!(String::from_utf8_lossy(&client(&mock.base_url, &pending).stdout).contains("\"status\": 1"));
    let record = json_of(&admin(&mock.base_url, &["records", "p1"]));
    assert_eq!(
        (record["records"][0]["status"].as_u64(), record["records"][0]["deleted_by"].as_str()),
        (Some(1), Some("pending_ttl"))
    );
    assert_eq!(json_of(&admin(&mock.base_url, &["records"]))["games"][0]["live"], 1);
    // The keys are printed only when asked for (#13 item 3).
    let listed = admin(&mock.base_url, &["enterprises"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(nppa_harness::DEFAULT_SECRET_KEY));
    assert_eq!(json_of(&listed)["secret_keys"], "redacted");
    let revealed = json_of(&admin(&mock.base_url, &["enterprises", "--reveal-keys"]));
    assert_eq!(revealed["enterprises"][0]["keys"][0]["secret_key"], nppa_harness::DEFAULT_SECRET_KEY);
    let (status, _) = terminate(mock);
    assert!(status.success());
}

fn certify(args: &[&str]) -> std::process::Output {
    Command::new(NPPA).arg("certify").args(args).output().unwrap()
}

#[test]
fn certify_writes_reports_and_exits_0_1_or_2() {
    let dir = std::env::temp_dir().join(format!("nppa-certify-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = |name: &str| dir.join(name).display().to_string();

    // The reference client passes: exit 0, four reports and the journal.
    let ok = certify(&["--out", &out("ok"), "--", NPPA, "client", "flow"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
    let junit = std::fs::read_to_string(dir.join("ok/junit.xml")).unwrap();
    let xml = roxmltree::Document::parse(&junit).expect("well-formed JUnit XML");
    let suite = xml.descendants().find(|n| n.has_tag_name("testsuite")).unwrap();
    assert_eq!(suite.attribute("failures"), Some("0"));
    let cases = suite.children().filter(|n| n.has_tag_name("testcase")).count();
    assert_eq!(suite.attribute("tests"), Some(cases.to_string().as_str()));
    assert!(std::fs::read_to_string(dir.join("ok/report.html")).unwrap().contains("0 failed"));
    assert!(std::fs::read_to_string(dir.join("ok/report.md")).unwrap().contains("OFFICIAL-08"));

    // Judging the recorded journal offline gives the same verdicts.
    let offline = certify(&["--journal", &out("ok/journal.jsonl"), "--out", &out("offline")]);
    assert_eq!(offline.status.code(), Some(0));
    let rules = |path: &str| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(dir.join(path)).unwrap()).unwrap()["rules"]
            .clone()
    };
    assert_eq!(rules("ok/report.json"), rules("offline/report.json"));

    // A client that skips the test system: findings, exit 1, failures quoted in the JUnit file.
    let partial =
        certify(&["--profile", "official", "--out", &out("partial"), "--", NPPA, "client", "query", "--ai", "x"]);
    assert_eq!(partial.status.code(), Some(1));
    let junit = std::fs::read_to_string(dir.join("partial/junit.xml")).unwrap();
    let xml = roxmltree::Document::parse(&junit).unwrap();
    let failures: Vec<_> = xml.descendants().filter(|n| n.has_tag_name("failure")).collect();
    assert_eq!(failures.len(), 8);
    assert!(failures[0].attribute("message").unwrap().contains("never attempted"));
    // The suite says when the run started and how long it took; every testcase has a time (its judging's).
    let suite = xml.descendants().find(|n| n.has_tag_name("testsuite")).unwrap();
    let started = suite.attribute("timestamp").expect("a timestamp");
    assert!(chrono::DateTime::parse_from_rfc3339(started).is_ok(), "{started}");
    let seconds = |node: roxmltree::Node| node.attribute("time").map(|t| t.parse::<f64>().unwrap());
    assert!(seconds(suite).is_some_and(|t| t > 0.0), "{junit}");
    assert!(suite.children().filter(|n| n.has_tag_name("testcase")).all(|case| seconds(case).is_some()));
    // The client's output: shown live by certify, and kept in the JUnit file.
    assert!(String::from_utf8_lossy(&partial.stdout).contains("\"errcode\": 2003"));
    let system_out = suite.children().find(|n| n.has_tag_name("system-out")).and_then(|n| n.text()).unwrap();
    assert!(system_out.contains("the client's standard output") && system_out.contains("\"errcode\": 2003"));

    // A client that sends nothing: exit 2.
    let nothing = certify(&["--out", &out("nothing"), "--", "sh", "-c", "echo no NPPA_BASE_URL here >&2"]);
    assert_eq!(nothing.status.code(), Some(2));
    // It still writes JUnit: one error testcase, in plain words (no Rust debug text such as `[Some(0)]`).
    let junit = std::fs::read_to_string(out("nothing/junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let error = doc.descendants().find(|n| n.has_tag_name("error")).expect("an error testcase");
    let message = error.attribute("message").unwrap();
    assert_eq!(message, "the client sent no request (it exited with code 0); nothing to judge");
    // What the client said is there to read.
    let system_err = doc.descendants().find(|n| n.has_tag_name("system-err")).and_then(|n| n.text()).unwrap();
    assert!(system_err.contains("no NPPA_BASE_URL here"), "{junit}");
    let missing = certify(&["--out", &out("missing"), "--", "/no/such/client"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/client"));
    let junit = std::fs::read_to_string(out("missing/junit.xml")).unwrap();
    assert!(junit.contains("cannot run") && junit.contains("/no/such/client"), "{junit}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn certify_against_a_running_mock_repeats_and_bounds_the_client() {
    let dir = std::env::temp_dir().join(format!("nppa-certify-url-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Noon Beijing time, whatever the hour of the test (00:00–04:00 every check pends, R-PEND-2); the client signs
    // with its own clock, so timestamps are checked against real time.
    let config = dir.join("noon.toml");
    let text = nppa_mockserver::config::DEFAULT_TOML
        .replace("# start = \"2026-01-15T12:00:00+08:00\"", "start = \"2026-01-15T12:00:00+08:00\"")
        .replace("timestamps_clock = \"mock\"", "timestamps_clock = \"wall\"");
    assert!(text.contains("\nstart = ") && text.contains("timestamps_clock = \"wall\""));
    std::fs::write(&config, text).unwrap();
    let mock = start_mock(&["--config", config.to_str().unwrap()]);
    let out = dir.join("repeat").display().to_string();
    let run = certify(&["--mock-url", &mock.base_url, "--repeat", "2", "--out", &out, "--", NPPA, "client", "flow"]);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stdout));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("repeat/report.json")).unwrap()).unwrap();
    assert_eq!(report["runs"], serde_json::json!([0, 0]));
    assert_eq!(report["requests"].as_u64().map(|n| n >= 26), Some(true), "two runs judged: {}", report["requests"]);
    // Its journal judged again offline gives the live verdict: the recorded profile, each run on its own (run 2
    // re-checking run 1's still pending person is a new client, not a finding).
    let again = dir.join("again").display().to_string();
    let journal = dir.join("repeat/journal.jsonl").display().to_string();
    let offline = certify(&["--config", config.to_str().unwrap(), "--journal", &journal, "--out", &again]);
    assert_eq!(offline.status.code(), Some(0), "{}", String::from_utf8_lossy(&offline.stdout));
    assert!(String::from_utf8_lossy(&offline.stderr).contains("judging as recorded in report.json"));
    let rejudged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("again/report.json")).unwrap()).unwrap();
    assert_eq!((&rejudged["profile"], &rejudged["runs"]), (&report["profile"], &report["runs"]));
    assert_eq!(rejudged["rules"], report["rules"]);
    // A client past its time limit is stopped.
    let slow = certify(&[
        "--mock-url",
        &mock.base_url,
        "--timeout",
        "300ms",
        "--out",
        &dir.join("slow").display().to_string(),
        "--",
        "sleep",
        "30",
    ]);
    assert_eq!(slow.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&slow.stderr).contains("was stopped"));
    let _ = std::fs::remove_dir_all(&dir);
    let (status, _) = terminate(mock);
    assert!(status.success());
}

#[test]
fn a_1007_after_the_mock_clock_was_moved_says_why_and_what_to_do() {
    // R-TS-1 is judged on the mock clock: a client signing with its system time after `clock advance` gets 1007.
    let mock = start_mock(&[]);
    json_of(&admin(&mock.base_url, &["clock", "advance", "31s"]));
    let expired = client(&mock.base_url, &["query", "--ai", "after-a-move"]);
    assert_eq!(expired.status.code(), Some(1));
    let hint = String::from_utf8_lossy(&expired.stderr);
    assert!(hint.contains("31 s ahead of real time") && hint.contains("--mock-clock"), "{hint}");
    assert!(hint.contains("nppa admin clock advance -31s"), "{hint}");
    // The command it names works, and then the system time signs again.
    json_of(&admin(&mock.base_url, &["clock", "advance", "-31s"]));
    let answered = client(&mock.base_url, &["query", "--ai", "after-a-move"]);
    assert!(
        String::from_utf8_lossy(&answered.stdout).contains("2003"),
        "{}",
        String::from_utf8_lossy(&answered.stdout)
    );
    assert!(!String::from_utf8_lossy(&answered.stderr).contains("mock clock is"));
    let (status, _) = terminate(mock);
    assert!(status.success());
}

#[test]
fn client_v_and_the_journal_say_why_a_request_was_refused() {
    // Issue #15: after the mock clock moved 31 s, every command answered 1007 with no cause shown anywhere.
    let mock = start_mock(&[]);
    json_of(&admin(&mock.base_url, &["clock", "advance", "31s"]));
    let refused = client(&mock.base_url, &["-v", "query", "--ai", "after-a-move"]);
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refused.stderr);
    let line =
        why.lines().find(|l| l.starts_with("nppa client: refused by R-TS-1: timestamps ")).unwrap_or_else(|| {
            panic!("no cause in:\n{why}");
        });
    assert!(line.contains(" s behind the mock clock (window ±5 s); sign with the mock clock"), "{line}");
    // The journal's line of that request says the same.
    let listed = admin(&mock.base_url, &["journal", "--errcode", "1007"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("→ errcode 1007") && listed.contains("— R-TS-1: timestamps "), "{listed}");
    // Signed with the mock's clock, the same query passes the gate: nothing more is said.
    let answered = client(&mock.base_url, &["--mock-clock", "-v", "query", "--ai", "after-a-move"]);
    assert!(String::from_utf8_lossy(&answered.stdout).contains("2003"));
    let why = String::from_utf8_lossy(&answered.stderr);
    assert!(why.contains("refused by R-QRY-3: no live record of this ai") && !why.contains("R-TS-1"), "{why}");
    let (status, _) = terminate(mock);
    assert!(status.success());
}

#[test]
fn client_collections_from_a_file_number_and_time_the_records_and_name_a_wrong_field() {
    let mock = start_mock(&[]);
    // The README's sample: no `no`, no `ot` (numbered 1..n, now − 1 s).
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/batch.json");
    let sent = client(&mock.base_url, &["loginout", "--collections", sample]);
    assert_eq!(sent.status.code(), Some(0), "{}", String::from_utf8_lossy(&sent.stdout));
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.json");
    std::fs::write(&typo, r#"[{"si":"s","bt":1,"ct":2,"dii":"device"}]"#).unwrap();
    let refused = client(&mock.base_url, &["loginout", "--collections", typo.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("unknown field `dii`") && why.contains("no and ot may be left out"), "{why}");
    let (status, _) = terminate(mock);
    assert!(status.success());
}

/// A query sent from `source` (another loopback address: another client IP to the whitelist), its errcode.
async fn query_errcode_from(source: &str, base_url: &str) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let credentials = nppa_protocol::request::Credentials {
        app_id: nppa_harness::DEFAULT_APP_ID.into(),
        biz_id: nppa_harness::DEFAULT_BIZ_ID.into(),
        key: nppa_protocol::SecretKey::from_hex(nppa_harness::DEFAULT_SECRET_KEY).unwrap(),
    };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let signed = nppa_protocol::request::query(&credentials, &nppa_protocol::request::Target::Production, "x", now_ms);
    let mut head = format!("GET {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n", signed.path_and_query);
    for (name, value) in &signed.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(base_url.trim_start_matches("http://").parse().unwrap()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str::<serde_json::Value>(body).unwrap()["errcode"].as_u64().unwrap()
}

/// What the Docker image relies on: `--allow-client-ip` whitelists the bridge network's clients on production and
/// the test system (R-IP-1), `--admin-token` (or NPPA_ADMIN_TOKEN) lets a request that carries it use the admin API.
#[tokio::test]
async fn mock_flags_whitelist_a_network_and_let_the_admin_token_in() {
    let plain = start_mock(&[]);
    assert_eq!(query_errcode_from("127.0.0.2", &plain.base_url).await, 1005, "not whitelisted by default");
    terminate(plain);

    let opened = start_mock(&["--allow-client-ip", "127.0.0.0/24,127.0.1.0/24", "--admin-token", "s3cret-token"]);
    assert_eq!(query_errcode_from("127.0.0.2", &opened.base_url).await, 2003, "whitelisted: answered as usual");
    assert_eq!(query_errcode_from("127.0.1.9", &opened.base_url).await, 2003);
    assert_eq!(query_errcode_from("127.0.2.1", &opened.base_url).await, 1005, "outside both ranges");
    let with_token = Command::new(NPPA)
        .args(["admin", "--base-url", &opened.base_url, "enterprises"])
        .env("NPPA_ADMIN_TOKEN", "s3cret-token")
        .output()
        .unwrap();
    let enterprises = json_of(&with_token);
    assert_eq!(
        enterprises["enterprises"][0]["keys"][0]["secret_key"],
        nppa_harness::DEFAULT_SECRET_KEY,
        "the token sees keys"
    );
    let whitelist = enterprises["enterprises"][0]["ip_whitelist"].to_string();
    assert!(whitelist.contains("127.0.0.0/24") && whitelist.contains("127.0.1.0/24"), "{whitelist}");
    let wrong = Command::new(NPPA)
        .args(["admin", "--base-url", &opened.base_url, "--admin-token", "guess", "enterprises"])
        .output()
        .unwrap();
    assert_ne!(wrong.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    terminate(opened);

    // A value that is no address is refused at start, naming where it landed.
    let bad =
        Command::new(NPPA).args(["mock", "--listen", "127.0.0.1:0", "--allow-client-ip", "bridge"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ip_whitelist"), "{}", String::from_utf8_lossy(&bad.stderr));
}

/// `--repeat` under `--profile faults`, in-process: every run meets the whole plan, and a careful client passes
/// every run. The plan's slow answer (held past the client's 5 s timeout) is journaled after the client moved on;
/// certify waits for it before run 2 begins, so it is judged in run 1 and no run is said to have met no fault.
#[test]
fn certify_repeat_under_faults_leaves_a_careful_client_clean_in_every_run() {
    let dir = std::env::temp_dir().join(format!("nppa-certify-repeat-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("faults").display().to_string();
    let run = certify(&["--profile", "faults", "--repeat", "2", "--out", &out, "--", NPPA, "client", "flow"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("faults/report.json")).unwrap()).unwrap();
    assert_eq!(report["runs"], serde_json::json!([0, 0]));
    let notes = report["notes"].to_string();
    assert!(!notes.contains("no fault"), "a run met no fault: {notes}");
    // Each run's entries (ids above its boundary) hold the plan's slow answer: none leaked into the next run.
    let boundaries: Vec<u64> =
        report["runs_after_id"].as_array().unwrap().iter().map(|id| id.as_u64().unwrap()).collect();
    assert_eq!(boundaries.len(), 2);
    let journal = std::fs::read_to_string(dir.join("faults/journal.jsonl")).unwrap();
    let delayed_ids: Vec<u64> = journal
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|entry| {
            let note = entry["fault"].as_str().and_then(|f| f.parse::<nppa_mockserver::faults::FaultNote>().ok());
            note.and_then(|n| n.delay_ms).is_some_and(|ms| ms > 5_000)
        })
        .map(|entry| entry["id"].as_u64().unwrap())
        .collect();
    assert_eq!(delayed_ids.len(), 2, "one slow answer per run: {delayed_ids:?}");
    assert!(delayed_ids[0] <= boundaries[1] && delayed_ids[1] > boundaries[1], "{delayed_ids:?} vs {boundaries:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn certify_console_prints_the_console_url_and_the_client_gets_the_page_from_it_while_it_runs() {
    let dir = std::env::temp_dir().join(format!("nppa-certify-console-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("run").display().to_string();
    // The client: one protocol call, then the console's page from the URL it is told; its exit code says whether
    // the page came (a refused or missing page raises: exit 1).
    let fetch = "import os, sys, urllib.request\n\
                 page = urllib.request.urlopen(os.environ['NPPA_CONSOLE_URL']).read().decode()\n\
                 sys.exit(0 if 'nppa mock console' in page and '/__admin/console/console.js' in page else 3)";
    let client = r#""$NPPA_BIN" client query --ai x > /dev/null; exec python3 -c "$FETCH""#;
    let run = Command::new(NPPA)
        .args(["certify", "--console", "--out", &out, "--", "sh", "-c", client])
        .env("NPPA_BIN", NPPA)
        .env("FETCH", fetch)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let printed = stderr
        .lines()
        .find_map(|line| line.strip_prefix("nppa certify: watch the exchanges live in the console: "))
        .unwrap_or_else(|| panic!("no console URL printed:\n{stderr}"));
    assert!(printed.starts_with("http://127.0.0.1:") && printed.ends_with("/__admin/console"), "{printed}");
    let before_client = stderr.find(printed).unwrap() < stderr.find("nppa certify: run 1/1").unwrap();
    assert!(before_client, "the URL comes before the client starts:\n{stderr}");
    let recorded = nppa_harness::certify::RecordedRuns::beside(&dir.join("run/journal.jsonl")).expect("report.json");
    assert_eq!(recorded.runs, [Some(0)], "the client got the console's page:\n{stderr}");
    // Without a terminal on stdin (here, and in CI) it does not wait after the verdict.
    assert!(stderr.contains("stdin is not a terminal"), "{stderr}");
    assert_eq!(run.status.code(), Some(1), "the verdict's exit code (a client that skips the test system)");
    let _ = std::fs::remove_dir_all(&dir);
}
