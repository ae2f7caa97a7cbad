//! Building a correct, signed request — the reference client's whole job, without I/O.
//! Callers supply the time and the nonce, so that this stays pure and testable.

use crate::envelope::{SecretKey, IV_LEN};
use crate::interface::Interface;
use crate::messages::{CheckRequest, LoginoutRequest};
use crate::sign;
use crate::system_headers;
use smallvec::SmallVec;

/// The credentials a client calls with: appId, bizId and secretKey.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub app_id: String,
    pub biz_id: String,
    pub key: SecretKey,
}

/// Where a request goes: production paths, or the test system with a test code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Production,
    TestSystem { test_code: String },
}

/// A request ready to send, with what went into it for display.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub interface: Interface,
    pub method: &'static str,
    /// Path plus query string (`/idcard/authentication/query?ai=…`).
    pub path_and_query: String,
    /// Header name and value pairs, `Content-Type` included for POST.
    pub headers: Vec<(&'static str, String)>,
    /// The exact body bytes that were signed; empty for GET.
    pub body: Vec<u8>,
    /// The plaintext before sealing, for POST.
    pub plaintext: Option<String>,
    /// The string that was hashed into `sign`.
    pub sign_string: Vec<u8>,
}

/// The Content-Type the spec gives for POST bodies.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

fn path(interface: Interface, target: &Target) -> String {
    match target {
        Target::Production => interface.production_path().to_owned(),
        Target::TestSystem { test_code } => {
            format!("{}{}", interface.test_path_prefix(), test_code)
        }
    }
}

fn build(
    credentials: &Credentials,
    interface: Interface,
    path_and_query: String,
    query: &[(&str, &str)],
    plaintext: Option<String>,
    timestamps_ms: u64,
    iv: [u8; IV_LEN],
) -> SignedRequest {
    let timestamps = timestamps_ms.to_string();
    let body = match &plaintext {
        Some(text) => credentials.key.seal_body(text.as_bytes(), iv),
        None => Vec::new(),
    };
    let sign_string = {
        // Three system parameters and a query's one: on the stack.
        let mut params: SmallVec<[(&str, &str); 4]> = SmallVec::from_slice(&[
            (system_headers::APP_ID, credentials.app_id.as_str()),
            (system_headers::BIZ_ID, credentials.biz_id.as_str()),
            (system_headers::TIMESTAMPS, timestamps.as_str()),
        ]);
        params.extend_from_slice(query);
        sign::sign_string(credentials.key.as_hex(), &params, &body)
    };
    let sign = sign::sign_of_string(&sign_string);
    let mut headers = Vec::with_capacity(5);
    if interface.has_body() {
        headers.push(("Content-Type", CONTENT_TYPE.to_owned()));
    }
    headers.push((system_headers::APP_ID, credentials.app_id.clone()));
    headers.push((system_headers::BIZ_ID, credentials.biz_id.clone()));
    headers.push((system_headers::TIMESTAMPS, timestamps));
    headers.push((system_headers::SIGN, sign));
    SignedRequest { interface, method: interface.method(), path_and_query, headers, body, plaintext, sign_string }
}

/// A signed POST of a sealed plaintext (check, loginout).
fn sealed_post(
    credentials: &Credentials,
    target: &Target,
    interface: Interface,
    plaintext: String,
    timestamps_ms: u64,
    iv: [u8; IV_LEN],
) -> SignedRequest {
    let path = path(interface, target);
    build(credentials, interface, path, &[], Some(plaintext), timestamps_ms, iv)
}

/// A signed real-name check.
pub fn check(
    credentials: &Credentials,
    target: &Target,
    request: &CheckRequest,
    timestamps_ms: u64,
    iv: [u8; IV_LEN],
) -> SignedRequest {
    sealed_post(credentials, target, Interface::Check, request.to_json(), timestamps_ms, iv)
}

/// A signed result query for `ai`.
pub fn query(credentials: &Credentials, target: &Target, ai: &str, timestamps_ms: u64) -> SignedRequest {
    let encoded: String = form_urlencoded::byte_serialize(ai.as_bytes()).collect();
    let path_and_query = format!("{}?ai={encoded}", path(Interface::Query, target));
    let no_body = None;
    build(credentials, Interface::Query, path_and_query, &[("ai", ai)], no_body, timestamps_ms, [0; IV_LEN])
}

/// A signed behaviour report.
pub fn loginout(
    credentials: &Credentials,
    target: &Target,
    request: &LoginoutRequest,
    timestamps_ms: u64,
    iv: [u8; IV_LEN],
) -> SignedRequest {
    // Our message types always serialise.
    let plaintext = serde_json::to_string(request).unwrap_or_default();
    sealed_post(credentials, target, Interface::Loginout, plaintext, timestamps_ms, iv)
}
