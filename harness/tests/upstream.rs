//! Upstream mode (issue #17) through the real thing: the upstream is a second `nppa mock` on loopback with another
//! configuration, so that its answers can be told from the front mock's; every request goes over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::judge;
use nppa_harness::certify::model::Verdict;
use nppa_harness::certify::rules::Profile;
use nppa_mockserver::journal::JournalEntry;
use nppa_protocol::request::SignedRequest;

/// The front mock, forwarding everything to `upstream` (the test configuration otherwise).
async fn front_of(upstream: &Mock, edit: impl FnOnce(&mut nppa_mockserver::Config)) -> Mock {
    let url = upstream.base.clone();
    start_with(move |c| {
        c.upstream.url = Some(url);
        edit(c);
    })
    .await
}

/// A request's parts that must reach the upstream as the client sent them: everything but `Host` and the
/// connection's own headers.
#[derive(Debug, PartialEq)]
struct AsSent {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

fn as_sent(entry: &JournalEntry) -> AsSent {
    let hop = ["host", "connection", "keep-alive", "transfer-encoding"];
    AsSent {
        method: entry.method.clone(),
        path: entry.path.clone(),
        query: entry.query.clone(),
        headers: entry.headers.iter().filter(|(n, _)| !hop.contains(&n.as_str())).cloned().collect(),
        body: entry.body.clone(),
    }
}

/// A loginout whose plaintext has no `collections`: 1001 by the front's configuration, 1011 by the upstream's.
fn without_collections(now_ms: u64) -> SignedRequest {
    crafted::sealed("/behavior/collection/loginout", r#"{"records":[]}"#, now_ms)
}

#[tokio::test]
async fn pass_through_keeps_the_bytes_both_ways_and_the_answers_are_the_upstreams() {
    let upstream = start_with(|c| c.rules.missing_collections_code = 1011).await;
    let front = front_of(&upstream, |_| {}).await;
    let client = front.client();
    let check = client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    let query = client.query("never-checked").await.unwrap();
    let now = client.now_ms().await.unwrap();
    let loginout = client.loginout(vec![guest(1, "s-1", 1, now)]).await.unwrap();
    let refused = client.send(without_collections(now)).await.unwrap();
    assert_eq!((code(&check), check.pi()), (0, Some(PRESET_OK_PI)));
    assert_eq!((code(&query), code(&loginout)), (2003, 0));
    assert_eq!(code(&refused), 1011, "the upstream's rule answered, not the front's (1001)");

    let (sent, received) = (entries(&front), entries(&upstream));
    assert_eq!(sent.len(), 4, "every request journaled by the front");
    assert_eq!(received.len(), 4, "every request reached the upstream once, no more");
    let answers = [&check, &query, &loginout, &refused].map(|e| e.response_body.clone());
    for ((front_entry, upstream_entry), answer) in sent.iter().zip(&received).zip(answers) {
        assert_eq!(as_sent(front_entry), as_sent(upstream_entry), "the request changed on its way up");
        assert_eq!(upstream_entry.header("host"), Some(upstream.base.trim_start_matches("http://")));
        assert_eq!(front_entry.answer, upstream_entry.answer, "the answer changed on its way back");
        assert_eq!(front_entry.answer, answer, "the client read another answer than the journal's");
        assert_eq!(front_entry.http_status, upstream_entry.http_status);
        assert_eq!(front_entry.errcode, upstream_entry.errcode);
        assert_eq!(front_entry.plaintext, upstream_entry.plaintext, "decrypted with the front's configured key");
        let note = front_entry.upstream.as_ref().expect("an upstream note");
        let path = match &front_entry.query {
            Some(query) => format!("{}?{query}", front_entry.path),
            None => front_entry.path.clone(),
        };
        assert_eq!(note.url, format!("{}{path}", upstream.base));
        assert_eq!((note.status, note.error.as_deref()), (Some(200), None));
        assert!(upstream_entry.upstream.is_none(), "the upstream answered itself");
    }
    assert_eq!(sent[0].sign_ok, Some(true), "the sign checked with the configured key");
    assert_eq!(front.live_records().await, 0, "the front's own state was not run");
    assert_eq!(metric(&front, r#"nppa_upstream_requests_total{outcome="answered"}"#).await, 4.0);
    assert_eq!(metric(&upstream, r#"nppa_upstream_requests_total{outcome="answered"}"#).await, 0.0);
}

#[tokio::test]
async fn an_upstream_1006_and_its_http_status_pass_through_once() {
    use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
    let upstream = start().await;
    let front = front_of(&upstream, |_| {}).await;
    let busy = FaultRule {
        action: Some(FaultAction::Status { errcode: nppa_protocol::StatusCode::Busy }),
        ..FaultRule::default()
    };
    upstream.admin_api().add_faults(&FaultRequest::One(busy)).await.unwrap();
    let answer = front.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(code(&answer), 1006);
    assert_eq!(entries(&upstream).len(), 1, "a 1006 is the client's to retry, never the forwarder's");
    let unavailable = FaultRule {
        action: Some(FaultAction::HttpStatus { status: 503, body: Some("busy".into()) }),
        ..FaultRule::default()
    };
    upstream.admin_api().reset().await.unwrap();
    upstream.admin_api().add_faults(&FaultRequest::One(unavailable)).await.unwrap();
    let response = front.http.get(format!("{}/idcard/authentication/query?ai=x", front.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.text().await.unwrap(), "busy");
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_clear_502_journaled_and_counted() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let front = start_with(|c| c.upstream.url = Some(format!("http://{closed}"))).await;
    let response = front.http.get(format!("{}/idcard/authentication/query?ai=x", front.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 502);
    let text = response.text().await.unwrap();
    let url = format!("http://{closed}/idcard/authentication/query?ai=x");
    assert!(text.contains(&format!("the upstream {url} could not be reached")), "{text}");
    assert!(text.to_lowercase().contains("connection refused"), "the cause is named: {text}");
    let entry = entries(&front).pop().expect("journaled");
    assert_eq!((entry.http_status, entry.errcode), (502, None));
    let note = entry.upstream.expect("an upstream note");
    assert_eq!((note.url, note.status), (url, None));
    assert!(note.error.is_some_and(|e| e.contains("could not be reached")));
    assert_eq!(metric(&front, r#"nppa_upstream_requests_total{outcome="unreachable"}"#).await, 1.0);
    assert_eq!(metric(&front, r#"nppa_upstream_requests_total{outcome="answered"}"#).await, 0.0);
}

/// An upstream that takes every query in and answers it only after `delay_ms`, or (`reset`) closes the connection
/// without answering, having read it.
async fn slow_or_silent_upstream(delay_ms: Option<u64>, reset: bool) -> Mock {
    use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
    let upstream = start().await;
    let rule = FaultRule {
        interface: Some(nppa_protocol::Interface::Query),
        delay_ms,
        action: reset.then_some(FaultAction::Reset),
        ..FaultRule::default()
    };
    upstream.admin_api().add_faults(&FaultRequest::One(rule)).await.unwrap();
    upstream
}

/// Waits (real time, up to 5 s) until `done`: what a slow upstream or a closing connection brings about.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never came to pass");
}

#[tokio::test]
async fn a_client_that_hangs_up_before_the_upstream_answers_still_leaves_the_exchange_journaled_and_counted() {
    // The upstream got the request and acted on it: the record of what went over the wire must not depend on the
    // client's patience. In upstream mode and in shadow mode.
    for shadow in [false, true] {
        let upstream = slow_or_silent_upstream(Some(1_500), false).await;
        let front = front_of(&upstream, |c| c.upstream.shadow = shadow).await;
        let impatient = reqwest::Client::builder().timeout(std::time::Duration::from_millis(300)).build().unwrap();
        let gave_up = front.client().with_http(impatient).query("never-checked").await;
        assert!(gave_up.is_err(), "the client gave up before the upstream answered");
        let entry = journaled(&front, 1).await.pop().unwrap();
        let note = entry.upstream.expect("an upstream note");
        assert_eq!((note.shadow, note.status, note.error), (shadow, Some(200), None), "shadow mode: {shadow}");
        assert!(note.latency_ms >= 1_400.0, "the upstream's latency, not the client's: {}", note.latency_ms);
        assert_eq!(metric(&front, r#"nppa_upstream_requests_total{outcome="answered"}"#).await, 1.0);
        assert_eq!(entries(&upstream).len(), 1, "sent once");
    }
}

#[tokio::test]
async fn a_forward_still_waiting_when_the_mock_stops_is_given_up_inside_the_grace_journaled_and_answered() {
    let upstream = slow_or_silent_upstream(Some(60_000), false).await;
    let Mock { server, base, http } = front_of(&upstream, |_| {}).await;
    let service = std::sync::Arc::clone(server.service());
    let waiting =
        tokio::spawn(async move { http.get(format!("{base}/idcard/authentication/query?ai=x")).send().await });
    // Stopped once the upstream holds the request (its delayed answer counts as held until it leaves).
    eventually(|| upstream.server.service().answers_held() == 1).await;
    server.shutdown().await;
    let answer = waiting.await.unwrap().expect("the client is answered before the mock is gone");
    assert_eq!(answer.status().as_u16(), 502);
    assert!(answer.text().await.unwrap().contains("had not answered when the mock stopped"));
    let query = nppa_mockserver::journal::JournalQuery { limit: Some(10), ..Default::default() };
    let entry = service.journal().query(&query).pop().expect("journaled before the mock stopped");
    let note = entry.upstream.expect("an upstream note");
    assert!(note.error.is_some_and(|e| e.contains("it may have acted on the request")));
    let outcome = service.metrics().render();
    assert!(outcome.contains(r#"nppa_upstream_requests_total{outcome="broke_off"} 1"#), "{outcome}");
}

#[tokio::test]
async fn forwards_that_outlive_their_clients_stay_within_the_connection_limit() {
    // One place: a client that hangs up frees its connection, but its forward still holds the place at the upstream.
    let upstream = slow_or_silent_upstream(Some(1_500), false).await;
    let front = front_of(&upstream, |c| c.server.max_connections = 1).await;
    let impatient = reqwest::Client::builder().timeout(std::time::Duration::from_millis(300)).build().unwrap();
    assert!(front.client().with_http(impatient).query("first").await.is_err(), "the first client gave up");
    eventually(|| front.server.service().metrics().render().contains("nppa_open_connections 0")).await;
    let second = front.client().query("second").await.unwrap();
    assert_eq!(code(&second), 2003, "answered once the first forward was done");
    let at_upstream = entries(&upstream);
    let [first, second] = &at_upstream[..] else { panic!("two requests at the upstream: {at_upstream:#?}") };
    assert!(first.query.as_deref() == Some("ai=first") && second.query.as_deref() == Some("ai=second"));
    assert!(
        second.arrived_ms >= first.time_ms,
        "the second reached the upstream ({}) before the first was answered ({})",
        second.arrived_ms,
        first.time_ms
    );
}

#[tokio::test]
async fn a_forward_still_waiting_for_a_place_when_the_mock_stops_is_journaled_and_never_sent() {
    let upstream = slow_or_silent_upstream(Some(60_000), false).await;
    let Mock { server, base, .. } = front_of(&upstream, |c| c.server.max_connections = 1).await;
    let service = std::sync::Arc::clone(server.service());
    // Two clients that hang up, one after the other (one connection at a time): the first's forward holds the one
    // place at the upstream, the second's waits for it.
    let impatient = reqwest::Client::builder().timeout(std::time::Duration::from_millis(300)).build().unwrap();
    for ai in ["holds", "waits"] {
        eventually(|| service.metrics().render().contains("nppa_open_connections 0")).await;
        assert!(impatient.get(format!("{base}/idcard/authentication/query?ai={ai}")).send().await.is_err());
    }
    eventually(|| service.answers_held() == 2).await;
    server.shutdown().await;
    let query = nppa_mockserver::journal::JournalQuery { limit: Some(10), ..Default::default() };
    let errors: Vec<(Option<String>, String)> = service
        .journal()
        .query(&query)
        .into_iter()
        .map(|e| (e.query, e.upstream.and_then(|u| u.error).unwrap_or_default()))
        .collect();
    assert_eq!(errors.len(), 2, "both journaled before the mock stopped: {errors:#?}");
    let error_of = |ai: &str| errors.iter().find(|(q, _)| q.as_deref() == Some(ai)).map(|(_, e)| e.as_str());
    assert!(error_of("ai=holds").is_some_and(|e| e.contains("had not answered when the mock stopped")), "{errors:#?}");
    assert!(error_of("ai=waits").is_some_and(|e| e.contains("was not sent: the mock was stopping")), "{errors:#?}");
    assert_eq!(upstream.server.service().answers_held(), 1, "nothing reached the upstream once the mock was stopping");
    let metrics = service.metrics().render();
    assert!(metrics.contains(r#"nppa_upstream_requests_total{outcome="not_forwarded"} 1"#), "{metrics}");
}

#[tokio::test]
async fn an_upstream_that_takes_the_request_and_closes_is_told_from_one_never_reached() {
    let upstream = slow_or_silent_upstream(None, true).await;
    let front = front_of(&upstream, |_| {}).await;
    let response = front.http.get(format!("{}/idcard/authentication/query?ai=x", front.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 502);
    let text = response.text().await.unwrap();
    assert!(text.starts_with("nppa mock: the upstream http://"), "{text}");
    assert!(text.contains("broke off the exchange after the request went out (it may have acted on it)"), "{text}");
    assert_eq!(entries(&upstream).len(), 1, "the upstream read the request (and journaled its reset)");
    let broke_off = metric(&front, r#"nppa_upstream_requests_total{outcome="broke_off"}"#).await;
    let unreachable = metric(&front, r#"nppa_upstream_requests_total{outcome="unreachable"}"#).await;
    assert_eq!((broke_off, unreachable), (1.0, 0.0));
    let note = entries(&front).pop().unwrap().upstream.unwrap();
    assert!(note.error.is_some_and(|e| e.contains("broke off")));
}

#[tokio::test]
async fn proxy_mode_forwards_a_client_with_nppas_hosts_hard_coded() {
    let dir = std::env::temp_dir().join(format!("nppa-upstream-proxy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Such a client signs with its own clock.
    let upstream = start_with(|c| c.rules.timestamps_clock = nppa_mockserver::config::TimestampsClock::Wall).await;
    let tls_dir = dir.clone();
    let front = front_of(&upstream, move |c| {
        c.server.proxy = true;
        c.server.tls_dir = tls_dir;
    })
    .await;
    let pem = std::fs::read(front.server.ca_path().unwrap()).unwrap();
    let through_front = nppa_harness::client::http_client(Some(&pem), Some(&front.base)).unwrap();
    let hard_coded = |host: &str| {
        let (app_id, biz_id, key) =
            (nppa_harness::DEFAULT_APP_ID, nppa_harness::DEFAULT_BIZ_ID, nppa_harness::DEFAULT_SECRET_KEY);
        nppa_harness::client::Client::new(host, app_id, biz_id, key).unwrap().with_http(through_front.clone())
    };
    let check = hard_coded("https://api.wlc.nppa.gov.cn").check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!((code(&check), check.pi()), (0, Some(PRESET_OK_PI)));
    let query = hard_coded("http://api2.wlc.nppa.gov.cn").query("nothing").await.unwrap();
    assert_eq!(code(&query), 2003);
    let targets: Vec<Option<String>> = entries(&front).into_iter().map(|e| e.target).collect();
    assert_eq!(targets, [Some("https://api.wlc.nppa.gov.cn".into()), Some("http://api2.wlc.nppa.gov.cn".into())]);
    let paths: Vec<String> = entries(&upstream).into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["/idcard/authentication/check", "/idcard/authentication/query"], "both reached the upstream");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each rule's id and verdict.
fn verdicts(report: &nppa_harness::certify::model::CertifyReport) -> Vec<(&'static str, Verdict)> {
    report.rules.iter().map(|r| (r.id, r.verdict)).collect()
}

#[tokio::test]
async fn recording_then_certifying_gives_the_verdicts_of_certifying_live() {
    let live = start().await;
    nppa_harness::certify::reference::run(&flow_env(&live)).await.unwrap();
    let live_report = judge(&entries(&live), live.server.service().config(), Profile::All, vec![], vec![Some(0)]);

    let upstream = start().await;
    let front = front_of(&upstream, |_| {}).await;
    nppa_harness::certify::reference::run(&flow_env(&front)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let lines: String = entries(&front).iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    std::fs::write(&journal, lines).unwrap();
    let recorded = nppa_harness::certify::read_journal(&journal).unwrap();
    assert!(recorded.iter().all(|e| e.upstream.is_some()), "every request went upstream");
    let recorded_report = judge(&recorded, front.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    assert_eq!(verdicts(&recorded_report), verdicts(&live_report));
    assert!(verdicts(&live_report).iter().any(|(_, v)| *v == Verdict::Passed), "the comparison judged something");
    assert_eq!(recorded_report.answered_by, std::slice::from_ref(&upstream.base));
    assert!(live_report.answered_by.is_empty() && live_report.notes.iter().all(|n| !n.contains("upstream")));

    // `nppa certify --journal` says so in every report.
    let out = dir.path().join("reports");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_nppa"))
        .args(["certify", "--journal"])
        .arg(&journal)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "the reference client passes, recorded as live");
    let said = |file: &str| std::fs::read_to_string(out.join(file)).unwrap();
    for file in ["report.md", "report.html", "junit.xml"] {
        let text = said(file);
        assert!(text.contains("the answers judged are the upstream") && text.contains(&upstream.base), "{file}");
    }
    let json: serde_json::Value = serde_json::from_str(&said("report.json")).unwrap();
    assert_eq!(json["answered_by"], serde_json::json!([upstream.base]));
    assert!(said("junit.xml").contains(&format!(r#"<property name="nppa.answered_by" value="{}"/>"#, upstream.base)));
}

#[tokio::test]
async fn https_upstreams_are_verified_against_the_systems_roots_and_upstream_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().to_owned();
    // An upstream with a CA of its own, unknown to the system.
    let upstream = start_with(move |c| {
        c.server.tls = true;
        c.server.tls_dir = tls_dir;
    })
    .await;
    assert!(upstream.base.starts_with("https://"));
    let untrusting = front_of(&upstream, |_| {}).await;
    let refused = untrusting.client().query("x").await.unwrap();
    assert_eq!(refused.http_status, 502);
    assert!(refused.response_body.contains("certificate"), "{}", refused.response_body);
    assert!(entries(&upstream).is_empty(), "nothing reached an upstream whose certificate did not verify");
    let ca_file = upstream.server.ca_path().unwrap().to_owned();
    let trusting = front_of(&upstream, move |c| c.upstream.ca_file = Some(ca_file)).await;
    assert_eq!(code(&trusting.client().query("x").await.unwrap()), 2003);
    assert_eq!(entries(&upstream).len(), 1);
}

/// What reaches the upstream on the wire can only be seen below HTTP: here the upstream is a socket that keeps the
/// bytes it is sent and answers once, so that header names' case is visible both ways.
#[tokio::test]
async fn header_names_keep_the_case_the_client_and_the_upstream_wrote() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = socket.local_addr().unwrap();
    let upstream = tokio::spawn(async move {
        let (mut stream, _) = socket.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the forwarder closed before its head was whole");
            seen.extend_from_slice(&buf[..n]);
        }
        let answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Nppa-Trace: t1\r\nContent-Length: 2\r\n\r\n{}";
        stream.write_all(answer.as_bytes()).await.unwrap();
        String::from_utf8(seen).unwrap()
    });
    let front = start_with(move |c| c.upstream.url = Some(format!("http://{upstream_addr}"))).await;
    let mut client = tokio::net::TcpStream::connect(front.server.local_addr()).await.unwrap();
    let request = "GET /idcard/authentication/query?ai=x HTTP/1.1\r\nHost: 127.0.0.1\r\nappId: a1\r\nbizId: b1\r\nConnection: close\r\n\r\n";
    client.write_all(request.as_bytes()).await.unwrap();
    let answer = String::from_utf8(read_to_close(&mut client).await).unwrap();
    let forwarded = upstream.await.unwrap();
    assert!(forwarded.starts_with("GET /idcard/authentication/query?ai=x HTTP/1.1\r\n"), "{forwarded}");
    assert!(forwarded.contains("\r\nappId: a1\r\n") && forwarded.contains("\r\nbizId: b1\r\n"), "{forwarded}");
    assert!(forwarded.contains(&format!("\r\nHost: {upstream_addr}\r\n")), "Host is the upstream's: {forwarded}");
    assert!(!forwarded.to_ascii_lowercase().contains("connection: close"), "hop-by-hop: {forwarded}");
    assert!(answer.contains("\r\nX-Nppa-Trace: t1\r\n") && answer.ends_with("\r\n\r\n{}"), "{answer}");
}

/// The upstream of the shadow tests, with its differences planted: another missing_collections_code (1011 for a
/// loginout without `collections`, the front's 1001), and a 1006 for every query.
async fn planted_upstream() -> Mock {
    use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
    let upstream = start_with(|c| c.rules.missing_collections_code = 1011).await;
    let busy = FaultRule {
        interface: Some(nppa_protocol::Interface::Query),
        action: Some(FaultAction::Status { errcode: nppa_protocol::StatusCode::Busy }),
        ..FaultRule::default()
    };
    upstream.admin_api().add_faults(&FaultRequest::One(busy)).await.unwrap();
    upstream
}

#[tokio::test]
async fn shadow_mode_answers_from_the_mock_and_reports_exactly_the_planted_differences() {
    use nppa_mockserver::journal::{Difference, DifferenceKind};
    let upstream = planted_upstream().await;
    let url = upstream.base.clone();
    let front = start_with(move |c| {
        c.upstream.url = Some(url);
        c.upstream.shadow = true;
    })
    .await;
    let client = front.client();
    let check = client.check(PRESET_PENDING.0, PRESET_PENDING.1, PRESET_PENDING.2).await.unwrap();
    let query = client.query("never-checked").await.unwrap();
    let now = client.now_ms().await.unwrap();
    let loginout = client.loginout(vec![guest(1, "s-1", 1, now)]).await.unwrap();
    let refused = client.send(without_collections(now)).await.unwrap();
    let codes = [&check, &query, &loginout, &refused].map(code);
    assert_eq!(codes, [0, 2003, 0, 1001], "the client got the mock's answers");
    assert_eq!(front.live_records().await, 1, "the mock's state follows its own answers (the pending check)");
    assert_eq!(entries(&upstream).len(), 4, "each request went upstream once");

    let errcode = |mock: &str, upstream: &str| Difference {
        kind: DifferenceKind::Errcode,
        mock: mock.into(),
        upstream: upstream.into(),
    };
    let seen: Vec<Vec<Difference>> =
        entries(&front).into_iter().map(|e| e.upstream.expect("a shadow note")).map(|u| u.differences).collect();
    assert_eq!(seen, [vec![], vec![errcode("2003", "1006")], vec![], vec![errcode("1001", "1011")]]);
    let note = entries(&front).pop().unwrap().upstream.unwrap();
    assert!(note.shadow && note.status == Some(200) && note.answer.is_some_and(|a| a.contains("1011")));
    assert_eq!(metric(&front, r#"nppa_shadow_differences_total{kind="errcode"}"#).await, 2.0);
    for kind in DifferenceKind::ALL.into_iter().filter(|k| *k != DifferenceKind::Errcode) {
        let series = format!(r#"nppa_shadow_differences_total{{kind="{}"}}"#, kind.as_str());
        assert_eq!(metric(&front, &series).await, 0.0, "{series}");
    }
    // Its journal certifies as the mock's: the answers judged were the mock's.
    let report = judge(&entries(&front), front.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    assert!(report.answered_by.is_empty());

    // `nppa admin shadow report`: the planted differences, each kind once with its count, and no others.
    // The mock serves on this test's runtime: the command is awaited, not waited for.
    let admin = |json: bool| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_nppa"));
        command.args(["admin", "--base-url", &front.base, "shadow", "report"]);
        if json {
            command.arg("--json");
        }
        command.output()
    };
    let (markdown, json) = (admin(false).await.unwrap(), admin(true).await.unwrap());
    let markdown = String::from_utf8(markdown.stdout).unwrap();
    assert!(markdown.starts_with("## nppa shadow — 4 answers compared, 2 agreed, 2 differed"), "{markdown}");
    assert!(markdown.contains("| `errcode` | 2 |"), "{markdown}");
    assert!(markdown.contains("GET /idcard/authentication/query: mock `2003`, upstream `1006`"), "{markdown}");
    assert!(markdown.contains("POST /behavior/collection/loginout: mock `1001`, upstream `1011`"), "{markdown}");
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let kinds: Vec<(&str, u64)> = json["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kind"].as_str().unwrap(), k["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(kinds, [("errcode", 2)]);
}

#[tokio::test]
async fn shadow_serving_the_upstream_gives_the_client_its_answers_while_the_mock_keeps_its_own_state() {
    use nppa_mockserver::config::ShadowServe;
    use nppa_mockserver::faults::{FaultAction, FaultRequest, FaultRule};
    use nppa_mockserver::journal::{Difference, DifferenceKind};
    let upstream = planted_upstream().await;
    let url = upstream.base.clone();
    let front = start_with(move |c| {
        c.upstream.url = Some(url);
        c.upstream.shadow = true;
        c.upstream.shadow_serve = ShadowServe::Upstream;
    })
    .await;
    // The front's fault rules shape answers the client would not get: not applied.
    let refuse_checks = FaultRule {
        interface: Some(nppa_protocol::Interface::Check),
        action: Some(FaultAction::Status { errcode: nppa_protocol::StatusCode::SysError }),
        ..FaultRule::default()
    };
    front.admin_api().add_faults(&FaultRequest::One(refuse_checks)).await.unwrap();
    let client = front.client();
    let check = client.check(PRESET_PENDING.0, PRESET_PENDING.1, PRESET_PENDING.2).await.unwrap();
    let query = client.query("never-checked").await.unwrap();
    let now = client.now_ms().await.unwrap();
    let loginout = client.loginout(vec![guest(1, "s-1", 1, now)]).await.unwrap();
    let refused = client.send(without_collections(now)).await.unwrap();
    let exchanges = [&check, &query, &loginout, &refused];
    assert_eq!(exchanges.map(code), [0, 1006, 0, 1011], "the client got the upstream's answers");
    assert_eq!(front.live_records().await, 1, "the mock's state follows its own answers (the pending check)");
    assert_eq!(entries(&upstream).len(), 4, "each request went upstream once");

    let journal = entries(&front);
    let codes: Vec<Option<u16>> = journal.iter().map(|e| e.errcode).collect();
    assert_eq!(codes, [Some(0), Some(1006), Some(0), Some(1011)], "the journal holds what the client got");
    for (entry, exchange) in journal.iter().zip(exchanges) {
        assert_eq!(entry.answer, exchange.response_body, "the journal's answer is the one the client read");
        assert!(entry.fault.is_none(), "no fault rule of the front's was applied");
    }
    assert!(
        journal[3].rule.is_none() && journal[3].cause.is_none(),
        "the mock's cause explained its own 1001, which the client did not get"
    );
    let notes: Vec<_> = journal.into_iter().map(|e| e.upstream.expect("a shadow note")).collect();
    let mock_answers: Vec<String> = notes.iter().map(|n| n.mock_answer.clone().expect("the mock's answer")).collect();
    assert!(mock_answers[0].contains(r#""status":1"#), "the mock pended the check itself: {}", mock_answers[0]);
    assert!(mock_answers[3].contains(r#""errcode":1001"#), "{}", mock_answers[3]);
    let errcode = |mock: &str, upstream: &str| Difference {
        kind: DifferenceKind::Errcode,
        mock: mock.into(),
        upstream: upstream.into(),
    };
    let seen: Vec<Vec<Difference>> = notes.iter().map(|n| n.differences.clone()).collect();
    assert_eq!(seen, [vec![], vec![errcode("2003", "1006")], vec![], vec![errcode("1001", "1011")]]);
    assert_eq!(metric(&front, r#"nppa_shadow_differences_total{kind="errcode"}"#).await, 2.0);
    // `/metrics` counts what the client got, as upstream mode does.
    let requests = |interface: &str, errcode: u16| {
        format!(r#"nppa_requests_total{{interface="{interface}",errcode="{errcode}",environment="production"}}"#)
    };
    assert_eq!(metric(&front, &requests("loginout", 1011)).await, 1.0);
    assert_eq!(metric(&front, &requests("loginout", 1001)).await, 0.0, "the mock's own 1001 went to nobody");
    assert_eq!(metric(&front, &requests("query", 1006)).await, 1.0);
    // Certified, the answers judged are the upstream's, and the report says so.
    let report = judge(&entries(&front), front.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    assert_eq!(report.answered_by, std::slice::from_ref(&upstream.base));
}

#[tokio::test]
async fn shadow_serving_an_unreachable_upstream_gives_the_client_the_502_and_journals_it() {
    use nppa_mockserver::config::ShadowServe;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let front = start_with(move |c| {
        c.upstream.url = Some(format!("http://{closed}"));
        c.upstream.shadow = true;
        c.upstream.shadow_serve = ShadowServe::Upstream;
    })
    .await;
    let query = front.client().query("never-checked").await.unwrap();
    assert_eq!(query.http_status, 502);
    assert!(query.response_body.contains("could not be reached"), "{}", query.response_body);
    let entry = entries(&front).pop().expect("journaled");
    assert_eq!((entry.http_status, entry.errcode), (502, None));
    let note = entry.upstream.expect("a shadow note");
    assert!(note.error.is_some_and(|e| e.contains("could not be reached")));
    assert!(note.mock_answer.is_some_and(|a| a.contains(r#""errcode":2003"#)), "the mock answered beside it");
    assert_eq!(metric(&front, r#"nppa_upstream_requests_total{outcome="unreachable"}"#).await, 1.0);
}

#[tokio::test]
async fn shadow_ignore_leaves_the_named_kinds_uncompared_and_uncounted() {
    use nppa_mockserver::journal::DifferenceKind;
    // Another server secret: everyone but the presets gets another pi upstream (R-PI).
    let upstream = start_with(|c| c.identities.pi_secret = Some("another secret".into())).await;
    let shadow_of = |ignore: Vec<DifferenceKind>| {
        let url = upstream.base.clone();
        start_with(move |c| {
            c.upstream.url = Some(url);
            c.upstream.shadow = true;
            c.upstream.shadow_ignore = ignore;
        })
    };
    let (comparing, ignoring) = (shadow_of(vec![]).await, shadow_of(vec![DifferenceKind::Pi]).await);
    for front in [&comparing, &ignoring] {
        let check = front.client().check("ai-generated-7", "某七七", &id_num(7)).await.unwrap();
        assert_eq!(code(&check), 0);
    }
    let kinds = |front: &Mock| -> Vec<DifferenceKind> {
        entries(front).into_iter().flat_map(|e| e.upstream.unwrap().differences).map(|d| d.kind).collect()
    };
    assert_eq!(kinds(&comparing), [DifferenceKind::Pi], "the planted difference is seen when compared");
    assert_eq!(kinds(&ignoring), [], "and not when pi is ignored");
    let series = r#"nppa_shadow_differences_total{kind="pi"}"#;
    assert_eq!((metric(&comparing, series).await, metric(&ignoring, series).await), (1.0, 0.0));
}

#[test]
fn the_shadow_flags_teach_their_values_and_refuse_unknown_ones() {
    let nppa = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_nppa")).args(args).output().unwrap();
    let bad_kind = nppa(&["mock", "--shadow", "http://127.0.0.1:9", "--shadow-ignore", "pi,errmsg"]);
    let stderr = String::from_utf8_lossy(&bad_kind.stderr);
    assert_eq!(bad_kind.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(r#""errmsg" is no kind of difference; the kinds are http_status, readable"#), "{stderr}");
    let bad_whose = nppa(&["mock", "--shadow", "http://127.0.0.1:9", "--shadow-serve", "both"]);
    let stderr = String::from_utf8_lossy(&bad_whose.stderr);
    assert!(stderr.contains("the answer of `mock` or of `upstream`"), "{stderr}");
    // Outside shadow mode there is no choice of whose answer: refused with the field, before anything listens.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("upstream.toml");
    std::fs::write(&config, "[upstream]\nurl = \"http://127.0.0.1:9\"\nshadow_serve = \"upstream\"\n").unwrap();
    let outside = nppa(&["mock", "--listen", "127.0.0.1:0", "--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert_eq!(outside.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("upstream.shadow_serve: only shadow mode chooses"), "{stderr}");
    assert!(stderr.contains("nppa mock --shadow URL"), "the flag is named beside the field: {stderr}");
    // Nor anything to ignore: upstream mode compares nothing.
    let ignoring =
        nppa(&["mock", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9", "--shadow-ignore", "pi"]);
    let stderr = String::from_utf8_lossy(&ignoring.stderr);
    assert_eq!(ignoring.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("upstream.shadow_ignore: only shadow mode compares answers"), "{stderr}");
}
