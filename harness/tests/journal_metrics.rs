//! The journal (every request, its bytes, plaintext, sign check and answer; ring, JSONL file, live stream)
//! and `/metrics`, through the real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::Value;

async fn journal(mock: &Mock, query: &str) -> Value {
    let (status, value) = mock.admin("GET", &format!("/__admin/journal{query}"), None).await;
    assert_eq!(status, 200, "{value}");
    value
}

fn entries(value: &Value) -> &Vec<Value> {
    value["entries"].as_array().unwrap()
}

#[tokio::test]
async fn every_request_is_journaled_with_plaintext_sign_check_and_answer() {
    let mock = start().await;
    let client = mock.client();
    let (ai, name, id) = PRESET_OK;
    client.check(ai, name, id).await.unwrap();
    client.query("nothing-here").await.unwrap();
    let bad = mock.client_for(nppa_harness::DEFAULT_APP_ID, nppa_harness::DEFAULT_BIZ_ID, OTHER_KEY);
    bad.check(ai, name, id).await.unwrap();

    let all = journal(&mock, "").await;
    let list = entries(&all);
    assert_eq!(list.len(), 3, "admin requests are not journaled, protocol requests are");
    let check = &list[0];
    assert_eq!(check["interface"], "check");
    assert_eq!(check["method"], "POST");
    assert_eq!(check["path"], "/idcard/authentication/check");
    assert_eq!(check["sign_ok"], true);
    assert_eq!(check["errcode"], 0);
    let plaintext: Value = serde_json::from_str(check["plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(plaintext["idNum"], id);
    assert!(check["body"].as_str().unwrap().starts_with("{\"data\":\""));
    let headers: Vec<(String, String)> = serde_json::from_value(check["headers"].clone()).unwrap();
    assert!(headers.iter().any(|(k, v)| k == "appid" && v == nppa_harness::DEFAULT_APP_ID));
    assert!(check["answer"].as_str().unwrap().contains(PRESET_OK_PI));
    let query = &list[1];
    assert_eq!((query["interface"].as_str(), query["errcode"].as_u64()), (Some("query"), Some(2003)));
    assert_eq!(query["query"], "ai=nothing-here");
    let forged = &list[2];
    assert_eq!((forged["sign_ok"].as_bool(), forged["errcode"].as_u64()), (Some(false), Some(1011)));
    assert!(forged.get("plaintext").is_none(), "nothing decrypted past a bad signature");

    // Filters.
    assert_eq!(entries(&journal(&mock, "?interface=check").await).len(), 2);
    assert_eq!(entries(&journal(&mock, "?errcode=1011").await).len(), 1);
    let first_id = list[0]["id"].as_u64().unwrap();
    assert_eq!(entries(&journal(&mock, &format!("?after_id={first_id}")).await).len(), 2);
    assert_eq!(entries(&journal(&mock, "?limit=1").await).len(), 1);
    let (status, _) = mock.admin("GET", "/__admin/journal?colour=blue", None).await;
    assert_eq!(status, 400);
    // DELETE empties the ring.
    let (status, _) = mock.admin("DELETE", "/__admin/journal", None).await;
    assert_eq!(status, 200);
    assert!(entries(&journal(&mock, "").await).is_empty());
}

#[tokio::test]
async fn under_concurrent_load_every_request_is_recorded_once() {
    let dir = std::env::temp_dir().join(format!("nppa-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("journal.jsonl");
    let _ = std::fs::remove_file(&file);
    let path = file.clone();
    let mock = start_with(move |c| {
        c.server.quotas = false;
        c.journal.file = Some(path);
    })
    .await;
    const TASKS: usize = 16;
    const EACH: usize = 25;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        // A client per task: separate connections.
        let client = mock.client();
        handles.push(tokio::spawn(async move {
            for i in 0..EACH {
                let answer = client.query(&format!("t{task}-{i}")).await.unwrap();
                assert_eq!(answer.errcode(), Some(2003));
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let all = journal(&mock, "?limit=100000").await;
    let list = entries(&all);
    assert_eq!(list.len(), TASKS * EACH);
    let ais: HashSet<&str> = list.iter().map(|e| e["query"].as_str().unwrap()).collect();
    assert_eq!(ais.len(), TASKS * EACH, "each request once");
    let ids: HashSet<u64> = list.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), TASKS * EACH);
    assert_eq!(all["stats"]["recorded"], (TASKS * EACH) as u64);
    assert_eq!(all["stats"]["file_dropped"], 0);
    assert_eq!(all["stats"]["evicted"], 0);
    // The JSONL file gets every entry too (its writer thread flushes as it goes).
    let mut lines = 0;
    for _ in 0..500 {
        lines = std::fs::read_to_string(&file).unwrap_or_default().lines().count();
        if lines == TASKS * EACH {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(lines, TASKS * EACH);
    let first: Value = serde_json::from_str(std::fs::read_to_string(&file).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first["interface"], "query");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_small_ring_counts_what_it_evicts() {
    let mock = start_with(|c| c.journal.capacity = 2).await;
    for i in 0..5 {
        mock.client().query(&format!("x{i}")).await.unwrap();
    }
    let all = journal(&mock, "").await;
    assert_eq!(entries(&all).len(), 2);
    assert_eq!(all["stats"]["evicted"], 3);
    assert_eq!(all["stats"]["recorded"], 5);
}

#[tokio::test]
async fn the_live_stream_delivers_entries_as_they_happen() {
    let mock = start().await;
    let mut stream = mock.http.get(format!("{}/__admin/journal/stream", mock.base)).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "application/x-ndjson");
    let client = mock.client();
    for i in 0..3 {
        client.query(&format!("s{i}")).await.unwrap();
    }
    let mut text = String::new();
    while text.lines().count() < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let queries: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["query"].as_str().unwrap().to_owned()).collect();
    assert_eq!(queries, ["ai=s0", "ai=s1", "ai=s2"]);
}

/// `name{labels} value` of every sample in a text exposition; fails on a malformed line.
fn samples(text: &str) -> Vec<(String, f64)> {
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("malformed sample: {l}"));
            (name.to_owned(), value.parse().unwrap_or_else(|_| panic!("malformed value: {l}")))
        })
        .collect()
}

fn sample(samples: &[(String, f64)], name: &str) -> Option<f64> {
    samples.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

#[tokio::test]
async fn metrics_parse_and_match_the_requests_sent() {
    let mock = start_with(|c| c.games[0].quota.query = Some(3)).await;
    mock.freeze().await;
    let client = mock.client();
    for _ in 0..4 {
        client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    }
    client.check(PRESET_PENDING.0, PRESET_PENDING.1, PRESET_PENDING.2).await.unwrap();
    for i in 0..5 {
        client.query(&format!("m{i}")).await.unwrap(); // 3 × 2003, then 1006 twice
    }
    let response = mock.http.get(format!("{}/metrics", mock.base)).send().await.unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = response.text().await.unwrap();
    let all = samples(&text);
    assert_eq!(
        sample(&all, r#"nppa_requests_total{interface="check",errcode="0",environment="production"}"#),
        Some(5.0),
        "{text}"
    );
    assert_eq!(
        sample(&all, r#"nppa_requests_total{interface="query",errcode="2003",environment="production"}"#),
        Some(3.0)
    );
    assert_eq!(
        sample(&all, r#"nppa_requests_total{interface="query",errcode="1006",environment="production"}"#),
        Some(2.0)
    );
    assert_eq!(sample(&all, r#"nppa_request_duration_seconds_count{interface="check"}"#), Some(5.0));
    assert_eq!(sample(&all, "nppa_live_records"), Some(1.0));
    assert_eq!(sample(&all, "nppa_quota_blocks_total"), Some(1.0));
    assert_eq!(sample(&all, "nppa_journal_dropped_total"), Some(0.0));
    assert!(sample(&all, "nppa_open_connections").unwrap() >= 1.0);
}

#[tokio::test]
async fn every_family_is_there_from_the_start_with_the_build_and_test_system_traffic_apart() {
    let mock = start().await;
    let scrape = || async {
        samples(&mock.http.get(format!("{}/metrics", mock.base)).send().await.unwrap().text().await.unwrap())
    };
    let fresh = scrape().await;
    // At 0 before the first event: a rate or an alert sees the series, not a gap.
    for series in [
        r#"nppa_faults_injected_total{kind="reset"}"#,
        r#"nppa_faults_injected_total{kind="loginout_data"}"#,
        r#"nppa_http_errors_total{kind="malformed"}"#,
        r#"nppa_http_errors_total{kind="body_timeout"}"#,
        r#"nppa_connections_refused_total{reason="per_ip"}"#,
        r#"nppa_connections_refused_total{reason="max_connections"}"#,
        r#"nppa_requests_total{interface="loginout",errcode="0",environment="production"}"#,
        r#"nppa_request_duration_seconds_count{interface="query"}"#,
    ] {
        assert_eq!(sample(&fresh, series), Some(0.0), "{series} absent or not 0");
    }
    let version = format!(r#"nppa_build_info{{version="{}"}}"#, env!("CARGO_PKG_VERSION"));
    assert_eq!(sample(&fresh, &version), Some(1.0));
    // The official test system's traffic is counted apart from production's.
    let env = flow_env(&mock);
    assert_eq!(code(&env.test_case(0).unwrap().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 0);
    mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    let after = scrape().await;
    assert_eq!(sample(&after, r#"nppa_requests_total{interface="check",errcode="0",environment="test"}"#), Some(1.0));
    assert_eq!(
        sample(&after, r#"nppa_requests_total{interface="check",errcode="0",environment="production"}"#),
        Some(1.0)
    );
}

/// The standard process families (#15 item 8), of the process serving the mock: here, this test's own.
#[tokio::test]
async fn process_metrics_describe_the_serving_process() {
    let mock = start().await;
    let text = mock.http.get(format!("{}/metrics", mock.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("# TYPE process_cpu_seconds counter"), "{text}");
    let scraped = samples(&text);
    let value = |name: &str| sample(&scraped, name).unwrap_or_else(|| panic!("{name} absent:\n{text}"));
    assert!(value("process_cpu_seconds_total") > 0.0);
    let rss = value("process_resident_memory_bytes");
    assert!((1_048_576.0..8_589_934_592.0).contains(&rss), "resident memory {rss}");
    assert!(value("process_virtual_memory_bytes") >= rss);
    assert!(value("process_threads") >= 1.0);
    // This test holds at least a listening socket and a connection open.
    assert!(value("process_open_fds") >= 2.0 && value("process_open_fds") <= value("process_max_fds"));
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let started = value("process_start_time_seconds");
    assert!(started <= now_s + 1.0 && started > now_s - 3600.0, "started {started}, now {now_s}");
}

#[tokio::test]
async fn paging_by_after_id_while_32_connections_write_finds_every_id_once() {
    use std::collections::HashMap;
    let mock = start_with(|c| c.server.quotas = false).await;
    const WRITERS: usize = 32;
    const EACH: usize = 40;
    let mut writers = Vec::new();
    for task in 0..WRITERS {
        let client = mock.client();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                client.query(&format!("p{task}-{i}")).await.unwrap();
            }
        }));
    }
    let admin = mock.admin_api();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut last = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let query =
            nppa_mockserver::journal::JournalQuery { after_id: Some(last), limit: Some(50), ..Default::default() };
        let page = admin.journal(&query).await.unwrap();
        for entry in &page.entries {
            *seen.entry(entry.id).or_default() += 1;
            last = last.max(entry.id);
        }
        if done && page.entries.is_empty() {
            break;
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(seen.len(), WRITERS * EACH, "every request's entry was paged");
    assert!(seen.values().all(|n| *n == 1), "none twice");
    assert_eq!((1..=(WRITERS * EACH) as u64).filter(|id| !seen.contains_key(id)).count(), 0);
}
