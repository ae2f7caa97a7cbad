//! The journal, read as a certifier needs it: each request with its headers, parsed plaintext and answer.
//!
//! - [`envelope`]: the system headers, the query parameters, the sealed body
//! - [`plaintext`]: the plaintext by interface, records read leniently, what did not parse kept with why

mod envelope;
mod plaintext;

use std::collections::HashMap;

use nppa_mockserver::journal::JournalEntry;
use nppa_protocol::answer::{self, ParsedAnswer};
use nppa_protocol::messages::AuthStatus;
use nppa_protocol::Interface;
use serde_json::Value;

pub use envelope::{QueryParams, Sealed, SystemHeaders};
pub use plaintext::{CheckFields, Field, Plaintext, Record, Unparsed, Unreadable};

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
}

/// The judge's tolerances, set on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        }
    }

    /// The quota of an interface for a game.
    pub fn quota(&self, biz_id: &str, interface: Interface) -> u32 {
        self.game_quotas.get(biz_id).unwrap_or(&self.quotas)[interface.index()]
    }
}

/// One journaled request, parsed once.
#[derive(Debug)]
pub struct Request<'a> {
    pub entry: &'a JournalEntry,
    pub interface: Option<Interface>,
    /// The test case of a test-system path (by its code), `None` on production.
    pub test_case: Option<usize>,
    pub test_path: bool,
    pub plaintext: Option<Value>,
    /// The answer, read leniently (`None` when it is not a protocol answer).
    pub answer: Option<ParsedAnswer>,
}

impl Request<'_> {
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

    /// A request header (names are lower case in the journal).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.entry.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The URL query parameters, decoded.
    pub fn query(&self) -> Vec<(String, String)> {
        self.entry
            .query
            .as_deref()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default()
    }

    /// `data.result.status` of the answer.
    pub fn status(&self) -> Option<AuthStatus> {
        self.answer.as_ref()?.status
    }

    /// The records of a loginout plaintext.
    pub fn records(&self) -> Vec<&Value> {
        self.plaintext
            .as_ref()
            .and_then(|p| p.get("collections"))
            .and_then(Value::as_array)
            .map(|list| list.iter().collect())
            .unwrap_or_default()
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

/// All requests, in arrival order (journal ids are completion order).
pub fn read<'a>(entries: &'a [JournalEntry], deployment: &Deployment) -> Vec<Request<'a>> {
    let mut requests: Vec<Request<'a>> = entries
        .iter()
        .map(|entry| {
            let test = Interface::from_test_path(&entry.path);
            Request {
                entry,
                interface: entry.interface,
                test_case: test.and_then(|(_, code)| deployment.test_codes.get(code).copied()),
                test_path: test.is_some(),
                plaintext: entry.plaintext.as_deref().and_then(|p| serde_json::from_str(p).ok()),
                answer: answer::parse(entry.answer.as_bytes()),
            }
        })
        .collect();
    // A stable sort: requests that arrived in the same millisecond keep their journal order.
    requests.sort_by_key(Request::at_ms);
    requests
}
