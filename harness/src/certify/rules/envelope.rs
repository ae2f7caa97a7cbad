//! The envelope of every request: the signature (with a diagnosis of the mistake), the sealing, the timestamps,
//! a query's parameters, fresh ivs, no replays (R-SIG-1, R-ENC-1, R-TS-1, R-AI).

use std::collections::HashMap;

use nppa_mockserver::http_error::HttpErrorKind;
use nppa_protocol::{ai as ai_rule, sign, Interface, SecretKey, StatusCode};
use serde_json::Value;

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

/// Why a request's sign is wrong, as far as the traffic shows.
struct SignDiagnosis {
    /// The mistake, with this request's values (the timestamps it signed, the body it re-serialised).
    diagnosis: String,
    /// The mistake without them: what reports group by.
    cause: String,
    /// The expected sign string and sign beside the client's probable ones.
    evidence: Vec<String>,
}

/// The signature every request should carry, and a diagnosis when it does not.
fn sign_diagnosis(request: &Request<'_>, key: &str) -> SignDiagnosis {
    let (app_id, biz_id, ts, sent) = (
        request.headers.app_id.unwrap_or(""),
        request.headers.biz_id.unwrap_or(""),
        request.headers.timestamps.unwrap_or(""),
        request.headers.sign.unwrap_or(""),
    );
    let body = request.body().as_bytes();
    let query_pairs: Vec<(&str, &str)> = request.query.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    fn system<'a>(app_id: &'a str, biz_id: &'a str, ts: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![("appId", app_id), ("bizId", biz_id), ("timestamps", ts)]
    }
    fn with<'a>(mut pairs: Vec<(&'a str, &'a str)>, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        pairs.extend_from_slice(more);
        pairs
    }
    let expected_string = sign::sign_string(key, &with(system(app_id, biz_id, ts), &query_pairs), body);
    let expected = sign::sign(key, &with(system(app_id, biz_id, ts), &query_pairs), body);
    // `key` + pairs in the given order + tail, for the unsorted variants.
    let in_order = |pairs: &[(&str, &str)], tail: &[u8]| {
        let mut text = key.as_bytes().to_vec();
        for (k, v) in pairs {
            text.extend_from_slice(k.as_bytes());
            text.extend_from_slice(v.as_bytes());
        }
        text.extend_from_slice(tail);
        text
    };
    // The ai of a sealed check, which a client may wrongly add to the signed parameters.
    let sealed_ai = (request.entry.method == "POST").then(|| request.plaintext.as_ref().and_then(|p| p.ai())).flatten();
    // Each known mistake, with the string a client making it would have hashed, when it signed `ts`.
    let mistakes_at = |ts: &str| -> Vec<(String, Vec<u8>)> {
        let (system, params) = (system(app_id, biz_id, ts), with(system(app_id, biz_id, ts), &query_pairs));
        let mut mistakes: Vec<(String, Vec<u8>)> = Vec::new();
        if !query_pairs.is_empty() {
            let appended: Vec<u8> =
                query_pairs.iter().flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()].concat()).collect();
            mistakes.push((
                "parameters not sorted by key: the query parameters (ai) must sort before appId".into(),
                in_order(&params, body),
            ));
            mistakes.push((
                "the URL query parameters (ai) were left out of the sign string".into(),
                sign::sign_string(key, &system, body),
            ));
            mistakes.push((
                "the query parameters were appended after the body instead of sorted among the parameters".into(),
                in_order(&system, &[body, appended.as_slice()].concat()),
            ));
        }
        if let Some(ai) = sealed_ai {
            let with_ai: Vec<(&str, &str)> = params.iter().copied().chain([("ai", ai)]).collect();
            mistakes.push((
                "an ai parameter the request does not carry was signed: a POST has no query parameters; its ai is in the sealed body only".into(),
                sign::sign_string(key, &with_ai, body),
            ));
        }
        for variant in reserialised_bodies(body) {
            // The client's sign string in the evidence shows the body it signed.
            mistakes.push((
                "the body was re-serialised before signing; sign the raw bytes you send (R-SIG-2)".into(),
                sign::sign_string(key, &params, &variant),
            ));
        }
        if let Ok(mut raw_key) = hex::decode(key) {
            raw_key.extend_from_slice(&sign::sign_string("", &params, body));
            mistakes.push((
                "the sign string starts with the key's 16 decoded bytes; it starts with the secretKey as issued (32 hex characters)".into(),
                raw_key,
            ));
        }
        mistakes.push((
            "the secretKey is missing from the start of the sign string".into(),
            sign::sign_string("", &params, body),
        ));
        if body.is_empty() {
            mistakes.push(("a GET was signed with a body".into(), sign::sign_string(key, &params, b"{}")));
        } else if request.entry.method == "GET" {
            mistakes.push((
                "the body this GET carries was left out of the sign string: send a GET without a body".into(),
                sign::sign_string(key, &params, b""),
            ));
        }
        mistakes
    };
    let hash = |text: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text));
    let shifted = |delta: i64| -> Option<(String, String)> {
        let t = ts.parse::<i64>().ok()?;
        let side = if delta < 0 { "before" } else { "after" };
        Some(((t + delta).to_string(), format!("{} ms {side} the value sent", delta.abs())))
    };
    // A timestamps other than the one sent: any shift within the 5 s window alone, or a small one (the usual
    // "read the clock twice") together with one of the mistakes above.
    let off_by = || {
        (-5000i64..=5000).filter(|d| *d != 0).find_map(|delta| {
            let (other, how) = shifted(delta)?;
            let text = sign::sign_string(key, &with(system(app_id, biz_id, &other), &query_pairs), body);
            (hash(&text) == sent)
                .then(|| (format!("signed with timestamps {other} ({how}): sign the exact string you send"), text))
        })
    };
    let off_by_and_a_mistake = || {
        (-50i64..=50).filter(|d| *d != 0).find_map(|delta| {
            let (other, how) = shifted(delta)?;
            mistakes_at(&other).into_iter().find(|(_, text)| hash(text) == sent).map(|(mistake, text)| {
                let diagnosis =
                    format!("two mistakes: {mistake}; and signed with timestamps {other} ({how}), not the value sent");
                (diagnosis, mistake, text)
            })
        })
    };
    const OTHER_TIMESTAMPS: &str = "signed with a timestamps other than the one sent: sign the exact string you send";
    let (diagnosis, cause, client_string) = if sent != expected && sent.eq_ignore_ascii_case(&expected) {
        let diagnosis = "the sign is upper-case hex; the server compares lower-case hex".to_owned();
        (diagnosis.clone(), diagnosis, Some(expected_string.clone()))
    } else if let Some((diagnosis, text)) = mistakes_at(ts).into_iter().find(|(_, text)| hash(text) == sent) {
        (diagnosis.clone(), diagnosis, Some(text))
    } else if let Some((diagnosis, text)) = off_by() {
        (diagnosis, OTHER_TIMESTAMPS.to_owned(), Some(text))
    } else if let Some((diagnosis, mistake, text)) = off_by_and_a_mistake() {
        (diagnosis, format!("two mistakes: {mistake}; and {OTHER_TIMESTAMPS}"), Some(text))
    } else {
        let diagnosis = "the sign matches none of the known mistakes: check the key, and the exact bytes signed";
        (diagnosis.to_owned(), diagnosis.to_owned(), None)
    };
    let mut evidence = vec![format!("expected sign string: {}", String::from_utf8_lossy(&expected_string))];
    if let Some(text) = client_string {
        evidence.push(format!("client's sign string:  {}", String::from_utf8_lossy(&text)));
    }
    evidence.push(format!("expected sign: {expected}"));
    evidence.push(format!("sent sign:     {sent}"));
    SignDiagnosis { diagnosis, cause, evidence }
}

/// Bodies a client may have signed instead of the raw one: spaced or pretty JSON, or compact when sent spaced.
fn reserialised_bodies(body: &[u8]) -> Vec<Vec<u8>> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return vec![] };
    let compact = serde_json::to_vec(&value).unwrap_or_default();
    let pretty = serde_json::to_vec_pretty(&value).unwrap_or_default();
    let spaced = String::from_utf8_lossy(&compact).replace("\":\"", "\": \"").into_bytes();
    [compact, pretty, spaced].into_iter().filter(|b| b.as_slice() != body).collect()
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
                let SignDiagnosis { diagnosis, cause, evidence } = sign_diagnosis(r, key);
                let finding = finding(format!("request #{}: {diagnosis}", r.entry.id), vec![r.entry.id], evidence);
                Some(finding.because(cause).resting_on(sign_choice(r)))
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
            .filter(|r| r.entry.plaintext.is_none() && r.entry.errcode == Some(StatusCode::PartnerAuthError.code()))
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
            .filter(|r| r.entry.errcode == Some(StatusCode::Expire.code()))
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
