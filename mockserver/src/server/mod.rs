//! The transport: hyper 1.x over tokio, HTTP/1.1 with keep-alive. R-CONN-1 (connections per IP, idle close), the
//! limit of all connections, the head and body timeouts, the body size limit, the admin routes, and clean shutdown.
//!
//! - this file: [`MockServer`] (configured) and [`RunningServer`] (bound), and what every connection shares
//! - `accept`: the accept loop and shutdown; `connection`: HTTP/1.1 on one connection, and the journal of heads
//!   hyper refused or that came too slowly
//! - `limits`: R-CONN-1, connections per IP and the idle timeout; connections from all peers together
//! - `head`: the request head's deadline, and a connection's first bytes kept until its first request parsed
//! - `tunnel`: the CONNECT tunnels of proxy mode
//! - `routing`: one request to the protocol, the admin API or `/metrics`, with fault delays and resets
//! - `stream`: the live journal stream's framing; `response`: bodies and content types; `paced`: a `vary` fault's
//!   chunked, trickled or cut-off body
//! - `sweep`: freeing expired records while no request comes

mod accept;
mod connection;
mod head;
mod limits;
mod paced;
mod response;
mod routing;
mod stream;
mod sweep;
mod tunnel;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::error::StartError;
use crate::service::MockService;
use crate::tls::LocalCa;
use crate::upstream::Upstreams;

pub use routing::InjectedReset;

/// How long a shutdown lets requests in flight finish (connections, delayed answers, forwards) before it stops.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A configured mock, ready to bind.
#[derive(Debug)]
pub struct MockServer {
    service: Arc<MockService>,
}

/// A mock serving on a socket. Dropping it does not stop it; call [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    service: Arc<MockService>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    ca_path: Option<std::path::PathBuf>,
}

impl MockServer {
    /// Validates the configuration and builds the service.
    pub fn new(config: Config) -> Result<MockServer, StartError> {
        Ok(MockServer { service: Arc::new(MockService::new(config)?) })
    }

    /// The service (for in-process use).
    pub fn service(&self) -> &Arc<MockService> {
        &self.service
    }

    /// Binds `addr` (port 0 picks a free port) and starts serving: HTTPS when `server.tls`, and CONNECT for
    /// `https_proxy` clients when `server.proxy`, both with the local CA of `server.tls_dir`.
    pub async fn bind(self, addr: SocketAddr) -> Result<RunningServer, StartError> {
        let server = &self.service.config().server;
        let ca =
            if server.tls || server.proxy { Some(Arc::new(LocalCa::load_or_create(&server.tls_dir)?)) } else { None };
        let acceptor = match &ca {
            Some(ca) => Some(ca.acceptor()?),
            None => None,
        };
        let (stop, stopped) = watch::channel(false);
        let upstream = Upstreams::from_config(self.service.config(), stopped.clone(), SHUTDOWN_GRACE)
            .map_err(|reason| StartError::Upstream { reason })?;
        let bind_error = |source| StartError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let transport = Arc::new(Transport {
            service: Arc::clone(&self.service),
            tls: acceptor.clone().filter(|_| server.tls),
            connect: acceptor.filter(|_| server.proxy),
            stopped,
            connections: TaskTracker::new(),
            limiter: limits::ConnectionLimiter::new(server.max_connections, server.max_connections_per_ip),
            upstream,
        });
        let ca_path = ca.as_ref().map(|ca| ca.ca_path().to_owned());
        let task = tokio::spawn(accept::serve(listener, transport));
        Ok(RunningServer { addr, service: self.service, stop, task, ca_path })
    }
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, or `https://ADDR` with TLS.
    pub fn base_url(&self) -> String {
        let scheme = if self.service.config().server.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The local CA certificate clients must trust (TLS or proxy mode).
    pub fn ca_path(&self) -> Option<&std::path::Path> {
        self.ca_path.as_deref()
    }

    /// The service behind the socket.
    pub fn service(&self) -> &Arc<MockService> {
        &self.service
    }

    /// Stops accepting, lets requests in flight finish (up to [`SHUTDOWN_GRACE`]), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// What every connection needs.
struct Transport {
    service: Arc<MockService>,
    /// TLS on the listener (`server.tls`).
    tls: Option<TlsAcceptor>,
    /// TLS inside CONNECT tunnels (`server.proxy`).
    connect: Option<TlsAcceptor>,
    stopped: watch::Receiver<bool>,
    /// Connections, tunnels and delayed answers: a shutdown waits for them (up to 5 s).
    connections: TaskTracker,
    /// R-CONN-1 and the limit of all connections: every accepted connection holds a place, and so does every
    /// CONNECT tunnel once its own connection has handed its socket over.
    limiter: Arc<limits::ConnectionLimiter>,
    /// Upstream mode: where production and test-system requests are forwarded (`None`: the mock answers them).
    upstream: Option<Upstreams>,
}
