//! Real-name discipline (SPEC §5, V2.1 FAQ 3): a pending check is queried, never re-checked; a failed person is
//! not re-checked in a loop; queries ask for the client's own pending ais, spaced, and not inside the outage.

use std::collections::{HashMap, HashSet};

use nppa_protocol::beijing;
use nppa_protocol::messages::AuthStatus;
use nppa_protocol::{Interface, StatusCode};

use super::{finding, Group, Judgement, Rule};
use crate::certify::model::Finding;
use crate::certify::model::Severity::{Error, Warning};
use crate::certify::traffic::{Deployment, Plaintext, Request, Traffic};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "RN-DISCIPLINE",
        severity: Error,
        spec: "R-QRY-4, SPEC §8a",
        group: Group::Behaviour,
        summary: "a pending check is queried, never re-checked; a failed person is not re-checked in a loop",
        judge: realname_recheck,
    },
    Rule {
        id: "RN-QUERY",
        severity: Warning,
        spec: "R-QRY-4, R-PEND-2",
        group: Group::Behaviour,
        summary:
            "queries ask for the client's own pending ais, spaced, and after 04:00 for checks pending in the outage",
        judge: realname_queries,
    },
];

fn realname_recheck(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let checks: Vec<&Request<'_>> = requests
        .iter()
        .filter(|r| r.interface == Some(Interface::Check) && !r.test_path && r.entry.errcode == Some(0))
        .collect();
    if checks.is_empty() {
        return None;
    }
    let mut findings = pending_ais_rechecked_or_never_queried(requests);
    // Per enterprise (appId): another company checking the same person is its own business (FAQ 169/235). A person
    // is pending from a check answered status 1 until a check or a query of that check's ai gives a result.
    // Only what the client read, held against the checks it sent after reading it (R-QRY-4, SPEC §8a): a check
    // answered past its timeout or cut off told it nothing, and sending it again (with a fresh ai, R-AI) is a retry.
    // (check id, ai, answered) of each pending person; (check id, answered) of each failure.
    type Person<'r> = (&'r str, (&'r str, &'r str));
    let mut pending: HashMap<Person<'_>, (u64, &str, u64)> = HashMap::new();
    let mut failed: HashMap<Person<'_>, Vec<(u64, u64)>> = HashMap::new();
    let calls =
        requests.iter().filter(|r| !r.test_path && matches!(r.interface, Some(Interface::Check | Interface::Query)));
    for r in calls {
        let app_id = r.headers.app_id.unwrap_or("");
        if r.interface == Some(Interface::Query) {
            if matches!(r.status(), Some(AuthStatus::Success | AuthStatus::Failure)) {
                let ai = r.query.ai().unwrap_or_default();
                pending.retain(|(app, _), (_, pending_ai, _)| !(*app == app_id && *pending_ai == ai));
            }
            continue;
        }
        if r.entry.errcode != Some(0) {
            continue;
        }
        let Some(plaintext) = r.plaintext.as_ref() else { continue };
        let Some(person) = plaintext.person() else { continue };
        let who = (app_id, person);
        if let Some((first, ..)) = pending.get(&who).filter(|(.., answered_ms)| *answered_ms <= r.at_ms()) {
            findings.push(finding(
                format!("request #{} checks {} again while its check #{first} is pending: query the pending ai instead (V2.1 FAQ 3)", r.entry.id, person.0),
                vec![*first, r.entry.id],
                vec![],
            ).because("people checked again while pending"));
        }
        if let Some(earlier) = failed.get(&who) {
            let earlier: Vec<u64> =
                earlier.iter().filter(|(_, answered_ms)| *answered_ms <= r.at_ms()).map(|(id, _)| *id).collect();
            if earlier.len() >= 2 {
                findings.push(finding(
                    format!("request #{} checks {} a {}th time after it failed: do not re-send identities that failed (V2.1 FAQ 3)", r.entry.id, person.0, earlier.len() + 1),
                    earlier.iter().copied().chain([r.entry.id]).collect(),
                    vec![],
                ).because("failed identities checked again"));
            }
        }
        match r.seen.answer().and_then(|a| a.status) {
            Some(AuthStatus::Pending) => {
                pending.insert(who, (r.entry.id, plaintext.ai().unwrap_or(""), r.answered_ms()));
            }
            Some(AuthStatus::Failure) => failed.entry(who).or_default().push((r.entry.id, r.answered_ms())),
            _ => {
                pending.remove(&who);
            }
        }
    }
    Some(findings)
}

/// A pending check's ai is queried, not checked again (which the system answers 2004 while the record lives), and
/// every pending check is queried at some point: otherwise the game never learns the result.
fn pending_ais_rechecked_or_never_queried(requests: &[Request<'_>]) -> Vec<Finding> {
    // By enterprise: (appId, ai). Another enterprise's query of the ai is answered 2003 (R-QRY-5) and tells this one
    // nothing.
    // (check id, arrived, answered) of each pending ai.
    let mut pending: HashMap<(&str, &str), (u64, u64, u64)> = HashMap::new();
    let mut queried: HashSet<(&str, &str)> = HashSet::new();
    let mut findings = Vec::new();
    for r in requests.iter().filter(|r| !r.test_path) {
        match r.interface {
            Some(Interface::Check) => {
                let Some(ai) = r.plaintext.as_ref().and_then(Plaintext::ai) else { continue };
                let ai = (r.game().0, ai);
                // Only a pending answer the client read, and a check sent after it: a check sent again after its
                // answer came too late to read is a retry, and the 2004 it meets is not the client's doing.
                let read_pending = r.seen.answer().and_then(|a| a.status) == Some(AuthStatus::Pending);
                match (pending.get(&ai), r.entry.errcode) {
                    (Some((first, _, answered_ms)), Some(code))
                        if code == StatusCode::AiInUse.code() && r.at_ms() >= *answered_ms =>
                    {
                        findings.push(finding(
                        format!("request #{} checks ai {:?} again while its check #{first} is pending (answered 2004): query the pending ai instead (V2.1 FAQ 3)", r.entry.id, ai.1),
                        vec![*first, r.entry.id],
                        vec![],
                    ).because("pending ais checked again"))
                    }
                    _ if read_pending => {
                        pending.insert(ai, (r.entry.id, r.at_ms(), r.answered_ms()));
                    }
                    _ => {}
                }
            }
            Some(Interface::Query) => {
                queried.extend(r.query.ai().map(|ai| (r.game().0, ai)));
            }
            _ => {}
        }
    }
    // R-PEND-2: a check pending in the outage is answered after 04:00; a run that ended before then had no result
    // to query.
    let last_ms = requests.iter().map(Request::at_ms).max().unwrap_or(0);
    let answerable = |at_ms: u64| !beijing::in_mps_outage(at_ms) || last_ms >= beijing::outage_end_ms(at_ms);
    let mut never: Vec<(u64, &str)> = pending
        .into_iter()
        .filter(|(ai, (_, at_ms, _))| !queried.contains(ai) && answerable(*at_ms))
        .map(|((_, ai), (id, _, _))| (id, ai))
        .collect();
    never.sort();
    findings.extend(never.into_iter().map(|(id, ai)| {
        finding(
            format!("check #{id} of ai {ai:?} answered pending (status 1) and the ai was never queried: query it later to learn the result (V2.1 FAQ 3)"),
            vec![id],
            vec![],
        )
        .because("pending ais never queried")
    }));
    findings
}

fn realname_queries(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    let queries: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.interface == Some(Interface::Query) && !r.test_path).collect();
    if queries.is_empty() {
        return None;
    }
    // The checks of each game's ai (appId, bizId, ai: the ai is the game's own name for an account), in arrival
    // order.
    let mut checks: HashMap<(&str, &str, &str), Vec<&Request<'_>>> = HashMap::new();
    for r in requests.iter().filter(|r| r.interface == Some(Interface::Check) && !r.test_path) {
        if let Some(ai) = r.plaintext.as_ref().and_then(Plaintext::ai) {
            checks.entry((r.game().0, r.game().1, ai)).or_default().push(r);
        }
    }
    let mut last: HashMap<(&str, &str, &str), &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for r in queries {
        let Some(ai) = r.query.ai() else { continue };
        let (app_id, biz_id) = r.game();
        let of_this_game = (app_id, biz_id, ai);
        // The last check of the ai before this query, and what its client could read of it.
        let check = checks
            .get(&of_this_game)
            .and_then(|c| c.iter().rev().find(|c| c.at_ms() <= r.at_ms() && c.entry.id != r.entry.id));
        // What the client could have read of it when it sent the query: nothing yet if it was still being answered.
        let read_before = check.is_some_and(|c| c.answered_ms() <= r.at_ms());
        let seen_status = check.and_then(|c| c.seen.answer().and_then(|a| a.status));
        match check {
            // No check of it in this traffic, and NPPA knows no record of this enterprise by it (R-QRY-5): a run
            // may query what an earlier run left pending, which NPPA answers.
            None if r.own_errcode() == Some(StatusCode::NoAuthRecord.code()) => findings.push(finding(format!("request #{} queries ai {ai:?}, which no check submitted: query the ai of your own pending check", r.entry.id), vec![r.entry.id], vec![]).because("queries of ais no check submitted")),
            // R-QRY-4: only a result the client read as final is known; a check whose answer it could not read (cut,
            // late, reset) is rightly queried.
            Some(check) if read_before && matches!(seen_status, Some(AuthStatus::Success | AuthStatus::Failure)) => findings.push(finding(
                format!("request #{} queries ai {ai:?} whose check #{} already answered status {}: query only pending results (R-QRY-4)", r.entry.id, check.entry.id, seen_status.map_or(0, u8::from)),
                vec![check.entry.id, r.entry.id],
                vec![],
            ).because("queries of results already known")),
            Some(check) if beijing::in_mps_outage(check.at_ms()) && beijing::in_mps_outage(r.at_ms()) => findings.push(finding(
                format!("request #{} queries ai {ai:?} between 00:00 and 04:00 Beijing time; a check pending in the outage is answered after 04:00 (R-PEND-2)", r.entry.id),
                vec![check.entry.id, r.entry.id],
                vec![],
            ).because("queries during the MPS outage")),
            _ => {}
        }
        if let Some(previous) = last.get(&of_this_game) {
            let gap = r.at_ms().saturating_sub(previous.at_ms());
            // A query sent again after one whose answer the client could not read, or that was a transient error,
            // is a retry (FLT-RETRIES judges its spacing), not polling; so is one re-signed after its envelope was
            // refused (1007, 1011: re-signing is the fix, as ERR-RETRY allows), which told it nothing of the ai.
            let retry = previous.seen.answer().is_none_or(|a| {
                StatusCode::from_code(a.errcode)
                    .is_some_and(|c| c.is_transient() || c.is_busy() || c.is_fixed_by_resigning())
            });
            if gap < deployment.thresholds.query_spacing_ms && !retry {
                findings.push(
                    finding(
                        format!(
                            "request #{} queries ai {ai:?} {gap} ms after #{}: space the queries of one ai (V2.1 FAQ 3)",
                            r.entry.id, previous.entry.id
                        ),
                        vec![previous.entry.id, r.entry.id],
                        vec![],
                    )
                    .because("queries of one ai too close together"),
                );
            }
        }
        last.insert(of_this_game, r);
    }
    Some(findings)
}
