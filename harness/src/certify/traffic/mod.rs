//! The journal, read as a certifier needs it: each request parsed once into typed values.
//!
//! - [`envelope`]: the system headers, the query parameters, the sealed body
//! - [`plaintext`]: the plaintext by interface, records read leniently, what did not parse kept with why

mod envelope;
mod plaintext;
mod seen;

use std::collections::HashMap;

use nppa_mockserver::faults::FaultEffect;
use nppa_mockserver::journal::JournalEntry;
use nppa_mockserver::variation::Change;
use nppa_protocol::answer::{self, ParsedAnswer};
use nppa_protocol::messages::AuthStatus;
use nppa_protocol::Interface;

pub use envelope::{QueryParams, Sealed, SystemHeaders};
pub use plaintext::{CheckFields, Field, Plaintext, Record, Unparsed, Unreadable};
pub use seen::Seen;

/// What the judge knows of the deployment: keys to recompute signatures, test codes to name cases.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// appId → secretKey (hex), production and test accounts.
    pub keys: HashMap<String, String>,
    /// test code → case index 0..8.
    pub test_codes: HashMap<String, usize>,
    /// Requests per second per interface allowed to one (appId, bizId) (R-RL-1), by profile …
    pub quotas: [u32; 3],
    /// … and per game where the configuration overrides it.
    pub game_quotas: HashMap<String, [u32; 3]>,
    /// Exit codes of the client's runs (`None`: stopped at the time limit).
    pub client_exits: Vec<Option<i32>>,
    /// Thresholds of the judge.
    pub thresholds: Thresholds,
    /// Who is who, when the configuration fixes the pi secret (so the judge can tell whose pi a record carries).
    pub identities: Option<std::sync::Arc<nppa_mockserver::identity::IdentityBook>>,
    /// Proxy mode: the client reaches the mock under NPPA's own hosts, so the host it addresses is judged.
    pub proxy: bool,
    /// R-RL-2: how long a 1006 blocks, as the mock was told (`server.quota_block`).
    pub quota_block: nppa_protocol::quota::QuotaBlock,
}

/// The judge's tolerances, set on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// Requests in flight when a 1006 arrives are forgiven this long (ERR-BUSY).
    pub busy_tolerance_ms: u64,
    /// Queries of one ai closer than this are too frequent (RN-QUERY).
    pub query_spacing_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { busy_tolerance_ms: 1_000, query_spacing_ms: 1_000 }
    }
}

impl Deployment {
    /// From a mock configuration.
    pub fn from_config(config: &nppa_mockserver::Config) -> Deployment {
        let mut keys = HashMap::new();
        let mut test_codes = HashMap::new();
        for e in &config.enterprises {
            keys.insert(e.app_id.clone(), e.secret_key.clone());
            if let Some(test) = &e.test {
                keys.insert(test.app_id.clone(), test.secret_key.clone());
                for (case, code) in test.codes.iter().enumerate() {
                    test_codes.insert(code.clone(), case);
                }
            }
        }
        let quotas = config.server.quota_profile.limits();
        let game_quotas = config
            .games
            .iter()
            .map(|g| {
                let custom = [g.quota.check, g.quota.query, g.quota.loginout];
                (g.biz_id.clone(), Interface::ALL.map(|i| custom[i.index()].unwrap_or(quotas[i.index()])))
            })
            .collect();
        let identities = config
            .identities
            .pi_secret
            .as_ref()
            .and_then(|_| nppa_mockserver::identity::IdentityBook::from_config(config).ok())
            .map(std::sync::Arc::new);
        Deployment {
            keys,
            test_codes,
            quotas,
            game_quotas,
            client_exits: Vec::new(),
            thresholds: Thresholds::default(),
            identities,
            proxy: config.server.proxy,
            quota_block: config.server.quota_block,
        }
    }

    /// The quota of an interface for a game.
    pub fn quota(&self, biz_id: &str, interface: Interface) -> u32 {
        self.game_quotas.get(biz_id).unwrap_or(&self.quotas)[interface.index()]
    }
}

/// One journaled request, parsed once: every rule reads these typed values, none reads the JSON again.
#[derive(Debug)]
pub struct Request<'a> {
    pub entry: &'a JournalEntry,
    pub interface: Option<Interface>,
    /// The test case of a test-system path (by its code), `None` on production.
    pub test_case: Option<usize>,
    pub test_path: bool,
    /// appId, bizId, timestamps and sign, as found.
    pub headers: SystemHeaders<'a>,
    /// The URL query parameters, decoded.
    pub query: QueryParams,
    /// The body, when it is an envelope `{"data":"…"}`.
    pub sealed: Option<Sealed>,
    /// The plaintext, when the body decrypted.
    pub plaintext: Option<Plaintext>,
    /// The answer, read leniently (`None` when it is not a protocol answer).
    pub answer: Option<ParsedAnswer>,
    /// What the client could read of the answer (nothing when it was late, cut off, reset or over another status).
    pub seen: Seen,
}

impl<'a> Request<'a> {
    /// Reads one entry.
    pub fn read(entry: &'a JournalEntry, deployment: &Deployment) -> Request<'a> {
        let test = Interface::from_test_path(&entry.path);
        let body = entry.body.as_deref().unwrap_or("");
        let answer = answer::parse(entry.answer.as_bytes());
        Request {
            entry,
            interface: entry.interface,
            test_case: test.and_then(|(_, code)| deployment.test_codes.get(code).copied()),
            test_path: test.is_some(),
            headers: SystemHeaders::find(&entry.headers),
            query: QueryParams::parse(entry.query.as_deref()),
            sealed: Sealed::parse(body),
            plaintext: entry
                .plaintext
                .as_deref()
                .map(|text| Plaintext::parse(text, entry.interface.or(test.map(|(interface, _)| interface)))),
            seen: Seen::with(entry, answer.as_ref()),
            answer,
        }
    }

    /// The game it speaks for: (appId, bizId). Sessions (si) and accounts (ai) are the game's own names (V2.1: si
    /// "游戏内部会话标识", ai "游戏内部成员标识"), so two games may use the same ones.
    pub fn game(&self) -> (&'a str, &'a str) {
        (self.headers.app_id.unwrap_or(""), self.headers.biz_id.unwrap_or(""))
    }

    /// What makes two requests one call: the same game (appId, bizId), path and query and, for a check, the same
    /// person (a retry with a fresh ai is still the same check, V2.1 FAQ 2), else the same plaintext.
    pub fn call_key(&self) -> CallKey<'_> {
        let person = self.plaintext.as_ref().and_then(Plaintext::person);
        let (path, query) = (self.entry.path.as_str(), self.entry.query.as_deref());
        match (self.interface, person) {
            (Some(Interface::Check), Some((name, id_num))) => (self.game(), path, query, Some(name), Some(id_num)),
            _ => (self.game(), path, query, self.entry.plaintext.as_deref(), None),
        }
    }

    /// Is this the HTTP library's own re-send of `earlier`: a GET, byte for byte, sent again within 1 s of a
    /// connection closed without an answer? HTTP/1.1 clients (Go's net/http, for one) replay an idempotent request
    /// on a new connection when a kept-alive one was closed under it, without the application knowing.
    pub fn replays_after_reset(&self, earlier: &Request<'_>) -> bool {
        self.entry.method == "GET"
            && earlier.entry.connection_reset
            && self.entry.path == earlier.entry.path
            && self.entry.query == earlier.entry.query
            && self.headers.timestamps == earlier.headers.timestamps
            && self.headers.sign == earlier.headers.sign
            && self.at_ms().saturating_sub(earlier.at_ms()) < 1_000
    }

    /// When the request arrived on the mock clock: every rule judges "before", "after" and ages by arrival, since
    /// a delayed answer finishes after requests that arrived later (journals from before `arrived_ms` existed fall
    /// back to the answer time).
    pub fn at_ms(&self) -> u64 {
        if self.entry.arrived_ms > 0 {
            self.entry.arrived_ms
        } else {
            self.entry.time_ms
        }
    }

    /// When the mock answered it, on the mock clock: later than [`Request::at_ms`] by the time it took, a fault's
    /// delay included.
    pub fn answered_ms(&self) -> u64 {
        self.entry.time_ms.max(self.at_ms())
    }

    /// The errcode the mock's own rules gave this request; `None` when a fault answered in their place (an
    /// injected 1007 or a 3001 of every record says nothing of what the client sent).
    pub fn own_errcode(&self) -> Option<u16> {
        let injected = match self.entry.fault.and_then(|note| note.effect) {
            Some(FaultEffect::Status(_)) => true,
            Some(FaultEffect::Vary(changes)) => changes.contains(Change::EveryRecordRejected),
            _ => false,
        };
        if injected {
            None
        } else {
            self.entry.errcode
        }
    }

    /// `data.result.status` of the answer.
    pub fn status(&self) -> Option<AuthStatus> {
        self.answer.as_ref()?.status
    }

    /// True when the body decrypted to JSON (of the interface's shape or not).
    pub fn json_plaintext(&self) -> bool {
        self.plaintext.as_ref().is_some_and(Plaintext::is_json)
    }

    /// The records of a loginout plaintext.
    pub fn records(&self) -> &[Record] {
        self.plaintext.as_ref().map_or(&[], Plaintext::records)
    }

    /// The `no` of each record a 3001 answer rejected.
    pub fn rejected_numbers(&self) -> std::collections::HashSet<i64> {
        self.answer.iter().flat_map(|a| &a.rejected).map(|r| r.no).collect()
    }

    /// The raw body as sent.
    pub fn body(&self) -> &str {
        self.entry.body.as_deref().unwrap_or("")
    }
}

/// One call, whatever attempt: see [`Request::call_key`].
pub type CallKey<'r> = ((&'r str, &'r str), &'r str, Option<&'r str>, Option<&'r str>, Option<&'r str>);

/// What the client sent: its requests, in arrival order, and what never became a request.
#[derive(Debug)]
pub struct Traffic<'a> {
    /// Every request, in arrival order (journal ids are completion order).
    pub requests: Vec<Request<'a>>,
    /// Entries of HTTP the mock could not parse, or whose head came too slowly: they name no method, path or
    /// interface, so only ENV-HTTP reads them.
    pub broken: Vec<&'a JournalEntry>,
}

impl<'a> std::ops::Deref for Traffic<'a> {
    type Target = [Request<'a>];

    fn deref(&self) -> &[Request<'a>] {
        &self.requests
    }
}

/// Reads the journal's entries into traffic.
pub fn read<'a>(entries: &'a [JournalEntry], deployment: &Deployment) -> Traffic<'a> {
    let (broken, requests): (Vec<&JournalEntry>, Vec<&JournalEntry>) =
        entries.iter().partition(|entry| entry.http_error.as_ref().is_some_and(|e| e.kind.before_request()));
    let mut requests: Vec<Request<'a>> = requests.into_iter().map(|entry| Request::read(entry, deployment)).collect();
    // A stable sort: requests that arrived in the same millisecond keep their journal order.
    requests.sort_by_key(Request::at_ms);
    Traffic { requests, broken }
}
