//! One request to where it belongs: CONNECT to the tunnel, `/metrics`, the admin API, the upstream (upstream mode),
//! or the protocol through the service — with a fault rule's delay waited and its reset carried out.

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming as HyperBody;
use hyper::{Request, Response};
use tokio::task::JoinHandle;

use super::connection::Scheme;
use super::paced;
use super::response::{page, response, whole, Body, JSON, TEXT};
use super::stream::journal_stream;
use super::tunnel::tunnel;
use super::Transport;
use crate::admin;
use crate::config::{ServerSection, ShadowServe};
use crate::faults::{FaultTarget, Injection};
use crate::header_names;
use crate::service::{route_interface, Arrival, Beside, BodyError, Incoming, MockService, Served};
use crate::upstream::{Sent, Shadow};
use crate::variation::Framing;

/// A fault rule asked to close the connection without an answer.
#[derive(Debug)]
pub struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by a fault rule")
    }
}

impl std::error::Error for InjectedReset {}

/// Answers one request; `Err` makes hyper close the connection without an answer.
///
/// Not `async` itself: what needs no waiting (a CONNECT, the arrival's times, taking the request apart) is done
/// before the future is made, so that the future, which hyper moves on every request, holds only the head's parts,
/// the body being read and the answer.
pub(super) fn answer(
    transport: Arc<Transport>,
    peer: IpAddr,
    scheme: Scheme,
    mut request: Request<HyperBody>,
) -> impl Future<Output = Result<Response<Body>, InjectedReset>> + Send {
    let tunnelled =
        (request.method() == hyper::Method::CONNECT).then(|| tunnel(Arc::clone(&transport), peer, &mut request));
    let received = std::time::Instant::now();
    // Arrival is the truth: every rule (R-TS-1, quotas, the fault windows) judges the request at the mock-clock
    // time its head arrived, whatever delays its answer.
    let arrived_ms = transport.service.clock().now_ms();
    let (parts, body) = request.into_parts();
    async move {
        if let Some(tunnelled) = tunnelled {
            return Ok(tunnelled);
        }
        let body = read_body(body, &transport.service.config().server).await;
        let late = body == Err(BodyError::TimedOut);
        let arrival = Arrival { received, arrived_ms, scheme: scheme.as_str() };
        let mut answer = route(&transport, peer, parts, body, arrival).answer().await;
        if let (true, Ok(response)) = (late, &mut answer) {
            // The rest of a late body may still be on its way: the connection cannot carry another request.
            let close = hyper::header::HeaderValue::from_static("close");
            response.headers_mut().insert(hyper::header::CONNECTION, close);
        }
        answer
    }
}

/// The whole body, within `server.max_body_bytes` and `server.body_timeout_s` from the end of the head.
async fn read_body(body: HyperBody, server: &ServerSection) -> Result<Bytes, BodyError> {
    // A request without a body (every query) needs no timer.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Bytes::new());
    }
    let mut collecting = std::pin::pin!(collect(Limited::new(body, server.max_body_bytes)));
    // Most bodies arrive with their head: polled once first, they need no timer (nor the clock read that sets one).
    let collected = match std::future::poll_fn(|cx| Poll::Ready(collecting.as_mut().poll(cx))).await {
        Poll::Ready(collected) => collected,
        Poll::Pending => {
            let deadline = Duration::from_secs_f64(server.body_timeout_s);
            tokio::time::timeout(deadline, collecting).await.map_err(|_| BodyError::TimedOut)?
        }
    };
    match collected {
        Ok(collected) => Ok(collected),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Incomplete),
    }
}

/// The body's data frames joined. A body that came in one frame (the usual: it arrived with its head) is that
/// frame's bytes as they are, without the list `BodyExt::collect` allocates for every body. (The driver's
/// `scenarios::sender::read_answer` joins an answer's frames the same way: the two crates share no crate of HTTP
/// code to hold one for both.)
async fn collect(body: Limited<HyperBody>) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>> {
    let mut body = std::pin::pin!(body);
    let (mut first, mut joined) = (Bytes::new(), None::<BytesMut>);
    while let Some(frame) = body.frame().await {
        // Trailers are not data: skipped.
        let Ok(data) = frame?.into_data() else { continue };
        match &mut joined {
            None if first.is_empty() => first = data,
            None => {
                let mut both = BytesMut::with_capacity(first.len() + data.len());
                both.extend_from_slice(&first);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
            Some(joined) => joined.extend_from_slice(&data),
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
}

/// An answer made now, or one a task makes (a forwarded request, a fault rule's delay).
///
/// Routing is not `async`, so that the future of every request holds only the body being read and this: the
/// forwarding and waiting futures live in their tasks (a request's future was 2.4 KB, moved on every request).
enum Routed {
    Now(Result<Response<Body>, InjectedReset>),
    Later(JoinHandle<Result<Response<Body>, InjectedReset>>),
}

impl Routed {
    async fn answer(self) -> Result<Response<Body>, InjectedReset> {
        match self {
            Routed::Now(answer) => answer,
            Routed::Later(task) => task.await.unwrap_or(Err(InjectedReset)),
        }
    }
}

/// One request whose body was read: to `/metrics`, the admin API or the protocol.
fn route(
    transport: &Arc<Transport>,
    peer: IpAddr,
    parts: hyper::http::request::Parts,
    body: Result<Bytes, BodyError>,
    mut arrival: Arrival,
) -> Routed {
    let service = &transport.service;
    let path = parts.uri.path();
    if path == "/metrics" && parts.method == hyper::Method::GET {
        let text = service.metrics().render();
        let metrics = response(200, "application/openmetrics-text; version=1.0.0; charset=utf-8", text.into_bytes());
        return Routed::Now(Ok(metrics));
    }
    if path.starts_with(admin::PREFIX) {
        let body = body.as_deref().unwrap_or_default();
        let reply = admin::handle(service, peer, parts.method.as_str(), path, parts.uri.query(), &parts.headers, body);
        return Routed::Now(Ok(match reply {
            admin::AdminAnswer::Json { status, body } => response(status, JSON, body),
            admin::AdminAnswer::Stream { entries, sse } => journal_stream(Arc::clone(service), entries, sse),
            admin::AdminAnswer::Page(asset) => page(asset),
        }));
    }
    if let Some(uri_scheme) = parts.uri.scheme() {
        // An absolute-form target (`http_proxy`) names the scheme the client meant.
        arrival.scheme = if *uri_scheme == hyper::http::uri::Scheme::HTTPS { "https" } else { "http" };
    }
    let forwarded = transport.upstream.as_ref().is_some_and(|upstreams| upstreams.target(path).is_some());
    if !forwarded {
        return protocol(transport, peer, parts, body, arrival, None);
    }
    // In a task of its own: the client may hang up before the upstream answers, and the upstream got the request.
    let owned = Arc::clone(transport);
    Routed::Later(spawn_answer(transport, async move { forward(&owned, peer, parts, body, arrival).await }))
}

/// An answer made by a task of its own, so that the exchange is journaled and counted even when the client gives up
/// waiting and closes the connection. Tracked with the connections and held (`MockService::hold_answer`), so that a
/// shutdown waits for it (up to 5 s).
fn spawn_answer<F>(transport: &Transport, answering: F) -> JoinHandle<Result<Response<Body>, InjectedReset>>
where
    F: Future<Output = Result<Response<Body>, InjectedReset>> + Send + 'static,
{
    let held = transport.service.hold_answer();
    transport.connections.spawn(async move {
        let answer = answering.await;
        drop(held);
        answer
    })
}

/// A request for an interface that has an upstream: forwarded as it came (upstream mode), or forwarded and answered
/// by the mock beside it (shadow mode).
async fn forward(
    transport: &Arc<Transport>,
    peer: IpAddr,
    parts: hyper::http::request::Parts,
    body: Result<Bytes, BodyError>,
    arrival: Arrival,
) -> Result<Response<Body>, InjectedReset> {
    let service = &transport.service;
    let Some((upstreams, target)) = transport.upstream.as_ref().and_then(|u| Some((u, u.target(parts.uri.path())?)))
    else {
        return protocol(transport, peer, parts, body, arrival, None).answer().await;
    };
    let request = incoming(peer, &parts, &body);
    // Upstream mode: forwarded as it came, in place of the mock's own rules (and its fault rules).
    let Some(choices) = upstreams.shadow() else {
        let answer = upstreams.pass(service, &request, &parts.extensions, &arrival, target).await;
        return Ok(answer.map(whole));
    };
    // Shadow mode: the same request to the upstream first; the mock still judges it at its arrival, and answers.
    let sent = upstreams.send(service, &request, &parts.extensions, target).await;
    if choices.serve == ShadowServe::Upstream {
        // Serving the upstream's answer: the mock answers too (its state follows its own answers), without fault
        // rules, which shape answers the client would not get.
        serve_protocol(service, peer, &parts, &body, &arrival, None, Some((&sent, choices)));
        return Ok(sent.into_answer().map(whole));
    }
    protocol(transport, peer, parts, body, arrival, Some((sent, choices.clone()))).answer().await
}

/// A protocol request the mock answers, with its fault rules; in shadow mode, beside the upstream's answer to it.
fn protocol(
    transport: &Arc<Transport>,
    peer: IpAddr,
    parts: hyper::http::request::Parts,
    body: Result<Bytes, BodyError>,
    arrival: Arrival,
    shadow: Option<(Sent, Shadow)>,
) -> Routed {
    let service = &transport.service;
    // Described for the fault rules only when there are some.
    let faults = service.faults();
    let injection = if faults.armed() { faults.decide(&fault_target(&parts), arrival.arrived_ms) } else { None };
    match injection.as_ref().and_then(|i| i.rule.delay_ms) {
        None => {
            let served = serve_protocol(service, peer, &parts, &body, &arrival, injection.as_ref(), shadowed(&shadow));
            Routed::Now(respond(&parts, served))
        }
        Some(delay_ms) => {
            // A slow answer: served when the delay has passed, by a task of its own.
            let service = Arc::clone(service);
            Routed::Later(spawn_answer(transport, async move {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                let served =
                    serve_protocol(&service, peer, &parts, &body, &arrival, injection.as_ref(), shadowed(&shadow));
                respond(&parts, served)
            }))
        }
    }
}

/// The HTTP answer to a served protocol request (`Err`: a fault rule's reset).
fn respond(parts: &hyper::http::request::Parts, served: Served) -> Result<Response<Body>, InjectedReset> {
    tracing::debug!(status = served.http_status, "{} {}", parts.method, parts.uri);
    if served.reset {
        // hyper closes the connection without an answer when the service fails.
        return Err(InjectedReset);
    }
    let content_type = match served.content_type {
        Some(content_type) => content_type,
        None if served.http_status == 200 || served.body.first() == Some(&b'{') => JSON,
        None => TEXT,
    };
    Ok(match served.framing {
        Framing::Whole => response(served.http_status, content_type, served.body),
        framing => paced::frame(response(served.http_status, content_type, Vec::new()), served.body, framing),
    })
}

/// What fault rules match on.
fn fault_target(parts: &hyper::http::request::Parts) -> FaultTarget<'_> {
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let path = parts.uri.path();
    FaultTarget {
        interface: route_interface(path),
        app_id: header(header_names::APP_ID),
        biz_id: header(header_names::BIZ_ID),
        test_system: nppa_protocol::Interface::from_test_path(path).is_some(),
    }
}

/// The host the client addressed: the absolute-form target's (`http_proxy`), or the `Host` header's (CONNECT
/// tunnels, direct calls).
fn authority(parts: &hyper::http::request::Parts) -> Option<&str> {
    match parts.uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => parts.headers.get(hyper::header::HOST)?.to_str().ok(),
    }
}

/// One protocol request through the service (journal and metrics included), beside the upstream's answer to it in
/// shadow mode.
fn serve_protocol(
    service: &MockService,
    peer: IpAddr,
    parts: &hyper::http::request::Parts,
    body: &Result<Bytes, BodyError>,
    arrival: &Arrival,
    injection: Option<&Injection>,
    shadow: Option<(&Sent, &Shadow)>,
) -> Served {
    let beside = shadow.map(|(sent, choices)| move |served: &Served| sent.beside(served, choices, service.metrics()));
    let beside = beside.as_ref().map(|f| f as &dyn Fn(&Served) -> Beside);
    service.serve_beside(&incoming(peer, parts, body), arrival, injection, beside)
}

/// The upstream's answer and shadow mode's choices, borrowed.
fn shadowed(shadow: &Option<(Sent, Shadow)>) -> Option<(&Sent, &Shadow)> {
    shadow.as_ref().map(|(sent, choices)| (sent, choices))
}

/// The request as the service reads it.
fn incoming<'a>(
    peer: IpAddr,
    parts: &'a hyper::http::request::Parts,
    body: &'a Result<Bytes, BodyError>,
) -> Incoming<'a> {
    Incoming {
        peer,
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        authority: authority(parts),
        headers: &parts.headers,
        body: body.as_deref().map_err(|e| *e),
    }
}
