//! Reacting to error codes: backing off 60 s after a 1006 (R-RL-2), not retrying unchanged what the server
//! refused for its content (SPEC §8a).

use std::collections::HashMap;

use nppa_mockserver::faults::FaultEffect;
use nppa_protocol::{Interface, StatusCode};

use super::{finding, Group, Judgement, Rule};
use crate::certify::choices;
use crate::certify::model::Severity::Error;
use crate::certify::traffic::{Deployment, Request, Traffic};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "ERR-BUSY",
        severity: Error,
        spec: "R-RL-2",
        group: Group::Errors,
        summary: "after a 1006 the client waits 60 s before calling that interface again",
        judge: errors_busy,
    },
    Rule {
        id: "ERR-RETRY",
        severity: Error,
        spec: "SPEC §8a",
        group: Group::Errors,
        summary: "non-transient errors are not retried unchanged",
        judge: errors_retry,
    },
];

fn errors_busy(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    let busy = StatusCode::Busy.code();
    if !requests.iter().any(|r| r.entry.errcode == Some(busy)) {
        return None;
    }
    // R-RL-2: after a 1006 the (appId, bizId, interface) is blocked (60 s, or to the next minute as the mock was
    // told); 1 s of tolerance for requests in flight.
    struct Episode<'r> {
        first_id: u64,
        start_ms: u64,
        /// When the client had the 1006: what was sent before then, or within the tolerance of it, was in flight.
        read_ms: u64,
        until_ms: u64,
        /// The call the 1006 refused: sending it again cannot have been in flight.
        refused: crate::certify::traffic::CallKey<'r>,
        offenders: Vec<u64>,
    }
    let mut open: HashMap<(&str, &str, Option<Interface>), Episode> = HashMap::new();
    let mut closed = Vec::new();
    for r in requests.iter() {
        let key = (r.headers.app_id.unwrap_or(""), r.headers.biz_id.unwrap_or(""), r.interface);
        if let Some(episode) = open.get_mut(&key) {
            let since = r.at_ms().saturating_sub(episode.read_ms);
            if r.at_ms() < episode.until_ms {
                let resent = r.at_ms() >= episode.read_ms && r.call_key() == episode.refused;
                if since > deployment.thresholds.busy_tolerance_ms || resent {
                    episode.offenders.push(r.entry.id);
                }
                continue;
            }
            closed.extend(open.remove(&key));
        }
        // Only a 1006 the client read (R-RL-2): one answered past its 5 s timeout, cut off or over another HTTP
        // status told it nothing, and it rightly sends the call again.
        if r.seen.answer().is_some_and(|a| a.errcode == busy) {
            let until_ms = deployment.quota_block.until_ms(r.at_ms());
            let refused = r.call_key();
            let (first_id, start_ms, read_ms) = (r.entry.id, r.at_ms(), r.answered_ms());
            open.insert(key, Episode { first_id, start_ms, read_ms, until_ms, refused, offenders: vec![] });
        }
    }
    closed.extend(open.into_values());
    closed.sort_by_key(|e| e.first_id);
    Some(
        closed
            .into_iter()
            .filter(|e| !e.offenders.is_empty())
            .map(|e| {
                let message = format!(
                    "{} request(s) were sent to the blocked interface within {} s of the 1006 of #{}, before its block ended (first: #{}): back off 60 s (R-RL-2)",
                    e.offenders.len(),
                    e.until_ms.saturating_sub(e.start_ms).div_ceil(1000),
                    e.first_id,
                    e.offenders[0]
                );
                finding(message, [e.first_id].into_iter().chain(e.offenders).collect(), vec![])
                    .resting_on(Some(choices::BUSY_BLOCK))
                    .because("calls within 60 s of a 1006")
            })
            .collect(),
    )
}

/// Codes a client must not retry unchanged: the request itself is wrong (`StatusCode::is_final_error`).
fn non_transient(code: u16) -> bool {
    StatusCode::from_code(code).is_some_and(StatusCode::is_final_error)
}

/// Why a request was refused in a way no retry changes, if it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FinalRefusal {
    /// Refused for what its plaintext says (the envelope passed): re-sending the same plaintext cannot help. A
    /// refusal of the envelope (1007, 1011, …) is fixed by re-signing, which sends the same plaintext again,
    /// rightly, so it is not one.
    Content(u16),
    /// A final code a fault answered to a request the mock would have taken (`--profile faults`: 1005): a careful
    /// client does not send it again. Not 1007 or 1011: a client cannot tell an injected one from its own, and
    /// re-signing after them is right (as after a real one).
    Injected(StatusCode),
}

fn final_refusal(r: &Request<'_>) -> Option<FinalRefusal> {
    // Only a refusal the client read: one answered past the 5 s client timeout, over another HTTP status or cut
    // off was no answer to it, and sending the call again is what it should do (FLT-RETRIES bounds that).
    r.seen.answer()?;
    if let Some(FaultEffect::Status(code)) = r.entry.fault.and_then(|note| note.effect) {
        return (code.is_final_error() && !code.is_fixed_by_resigning()).then_some(FinalRefusal::Injected(code));
    }
    r.entry.errcode.filter(|c| non_transient(*c) && r.entry.sign_ok == Some(true)).map(FinalRefusal::Content)
}

fn errors_retry(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    if !requests.iter().any(|r| final_refusal(r).is_some()) {
        return None;
    }
    let mut findings = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let Some(refusal) = final_refusal(r) else { continue };
        // The same call again: the same path and query, and the same plaintext (a query has none; it is only
        // compared for injected codes, so that re-querying an ai after a real 2003 stays RN-QUERY's business).
        // A query of the same ai later than the query spacing is polling a pending ai, not sending the refused one
        // again (RN-QUERY judges the spacing).
        let polling = |later: &Request<'_>| {
            later.entry.plaintext.is_none()
                && later.at_ms().saturating_sub(r.at_ms()) >= deployment.thresholds.query_spacing_ms
        };
        // Sent after the refusal was answered: a request that arrived while a slow answer was still on its way
        // (the client had given up waiting, or had not yet heard) did not ignore it.
        let same = |later: &&Request<'_>| {
            later.at_ms() >= r.answered_ms()
                && later.entry.path == r.entry.path
                && later.entry.query == r.entry.query
                && later.entry.plaintext == r.entry.plaintext
                && (later.entry.plaintext.is_some() || matches!(refusal, FinalRefusal::Injected(_)))
                && !polling(later)
        };
        let Some(retry) = requests[i + 1..].iter().find(same) else { continue };
        let message = match refusal {
            FinalRefusal::Content(code) => format!(
                "request #{} resends #{}'s plaintext unchanged after errcode {code}, which will not change by retrying",
                retry.entry.id, r.entry.id
            ),
            FinalRefusal::Injected(code) => format!(
                "request #{} sends #{} again after errcode {} ({}), which no retry changes: report the error and go on (SPEC §8a)",
                retry.entry.id,
                r.entry.id,
                code.code(),
                code.errmsg()
            ),
        };
        let choice = match refusal {
            FinalRefusal::Content(code) => StatusCode::from_code(code).and_then(choices::behind),
            FinalRefusal::Injected(_) => None,
        };
        let cause = match refusal {
            FinalRefusal::Content(code) => format!("retried unchanged after errcode {code}"),
            FinalRefusal::Injected(code) => format!("sent again after an injected errcode {}", code.code()),
        };
        findings.push(
            finding(message, vec![r.entry.id, retry.entry.id], vec![r.entry.plaintext.clone().unwrap_or_default()])
                .resting_on(choice)
                .because(cause),
        );
    }
    Some(findings)
}
