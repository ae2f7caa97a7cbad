//! A typed client of the mock's admin API (`/__admin/…`, docs/admin-api.md) over the request and answer types of
//! `nppa_mockserver::admin_api`: the `nppa admin` command, the reference client, load, certify and the tests all
//! call the mock through it, so that no caller spells the JSON by hand.
//!
//! Answers that hold secretKeys (enterprises, test system) come redacted unless the client was made with
//! [`AdminClient::revealing_keys`] (it asks `?reveal=keys`) or [`AdminClient::with_token`].

use anyhow::{bail, Context as _};
use nppa_mockserver::admin_api::{
    AdminError, ClockChange, ClockState, EnterpriseChange, EnterpriseList, FaultList, FaultsAdded, JournalCleared,
    JournalPage, KeyAction, OutageScenario, OutageStarted, PendingRatioSet, PendingScenario, QuotaState, RecordCounts,
    RecordsOfAi, ResetDone, RevealQuery, SignDiagnosisView, Stats, TestSystemState,
};
use nppa_mockserver::faults::FaultRequest;
use nppa_mockserver::journal::JournalQuery;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The admin API of one mock.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    /// Sent as `Authorization: Bearer …` (`server.admin_token`).
    token: Option<String>,
    /// Asks for the secretKeys (`?reveal=keys`) where an answer holds them.
    reveal: RevealQuery,
}

impl AdminClient {
    /// A client of the mock at `base_url` (`http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> AdminClient {
        AdminClient::with_http(reqwest::Client::new(), base_url)
    }

    /// A client that sends through `http` (for a CA to trust, or a proxy).
    pub fn with_http(http: reqwest::Client, base_url: &str) -> AdminClient {
        AdminClient {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            token: None,
            reveal: RevealQuery::default(),
        }
    }

    /// Sends `server.admin_token` with every call (needed from another machine; it also shows the secretKeys).
    pub fn with_token(mut self, token: impl Into<String>) -> AdminClient {
        self.token = Some(token.into());
        self
    }

    /// Asks for the secretKeys in the answers that hold them (`?reveal=keys`); without it they are redacted.
    pub fn revealing_keys(mut self) -> AdminClient {
        self.reveal = RevealQuery::KEYS;
        self
    }

    /// A path of a route whose answer holds secretKeys, with `?reveal=keys` when this client asks for them.
    fn with_reveal(&self, path: &str) -> anyhow::Result<String> {
        let query = serde_urlencoded::to_string(self.reveal).context("reveal query")?;
        Ok(if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") })
    }

    /// The mock's base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /__admin/clock`.
    pub async fn clock(&self) -> anyhow::Result<ClockState> {
        self.call(Method::GET, "/__admin/clock", None::<&()>).await
    }

    /// `POST /__admin/clock`: advance, set or freeze the mock clock.
    pub async fn change_clock(&self, change: ClockChange) -> anyhow::Result<ClockState> {
        self.call(Method::POST, "/__admin/clock", Some(&change)).await
    }

    /// `POST /__admin/reset`: drop all protocol state.
    pub async fn reset(&self) -> anyhow::Result<ResetDone> {
        self.call(Method::POST, "/__admin/reset", None::<&()>).await
    }

    /// `GET /__admin/stats`.
    pub async fn stats(&self) -> anyhow::Result<Stats> {
        self.call(Method::GET, "/__admin/stats", None::<&()>).await
    }

    /// `GET /__admin/journal` with these filters.
    pub async fn journal(&self, query: &JournalQuery) -> anyhow::Result<JournalPage> {
        let query = serde_urlencoded::to_string(query).context("journal filters")?;
        self.call(Method::GET, &format!("/__admin/journal?{query}"), None::<&()>).await
    }

    /// `DELETE /__admin/journal`.
    pub async fn clear_journal(&self) -> anyhow::Result<JournalCleared> {
        self.call(Method::DELETE, "/__admin/journal", None::<&()>).await
    }

    /// `GET /__admin/journal/stream`: the live stream, one JSON line per entry (see
    /// [`nppa_mockserver::admin_api::StreamLine`]).
    pub async fn journal_stream(&self) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}/__admin/journal/stream", self.base);
        let response =
            self.authorised(self.http.get(&url)).send().await.with_context(|| unreachable_mock(&Method::GET, &url))?;
        if !response.status().is_success() {
            bail!("GET {url}: HTTP {}", response.status());
        }
        Ok(response)
    }

    /// `GET /__admin/faults`.
    pub async fn faults(&self) -> anyhow::Result<FaultList> {
        self.call(Method::GET, "/__admin/faults", None::<&()>).await
    }

    /// `POST /__admin/faults`: one rule, or a seed with rules.
    pub async fn add_faults(&self, request: &FaultRequest) -> anyhow::Result<FaultsAdded> {
        self.call(Method::POST, "/__admin/faults", Some(request)).await
    }

    /// `DELETE /__admin/faults/{id}`.
    pub async fn remove_fault(&self, id: u64) -> anyhow::Result<FaultList> {
        self.call(Method::DELETE, &format!("/__admin/faults/{id}"), None::<&()>).await
    }

    /// `DELETE /__admin/faults`.
    pub async fn clear_faults(&self) -> anyhow::Result<FaultList> {
        self.call(Method::DELETE, "/__admin/faults", None::<&()>).await
    }

    /// `POST /__admin/scenarios/mps-outage`: checks answer 2007 for this long on the mock clock.
    pub async fn mps_outage(&self, duration_ms: u64) -> anyhow::Result<OutageStarted> {
        self.call(Method::POST, "/__admin/scenarios/mps-outage", Some(&OutageScenario { duration_ms })).await
    }

    /// `POST /__admin/scenarios/pending-ratio`.
    pub async fn pending_ratio(&self, fraction: f64) -> anyhow::Result<PendingRatioSet> {
        self.call(Method::POST, "/__admin/scenarios/pending-ratio", Some(&PendingScenario { fraction })).await
    }

    /// `GET /__admin/quotas`: each (appId, bizId, interface)'s requests this second and a running block.
    pub async fn quotas(&self) -> anyhow::Result<QuotaState> {
        self.call(Method::GET, "/__admin/quotas", None::<&()>).await
    }

    /// `GET /__admin/records/{ai}`: the ai's live records and their times, read without changing them.
    pub async fn records(&self, ai: &str) -> anyhow::Result<RecordsOfAi> {
        let ai = percent_encoding::utf8_percent_encode(ai, percent_encoding::NON_ALPHANUMERIC);
        self.call(Method::GET, &format!("/__admin/records/{ai}"), None::<&()>).await
    }

    /// `GET /__admin/records`: live records per game.
    pub async fn record_counts(&self) -> anyhow::Result<RecordCounts> {
        self.call(Method::GET, "/__admin/records", None::<&()>).await
    }

    /// `GET /__admin/journal/{id}/sign`: why entry `id`'s sign is wrong.
    pub async fn sign_diagnosis(&self, id: u64) -> anyhow::Result<SignDiagnosisView> {
        self.call(Method::GET, &self.with_reveal(&format!("/__admin/journal/{id}/sign"))?, None::<&()>).await
    }

    /// `GET /__admin/testsystem`.
    pub async fn test_system(&self) -> anyhow::Result<TestSystemState> {
        self.call(Method::GET, &self.with_reveal("/__admin/testsystem")?, None::<&()>).await
    }

    /// `POST /__admin/testsystem/reset`.
    pub async fn reset_test_system(&self) -> anyhow::Result<TestSystemState> {
        self.call(Method::POST, &self.with_reveal("/__admin/testsystem/reset")?, None::<&()>).await
    }

    /// `GET /__admin/enterprises`.
    pub async fn enterprises(&self) -> anyhow::Result<EnterpriseList> {
        self.call(Method::GET, &self.with_reveal("/__admin/enterprises")?, None::<&()>).await
    }

    /// `POST /__admin/enterprises/{appId}`.
    pub async fn change_enterprise(&self, app_id: &str, change: &EnterpriseChange) -> anyhow::Result<EnterpriseList> {
        self.call(Method::POST, &self.with_reveal(&format!("/__admin/enterprises/{app_id}"))?, Some(change)).await
    }

    /// `POST /__admin/enterprises/{appId}/keys`.
    pub async fn key_action(&self, app_id: &str, action: &KeyAction) -> anyhow::Result<EnterpriseList> {
        self.call(Method::POST, &self.with_reveal(&format!("/__admin/enterprises/{app_id}/keys"))?, Some(action)).await
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let mut request = self.authorised(self.http.request(method.clone(), &url));
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").json(body);
        }
        let response = request.send().await.with_context(|| unreachable_mock(&method, &url))?;
        let status = response.status();
        let bytes = response.bytes().await.with_context(|| format!("reading the answer of {method} {url}"))?;
        if !status.is_success() {
            let reason = serde_json::from_slice::<AdminError>(&bytes)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            bail!("{method} {url}: HTTP {status}: {reason}");
        }
        serde_json::from_slice(&bytes).with_context(|| {
            format!("{method} {url} answered what this version does not read: {}", String::from_utf8_lossy(&bytes))
        })
    }
}

fn unreachable_mock(method: &Method, url: &str) -> String {
    format!("{method} {url} (is `nppa mock` running there?)")
}
