//! Upstream mode (issue #17): each production or test-system request is forwarded unchanged to the real NPPA (or any
//! upstream) and its answer passed back unchanged, while the journal keeps both sides with the plaintext opened by
//! the configured keys. The mock's own rules and state are not run for what goes upstream; nothing goes upstream
//! unless `[upstream]` (or `nppa mock --upstream`) names where.
//!
//! - this file: [`Routes`], which upstream a path goes to; [`Upstreams`], one request passed through (journal, metrics)
//! - `client`: the HTTP(S) client and one exchange, never retried
//! - `hop`: the hop-by-hop headers that stay behind
//! - `shadow`: shadow mode's comparison of two answers by meaning

mod client;
mod hop;
mod shadow;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::http::Extensions;
use hyper::{Request, Response};
use nppa_protocol::{Interface, StatusCode};
use tokio::sync::watch;

use crate::config::{upstream_url, Config, ShadowServe, UpstreamSection};
use crate::journal::{DifferenceKind, Exchange, ExchangeParts, Record, Unusual, UpstreamExchange};
use crate::metrics::{Metrics, UpstreamOutcome};
use crate::service::{route_interface, Arrival, Beside, BodyError, Incoming, MockService, Served};

pub use client::Failure;

/// One upstream: the URL a request's path and query are appended to, and the `Host` it is sent with.
#[derive(Debug, Clone)]
pub struct Target {
    /// `scheme://authority[/prefix]`, without a trailing `/`.
    base: String,
    host: HeaderValue,
}

impl Target {
    fn parse(text: &str) -> Result<Target, String> {
        let uri = upstream_url(text)?;
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let host = HeaderValue::from_str(authority).map_err(|e| format!("{text:?}: {e}"))?;
        let scheme = uri.scheme_str().unwrap_or("https");
        let base = format!("{scheme}://{authority}{}", uri.path().trim_end_matches('/'));
        Ok(Target { base, host })
    }

    /// Where a request for `path_and_query` goes.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// The URL as configured (its scheme, host and prefix).
    pub fn base(&self) -> &str {
        &self.base
    }
}

/// Which upstream each kind of path goes to.
#[derive(Debug, Clone)]
pub struct Routes {
    /// By `Interface::index`: the interface's own, else `url`.
    production: [Option<Target>; 3],
    /// The test system's paths: `test`, else `url`.
    test: Option<Target>,
}

impl Routes {
    /// `None` when no upstream is configured (the mock answers everything itself).
    pub fn from_config(section: &UpstreamSection) -> Result<Option<Routes>, String> {
        let parse = |field: &Option<String>| field.as_deref().map(Target::parse).transpose();
        let url = parse(&section.url)?;
        let own = [parse(&section.check)?, parse(&section.query)?, parse(&section.loginout)?];
        let production = own.map(|target| target.or_else(|| url.clone()));
        let test = parse(&section.test)?.or(url);
        if test.is_none() && production.iter().all(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(Routes { production, test }))
    }

    /// The upstream of a production or test-system path; `None` for a path the mock answers itself.
    pub fn target(&self, path: &str) -> Option<&Target> {
        if let Some(interface) = Interface::from_production_path(path) {
            return self.production[interface.index()].as_ref();
        }
        Interface::from_test_path(path).and(self.test.as_ref())
    }

    /// Each kind of path that is forwarded, and its upstream (for the banner).
    pub fn describe(&self) -> Vec<(&'static str, &str)> {
        let production = Interface::ALL.into_iter().map(|i| (i.name(), self.production[i.index()].as_ref()));
        production
            .chain([("test system", self.test.as_ref())])
            .filter_map(|(name, t)| Some((name, t?.base())))
            .collect()
    }
}

/// The routes, and the client that reaches them.
#[derive(Debug)]
pub struct Upstreams {
    routes: Routes,
    forwarder: client::Forwarder,
    /// Shadow mode (`upstream.shadow`), and its choices; `None` in upstream mode.
    shadow: Option<Shadow>,
}

/// Shadow mode's choices: whose answer the client gets, and what is not compared.
#[derive(Debug, Clone)]
pub struct Shadow {
    pub serve: ShadowServe,
    pub ignore: Vec<DifferenceKind>,
}

impl Upstreams {
    /// `None` when no upstream is configured (the mock answers everything itself).
    /// `stopping` turns true when the mock begins to stop, and `grace` later it is gone: a forward still waiting is
    /// given up inside the grace, in time to be journaled and answered.
    pub fn from_config(
        config: &Config,
        stopping: watch::Receiver<bool>,
        grace: Duration,
    ) -> Result<Option<Upstreams>, String> {
        let section = &config.upstream;
        let Some(routes) = Routes::from_config(section)? else { return Ok(None) };
        let shadow =
            section.shadow.then(|| Shadow { serve: section.shadow_serve, ignore: section.shadow_ignore.clone() });
        let forwarder = client::Forwarder::new(section, config.server.max_connections, stopping, grace)?;
        Ok(Some(Upstreams { routes, forwarder, shadow }))
    }

    /// The upstream of a production or test-system path; `None` for a path the mock answers itself.
    pub fn target(&self, path: &str) -> Option<&Target> {
        self.routes.target(path)
    }

    /// Shadow mode's choices; `None` in upstream mode (the upstream answers, the mock's rules do not run).
    pub fn shadow(&self) -> Option<&Shadow> {
        self.shadow.as_ref()
    }

    /// Sends `request` to `target` once and reads the whole answer (hop-by-hop headers aside) or why none came,
    /// counted in `/metrics`. `extensions` are the request's (with the header names' case, when the server kept it).
    pub async fn send(
        &self,
        service: &MockService,
        request: &Incoming<'_>,
        extensions: &Extensions,
        target: &Target,
    ) -> Sent {
        let path_and_query = match request.query {
            Some(query) => format!("{}?{query}", request.path),
            None => request.path.to_owned(),
        };
        let url = target.url(&path_and_query);
        let started = Instant::now();
        let result = match request.body {
            Ok(body) => match outgoing(request, body, extensions, &url, target) {
                Ok(outgoing) => self.forwarder.exchange(outgoing).await.map(answered).map_err(Failed::Upstream),
                Err(reason) => Err(Failed::NotForwarded(reason)),
            },
            Err(error) => Err(Failed::NotForwarded(not_whole(error).to_owned())),
        };
        let sent = Sent { url, result, latency: started.elapsed() };
        service.metrics().upstream(sent.outcome());
        sent
    }

    /// Forwards `request` to `target` once and returns the upstream's answer as it came, or a 502 that says why there
    /// is none; journals the exchange either way.
    pub async fn pass(
        &self,
        service: &MockService,
        request: &Incoming<'_>,
        extensions: &Extensions,
        arrival: &Arrival,
        target: &Target,
    ) -> Response<Bytes> {
        let sent = self.send(service, request, extensions, target).await;
        let (note, response) = sent.into_parts();
        let interface = route_interface(request.path);
        let errcode =
            note.status.and_then(|_| nppa_protocol::answer::parse_borrowed(response.body()).map(|a| a.errcode));
        let latency = arrival.received.elapsed();
        if let Some(code) = errcode.and_then(StatusCode::from_code) {
            let test_system = Interface::from_test_path(request.path).is_some();
            service.metrics().observe(interface, code, test_system, latency.as_secs_f64());
        }
        if service.journal().enabled() {
            let (plaintext, sign_ok) = service.read_forwarded(request, arrival.arrived_ms);
            let exchange = Exchange {
                arrived_ms: arrival.arrived_ms,
                time_ms: service.clock().now_ms(),
                latency_us: latency.as_micros() as u64,
                peer: request.peer,
                scheme: arrival.scheme,
                interface,
                sign_ok,
                http_status: response.status().as_u16(),
                errcode,
                connection_reset: false,
                unusual: Unusual::of(
                    None,
                    None,
                    request.body_timed_out_after(service.config().server.body_timeout_s),
                    Some(note),
                ),
                bytes: service.journal().keep_bytes(&ExchangeParts {
                    method: request.method,
                    path: request.path,
                    query: request.query,
                    authority: request.authority,
                    headers: request.headers,
                    body: request.body.ok(),
                    plaintext: plaintext.as_deref(),
                    answer: response.body(),
                }),
            };
            service.journal().record(Record::Exchange(exchange));
        }
        response
    }
}

/// One request sent upstream: where, what came back (or why nothing did), and how long it took.
#[derive(Debug)]
pub struct Sent {
    url: String,
    result: Result<Response<Bytes>, Failed>,
    latency: std::time::Duration,
}

impl Sent {
    fn outcome(&self) -> UpstreamOutcome {
        match &self.result {
            Ok(_) => UpstreamOutcome::Answered,
            Err(Failed::Upstream(Failure::Unreachable(_))) => UpstreamOutcome::Unreachable,
            Err(Failed::Upstream(Failure::BrokeOff(_) | Failure::Abandoned)) => UpstreamOutcome::BrokeOff,
            Err(Failed::Upstream(Failure::TimedOut(_))) => UpstreamOutcome::TimedOut,
            Err(Failed::Upstream(Failure::NoPlace(_) | Failure::Stopped)) => UpstreamOutcome::NotForwarded,
            Err(Failed::NotForwarded(_)) => UpstreamOutcome::NotForwarded,
        }
    }

    /// Why no answer came, in one line naming the upstream.
    fn why(&self) -> Option<String> {
        match &self.result {
            Ok(_) => None,
            Err(Failed::Upstream(failure)) => Some(format!("the upstream {} {failure}", self.url)),
            Err(Failed::NotForwarded(reason)) => Some(format!("not forwarded to the upstream {}: {reason}", self.url)),
        }
    }

    /// The journal's note, and the answer for the client: the upstream's, or the mock's 502.
    fn into_parts(self) -> (UpstreamExchange, Response<Bytes>) {
        let error = self.why();
        let note = UpstreamExchange {
            url: self.url,
            status: self.result.as_ref().ok().map(|r| r.status().as_u16()),
            latency_ms: self.latency.as_secs_f64() * 1e3,
            error: error.clone(),
            shadow: false,
            answer: None,
            mock_answer: None,
            differences: Vec::new(),
        };
        (note, client_answer(self.result, error))
    }

    /// The answer for the client: the upstream's as it came, or the mock's 502 that says why none came.
    pub fn into_answer(self) -> Response<Bytes> {
        let error = self.why();
        client_answer(self.result, error)
    }

    /// Shadow mode: the journal's note on the upstream's answer beside the mock's (`served`), its differences
    /// counted (but the kinds `shadow.ignore` names); with `shadow_serve = "upstream"`, also what the client gets
    /// instead of the mock's answer, as the journal records it.
    pub fn beside(&self, served: &Served, shadow: &Shadow, metrics: &Metrics) -> Beside {
        let error = self.why();
        let (status, answer, differences) = match &self.result {
            Ok(response) => {
                let mut differences =
                    shadow::differences(served.http_status, &served.body, response.status().as_u16(), response.body());
                differences.retain(|d| !shadow.ignore.contains(&d.kind));
                for difference in &differences {
                    metrics.shadow_difference(difference.kind);
                }
                let answer = String::from_utf8_lossy(response.body()).into_owned();
                (Some(response.status().as_u16()), Some(answer), differences)
            }
            Err(_) => (None, None, Vec::new()),
        };
        let serves_upstream = shadow.serve == ShadowServe::Upstream;
        let served_instead = serves_upstream.then(|| {
            let (http_status, body) = match &self.result {
                Ok(response) => (response.status().as_u16(), response.body().to_vec()),
                Err(_) => {
                    let why = error.as_deref().unwrap_or("no answer");
                    let answer = bad_gateway(why);
                    (answer.status().as_u16(), answer.into_body().to_vec())
                }
            };
            let errcode = nppa_protocol::answer::parse_borrowed(&body).map(|a| a.errcode);
            (Served::with_status(http_status, body), errcode)
        });
        let note = UpstreamExchange {
            url: self.url.clone(),
            status,
            latency_ms: self.latency.as_secs_f64() * 1e3,
            error,
            shadow: true,
            answer,
            mock_answer: serves_upstream.then(|| String::from_utf8_lossy(&served.body).into_owned()),
            differences,
        };
        Beside { note, served_instead }
    }
}

/// Why a forwarded request got no answer from the upstream.
#[derive(Debug)]
enum Failed {
    Upstream(Failure),
    NotForwarded(String),
}

/// The request as the client sent it, to `url`: same method, end-to-end headers and body; `Host` the upstream's.
fn outgoing(
    request: &Incoming<'_>,
    body: &[u8],
    extensions: &Extensions,
    url: &str,
    target: &Target,
) -> Result<Request<Full<Bytes>>, String> {
    let method = hyper::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut builder = Request::builder().method(method).uri(url);
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in hop::end_to_end(request.headers) {
            // `Host` in its place, the upstream's.
            let value = if name == HOST { &target.host } else { value };
            headers.append(name.clone(), value.clone());
        }
        if !headers.contains_key(HOST) {
            headers.insert(HOST, target.host.clone());
        }
    }
    if let Some(own) = builder.extensions_mut() {
        *own = extensions.clone();
    }
    builder.body(Full::new(Bytes::copy_from_slice(body))).map_err(|e| format!("{url}: {e}"))
}

/// The upstream's answer for the client: its status, end-to-end headers and body, as they came.
fn answered(answer: Response<Bytes>) -> Response<Bytes> {
    let (parts, body) = answer.into_parts();
    let mut response = Response::new(body);
    *response.status_mut() = parts.status;
    *response.version_mut() = hyper::Version::HTTP_11;
    for (name, value) in hop::end_to_end(&parts.headers) {
        response.headers_mut().append(name.clone(), value.clone());
    }
    // The header names' case as the upstream wrote them.
    *response.extensions_mut() = parts.extensions;
    response
}

/// What the client gets of an upstream's result: its answer as it came, or the mock's 502 that says why none came.
fn client_answer(result: Result<Response<Bytes>, Failed>, why: Option<String>) -> Response<Bytes> {
    match result {
        Ok(response) => response,
        Err(_) => bad_gateway(why.as_deref().unwrap_or("no answer")),
    }
}

/// The mock's own answer when the upstream gave none: 502 and a line that says why.
fn bad_gateway(why: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(format!("nppa mock: {why}\n")));
    *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain;charset=UTF-8"));
    response
}

fn not_whole(error: BodyError) -> &'static str {
    match error {
        BodyError::TooLarge => "the request body is larger than server.max_body_bytes",
        BodyError::Incomplete => "the request body was cut short",
        BodyError::TimedOut => "the request body did not arrive within server.body_timeout_s",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(edit: impl FnOnce(&mut UpstreamSection)) -> UpstreamSection {
        let mut section = UpstreamSection::default();
        edit(&mut section);
        section
    }

    #[test]
    fn nothing_is_forwarded_unless_an_upstream_is_given() {
        assert!(Routes::from_config(&UpstreamSection::default()).expect("valid").is_none());
        assert!(crate::Config::embedded_default().upstream.urls().next().is_none(), "the embedded default forwards");
    }

    #[test]
    fn each_interface_goes_to_its_own_upstream_else_to_url_and_other_paths_stay_here() {
        let routes = Routes::from_config(&section(|s| {
            s.url = Some("https://gateway.example/nppa/".into());
            s.check = Some("https://api.wlc.nppa.gov.cn".into());
            s.test = Some("https://wlc.nppa.gov.cn".into());
        }))
        .expect("valid")
        .expect("configured");
        let url = |path: &str| routes.target(path).map(|t| t.url(path));
        assert_eq!(
            url("/idcard/authentication/check").as_deref(),
            Some("https://api.wlc.nppa.gov.cn/idcard/authentication/check")
        );
        assert_eq!(
            url("/behavior/collection/loginout").as_deref(),
            Some("https://gateway.example/nppa/behavior/collection/loginout"),
            "url, with its prefix"
        );
        assert_eq!(
            url("/test/authentication/check/abc").as_deref(),
            Some("https://wlc.nppa.gov.cn/test/authentication/check/abc")
        );
        assert_eq!(url("/__admin/clock"), None);
        assert_eq!(url("/nowhere"), None, "a path that names no interface is the mock's (1002)");
    }

    #[test]
    fn only_the_interfaces_given_are_forwarded() {
        let routes = Routes::from_config(&section(|s| s.query = Some("http://127.0.0.1:9".into())))
            .expect("valid")
            .expect("configured");
        assert!(routes.target("/idcard/authentication/query").is_some());
        assert!(routes.target("/idcard/authentication/check").is_none());
        assert!(routes.target("/test/authentication/query/abc").is_none());
        assert_eq!(routes.describe(), [("query", "http://127.0.0.1:9")]);
    }

    #[test]
    fn an_upstream_that_is_not_an_http_url_is_refused_with_its_field() {
        for bad in ["ftp://host", "/just/a/path", "https://host/?q=1", "not a url", "http://user:secret@host"] {
            let mut config = crate::Config::embedded_default();
            config.upstream.loginout = Some(bad.into());
            let error = config.validate().expect_err(bad).to_string();
            assert!(error.starts_with("upstream.loginout: "), "{error}");
        }
        let mut config = crate::Config::embedded_default();
        config.upstream.timeout_s = 0.0;
        assert!(config.validate().is_err());
    }
}
