//! Typed plaintexts and answers of the three interfaces, with the JSON field names and types of the V2.1 spec.

use serde::{Deserialize, Serialize};

use crate::StatusCode;

/// Plaintext of a real-name check (SPEC §5): `{"ai":"…","name":"…","idNum":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRequest {
    pub ai: String,
    pub name: String,
    #[serde(rename = "idNum")]
    pub id_num: String,
}

impl CheckRequest {
    /// The plaintext's JSON, byte for byte as `serde_json::to_string` writes it. Written directly because a load driver
    /// seals one per check: serde escapes each byte of every key and value on its own (about 1 200 instructions here).
    /// A value that needs escaping goes through serde.
    pub fn to_json(&self) -> String {
        let values = [self.ai.as_str(), self.name.as_str(), self.id_num.as_str()];
        if !values.into_iter().all(needs_no_escape) {
            // A struct of strings always serialises.
            return serde_json::to_string(self).unwrap_or_default();
        }
        let mut json = String::with_capacity(32 + values.iter().map(|value| value.len()).sum::<usize>());
        for (key, value) in [(r#"{"ai":""#, &self.ai), (r#"","name":""#, &self.name), (r#"","idNum":""#, &self.id_num)]
        {
            json.push_str(key);
            json.push_str(value);
        }
        json.push_str(r#""}"#);
        json
    }
}

/// True when `text` is written into a JSON string as it is.
fn needs_no_escape(text: &str) -> bool {
    !text.bytes().any(crate::json::is_escaped_in_strings)
}

/// Plaintext of a behaviour report (SPEC §6): `{"collections":[…]}`.
/// `collections` is optional here so that the server can tell "missing" (1001) from "ill-typed" (1012).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginoutRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collections: Option<Vec<BehaviourRecord>>,
}

impl LoginoutRequest {
    /// A report of these records.
    pub fn new(records: Vec<BehaviourRecord>) -> LoginoutRequest {
        LoginoutRequest { collections: Some(records) }
    }
}

/// One login or logout. Numbers are JSON numbers (Int/Long in the spec); a string "1" is a shape error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviourRecord {
    /// Position in the batch, 1..=128.
    pub no: i64,
    /// Session id, at most 32 characters.
    pub si: String,
    /// 0 logout, 1 login.
    pub bt: i64,
    /// When it happened, Unix **seconds**.
    pub ot: i64,
    /// 0 verified user, 2 guest.
    pub ct: i64,
    /// Device id, guests; `""`, `null` and absent all mean "none".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub di: Option<String>,
    /// Player id, verified users; `""`, `null` and absent all mean "none".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pi: Option<String>,
}

impl BehaviourRecord {
    /// The device id, if present and non-empty.
    pub fn device_id(&self) -> Option<&str> {
        self.di.as_deref().filter(|s| !s.is_empty())
    }
    /// The player id, if present and non-empty.
    pub fn player_id(&self) -> Option<&str> {
        self.pi.as_deref().filter(|s| !s.is_empty())
    }
}

/// `bt`: behaviour type.
pub mod bt {
    pub const LOGOUT: i64 = 0;
    pub const LOGIN: i64 = 1;
}

/// `ct`: user type. Only these two exist (FAQ 50).
pub mod ct {
    pub const VERIFIED: i64 = 0;
    pub const GUEST: i64 = 2;
}

/// Outcome of a real-name check or query (`data.result.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum AuthStatus {
    /// 0 认证成功 — comes with a pi.
    Success,
    /// 1 认证中 — query later.
    Pending,
    /// 2 认证失败.
    Failure,
}

impl From<AuthStatus> for u8 {
    fn from(status: AuthStatus) -> u8 {
        match status {
            AuthStatus::Success => 0,
            AuthStatus::Pending => 1,
            AuthStatus::Failure => 2,
        }
    }
}

impl TryFrom<u8> for AuthStatus {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, String> {
        match value {
            0 => Ok(AuthStatus::Success),
            1 => Ok(AuthStatus::Pending),
            2 => Ok(AuthStatus::Failure),
            other => Err(format!("status {other} is not 0, 1 or 2")),
        }
    }
}

/// `data.result` of check and query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResult {
    pub status: AuthStatus,
    /// Present only with status 0 (FAQ 149).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pi: Option<String>,
}

/// `data` of check and query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthData {
    pub result: AuthResult,
}

/// One rejected record of a 3001 answer (FAQ 241).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordResult {
    pub no: i64,
    pub errcode: StatusCode,
    pub errmsg: String,
}

impl RecordResult {
    pub fn new(no: i64, code: StatusCode) -> RecordResult {
        RecordResult { no, errcode: code, errmsg: code.errmsg().to_owned() }
    }
}

/// `data` of a 3001 loginout answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginoutResults {
    pub results: Vec<RecordResult>,
}

/// The answer envelope `{"errcode":…,"errmsg":"…","data":…}` (SPEC §3). Errors carry no `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer<T> {
    pub errcode: StatusCode,
    pub errmsg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

impl<T> Answer<T> {
    /// An answer with no data.
    pub fn status(code: StatusCode) -> Answer<T> {
        Answer { errcode: code, errmsg: code.errmsg().to_owned(), data: None }
    }
    /// An answer with data.
    pub fn with_data(code: StatusCode, data: T) -> Answer<T> {
        Answer { errcode: code, errmsg: code.errmsg().to_owned(), data: Some(data) }
    }
}

/// The JSON of a check's or a query's successful answer, `Answer::with_data(StatusCode::Ok, AuthData { result })`,
/// byte for byte as `serde_json::to_vec` writes it. Written directly because it answers nearly every request: serde
/// escapes each byte of every key and value on its own (about 1 500 instructions for this answer). A pi that would
/// need escaping (the mock makes only `[0-9a-z]` ones) goes through serde.
pub fn auth_answer_json(result: &AuthResult) -> Vec<u8> {
    if !result.pi.as_deref().is_none_or(needs_no_escape) {
        let answer = Answer::with_data(StatusCode::Ok, AuthData { result: result.clone() });
        // A struct of strings and numbers always serialises.
        return serde_json::to_vec(&answer).unwrap_or_default();
    }
    let pi = result.pi.as_deref();
    let mut json = Vec::with_capacity(80 + pi.map_or(0, str::len));
    json.extend_from_slice(br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":"#);
    json.push(b'0' + u8::from(result.status));
    if let Some(pi) = pi {
        json.extend_from_slice(br#","pi":""#);
        json.extend_from_slice(pi.as_bytes());
        json.push(b'"');
    }
    json.extend_from_slice(b"}}}");
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn auth_answer_json_is_what_serde_writes(status in 0u8..3, pi in proptest::option::of(any::<String>()), alnum in "[0-9a-z]{38}") {
            let status = AuthStatus::try_from(status).unwrap_or(AuthStatus::Pending);
            for pi in [pi, Some(alnum)] {
                let result = AuthResult { status, pi };
                let answer = Answer::with_data(StatusCode::Ok, AuthData { result: result.clone() });
                prop_assert_eq!(auth_answer_json(&result), serde_json::to_vec(&answer).unwrap_or_default());
            }
        }
    }

    proptest! {
        #[test]
        fn check_request_json_is_what_serde_writes(
            ai in "[0-9a-zA-Z]{32}",
            name in any::<String>(),
            chinese in "[\u{4e00}-\u{9fa5}·]{2,6}",
            id_num in "[0-9]{17}[0-9X]",
            odd_id in "[0-9X\"\\\\\u{1}]{18}",
        ) {
            for (name, id_num) in [(name, id_num.clone()), (chinese.clone(), id_num), (chinese, odd_id)] {
                let request = CheckRequest { ai: ai.clone(), name, id_num };
                prop_assert_eq!(request.to_json(), serde_json::to_string(&request).unwrap_or_default());
            }
        }
    }

    #[test]
    fn record_serialises_in_spec_order_and_omits_none() {
        let record = BehaviourRecord { no: 1, si: "s".into(), bt: 0, ot: 1, ct: 2, di: Some("d".into()), pi: None };
        let json = serde_json::to_string(&record).unwrap_or_default();
        assert_eq!(json, r#"{"no":1,"si":"s","bt":0,"ot":1,"ct":2,"di":"d"}"#);
    }

    #[test]
    fn empty_null_and_absent_ids_mean_none() {
        for text in [
            r#"{"no":1,"si":"s","bt":0,"ot":1,"ct":0,"di":"","pi":"x"}"#,
            r#"{"no":1,"si":"s","bt":0,"ot":1,"ct":0,"di":null,"pi":"x"}"#,
            r#"{"no":1,"si":"s","bt":0,"ot":1,"ct":0,"pi":"x"}"#,
        ] {
            let record: BehaviourRecord = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(record.device_id(), None);
            assert_eq!(record.player_id(), Some("x"));
        }
    }

    #[test]
    fn numbers_as_strings_are_refused() {
        let text = r#"{"no":"1","si":"s","bt":0,"ot":1,"ct":0}"#;
        assert!(serde_json::from_str::<BehaviourRecord>(text).is_err());
    }

    #[test]
    fn answers_print_as_the_spec_shows() {
        let answer = Answer::with_data(
            StatusCode::Ok,
            AuthData { result: AuthResult { status: AuthStatus::Pending, pi: None } },
        );
        let json = serde_json::to_string(&answer).unwrap_or_default();
        assert_eq!(json, r#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":1}}}"#);
    }
}
