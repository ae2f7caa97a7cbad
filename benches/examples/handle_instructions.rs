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
