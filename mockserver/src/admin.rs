//! The admin API, on the same port as the protocol: `/__admin/…`, loopback peers only by default.
//!
//! Contract (external tools rely on these paths and shapes):
//! - `GET  /__admin/clock`  → `{"now_ms": T, …}`
//! - `POST /__admin/clock`  with `{"advance_ms": N}` or `{"set_ms": T}` (optionally `"freeze": true|false`);
//!   the clock keeps ticking from the new value unless frozen
//! - `POST /__admin/reset`  drops all protocol state
//! - `GET  /__admin/stats`  live records, quota blocks
//! - `GET  /__admin/quotas`  each (appId, bizId, interface): requests this second, its limit, a block's end
//! - `GET  /__admin/records`  live records per game; `GET /__admin/records/{ai}` an ai's records and their times
//!   ([`crate::records`], read-only)
//! - `GET  /__admin/journal?interface=&errcode=&since=&after_id=&limit=`, `DELETE /__admin/journal`,
//!   `GET /__admin/journal/stream` (JSONL, or SSE with `Accept: text/event-stream`),
//!   `GET /__admin/journal/{id}/sign`: why that request's sign is wrong ([`crate::sign_diagnosis`]; keys as for
//!   enterprises)
//! - `GET  /__admin/enterprises`, `POST /__admin/enterprises/{appId}` (`enabled`, `ip_whitelist`),
//!   `POST /__admin/enterprises/{appId}/keys` (`refresh`, `invalidate`, `add`): the portal's settings (R-IP-1, R-KEY-1);
//!   secretKeys redacted unless the token or `?reveal=keys` from loopback (`Admission::secret_keys`)
//! - `GET/POST/DELETE /__admin/faults`, `DELETE /__admin/faults/{id}`; `POST /__admin/scenarios/mps-outage`,
//!   `POST /__admin/scenarios/pending-ratio`
//! - `GET  /__admin/console` (and its files below it): the live web console, [`crate::console`]
//! - `GET  /__admin/testsystem`  test credentials (keys as for enterprises), codes and each case's state;
//!   `POST /__admin/testsystem/reset`

use std::net::IpAddr;

use serde::Serialize;

use crate::admin_api::{
    AdminError, ClockChange, ClockState, EnterpriseChange, EnterpriseList, EnterpriseView, FaultsAdded, JournalCleared,
    JournalPage, KeyAction, OutageScenario, OutageStarted, PendingRatioSet, PendingScenario, QuotaCell, QuotaState,
    ResetDone, RevealQuery, SecretKeys, Stats,
};
use crate::admin_guard::Admission;

use crate::faults::{FaultAction, FaultRequest, FaultRule};
use crate::journal::{JournalQuery, Subscription};
use crate::keys::KeySpec;
use crate::service::MockService;
use nppa_protocol::{beijing, Interface, StatusCode};

/// Path prefix of every admin route.
pub const PREFIX: &str = "/__admin/";

/// An admin answer: HTTP status and JSON body, or a live journal stream.
#[derive(Debug)]
pub enum AdminAnswer {
    Json {
        status: u16,
        body: Vec<u8>,
    },
    /// `GET /__admin/journal/stream`: one JSON entry per line (or per SSE event) as requests arrive.
    Stream {
        entries: Subscription,
        sse: bool,
    },
    /// A file of the console, served with its content type and `console::CONTENT_SECURITY_POLICY`.
    Page(crate::console::Asset),
}

fn answer(status: u16, value: &impl Serialize) -> AdminAnswer {
    // Our answer types always serialise.
    AdminAnswer::Json { status, body: serde_json::to_vec(value).unwrap_or_default() }
}

fn ok(value: &impl Serialize) -> AdminAnswer {
    answer(200, value)
}

fn error(status: u16, message: impl std::fmt::Display) -> AdminAnswer {
    answer(status, &AdminError { error: message.to_string() })
}

/// Answers an admin request, once `admin_guard` lets it in. `query` is the URL query string.
pub fn handle(
    service: &MockService,
    peer: IpAddr,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> AdminAnswer {
    let admission = match crate::admin_guard::admit(&service.config().server, peer, method, headers, body) {
        Ok(admission) => admission,
        Err(refused) => return error(refused.status, refused.reason),
    };
    let accept = headers.get(hyper::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let path = path.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix("/__admin/enterprises") {
        return match secret_keys(admission, query) {
            Ok(shown) => enterprises(service, method, rest, body, shown),
            Err(refusal) => refusal,
        };
    }
    if matches!(path, "/__admin/testsystem" | "/__admin/testsystem/reset") {
        return match secret_keys(admission, query) {
            Ok(shown) => test_system(service, method, path, shown),
            Err(refusal) => refusal,
        };
    }
    if let Some(id) = path.strip_prefix("/__admin/journal/").and_then(|rest| rest.strip_suffix("/sign")) {
        return match secret_keys(admission, query) {
            Ok(shown) => sign_diagnosis(service, method, id, shown),
            Err(refusal) => refusal,
        };
    }
    if let Some(rest) = path.strip_prefix(crate::console::PATH) {
        return console(method, path, rest);
    }
    if let Some(rest) = path.strip_prefix("/__admin/records") {
        return records(service, method, path, rest);
    }
    if let Some(rest) = path.strip_prefix("/__admin/faults") {
        return faults(service, method, rest, body);
    }
    if let Some(rest) = path.strip_prefix("/__admin/scenarios/") {
        return scenario(service, method, rest, body);
    }
    match (method, path) {
        ("GET", "/__admin/clock") => clock_state(service),
        ("POST", "/__admin/clock") => change_clock(service, body),
        ("POST", "/__admin/reset") => {
            service.reset();
            ok(&ResetDone { reset: true, now_ms: service.clock().now_ms() })
        }
        ("GET", "/__admin/journal") => journal(service, query),
        ("DELETE", "/__admin/journal") => {
            service.journal().clear();
            ok(&JournalCleared { cleared: true, stats: service.journal().stats() })
        }
        ("GET", "/__admin/journal/stream") => {
            let sse = accept.contains("text/event-stream") || query.is_some_and(|q| q.contains("format=sse"));
            AdminAnswer::Stream { entries: service.journal().subscribe(), sse }
        }
        ("GET", "/__admin/quotas") => ok(&quota_state(service)),
        ("GET", "/__admin/stats") => ok(&Stats {
            now_ms: service.clock().now_ms(),
            live_records: service.store().live(),
            quota_blocks_started: service.quotas().blocks_started(),
        }),
        (
            _,
            "/__admin/clock"
            | "/__admin/reset"
            | "/__admin/stats"
            | "/__admin/quotas"
            | "/__admin/journal"
            | "/__admin/journal/stream",
        ) => error(405, format!("{method} is not allowed on {path}")),
        _ => error(404, format!("no admin route {path}; see README.md, section \"Admin API\"")),
    }
}

/// Whether this request's answer shows secretKeys (400 for a query other than `?reveal=keys`).
fn secret_keys(admission: Admission, query: Option<&str>) -> Result<SecretKeys, AdminAnswer> {
    RevealQuery::parse(query).map(|reveal| admission.secret_keys(reveal)).map_err(|reason| error(400, reason))
}

/// `GET /__admin/journal/{id}/sign`.
fn sign_diagnosis(service: &MockService, method: &str, id: &str, shown: SecretKeys) -> AdminAnswer {
    if method != "GET" {
        return error(405, format!("{method} is not allowed on /__admin/journal/{id}/sign"));
    }
    let Ok(id) = id.parse::<u64>() else { return error(404, format!("no journal entry {id:?}: ids are numbers")) };
    match crate::sign_diagnosis::diagnose(service, id, shown) {
        Ok(view) => ok(&view),
        Err(no) => error(no.status, no.reason),
    }
}

/// `/__admin/records…`: live records per game, or one ai's (its path segment percent-decoded).
fn records(service: &MockService, method: &str, path: &str, rest: &str) -> AdminAnswer {
    let ai = match rest.strip_prefix('/') {
        None if rest.is_empty() => None,
        Some(encoded) if !encoded.is_empty() && !encoded.contains('/') => {
            match percent_encoding::percent_decode_str(encoded).decode_utf8() {
                Ok(ai) => Some(ai),
                Err(_) => return error(400, format!("{path}: the ai is not UTF-8 once percent-decoded")),
            }
        }
        _ => {
            return error(
                404,
                format!("no admin route {path}; records are at /__admin/records and /__admin/records/{{ai}}"),
            )
        }
    };
    match (method, ai) {
        ("GET", None) => ok(&crate::records::per_game(service)),
        ("GET", Some(ai)) => ok(&crate::records::of_ai(service, &ai)),
        _ => error(405, format!("{method} is not allowed on {path}")),
    }
}

/// `/__admin/console…`: the console's page, its files and the codes it labels answers with.
fn console(method: &str, path: &str, rest: &str) -> AdminAnswer {
    use crate::console::ConsoleFile;
    match (method, crate::console::file(rest)) {
        ("GET" | "HEAD", Some(ConsoleFile::Asset(asset))) => AdminAnswer::Page(asset),
        ("GET" | "HEAD", Some(ConsoleFile::Codes)) => ok(&crate::console::codes()),
        ("GET" | "HEAD", Some(ConsoleFile::FaultForm)) => ok(&crate::faults::describe()),
        (_, Some(_)) => error(405, format!("{method} is not allowed on {path}")),
        (_, None) => error(404, format!("the console has no file {path}; open {}", crate::console::PATH)),
    }
}

/// `/__admin/testsystem…`: the test accounts and their cases (SPEC §8).
fn test_system(service: &MockService, method: &str, path: &str, shown: SecretKeys) -> AdminAnswer {
    // The exchange that passed a case: the first journal entry with its sign.
    let exchange = |sign: &str| {
        let query = JournalQuery { sign: Some(sign.to_owned()), limit: Some(1), ..JournalQuery::default() };
        service.journal().query(&query).first().map(|entry| entry.id)
    };
    match (method, path) {
        ("GET", "/__admin/testsystem") => ok(&service.test_system().state(shown, exchange)),
        ("POST", "/__admin/testsystem/reset") => {
            service.test_system().reset();
            ok(&service.test_system().state(shown, exchange))
        }
        _ => error(405, format!("{method} is not allowed on {path}")),
    }
}

/// `/__admin/enterprises…`: the portal's enterprise settings (R-IP-1, R-KEY-1), changed at run time.
fn enterprises(service: &MockService, method: &str, rest: &str, body: &[u8], shown: SecretKeys) -> AdminAnswer {
    let now_ms = service.clock().now_ms();
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        ("GET", []) => ok(&enterprise_list(service, shown)),
        ("POST", [app_id]) => {
            let change: EnterpriseChange = match serde_json::from_slice(body) {
                Ok(change) => change,
                Err(e) => return error(400, format!("expected {{\"enabled\": bool, \"ip_whitelist\": [\"addr or CIDR\"]}}: {e}")),
            };
            let result = service.update_enterprise(app_id, |enterprise| {
                if let Some(enabled) = change.enabled {
                    enterprise.enabled = enabled;
                }
                match &change.ip_whitelist {
                    Some(list) => enterprise.set_whitelist(list).map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            });
            changed(service, app_id, result, shown)
        }
        ("POST", [app_id, "keys"]) => {
            let action: KeyAction = match serde_json::from_slice(body) {
                Ok(action) => action,
                Err(e) => return error(400, format!("expected {{\"action\": \"refresh\"}}, {{\"action\": \"invalidate\", \"secret_key\": …}} or {{\"action\": \"add\", \"secret_key\": …, \"valid_from_ms\": …, \"valid_until_ms\": …}}: {e}")),
            };
            let result = service.update_enterprise(app_id, |enterprise| match &action {
                KeyAction::Refresh => {
                    enterprise.keys.refresh(now_ms);
                    Ok(())
                }
                KeyAction::Invalidate { secret_key } => {
                    if enterprise.keys.invalidate(secret_key, now_ms) {
                        Ok(())
                    } else {
                        Err(format!("{app_id} has no key {secret_key}"))
                    }
                }
                KeyAction::Add { secret_key, valid_from_ms, valid_until_ms } => {
                    let key = nppa_protocol::SecretKey::from_hex(secret_key).map_err(|e| e.to_string())?;
                    let valid_from_ms = valid_from_ms.unwrap_or(now_ms);
                    enterprise.keys.add(KeySpec { key, valid_from_ms, valid_until_ms: *valid_until_ms });
                    Ok(())
                }
            });
            changed(service, app_id, result, shown)
        }
        _ => error(404, "enterprise routes: GET /__admin/enterprises, POST /__admin/enterprises/{appId}, POST /__admin/enterprises/{appId}/keys"),
    }
}

fn changed(service: &MockService, app_id: &str, result: Option<Result<(), String>>, shown: SecretKeys) -> AdminAnswer {
    match result {
        None => error(404, format!("no enterprise has appId {app_id}")),
        Some(Err(reason)) => error(400, reason),
        Some(Ok(())) => ok(&enterprise_list(service, shown)),
    }
}

fn enterprise_list(service: &MockService, shown: SecretKeys) -> EnterpriseList {
    let now_ms = service.clock().now_ms();
    let tenants = service.tenants();
    let enterprises = tenants
        .enterprises()
        .iter()
        .map(|e| EnterpriseView {
            app_id: e.app_id.clone(),
            name: e.name.clone(),
            enabled: e.enabled,
            ip_whitelist: e.whitelist(),
            keys: e.keys.view(now_ms, shown),
        })
        .collect();
    EnterpriseList { now_ms, secret_keys: shown, enterprises }
}

/// `/__admin/faults…`: add, list and remove fault rules.
fn faults(service: &MockService, method: &str, rest: &str, body: &[u8]) -> AdminAnswer {
    let faults = service.faults();
    match (method, rest.trim_start_matches('/')) {
        ("GET", "") => ok(&faults.list()),
        ("POST", "") => {
            let request: FaultRequest = match serde_json::from_slice(body) {
                Ok(request) => request,
                Err(e) => {
                    return error(
                        400,
                        format!(
                            "expected a fault rule or {{\"seed\": N, \"rules\": [...]}} (see docs/admin-api.md): {e}"
                        ),
                    )
                }
            };
            match faults.add(request) {
                Ok(added) => ok(&FaultsAdded { added, faults: faults.list() }),
                Err(reason) => error(400, reason),
            }
        }
        ("DELETE", "") => {
            faults.clear();
            ok(&faults.list())
        }
        ("DELETE", id) => match id.parse::<u64>() {
            Ok(id) if faults.remove(id) => ok(&faults.list()),
            _ => error(404, format!("no fault rule {id}")),
        },
        _ => error(405, format!("{method} is not allowed on /__admin/faults{rest}")),
    }
}

/// `/__admin/scenarios/…`: switches that stage a situation (SPEC §9).
fn scenario(service: &MockService, method: &str, name: &str, body: &[u8]) -> AdminAnswer {
    if method != "POST" {
        return error(405, "scenarios are switched with POST");
    }
    match name {
        // The Ministry of Public Security is unreachable: checks answer 2007 for a span of the mock clock.
        "mps-outage" => {
            let Ok(outage) = serde_json::from_slice::<OutageScenario>(body) else {
                return error(400, "expected {\"duration_ms\": N}");
            };
            let now_ms = service.clock().now_ms();
            let rule = FaultRule {
                interface: Some(Interface::Check),
                from_ms: Some(now_ms),
                until_ms: Some(now_ms.saturating_add(outage.duration_ms)),
                action: Some(FaultAction::Status { errcode: StatusCode::RemoteStateError }),
                ..FaultRule::default()
            };
            match service.faults().add(FaultRequest::One(rule)) {
                Ok(added) => ok(&OutageStarted { added }),
                Err(reason) => error(400, reason),
            }
        }
        // Hot/cold data: the share of unknown people whose check pends (FAQ 137, 165).
        "pending-ratio" => {
            let Ok(pending) = serde_json::from_slice::<PendingScenario>(body) else {
                return error(400, "expected {\"fraction\": F}");
            };
            match service.identities().set_pending_fraction(pending.fraction) {
                Ok(()) => ok(&PendingRatioSet { pending_fraction: pending.fraction }),
                Err(reason) => error(400, reason),
            }
        }
        _ => error(404, format!("no scenario {name}; there are mps-outage and pending-ratio")),
    }
}

fn journal(service: &MockService, query: Option<&str>) -> AdminAnswer {
    let filter: JournalQuery = match serde_urlencoded::from_str(query.unwrap_or("")) {
        Ok(filter) => filter,
        Err(e) => {
            return error(
                400,
                format!("journal filters are interface, errcode, since (mock ms), after_id, sign, limit: {e}"),
            )
        }
    };
    let entries = service.journal().query(&filter);
    ok(&JournalPage { entries, stats: service.journal().stats() })
}

/// `GET /__admin/quotas`: every binding's three interfaces, read at the mock clock's now.
fn quota_state(service: &MockService) -> QuotaState {
    let now_ms = service.clock().now_ms();
    let tenants = service.tenants();
    let enterprises = tenants.enterprises();
    let games = tenants.games();
    let mut cells = Vec::new();
    for binding in tenants.bindings() {
        let (Some(enterprise), Some(game)) = (enterprises.get(binding.enterprise), games.get(binding.game)) else {
            continue;
        };
        for interface in Interface::ALL {
            let state = service.quotas().peek(binding.id, interface.index(), now_ms);
            cells.push(QuotaCell {
                app_id: enterprise.app_id.clone(),
                biz_id: game.biz_id.clone(),
                interface,
                limit: binding.limits[interface.index()],
                count: state.count,
                blocked_until_ms: state.blocked_until_ms,
                block_remaining_ms: state.blocked_until_ms.map(|until| until - now_ms),
            });
        }
    }
    QuotaState { now_ms, frozen: service.clock().is_frozen(), cells }
}

fn clock_state(service: &MockService) -> AdminAnswer {
    let clock = service.clock();
    let now_ms = clock.now_ms();
    ok(&ClockState {
        now_ms,
        beijing: beijing::rfc3339(now_ms),
        frozen: clock.is_frozen(),
        offset_from_wall_ms: clock.offset_from_wall_ms(),
        in_mps_outage: beijing::in_mps_outage(now_ms),
    })
}

fn change_clock(service: &MockService, body: &[u8]) -> AdminAnswer {
    let change: ClockChange = match serde_json::from_slice(body) {
        Ok(change) => change,
        Err(e) => {
            return error(
                400,
                format!(
                    "expected {{\"advance_ms\": N}} or {{\"set_ms\": T}}, optionally with \"freeze\": true|false: {e}"
                ),
            )
        }
    };
    let clock = service.clock();
    // The clock holds Unix milliseconds 0..=i64::MAX; a change that would leave them is refused, not wrapped.
    const LATEST_MS: u64 = i64::MAX as u64;
    let out_of_range = |what: &str| {
        error(
            400,
            format!("{what} would take the mock clock outside Unix milliseconds 0..={LATEST_MS}; nothing changed"),
        )
    };
    match (change.advance_ms, change.set_ms) {
        (Some(_), Some(_)) => return error(400, "give advance_ms or set_ms, not both"),
        (Some(delta), None) => match clock.now_ms().checked_add_signed(delta) {
            Some(t) if t <= LATEST_MS => clock.advance_ms(delta),
            _ => return out_of_range(&format!("advance_ms {delta}")),
        },
        (None, Some(t)) if t > LATEST_MS => return out_of_range(&format!("set_ms {t}")),
        (None, Some(t)) => clock.set_ms(t),
        (None, None) if change.freeze.is_none() => return error(400, "give advance_ms, set_ms or freeze"),
        (None, None) => {}
    }
    if let Some(frozen) = change.freeze {
        clock.freeze(frozen);
    }
    // Free what the jump made due at once, rather than at the next sweep.
    service.store().sweep(clock.now_ms());
    clock_state(service)
}
