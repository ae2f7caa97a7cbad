//! The journal's entry as people and tools read it: JSON over the admin API, the stream and the JSONL file
//! (a contract, SPEC §9). The ring keeps [`Kept`](super::Kept) values and renders these only when read.

use base64::Engine as _;
use nppa_protocol::Interface;
use serde::{Deserialize, Serialize};

use crate::difference::Difference;
use crate::faults::FaultNote;
use crate::http_error::HttpError;

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Increasing from 1 for the life of the server.
    pub id: u64,
    /// Mock-clock time the request arrived (Unix ms): every rule judged it at this time. 0 in journals written
    /// before this field existed.
    #[serde(default)]
    pub arrived_ms: u64,
    /// Mock-clock time the request was answered (Unix ms).
    pub time_ms: u64,
    pub peer: String,
    pub method: String,
    /// The scheme and host the client addressed (`https://api.wlc.nppa.gov.cn`): in proxy mode, where it meant to
    /// send the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Header names as received (lower case with HTTP/1 servers) and values.
    pub headers: Vec<(String, String)>,
    /// The raw body when it is UTF-8 …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// … or its standard base64 when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// The decrypted plaintext, when the body decrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<String>,
    /// The interface the path names, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
    /// Outcome of the signature check; absent when an earlier gate answered first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_ok: Option<bool>,
    /// The HTTP status sent (0 when the connection was closed without an answer).
    pub http_status: u16,
    /// The protocol errcode, absent when no protocol answer was made (a fault answered instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<u16>,
    /// The answer body as sent (after any fault changed it).
    pub answer: String,
    /// The fault rule that changed this exchange, if any (in JSON: `"fault #2: status 2007"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultNote>,
    /// The SPEC rule id the request was refused by (`"R-TS-1"`: a row of the README's rule table). Absent when
    /// the answer was errcode 0, and when a fault answered instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why the answer was not errcode 0, in one line, with the request's own values where they help
    /// (`"timestamps 1705975216808 is 31.0 s behind the mock clock (window ±5 s); …"`), or which fault rule
    /// changed the answer. Absent when the answer was errcode 0 and no fault changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The connection was closed without an answer (a fault).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub connection_reset: bool,
    /// From the end of the request head to the answer, in microseconds.
    pub latency_us: u64,
    /// The request did not reach the protocol whole: HTTP/1 that did not parse, or a head or body too slow.
    /// Absent for every request that parsed and arrived in time. An entry whose kind is
    /// [`before_request`](crate::http_error::HttpErrorKind::before_request) has no method, path, headers nor
    /// interface: what arrived is in `raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_error: Option<HttpError>,
    /// The bytes that arrived of a request that did not parse, up to 4 KiB, when UTF-8 … (only for a connection's
    /// first request: later ones are not copied, to keep the journal cheap)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// … or their standard base64 when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
    /// Upstream mode: the request was forwarded, and `http_status`, `errcode` and `answer` are the upstream's (or,
    /// when it could not be reached, the mock's 502). Absent when the mock answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamExchange>,
}

/// What the upstream did with a forwarded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamExchange {
    /// Where it was sent: the upstream URL with the request's path and query.
    pub url: String,
    /// The upstream's HTTP status; absent when no answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// From sending the request to the end of the upstream's answer (or its failure), in milliseconds.
    pub latency_ms: f64,
    /// Why no answer came (connection refused, TLS, timeout), or why the request was not forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Shadow mode: the client got the mock's answer (the entry's `http_status`, `errcode` and `answer`); the
    /// upstream's is `answer` here, compared with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    /// Shadow mode: the upstream's answer body, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// Shadow mode with `upstream.shadow_serve = "upstream"`: the client got the upstream's answer (the entry's
    /// `http_status`, `errcode` and `answer` are the upstream's, or the mock's 502 when none came), and this is the
    /// mock's own answer, the one its state follows. Absent when the client got the mock's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_answer: Option<String>,
    /// Shadow mode: where the two answers differ by meaning (errmsg's wording, key order and spacing aside). Empty
    /// when they agree, or when the upstream gave no answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
}

impl UpstreamExchange {
    /// True when the client got the upstream's answer (upstream mode, or shadow mode serving the upstream's): the
    /// entry's answer is then the upstream's, not the mock's.
    pub fn answered_the_client(&self) -> bool {
        !self.shadow || self.mock_answer.is_some()
    }
}

impl JournalEntry {
    /// The value of a header, by its lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Stores a body as text when it is UTF-8, as base64 otherwise.
    pub fn set_body(&mut self, body: &[u8]) {
        (self.body, self.body_base64) = text_or_base64(body);
    }

    /// The entry of a request the HTTP layer ended before any request came of it (a head that did not parse or
    /// came too slowly): who sent it, what hyper answered (0: closed without an answer), and the bytes that arrived.
    pub fn http_error(peer: String, time_ms: u64, error: HttpError, http_status: u16, raw: &[u8]) -> JournalEntry {
        // A later request on a kept-alive connection has no bytes kept: no `raw` at all.
        let (raw, raw_base64) = if raw.is_empty() { (None, None) } else { text_or_base64(raw) };
        JournalEntry {
            id: 0,
            arrived_ms: time_ms,
            time_ms,
            peer,
            method: String::new(),
            target: None,
            path: String::new(),
            query: None,
            headers: Vec::new(),
            body: None,
            body_base64: None,
            plaintext: None,
            interface: None,
            sign_ok: None,
            http_status,
            errcode: None,
            answer: String::new(),
            fault: None,
            rule: None,
            cause: None,
            connection_reset: false,
            latency_us: 0,
            http_error: Some(error),
            raw,
            raw_base64,
            upstream: None,
        }
    }
}

/// Bytes as text when they are UTF-8 (first), as standard base64 otherwise (second).
pub(super) fn text_or_base64(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(bytes))),
    }
}
