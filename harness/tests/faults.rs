//! Fault injection through the real server: each fault kind as a client sees it, seeded repeatability,
//! filters by interface, tenant, count and mock-clock window, and the scenario switches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use nppa_mockserver::faults::{FaultEffect, FaultKind, FaultNote};
use nppa_mockserver::journal::JournalEntry;
use nppa_protocol::StatusCode;
use serde_json::{json, Value};

async fn add(mock: &Mock, rule: Value) -> Value {
    let (status, answer) = mock.admin("POST", "/__admin/faults", Some(rule)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// A signed query sent with `http`, bypassing the reference client's answer handling.
async fn send_query(mock: &Mock, http: &reqwest::Client, ai: &str) -> Result<reqwest::Response, reqwest::Error> {
    let credentials = mock.client().credentials().clone();
    let target = nppa_protocol::request::Target::Production;
    let signed = nppa_protocol::request::query(&credentials, &target, ai, mock.now_ms().await);
    let mut request = http.get(format!("{}{}", mock.base, signed.path_and_query));
    for (name, value) in &signed.headers {
        request = request.header(*name, value);
    }
    request.send().await
}

/// A raw signed query, to see exactly what came back (status, body), or the transport error.
async fn raw_query(mock: &Mock, ai: &str) -> Result<(u16, String), reqwest::Error> {
    let response = send_query(mock, &mock.http, ai).await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test]
async fn forced_status_codes_reach_the_client_and_the_journal() {
    let mock = start().await;
    for code in [2006u16, 2007, 2008, 4001, 1001] {
        add(&mock, json!({"interface": "check", "count": 1, "action": {"kind": "status", "errcode": code}})).await;
        let answer = mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
        assert_eq!(common::code(&answer), code);
        let errmsg = answer.answer.as_ref().and_then(|a| a.errmsg.as_deref());
        assert_eq!(errmsg, Some(nppa_protocol::StatusCode::from_code(code).unwrap().errmsg()));
    }
    // Spent rules leave the next check alone; the query interface was never touched.
    assert_eq!(code(&mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 0);
    let (_, journal) = mock.admin("GET", "/__admin/journal?errcode=2007", None).await;
    // The JSON text is the contract; the typed entry says the same.
    assert_eq!(journal["entries"][0]["fault"], "fault #2: status 2007");
    let entry: JournalEntry = serde_json::from_value(journal["entries"][0].clone()).unwrap();
    let note = entry.fault.unwrap();
    assert_eq!(
        note,
        FaultNote { rule: 2, effect: Some(FaultEffect::Status(StatusCode::RemoteStateError)), delay_ms: None }
    );
    assert_eq!(note.kind(), FaultKind::Status);
}

#[tokio::test]
async fn http_status_with_and_without_a_body() {
    let mock = start().await;
    add(&mock, json!({"count": 1, "action": {"kind": "http_status", "status": 502}})).await;
    add(&mock, json!({"count": 1, "action": {"kind": "http_status", "status": 503, "body": "{\"errcode\":1001,\"errmsg\":\"SYS ERROR\"}"}})).await;
    assert_eq!(raw_query(&mock, "a").await.unwrap(), (502, String::new()));
    assert_eq!(raw_query(&mock, "a").await.unwrap(), (503, r#"{"errcode":1001,"errmsg":"SYS ERROR"}"#.to_owned()));
    assert_eq!(raw_query(&mock, "a").await.unwrap().0, 200);
}

#[tokio::test]
async fn reset_truncate_and_corrupt() {
    let mock = start().await;
    add(&mock, json!({"count": 1, "action": {"kind": "reset"}})).await;
    assert!(raw_query(&mock, "a").await.is_err(), "the connection closes without an answer");
    add(&mock, json!({"count": 1, "action": {"kind": "truncate"}})).await;
    let (status, truncated) = raw_query(&mock, "a").await.unwrap();
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&truncated).is_err(), "{truncated}");
    assert!(truncated.starts_with(r#"{"errcode":2003"#), "{truncated}");
    add(&mock, json!({"count": 1, "action": {"kind": "corrupt"}})).await;
    let (_, body) = raw_query(&mock, "a").await.unwrap();
    assert!(body.starts_with(r#"{"errcode"=2003"#), "{body}");
    // The journal tells what the client got.
    let (_, journal) = mock.admin("GET", "/__admin/journal", None).await;
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries[0]["connection_reset"], true);
    assert!(entries[0].get("errcode").is_none());
    assert_eq!(entries[1]["errcode"], 2003, "the errcode the server meant");
    assert_eq!(entries[1]["answer"].as_str().unwrap(), truncated, "the answer as sent");
    let effects: Vec<Option<FaultEffect>> = entries
        .iter()
        .map(|e| serde_json::from_value::<JournalEntry>(e.clone()).unwrap().fault.and_then(|note| note.effect))
        .collect();
    assert_eq!(effects, [Some(FaultEffect::Reset), Some(FaultEffect::Truncate), Some(FaultEffect::Corrupt)]);
}

#[tokio::test]
async fn loginout_data_shapes_seen_in_the_wild() {
    let mock = start().await;
    for (shape, expected) in [
        ("absent", r#"{"errcode":0,"errmsg":"OK"}"#),
        ("null", r#"{"errcode":0,"errmsg":"OK","data":null}"#),
        ("object", r#"{"errcode":0,"errmsg":"OK","data":{}}"#),
        ("empty_string", r#"{"errcode":0,"errmsg":"OK","data":""}"#),
    ] {
        add(&mock, json!({"interface": "loginout", "count": 1, "action": {"kind": "loginout_data", "shape": shape}}))
            .await;
        let now = mock.now_ms().await;
        let answer = mock.client().loginout(vec![guest(1, "s", 1, now)]).await.unwrap();
        assert_eq!(answer.response_body, expected);
    }
}

#[tokio::test]
async fn latency_makes_a_short_client_timeout_fire() {
    let mock = start().await;
    add(&mock, json!({"interface": "query", "count": 1, "delay_ms": 2000})).await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let client = mock.client();
    let error = send_query(&mock, &impatient, "x").await.expect_err("the answer comes after 2 s");
    assert!(error.is_timeout());
    // The rule is spent: the next query is answered at once.
    assert_eq!(code(&client.query("x").await.unwrap()), 2003);
}

/// Which of `n` queries a probability-0.5 rule hits, under `seed`.
async fn pattern(mock: &Mock, seed: u64, n: usize) -> Vec<bool> {
    mock.admin("DELETE", "/__admin/faults", None).await;
    add(mock, json!({"seed": seed, "rules": [{"probability": 0.5, "action": {"kind": "status", "errcode": 2008}}]}))
        .await;
    let client = mock.client();
    let mut hits = Vec::new();
    for i in 0..n {
        hits.push(code(&client.query(&format!("p{i}")).await.unwrap()) == 2008);
    }
    hits
}

#[tokio::test]
async fn the_same_seed_gives_the_same_sequence() {
    let mock = start().await;
    let first = pattern(&mock, 7, 40).await;
    assert_eq!(first, pattern(&mock, 7, 40).await);
    assert_ne!(first, pattern(&mock, 8, 40).await, "another seed, another sequence");
    let hits = first.iter().filter(|h| **h).count();
    assert!((8..=32).contains(&hits), "{hits} of 40");
}

#[tokio::test]
async fn tenant_and_window_filters_and_the_mps_outage_scenario() {
    let mock = start().await;
    mock.freeze().await;
    add(&mock, json!({"app_id": OTHER_APP_ID, "action": {"kind": "status", "errcode": 2006}})).await;
    let other = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    assert_eq!(code(&other.query("x").await.unwrap()), 2006);
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 2003, "another tenant is untouched");
    mock.admin("DELETE", "/__admin/faults", None).await;

    let (status, _) = mock.admin("POST", "/__admin/scenarios/mps-outage", Some(json!({"duration_ms": 60_000}))).await;
    assert_eq!(status, 200);
    let client = mock.client();
    assert_eq!(code(&client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 2007);
    assert_eq!(code(&client.query("x").await.unwrap()), 2003, "queries read stored results");
    mock.advance(60_000).await;
    assert_eq!(code(&client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 0, "the outage is over");
}

#[tokio::test]
async fn the_pending_ratio_switch_changes_unknown_people_at_run_time() {
    let mock = start().await;
    let client = mock.client();
    assert_eq!(client.check("r1", "张三", &id_num(900)).await.unwrap().status(), Some(0));
    let (status, _) = mock.admin("POST", "/__admin/scenarios/pending-ratio", Some(json!({"fraction": 1.0}))).await;
    assert_eq!(status, 200);
    assert_eq!(client.check("r2", "张三", &id_num(901)).await.unwrap().status(), Some(1));
    let (status, _) = mock.admin("POST", "/__admin/scenarios/pending-ratio", Some(json!({"fraction": 1.5}))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn rules_are_listed_removed_and_refused_when_wrong() {
    let mock = start().await;
    let added = add(&mock, json!({"interface": "query", "action": {"kind": "reset"}})).await;
    let id = added["added"][0]["id"].as_u64().unwrap();
    let (_, list) = mock.admin("GET", "/__admin/faults", None).await;
    assert_eq!(list["rules"][0]["interface"], "query");
    assert_eq!(mock.admin("DELETE", &format!("/__admin/faults/{id}"), None).await.0, 200);
    assert_eq!(mock.admin("DELETE", &format!("/__admin/faults/{id}"), None).await.0, 404);
    let (status, error) =
        mock.admin("POST", "/__admin/faults", Some(json!({"action": {"kind": "status", "errcode": 9999}}))).await;
    assert_eq!(status, 400);
    assert!(error["error"].as_str().unwrap().contains("unknown NPPA status code 9999"), "{error}");
    let batch =
        json!({"seed": 1, "rules": [{"action": {"kind": "reset"}}, {"action": {"kind": "status", "errcode": 9999}}]});
    let (status, error) = mock.admin("POST", "/__admin/faults", Some(batch)).await;
    assert_eq!(status, 400);
    assert!(error["error"].as_str().unwrap().contains("unknown NPPA status code 9999"), "{error}");
    let (status, error) =
        mock.admin("POST", "/__admin/faults", Some(json!({"probability": 2.0, "action": {"kind": "reset"}}))).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "probability is between 0 and 1");
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 2003);
}

#[tokio::test]
async fn a_delay_does_not_age_timestamps_checked_against_real_time() {
    // R-TS-1 judges a request at its arrival; with `timestamps_clock = "wall"` that is real time at arrival, not
    // when a fault's delay ends (certify's in-process mock inside the 00:00–04:00 outage runs so).
    use nppa_harness::client::TimeSource;
    use nppa_mockserver::faults::{FaultRequest, FaultRule};
    let mock = start_with(|config| {
        config.rules.timestamps_clock = nppa_mockserver::config::TimestampsClock::Wall;
        config.rules.timestamp_window_ms = 1_000;
    })
    .await;
    let delayed = FaultRule { count: Some(1), delay_ms: Some(2_500), ..FaultRule::default() };
    mock.server.service().faults().add(FaultRequest::One(delayed)).unwrap();
    let client = mock.client().with_time(TimeSource::System);
    assert_eq!(code(&client.query("delayed").await.unwrap()), 2003, "judged at arrival, within the 1 s window");
}
