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
    let mut pending: HashMap<(&str, &str), u64> = HashMap::new();
    let mut failed: HashMap<(&str, &str), Vec<u64>> = HashMap::new();
    for r in checks {
        let Some(who) = r.plaintext.as_ref().and_then(Plaintext::person) else { continue };
        if let Some(first) = pending.get(&who) {
            findings.push(finding(
                format!("request #{} checks {} again while its check #{first} is pending: query the pending ai instead (V2.1 FAQ 3)", r.entry.id, who.0),
                vec![*first, r.entry.id],
                vec![],
            ).because("people checked again while pending"));
        }
        if let Some(earlier) = failed.get(&who) {
            if earlier.len() >= 2 {
                findings.push(finding(
                    format!("request #{} checks {} a {}th time after it failed: do not re-send identities that failed (V2.1 FAQ 3)", r.entry.id, who.0, earlier.len() + 1),
                    earlier.iter().copied().chain([r.entry.id]).collect(),
                    vec![],
                ).because("failed identities checked again"));
            }
        }
        match r.status() {
            Some(AuthStatus::Pending) => {
                pending.insert(who, r.entry.id);
            }
            Some(AuthStatus::Failure) => failed.entry(who).or_default().push(r.entry.id),
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
    let mut pending: HashMap<&str, u64> = HashMap::new();
    let mut queried: HashSet<&str> = HashSet::new();
    let mut findings = Vec::new();
    for r in requests.iter().filter(|r| !r.test_path) {
        match r.interface {
            Some(Interface::Check) => {
                let Some(ai) = r.plaintext.as_ref().and_then(Plaintext::ai) else { continue };
                match (pending.get(ai), r.entry.errcode) {
                    (Some(first), Some(code)) if code == StatusCode::AiInUse.code() => findings.push(finding(
                        format!("request #{} checks ai {ai:?} again while its check #{first} is pending (answered 2004): query the pending ai instead (V2.1 FAQ 3)", r.entry.id),
                        vec![*first, r.entry.id],
                        vec![],
                    ).because("pending ais checked again")),
                    _ if r.status() == Some(AuthStatus::Pending) => {
                        pending.insert(ai, r.entry.id);
                    }
                    _ => {}
                }
            }
            Some(Interface::Query) => {
                queried.extend(r.query.ai());
            }
            _ => {}
        }
    }
    let mut never: Vec<(u64, &str)> =
        pending.into_iter().filter(|(ai, _)| !queried.contains(ai)).map(|(ai, id)| (id, ai)).collect();
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
    let checked: HashMap<&str, &Request<'_>> = requests
        .iter()
        .filter(|r| r.interface == Some(Interface::Check) && !r.test_path)
        .filter_map(|r| Some((r.plaintext.as_ref()?.ai()?, r)))
        .collect();
    let mut last: HashMap<&str, &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for r in queries {
        let Some(ai) = r.query.ai() else { continue };
        match checked.get(&ai) {
            None => findings.push(finding(format!("request #{} queries ai {ai:?}, which no check submitted: query the ai of your own pending check", r.entry.id), vec![r.entry.id], vec![]).because("queries of ais no check submitted")),
            Some(check) if check.status() != Some(AuthStatus::Pending) && check.at_ms() <= r.at_ms() && check.entry.id != r.entry.id => findings.push(finding(
                format!("request #{} queries ai {ai:?} whose check #{} already answered {}: query only pending results (R-QRY-4)", r.entry.id, check.entry.id, check.status().map_or("without a result".to_owned(), |s| format!("status {}", u8::from(s)))),
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
        if let Some(previous) = last.get(&ai) {
            let gap = r.at_ms().saturating_sub(previous.at_ms());
            if gap < deployment.thresholds.query_spacing_ms {
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
        last.insert(ai, r);
    }
    Some(findings)
}
