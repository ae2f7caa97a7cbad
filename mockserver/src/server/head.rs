//! The request head on the wire: its deadline (`server.header_timeout_s`), and, for a connection's first request,
//! the bytes that arrived, kept until the request is dispatched, so that a head hyper refuses is journaled with
//! them (no byte of a request that parsed is kept after that).
//!
//! Ours rather than hyper's `header_read_timeout`, whose timer also runs while a kept-alive connection waits for
//! its next request and would close it long before R-CONN-1's idle timeout: here a later head's deadline starts
//! at its first byte, and the time between requests is the idle timeout's business.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::http_error::KEPT_BYTES;

/// Where the connection is, as the service sees it.
const HEAD: u8 = 0;
/// A request was dispatched and is being answered (its body has its own deadline).
const EXCHANGE: u8 = 1;
/// The answer is made; the next byte read begins the next head.
const ANSWERED: u8 = 2;
/// Upgraded to a CONNECT tunnel: the tunnel's own connection watches its heads.
const TUNNEL: u8 = 3;

/// What the service and the stream share about the head being read.
#[derive(Debug, Default)]
pub(super) struct HeadWatch {
    phase: AtomicU8,
    /// Bytes of the head being read have arrived.
    started: AtomicBool,
    /// The head deadline passed.
    timed_out: AtomicBool,
    /// The status of what hyper wrote while reading a head: its answer to a head it refused (0: nothing).
    refused_status: AtomicU16,
    /// Until the first request is dispatched.
    keeping: AtomicBool,
    first_bytes: Mutex<Vec<u8>>,
}

/// A head that was being read when the connection ended.
#[derive(Debug)]
pub(super) struct UnfinishedHead {
    /// Some of its bytes had arrived.
    pub(super) started: bool,
    pub(super) timed_out: bool,
    /// What hyper answered (0: closed without an answer).
    pub(super) status: u16,
    /// The first bytes, when it was the connection's first request.
    pub(super) bytes: Vec<u8>,
}

impl HeadWatch {
    pub(super) fn new() -> Arc<HeadWatch> {
        Arc::new(HeadWatch { keeping: AtomicBool::new(true), ..HeadWatch::default() })
    }

    /// hyper parsed a head and calls the service: the head deadline stops, and the first bytes are let go.
    pub(super) fn dispatched(&self) {
        self.phase.store(EXCHANGE, Ordering::Release);
        if self.keeping.swap(false, Ordering::AcqRel) {
            *self.first_bytes.lock().unwrap_or_else(|p| p.into_inner()) = Vec::new();
        }
    }

    /// The service made its answer.
    pub(super) fn answered(&self) {
        self.phase.store(ANSWERED, Ordering::Release);
    }

    /// The connection became a CONNECT tunnel.
    pub(super) fn tunnelled(&self) {
        self.phase.store(TUNNEL, Ordering::Release);
    }

    /// The head being read when the connection ended, if it ended while reading one.
    pub(super) fn unfinished(&self) -> Option<UnfinishedHead> {
        if self.phase.load(Ordering::Acquire) != HEAD {
            return None;
        }
        let bytes = std::mem::take(&mut *self.first_bytes.lock().unwrap_or_else(|p| p.into_inner()));
        Some(UnfinishedHead {
            started: self.started.load(Ordering::Acquire),
            timed_out: self.timed_out.load(Ordering::Acquire),
            status: self.refused_status.load(Ordering::Acquire),
            bytes,
        })
    }

    /// Bytes arrived; true when they begin a new head after an answer (its deadline starts now).
    fn arrived(&self, bytes: &[u8]) -> bool {
        let phase = self.phase.load(Ordering::Acquire);
        let next_head = phase == ANSWERED;
        if next_head {
            self.phase.store(HEAD, Ordering::Release);
            self.refused_status.store(0, Ordering::Release);
        }
        if next_head || phase == HEAD {
            self.started.store(true, Ordering::Release);
        }
        if self.keeping.load(Ordering::Acquire) {
            let mut kept = self.first_bytes.lock().unwrap_or_else(|p| p.into_inner());
            let room = KEPT_BYTES.saturating_sub(kept.len());
            kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        next_head
    }

    /// hyper wrote while a head was being read: the status line of its answer to a refused head.
    fn wrote(&self, bytes: &[u8]) {
        if self.phase.load(Ordering::Acquire) != HEAD || self.refused_status.load(Ordering::Acquire) != 0 {
            return;
        }
        let status = bytes
            .strip_prefix(b"HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| digits.parse::<u16>().ok());
        if let Some(status) = status {
            self.refused_status.store(status, Ordering::Release);
        }
    }
}

/// A stream that fails with `TimedOut` when a request head takes longer than `timeout`, and tells its
/// [`HeadWatch`] what it reads and writes.
pub(super) struct Watched<IO> {
    inner: IO,
    watch: Arc<HeadWatch>,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    /// The deadline runs: a head is awaited (the first from the start, later ones from their first byte).
    armed: bool,
    /// A later head's first bytes were read and `deadline` is not yet set for it: it is set when the stream first
    /// waits for more, in the same poll, so that a head that arrives whole (nearly all) costs no clock read or timer.
    due_from_next_wait: bool,
}

impl<IO> Watched<IO> {
    /// Watches `inner` from now: the first head is due within `timeout`.
    pub(super) fn new(inner: IO, watch: Arc<HeadWatch>, timeout: Duration) -> Watched<IO> {
        let deadline = Box::pin(tokio::time::sleep(timeout));
        Watched { inner, watch, timeout, deadline, armed: true, due_from_next_wait: false }
    }

    /// True once the head being read is overdue (registers the timer's wake-up otherwise).
    fn overdue(&mut self, cx: &mut Context<'_>) -> bool {
        if self.armed && self.watch.phase.load(Ordering::Acquire) != HEAD {
            self.armed = false;
        }
        if !self.armed {
            return false;
        }
        if std::mem::take(&mut self.due_from_next_wait) {
            let due = Instant::now() + self.timeout;
            self.deadline.as_mut().reset(due);
        }
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let arrived = &buf.filled()[before..];
                if !arrived.is_empty() && self.watch.arrived(arrived) {
                    self.armed = true;
                    self.due_from_next_wait = true;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.overdue(cx) => {
                self.watch.timed_out.store(true, Ordering::Release);
                let message = format!("request head not received within {} s", self.timeout.as_secs_f64());
                Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, message)))
            }
            other => other,
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.watch.wrote(buf);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            self.watch.wrote(first);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
