//! The admin API's requests and answers as types: the server reads and writes these, and every client (the
//! `nppa admin` command, the reference client, load, certify, the tests) uses the same types, so that the JSON is
//! spelled in one place. `docs/admin-api.md` documents the shapes; external tools rely on them.

use serde::{Deserialize, Serialize};

pub use crate::faults::{FaultList, FaultRule, ListedFault};
use crate::journal::{JournalEntry, JournalStats};
pub use crate::keys::{KeyView, SecretKeys};

/// `POST /__admin/clock`: move the clock by `advance_ms`, or set it to `set_ms`, and optionally freeze it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<bool>,
}

impl ClockChange {
    /// Move the clock forward (or back, when negative).
    pub fn advance(delta_ms: i64) -> ClockChange {
        ClockChange { advance_ms: Some(delta_ms), ..ClockChange::default() }
    }

    /// Set the clock; it keeps ticking from there unless frozen.
    pub fn set(t_ms: u64) -> ClockChange {
        ClockChange { set_ms: Some(t_ms), ..ClockChange::default() }
    }

    /// Stop (true) or restart (false) the clock where it is.
    pub fn freeze(frozen: bool) -> ClockChange {
        ClockChange { freeze: Some(frozen), ..ClockChange::default() }
    }
}

/// `GET /__admin/clock` (and the answer of `POST`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    pub now_ms: u64,
    /// `now_ms` in Beijing time, RFC 3339.
    pub beijing: String,
    pub frozen: bool,
    /// The mock clock minus real time.
    pub offset_from_wall_ms: i64,
    /// R-PEND-2: inside the daily 00:00–04:00 outage.
    pub in_mps_outage: bool,
}

/// `POST /__admin/reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetDone {
    pub reset: bool,
    pub now_ms: u64,
}

/// `GET /__admin/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub now_ms: u64,
    pub live_records: u64,
    pub quota_blocks_started: u64,
}

/// `GET /__admin/journal`: a page of entries, oldest first, and what the journal could not keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalPage<E = JournalEntry> {
    pub entries: Vec<E>,
    pub stats: JournalStats,
}

/// `DELETE /__admin/journal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalCleared {
    pub cleared: bool,
    pub stats: JournalStats,
}

/// `POST /__admin/enterprises/{appId}`: the portal's switches (R-IP-1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Addresses or CIDR blocks; replaces the whole list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_whitelist: Option<Vec<String>>,
}

/// `POST /__admin/enterprises/{appId}/keys`: the portal's key actions (R-KEY-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyAction {
    /// A manual refresh in the portal: a new key; older ones stay valid 3 days.
    Refresh,
    /// "Invalidate now".
    Invalidate { secret_key: String },
    /// A given key with its validity.
    Add {
        secret_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_from_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_until_ms: Option<u64>,
    },
}

/// The query of the routes whose answers hold secretKeys (`/__admin/enterprises…`, `/__admin/testsystem…`):
/// `?reveal=keys` asks for the keys (shown from loopback; a request with the admin token gets them anyway).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal: Option<Reveal>,
}

/// What `?reveal=` may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reveal {
    Keys,
}

impl RevealQuery {
    /// `?reveal=keys`.
    pub const KEYS: RevealQuery = RevealQuery { reveal: Some(Reveal::Keys) };

    /// Parses a URL query string (`None`: no query); the error says what is accepted.
    pub fn parse(query: Option<&str>) -> Result<RevealQuery, String> {
        serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| format!("this route takes only ?reveal=keys (to show the secretKeys): {e}"))
    }
}

/// `GET /__admin/enterprises` (and the answer of every change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseList {
    pub now_ms: u64,
    /// `"redacted"`: every `secret_key` is left out (ask with `?reveal=keys` from loopback, or with the token).
    #[serde(default = "SecretKeys::shown")]
    pub secret_keys: SecretKeys,
    pub enterprises: Vec<EnterpriseView>,
}

/// One enterprise as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseView {
    pub app_id: String,
    pub name: String,
    pub enabled: bool,
    pub ip_whitelist: Vec<String>,
    pub keys: Vec<KeyView>,
}

/// `POST /__admin/faults`: the rules as the mock numbered them, and the list after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultsAdded {
    pub added: Vec<FaultRule>,
    pub faults: FaultList,
}

/// `POST /__admin/scenarios/mps-outage`: checks answer 2007 for this long on the mock clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageScenario {
    pub duration_ms: u64,
}

/// The answer of `POST /__admin/scenarios/mps-outage`: the fault rule that plays the outage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageStarted {
    pub added: Vec<FaultRule>,
}

/// `POST /__admin/scenarios/pending-ratio` (and its answer): the share of unknown people whose check pends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingScenario {
    #[serde(alias = "pending_fraction")]
    pub fraction: f64,
}

/// The answer of `POST /__admin/scenarios/pending-ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PendingRatioSet {
    pub pending_fraction: f64,
}

/// `GET /__admin/testsystem`: each enterprise's test account and its 8 cases (SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSystemState {
    /// `"redacted"`: every `secret_key` is left out, as in [`EnterpriseList`].
    #[serde(default = "SecretKeys::shown")]
    pub secret_keys: SecretKeys,
    pub accounts: Vec<TestAccountState>,
}

/// One test account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAccountState {
    /// The production appId the account belongs to.
    pub enterprise: String,
    pub app_id: String,
    /// Absent when the answer's `secret_keys` is `"redacted"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    pub biz_id: String,
    pub cases: Vec<TestCaseState>,
    pub all_passed: bool,
    pub production_unlocked: bool,
}

/// One official test case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCaseState {
    /// `testcase01` …
    pub case: String,
    pub interface: nppa_protocol::Interface,
    /// The test path with its code.
    pub path: String,
    pub code: String,
    pub passes_when: String,
    pub passed: bool,
    /// The journal id of the exchange that first passed the case, while the journal holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed_by: Option<u64>,
}

/// Every refusal of the admin API: HTTP 4xx with `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminError {
    pub error: String,
}

/// One line of `GET /__admin/journal/stream` (one JSON per line, or per SSE event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StreamLine {
    /// The reader fell behind and missed this many entries.
    Lagged { lagged: u64 },
    /// A quiet stream says it is alive (JSON lines only), with the mock clock.
    Heartbeat { heartbeat_ms: u64 },
    /// An entry, as it was recorded.
    Entry(Box<JournalEntry>),
}

/// `GET /__admin/console/codes.json`: every errcode and its errmsg as the protocol spells them, for the console's
/// labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleCodes {
    pub codes: Vec<CodeLabel>,
}

/// One errcode, its errmsg, and the V2.1 spec's Chinese description of it (absent where the spec gives none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeLabel {
    pub code: u16,
    pub errmsg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description_zh: Option<String>,
}

/// `GET /__admin/journal/{id}/sign`: for a request refused for its sign, the sign string the mock hashed beside the
/// one the client probably hashed, and the mistake that explains it (certify's ENV-SIGN diagnosis). The sign strings
/// begin with the secretKey: `"redacted"` answers show `{secretKey}` in its place (ask as for the enterprises' keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignDiagnosisView {
    /// The journal entry's id.
    pub id: u64,
    pub app_id: String,
    pub secret_keys: SecretKeys,
    /// The mistake, with the request's own values.
    pub diagnosis: String,
    /// The mistake without them.
    pub cause: String,
    /// True when a known mistake explains the sign sent (then `client_sign_string` is present).
    pub identified: bool,
    pub expected_sign_string: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_sign_string: Option<String>,
    pub expected_sign: String,
    pub sent_sign: String,
}

/// `GET /__admin/quotas`: every (appId, bizId, interface) with its requests in the current second of the mock clock
/// against its limit, and a 1006 block still running (R-RL-1/2). Read-only: reading counts nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaState {
    pub now_ms: u64,
    /// The mock clock is frozen (the current second does not end by itself).
    pub frozen: bool,
    pub cells: Vec<QuotaCell>,
}

/// One (appId, bizId, interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaCell {
    pub app_id: String,
    pub biz_id: String,
    pub interface: nppa_protocol::Interface,
    /// Requests per second allowed; absent when unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Requests counted in the current second (the one over the limit included).
    pub count: u32,
    /// While a block runs: when it ends (mock ms), and how long that is from `now_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_remaining_ms: Option<u64>,
}

/// `GET /__admin/records/{ai}`: the ai's live records on the mock clock (R-CHK-3, R-PEND-1/3, R-QRY-2), read without
/// changing them (no query's deletion countdown starts). One record in the global ai namespace; in the per-game one,
/// one per game that holds the ai. None when the ai has no live record: a query answers 2003.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsOfAi {
    pub now_ms: u64,
    pub ai: String,
    pub records: Vec<RecordView>,
}

/// One live record and its life: checked (answered pending) → resolved → deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    /// The game it was checked for, and the enterprise that submitted the check: only it may query (R-QRY-5).
    pub biz_id: String,
    pub app_id: String,
    /// What a query by the owner answers now: 1 pending, then 0 or 2 (R-QRY-1).
    pub status: nppa_protocol::messages::AuthStatus,
    /// The final answer it resolves to (0 or 2).
    pub resolves_to: nppa_protocol::messages::AuthStatus,
    /// When the check was answered pending. Known until the first final query replaces the check's deadline
    /// (`rules.pending_ttl_s` after it); then the check's journal entry holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_ms: Option<u64>,
    pub resolves_at_ms: u64,
    /// The owner's first query that returned the final answer (R-QRY-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_final_query_ms: Option<u64>,
    /// When the record is deleted, and why then.
    pub deleted_at_ms: u64,
    pub deleted_by: RecordEnd,
}

/// Why a record is deleted when it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordEnd {
    /// No final query yet: it expires `rules.pending_ttl_s` (48 h) after the check (R-PEND-3).
    PendingTtl,
    /// `rules.query_delete_after_s` (300 s) after the first final query (R-QRY-2).
    FinalQuery,
}

/// `GET /__admin/records`: live records per game, against the cap a check meets with 2002.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    pub now_ms: u64,
    /// `rules.live_record_cap`, per game.
    pub cap: u64,
    pub games: Vec<GameRecords>,
}

/// One game's live records: pending, or final and waiting for their deletion. A record past its deadline is
/// counted until the next sweep (each second).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameRecords {
    pub biz_id: String,
    pub name: String,
    pub live: u64,
}
