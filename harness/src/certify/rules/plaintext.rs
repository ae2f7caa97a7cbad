//! Plaintexts of the spec's JSON types and units (R-ID, R-BEH-TIME).

use nppa_protocol::StatusCode;

use super::{finding, Group, Judgement, Rule};
use crate::certify::model::Severity::Error;
use crate::certify::traffic::{Deployment, Plaintext, Request, Traffic};

pub(super) const RULES: &[Rule] = &[Rule {
    id: "PT-SHAPE",
    severity: Error,
    spec: "R-ID, R-BEH-TIME",
    group: Group::Behaviour,
    summary: "plaintexts have the spec's JSON types and units (idNum X upper case, ot in seconds)",
    judge: plaintext_shape,
}];

fn plaintext_shape(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let parsed: Vec<&Request<'_>> = requests.iter().filter(|r| r.json_plaintext()).collect();
    if parsed.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for r in parsed {
        let plaintext = r.entry.plaintext.as_deref().unwrap_or("");
        if r.own_errcode() == Some(StatusCode::ParamCheckError.code()) {
            findings.push(finding(format!("request #{}: the plaintext has the wrong shape (1012): numbers must be JSON numbers, every field present, ai and name at most 32 characters", r.entry.id), vec![r.entry.id], vec![plaintext.to_owned()]).because("plaintexts of the wrong shape"));
        }
        if r.plaintext.as_ref().and_then(Plaintext::id_num).is_some_and(|id| id.ends_with('x')) {
            findings.push(
                finding(
                    format!("request #{}: idNum ends with a lower-case x; the spec wants X", r.entry.id),
                    vec![r.entry.id],
                    vec![plaintext.to_owned()],
                )
                .because("idNum with a lower-case x"),
            );
        }
        for record in r.records() {
            if record.ot.value().is_some_and(|ot| ot > 100_000_000_000) {
                findings.push(
                    finding(
                        format!(
                            "request #{}: record no {} has ot {} in milliseconds; ot is Unix seconds",
                            r.entry.id, record.no, record.ot
                        ),
                        vec![r.entry.id],
                        vec![],
                    )
                    .because("ot in milliseconds"),
                );
            }
        }
    }
    Some(findings)
}
