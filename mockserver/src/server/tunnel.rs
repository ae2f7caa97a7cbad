//! Proxy mode: a CONNECT tunnel becomes a TLS connection to the mock, whatever host it names, with a
//! certificate for that host from the local CA.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming as HyperBody;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use super::connection::{serve_connection, Scheme};
use super::limits::ConnectionLimiter;
use super::response::{response, whole, Body, TEXT};
use super::Transport;

/// Answers a CONNECT: 200 and the tunnel served as its own connection, or 405 outside proxy mode.
pub(super) fn tunnel(transport: Arc<Transport>, peer: IpAddr, request: &mut Request<HyperBody>) -> Response<Body> {
    let Some(acceptor) = transport.connect.clone() else {
        let hint = "CONNECT (https_proxy) needs proxy mode: start the mock with `nppa mock --proxy`";
        return response(405, TEXT, hint.as_bytes().to_vec());
    };
    // The tunnel keeps the socket after the CONNECT's own connection has ended and freed its place: it carries
    // that place over, so tunnels count against R-CONN-1 and `server.max_connections` like any connection.
    let permit = ConnectionLimiter::carry_over(&transport.limiter, peer);
    let target = request.uri().authority().map(ToString::to_string).unwrap_or_default();
    let upgrade = hyper::upgrade::on(request);
    let head_timeout = Duration::from_secs_f64(transport.service.config().server.header_timeout_s);
    transport.service.metrics().connections(1);
    transport.connections.clone().spawn(async move {
        match upgrade.await {
            Ok(upgraded) => match tokio::time::timeout(head_timeout, acceptor.accept(TokioIo::new(upgraded))).await {
                Ok(Ok(tls)) => serve_connection(tls, Arc::clone(&transport), peer, Scheme::Https).await,
                Ok(Err(e)) => tracing::debug!("TLS in the CONNECT tunnel to {target} failed: {e}"),
                Err(_) => tracing::debug!("TLS in the CONNECT tunnel to {target} not done within the head timeout"),
            },
            Err(e) => tracing::debug!("CONNECT to {target} was not upgraded: {e}"),
        }
        transport.service.metrics().connections(-1);
        drop(permit);
    });
    Response::new(whole(Bytes::new()))
}
