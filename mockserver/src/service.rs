//! The mock NPPA service without its transport: state, and the request pipeline in R-ORDER.
//! [`MockService::handle`] turns one request into one protocol answer and never panics on input.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use std::time::{Duration, Instant};

use dashmap::DashSet;
use hyper::header::HeaderValue;
use hyper::HeaderMap;
use nppa_protocol::envelope;
use nppa_protocol::idnum::IdNumError;
use nppa_protocol::messages::{AuthResult, AuthStatus, BehaviourRecord, CheckRequest, LoginoutRequest, RecordResult};
use nppa_protocol::{ai, behaviour, beijing, idnum, json, name, sign, timestamps, Interface, SecretKey, StatusCode};
use serde::Serialize;
use smallvec::{smallvec, SmallVec};

use crate::clock::{self, Clock};
use crate::config::{AiNamespace, Config, TimestampsClock};
use crate::error::StartError;
use crate::faults::{self, FaultAction, FaultRequest, FaultRule, Faults, Injection};
use crate::header_names;
use crate::http_error::{HttpError, HttpErrorKind};
use crate::identity::{IdentityBook, Verdict};
use crate::journal::{self, ExchangeParts, Journal, JournalEntry, Record, Unusual, UpstreamExchange};
use crate::keys::KeyRing;
use crate::metrics::Metrics;
use crate::quota::{self, QuotaTable};
use crate::refusal::Refusal;
use crate::store::{PendingRecord, RealNameStore};
use crate::tenants::{Binding, Enterprise, Tenants};
use crate::testsystem::{CodeError, TestAnswer, TestSystem};
use crate::variation::{self, Changes, Framing};

/// Why the body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than `server.max_body_bytes`.
    TooLarge,
    /// The client stopped sending.
    Incomplete,
    /// Not whole within `server.body_timeout_s` (a slow client is not held).
    TimedOut,
}

/// One request as the pipeline sees it, independent of the transport.
#[derive(Debug)]
pub struct Incoming<'a> {
    pub peer: IpAddr,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The host the client addressed: the absolute-form target's (`http_proxy`) or the `Host` header's.
    pub authority: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: Result<&'a [u8], BodyError>,
}

impl Incoming<'_> {
    /// `body_timeout_s` (`server.body_timeout_s`) when the body did not arrive within it: the journal's `http_error`.
    pub fn body_timed_out_after(&self, body_timeout_s: f64) -> Option<f64> {
        (self.body == Err(BodyError::TimedOut)).then_some(body_timeout_s)
    }
}

/// The answer and what the pipeline learned on the way (for the journal and metrics).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub interface: Option<Interface>,
    pub code: StatusCode,
    /// The JSON answer.
    pub body: Vec<u8>,
    /// The decrypted plaintext, when the body decrypted.
    pub plaintext: Option<Vec<u8>>,
    /// The signature check's result, when the pipeline got that far.
    pub sign_ok: Option<bool>,
    /// Why the pipeline refused, when it did (`None` on success, and when a fault answered instead).
    pub refusal: Option<Refusal>,
}

/// When and where a request arrived: the instant its head was read (for latency), the mock-clock time then (for
/// every rule), and the scheme it was addressed with (`https`, for the journal's `target`, with the request's
/// authority).
#[derive(Debug, Clone)]
pub struct Arrival {
    pub received: Instant,
    pub arrived_ms: u64,
    pub scheme: &'static str,
}

impl Arrival {
    /// Real time when the request arrived (Unix ms): now, less the time since.
    pub fn wall_ms(&self) -> u64 {
        clock::wall_ms().saturating_sub(self.received.elapsed().as_millis() as u64)
    }
}

/// What the transport sends for one request.
#[derive(Debug, Clone)]
pub struct Served {
    /// 200 for protocol answers; another status when a fault says so.
    pub http_status: u16,
    pub body: Vec<u8>,
    /// Close the connection without an answer (a fault).
    pub reset: bool,
    /// Another content type than the one the transport gives this status (a `vary` fault).
    pub content_type: Option<&'static str>,
    /// How the body goes out (a `vary` fault may chunk, trickle or cut it).
    pub framing: Framing,
}

impl Served {
    fn answer(body: Vec<u8>) -> Served {
        // SPEC §3 (choice): HTTP 200 for every protocol outcome; the errcode says what happened.
        Served::with_status(200, body)
    }

    pub(crate) fn with_status(http_status: u16, body: Vec<u8>) -> Served {
        Served { http_status, body, reset: false, content_type: None, framing: Framing::Whole }
    }
}

/// Shadow mode: the upstream's answer to a request beside the mock's.
pub struct Beside {
    /// The journal entry's `upstream`: the upstream's answer and where it differs.
    pub note: UpstreamExchange,
    /// With `upstream.shadow_serve = "upstream"`: what the client gets instead of the mock's answer (the upstream's,
    /// or a 502 when none came) and its errcode, for the journal; the mock's state still follows its own answer.
    pub served_instead: Option<(Served, Option<u16>)>,
}

/// What a successful request answers.
enum Reply {
    Auth(AuthResult),
    LoginoutAccepted,
    /// 3001: some of `total` records rejected, each with its code.
    LoginoutPartial {
        total: usize,
        rejected: Vec<RecordResult>,
    },
}

/// Decrypted and parsed plaintexts.
enum Plaintext {
    Check(CheckRequest),
    Query(String),
    Loginout(Vec<BehaviourRecord>),
}

/// The headers every interface needs (R-HDR-1).
struct SystemParams<'a> {
    app_id: Cow<'a, str>,
    biz_id: Cow<'a, str>,
    timestamps: Cow<'a, str>,
    sign: Cow<'a, str>,
}

/// Production paths or the official test system (SPEC §8), with the test code from the path.
enum Environment<'a> {
    Production,
    Test { code: &'a str },
}

/// Who is calling, as the gates established it.
enum Caller<'s> {
    /// A production enterprise through one of its bindings.
    Production { enterprise: &'s Enterprise, binding: &'s Binding },
    /// A test-system account, on the case its code stands for.
    Test { account: usize, enterprise: &'s Enterprise, case: usize },
}

/// What the gates have established about a request so far.
struct Admitted<'s> {
    interface: Interface,
    caller: Caller<'s>,
    timestamps_ms: u64,
}

impl Admitted<'_> {
    /// The enterprise (or test account) whose keys sign and seal this caller's requests.
    fn enterprise(&self) -> &Enterprise {
        match &self.caller {
            Caller::Production { enterprise, .. } | Caller::Test { enterprise, .. } => enterprise,
        }
    }
}

/// The mock NPPA service: configuration snapshot and state.
pub struct MockService {
    config: Arc<Config>,
    /// Swapped whole when the admin API or a key renewal changes it.
    tenants: ArcSwap<Tenants>,
    identities: IdentityBook,
    clock: Arc<Clock>,
    store: Arc<RealNameStore>,
    quotas: Arc<QuotaTable>,
    journal: Arc<Journal>,
    metrics: Metrics,
    faults: Faults,
    issued_pis: DashSet<String>,
    test_system: TestSystem,
    /// Answers a fault's delay holds back, not yet served nor journaled.
    held: AtomicUsize,
}

/// One answer held back by a fault's delay, counted until it is served and journaled (see
/// [`MockService::answers_held`]).
#[derive(Debug)]
pub struct HeldAnswer(Arc<MockService>);

impl Drop for HeldAnswer {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for MockService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockService").field("store", &self.store).finish_non_exhaustive()
    }
}

impl MockService {
    /// Builds the service from a validated configuration.
    pub fn new(config: Config) -> Result<MockService, StartError> {
        config.validate()?;
        let tenants = Tenants::from_config(&config)?;
        let identities = IdentityBook::from_config(&config)?;
        let clock = match config.clock_start_ms() {
            Some(start) => Clock::starting_at(start),
            None => Clock::real(),
        };
        let store = Arc::new(RealNameStore::new(tenants.game_count()));
        let quotas = Arc::new(QuotaTable::new(tenants.binding_count(), config.server.quota_block));
        let journal_config = &config.journal;
        let journal =
            Journal::new(journal_config.enabled, journal_config.capacity, journal_config.file.as_deref()).map_err(
                |source| StartError::JournalFile { path: journal_config.file.clone().unwrap_or_default(), source },
            )?;
        let journal = Arc::new(journal);
        let metrics = Metrics::new(Arc::clone(&store), Arc::clone(&quotas), Arc::clone(&journal));
        let faults = Faults::new(config.faults.seed);
        if !config.faults.rules.is_empty() {
            let rules = FaultRequest::Many { seed: None, rules: config.faults.rules.clone() };
            faults.add(rules).map_err(StartError::FaultRule)?;
        }
        let test_system = TestSystem::from_config(&config)?;
        Ok(MockService {
            config: Arc::new(config),
            tenants: ArcSwap::from_pointee(tenants),
            identities,
            clock: Arc::new(clock),
            store,
            quotas,
            journal,
            metrics,
            faults,
            issued_pis: DashSet::new(),
            test_system,
            held: AtomicUsize::new(0),
        })
    }

    /// The configuration being served.
    /// Counts an answer a fault's delay holds back until the returned guard is dropped (after it is journaled).
    pub fn hold_answer(self: &Arc<Self>) -> HeldAnswer {
        self.held.fetch_add(1, Ordering::AcqRel);
        HeldAnswer(Arc::clone(self))
    }

    /// Answers held back by a fault's delay and not yet journaled: a request that arrived but whose journal entry
    /// is still to come. `nppa certify --repeat` waits for 0 between runs, so that a slow answer of one run is not
    /// taken for the next run's.
    pub fn answers_held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The tenants being served now (key renewals due on the mock clock issued).
    pub fn tenants(&self) -> Arc<Tenants> {
        arc_swap::Guard::into_inner(self.tenants_at(self.clock.now_ms()))
    }

    /// R-KEY-1: issues replacement keys as they fall due, then returns the current snapshot.
    ///
    /// A guard, not an `Arc`: a request borrows the snapshot through a slot of its own thread, where an `Arc` would
    /// count it up and down in one place every core writes to (measured: 70 ns a request with two cores serving).
    fn tenants_at(&self, now_ms: u64) -> arc_swap::Guard<Arc<Tenants>> {
        let tenants = self.tenants.load();
        if tenants.next_key_renewal_ms().is_none_or(|due| due > now_ms) {
            return tenants;
        }
        drop(tenants);
        self.tenants.rcu(|current| {
            let mut next = Tenants::clone(current);
            next.renew_keys(now_ms);
            next
        });
        self.tenants.load()
    }

    /// Changes one enterprise (the admin API playing the portal); `None` when there is no such appId.
    pub fn update_enterprise<E: Clone>(
        &self,
        app_id: &str,
        change: impl Fn(&mut Enterprise) -> Result<(), E>,
    ) -> Option<Result<(), E>> {
        let mut outcome = None;
        self.tenants.rcu(|current| {
            let mut next = Tenants::clone(current);
            outcome = next.update_enterprise(app_id, &change);
            // A refused change leaves everything as it was.
            if matches!(outcome, Some(Ok(()))) {
                next
            } else {
                Tenants::clone(current)
            }
        });
        outcome
    }

    /// The mock clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The real-name store.
    pub fn store(&self) -> &RealNameStore {
        &self.store
    }

    /// The official test system.
    pub fn test_system(&self) -> &TestSystem {
        &self.test_system
    }

    /// The quota table.
    pub fn quotas(&self) -> &QuotaTable {
        &self.quotas
    }

    /// Drops all state: records, quota counts and blocks, issued pis, test-case progress, the journal's ring,
    /// fault rules.
    /// The clock is left as it is.
    pub fn reset(&self) {
        self.store.clear();
        self.quotas.clear();
        self.issued_pis.clear();
        self.test_system.reset();
        self.journal.clear();
        self.faults.clear();
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Who is who (R-CHK-1).
    pub fn identities(&self) -> &IdentityBook {
        &self.identities
    }

    /// The fault rules.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Answers one request, misbehaving as `injection` says (its delay already waited by the transport), and
    /// records it in the journal and the metrics. Every rule judges it at its arrival, so that a delay changes
    /// when the answer comes, never what it says.
    pub fn serve(&self, request: &Incoming<'_>, arrival: &Arrival, injection: Option<&Injection>) -> Served {
        self.serve_beside(request, arrival, injection, None)
    }

    /// [`serve`](Self::serve), with the upstream's answer to the same request beside it (shadow mode): `beside`
    /// makes the journal entry's `upstream` from the mock's answer (and counts differences). The mock's answer is
    /// returned; when the client gets the upstream's instead (`served_instead`), the journal records that one.
    pub fn serve_beside(
        &self,
        request: &Incoming<'_>,
        arrival: &Arrival,
        injection: Option<&Injection>,
        beside: Option<&dyn Fn(&Served) -> Beside>,
    ) -> Served {
        let mut rule = injection.map(|i| &i.rule);
        let (outcome, served) = match rule.and_then(|r| r.action.as_ref()) {
            Some(FaultAction::Status { errcode }) => {
                let code = *errcode;
                let body = to_json(&nppa_protocol::messages::Answer::<()>::status(code));
                let interface = route_interface(request.path);
                let outcome =
                    Outcome { interface, code, body: body.clone(), plaintext: None, sign_ok: None, refusal: None };
                (Some(outcome), Served::answer(body))
            }
            Some(FaultAction::HttpStatus { status, body }) => {
                let body = body.clone().unwrap_or_default().into_bytes();
                (None, Served::with_status(*status, body))
            }
            Some(FaultAction::Reset) => (None, Served { reset: true, ..Served::with_status(0, Vec::new()) }),
            Some(FaultAction::Vary { changes }) => {
                let mut outcome = self.handle_arrived(request, arrival.arrived_ms, &|| arrival.wall_ms());
                let varied = vary_answer(*changes, &outcome);
                if varied.applied == *changes {
                    if let Some(code) = varied.code {
                        outcome.code = code;
                    }
                    let served = Served {
                        content_type: varied.content_type,
                        framing: varied.framing,
                        ..Served::answer(varied.body)
                    };
                    (Some(outcome), served)
                } else {
                    // Not every change fits this answer (`pi: null` on a success): the plain answer, and the rule
                    // waits for one they all fit, so that what it promised is what a client meets.
                    if let Some(r) = rule {
                        self.faults.refund(r.id);
                    }
                    rule = None;
                    let served = Served::answer(outcome.body.clone());
                    (Some(outcome), served)
                }
            }
            mangling => {
                let mut outcome = self.handle_arrived(request, arrival.arrived_ms, &|| arrival.wall_ms());
                // Moved, not copied: from here on the answer is what is served (the journal records that).
                let answer = std::mem::take(&mut outcome.body);
                let body = match mangling {
                    Some(action) => {
                        let accepted_loginout = outcome.interface == Some(Interface::Loginout) && outcome.code.is_ok();
                        faults::mangle(action, answer, accepted_loginout)
                    }
                    None => answer,
                };
                (Some(outcome), Served::answer(body))
            }
        };
        let latency = arrival.received.elapsed();
        let (upstream, served_instead) = match beside.map(|beside| beside(&served)) {
            Some(Beside { note, served_instead }) => (Some(note), served_instead),
            None => (None, None),
        };
        // What the client got is counted: with `shadow_serve = "upstream"` the upstream's errcode, as upstream mode
        // counts it (nothing for an answer that is not an NPPA answer).
        let counted = match &served_instead {
            Some((_, errcode)) => errcode.and_then(StatusCode::from_code),
            None => outcome.as_ref().map(|o| o.code),
        };
        if let Some(code) = counted {
            let interface = outcome.as_ref().map_or_else(|| route_interface(request.path), |o| o.interface);
            let test_system = Interface::from_test_path(request.path).is_some();
            self.metrics.observe(interface, code, test_system, latency.as_secs_f64());
        }
        if let Some(rule) = rule {
            self.metrics.fault_injected(rule.kind());
        }
        if request.body == Err(BodyError::TimedOut) {
            self.metrics.http_error(HttpErrorKind::BodyTimeout);
        }
        if self.journal.enabled() {
            // What was sent, even when a gate before decryption or a fault answered: certify and people read it.
            let peeked;
            let plaintext = match outcome.as_ref().and_then(|o| o.plaintext.as_deref()) {
                Some(plaintext) => Some(plaintext),
                None => {
                    peeked = self.peek_plaintext(request, arrival.arrived_ms);
                    peeked.as_deref()
                }
            };
            let exchanged = Exchanged {
                request,
                outcome: outcome.as_ref(),
                plaintext,
                // What the client got.
                served: served_instead.as_ref().map_or(&served, |(instead, _)| instead),
                errcode_instead: served_instead.as_ref().map(|(_, errcode)| *errcode),
                fault: rule,
                arrival,
                latency,
            };
            // The journal numbers the entry as it records it.
            let body_timed_out = request.body_timed_out_after(self.config.server.body_timeout_s);
            let exchange = journal_record(self.clock.now_ms(), body_timed_out, &exchanged, upstream, &self.journal);
            self.journal.record(Record::Exchange(exchange));
        }
        served
    }

    /// Records a request the HTTP layer ended before any request came of it (it did not parse, or its head came too
    /// slowly): counted, and journaled with what hyper answered (0: closed without one) and the bytes that arrived.
    pub fn record_http_error(&self, peer: IpAddr, error: HttpError, http_status: u16, raw: &[u8]) {
        self.metrics.http_error(error.kind);
        if self.journal.enabled() {
            let entry = JournalEntry::http_error(peer.to_string(), self.clock.now_ms(), error, http_status, raw);
            self.journal.record(Record::Entry(Arc::new(entry)));
        }
    }

    /// Answers one request now (no journal, no metrics: the pipeline alone).
    pub fn handle(&self, request: &Incoming<'_>) -> Outcome {
        self.handle_at(request, self.clock.now_ms())
    }

    /// Answers one request as of `now_ms`, its arrival on the mock clock.
    pub fn handle_at(&self, request: &Incoming<'_>, now_ms: u64) -> Outcome {
        self.handle_arrived(request, now_ms, &clock::wall_ms)
    }

    /// Answers one request as of its arrival: `now_ms` on the mock clock, `wall_ms` in real time (what
    /// `rules.timestamps_clock = "wall"` compares `timestamps` with, so that a fault's delay does not age them;
    /// read only then: it costs two clock reads).
    fn handle_arrived(&self, request: &Incoming<'_>, now_ms: u64, wall_ms: &dyn Fn() -> u64) -> Outcome {
        let mut outcome = Outcome {
            interface: None,
            code: StatusCode::Ok,
            body: Vec::new(),
            plaintext: None,
            sign_ok: None,
            refusal: None,
        };
        let tenants = self.tenants_at(now_ms);
        let reply = self.pipeline(&tenants, request, (now_ms, wall_ms), &mut outcome);
        let (code, body) = match reply {
            Ok(reply) => {
                if let Reply::LoginoutPartial { total, rejected } = &reply {
                    outcome.refusal = Some(Refusal::SomeRecords { total: *total, rejected: rejected.clone() });
                }
                render(reply)
            }
            Err(refusal) => {
                let code = refusal.code();
                outcome.refusal = Some(refusal);
                (code, to_json(&nppa_protocol::messages::Answer::<()>::status(code)))
            }
        };
        outcome.code = code;
        outcome.body = body;
        outcome
    }

    /// R-ORDER: the checks in the order the real system is taken to run them; the first failure answers.
    fn pipeline(
        &self,
        tenants: &Tenants,
        request: &Incoming<'_>,
        (now_ms, wall_ms): (u64, &dyn Fn() -> u64),
        outcome: &mut Outcome,
    ) -> Result<Reply, Refusal> {
        let (interface, environment) = route(request.path).ok_or(Refusal::UnknownPath)?; // 1002
        outcome.interface = Some(interface);
        method_allowed(interface, request.method)?; // 1003
        let params = system_params(request.headers)?; // 1004 (R-HDR-1)
        if self.config.rules.require_content_type && interface.method() == "POST" {
            content_type_sent(request.headers).ok_or(Refusal::ContentTypeMissing)?;
            // 1004 (R-HDR-1, an option: by default a POST without it is read)
        }
        let caller = match environment {
            // 1008, 1009, 1005 (R-IP-1), 1010 (R-ENT-1)
            Environment::Production => self.production_caller(tenants, &params, interface, request.peer)?,
            // the same, then 4002, 4003 (SPEC §8)
            Environment::Test { code } => self.test_caller(tenants, &params, interface, request.peer, code)?,
        };
        let timestamps_ms = self.timestamps_fresh(&params.timestamps, now_ms, wall_ms)?; // 1011 (R-HDR-2), 1007 (R-TS-1)
        let admitted = Admitted { interface, caller, timestamps_ms };
        self.within_quota(&admitted, now_ms)?; // 1006 (R-RL-1/2)
        let body = request.body.map_err(body_refusal)?; // 1001: body too large or cut short
        let query = query_params(request.query);
        let signature = signature_valid(&admitted.enterprise().keys, now_ms, &params, &query, body);
        outcome.sign_ok = Some(signature.is_ok());
        let key = signature?; // 1011 (R-SIG-1/2/3, R-KEY-1)
        let plaintext = match interface {
            Interface::Query => Plaintext::Query(query_ai(&query)?), // 1012
            Interface::Check | Interface::Loginout => {
                let bytes = open_envelope(key, body)?; // 1001, 1011 (R-ENC-1, R-SIG-3)
                let parsed = self.parse_plaintext(interface, &bytes); // 1001, 1012
                outcome.plaintext = Some(bytes);
                parsed?
            }
        };
        match admitted.caller {
            Caller::Production { binding, .. } => match plaintext {
                Plaintext::Check(check) => self.check(binding, &params.biz_id, check, now_ms).map(Reply::Auth),
                Plaintext::Query(ai) => self.query(binding, &params.biz_id, &ai, now_ms).map(Reply::Auth),
                Plaintext::Loginout(records) => self.loginout(admitted.timestamps_ms, &records),
            },
            Caller::Test { account, case, .. } => {
                self.test_answer(account, case, &params.sign, plaintext, admitted.timestamps_ms, now_ms)
            }
        }
    }

    /// A production caller: appId known and allowed on production (1008), enabled (1009), IP (1005), binding (1010).
    fn production_caller<'s>(
        &'s self,
        tenants: &'s Tenants,
        params: &SystemParams<'_>,
        interface: Interface,
        peer: IpAddr,
    ) -> Result<Caller<'s>, Refusal> {
        // Unknown appId, test credentials on production included.
        let Some((index, enterprise)) = tenants.enterprise(&params.app_id) else {
            let test_account = self.test_system.account(&params.app_id).is_some();
            return Err(if test_account { Refusal::TestAppIdOnProduction } else { Refusal::UnknownAppId });
        };
        if self.config.rules.require_test_pass && !self.test_system.production_unlocked(index) {
            // production before the 8 test cases (V2.1 FAQ 4, FAQ 24)
            return Err(Refusal::TestCasesNotPassed { passed: self.test_system.cases_passed(index) });
        }
        if !enterprise.enabled {
            return Err(Refusal::Disabled);
        }
        if !enterprise.allows_ip(peer) {
            return Err(Refusal::IpNotAllowed { peer, test_system: false });
        }
        let binding = binding_permits(tenants, index, &params.biz_id, interface).map_err(|refusal| match refusal {
            Refusal::UnknownBizId if self.test_system.is_test_biz_id(&params.biz_id) => Refusal::TestBizIdOnProduction,
            other => other,
        })?;
        Ok(Caller::Production { enterprise, binding })
    }

    /// A test-system caller: the same gates against the test account, then the test code (4002, 4003).
    fn test_caller<'s>(
        &'s self,
        tenants: &Tenants,
        params: &SystemParams<'_>,
        interface: Interface,
        peer: IpAddr,
        code: &str,
    ) -> Result<Caller<'s>, Refusal> {
        // Unknown appId, production credentials on the test system included.
        let Some((account, test)) = self.test_system.account(&params.app_id) else {
            let production = tenants.enterprise(&params.app_id).is_some();
            return Err(if production { Refusal::ProductionAppIdOnTest } else { Refusal::UnknownAppId });
        };
        // A disabled enterprise is disabled on the test system too, as the portal switches it now (our choice: the
        // seeds are silent; the test system serves the enterprise, FAQ 21, and R-ORDER puts 1009 before the rest).
        if !tenants.enterprises().get(test.production).is_some_and(|e| e.enabled) {
            return Err(Refusal::Disabled);
        }
        if !test.enterprise.allows_ip(peer) {
            return Err(Refusal::IpNotAllowed { peer, test_system: true }); // the test system's own whitelist
        }
        if *params.biz_id != *test.biz_id {
            // a production bizId on the test system
            return Err(Refusal::NotTestBizId { production: tenants.game(&params.biz_id).is_some() });
        }
        let case = self.test_system.case_for(account, code, interface).map_err(|error| match error {
            CodeError::OtherInterface { case } => Refusal::TestCodeOfOtherCase { case },
            CodeError::Unknown => Refusal::UnknownTestCode,
        })?;
        Ok(Caller::Test { account, enterprise: &test.enterprise, case })
    }

    /// The test system's answers (SPEC §8), and the case progress they make.
    fn test_answer(
        &self,
        account: usize,
        case: usize,
        sign: &str,
        plaintext: Plaintext,
        timestamps_ms: u64,
        now_ms: u64,
    ) -> Result<Reply, Refusal> {
        let reply = match plaintext {
            Plaintext::Check(check) => {
                self.validate_person(&check, now_ms)?;
                let result = self.test_system.check(&check);
                self.test_system.record(account, case, &TestAnswer::Auth(&result), sign);
                Reply::Auth(result)
            }
            Plaintext::Query(ai) => {
                let result = self.test_system.query(&ai).ok_or(Refusal::NotPresetAi)?;
                self.test_system.record(account, case, &TestAnswer::Auth(&result), sign);
                Reply::Auth(result)
            }
            Plaintext::Loginout(records) => {
                // Verified records must carry one of the test system's preset pis (3010 otherwise).
                let rejected =
                    behaviour::validate(&records, timestamps_ms, true, |pi| self.test_system.is_preset_pi(pi))
                        .map_err(Refusal::Batch)?;
                if !rejected.is_empty() {
                    return Ok(Reply::LoginoutPartial { total: records.len(), rejected });
                }
                self.test_system.record(account, case, &TestAnswer::LoginoutAccepted(&records), sign);
                Reply::LoginoutAccepted
            }
        };
        Ok(reply)
    }

    fn timestamps_fresh(&self, timestamps: &str, now_ms: u64, wall_ms: &dyn Fn() -> u64) -> Result<u64, Refusal> {
        let sent = timestamps::parse(timestamps).ok_or(Refusal::TimestampsNotNumber)?;
        let clock = self.config.rules.timestamps_clock;
        let server_ms = match clock {
            TimestampsClock::Mock => now_ms,
            TimestampsClock::Wall => wall_ms(),
        };
        let window_ms = self.config.rules.timestamp_window_ms;
        if !timestamps::is_fresh(sent, server_ms, window_ms) {
            return Err(Refusal::TimestampsOutsideWindow { sent_ms: sent, server_ms, window_ms, clock });
        }
        Ok(sent)
    }

    fn within_quota(&self, admitted: &Admitted<'_>, now_ms: u64) -> Result<(), Refusal> {
        // The test system has no quota (our choice: its traffic is a handful of requests).
        let Caller::Production { binding, .. } = admitted.caller else { return Ok(()) };
        let interface = admitted.interface;
        let index = interface.index();
        let Some(limit) = binding.limits[index] else { return Ok(()) };
        self.quotas.admit(binding.id, index, limit, now_ms).map_err(|refusal| match refusal {
            quota::Refusal::OverLimit { blocked_until_ms } => {
                Refusal::OverQuota { limit, interface, blocked_until_ms, now_ms }
            }
            quota::Refusal::Blocked { blocked_until_ms } => {
                Refusal::QuotaBlocked { interface, blocked_until_ms, now_ms }
            }
        })
    }

    fn parse_plaintext(&self, interface: Interface, bytes: &[u8]) -> Result<Plaintext, Refusal> {
        match interface {
            Interface::Check => {
                let check: CheckRequest =
                    json::from_bytes(bytes).map_err(|e| json_refusal::<CheckRequest>(&e, bytes))?;
                if !ai::is_valid(&check.ai) {
                    return Err(Refusal::AiLength { chars: check.ai.chars().count() });
                }
                if name::is_over_long(&check.name) {
                    return Err(Refusal::NameTooLong { chars: check.name.chars().count() });
                }
                Ok(Plaintext::Check(check))
            }
            Interface::Loginout => {
                let report: LoginoutRequest =
                    json::from_bytes(bytes).map_err(|e| json_refusal::<LoginoutRequest>(&e, bytes))?;
                let code =
                    StatusCode::from_code(self.config.rules.missing_collections_code).unwrap_or(StatusCode::SysError);
                report.collections.map(Plaintext::Loginout).ok_or(Refusal::NoCollections { code })
            }
            Interface::Query => Err(Refusal::PlaintextNotJson),
        }
    }

    /// The ai's key in the record store (R-CHK-3: global namespace by default).
    pub(crate) fn record_key<'a>(&self, biz_id: &str, ai: &'a str) -> Cow<'a, str> {
        match self.config.rules.ai_namespace {
            AiNamespace::Global => Cow::Borrowed(ai),
            AiNamespace::PerGame => Cow::Owned(format!("{biz_id}\u{0}{ai}")),
        }
    }

    /// Real-name check (R-ID, R-NAME, R-CHK-1/2/3, R-PEND-1/2).
    fn check(&self, binding: &Binding, biz_id: &str, check: CheckRequest, now_ms: u64) -> Result<AuthResult, Refusal> {
        let born = self.validate_person(&check, now_ms)?;
        let key = self.record_key(biz_id, &check.ai);
        if self.store.is_live(&key, now_ms) {
            return Err(Refusal::AiInUse);
        }
        let rules = &self.config.rules;
        let verdict = self.identities.verdict(&check.name, &check.id_num);
        let outage = rules.mps_outage && beijing::in_mps_outage(now_ms);
        // R-PEND-2: in the outage, results that would come at once pend until 04:00 (choice: all of them).
        let (resolves_at_ms, then_success) = match verdict {
            Verdict::Pending { delay_ms, then_success } => {
                let at = now_ms.saturating_add(delay_ms);
                (if outage { at.max(beijing::outage_end_ms(now_ms)) } else { at }, then_success)
            }
            Verdict::Success if outage && rules.outage_every_check_pends => (beijing::outage_end_ms(now_ms), true),
            Verdict::Failure if outage && rules.outage_every_check_pends => (beijing::outage_end_ms(now_ms), false),
            Verdict::Success => return Ok(self.success(&check.id_num, born)),
            Verdict::Failure => return Ok(AuthResult { status: AuthStatus::Failure, pi: None }),
        };
        let record = PendingRecord {
            resolves_at_ms,
            deadline_ms: now_ms.saturating_add(rules.pending_ttl_s.saturating_mul(1000)),
            then_success,
            // R-ID passed, so the idNum packs; the pi is derived again when a query asks for it.
            id_num: idnum::pack(&check.id_num).ok_or(Refusal::IdNum(IdNumError::NotDigits))?,
            game: binding.game,
            owner: binding.enterprise,
        };
        let cap = rules.live_record_cap;
        self.store.insert_pending(&key, now_ms, cap, record).map_err(|code| match code {
            StatusCode::ResourceLimit => Refusal::RecordCap { cap },
            _ => Refusal::AiInUse,
        })?;
        Ok(AuthResult { status: AuthStatus::Pending, pi: None })
    }

    fn success(&self, id_num: &str, born: chrono::NaiveDate) -> AuthResult {
        AuthResult { status: AuthStatus::Success, pi: Some(self.issue_pi(id_num, born)) }
    }

    fn issue_pi(&self, id_num: &str, born: chrono::NaiveDate) -> String {
        let pi = self.identities.pi(id_num, born);
        if self.config.rules.strict_pi {
            self.issued_pis.insert(pi.clone());
        }
        pi
    }

    /// Result query (R-QRY-1/2/3).
    fn query(&self, binding: &Binding, biz_id: &str, ai: &str, now_ms: u64) -> Result<AuthResult, Refusal> {
        let key = self.record_key(biz_id, ai);
        let delete_after_ms = self.config.rules.query_delete_after_s.saturating_mul(1000);
        // R-QRY-5: a record answers the enterprise that submitted its check (a channel of the same game counts as
        // another enterprise: our choice).
        let Some(found) = self.store.query(&key, binding.enterprise, now_ms, delete_after_ms) else {
            let other_owner = self.store.is_live(&key, now_ms);
            return Err(if other_owner { Refusal::NotOwner } else { Refusal::NoRecord });
        };
        let Some(id_num) = found.id_num.map(idnum::unpack) else {
            return Ok(AuthResult { status: found.status, pi: None });
        };
        let born = idnum::birth_date(&id_num).ok_or(Refusal::IdNum(IdNumError::BadDate))?;
        Ok(self.success(&id_num, born))
    }

    /// R-ID (2001) then R-NAME (2005); the birth date on success.
    fn validate_person(&self, check: &CheckRequest, now_ms: u64) -> Result<chrono::NaiveDate, Refusal> {
        let born = idnum::validate(&check.id_num, beijing::date(now_ms)).map_err(Refusal::IdNum)?;
        let rule = self.config.rules.name_rule;
        if !name::is_valid(&check.name, rule) {
            return Err(Refusal::Name { rule });
        }
        Ok(born)
    }

    /// What only the configured keys tell of a request forwarded upstream, for its journal entry: its plaintext, and
    /// whether its sign verifies with a key its appId's enterprise holds now. It decides nothing: the upstream answers.
    pub fn read_forwarded(&self, request: &Incoming<'_>, now_ms: u64) -> (Option<Vec<u8>>, Option<bool>) {
        (self.peek_plaintext(request, now_ms), self.forwarded_sign_ok(request, now_ms))
    }

    fn forwarded_sign_ok(&self, request: &Incoming<'_>, now_ms: u64) -> Option<bool> {
        let params = system_params(request.headers).ok()?;
        let body = request.body.ok()?;
        let tenants = self.tenants_at(now_ms);
        let keys = match tenants.enterprise(&params.app_id) {
            Some((_, enterprise)) => &enterprise.keys,
            None => &self.test_system.account(&params.app_id)?.1.enterprise.keys,
        };
        Some(signature_valid(keys, now_ms, &params, &query_params(request.query), body).is_ok())
    }

    /// The plaintext of a POST that was answered before its body was opened (an earlier gate, a fault): opened
    /// with any key the enterprise its appId names has had, so that the journal shows what the client sent.
    fn peek_plaintext(&self, request: &Incoming<'_>, now_ms: u64) -> Option<Vec<u8>> {
        let body = request.body.ok().filter(|b| !b.is_empty())?;
        let app_id = request.headers.get(header_names::APP_ID)?.to_str().ok()?;
        let open = |keys: &crate::keys::KeyRing| keys.all().find_map(|key| open_envelope(key, body).ok());
        let tenants = self.tenants_at(now_ms);
        match tenants.enterprise(app_id) {
            Some((_, enterprise)) => open(&enterprise.keys),
            None => open(&self.test_system.account(app_id)?.1.enterprise.keys),
        }
    }

    /// Behaviour report (R-BEH-1, R-BEH-TIME, R-BEH-2).
    fn loginout(&self, timestamps_ms: u64, records: &[BehaviourRecord]) -> Result<Reply, Refusal> {
        let strict = self.config.rules.strict_pi;
        let rejected = behaviour::validate(records, timestamps_ms, strict, |pi| self.issued_pis.contains(pi))
            .map_err(Refusal::Batch)?;
        Ok(if rejected.is_empty() {
            Reply::LoginoutAccepted
        } else {
            Reply::LoginoutPartial { total: records.len(), rejected }
        })
    }
}

/// What happened to one request, for its journal entry.
struct Exchanged<'a> {
    request: &'a Incoming<'a>,
    /// The pipeline's outcome, unless a fault answered instead (reset, HTTP status).
    outcome: Option<&'a Outcome>,
    /// The decrypted body, whoever answered.
    plaintext: Option<&'a [u8]>,
    served: &'a Served,
    /// With `shadow_serve = "upstream"`: the errcode of the upstream's answer, which the client got instead.
    errcode_instead: Option<Option<u16>>,
    fault: Option<&'a FaultRule>,
    arrival: &'a Arrival,
    latency: Duration,
}

/// A `vary` fault's answer: the changes that fit the one the pipeline gave.
fn vary_answer(changes: Changes, outcome: &Outcome) -> variation::Varied {
    // The `no` of each record of a report, for a 3001 that lists them all.
    let numbers: Vec<i64> = match (changes.contains(variation::Change::EveryRecordRejected), &outcome.plaintext) {
        (true, Some(plaintext)) => serde_json::from_slice::<LoginoutRequest>(plaintext)
            .ok()
            .and_then(|r| r.collections)
            .map(|records| records.iter().map(|r| r.no).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    variation::vary(changes, outcome.interface, &outcome.body, &numbers)
}

/// The journal's record of one exchange: the bytes copied as they are, typed values as they are; the journal
/// renders text only when it is read.
fn journal_record(
    time_ms: u64,
    body_timed_out: Option<f64>,
    exchanged: &Exchanged<'_>,
    upstream: Option<UpstreamExchange>,
    journal: &Journal,
) -> journal::Exchange {
    let request = exchanged.request;
    let outcome = exchanged.outcome;
    let bytes = journal.keep_bytes(&ExchangeParts {
        method: request.method,
        path: request.path,
        query: request.query,
        authority: request.authority,
        headers: request.headers,
        body: request.body.ok(),
        plaintext: exchanged.plaintext,
        answer: &exchanged.served.body,
    });
    // The mock's refusal explains its own answer: none when the client got the upstream's instead.
    let refusal = outcome.and_then(|o| o.refusal.as_ref()).filter(|_| exchanged.errcode_instead.is_none());
    let unusual = Unusual::of(exchanged.fault.map(FaultRule::note), refusal, body_timed_out, upstream);
    journal::Exchange {
        arrived_ms: exchanged.arrival.arrived_ms,
        time_ms,
        latency_us: exchanged.latency.as_micros() as u64,
        peer: request.peer,
        scheme: exchanged.arrival.scheme,
        // The pipeline's route when it ran; the path's when a fault answered instead.
        interface: outcome.map_or_else(|| route_interface(request.path), |o| o.interface),
        sign_ok: outcome.and_then(|o| o.sign_ok),
        http_status: exchanged.served.http_status,
        errcode: exchanged.errcode_instead.unwrap_or_else(|| outcome.map(|o| o.code.code())),
        connection_reset: exchanged.served.reset,
        unusual,
        bytes,
    }
}

/// The interface a production or test path names.
pub fn route_interface(path: &str) -> Option<Interface> {
    route(path).map(|(interface, _)| interface)
}

/// R-ENT-1: the binding of this enterprise to the game, holding the interface's permission (1010 otherwise).
fn binding_permits<'t>(
    tenants: &'t Tenants,
    enterprise_index: usize,
    biz_id: &str,
    interface: Interface,
) -> Result<&'t Binding, Refusal> {
    let (_, game) = tenants.game(biz_id).ok_or(Refusal::UnknownBizId)?;
    let binding = tenants.binding(enterprise_index, game).ok_or(Refusal::NotBound)?;
    if !binding.permits(interface) {
        return Err(Refusal::NoPermission { interface });
    }
    Ok(binding)
}

fn route(path: &str) -> Option<(Interface, Environment<'_>)> {
    if let Some(interface) = Interface::from_production_path(path) {
        return Some((interface, Environment::Production));
    }
    let (interface, code) = Interface::from_test_path(path)?;
    Some((interface, Environment::Test { code }))
}

fn method_allowed(interface: Interface, method: &str) -> Result<(), Refusal> {
    if method == interface.method() {
        Ok(())
    } else {
        Err(Refusal::WrongMethod { interface })
    }
}

fn system_params(headers: &HeaderMap) -> Result<SystemParams<'_>, Refusal> {
    // One walk over the headers (a request has about eight) rather than four hashed lookups; the first value of a
    // name, as `HeaderMap::get` gives it.
    let [mut app_id, mut biz_id, mut timestamps, mut sign] = [None; 4];
    for (name, value) in headers {
        let slot = if *name == header_names::APP_ID {
            &mut app_id
        } else if *name == header_names::BIZ_ID {
            &mut biz_id
        } else if *name == header_names::TIMESTAMPS {
            &mut timestamps
        } else if *name == header_names::SIGN {
            &mut sign
        } else {
            continue;
        };
        slot.get_or_insert(value);
    }
    fn read<'a>(value: Option<&'a HeaderValue>, header: &'static str) -> Result<Cow<'a, str>, Refusal> {
        // Visible ASCII borrows as it is; anything else is read lossily (and will not verify).
        let value = value.map(|v| v.to_str().map_or_else(|_| String::from_utf8_lossy(v.as_bytes()), Cow::Borrowed));
        value.filter(|v| !v.is_empty()).ok_or(Refusal::HeaderMissing { header })
    }
    Ok(SystemParams {
        app_id: read(app_id, "appId")?,
        biz_id: read(biz_id, "bizId")?,
        timestamps: read(timestamps, "timestamps")?,
        sign: read(sign, "sign")?,
    })
}

/// R-HDR-1 with `rules.require_content_type`: a POST names its `Content-Type` (any value: the body is read as JSON
/// whatever it says, and the journal keeps what was sent).
fn content_type_sent(headers: &HeaderMap) -> Option<()> {
    headers.get(hyper::header::CONTENT_TYPE).filter(|value| !value.is_empty()).map(|_| ())
}

/// 1001 for a body that could not be read, saying why.
fn body_refusal(error: BodyError) -> Refusal {
    match error {
        BodyError::TooLarge => Refusal::BodyTooLarge,
        BodyError::Incomplete => Refusal::BodyCut,
        BodyError::TimedOut => Refusal::BodyTimedOut,
    }
}

fn query_params(query: Option<&str>) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    query.map(|q| form_urlencoded::parse(q.as_bytes()).collect()).unwrap_or_default()
}

fn query_ai(query: &[(Cow<'_, str>, Cow<'_, str>)]) -> Result<String, Refusal> {
    let ai = query.iter().find(|(k, _)| k == "ai").map(|(_, v)| v.to_string()).ok_or(Refusal::QueryWithoutAi)?;
    if ai::is_valid(&ai) {
        Ok(ai)
    } else {
        Err(Refusal::AiLength { chars: ai.chars().count() })
    }
}

/// R-SIG-1/2/3, R-HDR-2 and R-KEY-1: the sign over the system parameters, query parameters and raw body,
/// by one of the keys valid now; that key opens the body.
fn signature_valid<'k>(
    keys: &'k KeyRing,
    now_ms: u64,
    params: &SystemParams<'_>,
    query: &[(Cow<'_, str>, Cow<'_, str>)],
    body: &[u8],
) -> Result<&'k SecretKey, Refusal> {
    if !sign::is_well_formed(&params.sign) {
        return Err(Refusal::SignMalformed { chars: params.sign.chars().count() });
    }
    // On the stack: the three system parameters and a query's one (`ai`).
    let mut signed: SmallVec<[(&str, &str); 4]> =
        smallvec![("appId", &*params.app_id), ("bizId", &*params.biz_id), ("timestamps", &*params.timestamps)];
    signed.extend(query.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    // Upper-case hex is well-formed (R-HDR-2) but never matches: no key verifies it.
    let sent = sign::decode(&params.sign);
    let verifies = |key: &&SecretKey| sent.is_some_and(|sent| sign::verify_decoded(key.as_hex(), &signed, body, &sent));
    if let Some(key) = keys.valid_at(now_ms).find(verifies) {
        return Ok(key);
    }
    // Refused: was it a key of this enterprise that is not valid now, or no key at all?
    if keys.all().any(|key| verifies(&key)) {
        return Err(Refusal::KeyOutsideValidity);
    }
    let with_ai = query.iter().any(|(k, _)| k == "ai");
    Err(Refusal::SignMismatch {
        signed: if with_ai { "ai, appId, bizId, timestamps" } else { "appId, bizId, timestamps" },
    })
}

/// R-ENC-1: `{"data":"…"}` (1001 when not), then AES-128-GCM (1011 when it does not decrypt).
fn open_envelope(key: &SecretKey, body: &[u8]) -> Result<Vec<u8>, Refusal> {
    let data = envelope::data_of(body).ok_or(Refusal::NotEnvelope)?;
    key.open(&data).map_err(Refusal::NotSealed)
}

/// Not JSON → 1001; JSON of the wrong shape → 1012, naming the field (parsed again, on this refusal only, to find
/// its path).
fn json_refusal<T: serde::de::DeserializeOwned>(error: &serde_json::Error, bytes: &[u8]) -> Refusal {
    if error.classify() != serde_json::error::Category::Data {
        return Refusal::PlaintextNotJson;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let detail = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(error) if error.path().iter().next().is_some() => {
            format!("`{}`: {}", error.path(), strip_position(&error.inner().to_string()))
        }
        _ => strip_position(&error.to_string()).to_owned(),
    };
    Refusal::Shape { detail }
}

/// serde_json's message without its " at line 1 column 40".
fn strip_position(message: &str) -> &str {
    message.rfind(" at line ").map_or(message, |at| &message[..at])
}

fn render(reply: Reply) -> (StatusCode, Vec<u8>) {
    use nppa_protocol::messages::{Answer, LoginoutResults};
    match reply {
        Reply::Auth(result) => (StatusCode::Ok, nppa_protocol::messages::auth_answer_json(&result)),
        // SPEC §3: loginout success answers with `data` as the empty string, as the V2.1 example does.
        Reply::LoginoutAccepted => (StatusCode::Ok, to_json(&Answer::with_data(StatusCode::Ok, ""))),
        Reply::LoginoutPartial { rejected, .. } => (
            StatusCode::PartialError,
            to_json(&Answer::with_data(StatusCode::PartialError, LoginoutResults { results: rejected })),
        ),
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Our own answer types always serialise.
    serde_json::to_vec(value).unwrap_or_else(|_| br#"{"errcode":1001,"errmsg":"SYS ERROR"}"#.to_vec())
}
