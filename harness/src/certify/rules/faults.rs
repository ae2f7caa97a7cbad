//! Surviving injected faults (SPEC §8a): the client carries on after non-200 answers, resets, broken JSON, slow
//! answers and loginout `data` variants, and its retries are bounded and spaced.

use std::collections::HashSet;

use nppa_protocol::StatusCode;

use super::{finding, Group, Judgement, Rule};
use crate::certify::model::Severity::{Error, Warning};
use crate::certify::traffic::{Deployment, Request, Seen, Traffic};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "FLT-SURVIVES",
        severity: Error,
        spec: "SPEC §8a",
        group: Group::Faults,
        summary: "the client survives non-200 answers, resets, broken JSON, slow answers and loginout data variants, and keeps calling",
        judge: faults_survived,
    },
    Rule {
        id: "FLT-RETRIES",
        severity: Error,
        spec: "SPEC §8a",
        group: Group::Faults,
        summary: "retries after a failure are bounded (at most 3) and spaced (100 ms or more)",
        judge: faults_retries,
    },
    Rule {
        id: "FLT-RESENDS",
        severity: Warning,
        spec: "R-BEH-4, SPEC §8a",
        group: Group::Faults,
        summary: "records of a report whose answer the client could not read (another HTTP status, a reset, broken JSON, a late answer) are sent again",
        judge: faults_resent,
    },
];

fn faults_resent(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let reports: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.interface == Some(nppa_protocol::Interface::Loginout)).collect();
    // Not taken, as far as the client knows: an answer it could not read, or a 1006 or transient code for the
    // whole report (FAQ 252: "如果没有上报成功需要重新上报").
    let untaken = |r: &Request<'_>| match r.seen.answer() {
        None => true,
        Some(answer) => StatusCode::from_code(answer.errcode).is_some_and(|c| c.is_busy() || c.is_transient()),
    };
    let unread: Vec<usize> = (0..reports.len()).filter(|&i| untaken(reports[i])).collect();
    if unread.is_empty() {
        return None;
    }
    // A record is its game's (si, bt, ct): after a report it does not know was taken, the client sends it again
    // (R-BEH-4; NPPA forgives a repeat), perhaps with `ot` shifted by the delay (FAQ 252). A client that takes an
    // HTTP 503 whose body says errcode 0 for an acceptance loses it.
    let key = |r: &Request<'_>, rec: &crate::certify::traffic::Record| {
        let (app_id, biz_id) = r.game();
        format!("{app_id}|{biz_id}|{}|{}|{}", rec.si, rec.bt, rec.ct)
    };
    // Taken by NPPA in any report, earlier ones included, and late answers too (NPPA took it, whenever it said so):
    // a client that read an acceptance as a failure (another content type, a timeout) and then met unreadable
    // answers on its retries has lost nothing.
    let taken: HashSet<String> = reports
        .iter()
        .filter_map(|r| Some((r, r.seen.answer().cloned().or_else(|| Seen::late_answer(r.entry))?)))
        .flat_map(|(r, answer)| {
            let rejected: HashSet<i64> = answer.rejected.iter().map(|x| x.no).collect();
            let accepting = answer.is_ok() || answer.errcode == StatusCode::PartialError.code();
            r.records()
                .iter()
                .filter(move |rec| accepting && !rec.no.get().is_some_and(|no| rejected.contains(no)))
                .map(|rec| key(r, rec))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut findings = Vec::new();
    for i in unread {
        let r = reports[i];
        let later: HashSet<String> =
            reports[i + 1..].iter().flat_map(|l| l.records().iter().map(|rec| key(l, rec))).collect();
        let lost: Vec<String> =
            r.records().iter().map(|rec| key(r, rec)).filter(|k| !later.contains(k) && !taken.contains(k)).collect();
        if !lost.is_empty() {
            let seen = r.seen.describe();
            findings.push(
                finding(
                    format!("request #{}: {} record(s) whose report got {seen} were never sent again: a report the client cannot know NPPA took is sent again (R-BEH-4, FAQ 252), and an answer over another HTTP status is no answer", r.entry.id, lost.len()),
                    vec![r.entry.id],
                    lost,
                )
                .because(format!("records lost after {seen}")),
            );
        }
    }
    Some(findings)
}

fn faults_survived(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    let faulted: Vec<(usize, &Request<'_>)> =
        requests.iter().enumerate().filter(|(_, r)| r.entry.fault.is_some()).collect();
    if faulted.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for exit in deployment.client_exits.iter().filter(|e| **e != Some(0)) {
        let how = exit.map_or("was stopped at the time limit".to_owned(), |code| format!("exited with code {code}"));
        findings.push(finding(
            format!("the client {how} while faults were injected: it must fail open and carry on (SPEC §8a)"),
            vec![],
            vec![],
        ));
    }
    // Survival is the client going on: exiting 0 (above) and sending anything after the failure, on any interface
    // (a fail-open client may give that call up and go on with the next). A fault that hit the client's last request
    // shows nothing either way, so it exercises nothing; a fault the client saw as a success (a loginout `data`
    // variant) needs no second call.
    let exercised = faulted.iter().any(|(index, r)| failed_for_client(r) && *index + 1 < requests.len());
    if findings.is_empty() && !exercised {
        return None;
    }
    Some(findings)
}

/// Did the client get a failure: another HTTP status, no answer, broken JSON, an error code, or an answer later
/// than the spec's 5 s client timeout?
fn failed_for_client(request: &Request<'_>) -> bool {
    !request.seen.is_success()
}

/// Retries after a failure: at most this many, at least this far apart (mock-clock ms).
const MAX_RETRIES: usize = 3;

const MIN_RETRY_GAP_MS: u64 = 100;

fn faults_retries(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    // A failure the client may retry: an injected fault, another HTTP status, an answer it could not read, a
    // transient code.
    let failed = |r: &Request<'_>| {
        r.entry.fault.is_some()
            || failed_for_client(r)
                && !r
                    .answer
                    .as_ref()
                    .is_some_and(|a| StatusCode::from_code(a.errcode).is_some_and(StatusCode::is_final_error))
            || r.entry.errcode.and_then(StatusCode::from_code).is_some_and(StatusCode::is_transient)
    };
    if !requests.iter().any(&failed) {
        return None;
    }
    let mut findings = Vec::new();
    let mut judged: HashSet<u64> = HashSet::new();
    for (i, first) in requests.iter().enumerate() {
        if !failed(first) || judged.contains(&first.entry.id) {
            continue;
        }
        // The retries: the same call again, each after an attempt that did not succeed; an attempt that succeeded
        // (errcode 0, read in time) ends them: what follows is the client's next call, e.g. polling a pending ai.
        let key = first.call_key();
        let mut attempts: Vec<&Request<'_>> = vec![first];
        for later in requests[i + 1..].iter().filter(|r| r.call_key() == key) {
            let Some(previous) = attempts.last() else { break };
            if previous.seen.is_success() {
                break;
            }
            // The HTTP library's own replay after a reset is not the client retrying: it stands for its original.
            if later.replays_after_reset(previous) {
                judged.insert(later.entry.id);
                if let Some(last) = attempts.last_mut() {
                    *last = later;
                }
                continue;
            }
            attempts.push(later);
        }
        judged.extend(attempts.iter().map(|r| r.entry.id));
        if attempts.len() > MAX_RETRIES + 1 {
            findings.push(finding(
                format!("request #{} was retried {} times; bound retries (at most {MAX_RETRIES}) and let the player play (V2.1 FAQ 2)", first.entry.id, attempts.len() - 1),
                attempts.iter().map(|r| r.entry.id).collect(),
                vec![],
            ).because("unbounded retries"));
        }
        if let Some(pair) = attempts.windows(2).find(|w| w[1].at_ms().saturating_sub(w[0].at_ms()) < MIN_RETRY_GAP_MS) {
            findings.push(finding(
                format!("request #{} retried #{} {} ms later; space retries (at least {MIN_RETRY_GAP_MS} ms, more each time)", pair[1].entry.id, pair[0].entry.id, pair[1].at_ms().saturating_sub(pair[0].at_ms())),
                vec![pair[0].entry.id, pair[1].entry.id],
                vec![],
            ).because("retries not spaced"));
        }
    }
    Some(findings)
}
