//! The catalogue of rules the mock enforces, each with the status code it answers, in R-ORDER.
//! README.md carries this table verbatim (a test checks it), so documentation cannot drift from the code.

use nppa_protocol::StatusCode;

/// One enforced rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// SPEC.md rule id.
    pub id: &'static str,
    /// The errcode it answers; `None` for rules that answer with a status or at the transport.
    pub code: Option<StatusCode>,
    /// The cause, for a human.
    pub cause: &'static str,
}

const fn rule(id: &'static str, code: StatusCode, cause: &'static str) -> Rule {
    Rule { id, code: Some(code), cause }
}

const fn behaviour(id: &'static str, cause: &'static str) -> Rule {
    Rule { id, code: None, cause }
}

// The rules a request can be refused by, named so that a refusal points at its row (`crate::refusal`).
pub const PATH: Rule = rule("R-ORDER", StatusCode::ResourceNotExist, "path is not one of the three production paths");
pub const METHOD: Rule =
    rule("R-ORDER", StatusCode::MethodError, "wrong HTTP method for the path (check and loginout POST, query GET)");
pub const HEADERS: Rule = rule("R-HDR-1", StatusCode::HeaderMiss, "`appId`, `bizId`, `timestamps` or `sign` header missing or empty; a POST without `Content-Type` only with `rules.require_content_type`");
pub const PARTNER: Rule = rule(
    "R-ENT-1",
    StatusCode::PartnerError,
    "unknown `appId`; test credentials on a production path or production credentials on a test path",
);
pub const TEST_PASS: Rule = rule(
    "SPEC §8",
    StatusCode::PartnerError,
    "production call before the enterprise passed the 8 test cases (with `rules.require_test_pass`)",
);
pub const DISABLED: Rule = rule("R-ENT-1", StatusCode::PartnerAuthDisable, "the enterprise is disabled");
pub const IP: Rule = rule(
    "R-IP-1",
    StatusCode::IpError,
    "client IP not on the enterprise's whitelist (the test system's own whitelist on test paths)",
);
pub const BINDING: Rule = rule("R-ENT-1", StatusCode::AuthError, "`bizId` unknown, not bound to the `appId`, or the binding lacks the permission (realname: check/query; report: loginout); the test bizId on production or a production bizId on the test system");
pub const TEST_CODE: Rule =
    rule("SPEC §8", StatusCode::TestTaskNotExist, "test path with an unknown test code (or another enterprise's)");
pub const TEST_CODE_INTERFACE: Rule =
    rule("SPEC §8", StatusCode::TestParamInvalid, "test code used on another interface than its case's");
pub const TIMESTAMPS_FORMAT: Rule = rule("R-HDR-2", StatusCode::PartnerAuthError, "`timestamps` not a decimal number");
pub const TIMESTAMPS_WINDOW: Rule = rule(
    "R-TS-1",
    StatusCode::Expire,
    "`timestamps` more than 5 s from the server clock (seconds instead of ms included)",
);
pub const QUOTA: Rule = rule(
    "R-RL-1",
    StatusCode::Busy,
    "more requests in one second than the quota of (appId, bizId, interface); V2.1 500/500/50, V1 100/300/10",
);
pub const QUOTA_BLOCK: Rule =
    rule("R-RL-2", StatusCode::Busy, "the (appId, bizId, interface) is blocked for 60 s after its 1006");
pub const BODY_READ: Rule = rule("R-ENC-1", StatusCode::SysError, "body over the size limit or cut short");
pub const SIGN_FORMAT: Rule = rule("R-HDR-2", StatusCode::PartnerAuthError, "`sign` not 64 hex characters");
pub const SIGN: Rule = rule(
    "R-SIG-3",
    StatusCode::PartnerAuthError,
    "`sign` is not SHA-256 of secretKey + sorted params + raw body (R-SIG-1, R-SIG-2)",
);
pub const KEY_VALIDITY: Rule = rule(
    "R-KEY-1",
    StatusCode::PartnerAuthError,
    "signed with a key outside its validity: expired, not yet valid, 3 days after a manual refresh, or invalidated",
);
pub const ENVELOPE_JSON: Rule = rule("R-ENC-1", StatusCode::SysError, "POST body is not JSON `{\"data\":\"…\"}`");
pub const SEALED: Rule = rule(
    "R-SIG-3",
    StatusCode::PartnerAuthError,
    "`data` is not base64 of iv + AES-128-GCM ciphertext + tag under the key",
);
pub const PLAINTEXT_JSON: Rule = rule("R-ENC-1", StatusCode::SysError, "decrypted plaintext is not JSON");
pub const COLLECTIONS: Rule =
    rule("R-BEH-1", StatusCode::SysError, "loginout plaintext without `collections` (1011 as an option)");
pub const SHAPE: Rule = rule("R-AI", StatusCode::ParamCheckError, "plaintext of the wrong shape: missing or ill-typed field (numbers as strings), `ai` empty or over 32 characters, `name` over 32, `si`/`di` over 32");
pub const ID_NUM: Rule = rule(
    "R-ID",
    StatusCode::IdNumIllegal,
    "`idNum` not 18 characters, bad date, future birth date, wrong check character, lower-case x",
);
pub const NAME: Rule =
    rule("R-NAME", StatusCode::NameIllegal, "`name` not 2–32 CJK characters with optional `·` between parts");
pub const AI_IN_USE: Rule =
    rule("R-CHK-3", StatusCode::AiInUse, "check with an `ai` whose record is still live (global namespace by default)");
pub const RECORD_CAP: Rule = rule(
    "R-CHK-3",
    StatusCode::ResourceLimit,
    "a pending check when the game already holds `live_record_cap` live records",
);
pub const NO_RECORD: Rule = rule("R-QRY-3", StatusCode::NoAuthRecord, "query of an `ai` with no live record: never pending, 300 s after its first final query (R-QRY-2), or 48 h old (R-PEND-3)");
pub const NOT_OWNER: Rule = rule("R-QRY-5", StatusCode::NoAuthRecord, "query by an enterprise other than the one that submitted the check (a channel of the same game counts as another: our choice); it starts no deletion");
pub const EMPTY_BATCH: Rule = rule("R-BEH-1", StatusCode::BehaviorNull, "`collections` is empty");
pub const OVER_LIMIT: Rule = rule("R-BEH-1", StatusCode::OverLimitCount, "more than 128 records");
pub const PARTIAL: Rule =
    rule("R-BEH-2", StatusCode::PartialError, "some records rejected; `data.results` lists each with its code");
pub const RECORD_NO: Rule =
    rule("R-BEH-2", StatusCode::NoInvalid, "record `no` outside 1–128 or repeated in the batch");
pub const RECORD_BT: Rule = rule("R-BEH-2", StatusCode::BehaviorModeInvalid, "record `bt` not 0 or 1");
pub const RECORD_CT: Rule = rule("R-BEH-2", StatusCode::PlayerModeInvalid, "record `ct` not 0 or 2");
pub const RECORD_PI_MISSING: Rule =
    rule("R-BEH-2", StatusCode::PlayerIdMiss, "record with ct=0 and no `pi` (absent, null or \"\")");
pub const RECORD_DI_MISSING: Rule =
    rule("R-BEH-2", StatusCode::DeviceIdMiss, "record with ct=2 and no `di` (absent, null or \"\")");
pub const RECORD_PI: Rule = rule(
    "R-PI",
    StatusCode::PlayerIdInvalid,
    "record `pi` not 38 characters of base-26 birth date + 32 of [0-9a-z] (strict mode: never issued)",
);
pub const RECORD_OT: Rule = rule(
    "R-BEH-TIME",
    StatusCode::BehaviorTimeError,
    "record `ot` (s) not within (timestamps − 180 s, timestamps), compared in ms",
);

/// Every rule, in the order the pipeline checks them (R-ORDER), then the behaviours without an error code.
pub const RULES: &[Rule] = &[
    PATH,
    METHOD,
    HEADERS,
    PARTNER,
    TEST_PASS,
    DISABLED,
    IP,
    BINDING,
    TEST_CODE,
    TEST_CODE_INTERFACE,
    TIMESTAMPS_FORMAT,
    TIMESTAMPS_WINDOW,
    QUOTA,
    QUOTA_BLOCK,
    BODY_READ,
    SIGN_FORMAT,
    SIGN,
    KEY_VALIDITY,
    ENVELOPE_JSON,
    SEALED,
    PLAINTEXT_JSON,
    COLLECTIONS,
    SHAPE,
    ID_NUM,
    NAME,
    AI_IN_USE,
    RECORD_CAP,
    NO_RECORD,
    NOT_OWNER,
    EMPTY_BATCH,
    OVER_LIMIT,
    PARTIAL,
    RECORD_NO,
    RECORD_BT,
    RECORD_CT,
    RECORD_PI_MISSING,
    RECORD_DI_MISSING,
    RECORD_PI,
    RECORD_OT,
    behaviour("R-CHK-1", "a valid check answers status 0 with pi, 1 (pending) or 2, from presets, fixtures or the hash rule"),
    behaviour("R-CHK-2", "status 0 or 2 leaves no record: the ai may be reused at once"),
    behaviour("R-PEND-1", "a pending record resolves after its configured delay"),
    behaviour("R-PEND-2", "00:00–04:00 Beijing time every check pends and resolves no earlier than 04:00"),
    behaviour("R-PI", "the same idNum gets the same pi from every appId and game"),
    behaviour("SPEC §8", "test paths answer from the presets; each of the 8 cases passes on its answer; all 8 open production"),
    behaviour("R-CONN-1", "at most 1000 connections per client IP (and `server.max_connections` from all peers); a connection idle 120 s is closed"),
];

/// The Markdown table README.md carries.
pub fn markdown_table() -> String {
    let mut table = String::from("| rule | errcode | errmsg | cause |\n|---|---|---|---|\n");
    for rule in RULES {
        let (code, errmsg) = match rule.code {
            Some(code) => (code.code().to_string(), format!("`{}`", code.errmsg())),
            None => ("—".to_owned(), "—".to_owned()),
        };
        table.push_str(&format!("| {} | {} | {} | {} |\n", rule.id, code, errmsg, rule.cause));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_mock_raises_by_itself_is_catalogued() {
        let raised: Vec<u16> = (1001..=1012).chain(2001..=2005).chain(3001..=3010).collect();
        for code in raised {
            assert!(RULES.iter().any(|r| r.code.map(StatusCode::code) == Some(code)), "{code} has no rule");
        }
    }

    #[test]
    fn readme_carries_the_table() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's rule table differs from mockserver/src/rules.rs; paste this between the rules markers:\n{}",
            markdown_table()
        );
    }
}
