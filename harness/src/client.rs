//! The reference client: correct requests built by `nppa_protocol::request`, sent over HTTP.
//! Users poke the mock with it (`nppa client …`), and the tests drive the real server through it.

use std::time::Duration;

use anyhow::{bail, Context as _};
use nppa_mockserver::admin_api::ClockChange;
use nppa_protocol::answer::{self, ParsedAnswer};
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
use nppa_protocol::messages::{BehaviourRecord, CheckRequest, LoginoutRequest};
use nppa_protocol::request::{self, Credentials, SignedRequest, Target};
use nppa_protocol::{SecretKey, StatusCode};

use crate::admin_client::AdminClient;

/// Where the client takes `timestamps` from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The machine's clock, as a real client does.
    System,
    /// The mock's clock, read from `GET /__admin/clock` before each request (follows a moved mock clock).
    MockClock,
}

/// A client for one (appId, bizId, secretKey).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    credentials: Credentials,
    target: Target,
    time: TimeSource,
}

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: SignedRequest,
    pub http_status: u16,
    pub response_body: String,
    /// The answer, read by the protocol's lenient reader; `None` when the body is not a protocol answer.
    pub answer: Option<ParsedAnswer>,
}

impl Exchange {
    /// `errcode`, when the body is a protocol answer.
    pub fn errcode(&self) -> Option<u16> {
        self.answer.as_ref().map(|a| a.errcode)
    }

    /// The status code, when `errcode` is one SPEC §4 lists.
    pub fn code(&self) -> Option<StatusCode> {
        self.answer.as_ref()?.code()
    }

    /// `data.result.status` of a check or query, numbered as the spec does (0 success, 1 pending, 2 failure).
    pub fn status(&self) -> Option<u8> {
        self.answer.as_ref()?.status.map(u8::from)
    }

    /// `data.result.pi` of a successful check or query.
    pub fn pi(&self) -> Option<&str> {
        self.answer.as_ref()?.pi.as_deref()
    }

    /// `(no, errcode)` of each rejected record of a 3001.
    pub fn rejected(&self) -> Vec<(i64, u16)> {
        self.answer.iter().flat_map(|a| &a.rejected).map(|r| (r.no, r.errcode)).collect()
    }
}

/// An HTTP client with the spec's 5 s timeout (`CLIENT_TIMEOUT_MS`) that trusts `ca_pem` (the mock's local CA, for HTTPS) and sends
/// through `proxy` (proxy mode) when given.
pub fn http_client(ca_pem: Option<&[u8]>, proxy: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_millis(CLIENT_TIMEOUT_MS));
    if let Some(pem) = ca_pem {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem).context("the CA certificate")?);
    }
    if let Some(proxy) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy).with_context(|| format!("proxy {proxy}"))?);
    }
    builder.build().context("building the HTTP client")
}

impl Client {
    /// A client; `base_url` like `http://127.0.0.1:8080`.
    pub fn new(base_url: &str, app_id: &str, biz_id: &str, secret_key: &str) -> anyhow::Result<Client> {
        let key = SecretKey::from_hex(secret_key).context("secretKey")?;
        let http = http_client(None, None)?;
        Ok(Client {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            credentials: Credentials { app_id: app_id.to_owned(), biz_id: biz_id.to_owned(), key },
            target: Target::Production,
            time: TimeSource::System,
        })
    }

    /// Uses this HTTP client (for a CA to trust, or a proxy: see [`http_client`]).
    pub fn with_http(mut self, http: reqwest::Client) -> Client {
        self.http = http;
        self
    }

    /// Sends to these paths (production, or the test system with a test code).
    pub fn with_target(mut self, target: Target) -> Client {
        self.target = target;
        self
    }

    /// Takes `timestamps` from this source.
    pub fn with_time(mut self, time: TimeSource) -> Client {
        self.time = time;
        self
    }

    /// The credentials in use.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Now, in Unix ms, from the configured source.
    pub async fn now_ms(&self) -> anyhow::Result<u64> {
        match self.time {
            TimeSource::System => Ok(nppa_mockserver::clock::wall_ms()),
            TimeSource::MockClock => self.mock_clock_ms().await,
        }
    }

    /// Waits, on the same clock as `timestamps`: real time, or by moving the mock clock forward (tests).
    pub async fn sleep(&self, duration: Duration) -> anyhow::Result<()> {
        match self.time {
            TimeSource::System => tokio::time::sleep(duration).await,
            TimeSource::MockClock => {
                let delta_ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
                self.admin().change_clock(ClockChange::advance(delta_ms)).await?;
            }
        }
        Ok(())
    }

    /// The mock's clock (`GET /__admin/clock`).
    pub async fn mock_clock_ms(&self) -> anyhow::Result<u64> {
        Ok(self.admin().clock().await?.now_ms)
    }

    /// The admin API of the mock this client calls.
    pub fn admin(&self) -> AdminClient {
        AdminClient::with_http(self.http.clone(), &self.base_url)
    }

    /// A real-name check.
    pub async fn check(&self, ai: &str, name: &str, id_num: &str) -> anyhow::Result<Exchange> {
        let body = CheckRequest { ai: ai.to_owned(), name: name.to_owned(), id_num: id_num.to_owned() };
        let signed = request::check(&self.credentials, &self.target, &body, self.now_ms().await?, rand::random());
        self.send(signed).await
    }

    /// A result query.
    pub async fn query(&self, ai: &str) -> anyhow::Result<Exchange> {
        let signed = request::query(&self.credentials, &self.target, ai, self.now_ms().await?);
        self.send(signed).await
    }

    /// A behaviour report.
    pub async fn loginout(&self, records: Vec<BehaviourRecord>) -> anyhow::Result<Exchange> {
        let body = LoginoutRequest::new(records);
        let signed = request::loginout(&self.credentials, &self.target, &body, self.now_ms().await?, rand::random());
        self.send(signed).await
    }

    /// Sends a signed request as it is.
    pub async fn send(&self, signed: SignedRequest) -> anyhow::Result<Exchange> {
        let url = format!("{}{}", self.base_url, signed.path_and_query);
        let method = reqwest::Method::from_bytes(signed.method.as_bytes())?;
        let mut builder = self.http.request(method, &url);
        for (name, value) in &signed.headers {
            builder = builder.header(*name, value);
        }
        if !signed.body.is_empty() {
            builder = builder.body(signed.body.clone());
        }
        let response = builder.send().await.with_context(|| format!("{} {url}", signed.method))?;
        let http_status = response.status().as_u16();
        let response_body = response.text().await.with_context(|| format!("reading the answer of {url}"))?;
        let answer = answer::parse(response_body.as_bytes());
        if answer.is_none() && http_status == 200 {
            bail!("{url} answered HTTP 200 with a body that is not an NPPA answer: {response_body}");
        }
        Ok(Exchange { request: signed, http_status, response_body, answer })
    }
}
