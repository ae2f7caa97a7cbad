//! Measures the resident memory of live pending records: N real check requests answered in-process by the
//! real pipeline (signature, decryption, validation, store), each creating one pending record.
//!
//! Then it lets them expire, and times the sweep that frees them.
//!
//!     cargo run --release -p nppa-mockserver --example record_memory -- 1000000
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use hyper::header::{HeaderName, HeaderValue};
use hyper::HeaderMap;
use nppa_mockserver::config::Config;
use nppa_mockserver::service::{Incoming, MockService};
use nppa_protocol::messages::CheckRequest;
use nppa_protocol::request::{self, Credentials, Target};
use nppa_protocol::{idnum, SecretKey};

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let mut config = Config::embedded_default();
    config.server.quotas = false;
    config.identities.pending_fraction = 1.0;
    config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
    let service = MockService::new(config).expect("config");
    service.clock().freeze(true);
    let credentials = Credentials {
        app_id: "fdc6688637bc468e9aea874654cbead2".into(),
        biz_id: "1101999999".into(),
        key: SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").unwrap(),
    };
    let before = resident_bytes();
    let started = Instant::now();
    for i in 0..n {
        // 32-character ais, as FAQ 114 recommends.
        let ai = format!("{i:032x}");
        let id = idnum::complete(&format!(
            "110105{}{:02}{:02}{:03}",
            1950 + i % 50,
            1 + i / 50 % 12,
            1 + i / 600 % 28,
            i / 16800 % 1000
        ))
        .unwrap();
        let body = CheckRequest { ai, name: "张三".into(), id_num: id };
        // One check a millisecond, so that every record has a deadline of its own, as under a real clock.
        service.clock().advance_ms(1);
        let now = service.clock().now_ms();
        let signed = request::check(&credentials, &Target::Production, &body, now, [i as u8; 12]);
        let mut headers = HeaderMap::new();
        for (name, value) in &signed.headers {
            headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        let incoming = Incoming {
            peer: "127.0.0.1".parse().unwrap(),
            method: "POST",
            path: &signed.path_and_query,
            query: None,
            authority: None,
            headers: &headers,
            body: Ok(&signed.body),
        };
        let outcome = service.handle(&incoming);
        assert_eq!(outcome.code.code(), 0, "{}", String::from_utf8_lossy(&outcome.body));
    }
    let elapsed = started.elapsed();
    let after = resident_bytes();
    let live = service.store().live();
    println!("live pending records: {live} (one per check: every ai is unique)");
    println!("resident before: {:.1} MiB, after: {:.1} MiB", before as f64 / 1048576.0, after as f64 / 1048576.0);
    println!("bytes per live pending record: {:.0}", (after - before) as f64 / live as f64);
    println!(
        "in-process pipeline: {:.0} checks/s on one thread (building + answering)",
        n as f64 / elapsed.as_secs_f64()
    );
    // Then every record's 48 h pass: how long one sweep takes to free them all, and what memory goes back.
    service.clock().advance_ms(nppa_protocol::record::PENDING_TTL_MS as i64);
    let started = Instant::now();
    let freed = service.store().sweep(service.clock().now_ms());
    println!(
        "48 h later, one sweep freed {freed} records in {:.2} s; resident then: {:.1} MiB",
        started.elapsed().as_secs_f64(),
        resident_bytes() as f64 / 1048576.0
    );
}
