//! The admin API, on the same port as the protocol: `/__admin/…`, loopback peers only by default.
//!
//! Contract (external tools rely on these paths and shapes):
//! - `GET  /__admin/clock`  → `{"now_ms": T, …}`
//! - `POST /__admin/clock`  with `{"advance_ms": N}` or `{"set_ms": T}` (optionally `"freeze": true|false`);
//!   the clock keeps ticking from the new value unless frozen
//! - `POST /__admin/reset`  drops all protocol state
//! - `GET  /__admin/stats`  live records, quota blocks
//! - `GET  /__admin/journal?interface=&errcode=&since=&after_id=&limit=`, `DELETE /__admin/journal`,
//!   `GET /__admin/journal/stream` (JSONL, or SSE with `Accept: text/event-stream`)
//! - `GET  /__admin/testsystem`  test credentials, codes and each case's state; `POST /__admin/testsystem/reset`

use std::net::IpAddr;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::clock;
use crate::journal::{JournalEntry, JournalQuery};
use crate::service::MockService;

/// Path prefix of every admin route.
pub const PREFIX: &str = "/__admin/";

/// An admin answer: HTTP status and JSON body, or a live journal stream.
#[derive(Debug)]
pub enum AdminAnswer {
    Json {
        status: u16,
        body: Vec<u8>,
    },
    /// `GET /__admin/journal/stream`: one JSON entry per line (or per SSE event) as requests arrive.
    Stream {
        entries: broadcast::Receiver<Arc<JournalEntry>>,
        sse: bool,
    },
}

fn answer(status: u16, value: serde_json::Value) -> AdminAnswer {
    AdminAnswer::Json { status, body: value.to_string().into_bytes() }
}

fn error(status: u16, message: impl Into<String>) -> AdminAnswer {
    answer(status, json!({ "error": message.into() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    advance_ms: Option<i64>,
    set_ms: Option<u64>,
    freeze: Option<bool>,
}

/// Answers an admin request. `query` is the URL query string; `accept` the Accept header.
pub fn handle(
    service: &MockService,
    peer: IpAddr,
    method: &str,
    path: &str,
    query: Option<&str>,
    accept: &str,
    body: &[u8],
) -> AdminAnswer {
    let peer = crate::tenants::canonical_ip(peer);
    if !peer.is_loopback() && !service.config().server.admin_remote {
        return error(403, "the admin API answers loopback peers only (set server.admin_remote = true to open it)");
    }
    match (method, path.trim_end_matches('/')) {
        ("GET", "/__admin/clock") => clock_state(service),
        ("POST", "/__admin/clock") => change_clock(service, body),
        ("POST", "/__admin/reset") => {
            service.reset();
            answer(200, json!({ "reset": true, "now_ms": service.clock().now_ms() }))
        }
        ("GET", "/__admin/testsystem") => answer(200, service.test_system().state()),
        ("POST", "/__admin/testsystem/reset") => {
            service.test_system().reset();
            answer(200, service.test_system().state())
        }
        ("GET", "/__admin/journal") => journal(service, query),
        ("DELETE", "/__admin/journal") => {
            service.journal().clear();
            answer(200, json!({ "cleared": true, "stats": service.journal().stats() }))
        }
        ("GET", "/__admin/journal/stream") => {
            let sse = accept.contains("text/event-stream") || query.is_some_and(|q| q.contains("format=sse"));
            AdminAnswer::Stream { entries: service.journal().subscribe(), sse }
        }
        ("GET", "/__admin/stats") => answer(
            200,
            json!({
                "now_ms": service.clock().now_ms(),
                "live_records": service.store().live(),
                "quota_blocks_started": service.quotas().blocks_started(),
            }),
        ),
        (
            _,
            "/__admin/clock"
            | "/__admin/reset"
            | "/__admin/stats"
            | "/__admin/testsystem"
            | "/__admin/testsystem/reset"
            | "/__admin/journal"
            | "/__admin/journal/stream",
        ) => error(405, format!("{method} is not allowed on {path}")),
        _ => error(404, format!("no admin route {path}; see README.md, section \"Admin API\"")),
    }
}

fn journal(service: &MockService, query: Option<&str>) -> AdminAnswer {
    let filter: JournalQuery = match serde_urlencoded::from_str(query.unwrap_or("")) {
        Ok(filter) => filter,
        Err(e) => {
            return error(400, format!("journal filters are interface, errcode, since (mock ms), after_id, limit: {e}"))
        }
    };
    let entries = service.journal().query(&filter);
    let entries: Vec<&JournalEntry> = entries.iter().map(|e| &**e).collect();
    answer(200, json!({ "entries": entries, "stats": service.journal().stats() }))
}

fn clock_state(service: &MockService) -> AdminAnswer {
    let clock = service.clock();
    let now_ms = clock.now_ms();
    let beijing = chrono::FixedOffset::east_opt(8 * 3600)
        .zip(chrono::DateTime::from_timestamp_millis(now_ms as i64))
        .map(|(tz, t)| t.with_timezone(&tz).to_rfc3339())
        .unwrap_or_default();
    answer(
        200,
        json!({
            "now_ms": now_ms,
            "beijing": beijing,
            "frozen": clock.is_frozen(),
            "offset_from_wall_ms": clock.offset_from_wall_ms(),
            "in_mps_outage": clock::in_mps_outage(now_ms),
        }),
    )
}

fn change_clock(service: &MockService, body: &[u8]) -> AdminAnswer {
    let change: ClockChange = match serde_json::from_slice(body) {
        Ok(change) => change,
        Err(e) => {
            return error(
                400,
                format!(
                    "expected {{\"advance_ms\": N}} or {{\"set_ms\": T}}, optionally with \"freeze\": true|false: {e}"
                ),
            )
        }
    };
    let clock = service.clock();
    match (change.advance_ms, change.set_ms) {
        (Some(_), Some(_)) => return error(400, "give advance_ms or set_ms, not both"),
        (Some(delta), None) => clock.advance_ms(delta),
        (None, Some(t)) => clock.set_ms(t),
        (None, None) if change.freeze.is_none() => return error(400, "give advance_ms, set_ms or freeze"),
        (None, None) => {}
    }
    if let Some(frozen) = change.freeze {
        clock.freeze(frozen);
    }
    // Free what the jump made due at once, rather than at the next sweep.
    service.store().sweep(clock.now_ms());
    clock_state(service)
}
