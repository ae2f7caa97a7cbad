//! The mock's pipeline (`MockService::handle`: gates, signature, decryption, validation, the answer; no transport,
//! no journal) run N times on one prepared request, for instruction counts that do not depend on how busy the
//! machine is. The cost of one request is the difference between two runs, divided by the difference in N:
//!
//! ```sh
//! cargo build --release -p nppa-benches --example handle_instructions
//! for n in 1000 3000; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/handle_instructions check $n 2>&1 | grep Collected
//! done   # (second − first) / 2000 = instructions per check; also `query`, `loginout`
//! ```
//!
//! `handle_instructions serve-journal-on N` (and `-off`) runs `MockService::serve` instead of `handle`: the pipeline,
//! the metrics and the journal (its default ring, so that a run longer than the ring pays for evictions too), with a
//! signed check whose headers are those of a real client (`Host`, `Content-Length`, `User-Agent` added); the
//! difference between on and off is the journal's cost per request, without the thread wake-ups that make the
//! over-HTTP counts vary.
//!
//! `handle_instructions serve2-journal-on N` (and `-off`) runs the same on two threads at once, N requests each, into
//! one service: what two cores serving together pay for the cache lines both write (a shared counter, a lock, the
//! journal's ring). Instructions cannot show that (callgrind runs one thread at a time); `benches/two_cores.py`
//! measures their CPU time beside one thread's.
//!
//! `handle_instructions sha256 BYTES N` hashes BYTES bytes N times instead: the SHA-256 of a sign string of that
//! length, which `benches/instructions.py` subtracts to compare the mock with plain hyper "SHA-256 excluded".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nppa_benches::*;
use nppa_protocol::request::{self, Target};

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "check".into());
    if kind == "sha256" {
        let bytes: usize = args.next().and_then(|n| n.parse().ok()).expect("sha256 BYTES N");
        let n: usize = args.next().and_then(|n| n.parse().ok()).expect("sha256 BYTES N");
        let sign_string = vec![b'a'; bytes];
        let mut first_bytes = 0u64;
        for _ in 0..n {
            let digest = sha2::Digest::finalize(sha2::Digest::chain_update(
                sha2::Sha256::default(),
                std::hint::black_box(&sign_string),
            ));
            first_bytes += u64::from(digest[0]);
        }
        println!("sha256: {n} digests of {bytes} bytes ({first_bytes})");
        return;
    }
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    if let Some(journal) = kind.strip_prefix("serve2-journal-") {
        let service = bench_service_journaled(journal == "on");
        std::thread::scope(|scope| {
            scope.spawn(|| serve_on(&service, n));
            scope.spawn(|| serve_on(&service, n));
        });
        return;
    }
    if let Some(journal) = kind.strip_prefix("serve-journal-") {
        serve(journal == "on", n);
        return;
    }
    let service = bench_service();
    let now = service.clock().now_ms();
    let credentials = credentials();
    let signed = match kind.as_str() {
        "check" => request::check(&credentials, &Target::Production, &check_request(), now, [7; 12]),
        "query" => request::query(&credentials, &Target::Production, "100000000000000009", now),
        "loginout" => request::loginout(&credentials, &Target::Production, &loginout_request(1, now), now, [7; 12]),
        other => panic!("{other}: give check, query or loginout"),
    };
    let prepared = Prepared::new(signed);
    let incoming = prepared.incoming();
    let mut codes = 0u64;
    for _ in 0..n {
        codes += u64::from(std::hint::black_box(service.handle(std::hint::black_box(&incoming))).code.code());
    }
    println!("{kind}: {n} requests handled (errcodes summed: {codes})");
}

/// `MockService::serve` n times on one signed check, with the journal on or off.
fn serve(journal: bool, n: usize) {
    serve_on(&bench_service_journaled(journal), n);
}

/// `MockService::serve` n times on one signed check.
fn serve_on(service: &nppa_mockserver::MockService, n: usize) {
    use hyper::header::{HeaderValue, CONTENT_LENGTH, HOST, USER_AGENT};
    let now = service.clock().now_ms();
    let signed = request::check(&credentials(), &Target::Production, &check_request(), now, [7; 12]);
    let mut prepared = Prepared::new(signed);
    let length = prepared.signed.body.len().to_string();
    prepared.headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
    prepared.headers.insert(CONTENT_LENGTH, HeaderValue::from_str(&length).unwrap());
    prepared.headers.insert(USER_AGENT, HeaderValue::from_static("reqwest/0.13"));
    let incoming = nppa_mockserver::service::Incoming { authority: Some("127.0.0.1:8080"), ..prepared.incoming() };
    let arrival =
        nppa_mockserver::service::Arrival { received: std::time::Instant::now(), arrived_ms: now, scheme: "http" };
    let mut statuses = 0u64;
    for _ in 0..n {
        statuses +=
            u64::from(std::hint::black_box(service.serve(std::hint::black_box(&incoming), &arrival, None)).http_status);
    }
    let recorded = service.journal().stats().recorded;
    println!(
        "serve, journal {}: {n} requests served (statuses summed: {statuses}; journaled: {recorded})",
        if service.journal().enabled() { "on" } else { "off" }
    );
}
