//! The mock's whole pipeline per interface, in-process (no socket): gates in R-ORDER, signature, decryption,
//! validation, the store, the answer. Each group has the raw AES-128-GCM + SHA-256 cost of the same body as its
//! floor, so the ratio is what the mock adds to the unavoidable crypto.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use nppa_benches::*;
use nppa_protocol::request::{self, Target};

fn pipeline(c: &mut Criterion) {
    let service = bench_service();
    let now = service.clock().now_ms();
    let credentials = credentials();
    let raw = raw_cipher();
    let cases = [
        ("check", request::check(&credentials, &Target::Production, &check_request(), now, [7; 12])),
        ("query", request::query(&credentials, &Target::Production, "100000000000000009", now)),
        ("loginout-1", request::loginout(&credentials, &Target::Production, &loginout_request(1, now), now, [7; 12])),
        (
            "loginout-128",
            request::loginout(&credentials, &Target::Production, &loginout_request(FULL_BATCH, now), now, [7; 12]),
        ),
    ];
    for (name, signed) in cases {
        let prepared = Prepared::new(signed);
        let incoming = prepared.incoming();
        let expected = if name == "query" { 2003 } else { 0 };
        assert_eq!(service.handle(&incoming).code.code(), expected, "{name} answers as the bench expects");
        let floor = prepared.signed.plaintext.clone().unwrap_or_default().into_bytes();
        let mut group = c.benchmark_group(format!("pipeline/{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("raw aes-gcm+sha256", |b| b.iter(|| raw_seal_and_hash(&raw, black_box(&floor))));
        group.bench_function("handle", |b| b.iter(|| service.handle(black_box(&incoming))));
        group.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
