//! The accept loop: R-CONN-1 and the limit of all connections on every new one, TLS on the listener when
//! configured, and a clean stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use super::connection::{serve_connection, Scheme};
use super::limits::{ConnectionLimiter, IdleTimeout};
use super::{sweep, Transport};

/// Accepts connections until the server stops, then waits up to 5 s for those in flight.
pub(super) async fn serve(listener: TcpListener, transport: Arc<Transport>) {
    let service = &transport.service;
    let server = &service.config().server;
    let idle = Duration::from_secs_f64(server.idle_timeout_s);
    let head_timeout = Duration::from_secs_f64(server.header_timeout_s);
    let sweeper = tokio::spawn(sweep::every_second(Arc::clone(service)));
    let mut stopped = transport.stopped.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // R-CONN-1: over the per-IP limit, or over the limit of all peers together, the connection is
                // closed at once (a 503 would hold the descriptor as long as the peer takes to read it).
                let permit = match ConnectionLimiter::acquire(&transport.limiter, peer.ip()) {
                    Ok(permit) => permit,
                    Err(refusal) => {
                        tracing::debug!("refused connection from {peer}: {} limit reached", refusal.as_str());
                        service.metrics().connection_refused(refusal);
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                service.metrics().connections(1);
                let transport = Arc::clone(&transport);
                transport.connections.clone().spawn(async move {
                    let io = IdleTimeout::new(stream, idle);
                    match &transport.tls {
                        // A handshake is part of the first head's time: a slow one is not held either.
                        Some(acceptor) => match tokio::time::timeout(head_timeout, acceptor.accept(io)).await {
                            Ok(Ok(tls)) => serve_connection(tls, Arc::clone(&transport), peer.ip(), Scheme::Https).await,
                            Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                            Err(_) => tracing::debug!("TLS handshake with {peer} not done within the head timeout"),
                        },
                        None => serve_connection(io, Arc::clone(&transport), peer.ip(), Scheme::Http).await,
                    }
                    transport.service.metrics().connections(-1);
                    drop(permit);
                });
            }
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    sweeper.abort();
    transport.connections.close();
    let _ = tokio::time::timeout(super::SHUTDOWN_GRACE, transport.connections.wait()).await;
}
