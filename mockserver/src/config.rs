//! The mock's configuration: TOML, with an embedded default (`config/default.toml`).
//! A bad file is refused at start with the field and the reason.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use nppa_protocol::name::NameRule;
use nppa_protocol::{beijing, key_validity, record, timestamps, Permission, QuotaProfile, SecretKey};
use serde::{Deserialize, Serialize};

/// The embedded default configuration, as text (what `nppa mock` serves without `--config`).
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub rules: RulesSection,
    #[serde(default)]
    pub clock: ClockSection,
    #[serde(default)]
    pub identities: IdentitiesSection,
    #[serde(default)]
    pub journal: JournalSection,
    #[serde(default)]
    pub faults: FaultsSection,
    /// Upstream mode: requests forwarded to the real NPPA (or another upstream) instead of answered here.
    #[serde(default)]
    pub upstream: UpstreamSection,
    #[serde(default, rename = "enterprise")]
    pub enterprises: Vec<EnterpriseConfig>,
    #[serde(default, rename = "game")]
    pub games: Vec<GameConfig>,
}

/// `[server]`: transport and quotas.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub quota_profile: QuotaProfile,
    pub quotas: bool,
    pub quota_block: QuotaBlock,
    pub max_body_bytes: usize,
    pub max_connections_per_ip: usize,
    /// Open connections from all peers together; more are closed as soon as accepted. Below the process's
    /// descriptor limit (`ulimit -n`), so that a flood cannot starve the listener and the journal file.
    pub max_connections: usize,
    pub idle_timeout_s: f64,
    /// Seconds a request head may take to arrive whole (from the connection's start for its first request, from
    /// its first byte for later ones); a slower head is closed without an answer (slowloris).
    pub header_timeout_s: f64,
    /// Seconds a request body may take to arrive whole, from the end of its head; a slower one is answered as a
    /// body cut short and the connection closed.
    pub body_timeout_s: f64,
    pub admin_remote: bool,
    /// The admin API's token: `Authorization: Bearer TOKEN` is let in from anywhere; required from other machines.
    pub admin_token: Option<String>,
    /// Names besides loopback addresses and `localhost` that the admin API answers as `Host` (e.g. a container's).
    pub admin_hosts: Vec<String>,
    /// Serve HTTPS (certificates from the local CA).
    pub tls: bool,
    /// Proxy mode: tunnel CONNECT (`https_proxy`) into the mock with certificates from the local CA.
    /// Absolute-form targets (`http_proxy`) are always routed by path, whatever the host.
    pub proxy: bool,
    /// Where the local CA lives (`ca.pem` to trust, `ca-key.pem`); created when missing.
    pub tls_dir: PathBuf,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            quota_profile: QuotaProfile::V2_1,
            quotas: true,
            quota_block: QuotaBlock::SixtySeconds,
            max_body_bytes: 256 * 1024,
            max_connections_per_ip: 1000,
            max_connections: 768,
            idle_timeout_s: 120.0,
            header_timeout_s: 10.0,
            body_timeout_s: 20.0,
            admin_remote: false,
            admin_token: None,
            admin_hosts: Vec::new(),
            tls: false,
            proxy: false,
            tls_dir: PathBuf::from("nppa-tls"),
        }
    }
}

/// R-RL-2: how long a 1006 blocks (a protocol fact, configurable here).
pub use nppa_protocol::QuotaBlock;

/// Which clock R-TS-1 compares `timestamps` against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampsClock {
    Mock,
    Wall,
}

/// R-CHK-3: scope in which an ai must be unique while live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiNamespace {
    Global,
    PerGame,
}

/// `[rules]`: protocol choices (SPEC's "(choice)" items).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSection {
    pub timestamp_window_ms: u64,
    pub timestamps_clock: TimestampsClock,
    pub ai_namespace: AiNamespace,
    pub live_record_cap: u64,
    pub pending_ttl_s: u64,
    pub query_delete_after_s: u64,
    pub mps_outage: bool,
    pub outage_every_check_pends: bool,
    pub missing_collections_code: u16,
    pub name_rule: NameRule,
    pub strict_pi: bool,
    pub require_test_pass: bool,
    /// R-IP-1: whitelist entries an enterprise may have per game it is linked to ("原则上每款游戏有10个IP地址").
    pub whitelist_ips_per_game: u32,
    /// R-HDR-1: a POST without `Content-Type` answers 1004 (by default it is read as JSON, and journaled as sent).
    pub require_content_type: bool,
}

impl Default for RulesSection {
    fn default() -> Self {
        RulesSection {
            timestamp_window_ms: timestamps::WINDOW_MS,
            timestamps_clock: TimestampsClock::Mock,
            ai_namespace: AiNamespace::Global,
            live_record_cap: 10_000_000,
            pending_ttl_s: record::PENDING_TTL_MS / 1000,
            query_delete_after_s: record::DELETE_AFTER_FINAL_QUERY_MS / 1000,
            mps_outage: true,
            outage_every_check_pends: true,
            missing_collections_code: 1001,
            name_rule: NameRule::Cjk,
            strict_pi: false,
            require_test_pass: false,
            whitelist_ips_per_game: 10,
            require_content_type: false,
        }
    }
}

/// `[journal]`: the request journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSection {
    pub enabled: bool,
    /// Entries kept in memory; older ones make room (counted as evicted).
    pub capacity: usize,
    /// Also append every entry to this JSONL file.
    pub file: Option<PathBuf>,
}

impl Default for JournalSection {
    fn default() -> Self {
        JournalSection { enabled: true, capacity: 50_000, file: None }
    }
}

/// `[faults]`: fault injection from the start (more through `POST /__admin/faults`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsSection {
    /// Seed of the draws, so that a run repeats.
    pub seed: u64,
    #[serde(rename = "rule")]
    pub rules: Vec<crate::faults::FaultRule>,
}

/// `[upstream]`: where production and test-system requests are forwarded (issue #17). Nothing is forwarded unless
/// a URL is given here or by `nppa mock --upstream URL`; a request whose path has no upstream is answered by the mock.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSection {
    /// Every interface's upstream (`scheme://host[:port][/prefix]`), unless one of the fields below names another.
    pub url: Option<String>,
    /// The real hosts differ by interface (SPEC §1): check's, query's, loginout's, and the test system's (`/test/…`).
    pub check: Option<String>,
    pub query: Option<String>,
    pub loginout: Option<String>,
    pub test: Option<String>,
    /// PEM certificates trusted besides the system's roots (an upstream with a CA of its own); certificates are
    /// always checked.
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for the upstream's whole answer before the client gets a 502.
    pub timeout_s: f64,
    /// Shadow mode: the mock answers; each request the upstreams above would get is also sent there, and the two
    /// answers are compared by meaning (differences journaled and counted). `nppa mock --shadow URL`.
    pub shadow: bool,
    /// Shadow mode: whose answer the client gets, the mock's (`"mock"`, the default) or the upstream's
    /// (`"upstream"`: a staging client keeps talking to the real system while the mock follows along, its own state
    /// following its own answers). `nppa mock --shadow-serve`.
    pub shadow_serve: ShadowServe,
    /// Shadow mode: kinds of difference not compared (`"pi"`: the mock's pi are its own, not the real system's;
    /// `"http_status"`, `"readable"`, `"errcode"`, `"status"`, `"rejected"`, `"data_shape"`). `nppa mock
    /// --shadow-ignore`.
    pub shadow_ignore: Vec<crate::difference::DifferenceKind>,
}

/// Shadow mode: whose answer the client gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShadowServe {
    /// The mock's; the upstream's is only compared with it.
    #[default]
    Mock,
    /// The upstream's, as upstream mode passes it; the mock answers too, for its state and the comparison.
    Upstream,
}

impl std::str::FromStr for ShadowServe {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "mock" => Ok(ShadowServe::Mock),
            "upstream" => Ok(ShadowServe::Upstream),
            other => Err(format!("{other:?}: the client gets the answer of `mock` or of `upstream`")),
        }
    }
}

impl Default for UpstreamSection {
    fn default() -> Self {
        UpstreamSection {
            url: None,
            check: None,
            query: None,
            loginout: None,
            test: None,
            ca_file: None,
            timeout_s: 10.0,
            shadow: false,
            shadow_serve: ShadowServe::Mock,
            shadow_ignore: Vec::new(),
        }
    }
}

impl UpstreamSection {
    /// The URLs given, each with its field's name.
    pub fn urls(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let fields = [("url", &self.url), ("check", &self.check), ("query", &self.query), ("loginout", &self.loginout)];
        fields.into_iter().chain([("test", &self.test)]).filter_map(|(name, url)| Some((name, url.as_deref()?)))
    }
}

/// `[clock]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockSection {
    /// RFC 3339 start time of the mock clock.
    pub start: Option<String>,
}

/// `[identities]`: who is who (R-CHK-1, R-PEND-1, R-PI).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitiesSection {
    pub pi_secret: Option<String>,
    pub failure_fraction: f64,
    pub pending_fraction: f64,
    pub pending_delay_min_s: f64,
    pub pending_delay_max_s: f64,
    pub fixtures_file: Option<PathBuf>,
    #[serde(rename = "fixture")]
    pub fixtures: Vec<FixtureConfig>,
}

impl Default for IdentitiesSection {
    fn default() -> Self {
        IdentitiesSection {
            pi_secret: None,
            failure_fraction: 0.0,
            pending_fraction: 0.0,
            pending_delay_min_s: 30.0,
            pending_delay_max_s: 30.0,
            fixtures_file: None,
            fixtures: Vec::new(),
        }
    }
}

/// The outcome a fixture person gets from a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixtureOutcome {
    Success,
    Pending,
    Failure,
}

/// One person with a fixed outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureConfig {
    pub name: String,
    pub id_num: String,
    pub outcome: FixtureOutcome,
    /// Seconds until a pending result resolves (default: the `[identities]` delay).
    #[serde(default)]
    pub delay_s: Option<f64>,
    /// What a pending result resolves to (default success).
    #[serde(default)]
    pub then: Option<FixtureOutcome>,
}

/// `[[enterprise]]`: one appId and its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseConfig {
    #[serde(default)]
    pub name: String,
    pub app_id: String,
    pub secret_key: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub ip_whitelist: Vec<String>,
    /// R-IP-1: whitelist entries granted on request (增配) beyond `rules.whitelist_ips_per_game` per game.
    #[serde(default)]
    pub whitelist_ips_granted: u32,
    /// R-KEY-1: when `secret_key` expires (RFC 3339); a replacement is issued 15 days before. Never, if absent.
    #[serde(default)]
    pub secret_key_expires: Option<String>,
    /// R-KEY-1 (choice): how long replacement keys are valid, in days (default 365).
    #[serde(default)]
    pub key_validity_days: Option<f64>,
    /// The enterprise passed the 8 test cases before this run (production open even with `require_test_pass`).
    #[serde(default)]
    pub test_passed: bool,
    /// Credentials of the official test system (SPEC §8), separate from the production ones.
    #[serde(default)]
    pub test: Option<TestAccountConfig>,
}

/// `[enterprise.test]`: the test-system account of an enterprise (SPEC §8).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestAccountConfig {
    pub app_id: String,
    pub secret_key: String,
    pub biz_id: String,
    /// The test system's own whitelist (V2.1 FAQ 4, 1005 row).
    #[serde(default)]
    pub ip_whitelist: Vec<String>,
    /// The 8 test codes, testcase01 first.
    pub codes: Vec<String>,
}

fn yes() -> bool {
    true
}

/// `[[game]]`: one bizId, its owner and its channels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameConfig {
    #[serde(default)]
    pub name: String,
    pub biz_id: String,
    pub owner: String,
    #[serde(default = "both_permissions")]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub quota: QuotaOverride,
    #[serde(default, rename = "channel")]
    pub channels: Vec<ChannelConfig>,
}

fn both_permissions() -> Vec<Permission> {
    vec![Permission::Realname, Permission::Report]
}

/// Per-game quota override (FAQ 109, 116).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverride {
    pub check: Option<u32>,
    pub query: Option<u32>,
    pub loginout: Option<u32>,
}

/// A channel enterprise bound to a game (R-ENT-1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub app_id: String,
    pub permissions: Vec<Permission>,
}

/// A configuration that cannot be served: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Syntax { path: String, reason: String },
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Field { field: field.into(), reason: reason.into() }
}

impl Config {
    /// The embedded default.
    pub fn embedded_default() -> Config {
        // The embedded file is checked by a unit test; a failure here would be a build defect.
        toml::from_str(DEFAULT_TOML).unwrap_or_else(|e| panic!("config/default.toml is invalid: {e}"))
    }

    /// Parses TOML text; `origin` names it in errors. Relative paths inside resolve against `base_dir`.
    pub fn from_toml(text: &str, origin: &str, base_dir: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Syntax { path: origin.to_owned(), reason: e.to_string() })?;
        if let Some(dir) = base_dir {
            let files = [
                config.identities.fixtures_file.as_mut(),
                config.journal.file.as_mut(),
                config.upstream.ca_file.as_mut(),
            ];
            for file in files.into_iter().flatten() {
                if file.is_relative() {
                    *file = dir.join(&*file);
                }
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Reads and validates a file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: origin.clone(), reason: e.to_string() })?;
        Config::from_toml(&text, &origin, path.parent())
    }

    /// Checks what serde cannot: keys, references between sections, ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut app_ids = HashSet::new();
        for (i, e) in self.enterprises.iter().enumerate() {
            if e.app_id.is_empty() {
                return Err(field(format!("enterprise[{i}].app_id"), "must not be empty"));
            }
            if !app_ids.insert(e.app_id.as_str()) {
                return Err(field(format!("enterprise[{i}].app_id"), format!("{} appears twice", e.app_id)));
            }
            SecretKey::from_hex(&e.secret_key)
                .map_err(|err| field(format!("enterprise[{i}].secret_key"), err.to_string()))?;
            check_key_validity(i, e)?;
            for (j, entry) in e.ip_whitelist.iter().enumerate() {
                crate::whitelist::parse_entry(entry)
                    .map_err(|e| field(format!("enterprise[{i}].ip_whitelist[{j}]"), e.to_string()))?;
            }
        }
        let mut biz_ids: HashSet<&str> = self.games.iter().map(|g| g.biz_id.as_str()).collect();
        let mut codes = HashSet::new();
        let mut all_app_ids = app_ids.clone();
        for (i, e) in self.enterprises.iter().enumerate() {
            let Some(test) = &e.test else { continue };
            let at = |name: &str| format!("enterprise[{i}].test.{name}");
            if test.app_id.is_empty() || !all_app_ids.insert(test.app_id.as_str()) {
                return Err(field(at("app_id"), "must be non-empty and differ from every other appId (test and production credentials are separate)"));
            }
            SecretKey::from_hex(&test.secret_key).map_err(|err| field(at("secret_key"), err.to_string()))?;
            if test.biz_id.is_empty() || !biz_ids.insert(test.biz_id.as_str()) {
                return Err(field(at("biz_id"), "must be non-empty and differ from every game's bizId"));
            }
            for (j, entry) in test.ip_whitelist.iter().enumerate() {
                crate::whitelist::parse_entry(entry)
                    .map_err(|e| field(at(&format!("ip_whitelist[{j}]")), e.to_string()))?;
            }
            if test.codes.len() != 8 {
                return Err(field(
                    at("codes"),
                    format!("the test system has 8 cases, {} codes given", test.codes.len()),
                ));
            }
            for (j, code) in test.codes.iter().enumerate() {
                let valid =
                    !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid || !codes.insert(code.as_str()) {
                    return Err(field(
                        at(&format!("codes[{j}]")),
                        "a test code is unique, of letters, digits, - and _",
                    ));
                }
            }
        }
        let mut biz_ids_seen = HashSet::new();
        for (i, g) in self.games.iter().enumerate() {
            if g.biz_id.is_empty() {
                return Err(field(format!("game[{i}].biz_id"), "must not be empty"));
            }
            if !biz_ids_seen.insert(g.biz_id.as_str()) {
                return Err(field(format!("game[{i}].biz_id"), format!("{} appears twice", g.biz_id)));
            }
            if !app_ids.contains(g.owner.as_str()) {
                return Err(field(format!("game[{i}].owner"), format!("no [[enterprise]] has app_id {}", g.owner)));
            }
            let mut bound = HashSet::from([g.owner.as_str()]);
            for (j, c) in g.channels.iter().enumerate() {
                if !app_ids.contains(c.app_id.as_str()) {
                    return Err(field(
                        format!("game[{i}].channel[{j}].app_id"),
                        format!("no [[enterprise]] has app_id {}", c.app_id),
                    ));
                }
                if !bound.insert(c.app_id.as_str()) {
                    return Err(field(
                        format!("game[{i}].channel[{j}].app_id"),
                        "already bound to this game (owner or another channel)",
                    ));
                }
            }
        }
        // After the games, so that a game naming an unknown owner is reported as that, not as a gameless whitelist.
        for (i, e) in self.enterprises.iter().enumerate() {
            self.whitelist_allowance(e)
                .admits(e.ip_whitelist.len())
                .map_err(|err| field(format!("enterprise[{i}].ip_whitelist"), err.to_string()))?;
        }
        let ids = &self.identities;
        for (name, value) in [("failure_fraction", ids.failure_fraction), ("pending_fraction", ids.pending_fraction)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(field(format!("identities.{name}"), "must be between 0 and 1"));
            }
        }
        if ids.failure_fraction + ids.pending_fraction > 1.0 {
            return Err(field("identities.pending_fraction", "failure_fraction + pending_fraction must not exceed 1"));
        }
        check_delay("identities.pending_delay_min_s", ids.pending_delay_min_s)?;
        check_delay("identities.pending_delay_max_s", ids.pending_delay_max_s)?;
        if ids.pending_delay_min_s > ids.pending_delay_max_s {
            return Err(field("identities.pending_delay_max_s", "must not be below pending_delay_min_s"));
        }
        for (i, f) in ids.fixtures.iter().enumerate() {
            if let Some(delay) = f.delay_s {
                check_delay(&format!("identities.fixture[{i}].delay_s"), delay)?;
            }
        }
        if !matches!(self.rules.missing_collections_code, 1001 | 1011) {
            return Err(field("rules.missing_collections_code", "must be 1001 or 1011"));
        }
        if self.rules.query_delete_after_s == 0 || self.rules.pending_ttl_s == 0 {
            return Err(field("rules.pending_ttl_s", "record lifetimes must be positive"));
        }
        let server = &self.server;
        for (name, seconds) in [
            ("idle_timeout_s", server.idle_timeout_s),
            ("header_timeout_s", server.header_timeout_s),
            ("body_timeout_s", server.body_timeout_s),
        ] {
            // Duration::from_secs_f64 panics on what is not finite and positive (or beyond ~584 years).
            if !(seconds > 0.0 && seconds <= MAX_TIMEOUT_S) {
                return Err(field(format!("server.{name}"), "must be positive seconds, at most one year"));
            }
        }
        if self.server.admin_remote && self.server.admin_token.as_deref().is_none_or(str::is_empty) {
            return Err(field(
                "server.admin_token",
                "server.admin_remote = true opens the admin API to other machines: set a token they must send",
            ));
        }
        if self.server.max_connections_per_ip == 0 {
            return Err(field("server.max_connections_per_ip", "must be at least 1"));
        }
        if self.server.max_connections == 0 {
            return Err(field("server.max_connections", "must be at least 1"));
        }
        for (name, url) in self.upstream.urls() {
            upstream_url(url).map_err(|reason| field(format!("upstream.{name}"), reason))?;
        }
        if !(self.upstream.timeout_s > 0.0 && self.upstream.timeout_s <= MAX_TIMEOUT_S) {
            return Err(field("upstream.timeout_s", "must be positive seconds, at most one year"));
        }
        if !self.upstream.shadow && self.upstream.shadow_serve != ShadowServe::Mock {
            let reason = "only shadow mode chooses whose answer the client gets (nppa mock --shadow URL, or \
                          upstream.shadow = true); upstream mode always passes the upstream's";
            return Err(field("upstream.shadow_serve", reason));
        }
        if !self.upstream.shadow && !self.upstream.shadow_ignore.is_empty() {
            let reason = "only shadow mode compares answers (nppa mock --shadow URL, or upstream.shadow = true); \
                          upstream mode compares nothing, so there is nothing to ignore";
            return Err(field("upstream.shadow_ignore", reason));
        }
        if let Some(start) = &self.clock.start {
            chrono::DateTime::parse_from_rfc3339(start).map_err(|e| {
                field("clock.start", format!("not an RFC 3339 time ({e}), e.g. 2026-01-15T12:00:00+08:00"))
            })?;
        }
        Ok(())
    }

    /// R-IP-1: the whitelist entries this enterprise may have, from the games it is linked to (owner or channel).
    pub fn whitelist_allowance(&self, enterprise: &EnterpriseConfig) -> crate::whitelist::Allowance {
        let linked =
            |g: &&GameConfig| g.owner == enterprise.app_id || g.channels.iter().any(|c| c.app_id == enterprise.app_id);
        crate::whitelist::Allowance {
            per_game: self.rules.whitelist_ips_per_game,
            games: self.games.iter().filter(linked).count(),
            granted: enterprise.whitelist_ips_granted,
        }
    }

    /// The start time of the mock clock in Unix ms, when configured.
    pub fn clock_start_ms(&self) -> Option<u64> {
        rfc3339_ms(self.clock.start.as_deref()?)
    }
}

/// An upstream URL: `http` or `https`, a host, and perhaps a path prefix; no query. The request's path and query
/// are appended to it.
pub fn upstream_url(text: &str) -> Result<hyper::Uri, String> {
    let uri: hyper::Uri = text.parse().map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!("{text:?}: the scheme must be http or https"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{text:?}: no host"));
    }
    if uri.query().is_some() {
        return Err(format!("{text:?}: a query does not belong in an upstream URL"));
    }
    // It would become the forwarded `Host` and be printed and journaled: NPPA signs requests, it takes no password.
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("a user or password does not belong in an upstream URL (it would be sent as Host)".to_owned());
    }
    Ok(uri)
}

/// The longest transport timeout a configuration may set, in seconds (a year: longer is no timeout at all).
const MAX_TIMEOUT_S: f64 = 365.0 * 24.0 * 3600.0;

/// An RFC 3339 time in Unix ms.
pub fn rfc3339_ms(text: &str) -> Option<u64> {
    let time = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(time.timestamp_millis()).ok()
}

/// R-KEY-1: an expiry that is a time, and replacements that outlive the 15 days by which they overlap the key they
/// replace (a shorter validity would make each replacement due at once, forever).
fn check_key_validity(i: usize, e: &EnterpriseConfig) -> Result<(), ConfigError> {
    if let Some(expires) = &e.secret_key_expires {
        if rfc3339_ms(expires).is_none() {
            return Err(field(
                format!("enterprise[{i}].secret_key_expires"),
                "not an RFC 3339 time after 1970, e.g. 2027-01-15T00:00:00+08:00",
            ));
        }
    }
    if let Some(days) = e.key_validity_days {
        let overlap_days = (key_validity::RENEW_BEFORE_MS / beijing::DAY_MS) as f64;
        if !(days.is_finite() && days > overlap_days) {
            return Err(field(
                format!("enterprise[{i}].key_validity_days"),
                format!("must be more than {overlap_days} days: a replacement key is issued {overlap_days} days before a key expires (R-KEY-1)"),
            ));
        }
    }
    Ok(())
}

/// R-PEND-1: every pending result resolves within 48 h (FAQ 262).
fn check_delay(name: &str, seconds: f64) -> Result<(), ConfigError> {
    if !(0.0..(record::MAX_PENDING_DELAY_MS / 1000) as f64).contains(&seconds) {
        return Err(field(name, "a pending delay is between 0 and 48 h (R-PEND-1), in seconds"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid_and_holds_the_spec_example() {
        let config = Config::from_toml(DEFAULT_TOML, "default", None).expect("default config");
        assert_eq!(config.enterprises[0].app_id, "fdc6688637bc468e9aea874654cbead2");
        assert_eq!(config.enterprises[0].secret_key, "b4c932250dbe59ff53b15ee993a9feb5");
        assert_eq!(config.games[0].biz_id, "1101999999");
    }

    #[test]
    fn the_annotated_example_is_valid_and_serves() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/example.toml");
        let config = Config::from_file(&path).expect("config/example.toml");
        assert_eq!(config.enterprises.len(), 2);
        assert!(config
            .journal
            .file
            .as_ref()
            .is_some_and(|f| f.is_absolute() || f.starts_with(path.parent().unwrap_or(Path::new("")))));
        let mut config = config;
        config.journal.file = None; // do not write next to the example from a test
        crate::MockService::new(config).expect("the example serves");
    }

    #[test]
    fn errors_name_the_field() {
        let bad_key = DEFAULT_TOML.replace("b4c932250dbe59ff53b15ee993a9feb5", "short");
        let err = Config::from_toml(&bad_key, "x.toml", None).expect_err("bad key");
        assert!(err.to_string().starts_with("enterprise[0].secret_key: "), "{err}");

        let bad_owner = DEFAULT_TOML.replace("owner = \"fdc6688637bc468e9aea874654cbead2\"", "owner = \"nobody\"");
        let err = Config::from_toml(&bad_owner, "x.toml", None).expect_err("bad owner");
        assert!(err.to_string().contains("game[0].owner"), "{err}");

        let typo = DEFAULT_TOML.replace("quota_profile", "quota_profil");
        let err = Config::from_toml(&typo, "x.toml", None).expect_err("unknown field");
        assert!(err.to_string().contains("quota_profil"), "{err}");

        for (setting, value) in [
            ("header_timeout_s", "0"),
            ("body_timeout_s", "-1"),
            ("body_timeout_s", "nan"),
            ("header_timeout_s", "1e300"),
        ] {
            let bad = DEFAULT_TOML.replace(&format!("{setting} = "), &format!("{setting} = {value} #"));
            let err = Config::from_toml(&bad, "x.toml", None).expect_err("a timeout that is no duration");
            assert_eq!(err.to_string(), format!("server.{setting}: must be positive seconds, at most one year"));
        }
        let no_connections = DEFAULT_TOML.replace("max_connections = 768", "max_connections = 0");
        let err = Config::from_toml(&no_connections, "x.toml", None).expect_err("no connection allowed");
        assert_eq!(err.to_string(), "server.max_connections: must be at least 1");

        let mut config = Config::embedded_default();
        config.games.clear();
        let err = config.validate().expect_err("a whitelist without a game");
        assert!(
            err.to_string().starts_with("enterprise[0].ip_whitelist: ") && err.to_string().contains("FAQ 98"),
            "{err}"
        );

        // R-KEY-1: a validity within the 15-day overlap renewed keys without end (out of memory at the first request).
        for days in ["15", "0.5", "nan", "-1"] {
            let short = DEFAULT_TOML.replace("# key_validity_days = 365", &format!("key_validity_days = {days}"));
            let err = Config::from_toml(&short, "x.toml", None).expect_err(days);
            assert!(err.to_string().starts_with("enterprise[0].key_validity_days: must be more than 15 days"), "{err}");
        }
        let fine = DEFAULT_TOML.replace("# key_validity_days = 365", "key_validity_days = 16");
        Config::from_toml(&fine, "x.toml", None).expect("16 days");
        let bad_expiry = DEFAULT_TOML
            .replace("# secret_key_expires = \"2027-01-15T00:00:00+08:00\"", "secret_key_expires = \"soon\"");
        let err = Config::from_toml(&bad_expiry, "x.toml", None).expect_err("not a time");
        assert!(err.to_string().starts_with("enterprise[0].secret_key_expires: "), "{err}");

        let bad_ip = DEFAULT_TOML.replace("\"::1\"", "\"localhost\"");
        let err = Config::from_toml(&bad_ip, "x.toml", None).expect_err("bad ip");
        assert!(err.to_string().contains("ip_whitelist[1]"), "{err}");
    }
}
