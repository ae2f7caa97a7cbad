//! The envelope of every request: the signature (with a diagnosis of the mistake), the sealing, the timestamps,
//! a query's parameters, fresh ivs, no replays (R-SIG-1, R-ENC-1, R-TS-1, R-AI).

use std::collections::HashMap;

use nppa_mockserver::http_error::HttpErrorKind;
use nppa_protocol::sign::diagnosis::{self, Diagnosis, Signed};
use nppa_protocol::{ai as ai_rule, Interface, SecretKey, StatusCode};

use super::{finding, Group, Judgement, Rule};
use crate::certify::choices::{self, Choice};
use crate::certify::model::Severity::{Error, Warning};
use crate::certify::traffic::{Deployment, Request, Traffic};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "ENV-HTTP",
        severity: Error,
        spec: "SPEC §1, R-CONN-1",
        group: Group::Envelope,
        summary: "every request is HTTP/1.1 that parses, and arrives whole in time",
        judge: env_http,
    },
    Rule {
        id: "ENV-CONTENT-TYPE",
        severity: Warning,
        spec: "R-HDR-1",
        group: Group::Envelope,
        summary: "a POST says Content-Type: application/json (V2.1: required, \"application/json; charset=utf-8\")",
        judge: env_content_type,
    },
    Rule {
        id: "ENV-HOST",
        severity: Error,
        spec: "SPEC §1",
        group: Group::Envelope,
        summary: "in proxy mode, each interface goes to its own scheme and host (check https://api.wlc…, query and loginout http://api2.wlc…, the test system https://wlc…)",
        judge: env_host,
    },
    Rule {
        id: "ENV-SIGN",
        severity: Error,
        spec: "R-SIG-1",
        group: Group::Envelope,
        summary: "every request is signed per R-SIG-1 (with a diagnosis of the mistake)",
        judge: env_sign,
    },
    Rule {
        id: "ENV-ENCRYPT",
        severity: Error,
        spec: "R-ENC-1",
        group: Group::Envelope,
        summary: "bodies are sealed with AES-128-GCM under the hex-decoded key",
        judge: env_encryption,
    },
    Rule {
        id: "ENV-TIMESTAMPS",
        severity: Error,
        spec: "R-TS-1",
        group: Group::Envelope,
        summary: "timestamps are milliseconds within 5 s of the server clock",
        judge: env_timestamps,
    },
    Rule {
        id: "ENV-GET-BODY",
        severity: Warning,
        spec: "R-SIG-1",
        group: Group::Envelope,
        summary: "queries (GET) carry no body",
        judge: env_get_body,
    },
    Rule {
        id: "ENV-QUERY",
        severity: Error,
        spec: "R-AI, R-SIG-1",
        group: Group::Envelope,
        summary: "a query carries exactly one ai of 1–32 characters and no other parameter",
        judge: env_query_params,
    },
    Rule {
        id: "ENV-NONCE",
        severity: Error,
        spec: "R-ENC-1",
        group: Group::Envelope,
        summary: "a fresh AES-GCM iv for every plaintext under one key",
        judge: env_nonce,
    },
    Rule {
        id: "ENV-REPLAY",
        severity: Warning,
        spec: "R-TS-1",
        group: Group::Envelope,
        summary: "no byte-identical replays (retries are re-signed)",
        judge: env_replay,
    },
];

/// The diagnosis of a request's sign (`nppa_protocol::sign::diagnosis`), from what the traffic shows.
fn sign_diagnosis(request: &Request<'_>, key: &str) -> Diagnosis {
    let query: Vec<(&str, &str)> = request.query.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let signed = Signed {
        method: &request.entry.method,
        app_id: request.headers.app_id.unwrap_or(""),
        biz_id: request.headers.biz_id.unwrap_or(""),
        timestamps: request.headers.timestamps.unwrap_or(""),
        sign: request.headers.sign.unwrap_or(""),
        query: &query,
        body: request.body().as_bytes(),
        sealed_ai: request.plaintext.as_ref().and_then(|p| p.ai()),
        plaintext: request.entry.plaintext.as_deref().map(str::as_bytes),
    };
    diagnosis::diagnose(&signed, key)
}

/// The expected sign string and sign beside the client's probable ones.
fn evidence(diagnosis: &Diagnosis, sent: &str) -> Vec<String> {
    let mut evidence = vec![format!("expected sign string: {}", String::from_utf8_lossy(&diagnosis.expected_string))];
    if let Some(text) = &diagnosis.client_string {
        evidence.push(format!("client's sign string:  {}", String::from_utf8_lossy(text)));
    }
    evidence.push(format!("expected sign: {}", diagnosis.expected_sign));
    evidence.push(format!("sent sign:     {sent}"));
    evidence
}

fn env_sign(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    let judged: Vec<&Request<'_>> = requests.iter().filter(|r| r.entry.sign_ok.is_some()).collect();
    if judged.is_empty() {
        return None;
    }
    Some(
        judged
            .iter()
            .filter(|r| r.entry.sign_ok == Some(false))
            .filter_map(|r| {
                let key = deployment.keys.get(r.headers.app_id?)?;
                let found = sign_diagnosis(r, key);
                let evidence = evidence(&found, r.headers.sign.unwrap_or(""));
                let message = format!("request #{}: {}", r.entry.id, found.diagnosis);
                Some(finding(message, vec![r.entry.id], evidence).because(found.cause).resting_on(sign_choice(r)))
            })
            .collect(),
    )
}

/// The SPEC choice a sign refusal rests on: what the mock signs beyond what the seeds show.
fn sign_choice(r: &Request<'_>) -> Option<Choice> {
    match r.entry.method.as_str() {
        "POST" if !r.query.pairs.is_empty() => Some(choices::POST_QUERY_SIGNED),
        "GET" if !r.body().is_empty() => Some(choices::GET_BODY_SIGNED),
        _ => None,
    }
}

fn env_encryption(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    let sealed: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.entry.sign_ok == Some(true) && r.entry.method == "POST").collect();
    if sealed.is_empty() {
        return None;
    }
    Some(
        sealed
            .iter()
            .filter(|r| r.entry.plaintext.is_none() && r.own_errcode() == Some(StatusCode::PartnerAuthError.code()))
            .map(|r| {
                let data = r.sealed.as_ref().map_or("", |s| s.data.as_str());
                let key = r.headers.app_id.and_then(|a| deployment.keys.get(a)).cloned().unwrap_or_default();
                let ascii = key.get(..16).and_then(|k| SecretKey::from_hex(&hex::encode(k)).ok());
                let diagnosis = match ascii.map(|k| k.open(data)) {
                    Some(Ok(_)) => "sealed with the key's first 16 ASCII characters instead of the 16 bytes hex-decoded from it",
                    _ => "the body does not decrypt: AES-128-GCM with the hex-decoded key, iv (12 bytes) || ciphertext || tag (16 bytes), standard base64",
                };
                finding(format!("request #{}: {diagnosis}", r.entry.id), vec![r.entry.id], vec![format!("body: {}", r.body())])
                    .because(diagnosis)
            })
            .collect(),
    )
}

fn env_timestamps(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let stamped: Vec<&Request<'_>> = requests.iter().filter(|r| r.headers.timestamps.is_some()).collect();
    if stamped.is_empty() {
        return None;
    }
    Some(
        stamped
            .iter()
            .filter(|r| r.own_errcode() == Some(StatusCode::Expire.code()))
            .map(|r| {
                let ts = r.headers.timestamps.unwrap_or("");
                let (cause, message) = match ts.parse::<u64>() {
                    Ok(t) if ts.len() <= 10 => (
                        "timestamps in seconds",
                        format!("request #{}: timestamps {t} is in seconds; the spec wants milliseconds", r.entry.id),
                    ),
                    Ok(t) => (
                        "timestamps off the server clock",
                        format!(
                            "request #{}: timestamps {t} is {} ms from the server clock (window 5 s)",
                            r.entry.id,
                            t as i64 - r.at_ms() as i64
                        ),
                    ),
                    Err(_) => (
                        "timestamps not a number",
                        format!("request #{}: timestamps {ts:?} is not a number", r.entry.id),
                    ),
                };
                finding(message, vec![r.entry.id], vec![]).because(cause)
            })
            .collect(),
    )
}

fn env_get_body(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let gets: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.entry.method == "GET" && r.interface.is_some()).collect();
    if gets.is_empty() {
        return None;
    }
    Some(
        gets.iter()
            .filter(|r| !r.body().is_empty() || r.entry.body_base64.is_some())
            .map(|r| {
                finding(
                    format!("request #{}: a GET query carries a body", r.entry.id),
                    vec![r.entry.id],
                    vec![r.body().to_owned()],
                )
                .because("a GET query carries a body")
            })
            .collect(),
    )
}

fn env_query_params(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let queries: Vec<&Request<'_>> = requests.iter().filter(|r| r.interface == Some(Interface::Query)).collect();
    if queries.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for r in queries {
        let ai: Vec<&str> = r.query.ais().collect();
        match ai.as_slice() {
            [] => findings.push(
                finding(format!("request #{}: a query without its ai parameter", r.entry.id), vec![r.entry.id], vec![])
                    .because("a query without its ai parameter"),
            ),
            [ai] if !ai_rule::is_valid(ai) => findings.push(
                finding(
                    format!(
                        "request #{}: ai {ai:?} is empty or longer than {} characters (R-AI)",
                        r.entry.id,
                        ai_rule::MAX_AI_CHARS
                    ),
                    vec![r.entry.id],
                    vec![],
                )
                .because("an ai empty or too long"),
            ),
            _ => {}
        }
        let stray: Vec<&str> = r.query.others().collect();
        if !stray.is_empty() || ai.len() > 1 {
            findings.push(
                finding(
                    format!(
                        "request #{}: query parameters other than one ai ({stray:?}); each takes part in the signature",
                        r.entry.id
                    ),
                    vec![r.entry.id],
                    vec![],
                )
                .because("query parameters other than one ai"),
            );
        }
    }
    Some(findings)
}

fn env_nonce(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let sealed: Vec<(&Request<'_>, &[u8])> =
        requests.iter().filter_map(|r| Some((r, r.sealed.as_ref()?.iv.as_ref()?.as_slice()))).collect();
    if sealed.is_empty() {
        return None;
    }
    // R-ENC-1: an iv is used once per key; two enterprises (or the test account and production) may each count
    // their ivs from 1.
    let mut first: HashMap<(&str, &[u8]), &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for (request, iv) in &sealed {
        let key = (request.headers.app_id.unwrap_or(""), *iv);
        match first.get(&key) {
            Some(earlier) if earlier.entry.plaintext != request.entry.plaintext => findings.push(finding(
                format!(
                    "requests #{} and #{} use the same AES-GCM iv {} for different plaintexts: draw a fresh random iv for every request (a repeated iv breaks GCM)",
                    earlier.entry.id,
                    request.entry.id,
                    hex::encode(iv)
                ),
                vec![earlier.entry.id, request.entry.id],
                vec![],
            )
            .because("one iv for different plaintexts")),
            Some(earlier) => findings.push(finding(
                format!(
                    "request #{} re-sends #{}'s ciphertext with the same iv: seal a retry again with a fresh random iv",
                    request.entry.id, earlier.entry.id
                ),
                vec![earlier.entry.id, request.entry.id],
                vec![],
            )
            .because("a retry re-sends the ciphertext and iv")),
            None => {
                first.insert(key, request);
            }
        }
    }
    Some(findings)
}

fn env_replay(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let signed: Vec<&Request<'_>> = requests.iter().filter(|r| r.headers.sign.is_some()).collect();
    if signed.is_empty() {
        return None;
    }
    let mut seen: HashMap<(&str, &str, &str), &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for r in signed {
        let key = (r.headers.timestamps.unwrap_or(""), r.headers.sign.unwrap_or(""), r.body());
        if let Some(earlier) = seen.get(&key).filter(|earlier| !r.replays_after_reset(earlier)) {
            findings.push(finding(
                format!(
                    "request #{} repeats #{} byte for byte (same timestamps and sign) {} ms later: a retry must be re-signed with a fresh timestamps and iv",
                    r.entry.id,
                    earlier.entry.id,
                    r.at_ms().saturating_sub(earlier.at_ms())
                ),
                vec![earlier.entry.id, r.entry.id],
                vec![],
            )
            .because("byte-identical replays"));
        } else {
            seen.insert(key, r);
        }
    }
    Some(findings)
}

/// Requests the mock's HTTP layer refused or cut off (journaled with `http_error`): what went wrong, in words a
/// client author can act on.
fn env_http(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    if requests.is_empty() && requests.broken.is_empty() {
        return None;
    }
    let late_bodies = requests.iter().map(|r| r.entry).filter(|e| e.http_error.is_some());
    let findings = requests.broken.iter().copied().chain(late_bodies).filter_map(|entry| {
        let error = entry.http_error.as_ref()?;
        let what = match error.kind {
            HttpErrorKind::Malformed => {
                "a request that does not parse as HTTP/1.1 (bad bytes in its request line or a header)"
            }
            HttpErrorKind::TooLarge => "a request head over the limits (more than 100 headers, or a URI over 64 KiB)",
            HttpErrorKind::Http2 => {
                "an HTTP/2 connection preface sent without negotiation: NPPA's interfaces are HTTP/1.1"
            }
            HttpErrorKind::Incomplete => "a connection closed in the middle of a request head",
            HttpErrorKind::HeadTimeout => "a request head that did not arrive in time (`server.header_timeout_s`)",
            HttpErrorKind::BodyTimeout => "a request body that did not arrive in time (`server.body_timeout_s`)",
        };
        let status = match entry.http_status {
            0 => "closed without an answer".to_owned(),
            status => format!("answered HTTP {status}"),
        };
        let sent =
            entry.raw.as_deref().map(|raw| format!("first bytes: {:?}", raw.chars().take(160).collect::<String>()));
        let sent = sent.or_else(|| {
            entry.raw_base64.as_deref().map(|b| format!("first bytes (base64): {}", &b[..b.len().min(160)]))
        });
        Some(
            finding(
                format!("#{}: {what}; the mock {status} ({})", entry.id, error.detail),
                vec![entry.id],
                sent.into_iter().collect(),
            )
            .because(what),
        )
    });
    Some(findings.collect())
}

/// V2.1's request headers list Content-Type as required, "默认值 application/json; charset=utf-8". The mock takes a
/// POST without it (a choice, `rules.require_content_type`); the real system may not.
fn env_content_type(requests: &Traffic<'_>, _: &Deployment) -> Judgement {
    let posts: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.entry.method == "POST" && r.interface.is_some()).collect();
    if posts.is_empty() {
        return None;
    }
    let findings = posts.into_iter().filter_map(|r| {
        let sent = r.entry.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("content-type")).map(|(_, v)| v);
        let media_type = sent.map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        let (cause, message) = match (sent, media_type.as_deref()) {
            (Some(_), Some("application/json")) => return None,
            (None, _) => ("POSTs without a Content-Type", format!("request #{} has no Content-Type header: send `Content-Type: application/json; charset=utf-8`", r.entry.id)),
            (Some(value), _) => ("POSTs labelled other than application/json", format!("request #{} says Content-Type: {value}; the body is JSON: send `application/json; charset=utf-8` (a string body is form-encoded by default in some HTTP libraries)", r.entry.id)),
        };
        Some(finding(message, vec![r.entry.id], vec![]).because(cause).resting_on(Some(choices::CONTENT_TYPE_READ_AS_JSON)))
    });
    Some(findings.collect())
}

/// SPEC §1: where each interface lives. Judged in proxy mode only, where the client addresses NPPA's own hosts.
fn env_host(requests: &Traffic<'_>, deployment: &Deployment) -> Judgement {
    if !deployment.proxy {
        return None;
    }
    let addressed: Vec<(&Request<'_>, Interface, &str)> =
        requests.iter().filter_map(|r| Some((r, r.interface?, r.entry.target.as_deref()?))).collect();
    if addressed.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (r, interface, target) in addressed {
        let expected = if r.test_path { Interface::TEST_SYSTEM_HOST } else { interface.production_host() };
        let got = without_default_port(target);
        if got.eq_ignore_ascii_case(expected) || !seen.insert((interface, r.test_path, got.to_ascii_lowercase())) {
            continue;
        }
        findings.push(finding(
            format!(
                "request #{} sends {interface}{} to {got}; NPPA serves it at {expected} (SPEC §1)",
                r.entry.id,
                if r.test_path { " (test system)" } else { "" }
            ),
            vec![r.entry.id],
            vec![],
        ));
    }
    Some(findings)
}

/// `https://host:443` → `https://host`, `http://host:80` → `http://host`.
fn without_default_port(target: &str) -> &str {
    target
        .strip_suffix(":443")
        .filter(|t| t.starts_with("https://"))
        .or_else(|| target.strip_suffix(":80").filter(|t| t.starts_with("http://")))
        .unwrap_or(target)
}
