//! Behaviour reporting (SPEC §6): batches, pacing, re-sending after a 3001, nothing for pending users, reports
//! in time, one si per person, logins paired with logouts (R-BEH-1..4, R-BEH-TIME, R-RL-1).

use std::collections::{HashMap, HashSet};

use nppa_protocol::behaviour::{self, MAX_RECORDS};
use nppa_protocol::messages::{bt, ct, AuthStatus};
use nppa_protocol::{quota, Interface, StatusCode};

use super::{finding, Group, Judgement, Rule};
use crate::certify::model::Severity::{Error, Warning};
use crate::certify::traffic::{Deployment, Plaintext, Record, Request, Traffic};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "BEH-BATCH",
        severity: Error,
        spec: "R-BEH-1, R-BEH-2",
        group: Group::Behaviour,
        summary: "at most 128 records a report (R-BEH-1), each numbered within 1–128 and once",
        judge: behaviour_batches,
    },
    Rule {
        id: "BEH-RATE",
        severity: Error,
        spec: "R-RL-1",
        group: Group::Behaviour,
        summary: "requests per second within the quota of each interface",
        judge: behaviour_rate,
    },
    Rule {
        id: "BEH-RESEND",
        severity: Error,
        spec: "R-BEH-4",
        group: Group::Behaviour,
        summary: "records an answer accepted are not sent again (after a 3001, only the rejected ones are)",
        judge: behaviour_resend,
    },
    Rule {
        id: "BEH-PENDING",
        severity: Error,
        spec: "R-BEH-3",
        group: Group::Behaviour,
        summary: "no behaviour is reported for users whose check is still pending",
        judge: behaviour_pending,
    },
    Rule {
        id: "BEH-TIME",
        severity: Error,
        spec: "R-BEH-TIME",
        group: Group::Behaviour,
        summary: "records are reported within 180 s, with ot in seconds before the report's timestamps",
        judge: behaviour_time,
    },
    Rule {
        id: "BEH-SESSION",
        severity: Error,
        spec: "R-BEH-3",
        group: Group::Behaviour,
        summary: "one si belongs to one person or device",
        judge: behaviour_sessions,
    },
    Rule {
        id: "BEH-RECORD",
        severity: Error,
        spec: "R-BEH-1, R-BEH-2",
        group: Group::Behaviour,
        summary:
            "every report carries records, each built right: ct 0 or 2, bt 0 or 1, a verified user's pi, a guest's di",
        judge: behaviour_records,
    },
    Rule {
        id: "BEH-PAIRS",
        severity: Warning,
        spec: "R-BEH-3",
        group: Group::Behaviour,
        summary: "every login (bt=1) has its logout (bt=0) with the same si",
        judge: behaviour_pairs,
    },
];

/// Loginout requests whose plaintext decrypted.
fn decrypted_reports<'r, 'a>(requests: &'r [Request<'a>]) -> Vec<&'r Request<'a>> {
    requests.iter().filter(|r| r.interface == Some(Interface::Loginout) && r.json_plaintext()).collect()
}

fn behaviour_batches(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let reports = decrypted_reports(requests);
    if reports.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for r in reports {
        let records = r.records();
        if records.len() > MAX_RECORDS {
            findings.push(
                finding(
                    format!(
                        "request #{}: {} records in one report; at most {MAX_RECORDS} (R-BEH-1)",
                        r.entry.id,
                        records.len()
                    ),
                    vec![r.entry.id],
                    vec![],
                )
                .because("over-long reports"),
            );
        }
        let numbers: Vec<i64> = records.iter().filter_map(|rec| rec.no.value()).collect();
        if let Some((kind, problem)) = numbering_problem(&numbers, records.len()) {
            findings.push(
                finding(format!("request #{}: record numbers {problem}", r.entry.id), vec![r.entry.id], vec![])
                    .because(kind),
            );
        }
    }
    Some(findings)
}

/// What is wrong with a report's record numbers, which are each in 1–128 and used once in the report (V2.1,
/// `collections[n].no`: "取值范围 1-128"; R-BEH-2), if anything. A counter that wraps (…, 255, 0, 1, …) is named as
/// such: the usual cause of an over-long report. Returns the kind of problem (what reports group by) and its words.
fn numbering_problem(numbers: &[i64], records: usize) -> Option<(&'static str, String)> {
    let in_range = |no: &i64| (1..=MAX_RECORDS as i64).contains(no);
    let distinct: HashSet<&i64> = numbers.iter().collect();
    if numbers.len() == records && distinct.len() == numbers.len() && numbers.iter().all(in_range) {
        return None;
    }
    if let Some(i) = (1..numbers.len()).find(|&i| numbers[i] < numbers[i - 1] && numbers[i] <= 1) {
        return Some((
            "record numbers that wrap",
            format!(
                "wrap from {} to {} at record {}, as a fixed-width counter does: number each report 1..n, at most {MAX_RECORDS} records",
                numbers[i - 1],
                numbers[i],
                i + 1
            ),
        ));
    }
    let mut seen = HashSet::new();
    if let Some(repeated) = numbers.iter().find(|no| !seen.insert(**no)) {
        return Some((
            "record numbers repeated",
            format!("repeat {repeated}: number the {records} records 1..{records}, each once"),
        ));
    }
    if let Some(outside) = numbers.iter().find(|no| !in_range(no)) {
        return Some((
            "record numbers outside 1–128",
            format!("include {outside}, outside 1–{MAX_RECORDS}: number the records 1..n, each once"),
        ));
    }
    Some((
        "records without a numeric no",
        format!("are numeric for {} of the {records} records: every record has its no, 1..n", numbers.len()),
    ))
}

/// What a record (or a report) refused for its content says of the client's code (SPEC §4).
fn record_mistake(code: StatusCode) -> Option<&'static str> {
    Some(match code {
        StatusCode::BehaviorNull => "a report with no records (3002): send a report only with something in it",
        StatusCode::PlayerModeInvalid => "a record with ct other than 0 (verified user) or 2 (guest) (3006)",
        StatusCode::BehaviorModeInvalid => "a record with bt other than 1 (login) or 0 (logout) (3007)",
        StatusCode::PlayerIdMiss => "a verified user's record (ct=0) without the pi its check returned (3008)",
        StatusCode::DeviceIdMiss => "a guest's record (ct=2) without its device id di (3009)",
        StatusCode::PlayerIdInvalid => "a pi that is not one NPPA returned (38 characters) (3010)",
        _ => return None,
    })
}

fn behaviour_records(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let reports: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.interface == Some(Interface::Loginout) && r.answer.is_some()).collect();
    if reports.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for r in reports {
        let Some(answer) = r.answer.as_ref() else { continue };
        let refused = std::iter::once((None, answer.errcode))
            .chain(answer.rejected.iter().map(|rejected| (Some(rejected.no), rejected.errcode)));
        for (no, code) in refused {
            let Some(mistake) = StatusCode::from_code(code).and_then(record_mistake) else { continue };
            let which = no.map_or_else(|| "the report".to_owned(), |no| format!("record no {no}"));
            findings.push(
                finding(format!("request #{}, {which}: {mistake}", r.entry.id), vec![r.entry.id], vec![])
                    .because(mistake),
            );
        }
    }
    Some(findings)
}

fn behaviour_rate(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    let production: Vec<&Request<'_>> = requests.iter().filter(|r| r.interface.is_some() && !r.test_path).collect();
    if production.is_empty() {
        return None;
    }
    // R-RL-1: requests in one second of the mock clock per (appId, bizId, interface).
    let mut per_second: HashMap<(&str, &str, Interface, u64), Vec<u64>> = HashMap::new();
    for r in &production {
        if let Some(interface) = r.interface {
            let key = (
                r.headers.app_id.unwrap_or(""),
                r.headers.biz_id.unwrap_or(""),
                interface,
                r.at_ms() / quota::WINDOW_MS,
            );
            per_second.entry(key).or_default().push(r.entry.id);
        }
    }
    let mut over: Vec<(Interface, u64, Vec<u64>, u32)> = per_second
        .into_iter()
        .filter(|((_, biz_id, interface, _), ids)| ids.len() > deployment.quota(biz_id, *interface) as usize)
        .map(|((_, biz_id, interface, second), ids)| (interface, second, ids, deployment.quota(biz_id, interface)))
        .collect();
    over.sort_by_key(|(_, second, _, _)| *second);
    Some(
        over.into_iter()
            .map(|(interface, second, ids, quota)| {
                finding(
                    format!("{} {interface} requests in the second starting {second} s, over the quota of {quota}/s (R-RL-1): pace the client", ids.len()),
                    vec![ids[0], ids[ids.len() - 1]],
                    vec![],
                )
                .because(format!("{interface} over its quota"))
            })
            .collect(),
    )
}

fn behaviour_resend(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let reports = decrypted_reports(requests);
    if !reports.iter().any(|r| visibly_accepting(r).is_some()) {
        return None;
    }
    // A record is (si, bt, ot, ct). Once an answer the client could read accepted it — errcode 0, or a 3001 that
    // did not list it — it is not sent again. An answer the client could not read (cut, reset, late, another HTTP
    // status) accepted nothing it knows of, so re-sending after it is right.
    let key = |r: &Request<'_>, rec: &Record| {
        let (app_id, biz_id) = r.game();
        format!("{app_id}|{biz_id}|{}|{}|{}|{}", rec.si, rec.bt, rec.ot, rec.ct)
    };
    let mut accepted: HashMap<String, &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for r in reports {
        let resent: Vec<String> =
            r.records().iter().map(|rec| key(r, rec)).filter(|k| accepted.contains_key(k)).collect();
        if let Some(first) = resent.first().and_then(|k| accepted.get(k)) {
            let why = match first.answer.as_ref() {
                Some(answer) if answer.errcode == StatusCode::PartialError.code() => {
                    "after a 3001 re-send only the rejected records (R-BEH-4)".to_owned()
                }
                Some(answer) => format!(
                    "it answered errcode 0 with data {}, which accepts every record; a client that re-sends after it usually cannot read that answer (SPEC §3: data is the empty string on success)",
                    answer.data.as_str()
                ),
                None => String::new(),
            };
            findings.push(
                finding(
                    format!(
                        "request #{} re-sends {} record(s) already accepted by #{}: {why}",
                        r.entry.id,
                        resent.len(),
                        first.entry.id
                    ),
                    vec![first.entry.id, r.entry.id],
                    resent,
                )
                .because(format!("re-sends accepted records: {why}")),
            );
        }
        if let Some(rejected) = visibly_accepting(r) {
            for rec in r.records() {
                if !rec.no.value().is_some_and(|no| rejected.contains(&no)) {
                    accepted.entry(key(r, rec)).or_insert(r);
                }
            }
        }
    }
    Some(findings)
}

/// The numbers a readable accepting answer rejected (none for errcode 0), when the client got one: HTTP 200, in time,
/// a protocol answer of errcode 0 or 3001 as sent.
fn visibly_accepting(r: &Request<'_>) -> Option<HashSet<i64>> {
    let seen = &r.seen;
    let answer = seen.answer()?;
    let accepting = answer.is_ok() || answer.errcode == StatusCode::PartialError.code();
    accepting.then(|| answer.rejected.iter().map(|rejected| rejected.no).collect())
}

fn behaviour_pending(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    let book = deployment.identities.as_ref()?;
    // The pi of each person whose check is pending, with the ai of that check (FAQ 262: no reports for them).
    let mut pending: HashMap<String, (String, u64)> = HashMap::new();
    let mut findings = Vec::new();
    let mut exercised = false;
    for r in requests.iter().filter(|r| !r.test_path) {
        match r.interface {
            Some(Interface::Check) if r.status() == Some(AuthStatus::Pending) => {
                let Some((_, id_num)) = r.plaintext.as_ref().and_then(Plaintext::person) else { continue };
                let Some(born) = nppa_protocol::idnum::birth_date(id_num) else { continue };
                let ai = r.plaintext.as_ref().and_then(Plaintext::ai).unwrap_or("").to_owned();
                pending.insert(book.pi(id_num, born), (ai, r.entry.id));
                exercised = true;
            }
            Some(Interface::Query) if matches!(r.status(), Some(AuthStatus::Success | AuthStatus::Failure)) => {
                let ai = r.query.ai().unwrap_or_default();
                pending.retain(|_, (pending_ai, _)| *pending_ai != ai);
            }
            Some(Interface::Loginout) => {
                for record in r.records() {
                    let Some(pi) = record.pi.as_str().filter(|_| record.ct.value() == Some(ct::VERIFIED)) else {
                        continue;
                    };
                    if let Some((ai, check)) = pending.get(pi) {
                        findings.push(finding(
                            format!("request #{} reports pi {pi} whose real-name check #{check} (ai {ai:?}) is still pending: report nothing for users still pending (FAQ 262)", r.entry.id),
                            vec![*check, r.entry.id],
                            vec![],
                        ).because("reports for users still pending"));
                    }
                }
            }
            _ => {}
        }
    }
    exercised.then_some(findings)
}

fn behaviour_time(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let reports = decrypted_reports(requests);
    if reports.is_empty() {
        return None;
    }
    let late = StatusCode::BehaviorTimeError.code();
    Some(
        reports
            .iter()
            .filter_map(|r| {
                let numbers: Vec<i64> = r.answer.as_ref()?.rejected.iter().filter(|x| x.errcode == late).map(|x| x.no).collect();
                (!numbers.is_empty()).then(|| {
                    let ts = r.headers.timestamps.unwrap_or("");
                    finding(
                        format!("request #{}: records {numbers:?} have ot outside (timestamps − {} s, timestamps) with timestamps {ts}: report within {} s, ot in seconds before the report (R-BEH-TIME)", r.entry.id, behaviour::WINDOW_S, behaviour::WINDOW_S),
                        vec![r.entry.id],
                        vec![r.entry.plaintext.clone().unwrap_or_default()],
                    )
                    .resting_on(crate::certify::choices::behind(StatusCode::BehaviorTimeError))
                    .because("ot outside the window")
                })
            })
            .collect(),
    )
}

fn behaviour_sessions(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let reports: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.interface == Some(Interface::Loginout) && !r.test_path).collect();
    if reports.is_empty() {
        return None;
    }
    // R-BEH-3: one si belongs to one real person (or one guest device).
    let mut owner: HashMap<(&str, &str, String), (String, u64)> = HashMap::new();
    let mut findings = Vec::new();
    for r in reports {
        let (app_id, biz_id) = r.game();
        for record in r.records() {
            let si = record.si.as_str().unwrap_or("").to_owned();
            let who = match record.ct.value() {
                Some(ct::VERIFIED) => format!("pi {}", record.pi.as_str().unwrap_or("")),
                _ => format!("device {}", record.di.as_str().unwrap_or("")),
            };
            match owner.get(&(app_id, biz_id, si.clone())) {
                Some((first, id)) if *first != who => findings.push(finding(
                    format!("session {si:?} is used for {first} (request #{id}) and for {who} (request #{}): one si belongs to one person (R-BEH-3)", r.entry.id),
                    vec![*id, r.entry.id],
                    vec![],
                ).because("one si for two people")),
                Some(_) => {}
                None => {
                    owner.insert((app_id, biz_id, si), (who, r.entry.id));
                }
            }
        }
    }
    Some(findings)
}

fn behaviour_pairs(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let reports: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.interface == Some(Interface::Loginout) && !r.test_path).collect();
    let accepted = |r: &Request<'_>| matches!(r.entry.errcode, Some(0) | Some(3001));
    if !reports.iter().any(|r| accepted(r)) {
        return None;
    }
    // R-BEH-3 in order: a session opens with its login (bt=1) and closes with its logout (bt=0), once each (FAQ
    // 250). Records are taken in the order of their `ot`, across reports (two reports in flight together may arrive
    // in either order), then of arrival and position. A login counts once it was sent at all (even refused, e.g.
    // 3005); logins left open are counted from the records NPPA accepted. A record sent again unchanged (a re-send
    // after an answer the client could not read) is the same record, BEH-RESEND's business.
    // A report the mock never processed (a fault answered in its place: no errcode) never reached NPPA; its
    // records are re-sent later, perhaps with `ot` shifted as FAQ 252 says.
    let mut records: Vec<(i64, u8, usize, usize, &Request<'_>, &crate::certify::traffic::Record, bool)> = Vec::new();
    for (arrival, r) in reports.iter().enumerate().filter(|(_, r)| r.entry.errcode.is_some()) {
        let rejected = r.rejected_numbers();
        for (position, record) in r.records().iter().enumerate() {
            let taken = accepted(r) && !record.no.value().is_some_and(|no| rejected.contains(&no));
            // In one second a login comes before a logout (a client that crashed while loading).
            let rank = u8::from(record.bt.value() != Some(bt::LOGIN));
            records.push((record.ot.value().unwrap_or(i64::MAX), rank, arrival, position, r, record, taken));
        }
    }
    records.sort_by_key(|(ot, rank, arrival, position, ..)| (*ot, *rank, *arrival, *position));
    #[derive(Clone, Copy)]
    enum Session {
        /// Logged in by this request (`true`: NPPA took the login).
        Open(u64, bool),
        /// Logged out by this request.
        Closed(u64),
    }
    // Sessions by game: (appId, bizId, si).
    let mut sessions: HashMap<(&str, &str, String), Session> = HashMap::new();
    // Sessions whose first record is a logout: a bt swap when a login of them follows, else the logout of a session
    // an earlier process opened (a restart reports those, FAQ 249/260).
    let mut opened_by_a_logout: HashMap<(&str, &str, String), u64> = HashMap::new();
    let mut seen = HashSet::new();
    let mut findings = Vec::new();
    for (_, _, _, _, r, record, taken) in records {
        let (app_id, biz_id) = r.game();
        let sent = (
            app_id,
            biz_id,
            record.si.to_string(),
            record.bt.to_string(),
            record.ot.to_string(),
            record.ct.to_string(),
        );
        if !seen.insert(sent) {
            continue;
        }
        let si = record.si.as_str().unwrap_or("").to_owned();
        let session = (app_id, biz_id, si.clone());
        let id = r.entry.id;
        match (record.bt.value(), sessions.get(&session).copied()) {
            (Some(bt::LOGIN), Some(Session::Open(first, _))) => findings.push(
                finding(
                    format!("session {si:?} is logged in again (request #{id}) while its login of #{first} is open: one logout for each login, and a heartbeat is not a login (FAQ 250)"),
                    vec![first, id],
                    vec![],
                )
                .because("sessions logged in twice"),
            ),
            (Some(bt::LOGIN), _) => {
                if let Some(logout) = opened_by_a_logout.remove(&session) {
                    findings.push(
                        finding(
                            format!("session {si:?} is logged out (request #{logout}) before its login (request #{id}): report the login (bt=1) first; a session that opens with a logout usually has bt swapped (1 is login, 0 logout)"),
                            vec![logout, id],
                            vec![],
                        )
                        .because("logouts before their login"),
                    );
                }
                sessions.insert(session, Session::Open(id, taken));
            }
            (Some(bt::LOGOUT), Some(Session::Open(..))) => {
                sessions.insert(session, Session::Closed(id));
            }
            (Some(bt::LOGOUT), Some(Session::Closed(first))) => findings.push(
                finding(
                    format!("session {si:?} is logged out again (request #{id}) after its logout of #{first}: one logout for each login (FAQ 250)"),
                    vec![first, id],
                    vec![],
                )
                .because("sessions logged out twice"),
            ),
            (Some(bt::LOGOUT), None) => {
                opened_by_a_logout.entry(session.clone()).or_insert(id);
                sessions.insert(session, Session::Closed(id));
            }
            _ => {}
        }
    }
    let mut unmatched: Vec<(u64, String)> = sessions
        .into_iter()
        .filter_map(|((_, _, si), session)| match session {
            Session::Open(id, true) => Some((id, si)),
            _ => None,
        })
        .collect();
    unmatched.sort();
    findings.extend(unmatched.into_iter().map(|(id, si)| {
        finding(format!("session {si:?} logged in (request #{id}) and was never logged out: every login needs its logout with the same si (FAQ 250)"), vec![id], vec![])
            .because("logins never logged out")
    }));
    Some(findings)
}
