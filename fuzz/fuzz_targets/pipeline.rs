//! The whole server pipeline from raw HTTP request bytes to an answer: every request that parses as HTTP gets a
//! protocol answer (JSON with an errcode of SPEC §4), and nothing panics.
#![no_main]

use std::sync::OnceLock;

use hyper::header::{HeaderName, HeaderValue};
use hyper::HeaderMap;
use libfuzzer_sys::fuzz_target;
use nppa_mockserver::config::Config;
use nppa_mockserver::service::{BodyError, Incoming, MockService};

fn service() -> &'static MockService {
    static SERVICE: OnceLock<MockService> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let mut config = Config::embedded_default();
        config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
        config.journal.enabled = false;
        let service = MockService::new(config).unwrap_or_else(|e| panic!("{e}"));
        service.clock().freeze(true);
        service
    })
}

fuzz_target!(|input: &[u8]| {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = request.parse(input) else { return };
    let (Some(method), Some(target)) = (request.method, request.path) else { return };
    let mut map = HeaderMap::new();
    for header in request.headers.iter() {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(header.name.as_bytes()), HeaderValue::from_bytes(header.value)) {
            map.append(name, value);
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let body = &input[head_len..];
    let incoming = Incoming {
        peer: "127.0.0.1".parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
        method,
        path,
        query,
        headers: &map,
        body: if body.len() > 65_536 { Err(BodyError::TooLarge) } else { Ok(body) },
    };
    let outcome = service().handle(&incoming);
    let answer: serde_json::Value = serde_json::from_slice(&outcome.body).unwrap_or_else(|e| panic!("not JSON: {e}"));
    let code = answer["errcode"].as_u64().unwrap_or_else(|| panic!("no errcode: {answer}"));
    assert!(nppa_protocol::StatusCode::from_code(code as u16).is_some(), "errcode {code} is not in SPEC §4");
});
