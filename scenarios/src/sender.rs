//! Sending a signed request at the least cost per request: HTTP/1.1 straight over hyper's client connection, kept
//! alive and reused, one connection for each request in flight (a goose user sends one at a time, so one per user,
//! as the Python baseline of `benches/` does). Each interface's URI and the header names are made once, the body is
//! handed over without a copy, the 5 s timeout of SPEC §1 covers connecting, sending and reading the whole answer.
//!
//! goose's own request path (reqwest, its pool, its per-request metric) cost 84 000 instructions a request before
//! the driver built, signed or read anything; goose's user loop with this sender costs 30 100, the answer read and
//! parsed (`python3 benches/instructions.py --only driver`). goose still runs the users and the schedule; with
//! `--goose-report` the engine records each request into goose's report.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, HOST, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
use nppa_protocol::request::{SignedRequest, CONTENT_TYPE};
use nppa_protocol::system_headers;
use nppa_protocol::Interface;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::answer::{self, Answer};

/// The largest answer read (an NPPA answer is under a kilobyte; a loginout's 3001 a few): a target that sends more
/// is not an NPPA server, and its answer counts as a transport failure rather than filling the driver's memory.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// One kept-alive HTTP/1.1 connection to the target.
type Link = SendRequest<Full<Bytes>>;

/// A connection idle this long is closed rather than used again: a server or load balancer may be closing it at
/// that moment (Alibaba Cloud's SLB closes idle connections after 15 s, nginx after 75 s, the mock after 120 s),
/// and a request written into a closing connection is lost. At a steady rate no connection idles this long.
const IDLE_LIMIT: Duration = Duration::from_secs(10);

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("could not connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0} (on Linux, SSL_CERT_FILE=CA.pem trusts a CA: the mock's is nppa-tls/ca.pem)")]
    Tls(std::io::Error),
    #[error("{}", with_causes(.0))]
    Http(#[from] hyper::Error),
    #[error("the answer broke off: {0}")]
    Body(Box<dyn std::error::Error + Send + Sync>),
    #[error("the answer was larger than {MAX_ANSWER_BYTES} bytes (an NPPA answer is under a kilobyte)")]
    TooLarge,
    #[error("no whole answer within {} s", CLIENT_TIMEOUT_MS / 1000)]
    TimedOut,
}

/// What one request came to.
#[derive(Debug)]
pub struct Sent {
    pub answer: Answer,
    /// From the first byte sent to the last byte of the answer (or the failure), in µs.
    pub service_us: u64,
    /// The answer's HTTP status, or why no answer came.
    pub http: Result<u16, Failure>,
}

/// One interface's request headers, for requests to copy: building a map hashes every name on insert (1 900
/// instructions a request), a clone copies it as it is. Only `timestamps` and `sign` change between two requests of
/// one run (and `Content-Length`, when a name is longer).
struct HeaderTemplate {
    /// The signed headers' names, in `SignedRequest::headers`' order, which `map` holds after the sender's own.
    names: Vec<&'static str>,
    /// The `Content-Length` in `map`, if it has one (its first request had a body).
    body_len: Option<usize>,
    map: HeaderMap,
}

impl HeaderTemplate {
    /// How many of the sender's own headers `map` starts with.
    fn own(&self) -> usize {
        own_headers(self.body_len.unwrap_or(0))
    }

    /// Whether `signed`'s headers have the template's names in its order, and a body when it has `Content-Length`.
    fn fits(&self, signed: &SignedRequest) -> bool {
        self.body_len.is_some() != signed.body.is_empty()
            && self.names.len() == signed.headers.len()
            && self.names.iter().zip(&signed.headers).all(|(a, (b, _))| a == b)
    }
}

/// The headers the sender adds to a request's signed ones: `Host`, `User-Agent` and, with a body, `Content-Length`.
fn own_headers(body_len: usize) -> usize {
    if body_len > 0 {
        3
    } else {
        2
    }
}

/// An HTTPS target's TLS: certificates checked by the platform verifier (the system's roots; on Linux
/// `SSL_CERT_FILE` replaces them, e.g. with the mock's `nppa-tls/ca.pem`).
struct Tls {
    connector: TlsConnector,
    name: ServerName<'static>,
}

/// Where one run's requests go, and its idle connections.
pub struct Sender {
    /// Host (without IPv6 brackets) and port to connect to.
    host: String,
    port: u16,
    tls: Option<Tls>,
    /// `Host`: the target's host, and its port unless the scheme's default.
    host_header: HeaderValue,
    /// Each interface's production path, by `Interface::index` (the query's `?ai=` is added per request).
    paths: [Uri; 3],
    /// The system parameters' header names as `SignedRequest::headers` spells them, and as hyper keeps them.
    names: Vec<(&'static str, HeaderName)>,
    /// Each interface's headers as its first request had them, by `Interface::index`.
    templates: [OnceLock<Option<HeaderTemplate>>; 3],
    /// Connections whose last exchange ended whole, ready for the next request, and since when.
    idle: Mutex<Vec<(Link, Instant)>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("host", &self.host_header).field("tls", &self.tls.is_some()).finish()
    }
}

impl Sender {
    /// A sender to `base_url` (`http://HOST:PORT` or `https://…`; a path in it is not used: NPPA's paths are absolute).
    pub fn new(base_url: &str) -> anyhow::Result<Sender> {
        let invalid = |why: &str| anyhow::anyhow!("{base_url}: {why} (expected http://HOST:PORT or https://HOST:PORT)");
        let base: Uri = base_url.parse().map_err(|e| invalid(&format!("{e}")))?;
        let https = match base.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(invalid("not an http or https URL")),
        };
        let authority = base.authority().ok_or_else(|| invalid("no host"))?;
        let default_port = if https { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        // `Host` as a browser writes it: no user:password@, no default port; IPv6 in brackets.
        let host_header = match port {
            port if port == default_port => authority.host().to_owned(),
            port => format!("{}:{port}", authority.host()),
        };
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls = match https {
            // A plain-http target never opens TLS: no system trust store to read (19 000 000 instructions).
            false => None,
            true => Some(Tls::new(&host)?),
        };
        let paths = Interface::ALL.map(|interface| Uri::from_static(interface.production_path()));
        // Static names: cloning a template copies them without touching a shared counter.
        let names = system_headers::ALL
            .into_iter()
            .zip(system_headers::lowercase::ALL)
            .map(|(name, lower)| (name, HeaderName::from_static(lower)))
            .collect();
        Ok(Sender {
            host,
            port,
            tls,
            host_header: HeaderValue::from_str(&host_header)?,
            paths,
            names,
            templates: Default::default(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends `signed` (its body and header values are taken, not copied) and reads the whole answer.
    pub async fn send(&self, signed: &mut SignedRequest) -> Sent {
        let started = Instant::now();
        let request = self.request(signed);
        let exchanged = tokio::time::timeout(Duration::from_millis(CLIENT_TIMEOUT_MS), self.exchange(request)).await;
        let service_us = started.elapsed().as_micros() as u64;
        match exchanged.unwrap_or(Err(Failure::TimedOut)) {
            Ok((status, body)) => Sent { answer: answer::parse(status, &body), service_us, http: Ok(status) },
            Err(failure) => Sent { answer: Answer::transport(), service_us, http: Err(failure) },
        }
    }

    fn request(&self, signed: &mut SignedRequest) -> Request<Full<Bytes>> {
        let method = if signed.method == "GET" { Method::GET } else { Method::POST };
        // Only a query's URI is parsed per request (`protocol` percent-encodes its `ai`, so it always parses).
        let uri = match signed.path_and_query.contains('?') {
            true => Uri::try_from(signed.path_and_query.as_str()).unwrap_or_else(|_| self.path(signed)),
            false => self.path(signed),
        };
        let headers = self.headers(signed);
        let mut request = Request::new(Full::new(Bytes::from(std::mem::take(&mut signed.body))));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        request
    }

    fn path(&self, signed: &SignedRequest) -> Uri {
        self.paths[signed.interface.index()].clone()
    }

    /// The request's headers, their values taken from `signed` (not copied), and `Host`, `User-Agent` and, with a
    /// body, `Content-Length`: a clone of its interface's template with the values that differ put in by position, or
    /// built afresh when the request's header names are not the template's.
    fn headers(&self, signed: &mut SignedRequest) -> HeaderMap {
        let body_len = signed.body.len();
        let template = self.templates[signed.interface.index()].get_or_init(|| {
            let names: Vec<&'static str> = signed.headers.iter().map(|(name, _)| *name).collect();
            let map = self.fresh_headers(&mut signed.headers.clone(), body_len);
            // A value hyper refuses is left out, and then the map's positions are not the names'.
            let body_len = (body_len > 0).then_some(body_len);
            let template = HeaderTemplate { names, body_len, map };
            (template.map.len() == template.own() + template.names.len()).then_some(template)
        });
        let Some(template) = template.as_ref().filter(|template| template.fits(signed)) else {
            return self.fresh_headers(&mut signed.headers, body_len);
        };
        let mut headers = template.map.clone();
        // `iter_mut` goes in insertion order: `Host`, `User-Agent`, `Content-Length` if any, then the signed headers
        // as the template has them.
        if template.body_len.is_some_and(|length| length != body_len) {
            if let Some((_, length)) = headers.iter_mut().nth(2) {
                *length = HeaderValue::from(body_len);
            }
        }
        let mut refused = Vec::new();
        for ((_, slot), (name, value)) in headers.iter_mut().skip(template.own()).zip(&mut signed.headers) {
            if slot.as_bytes() != value.as_bytes() {
                match HeaderValue::try_from(std::mem::take(value)) {
                    Ok(value) => *slot = value,
                    Err(_) => refused.push(*name),
                }
            }
        }
        for name in refused {
            headers.remove(name);
        }
        headers
    }

    /// The request's headers in a new map, as [`Sender::headers`] describes them.
    fn fresh_headers(&self, signed_headers: &mut [(&'static str, String)], body_len: usize) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(own_headers(body_len) + signed_headers.len());
        headers.insert(HOST, self.host_header.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("nppa-load/", env!("CARGO_PKG_VERSION"))));
        // Set here rather than by hyper, which would insert it into a map whose clone has no room left.
        if body_len > 0 {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body_len));
        }
        for (name, value) in signed_headers {
            if value == CONTENT_TYPE {
                headers.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
                continue;
            }
            let Ok(value) = HeaderValue::try_from(std::mem::take(value)) else { continue };
            // Compared as spelled, not case-insensitively: `protocol` writes these names, once for every request.
            match self.names.iter().find(|(known, _)| known == name) {
                Some((_, header)) => headers.insert(header.clone(), value),
                None => HeaderName::from_bytes(name.as_bytes()).ok().and_then(|header| headers.insert(header, value)),
            };
        }
        headers
    }

    /// One request and its whole answer, on an idle connection or a new one. A request that an idle connection
    /// refused before writing a byte of it (the server had closed it meanwhile) is sent again on another: never a
    /// request sent twice.
    async fn exchange(&self, mut request: Request<Full<Bytes>>) -> Result<(u16, Bytes), Failure> {
        loop {
            let (mut link, reused) = match self.take_idle() {
                Some(link) => (link, true),
                // Boxed: the TLS handshake's state is 4.7 KB, which every request's future would otherwise carry
                // (and goose moves it), though a connection is made once for many requests.
                None => (Box::pin(self.connect()).await?, false),
            };
            if let Err(e) = link.ready().await {
                if reused {
                    continue;
                }
                return Err(e.into());
            }
            let response = match link.try_send_request(request).await {
                Ok(response) => response,
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => {
                        request = unsent;
                        continue;
                    }
                    _ => return Err(e.into_error().into()),
                },
            };
            let status = response.status().as_u16();
            let body = read_answer(response.into_body()).await?;
            self.put_idle(link);
            return Ok((status, body));
        }
    }

    fn take_idle(&self) -> Option<Link> {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Some((link, since)) = idle.pop() {
            if !link.is_closed() && since.elapsed() < IDLE_LIMIT {
                return Some(link);
            }
        }
        None
    }

    fn put_idle(&self, link: Link) {
        if !link.is_closed() {
            self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((link, Instant::now()));
        }
    }

    async fn connect(&self) -> Result<Link, Failure> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(Failure::Connect)?;
        // Requests are small and each waits for its answer: Nagle's delay would only add latency.
        tcp.set_nodelay(true).map_err(Failure::Connect)?;
        match &self.tls {
            None => handshake(tcp).await,
            Some(tls) => handshake(tls.connector.connect(tls.name.clone(), tcp).await.map_err(Failure::Tls)?).await,
        }
    }
}

/// The whole answer body, at most [`MAX_ANSWER_BYTES`]. An NPPA answer comes in one piece, kept as it came; more
/// pieces are joined. (`http_body_util`'s `collect` queued every piece, one allocation an answer.)
async fn read_answer(mut body: hyper::body::Incoming) -> Result<Bytes, Failure> {
    let (mut first, mut joined, mut total) = (Bytes::new(), None::<bytes::BytesMut>, 0);
    while let Some(frame) = body.frame().await {
        // Trailers are not data: skipped.
        let Ok(data) = frame.map_err(|e| Failure::Body(e.into()))?.into_data() else { continue };
        total += data.len();
        if total > MAX_ANSWER_BYTES {
            return Err(Failure::TooLarge);
        }
        match &mut joined {
            None if first.is_empty() => first = data,
            None => {
                let mut both = bytes::BytesMut::with_capacity(first.len() + data.len());
                both.extend_from_slice(&first);
                both.extend_from_slice(&data);
                joined = Some(both);
            }
            Some(joined) => joined.extend_from_slice(&data),
        }
    }
    Ok(joined.map_or(first, bytes::BytesMut::freeze))
}

/// HTTP/1.1 over `io`; the connection's own task runs until the connection closes (its errors reach the request
/// that was on it).
async fn handshake<IO>(io: IO) -> Result<Link, Failure>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (link, connection) = http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(connection);
    Ok(link)
}

/// An error and its causes, `: `-separated: hyper's own text is generic ("connection error"), its cause says what
/// happened ("Connection reset by peer").
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

impl Tls {
    fn new(host: &str) -> anyhow::Result<Tls> {
        use rustls_platform_verifier::BuilderVerifierExt as _;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_platform_verifier()?
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from(host.to_owned()).map_err(|e| anyhow::anyhow!("{host}: {e}"))?;
        Ok(Tls { connector: TlsConnector::from(Arc::new(config)), name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_headers_are_those_of_the_signed_request() {
        let sender = Sender::new("http://127.0.0.1:8080").unwrap();
        let credentials = nppa_protocol::request::Credentials {
            app_id: "fdc6688637bc468e9aea874654cbead2".into(),
            biz_id: "1101999999".into(),
            key: nppa_protocol::SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").unwrap(),
        };
        let target = nppa_protocol::request::Target::Production;
        let query = nppa_protocol::request::query(&credentials, &target, "a b+c", 1_705_975_247_808);
        let request = sender.request(&mut query.clone());
        assert_eq!((request.method(), request.uri().to_string()), (&Method::GET, query.path_and_query.clone()));
        assert_headers_of(&request, &query, &[]);
        let check = nppa_protocol::request::check(
            &credentials,
            &target,
            &nppa_protocol::messages::CheckRequest {
                ai: "100000000000000000000000000001".into(),
                name: "某一一".into(),
                id_num: "110000190101010001".into(),
            },
            1_705_975_247_808,
            [7; 12],
        );
        let request = sender.request(&mut check.clone());
        assert_eq!((request.method(), request.uri().path()), (&Method::POST, Interface::Check.production_path()));
        assert_headers_of(&request, &check, &[]);
    }

    /// What hyper would send of `signed`'s headers: each of them, `Host`, `User-Agent` and, with a body, its length.
    fn assert_headers_of(request: &Request<Full<Bytes>>, signed: &SignedRequest, left_out: &[&str]) {
        let headers = request.headers();
        for (name, value) in &signed.headers {
            let expected = (!left_out.contains(name)).then_some(value.as_str());
            assert_eq!(headers.get(*name).and_then(|v| v.to_str().ok()), expected, "{name}");
        }
        assert_eq!(headers.get(HOST).unwrap(), "127.0.0.1:8080");
        assert!(headers.get(USER_AGENT).unwrap().to_str().unwrap().starts_with("nppa-load/"));
        let length = headers.get(CONTENT_LENGTH).map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
        assert_eq!(length, (!signed.body.is_empty()).then_some(signed.body.len()));
        assert_eq!(hyper::body::Body::size_hint(request.body()).exact(), Some(signed.body.len() as u64));
        let own = 2 + usize::from(length.is_some());
        assert_eq!(headers.len(), signed.headers.len() - left_out.len() + own, "the signed headers and the sender's");
    }

    #[test]
    fn later_requests_of_an_interface_carry_their_own_values() {
        let sender = Sender::new("http://127.0.0.1:8080").unwrap();
        let mut credentials = nppa_protocol::request::Credentials {
            app_id: "fdc6688637bc468e9aea874654cbead2".into(),
            biz_id: "1101999999".into(),
            key: nppa_protocol::SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").unwrap(),
        };
        let target = nppa_protocol::request::Target::Production;
        let check_of = |credentials: &nppa_protocol::request::Credentials, ms: u64, name: &str| {
            let person = nppa_protocol::messages::CheckRequest {
                ai: format!("{ms:032}"),
                name: name.into(),
                id_num: "110000190101010001".into(),
            };
            nppa_protocol::request::check(credentials, &target, &person, ms, [7; 12])
        };
        let check = |credentials: &nppa_protocol::request::Credentials, ms: u64| check_of(credentials, ms, "某一一");
        for ms in [1_705_975_247_808, 1_705_975_247_809, 1_705_975_247_809] {
            let signed = check(&credentials, ms);
            assert_headers_of(&sender.request(&mut signed.clone()), &signed, &[]);
        }
        // A longer name, a longer body.
        let signed = check_of(&credentials, 1_705_975_247_809, "欧阳某某一一");
        assert_headers_of(&sender.request(&mut signed.clone()), &signed, &[]);
        credentials.biz_id = "1101999998".into();
        let signed = check(&credentials, 1_705_975_247_810);
        assert_headers_of(&sender.request(&mut signed.clone()), &signed, &[]);
        // A value hyper cannot send is left out, as on a request built afresh.
        credentials.app_id = "fdc66886\n37bc468e".into();
        let signed = check(&credentials, 1_705_975_247_811);
        assert_headers_of(&sender.request(&mut signed.clone()), &signed, &["appId"]);
        // Other header names than the interface's first request had: built afresh.
        let mut signed = check(&credentials, 1_705_975_247_812);
        signed.headers.push(("X-Trace", "7".into()));
        signed.headers.swap(1, 2);
        assert_headers_of(&sender.request(&mut signed.clone()), &signed, &["appId"]);
    }

    #[test]
    fn targets_are_http_or_https_urls_with_a_host() {
        for (url, host, port, host_header) in [
            ("http://127.0.0.1:8080", "127.0.0.1", 8080, "127.0.0.1:8080"),
            ("http://localhost", "localhost", 80, "localhost"),
            ("http://localhost:80", "localhost", 80, "localhost"),
            ("https://api.example.com", "api.example.com", 443, "api.example.com"),
            ("https://user:secret@api.example.com:8443", "api.example.com", 8443, "api.example.com:8443"),
            ("http://[::1]:9000/ignored/path", "::1", 9000, "[::1]:9000"),
        ] {
            let sender = Sender::new(url).unwrap();
            assert_eq!((sender.host.as_str(), sender.port), (host, port), "{url}");
            assert_eq!(sender.host_header, host_header, "{url}");
        }
        for url in ["ftp://127.0.0.1:8080", "127.0.0.1:8080", "http://", "not a url"] {
            let err = Sender::new(url).unwrap_err().to_string();
            assert!(err.starts_with(url) && err.contains("expected http://HOST:PORT"), "{url}: {err}");
        }
    }
}
