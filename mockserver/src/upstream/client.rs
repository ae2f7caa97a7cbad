//! The forwarder's HTTP(S) client and one exchange with the upstream: hyper-util's pooled client over hyper-rustls,
//! certificates checked by the platform verifier (the system's roots, and `upstream.ca_file`'s). It never retries:
//! a request the upstream did not answer is the client's to send again, or not.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use tokio::sync::{watch, Semaphore};

use crate::config::UpstreamSection;

/// How long an idle connection to the upstream is kept for the next request.
const POOL_IDLE: Duration = Duration::from_secs(2);

/// The largest answer taken from the upstream (an NPPA answer is under a kilobyte; a loginout's 3001 a few).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Why the upstream gave no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The request never got through: connection or TLS failed (a certificate that does not verify).
    #[error("could not be reached: {0}")]
    Unreachable(String),
    /// The connection broke after the request went out, before a whole answer came: the upstream may have acted on
    /// it (a loginout recorded, a check begun), which the client cannot know.
    #[error("broke off the exchange after the request went out (it may have acted on it): {0}")]
    BrokeOff(String),
    /// The mock was stopping and no answer had come: given up so that the exchange is journaled before it stops.
    #[error("had not answered when the mock stopped (it may have acted on the request)")]
    Abandoned,
    /// No whole answer in time.
    #[error("did not answer within {0} s")]
    TimedOut(f64),
    /// Not sent: every place at the upstream (`server.max_connections`) stayed taken for `upstream.timeout_s`.
    #[error("was not sent: no place at the upstream within {0} s (server.max_connections forwards were waiting)")]
    NoPlace(f64),
    /// Not sent: the mock began to stop before a place at the upstream was free.
    #[error("was not sent: the mock was stopping")]
    Stopped,
}

/// The client, shared by every forwarded request.
#[derive(Debug)]
pub(super) struct Forwarder {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    /// A place for each request at the upstream, `server.max_connections` in all: a forward outlives a client that
    /// hung up, and without a bound a client could keep any number at the real system at once.
    places: Semaphore,
    /// True once the mock begins to stop.
    stopping: watch::Receiver<bool>,
    /// How long a forward may still wait once the mock begins to stop: a second inside the shutdown's grace, so
    /// that its exchange is journaled and its client answered before the mock is gone.
    give_up_after: Duration,
}

impl Forwarder {
    pub(super) fn new(
        section: &UpstreamSection,
        places: usize,
        stopping: watch::Receiver<bool>,
        grace: Duration,
    ) -> Result<Forwarder, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let extra_roots = match &section.ca_file {
            Some(path) => CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("upstream.ca_file {}: {e}", path.display()))?,
            None => Vec::new(),
        };
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, Arc::clone(&provider))
            .map_err(|e| format!("certificate verifier: {e}"))?;
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            // The platform verifier checks certificates fully; `dangerous` is only rustls's name for plugging one in.
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new())
            // A request is resent only when hyper never began to write it (an idle connection found closed as it
            // was taken): never sent twice.
            .retry_canceled_requests(true)
            // An idle connection is dropped well before any server's keep-alive ends (nginx: 75 s, ours: see
            // `server.idle_timeout_s`), so that a request is not written into a connection the upstream is closing:
            // that would fail the client's request though the upstream never read it.
            .pool_idle_timeout(POOL_IDLE)
            // And closed by then, not left open until the next request (the real system's connections are scarce).
            .pool_timer(TokioTimer::new())
            // The forwarder writes `Host` itself, the upstream's.
            .set_host(false)
            // Header names go out as the client wrote them (`appId`), when the server kept their case.
            .http1_preserve_header_case(true)
            .build(connector);
        let give_up_after = grace.saturating_sub(Duration::from_secs(1));
        let timeout = Duration::from_secs_f64(section.timeout_s);
        Ok(Forwarder { client, timeout, places: Semaphore::new(places), stopping, give_up_after })
    }

    /// Sends `request` once, when a place at the upstream is free and the mock is not stopping, and reads the whole
    /// answer; all within `upstream.timeout_s`.
    pub(super) async fn exchange(&self, request: Request<Full<Bytes>>) -> Result<Response<Bytes>, Failure> {
        let sent = AtomicBool::new(false);
        let exchange = async {
            // Never closed: `None` is not expected, and would only lift the bound.
            let _place = self.places.acquire().await.ok();
            if *self.stopping.borrow() {
                // Nothing goes to the real system once the mock is stopping.
                return Err(Failure::Stopped);
            }
            sent.store(true, Ordering::Release);
            let response = self.client.request(request).await.map_err(|e| match e.is_connect() {
                true => Failure::Unreachable(chain(&e)),
                false => Failure::BrokeOff(chain(&e)),
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| Failure::BrokeOff(format!("the answer's body: {e}")))?;
            Ok(Response::from_parts(parts, body.to_bytes()))
        };
        let (mut stopping, give_up_after) = (self.stopping.clone(), self.give_up_after);
        let given_up = async move {
            // A mock that is not stopping (or whose server is gone) never gives up here.
            if stopping.wait_for(|stopping| *stopping).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(give_up_after).await;
        };
        tokio::select! {
            result = tokio::time::timeout(self.timeout, exchange) => match result {
                Ok(result) => result,
                Err(_) if sent.load(Ordering::Acquire) => Err(Failure::TimedOut(self.timeout.as_secs_f64())),
                Err(_) => Err(Failure::NoPlace(self.timeout.as_secs_f64())),
            },
            () = given_up => match sent.load(Ordering::Acquire) {
                true => {
                    tracing::warn!("gave up waiting for the upstream: the mock is stopping");
                    Err(Failure::Abandoned)
                }
                false => Err(Failure::Stopped),
            }
        }
    }
}

/// An error and its causes, in one line (`client error (Connect): tcp connect error: Connection refused`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
