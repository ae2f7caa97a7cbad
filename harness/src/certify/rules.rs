//! The rules `nppa certify` judges a client's traffic by. Each has an id, a severity and the SPEC rule it
//! enforces; each finding names the requests (journal ids) and quotes the evidence.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use nppa_protocol::answer::ParsedAnswer;
use nppa_protocol::behaviour::{self, MAX_RECORDS};
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
use nppa_protocol::messages::AuthStatus;
use nppa_protocol::{ai as ai_rule, beijing, quota, sign, Interface, SecretKey, StatusCode};
use serde_json::Value;

use super::model::{Finding, RuleResult, Severity, Verdict};
use super::traffic::{Deployment, Request};

/// Which rules a run judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The 8 official test cases, and the envelope of every request.
    Official,
    /// Envelope, plaintext, behaviour reporting, real-name discipline and error handling.
    Behaviour,
    /// Error handling under injected faults (HTTP errors, resets, broken JSON, slow answers, 1006,
    /// loginout `data` variants), with the envelope rules.
    Faults,
    /// Every rule, without injecting faults.
    All,
}

/// Which profiles a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// The 8 official cases.
    Official,
    /// The envelope of every request: in every profile.
    Envelope,
    /// Plaintext, behaviour reporting, real-name discipline.
    Behaviour,
    /// Error handling: with behaviour, and under injected faults.
    Errors,
    /// Surviving injected faults.
    Faults,
}

impl Group {
    fn in_profile(self, profile: Profile) -> bool {
        match profile {
            Profile::All => true,
            Profile::Official => matches!(self, Group::Official | Group::Envelope),
            Profile::Behaviour => matches!(self, Group::Envelope | Group::Behaviour | Group::Errors),
            Profile::Faults => matches!(self, Group::Envelope | Group::Errors | Group::Faults),
        }
    }
}

/// What a judge returns: `None` when the traffic gave it nothing to judge.
type Judgement = Option<Vec<Finding>>;

/// One rule.
pub struct RuleDef {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub spec: &'static str,
    group: Group,
    judge: fn(&[Request<'_>], &Deployment) -> Judgement,
}

fn finding(message: impl Into<String>, ids: Vec<u64>, evidence: Vec<String>) -> Finding {
    Finding { message: message.into(), journal_ids: ids, evidence }
}

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

fn official_case(case: usize, requests: &[Request<'_>]) -> Judgement {
    let tries: Vec<&Request<'_>> = requests.iter().filter(|r| r.test_case == Some(case)).collect();
    let passes = |r: &&Request<'_>| {
        let ok = r.entry.errcode == Some(0);
        match case {
            0..=5 => ok && r.status().map(u8::from) == Some((case % 3) as u8),
            6 => ok && r.records().iter().any(|rec| rec["ct"] == 2),
            _ => ok && r.records().iter().any(|rec| rec["ct"] == 0),
        }
    };
    if tries.iter().any(passes) {
        return Some(vec![]);
    }
    let message = match tries.last() {
        None => format!(
            "{} was never attempted: no request used its test code",
            CASES[case].1.split(':').next().unwrap_or("")
        ),
        Some(last) => format!("not passed; the last attempt was answered {}", last.entry.answer),
    };
    let ids = tries.iter().map(|r| r.entry.id).collect();
    Some(vec![finding(message, ids, tries.last().map(|r| describe(r)).into_iter().collect())])
}

fn describe(request: &Request<'_>) -> String {
    let target = match &request.entry.query {
        Some(q) => format!("{}?{q}", request.entry.path),
        None => request.entry.path.clone(),
    };
    let plaintext = request.entry.plaintext.as_deref().map(|p| format!(" plaintext {p}")).unwrap_or_default();
    format!("#{} {} {target}{plaintext} → {}", request.entry.id, request.entry.method, request.entry.answer)
}

/// The signature every request should carry, and a diagnosis when it does not.
fn sign_diagnosis(request: &Request<'_>, key: &str) -> (String, Vec<String>) {
    let (app_id, biz_id, ts, sent) = (
        request.header("appId").unwrap_or(""),
        request.header("bizId").unwrap_or(""),
        request.header("timestamps").unwrap_or(""),
        request.header("sign").unwrap_or(""),
    );
    let query = request.query();
    let body = request.body().as_bytes();
    let system: Vec<(&str, &str)> = vec![("appId", app_id), ("bizId", biz_id), ("timestamps", ts)];
    let query_pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let params: Vec<(&str, &str)> = system.iter().chain(&query_pairs).copied().collect();
    let expected_string = sign::sign_string(key, &params, body);
    let expected = sign::sign(key, &params, body);
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
    // Each known mistake, with the string a client making it would have hashed.
    let mut mistakes: Vec<(String, Vec<u8>)> = Vec::new();
    if !query_pairs.is_empty() {
        let appended: Vec<u8> = query_pairs.iter().flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()].concat()).collect();
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
    for variant in reserialised_bodies(body) {
        let shown = String::from_utf8_lossy(&variant).into_owned();
        mistakes.push((
            format!("the body was re-serialised before signing ({shown}); sign the raw bytes you send (R-SIG-2)"),
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
    }
    let hash = |text: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text));
    let off_by = || {
        let t = ts.parse::<i64>().ok()?;
        (-5000i64..=5000).filter(|d| *d != 0).find_map(|delta| {
            let other = (t + delta).to_string();
            let mut shifted = params.clone();
            shifted[2] = ("timestamps", other.as_str());
            let text = sign::sign_string(key, &shifted, body);
            (hash(&text) == sent).then(|| {
                let side = if delta < 0 { "before" } else { "after" };
                (
                    format!(
                        "signed with timestamps {other} ({} ms {side} the value sent): sign the exact string you send",
                        delta.abs()
                    ),
                    text,
                )
            })
        })
    };
    let (diagnosis, client_string) = if sent != expected && sent.eq_ignore_ascii_case(&expected) {
        ("the sign is upper-case hex; the server compares lower-case hex".to_owned(), Some(expected_string.clone()))
    } else if let Some((diagnosis, text)) = mistakes.into_iter().find(|(_, text)| hash(text) == sent) {
        (diagnosis, Some(text))
    } else if let Some((diagnosis, text)) = off_by() {
        (diagnosis, Some(text))
    } else {
        ("the sign matches none of the known mistakes: check the key, and the exact bytes signed".to_owned(), None)
    };
    let mut evidence = vec![format!("expected sign string: {}", String::from_utf8_lossy(&expected_string))];
    if let Some(text) = client_string {
        evidence.push(format!("client's sign string:  {}", String::from_utf8_lossy(&text)));
    }
    evidence.push(format!("expected sign: {expected}"));
    evidence.push(format!("sent sign:     {sent}"));
    (diagnosis, evidence)
}

/// Bodies a client may have signed instead of the raw one: spaced or pretty JSON, or compact when sent spaced.
fn reserialised_bodies(body: &[u8]) -> Vec<Vec<u8>> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return vec![] };
    let compact = serde_json::to_vec(&value).unwrap_or_default();
    let pretty = serde_json::to_vec_pretty(&value).unwrap_or_default();
    let spaced = String::from_utf8_lossy(&compact).replace("\":\"", "\": \"").into_bytes();
    [compact, pretty, spaced].into_iter().filter(|b| b.as_slice() != body).collect()
}

fn env_sign(requests: &[Request<'_>], deployment: &Deployment) -> Judgement {
    let judged: Vec<&Request<'_>> = requests.iter().filter(|r| r.entry.sign_ok.is_some()).collect();
    if judged.is_empty() {
        return None;
    }
    Some(
        judged
            .iter()
            .filter(|r| r.entry.sign_ok == Some(false))
            .filter_map(|r| {
                let key = deployment.keys.get(r.header("appId")?)?;
                let (diagnosis, evidence) = sign_diagnosis(r, key);
                Some(finding(format!("request #{}: {diagnosis}", r.entry.id), vec![r.entry.id], evidence))
            })
            .collect(),
    )
}

fn env_encryption(requests: &[Request<'_>], deployment: &Deployment) -> Judgement {
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
                let data = nppa_protocol::envelope::DataBody::parse(r.body().as_bytes()).map(|d| d.data).unwrap_or_default();
                let key = r.header("appId").and_then(|a| deployment.keys.get(a)).cloned().unwrap_or_default();
                let ascii = key.get(..16).and_then(|k| SecretKey::from_hex(&hex::encode(k)).ok());
                let diagnosis = match ascii.map(|k| k.open(&data)) {
                    Some(Ok(_)) => "sealed with the key's first 16 ASCII characters instead of the 16 bytes hex-decoded from it",
                    _ => "the body does not decrypt: AES-128-GCM with the hex-decoded key, iv (12 bytes) || ciphertext || tag (16 bytes), standard base64",
                };
                finding(format!("request #{}: {diagnosis}", r.entry.id), vec![r.entry.id], vec![format!("body: {}", r.body())])
            })
            .collect(),
    )
}

fn env_timestamps(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let stamped: Vec<&Request<'_>> = requests.iter().filter(|r| r.header("timestamps").is_some()).collect();
    if stamped.is_empty() {
        return None;
    }
    Some(
        stamped
            .iter()
            .filter(|r| r.entry.errcode == Some(StatusCode::Expire.code()))
            .map(|r| {
                let ts = r.header("timestamps").unwrap_or("");
                let message = match ts.parse::<u64>() {
                    Ok(t) if ts.len() <= 10 => {
                        format!("request #{}: timestamps {t} is in seconds; the spec wants milliseconds", r.entry.id)
                    }
                    Ok(t) => format!(
                        "request #{}: timestamps {t} is {} ms from the server clock (window 5 s)",
                        r.entry.id,
                        t as i64 - r.at_ms() as i64
                    ),
                    Err(_) => format!("request #{}: timestamps {ts:?} is not a number", r.entry.id),
                };
                finding(message, vec![r.entry.id], vec![])
            })
            .collect(),
    )
}

fn env_get_body(requests: &[Request<'_>], _: &Deployment) -> Judgement {
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
            })
            .collect(),
    )
}

fn iv_of(request: &Request<'_>) -> Option<Vec<u8>> {
    let data = nppa_protocol::envelope::DataBody::parse(request.body().as_bytes())?.data;
    let raw = base64::engine::general_purpose::STANDARD.decode(data).ok()?;
    raw.get(..12).map(<[u8]>::to_vec)
}

fn env_nonce(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let sealed: Vec<(&Request<'_>, Vec<u8>)> = requests.iter().filter_map(|r| Some((r, iv_of(r)?))).collect();
    if sealed.is_empty() {
        return None;
    }
    let mut first: HashMap<&[u8], &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for (request, iv) in &sealed {
        match first.get(iv.as_slice()) {
            Some(earlier) if earlier.entry.plaintext != request.entry.plaintext => findings.push(finding(
                format!(
                    "requests #{} and #{} use the same AES-GCM iv {} for different plaintexts: draw a fresh random iv for every request (a repeated iv breaks GCM)",
                    earlier.entry.id,
                    request.entry.id,
                    hex::encode(iv)
                ),
                vec![earlier.entry.id, request.entry.id],
                vec![],
            )),
            Some(earlier) => findings.push(finding(
                format!(
                    "request #{} re-sends #{}'s ciphertext with the same iv: seal a retry again with a fresh random iv",
                    request.entry.id, earlier.entry.id
                ),
                vec![earlier.entry.id, request.entry.id],
                vec![],
            )),
            None => {
                first.insert(iv.as_slice(), request);
            }
        }
    }
    Some(findings)
}

fn env_replay(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let signed: Vec<&Request<'_>> = requests.iter().filter(|r| r.header("sign").is_some()).collect();
    if signed.is_empty() {
        return None;
    }
    let mut seen: HashMap<(&str, &str, &str), &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for r in signed {
        let key = (r.header("timestamps").unwrap_or(""), r.header("sign").unwrap_or(""), r.body());
        if let Some(earlier) = seen.get(&key) {
            findings.push(finding(
                format!(
                    "request #{} repeats #{} byte for byte (same timestamps and sign) {} ms later: a retry must be re-signed with a fresh timestamps and iv",
                    r.entry.id,
                    earlier.entry.id,
                    r.at_ms().saturating_sub(earlier.at_ms())
                ),
                vec![earlier.entry.id, r.entry.id],
                vec![],
            ));
        } else {
            seen.insert(key, r);
        }
    }
    Some(findings)
}

fn plaintext_shape(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let parsed: Vec<&Request<'_>> = requests.iter().filter(|r| r.plaintext.is_some()).collect();
    if parsed.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for r in parsed {
        let plaintext = r.entry.plaintext.as_deref().unwrap_or("");
        if r.entry.errcode == Some(StatusCode::ParamCheckError.code()) {
            findings.push(finding(format!("request #{}: the plaintext has the wrong shape (1012): numbers must be JSON numbers, every field present, ai and name at most 32 characters", r.entry.id), vec![r.entry.id], vec![plaintext.to_owned()]));
        }
        if r.plaintext.as_ref().and_then(|p| p["idNum"].as_str()).is_some_and(|id| id.ends_with('x')) {
            findings.push(finding(
                format!("request #{}: idNum ends with a lower-case x; the spec wants X", r.entry.id),
                vec![r.entry.id],
                vec![plaintext.to_owned()],
            ));
        }
        for record in r.records() {
            if record["ot"].as_i64().is_some_and(|ot| ot > 100_000_000_000) {
                findings.push(finding(
                    format!(
                        "request #{}: record no {} has ot {} in milliseconds; ot is Unix seconds",
                        r.entry.id, record["no"], record["ot"]
                    ),
                    vec![r.entry.id],
                    vec![],
                ));
            }
        }
    }
    Some(findings)
}

/// Loginout requests whose plaintext decrypted.
fn decrypted_reports<'r, 'a>(requests: &'r [Request<'a>]) -> Vec<&'r Request<'a>> {
    requests.iter().filter(|r| r.interface == Some(Interface::Loginout) && r.plaintext.is_some()).collect()
}

fn behaviour_batches(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let reports = decrypted_reports(requests);
    if reports.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for r in reports {
        let records = r.records();
        if records.len() > MAX_RECORDS {
            findings.push(finding(
                format!(
                    "request #{}: {} records in one report; at most {MAX_RECORDS} (R-BEH-1)",
                    r.entry.id,
                    records.len()
                ),
                vec![r.entry.id],
                vec![],
            ));
        }
        let numbers: Vec<i64> = records.iter().filter_map(|rec| rec["no"].as_i64()).collect();
        let expected: Vec<i64> = (1..=records.len() as i64).collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        if sorted != expected && records.len() <= MAX_RECORDS {
            findings.push(finding(
                format!("request #{}: record numbers {numbers:?} are not 1..{} each once", r.entry.id, records.len()),
                vec![r.entry.id],
                vec![],
            ));
        }
    }
    Some(findings)
}

fn behaviour_pairs(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let accepted: Vec<&Request<'_>> = requests
        .iter()
        .filter(|r| {
            r.interface == Some(Interface::Loginout) && !r.test_path && matches!(r.entry.errcode, Some(0) | Some(3001))
        })
        .collect();
    if accepted.is_empty() {
        return None;
    }
    let mut logins: HashMap<String, u64> = HashMap::new();
    let mut logouts: HashSet<String> = HashSet::new();
    for r in &accepted {
        let rejected = r.rejected_numbers();
        for record in r.records() {
            if record["no"].as_i64().is_some_and(|no| rejected.contains(&no)) {
                continue;
            }
            let si = record["si"].as_str().unwrap_or("").to_owned();
            match record["bt"].as_i64() {
                Some(1) => {
                    logins.entry(si).or_insert(r.entry.id);
                }
                Some(0) => {
                    logouts.insert(si);
                }
                _ => {}
            }
        }
    }
    let mut unmatched: Vec<(&String, &u64)> = logins.iter().filter(|(si, _)| !logouts.contains(*si)).collect();
    unmatched.sort_by_key(|(_, id)| **id);
    Some(
        unmatched
            .into_iter()
            .map(|(si, id)| finding(format!("session {si:?} logged in (request #{id}) and was never logged out: every login needs its logout with the same si (FAQ 250)"), vec![*id], vec![]))
            .collect(),
    )
}

fn person(request: &Request<'_>) -> Option<(String, String)> {
    let p = request.plaintext.as_ref()?;
    Some((p["name"].as_str()?.to_owned(), p["idNum"].as_str()?.to_owned()))
}

fn realname_recheck(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let checks: Vec<&Request<'_>> = requests
        .iter()
        .filter(|r| r.interface == Some(Interface::Check) && !r.test_path && r.entry.errcode == Some(0))
        .collect();
    if checks.is_empty() {
        return None;
    }
    let mut pending: HashMap<(String, String), u64> = HashMap::new();
    let mut failed: HashMap<(String, String), Vec<u64>> = HashMap::new();
    let mut findings = Vec::new();
    for r in checks {
        let Some(who) = person(r) else { continue };
        if let Some(first) = pending.get(&who) {
            findings.push(finding(
                format!("request #{} checks {} again while its check #{first} is pending: query the pending ai instead (V2.1 FAQ 3)", r.entry.id, who.0),
                vec![*first, r.entry.id],
                vec![],
            ));
        }
        if let Some(earlier) = failed.get(&who) {
            if earlier.len() >= 2 {
                findings.push(finding(
                    format!("request #{} checks {} a {}th time after it failed: do not re-send identities that failed (V2.1 FAQ 3)", r.entry.id, who.0, earlier.len() + 1),
                    earlier.iter().copied().chain([r.entry.id]).collect(),
                    vec![],
                ));
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

fn errors_busy(requests: &[Request<'_>], deployment: &Deployment) -> Judgement {
    let busy = StatusCode::Busy.code();
    if !requests.iter().any(|r| r.entry.errcode == Some(busy)) {
        return None;
    }
    // R-RL-2: after a 1006 the (appId, bizId, interface) is blocked 60 s; 1 s of tolerance for requests in flight.
    struct Episode {
        first_id: u64,
        start_ms: u64,
        offenders: Vec<u64>,
    }
    let mut open: HashMap<(&str, &str, Option<Interface>), Episode> = HashMap::new();
    let mut closed = Vec::new();
    for r in requests {
        let key = (r.header("appId").unwrap_or(""), r.header("bizId").unwrap_or(""), r.interface);
        if let Some(episode) = open.get_mut(&key) {
            let since = r.at_ms().saturating_sub(episode.start_ms);
            if since < quota::BLOCK_MS {
                if since > deployment.thresholds.busy_tolerance_ms {
                    episode.offenders.push(r.entry.id);
                }
                continue;
            }
            closed.extend(open.remove(&key));
        }
        if r.entry.errcode == Some(busy) {
            open.insert(key, Episode { first_id: r.entry.id, start_ms: r.at_ms(), offenders: vec![] });
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
                    "{} request(s) were sent to the blocked interface within 60 s of the 1006 of #{} (first: #{}): back off 60 s (R-RL-2)",
                    e.offenders.len(),
                    e.first_id,
                    e.offenders[0]
                );
                finding(message, [e.first_id].into_iter().chain(e.offenders).collect(), vec![])
            })
            .collect(),
    )
}

/// Codes a client must not retry unchanged: the request itself is wrong (`StatusCode::is_final_error`).
fn non_transient(code: u16) -> bool {
    StatusCode::from_code(code).is_some_and(StatusCode::is_final_error)
}

/// Refused for what the plaintext says (the envelope passed): re-sending the same plaintext cannot help. A refusal
/// of the envelope (1007, 1011, …) is fixed by re-signing, which sends the same plaintext again, rightly.
fn refused_for_its_plaintext(r: &Request<'_>) -> Option<u16> {
    r.entry.errcode.filter(|c| non_transient(*c) && r.entry.sign_ok == Some(true))
}

fn errors_retry(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    if !requests.iter().any(|r| refused_for_its_plaintext(r).is_some()) {
        return None;
    }
    let mut findings = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let Some(code) = refused_for_its_plaintext(r) else { continue };
        let same = |later: &&Request<'_>| {
            later.entry.path == r.entry.path
                && later.entry.query == r.entry.query
                && later.entry.plaintext.is_some()
                && later.entry.plaintext == r.entry.plaintext
        };
        if let Some(retry) = requests[i + 1..].iter().find(same) {
            findings.push(finding(
                format!("request #{} resends #{}'s plaintext unchanged after errcode {code}, which will not change by retrying", retry.entry.id, r.entry.id),
                vec![r.entry.id, retry.entry.id],
                vec![r.entry.plaintext.clone().unwrap_or_default()],
            ));
        }
    }
    Some(findings)
}

fn env_query_params(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let queries: Vec<&Request<'_>> = requests.iter().filter(|r| r.interface == Some(Interface::Query)).collect();
    if queries.is_empty() {
        return None;
    }
    let mut findings = Vec::new();
    for r in queries {
        let params = r.query();
        let ai: Vec<&String> = params.iter().filter(|(k, _)| k == "ai").map(|(_, v)| v).collect();
        match ai.as_slice() {
            [] => findings.push(finding(
                format!("request #{}: a query without its ai parameter", r.entry.id),
                vec![r.entry.id],
                vec![],
            )),
            [ai] if !ai_rule::is_valid(ai) => findings.push(finding(
                format!(
                    "request #{}: ai {ai:?} is empty or longer than {} characters (R-AI)",
                    r.entry.id,
                    ai_rule::MAX_AI_CHARS
                ),
                vec![r.entry.id],
                vec![],
            )),
            _ => {}
        }
        let stray: Vec<&str> = params.iter().filter(|(k, _)| k != "ai").map(|(k, _)| k.as_str()).collect();
        if !stray.is_empty() || ai.len() > 1 {
            findings.push(finding(
                format!(
                    "request #{}: query parameters other than one ai ({stray:?}); each takes part in the signature",
                    r.entry.id
                ),
                vec![r.entry.id],
                vec![],
            ));
        }
    }
    Some(findings)
}

fn behaviour_rate(requests: &[Request<'_>], deployment: &Deployment) -> Judgement {
    let production: Vec<&Request<'_>> = requests.iter().filter(|r| r.interface.is_some() && !r.test_path).collect();
    if production.is_empty() {
        return None;
    }
    // R-RL-1: requests in one second of the mock clock per (appId, bizId, interface).
    let mut per_second: HashMap<(&str, &str, Interface, u64), Vec<u64>> = HashMap::new();
    for r in &production {
        if let Some(interface) = r.interface {
            let key = (
                r.header("appId").unwrap_or(""),
                r.header("bizId").unwrap_or(""),
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
            })
            .collect(),
    )
}

fn behaviour_resend(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let partial = StatusCode::PartialError.code();
    let reports = decrypted_reports(requests);
    if !reports.iter().any(|r| r.entry.errcode == Some(partial)) {
        return None;
    }
    // A record is (si, bt, ot, ct); after a 3001 only the rejected ones may come again.
    let key = |rec: &Value| format!("{}|{}|{}|{}", rec["si"], rec["bt"], rec["ot"], rec["ct"]);
    let mut accepted: HashMap<String, u64> = HashMap::new();
    let mut findings = Vec::new();
    for r in reports {
        let rejected = r.rejected_numbers();
        let resent: Vec<String> = r.records().iter().map(|rec| key(rec)).filter(|k| accepted.contains_key(k)).collect();
        if !resent.is_empty() {
            let first = accepted[&resent[0]];
            findings.push(finding(
                format!("request #{} re-sends {} record(s) already accepted by #{first}: after a 3001 re-send only the rejected records (R-BEH-4)", r.entry.id, resent.len()),
                vec![first, r.entry.id],
                resent,
            ));
        }
        if matches!(r.entry.errcode, Some(0) | Some(3001)) {
            for rec in r.records() {
                if !rec["no"].as_i64().is_some_and(|no| rejected.contains(&no)) {
                    accepted.entry(key(rec)).or_insert(r.entry.id);
                }
            }
        }
    }
    Some(findings)
}

fn realname_queries(requests: &[Request<'_>], deployment: &Deployment) -> Judgement {
    let queries: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.interface == Some(Interface::Query) && !r.test_path).collect();
    if queries.is_empty() {
        return None;
    }
    let checked: HashMap<String, &Request<'_>> = requests
        .iter()
        .filter(|r| r.interface == Some(Interface::Check) && !r.test_path)
        .filter_map(|r| Some((r.plaintext.as_ref()?["ai"].as_str()?.to_owned(), r)))
        .collect();
    let mut last: HashMap<String, &Request<'_>> = HashMap::new();
    let mut findings = Vec::new();
    for r in queries {
        let Some(ai) = r.query().into_iter().find(|(k, _)| k == "ai").map(|(_, v)| v) else { continue };
        match checked.get(&ai) {
            None => findings.push(finding(format!("request #{} queries ai {ai:?}, which no check submitted: query the ai of your own pending check", r.entry.id), vec![r.entry.id], vec![])),
            Some(check) if check.status() != Some(AuthStatus::Pending) && check.at_ms() <= r.at_ms() && check.entry.id != r.entry.id => findings.push(finding(
                format!("request #{} queries ai {ai:?} whose check #{} already answered {}: query only pending results (R-QRY-4)", r.entry.id, check.entry.id, check.status().map_or("without a result".to_owned(), |s| format!("status {}", u8::from(s)))),
                vec![check.entry.id, r.entry.id],
                vec![],
            )),
            Some(check) if beijing::in_mps_outage(check.at_ms()) && beijing::in_mps_outage(r.at_ms()) => findings.push(finding(
                format!("request #{} queries ai {ai:?} between 00:00 and 04:00 Beijing time; a check pending in the outage is answered after 04:00 (R-PEND-2)", r.entry.id),
                vec![check.entry.id, r.entry.id],
                vec![],
            )),
            _ => {}
        }
        if let Some(previous) = last.get(&ai) {
            let gap = r.at_ms().saturating_sub(previous.at_ms());
            if gap < deployment.thresholds.query_spacing_ms {
                findings.push(finding(
                    format!(
                        "request #{} queries ai {ai:?} {gap} ms after #{}: space the queries of one ai (V2.1 FAQ 3)",
                        r.entry.id, previous.entry.id
                    ),
                    vec![previous.entry.id, r.entry.id],
                    vec![],
                ));
            }
        }
        last.insert(ai, r);
    }
    Some(findings)
}

fn faults_survived(requests: &[Request<'_>], deployment: &Deployment) -> Judgement {
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
    for (index, r) in faulted {
        // A fault the client saw as a success (a loginout `data` variant) needs no second call.
        if !failed_for_client(r) {
            continue;
        }
        if !requests[index + 1..].iter().any(|later| later.interface == r.interface) {
            findings.push(finding(
                format!(
                    "after {} on request #{}, the client never called {} again",
                    r.entry.fault.map_or_else(|| "a fault".to_owned(), |note| note.to_string()),
                    r.entry.id,
                    r.interface.map_or("that path", Interface::name)
                ),
                vec![r.entry.id],
                vec![],
            ));
        }
    }
    Some(findings)
}

/// Did the client get a failure: another HTTP status, no answer, broken JSON, an error code, or an answer later
/// than the spec's 5 s client timeout?
fn failed_for_client(request: &Request<'_>) -> bool {
    let answered_ok = request.answer.as_ref().is_some_and(ParsedAnswer::is_ok);
    request.entry.http_status != 200
        || request.entry.connection_reset
        || !answered_ok
        || request.entry.latency_us > CLIENT_TIMEOUT_MS * 1000
}

/// Retries after a failure: at most this many, at least this far apart (mock-clock ms).
const MAX_RETRIES: usize = 3;
const MIN_RETRY_GAP_MS: u64 = 100;

fn faults_retries(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let failed = |r: &Request<'_>| {
        r.entry.fault.is_some()
            || r.entry.http_status != 200
            || r.entry.errcode.and_then(StatusCode::from_code).is_some_and(StatusCode::is_transient)
    };
    if !requests.iter().any(&failed) {
        return None;
    }
    let same = |a: &Request<'_>, b: &Request<'_>| {
        a.entry.path == b.entry.path && a.entry.query == b.entry.query && a.entry.plaintext == b.entry.plaintext
    };
    let mut findings = Vec::new();
    let mut judged: HashSet<u64> = HashSet::new();
    for (i, first) in requests.iter().enumerate() {
        if !failed(first) || judged.contains(&first.entry.id) {
            continue;
        }
        let attempts: Vec<&Request<'_>> =
            std::iter::once(first).chain(requests[i + 1..].iter().filter(|r| same(first, r))).collect();
        judged.extend(attempts.iter().map(|r| r.entry.id));
        if attempts.len() > MAX_RETRIES + 1 {
            findings.push(finding(
                format!("request #{} was retried {} times; bound retries (at most {MAX_RETRIES}) and let the player play (V2.1 FAQ 2)", first.entry.id, attempts.len() - 1),
                attempts.iter().map(|r| r.entry.id).collect(),
                vec![],
            ));
        }
        if let Some(pair) = attempts.windows(2).find(|w| w[1].at_ms().saturating_sub(w[0].at_ms()) < MIN_RETRY_GAP_MS) {
            findings.push(finding(
                format!("request #{} retried #{} {} ms later; space retries (at least {MIN_RETRY_GAP_MS} ms, more each time)", pair[1].entry.id, pair[0].entry.id, pair[1].at_ms().saturating_sub(pair[0].at_ms())),
                vec![pair[0].entry.id, pair[1].entry.id],
                vec![],
            ));
        }
    }
    Some(findings)
}

fn behaviour_time(requests: &[Request<'_>], _: &Deployment) -> Judgement {
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
                    let ts = r.header("timestamps").unwrap_or("");
                    finding(
                        format!("request #{}: records {numbers:?} have ot outside (timestamps − {} s, timestamps) with timestamps {ts}: report within {} s, ot in seconds before the report (R-BEH-TIME)", r.entry.id, behaviour::WINDOW_S, behaviour::WINDOW_S),
                        vec![r.entry.id],
                        vec![r.entry.plaintext.clone().unwrap_or_default()],
                    )
                })
            })
            .collect(),
    )
}

fn behaviour_sessions(requests: &[Request<'_>], _: &Deployment) -> Judgement {
    let reports: Vec<&Request<'_>> =
        requests.iter().filter(|r| r.interface == Some(Interface::Loginout) && !r.test_path).collect();
    if reports.is_empty() {
        return None;
    }
    // R-BEH-3: one si belongs to one real person (or one guest device).
    let mut owner: HashMap<String, (String, u64)> = HashMap::new();
    let mut findings = Vec::new();
    for r in reports {
        for record in r.records() {
            let si = record["si"].as_str().unwrap_or("").to_owned();
            let who = match record["ct"].as_i64() {
                Some(0) => format!("pi {}", record["pi"].as_str().unwrap_or("")),
                _ => format!("device {}", record["di"].as_str().unwrap_or("")),
            };
            match owner.get(&si) {
                Some((first, id)) if *first != who => findings.push(finding(
                    format!("session {si:?} is used for {first} (request #{id}) and for {who} (request #{}): one si belongs to one person (R-BEH-3)", r.entry.id),
                    vec![*id, r.entry.id],
                    vec![],
                )),
                Some(_) => {}
                None => {
                    owner.insert(si, (who, r.entry.id));
                }
            }
        }
    }
    Some(findings)
}

fn behaviour_pending(requests: &[Request<'_>], deployment: &Deployment) -> Judgement {
    let book = deployment.identities.as_ref()?;
    // The pi of each person whose check is pending, with the ai of that check (FAQ 262: no reports for them).
    let mut pending: HashMap<String, (String, u64)> = HashMap::new();
    let mut findings = Vec::new();
    let mut exercised = false;
    for r in requests.iter().filter(|r| !r.test_path) {
        match r.interface {
            Some(Interface::Check) if r.status() == Some(AuthStatus::Pending) => {
                let Some((_, id_num)) = person(r) else { continue };
                let Some(born) = nppa_protocol::idnum::birth_date(&id_num) else { continue };
                let ai = r.plaintext.as_ref().and_then(|p| p["ai"].as_str()).unwrap_or("").to_owned();
                pending.insert(book.pi(&id_num, born), (ai, r.entry.id));
                exercised = true;
            }
            Some(Interface::Query) if matches!(r.status(), Some(AuthStatus::Success | AuthStatus::Failure)) => {
                let ai = r.query().into_iter().find(|(k, _)| k == "ai").map(|(_, v)| v).unwrap_or_default();
                pending.retain(|_, (pending_ai, _)| *pending_ai != ai);
            }
            Some(Interface::Loginout) => {
                for record in r.records() {
                    let Some(pi) = record["pi"].as_str().filter(|_| record["ct"] == 0) else { continue };
                    if let Some((ai, check)) = pending.get(pi) {
                        findings.push(finding(
                            format!("request #{} reports pi {pi} whose real-name check #{check} (ai {ai:?}) is still pending: report nothing for users still pending (FAQ 262)", r.entry.id),
                            vec![*check, r.entry.id],
                            vec![],
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    exercised.then_some(findings)
}

macro_rules! official {
    ($($index:literal),*) => {
        [$(RuleDef {
            id: CASES[$index].0,
            title: CASES[$index].1,
            severity: Severity::Error,
            spec: "SPEC §8",
            group: Group::Official,
            judge: |requests, _| official_case($index, requests),
        }),*]
    };
}

const fn rule(
    id: &'static str,
    severity: Severity,
    spec: &'static str,
    group: Group,
    title: &'static str,
    judge: fn(&[Request<'_>], &Deployment) -> Judgement,
) -> RuleDef {
    RuleDef { id, title, severity, spec, group, judge }
}

/// Every rule, in report order.
pub fn catalogue() -> Vec<RuleDef> {
    use Severity::{Error, Warning};
    let mut rules: Vec<RuleDef> = official!(0, 1, 2, 3, 4, 5, 6, 7).into();
    rules.extend([
        rule(
            "ENV-SIGN",
            Error,
            "R-SIG-1",
            Group::Envelope,
            "every request is signed per R-SIG-1 (with a diagnosis of the mistake)",
            env_sign,
        ),
        rule(
            "ENV-ENCRYPT",
            Error,
            "R-ENC-1",
            Group::Envelope,
            "bodies are sealed with AES-128-GCM under the hex-decoded key",
            env_encryption,
        ),
        rule(
            "ENV-TIMESTAMPS",
            Error,
            "R-TS-1",
            Group::Envelope,
            "timestamps are milliseconds within 5 s of the server clock",
            env_timestamps,
        ),
        rule("ENV-GET-BODY", Warning, "R-SIG-1", Group::Envelope, "queries (GET) carry no body", env_get_body),
        rule(
            "ENV-QUERY",
            Error,
            "R-AI, R-SIG-1",
            Group::Envelope,
            "a query carries exactly one ai of 1–32 characters and no other parameter",
            env_query_params,
        ),
        rule("ENV-NONCE", Error, "R-ENC-1", Group::Envelope, "a fresh AES-GCM iv for every plaintext", env_nonce),
        rule(
            "ENV-REPLAY",
            Warning,
            "R-TS-1",
            Group::Envelope,
            "no byte-identical replays (retries are re-signed)",
            env_replay,
        ),
        rule(
            "PT-SHAPE",
            Error,
            "R-ID, R-BEH-TIME",
            Group::Behaviour,
            "plaintexts have the spec's JSON types and units (idNum X upper case, ot in seconds)",
            plaintext_shape,
        ),
        rule(
            "BEH-BATCH",
            Error,
            "R-BEH-1, R-BEH-2",
            Group::Behaviour,
            "at most 128 records a report (R-BEH-1), numbered 1..n each once",
            behaviour_batches,
        ),
        rule(
            "BEH-RATE",
            Error,
            "R-RL-1",
            Group::Behaviour,
            "requests per second within the quota of each interface",
            behaviour_rate,
        ),
        rule(
            "BEH-RESEND",
            Error,
            "R-BEH-4",
            Group::Behaviour,
            "after a 3001 only the rejected records are sent again",
            behaviour_resend,
        ),
        rule("BEH-PENDING", Error, "R-BEH-3", Group::Behaviour, "no behaviour is reported for users whose check is still pending", behaviour_pending),
        rule("BEH-TIME", Error, "R-BEH-TIME", Group::Behaviour, "records are reported within 180 s, with ot in seconds before the report's timestamps", behaviour_time),
        rule("BEH-SESSION", Error, "R-BEH-3", Group::Behaviour, "one si belongs to one person or device", behaviour_sessions),
        rule(
            "BEH-PAIRS",
            Warning,
            "R-BEH-3",
            Group::Behaviour,
            "every login (bt=1) has its logout (bt=0) with the same si",
            behaviour_pairs,
        ),
        rule(
            "RN-DISCIPLINE",
            Error,
            "R-QRY-4, SPEC §8a",
            Group::Behaviour,
            "a pending check is queried, never re-checked; a failed person is not re-checked in a loop",
            realname_recheck,
        ),
        rule(
            "RN-QUERY",
            Warning,
            "R-QRY-4, R-PEND-2",
            Group::Behaviour,
            "queries ask for the client's own pending ais, spaced, and after 04:00 for checks pending in the outage",
            realname_queries,
        ),
        rule("FLT-SURVIVES", Error, "SPEC §8a", Group::Faults, "the client survives non-200 answers, resets, broken JSON, slow answers and loginout data variants, and keeps calling", faults_survived),
        rule("FLT-RETRIES", Error, "SPEC §8a", Group::Faults, "retries after a failure are bounded (at most 3) and spaced (100 ms or more)", faults_retries),
        rule(
            "ERR-BUSY",
            Error,
            "R-RL-2",
            Group::Errors,
            "after a 1006 the client waits 60 s before calling that interface again",
            errors_busy,
        ),
        rule(
            "ERR-RETRY",
            Error,
            "SPEC §8a",
            Group::Errors,
            "non-transient errors are not retried unchanged",
            errors_retry,
        ),
    ]);
    rules
}

/// Judges the traffic under a profile.
pub fn judge(requests: &[Request<'_>], deployment: &Deployment, profile: Profile) -> Vec<RuleResult> {
    catalogue()
        .into_iter()
        .filter(|rule| rule.group.in_profile(profile))
        .map(|rule| {
            let judgement = (rule.judge)(requests, deployment);
            let (verdict, findings) = match judgement {
                None => (Verdict::NotExercised, vec![]),
                Some(findings) if findings.is_empty() => (Verdict::Passed, findings),
                Some(findings) => (Verdict::Failed, findings),
            };
            RuleResult { id: rule.id, title: rule.title, severity: rule.severity, spec: rule.spec, verdict, findings }
        })
        .collect()
}
