//! HTTP/1.1 with keep-alive on one connection (plain, TLS, or inside a CONNECT tunnel), closed gracefully
//! when the server stops.

use std::net::IpAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::routing::answer;
use super::Transport;

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

/// Serves one connection until it ends or the server stops.
pub(super) async fn serve_connection<IO>(io: IO, transport: Arc<Transport>, peer: IpAddr, scheme: Scheme)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stopped = transport.stopped.clone();
    let handler = {
        let transport = Arc::clone(&transport);
        service_fn(move |request| answer(Arc::clone(&transport), peer, scheme, request))
    };
    let connection = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(io), handler).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
