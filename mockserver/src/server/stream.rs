//! `GET /__admin/journal/stream`: entries as they are recorded, one JSON per line (or SSE events), with
//! heartbeats and a `{"lagged": N}` line for what a slow subscriber missed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::Response;

use super::response::{streamed, Body};
use crate::admin_api::StreamLine;
use crate::journal::{Kept, Subscription};
use crate::service::MockService;

/// How often a quiet journal stream says it is alive.
const STREAM_HEARTBEAT: Duration = Duration::from_secs(15);

/// One JSON value as a JSONL line or an SSE event.
fn frame(sse: bool, json: &str) -> String {
    if sse {
        format!("data: {json}\n\n")
    } else {
        format!("{json}\n")
    }
}

/// The streamed answer. A subscriber that falls behind gets a `{"lagged": N}` line in place of the N entries
/// it missed.
pub(super) fn journal_stream(service: Arc<MockService>, entries: Subscription, sse: bool) -> Response<Body> {
    use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
    use tokio_stream::StreamExt as _;
    enum Item {
        Entry(Result<Arc<Kept>, BroadcastStreamRecvError>),
        Heartbeat,
    }
    let entries = entries.into_stream().map(Item::Entry);
    // Heartbeats keep a quiet stream from being closed as idle (R-CONN-1 applies to every connection).
    let heartbeats = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(
        tokio::time::Instant::now() + STREAM_HEARTBEAT,
        STREAM_HEARTBEAT,
    ))
    .map(|_| Item::Heartbeat);
    let lines = entries.merge(heartbeats).map(move |item| {
        let framed = match item {
            Item::Entry(Ok(entry)) => frame(sse, &serde_json::to_string(&entry.render()).unwrap_or_default()),
            Item::Entry(Err(BroadcastStreamRecvError::Lagged(missed))) => {
                service.journal().note_lagged(missed);
                frame(sse, &json(&StreamLine::Lagged { lagged: missed }))
            }
            Item::Heartbeat if sse => ": heartbeat\n\n".to_owned(),
            Item::Heartbeat => frame(false, &json(&StreamLine::Heartbeat { heartbeat_ms: service.clock().now_ms() })),
        };
        Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from(framed)))
    });
    let content_type = if sse { "text/event-stream" } else { "application/x-ndjson" };
    let mut response = Response::new(streamed(StreamBody::new(lines)));
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}

/// A stream line as JSON (our types always serialise).
fn json(line: &StreamLine) -> String {
    serde_json::to_string(line).unwrap_or_default()
}
