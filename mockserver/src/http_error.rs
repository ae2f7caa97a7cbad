//! Requests that never reached the protocol whole: HTTP/1 the transport could not parse, or bytes that came too
//! slowly. Each is journaled (with the bytes that arrived, when it was a connection's first request) and counted in
//! `/metrics` (`nppa_http_errors`), so that a client sending broken HTTP shows.

use serde::{Deserialize, Serialize};

/// The most bytes of a malformed request the journal keeps.
pub const KEPT_BYTES: usize = 4096;

/// What went wrong below the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpErrorKind {
    /// Not HTTP/1: bad bytes in the request line or a header (hyper answers 400).
    Malformed,
    /// A head over the limits: more than 100 headers (431) or a URI over 64 KiB (414).
    TooLarge,
    /// An HTTP/2 connection preface (the mock speaks HTTP/1.1 only; closed without an answer).
    Http2,
    /// The connection ended in the middle of a request head.
    Incomplete,
    /// The request head did not arrive within `server.header_timeout_s` (closed without an answer).
    HeadTimeout,
    /// The body did not arrive within `server.body_timeout_s` (the gates answer as for a body cut short, then the
    /// connection is closed).
    BodyTimeout,
}

impl HttpErrorKind {
    /// Every kind, for the metrics' zero series.
    pub const ALL: [HttpErrorKind; 6] = [
        HttpErrorKind::Malformed,
        HttpErrorKind::TooLarge,
        HttpErrorKind::Http2,
        HttpErrorKind::Incomplete,
        HttpErrorKind::HeadTimeout,
        HttpErrorKind::BodyTimeout,
    ];

    /// The `kind` label in `/metrics`, as in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpErrorKind::Malformed => "malformed",
            HttpErrorKind::TooLarge => "too_large",
            HttpErrorKind::Http2 => "http2",
            HttpErrorKind::Incomplete => "incomplete",
            HttpErrorKind::HeadTimeout => "head_timeout",
            HttpErrorKind::BodyTimeout => "body_timeout",
        }
    }

    /// True when no request came of it: no method, path or headers to judge (every kind but a late body).
    pub fn before_request(self) -> bool {
        self != HttpErrorKind::BodyTimeout
    }
}

/// One request the HTTP layer ended, in the journal: the kind, and what hyper or the deadline said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpError {
    pub kind: HttpErrorKind,
    /// In words: `invalid HTTP header parsed`, `request head not received within 10 s`.
    pub detail: String,
}
