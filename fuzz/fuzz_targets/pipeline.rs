//! The whole server pipeline from raw HTTP request bytes to an answer: every request that parses as HTTP gets a
//! protocol answer (JSON with an errcode of SPEC §4), and nothing panics — at any moment of the mock clock.
//!
//! Input: one byte that picks the mock-clock time of arrival ([`arrival_ms`]), then the HTTP request. The times are
//! the ones whose rules differ: noon, inside the 00:00–04:00 Beijing outage (R-PEND-2), its end, and after the
//! default key expired (R-KEY-1; its replacement, issued 15 days before, still signs). `make_seeds.py` signs
//! requests for each.
#![no_main]

use std::sync::OnceLock;

use hyper::header::{HeaderName, HeaderValue};
use hyper::HeaderMap;
use libfuzzer_sys::fuzz_target;
use nppa_mockserver::config::Config;
use nppa_mockserver::service::{BodyError, Incoming, MockService};
use nppa_protocol::beijing::{DAY_MS, HOUR_MS};

fn service() -> &'static MockService {
    static SERVICE: OnceLock<MockService> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let mut config = Config::embedded_default();
        config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
        config.journal.enabled = false;
        // R-KEY-1: the key expires 5 days after noon; its replacement is due at once (15 days before).
        config.enterprises[0].secret_key_expires = Some("2026-01-20T12:00:00+08:00".into());
        config.enterprises[0].key_validity_days = Some(30.0);
        let service = MockService::new(config).unwrap_or_else(|e| panic!("{e}"));
        service.clock().freeze(true);
        service
    })
}

/// 2026-01-15 12:00 Beijing time, the seeds' `timestamps` (and the service's clock start).
const NOON_MS: u64 = 1_768_449_600_000;

/// The arrival time the first byte picks: its top two bits the moment (noon; 02:00 the next day, in the outage;
/// 04:00, its end; an hour after the key's expiry), its low six bits a skew of −6.4 s … +6.2 s in 200 ms steps,
/// either side of the 5 s `timestamps` window (R-TS-1).
fn arrival_ms(selector: u8) -> u64 {
    let moment = match selector >> 6 {
        0 => NOON_MS,
        1 => NOON_MS + 14 * HOUR_MS,
        2 => NOON_MS + 16 * HOUR_MS,
        _ => NOON_MS + 5 * DAY_MS + HOUR_MS,
    };
    let skew_ms = (i64::from(selector & 63) - 32) * 200;
    moment.saturating_add_signed(skew_ms)
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, input)) = input.split_first() else { return };
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = request.parse(input) else { return };
    let (Some(method), Some(target)) = (request.method, request.path) else { return };
    let mut map = HeaderMap::new();
    for header in request.headers.iter() {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(header.name.as_bytes()), HeaderValue::from_bytes(header.value))
        {
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
        authority: None,
        headers: &map,
        body: if body.len() > 65_536 { Err(BodyError::TooLarge) } else { Ok(body) },
    };
    let outcome = service().handle_at(&incoming, arrival_ms(selector));
    let answer: serde_json::Value = serde_json::from_slice(&outcome.body).unwrap_or_else(|e| panic!("not JSON: {e}"));
    let code = answer["errcode"].as_u64().unwrap_or_else(|| panic!("no errcode: {answer}"));
    assert!(nppa_protocol::StatusCode::from_code(code as u16).is_some(), "errcode {code} is not in SPEC §4");
});
