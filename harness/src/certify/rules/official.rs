//! The 8 official test cases (SPEC §8): each passes when one attempt on its test code got the right answer.

use nppa_protocol::messages::ct;
use nppa_protocol::StatusCode;

use super::{finding, Group, Judgement, Rule};
use crate::certify::model::Severity;
use crate::certify::traffic::Request;

/// The official case of each index, and what passes it.
const CASES: [(&str, &str); 8] = [
    ("OFFICIAL-01", "testcase01: check answered status 0"),
    ("OFFICIAL-02", "testcase02: check answered status 1"),
    ("OFFICIAL-03", "testcase03: check answered status 2"),
    ("OFFICIAL-04", "testcase04: query answered status 0"),
    ("OFFICIAL-05", "testcase05: query answered status 1"),
    ("OFFICIAL-06", "testcase06: query answered status 2"),
    ("OFFICIAL-07", "testcase07: loginout accepted with a guest record (ct=2)"),
    ("OFFICIAL-08", "testcase08: loginout accepted with a verified record (ct=0) and a preset pi"),
];

macro_rules! official {
    ($($index:literal),*) => {
        [$(Rule {
            id: CASES[$index].0,
            severity: Severity::Error,
            spec: "SPEC §8",
            group: Group::Official,
            summary: CASES[$index].1,
            judge: |requests, _| official_case($index, requests),
        }),*]
    };
}

pub(super) const RULES: [Rule; 8] = official!(0, 1, 2, 3, 4, 5, 6, 7);

fn official_case(case: usize, requests: &[Request<'_>]) -> Judgement {
    let tries: Vec<&Request<'_>> = requests.iter().filter(|r| r.test_case == Some(case)).collect();
    let passes = |r: &&Request<'_>| {
        let ok = r.entry.errcode == Some(0);
        let has_record_of = |kind: i64| r.records().iter().any(|rec| rec.ct.value() == Some(kind));
        match case {
            0..=5 => ok && r.status().map(u8::from) == Some((case % 3) as u8),
            6 => ok && has_record_of(ct::GUEST),
            _ => ok && has_record_of(ct::VERIFIED),
        }
    };
    if tries.iter().any(passes) {
        return Some(vec![]);
    }
    let (message, see) = match tries.last() {
        None => (
            format!(
                "{} was never attempted: no request used its test code",
                CASES[case].1.split(':').next().unwrap_or("")
            ),
            &[][..],
        ),
        Some(last) => {
            let (why, see) = root_cause(last);
            (format!("not passed; the last attempt was answered {}{why}", last.entry.answer), see)
        }
    };
    let ids = tries.iter().map(|r| r.entry.id).collect();
    Some(vec![finding(message, ids, tries.last().map(|r| describe(r)).into_iter().collect()).see(see)])
}

/// Where to look when the answer was not the test system's verdict on the case: a fault the run injected, or an
/// envelope other rules diagnose (named, so that the reports show them first).
fn root_cause(last: &Request<'_>) -> (&'static str, &'static [&'static str]) {
    if last.entry.fault.is_some() {
        return (
            " (a fault injected by --profile faults, not the test system's answer: the client may try the case again)",
            &[],
        );
    }
    match last.entry.errcode.and_then(StatusCode::from_code) {
        Some(StatusCode::PartnerAuthError) => {
            (" (its signature or sealing was refused: see ENV-SIGN and ENV-ENCRYPT)", &["ENV-SIGN", "ENV-ENCRYPT"])
        }
        Some(StatusCode::Expire) => (" (its timestamps was refused: see ENV-TIMESTAMPS)", &["ENV-TIMESTAMPS"]),
        Some(StatusCode::HeaderMiss) => (" (a header is missing: appId, bizId, timestamps and sign)", &[]),
        _ => ("", &[]),
    }
}

fn describe(request: &Request<'_>) -> String {
    let target = match &request.entry.query {
        Some(q) => format!("{}?{q}", request.entry.path),
        None => request.entry.path.clone(),
    };
    let plaintext = request.entry.plaintext.as_deref().map(|p| format!(" plaintext {p}")).unwrap_or_default();
    format!("#{} {} {target}{plaintext} → {}", request.entry.id, request.entry.method, request.entry.answer)
}
