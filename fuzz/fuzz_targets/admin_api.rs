//! The admin API from a request line and a body to an answer, through the real routing, parsing (JSON bodies,
//! query strings: journal filters, `?reveal=keys`) and execution of `nppa_mockserver::admin::handle`, on a fresh
//! service each time so that an input reproduces on its own. Nothing panics; every answer is JSON below HTTP 500,
//! a refusal says why (`{"error": …}`), and the secretKeys appear only when the query asked for them (#13 item 3).
//!
//! Input: `METHOD PATH[?QUERY]` on the first line, the body after it (sent as `Content-Type: application/json`
//! from loopback, as `nppa admin` does).
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::HeaderMap;
use libfuzzer_sys::fuzz_target;
use nppa_mockserver::admin::{self, AdminAnswer};
use nppa_mockserver::admin_api::RevealQuery;
use nppa_mockserver::config::Config;
use nppa_mockserver::service::MockService;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut config = Config::embedded_default();
        config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
        config
    })
}

fuzz_target!(|input: &[u8]| {
    let (line, body) = match input.iter().position(|&b| b == b'\n') {
        Some(end) => (&input[..end], &input[end + 1..]),
        None => (input, &[][..]),
    };
    let Ok(line) = std::str::from_utf8(line) else { return };
    let Some((method, target)) = line.split_once(' ') else { return };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let Ok(service) = MockService::new(config().clone()) else { panic!("the embedded default serves") };
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let AdminAnswer::Json { status, body: answer } = admin::handle(&service, peer, method, path, query, &headers, body)
    else {
        return; // the journal stream, or a console file (static, no JSON)
    };
    assert!((200..500).contains(&status), "HTTP {status} for {line}");
    let value: serde_json::Value = serde_json::from_slice(&answer)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&answer)));
    if status >= 400 {
        assert!(value["error"].as_str().is_some_and(|e| !e.is_empty()), "a refusal without a reason: {value}");
    }
    let holds_keys = path.starts_with("/__admin/enterprises") || path.starts_with("/__admin/testsystem");
    if status == 200 && holds_keys && RevealQuery::parse(query) != Ok(RevealQuery::KEYS) {
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.contains("\"secret_key\":"), "a key shown without ?reveal=keys: {text}");
        assert!(text.contains("\"secret_keys\":\"redacted\""), "redaction not said: {text}");
    }
});
