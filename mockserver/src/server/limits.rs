//! R-CONN-1: at most `server.max_connections_per_ip` open connections per client IP, and a connection with no
//! bytes in either direction for `server.idle_timeout_s` closed by the server; beside it, at most
//! `server.max_connections` from all peers, so that many peers together cannot exhaust the descriptors.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use dashmap::DashMap;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::metrics::Refusal;

/// Open connections, in all and per client IP.
pub(super) struct ConnectionLimiter {
    max_total: usize,
    max_per_ip: usize,
    total: AtomicUsize,
    open: DashMap<IpAddr, usize>,
}

/// One open connection; dropping it frees its place.
pub(super) struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    /// A limiter allowing `max_total` connections in all and `max_per_ip` per IP.
    pub(super) fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnectionLimiter> {
        Arc::new(ConnectionLimiter { max_total, max_per_ip, total: AtomicUsize::new(0), open: DashMap::new() })
    }

    /// A place for one more connection from `ip`, unless the mock or `ip` has its maximum open.
    pub(super) fn acquire(limiter: &Arc<ConnectionLimiter>, ip: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let max_total = limiter.max_total;
        limiter
            .total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |total| (total < max_total).then_some(total + 1))
            .map_err(|_| Refusal::Total)?;
        let mut open = limiter.open.entry(ip).or_insert(0);
        if *open >= limiter.max_per_ip {
            drop(open);
            limiter.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refusal::PerIp);
        }
        *open += 1;
        Ok(ConnectionPermit { limiter: Arc::clone(limiter), ip })
    }

    /// The place of a connection from `ip` that hands its socket over (a CONNECT tunnel), taken just before that
    /// connection frees its own: never refused, since it is the same socket.
    pub(super) fn carry_over(limiter: &Arc<ConnectionLimiter>, ip: IpAddr) -> ConnectionPermit {
        limiter.total.fetch_add(1, Ordering::AcqRel);
        *limiter.open.entry(ip).or_insert(0) += 1;
        ConnectionPermit { limiter: Arc::clone(limiter), ip }
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.limiter.open.remove_if_mut(&self.ip, |_, open| {
            *open -= 1;
            *open == 0
        });
        self.limiter.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A TCP stream that fails with `TimedOut` once it has been idle for `timeout`.
///
/// Bytes moving only note the time; the timer is moved when it fires early (an exchange since it was set), not on
/// every read and write: a busy connection costs one timer wake-up per `timeout`, not two timer updates a request.
pub(super) struct IdleTimeout {
    inner: TcpStream,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    last_bytes: Instant,
}

impl IdleTimeout {
    pub(super) fn new(inner: TcpStream, timeout: Duration) -> IdleTimeout {
        let deadline = Box::pin(tokio::time::sleep(timeout));
        IdleTimeout { inner, timeout, deadline, last_bytes: Instant::now() }
    }

    fn touch(&mut self) {
        self.last_bytes = Instant::now();
    }

    /// True once the connection has been idle for `timeout` (registers the timer's wake-up otherwise).
    fn idle(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return false;
            }
            let due = self.last_bytes + self.timeout;
            if due <= self.deadline.deadline() {
                return true;
            }
            self.deadline.as_mut().reset(due);
        }
    }
}

impl AsyncRead for IdleTimeout {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending if self.idle(cx) => {
                Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "idle connection closed (R-CONN-1)")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
