//! The protocol's own costs beside the raw AES-128-GCM + SHA-256 of the same bytes (the `raw` row of each group):
//! the ratio is the overhead of base64, JSON and the sign string. `answer` is what a client spends reading an answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nppa_benches::*;
use nppa_protocol::request::{self, Target};
use nppa_protocol::{answer, sign};

const NOW_MS: u64 = 1_768_449_600_000;

fn envelope(c: &mut Criterion) {
    let key = credentials().key;
    let raw = raw_cipher();
    for (name, plaintext) in plaintexts(NOW_MS) {
        let mut group = c.benchmark_group(format!("envelope/{name}"));
        group.throughput(Throughput::Bytes(plaintext.len() as u64));
        let sealed = key.seal(&plaintext, [7; 12]);
        group.bench_function("raw aes-gcm+sha256", |b| b.iter(|| raw_seal_and_hash(&raw, black_box(&plaintext))));
        group.bench_function("seal", |b| b.iter(|| key.seal(black_box(&plaintext), [7; 12])));
        group.bench_function("open", |b| b.iter(|| key.open(black_box(&sealed)).unwrap()));
        group.finish();
    }
}

fn signing(c: &mut Criterion) {
    let built = request::check(&credentials(), &Target::Production, &check_request(), NOW_MS, [7; 12]);
    let ts = NOW_MS.to_string();
    let params = [("appId", APP_ID), ("bizId", BIZ_ID), ("timestamps", ts.as_str())];
    let sent = sign::sign(KEY_HEX, &params, &built.body);
    let mut group = c.benchmark_group("sign/check");
    group.throughput(Throughput::Bytes(built.sign_string.len() as u64));
    group.bench_function("raw sha256", |b| {
        b.iter(|| <sha2::Sha256 as sha2::Digest>::digest(black_box(&built.sign_string)))
    });
    group.bench_function("sign", |b| b.iter(|| sign::sign(KEY_HEX, black_box(&params), black_box(&built.body))));
    group.bench_function("verify", |b| b.iter(|| sign::verify(KEY_HEX, black_box(&params), &built.body, &sent)));
    group.finish();
}

fn building(c: &mut Criterion) {
    let credentials = credentials();
    let raw = raw_cipher();
    let mut group = c.benchmark_group("build");
    for (name, plaintext) in plaintexts(NOW_MS) {
        group.bench_with_input(BenchmarkId::new("raw aes-gcm+sha256", name), &plaintext, |b, p| {
            b.iter(|| raw_seal_and_hash(&raw, black_box(p)))
        });
    }
    group.bench_function(BenchmarkId::new("request", "check"), |b| {
        b.iter(|| request::check(&credentials, &Target::Production, black_box(&check_request()), NOW_MS, [7; 12]))
    });
    for n in [1, FULL_BATCH] {
        let report = loginout_request(n, NOW_MS);
        group.bench_function(BenchmarkId::new("request", format!("loginout-{n}")), |b| {
            b.iter(|| request::loginout(&credentials, &Target::Production, black_box(&report), NOW_MS, [7; 12]))
        });
    }
    group.bench_function(BenchmarkId::new("request", "query"), |b| {
        b.iter(|| request::query(&credentials, &Target::Production, black_box("100000000000000001"), NOW_MS))
    });
    group.finish();
}

/// Reading answers as a client does (`nppa_protocol::answer`): a check result, the loginout `"data":""`, a 3001.
fn reading(c: &mut Criterion) {
    let mut group = c.benchmark_group("answer");
    let answers: [(&str, &[u8]); 3] = [
        ("check", br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0,"pi":"1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"}}}"#),
        ("loginout", br#"{"errcode":0,"errmsg":"OK","data":""}"#),
        ("partial", br#"{"errcode":3001,"errmsg":"BUS COLL PARTIAL ERROR","data":{"results":[{"no":2,"errcode":3005,"errmsg":"BUS COLL BEHAVIOR TIME ERROR"},{"no":3,"errcode":3004,"errmsg":"BUS COLL NO INVALID"}]}}"#),
    ];
    for (name, body) in answers {
        group.bench_function(BenchmarkId::new("parse", name), |b| b.iter(|| answer::parse(black_box(body))));
    }
    group.finish();
}

criterion_group!(benches, envelope, signing, building, reading);
criterion_main!(benches);
