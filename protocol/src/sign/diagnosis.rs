//! Why a request's sign is wrong (R-SIG-1/2): the sign string a client making each known mistake would have hashed,
//! tried against the sign it sent. One diagnosis for certify's ENV-SIGN and the mock's console
//! (`GET /__admin/journal/{id}/sign`).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{sign, sign_string};
use crate::system_headers;

/// What a request signed: its system parameters and sign as sent, its query parameters and raw body.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// `GET` or `POST` (a GET's body and a POST's query parameters are mistakes of their own).
    pub method: &'a str,
    pub app_id: &'a str,
    pub biz_id: &'a str,
    pub timestamps: &'a str,
    /// The `sign` header as sent.
    pub sign: &'a str,
    /// The URL query parameters, decoded, in the order sent.
    pub query: &'a [(&'a str, &'a str)],
    /// The raw body as sent.
    pub body: &'a [u8],
    /// The `ai` of a sealed check, which a client may wrongly add to the signed parameters.
    pub sealed_ai: Option<&'a str>,
    /// The decrypted body, which a client may wrongly sign instead of the sealed one.
    pub plaintext: Option<&'a [u8]>,
}

/// The expected signature beside the client's probable one, and the mistake that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The mistake, with this request's values (the timestamps it signed, the body it re-serialised).
    pub diagnosis: String,
    /// The mistake without them: what reports group by.
    pub cause: String,
    /// True when a known mistake (or two) explains the sign sent.
    pub identified: bool,
    /// The bytes the server hashed.
    pub expected_string: Vec<u8>,
    /// The bytes the client probably hashed, when a mistake explains the sign.
    pub client_string: Option<Vec<u8>>,
    /// The sign the server expected.
    pub expected_sign: String,
}

const OTHER_TIMESTAMPS: &str = "signed with a timestamps other than the one sent: sign the exact string you send";
const UNKNOWN: &str = "the sign matches none of the known mistakes: check the key, and the exact bytes signed";

fn hash(text: &[u8]) -> String {
    hex::encode(Sha256::digest(text))
}

fn system<'a>(app_id: &'a str, biz_id: &'a str, ts: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![(system_headers::APP_ID, app_id), (system_headers::BIZ_ID, biz_id), (system_headers::TIMESTAMPS, ts)]
}

fn with<'a>(mut pairs: Vec<(&'a str, &'a str)>, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    pairs.extend_from_slice(more);
    pairs
}

/// The signature `request` should carry under `key` (its secretKey as issued, hex), and why its sign differs.
pub fn diagnose(request: &Signed<'_>, key: &str) -> Diagnosis {
    let Signed { app_id, biz_id, timestamps: ts, sign: sent, query: query_pairs, body, .. } = *request;
    let expected_string = sign_string(key, &with(system(app_id, biz_id, ts), query_pairs), body);
    let expected = sign(key, &with(system(app_id, biz_id, ts), query_pairs), body);
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
    let sealed_ai = (request.method == "POST").then_some(request.sealed_ai).flatten();
    // Each known mistake, with the string a client making it would have hashed, when it signed `ts`.
    let mistakes_at = |ts: &str| -> Vec<(String, Vec<u8>)> {
        let (system, params) = (system(app_id, biz_id, ts), with(system(app_id, biz_id, ts), query_pairs));
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
                sign_string(key, &system, body),
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
                sign_string(key, &with_ai, body),
            ));
        }
        for variant in reserialised_bodies(body) {
            // The client's sign string in the evidence shows the body it signed.
            mistakes.push((
                "the body was re-serialised before signing; sign the raw bytes you send (R-SIG-2)".into(),
                sign_string(key, &params, &variant),
            ));
        }
        if let Some(plaintext) = request.plaintext.filter(|p| !p.is_empty() && *p != body) {
            mistakes.push((
                "the plaintext was signed before it was sealed; sign the body you send, {\"data\":\"…\"} (R-SIG-2)"
                    .into(),
                sign_string(key, &params, plaintext),
            ));
        }
        if let Ok(mut raw_key) = hex::decode(key) {
            raw_key.extend_from_slice(&sign_string("", &params, body));
            mistakes.push((
                "the sign string starts with the key's 16 decoded bytes; it starts with the secretKey as issued (32 hex characters)".into(),
                raw_key,
            ));
        }
        mistakes.push((
            "the secretKey is missing from the start of the sign string".into(),
            sign_string("", &params, body),
        ));
        if body.is_empty() {
            mistakes.push(("a GET was signed with a body".into(), sign_string(key, &params, b"{}")));
        } else if request.method == "GET" {
            mistakes.push((
                "the body this GET carries was left out of the sign string: send a GET without a body".into(),
                sign_string(key, &params, b""),
            ));
        }
        mistakes
    };
    let shifted = |delta: i64| -> Option<(String, String)> {
        // Checked: the mock diagnoses whatever timestamps a request carried.
        let other = ts.parse::<i64>().ok()?.checked_add(delta)?;
        let side = if delta < 0 { "before" } else { "after" };
        Some((other.to_string(), format!("{} ms {side} the value sent", delta.abs())))
    };
    // A timestamps other than the one sent: any shift within the 5 s window alone, or a small one (the usual
    // "read the clock twice") together with one of the mistakes above.
    let off_by = || {
        (-5000i64..=5000).filter(|d| *d != 0).find_map(|delta| {
            let (other, how) = shifted(delta)?;
            let text = sign_string(key, &with(system(app_id, biz_id, &other), query_pairs), body);
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
        (UNKNOWN.to_owned(), UNKNOWN.to_owned(), None)
    };
    Diagnosis {
        diagnosis,
        cause,
        identified: client_string.is_some(),
        expected_string,
        client_string,
        expected_sign: expected,
    }
}

/// Bodies a client may have signed instead of the raw one: spaced or pretty JSON, or compact when sent spaced.
fn reserialised_bodies(body: &[u8]) -> Vec<Vec<u8>> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return vec![] };
    let compact = serde_json::to_vec(&value).unwrap_or_default();
    let pretty = serde_json::to_vec_pretty(&value).unwrap_or_default();
    let spaced = String::from_utf8_lossy(&compact).replace("\":\"", "\": \"").into_bytes();
    [compact, pretty, spaced].into_iter().filter(|b| b.as_slice() != body).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "b4c932250dbe59ff53b15ee993a9feb5";
    const BODY: &[u8] = br#"{"data":"sealed"}"#;
    const PLAINTEXT: &[u8] = br#"{"ai":"100000000000000001","name":"n","idNum":"1"}"#;

    fn post(sign: &str) -> Signed<'_> {
        Signed {
            method: "POST",
            app_id: "app",
            biz_id: "1101999999",
            timestamps: "1700000000000",
            sign,
            query: &[],
            body: BODY,
            sealed_ai: Some("100000000000000001"),
            plaintext: Some(PLAINTEXT),
        }
    }

    fn params() -> Vec<(&'static str, &'static str)> {
        system("app", "1101999999", "1700000000000")
    }

    #[test]
    fn the_key_as_decoded_bytes_is_named_with_the_string_the_client_hashed() {
        let mut text = hex::decode(KEY).unwrap();
        text.extend_from_slice(&sign_string("", &params(), BODY));
        let sent = hash(&text);
        let found = diagnose(&post(&sent), KEY);
        assert!(found.identified);
        assert!(found.diagnosis.contains("16 decoded bytes"), "{found:?}");
        assert_eq!(found.client_string, Some(text));
        assert_eq!(found.expected_string, sign_string(KEY, &params(), BODY));
        assert_eq!(found.expected_sign, sign(KEY, &params(), BODY));
    }

    #[test]
    fn the_plaintext_signed_before_sealing_is_named() {
        let sent = sign(KEY, &params(), PLAINTEXT);
        let found = diagnose(&post(&sent), KEY);
        assert!(found.diagnosis.contains("plaintext was signed before it was sealed"), "{found:?}");
        assert_eq!(found.client_string.as_deref(), Some(sign_string(KEY, &params(), PLAINTEXT).as_slice()));
    }

    #[test]
    fn timestamps_at_the_ends_of_i64_do_not_overflow() {
        for ts in [i64::MAX.to_string(), i64::MIN.to_string()] {
            let request = Signed { timestamps: &ts, ..post("x") };
            assert!(!diagnose(&request, KEY).identified);
        }
    }

    #[test]
    fn an_unknown_mistake_says_so_and_shows_no_client_string() {
        let found = diagnose(&post(&"0".repeat(64)), KEY);
        assert!(!found.identified);
        assert_eq!(found.diagnosis, UNKNOWN);
        assert_eq!(found.client_string, None);
    }
}
