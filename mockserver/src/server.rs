//! The transport: hyper 1.x over tokio, HTTP/1.1 with keep-alive. R-CONN-1 (connections per IP, idle close),
//! the body size limit, the admin routes, and clean shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::Incoming as HyperBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use crate::admin;
use crate::config::Config;
use crate::faults::FaultTarget;
use crate::service::{route_interface, BodyError, Incoming, MockService};
use crate::tls::LocalCa;

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
    pub fn new(config: Config) -> Result<MockServer, String> {
        Ok(MockServer { service: Arc::new(MockService::new(config)?) })
    }

    /// The service (for in-process use).
    pub fn service(&self) -> &Arc<MockService> {
        &self.service
    }

    /// Binds `addr` (port 0 picks a free port) and starts serving: HTTPS when `server.tls`, and CONNECT for
    /// `https_proxy` clients when `server.proxy`, both with the local CA of `server.tls_dir`.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<RunningServer> {
        let server = &self.service.config().server;
        let ca = if server.tls || server.proxy {
            let ca = LocalCa::load_or_create(&server.tls_dir).map_err(std::io::Error::other)?;
            Some(Arc::new(ca))
        } else {
            None
        };
        let acceptor = match &ca {
            Some(ca) => Some(ca.acceptor().map_err(std::io::Error::other)?),
            None => None,
        };
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let transport = Arc::new(Transport {
            service: Arc::clone(&self.service),
            tls: acceptor.clone().filter(|_| server.tls),
            connect: acceptor.filter(|_| server.proxy),
            stopped,
            connections: TaskTracker::new(),
        });
        let ca_path = ca.as_ref().map(|ca| ca.ca_path().to_owned());
        let task = tokio::spawn(serve(listener, transport));
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

    /// Stops accepting, lets requests in flight finish (up to 5 s), and returns.
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
    connections: TaskTracker,
}

async fn serve(listener: TcpListener, transport: Arc<Transport>) {
    let service = &transport.service;
    let server = &service.config().server;
    let idle = Duration::from_secs_f64(server.idle_timeout_s);
    let limiter = Arc::new(ConnectionLimiter { max: server.max_connections_per_ip, open: DashMap::new() });
    let sweeper = tokio::spawn(sweep_every_second(Arc::clone(service)));
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
                // R-CONN-1: over the per-IP limit, the connection is closed at once.
                let Some(permit) = ConnectionLimiter::acquire(&limiter, peer.ip()) else {
                    tracing::debug!("refused connection from {peer}: per-IP limit reached");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                service.metrics().connections(1);
                let transport = Arc::clone(&transport);
                transport.connections.clone().spawn(async move {
                    let io = IdleTimeout::new(stream, idle);
                    match &transport.tls {
                        Some(acceptor) => match acceptor.accept(io).await {
                            Ok(tls) => serve_connection(tls, Arc::clone(&transport), peer.ip()).await,
                            Err(e) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                        },
                        None => serve_connection(io, Arc::clone(&transport), peer.ip()).await,
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
    let _ = tokio::time::timeout(Duration::from_secs(5), transport.connections.wait()).await;
}

/// HTTP/1.1 on one connection (plain, TLS, or inside a CONNECT tunnel) until it ends or the server stops.
async fn serve_connection<IO>(io: IO, transport: Arc<Transport>, peer: IpAddr)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut stopped = transport.stopped.clone();
    let handler = {
        let transport = Arc::clone(&transport);
        service_fn(move |request| answer(Arc::clone(&transport), peer, request))
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

/// Proxy mode: a CONNECT tunnel becomes a TLS connection to the mock, whatever host it names, with a
/// certificate for that host from the local CA.
fn tunnel(transport: Arc<Transport>, peer: IpAddr, request: &mut Request<HyperBody>) -> Response<Body> {
    let Some(acceptor) = transport.connect.clone() else {
        let hint = "CONNECT (https_proxy) needs proxy mode: start the mock with `nppa mock --proxy`";
        return response(405, TEXT, hint.as_bytes().to_vec());
    };
    let target = request.uri().authority().map(ToString::to_string).unwrap_or_default();
    let upgrade = hyper::upgrade::on(request);
    transport.connections.clone().spawn(async move {
        match upgrade.await {
            Ok(upgraded) => match acceptor.accept(TokioIo::new(upgraded)).await {
                Ok(tls) => serve_connection(tls, Arc::clone(&transport), peer).await,
                Err(e) => tracing::debug!("TLS in the CONNECT tunnel to {target} failed: {e}"),
            },
            Err(e) => tracing::debug!("CONNECT to {target} was not upgraded: {e}"),
        }
    });
    Response::new(Full::new(Bytes::new()).boxed())
}

/// Frees expired records once a second, so memory follows the clock even without requests.
async fn sweep_every_second(service: Arc<MockService>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        service.store().sweep(service.clock().now_ms());
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn answer(
    transport: Arc<Transport>,
    peer: IpAddr,
    mut request: Request<HyperBody>,
) -> Result<Response<Body>, InjectedReset> {
    if request.method() == hyper::Method::CONNECT {
        return Ok(tunnel(transport, peer, &mut request));
    }
    let service = &transport.service;
    let received = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let limit = service.config().server.max_body_bytes;
    let body: Result<Bytes, BodyError> = match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Incomplete),
    };
    let path = parts.uri.path();
    if path == "/metrics" && parts.method == hyper::Method::GET {
        let text = service.metrics().render();
        return Ok(response(200, "application/openmetrics-text; version=1.0.0; charset=utf-8", text.into_bytes()));
    }
    if path.starts_with(admin::PREFIX) {
        let accept = parts.headers.get(hyper::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let body = body.as_deref().unwrap_or_default();
        let reply = admin::handle(service, peer, parts.method.as_str(), path, parts.uri.query(), accept, body);
        return Ok(match reply {
            admin::AdminAnswer::Json { status, body } => response(status, JSON, body),
            admin::AdminAnswer::Stream { entries, sse } => journal_stream(Arc::clone(service), entries, sse),
        });
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let target = FaultTarget {
        interface: route_interface(path),
        app_id: header("appid"),
        biz_id: header("bizid"),
        test_system: nppa_protocol::Interface::from_test_path(path).is_some(),
    };
    let injection = service.faults().decide(&target, service.clock().now_ms());
    let served = match injection.as_ref().and_then(|i| i.rule.delay_ms) {
        None => serve_protocol(service, peer, &parts, &body, received, injection.as_ref()),
        Some(delay_ms) => {
            // A slow answer is served by its own task, so that it is journaled even when the client gives up
            // waiting and closes the connection.
            // Tracked with the connections, so that a shutdown waits for it (up to 5 s).
            let (service, parts) = (Arc::clone(service), parts.clone());
            let delayed = transport.connections.spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                serve_protocol(&service, peer, &parts, &body, received, injection.as_ref())
            });
            match delayed.await {
                Ok(served) => served,
                Err(_) => return Err(InjectedReset),
            }
        }
    };
    tracing::debug!(status = served.http_status, "{} {}", parts.method, parts.uri);
    if served.reset {
        // hyper closes the connection without an answer when the service fails.
        return Err(InjectedReset);
    }
    let content_type = if served.http_status == 200 || served.body.first() == Some(&b'{') { JSON } else { TEXT };
    Ok(response(served.http_status, content_type, served.body))
}

/// One protocol request through the service (journal and metrics included).
fn serve_protocol(
    service: &MockService,
    peer: IpAddr,
    parts: &hyper::http::request::Parts,
    body: &Result<Bytes, BodyError>,
    received: std::time::Instant,
    injection: Option<&crate::faults::Injection>,
) -> crate::service::Served {
    let incoming = Incoming {
        peer,
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: body.as_deref().map_err(|e| *e),
    };
    service.serve(&incoming, received, injection)
}

/// A fault rule asked to close the connection without an answer.
#[derive(Debug)]
pub struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by a fault rule")
    }
}

impl std::error::Error for InjectedReset {}

const JSON: &str = "application/json;charset=UTF-8";
const TEXT: &str = "text/plain;charset=UTF-8";
/// How often a quiet journal stream says it is alive.
const STREAM_HEARTBEAT: Duration = Duration::from_secs(15);

fn frame(sse: bool, json: &str) -> String {
    if sse {
        format!("data: {json}\n\n")
    } else {
        format!("{json}\n")
    }
}

fn response(status: u16, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}

/// `GET /__admin/journal/stream`: entries as they are recorded, one JSON per line (or SSE events).
/// A subscriber that falls behind gets a `{"lagged": N}` line in place of the N entries it missed.
fn journal_stream(
    service: Arc<MockService>,
    entries: tokio::sync::broadcast::Receiver<Arc<crate::journal::JournalEntry>>,
    sse: bool,
) -> Response<Body> {
    use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
    use tokio_stream::StreamExt as _;
    enum Item {
        Entry(Result<Arc<crate::journal::JournalEntry>, BroadcastStreamRecvError>),
        Heartbeat,
    }
    let entries = tokio_stream::wrappers::BroadcastStream::new(entries).map(Item::Entry);
    // Heartbeats keep a quiet stream from being closed as idle (R-CONN-1 applies to every connection).
    let heartbeats = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval_at(
        tokio::time::Instant::now() + STREAM_HEARTBEAT,
        STREAM_HEARTBEAT,
    ))
    .map(|_| Item::Heartbeat);
    let lines = entries.merge(heartbeats).map(move |item| {
        let framed = match item {
            Item::Entry(Ok(entry)) => frame(sse, &serde_json::to_string(&*entry).unwrap_or_default()),
            Item::Entry(Err(BroadcastStreamRecvError::Lagged(missed))) => {
                service.journal().note_lagged(missed);
                frame(sse, &format!("{{\"lagged\":{missed}}}"))
            }
            Item::Heartbeat if sse => ": heartbeat\n\n".to_owned(),
            Item::Heartbeat => frame(false, &format!("{{\"heartbeat_ms\":{}}}", service.clock().now_ms())),
        };
        Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from(framed)))
    });
    let content_type = if sse { "text/event-stream" } else { "application/x-ndjson" };
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(lines)));
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    response
}

/// R-CONN-1: open connections per client IP.
struct ConnectionLimiter {
    max: usize,
    open: DashMap<IpAddr, usize>,
}

/// One open connection; dropping it frees its place.
struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    fn acquire(limiter: &Arc<ConnectionLimiter>, ip: IpAddr) -> Option<ConnectionPermit> {
        let mut open = limiter.open.entry(ip).or_insert(0);
        if *open >= limiter.max {
            return None;
        }
        *open += 1;
        Some(ConnectionPermit { limiter: Arc::clone(limiter), ip })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.limiter.open.remove_if_mut(&self.ip, |_, open| {
            *open -= 1;
            *open == 0
        });
    }
}

/// R-CONN-1: a connection with no bytes in either direction for `timeout` is closed by the server.
struct IdleTimeout {
    inner: TcpStream,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    fn new(inner: TcpStream, timeout: Duration) -> IdleTimeout {
        IdleTimeout { inner, timeout, deadline: Box::pin(tokio::time::sleep(timeout)) }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(next);
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
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "idle connection closed (R-CONN-1)",
                ))),
                Poll::Pending => Poll::Pending,
            },
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
