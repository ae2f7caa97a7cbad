//! A `vary` fault's body as it goes out: in chunks (chunked transfer encoding), trickled a few bytes at a time, or
//! cut off after half of what its `Content-Length` promised.

use std::convert::Infallible;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{HeaderValue, CONTENT_LENGTH};
use hyper::Response;
use tokio::time::Sleep;

use super::response::{streamed, whole, Body};
use crate::variation::Framing;

/// A trickled body is sent over about this long: slow, yet well within the 5 s client timeout (SPEC §1).
const TRICKLE_TOTAL: Duration = Duration::from_millis(1_000);

/// How long a cut body waits after its half before ending.
const CUT_PAUSE: Duration = Duration::from_millis(50);

/// Bytes per trickled chunk.
const TRICKLE_CHUNK: usize = 4;

/// Gives `response` (whose body is empty) the body `body` framed as `framing`.
pub(super) fn frame(mut response: Response<Body>, body: Vec<u8>, framing: Framing) -> Response<Body> {
    let body = Bytes::from(body);
    let paced = match framing {
        Framing::Whole => return response.map(|_| whole(body)),
        // Three chunks, at once.
        Framing::Chunked => {
            let chunk = body.len().div_ceil(3).max(1);
            Paced::new(body, chunk, Duration::ZERO)
        }
        Framing::CloseDelimited => {
            // hyper frames a body of unknown length by the connection's close when the answer is HTTP/1.0.
            *response.version_mut() = hyper::Version::HTTP_10;
            let chunk = body.len().div_ceil(2).max(1);
            Paced::new(body, chunk, Duration::ZERO)
        }
        Framing::Trickled => {
            let chunks = body.len().div_ceil(TRICKLE_CHUNK).max(1) as u32;
            Paced::new(body, TRICKLE_CHUNK, TRICKLE_TOTAL / chunks)
        }
        Framing::CutMidBody => {
            // The whole length promised, half of it sent: hyper closes the connection when the body ends short.
            response.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
            // A pause after it, so that hyper sends the half before it learns the body ended short.
            let half = body.slice(..body.len() / 2);
            Paced { pause_at_end: true, ..Paced::new(half.clone(), half.len().max(1), CUT_PAUSE) }
        }
    };
    response.map(|_| streamed(paced))
}

/// A body sent `chunk` bytes at a time, `gap` apart, with no length known in advance.
struct Paced {
    rest: Bytes,
    chunk: usize,
    gap: Duration,
    /// Wait `gap` after the last chunk too.
    pause_at_end: bool,
    wait: Option<Pin<Box<Sleep>>>,
}

impl Paced {
    fn new(rest: Bytes, chunk: usize, gap: Duration) -> Paced {
        Paced { rest, chunk, gap, pause_at_end: false, wait: None }
    }
}

impl hyper::body::Body for Paced {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(wait) = self.wait.as_mut() {
            ready!(wait.as_mut().poll(cx));
            self.wait = None;
        }
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.chunk.min(self.rest.len());
        let chunk = self.rest.split_to(n);
        if !self.gap.is_zero() && (!self.rest.is_empty() || self.pause_at_end) {
            self.wait = Some(Box::pin(tokio::time::sleep(self.gap)));
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown: chunked transfer encoding (or the `Content-Length` header a cut body was given).
        SizeHint::default()
    }
}
