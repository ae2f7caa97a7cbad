//! `GET /__admin/journal/{id}/sign`: for a journaled request refused for its sign, the expected sign string beside
//! the client's probable one and the mistake that explains it (`nppa_protocol::sign::diagnosis`, the diagnosis
//! certify's ENV-SIGN gives). The sign strings begin with the secretKey: unless the answer may show keys, it is
//! replaced by a placeholder.

use nppa_protocol::sign::diagnosis::{self, Signed};
use nppa_protocol::SecretKey;
use serde::Deserialize;

use crate::admin_api::{SecretKeys, SignDiagnosisView};
use crate::journal::{JournalEntry, JournalQuery};
use crate::service::MockService;

/// Stands for the secretKey in a redacted sign string.
pub const KEY_PLACEHOLDER: &str = "{secretKey}";
/// Stands for the secretKey's 16 decoded bytes in a redacted sign string.
pub const KEY_BYTES_PLACEHOLDER: &str = "{secretKey as 16 bytes}";

/// Why the diagnosis could not be made: HTTP status and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoDiagnosis {
    pub status: u16,
    pub reason: String,
}

fn no(status: u16, reason: impl Into<String>) -> NoDiagnosis {
    NoDiagnosis { status, reason: reason.into() }
}

/// The diagnosis of entry `id`'s sign.
pub fn diagnose(service: &MockService, id: u64, shown: SecretKeys) -> Result<SignDiagnosisView, NoDiagnosis> {
    let query = JournalQuery { after_id: Some(id.saturating_sub(1)), limit: Some(1), ..JournalQuery::default() };
    let entry = service
        .journal()
        .query(&query)
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| no(404, format!("the journal holds no entry #{id} (not yet recorded, or evicted)")))?;
    if entry.sign_ok != Some(false) {
        return Err(no(409, format!("entry #{id} was not refused for its sign (sign_ok: {:?})", entry.sign_ok)));
    }
    let app_id = entry.header("appid").unwrap_or_default().to_owned();
    let key = key_of(service, &app_id, entry.arrived_ms)
        .ok_or_else(|| no(409, format!("no enterprise or test account has appId {app_id:?}")))?;
    Ok(view(&entry, &app_id, key.as_hex(), shown))
}

/// The key the request should have used: the newest valid when it arrived, else the newest the appId has had.
fn key_of(service: &MockService, app_id: &str, arrived_ms: u64) -> Option<SecretKey> {
    let tenants = service.tenants();
    let keys = match tenants.enterprise(app_id) {
        Some((_, enterprise)) => &enterprise.keys,
        None => &service.test_system().account(app_id)?.1.enterprise.keys,
    };
    keys.current(arrived_ms).or_else(|| keys.all().last()).cloned()
}

/// The `ai` of a sealed check, when its plaintext has one.
#[derive(Deserialize)]
struct SealedAi {
    ai: String,
}

fn view(entry: &JournalEntry, app_id: &str, key: &str, shown: SecretKeys) -> SignDiagnosisView {
    let query: Vec<(String, String)> =
        entry.query.as_deref().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let plaintext = entry.plaintext.as_deref().map(str::as_bytes);
    let sealed_ai = plaintext.and_then(|p| serde_json::from_slice::<SealedAi>(p).ok()).map(|s| s.ai);
    let sent = entry.header("sign").unwrap_or_default();
    let signed = Signed {
        method: &entry.method,
        app_id,
        biz_id: entry.header("bizid").unwrap_or_default(),
        timestamps: entry.header("timestamps").unwrap_or_default(),
        sign: sent,
        query: &query,
        body: entry.body.as_deref().unwrap_or_default().as_bytes(),
        sealed_ai: sealed_ai.as_deref(),
        plaintext,
    };
    let found = diagnosis::diagnose(&signed, key);
    let text = |bytes: &[u8]| match shown {
        SecretKeys::Shown => String::from_utf8_lossy(bytes).into_owned(),
        SecretKeys::Redacted => redacted(bytes, key),
    };
    SignDiagnosisView {
        id: entry.id,
        app_id: app_id.to_owned(),
        secret_keys: shown,
        diagnosis: found.diagnosis,
        cause: found.cause,
        identified: found.identified,
        expected_sign_string: text(&found.expected_string),
        client_sign_string: found.client_string.as_deref().map(text),
        expected_sign: found.expected_sign,
        sent_sign: sent.to_owned(),
    }
}

/// A sign string with the key (as hex, or as its decoded bytes) replaced by a placeholder.
fn redacted(text: &[u8], key: &str) -> String {
    let decoded = hex::decode(key).unwrap_or_default();
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if !key.is_empty() && rest.starts_with(key.as_bytes()) {
            out.extend_from_slice(KEY_PLACEHOLDER.as_bytes());
            rest = &rest[key.len()..];
        } else if !decoded.is_empty() && rest.starts_with(&decoded) {
            out.extend_from_slice(KEY_BYTES_PLACEHOLDER.as_bytes());
            rest = &rest[decoded.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_replaced_as_hex_and_as_bytes() {
        let key = "b4c932250dbe59ff53b15ee993a9feb5";
        let mut text = key.as_bytes().to_vec();
        text.extend_from_slice(b"appIdx");
        assert_eq!(redacted(&text, key), "{secretKey}appIdx");
        let mut raw = hex::decode(key).unwrap();
        raw.extend_from_slice(b"appIdx");
        assert_eq!(redacted(&raw, key), "{secretKey as 16 bytes}appIdx");
        assert_eq!(redacted(b"appIdx", key), "appIdx");
    }
}
