//! Inputs shared by the benchmarks: plaintexts of each interface's size, credentials, and the raw
//! AES-128-GCM + SHA-256 baseline that the protocol's own code is compared with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Key, Nonce};
use nppa_protocol::messages::{BehaviourRecord, CheckRequest, LoginoutRequest};
use nppa_protocol::request::Credentials;
use nppa_protocol::SecretKey;
use sha2::{Digest, Sha256};

pub const APP_ID: &str = "fdc6688637bc468e9aea874654cbead2";
pub const BIZ_ID: &str = "1101999999";
pub const KEY_HEX: &str = "b4c932250dbe59ff53b15ee993a9feb5";
pub const PI: &str = "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u";

pub fn credentials() -> Credentials {
    Credentials { app_id: APP_ID.into(), biz_id: BIZ_ID.into(), key: SecretKey::from_hex(KEY_HEX).unwrap() }
}

pub fn check_request() -> CheckRequest {
    CheckRequest { ai: "100000000000000001".into(), name: "某一一".into(), id_num: "110000190101010001".into() }
}

/// A full batch: the most records one report may carry (R-BEH-1).
pub const FULL_BATCH: i64 = nppa_protocol::behaviour::MAX_RECORDS as i64;

/// A report of `n` verified logins, `ot` one second before `now_ms`.
pub fn loginout_request(n: i64, now_ms: u64) -> LoginoutRequest {
    LoginoutRequest::new(
        (1..=n)
            .map(|no| BehaviourRecord {
                no,
                si: format!("{no:032x}"),
                bt: 1,
                ot: now_ms as i64 / 1000 - 1,
                ct: 0,
                di: None,
                pi: Some(PI.into()),
            })
            .collect(),
    )
}

/// The plaintexts the benches seal: check, a 1-record and a 128-record loginout.
pub fn plaintexts(now_ms: u64) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("check", serde_json::to_vec(&check_request()).unwrap()),
        ("loginout-1", serde_json::to_vec(&loginout_request(1, now_ms)).unwrap()),
        ("loginout-128", serde_json::to_vec(&loginout_request(FULL_BATCH, now_ms)).unwrap()),
    ]
}

/// The floor: AES-128-GCM of `bytes` and SHA-256 of them, with nothing else.
pub fn raw_seal_and_hash(cipher: &Aes128Gcm, bytes: &[u8]) -> usize {
    let sealed = cipher.encrypt(Nonce::from_slice(&[7; 12]), bytes).unwrap();
    let digest = Sha256::digest(&sealed);
    sealed.len() + usize::from(digest[0])
}

/// The raw cipher for [`raw_seal_and_hash`].
pub fn raw_cipher() -> Aes128Gcm {
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&KEY_HEX[i * 2..i * 2 + 2], 16).unwrap();
    }
    Aes128Gcm::new(Key::<Aes128Gcm>::from_slice(&key))
}

/// The mock as the pipeline benches run it: no quotas (a bench sends far more than 500 a second), the clock frozen
/// at noon Beijing time.
pub fn bench_service() -> nppa_mockserver::MockService {
    bench_service_journaled(false)
}

/// [`bench_service`] with the journal on (its default ring) or off.
pub fn bench_service_journaled(journal: bool) -> nppa_mockserver::MockService {
    let mut config = nppa_mockserver::Config::embedded_default();
    config.journal.enabled = journal;
    config.server.quotas = false;
    config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
    let service = nppa_mockserver::MockService::new(config).unwrap();
    service.clock().freeze(true);
    service
}

/// A signed request in the parts `MockService::handle` reads, as the transport would pass them.
pub struct Prepared {
    pub signed: nppa_protocol::request::SignedRequest,
    pub path: String,
    pub query: Option<String>,
    pub headers: hyper::HeaderMap,
}

impl Prepared {
    pub fn new(signed: nppa_protocol::request::SignedRequest) -> Prepared {
        use hyper::header::{HeaderName, HeaderValue};
        let mut headers = hyper::HeaderMap::new();
        for (name, value) in &signed.headers {
            headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        let (path, query) = match signed.path_and_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (signed.path_and_query.clone(), None),
        };
        Prepared { signed, path, query, headers }
    }

    /// The request as the service reads it, from a loopback peer.
    pub fn incoming(&self) -> nppa_mockserver::service::Incoming<'_> {
        nppa_mockserver::service::Incoming {
            peer: std::net::IpAddr::from([127, 0, 0, 1]),
            method: self.signed.method,
            path: &self.path,
            query: self.query.as_deref(),
            authority: None,
            headers: &self.headers,
            body: Ok(&self.signed.body),
        }
    }
}
