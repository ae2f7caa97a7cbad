//! HTTP/1.1 with keep-alive on one connection (plain, TLS, or inside a CONNECT tunnel), closed gracefully
//! when the server stops; a request head hyper refuses or that comes too slowly is journaled and counted.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::head::{HeadWatch, UnfinishedHead, Watched};
use super::routing::answer;
use super::Transport;
use crate::http_error::{HttpError, HttpErrorKind};

/// How the client reached the mock: plain HTTP, or TLS (the mock's own HTTPS, or a CONNECT tunnel in proxy mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Serves one connection until it ends or the server stops; a head hyper refused or that came too slowly is
/// journaled and counted.
pub(super) async fn serve_connection<IO>(io: IO, transport: Arc<Transport>, peer: IpAddr, scheme: Scheme)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stopped = transport.stopped.clone();
    let server = &transport.service.config().server;
    let watch = HeadWatch::new();
    let io = Watched::new(io, Arc::clone(&watch), Duration::from_secs_f64(server.header_timeout_s));
    let handler = {
        let (transport, watch) = (Arc::clone(&transport), Arc::clone(&watch));
        service_fn(move |request: Request<Incoming>| {
            watch.dispatched();
            let connect = request.method() == hyper::Method::CONNECT;
            let watch = Arc::clone(&watch);
            // A combinator rather than an `async` block, which would hold the answer's future twice.
            answer(Arc::clone(&transport), peer, scheme, request).map(move |answer| {
                match &answer {
                    Ok(response) if connect && response.status() == hyper::StatusCode::OK => watch.tunnelled(),
                    _ => watch.answered(),
                }
                answer
            })
        })
    };
    // Upstream mode forwards header names in the case the client wrote them (`appId`), and answers in the upstream's.
    let connection = http1::Builder::new()
        .keep_alive(true)
        .preserve_header_case(transport.upstream.is_some())
        .serve_connection(TokioIo::new(io), handler)
        .with_upgrades();
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Some(head) = watch.unfinished() {
        record_unfinished(&transport, peer, &ended, head, server.header_timeout_s);
    }
}

/// A connection that ended while reading a head: why, journaled with what arrived (a silent connection that timed
/// out is only counted: nothing of a request arrived).
fn record_unfinished(
    transport: &Transport,
    peer: IpAddr,
    ended: &Result<(), hyper::Error>,
    head: UnfinishedHead,
    header_timeout_s: f64,
) {
    let error = if head.timed_out {
        let detail = format!("request head not received within {header_timeout_s} s");
        HttpError { kind: HttpErrorKind::HeadTimeout, detail }
    } else {
        let Err(e) = ended else { return };
        let kind = if e.is_parse_version_h2() {
            HttpErrorKind::Http2
        } else if e.is_parse_too_large() {
            HttpErrorKind::TooLarge
        } else if e.is_parse() {
            HttpErrorKind::Malformed
        } else if head.started {
            HttpErrorKind::Incomplete
        } else {
            return;
        };
        // hyper's words, and the I/O error behind them when there is one ("connection error: …").
        let detail = match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        };
        HttpError { kind, detail }
    };
    let service = &transport.service;
    if head.started {
        service.record_http_error(peer, error, head.status, &head.bytes);
    } else {
        service.metrics().http_error(error.kind);
    }
}
