//! The TOML configuration: parsing and validation (`Config::from_toml`), then building the service from what
//! validated and answering one request with it. Nothing panics or hangs; a bad file is an error that names a field.
//! The configuration's file paths are dropped before the service is built, so that a fuzzed file never reads or
//! writes the file system.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use hyper::HeaderMap;
use libfuzzer_sys::fuzz_target;
use nppa_mockserver::config::{Config, ConfigError};
use nppa_mockserver::service::{Incoming, MockService};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let mut config = match Config::from_toml(text, "fuzz.toml", None) {
        Ok(config) => config,
        Err(ConfigError::Field { field, reason }) => {
            assert!(!field.is_empty() && !reason.is_empty(), "an error that names nothing");
            return;
        }
        Err(_) => return,
    };
    config.journal.file = None;
    config.identities.fixtures_file = None;
    let Ok(service) = MockService::new(config) else { return };
    // One request, so that what is built lazily (key renewals due on the clock) is built too.
    let headers = HeaderMap::new();
    let request = Incoming {
        peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
        method: "GET",
        path: "/idcard/authentication/query",
        query: Some("ai=x"),
        authority: None,
        headers: &headers,
        body: Ok(b""),
    };
    let outcome = service.handle(&request);
    assert_eq!(outcome.code, nppa_protocol::StatusCode::HeaderMiss);
});
