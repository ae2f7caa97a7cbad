//! Why a request was refused: the rule it broke (a row of [`crate::rules::RULES`]) and a one-line cause a user
//! can act on, with the request's own values where they help. Every gate of the pipeline returns it; the journal
//! entry carries its `rule` and `cause`. A refusal holds plain values: the cause is written only when the journal
//! records it, so that a request that passes costs nothing for it.

use std::fmt;
use std::net::IpAddr;

use nppa_protocol::behaviour::BatchError;
use nppa_protocol::envelope::EnvelopeError;
use nppa_protocol::idnum::IdNumError;
use nppa_protocol::messages::RecordResult;
use nppa_protocol::name::NameRule;
use nppa_protocol::{Interface, StatusCode};

use crate::config::TimestampsClock;
use crate::rules::{self, Rule};
use crate::test_cases::CASES;

/// Below this, a `timestamps` reads as Unix seconds rather than milliseconds (year 5138 in seconds).
const SECONDS_BELOW: u64 = 100_000_000_000;

/// One refusal, with what the user needs to see which of a code's causes it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 1002.
    UnknownPath,
    /// 1003: the interface takes the other method.
    WrongMethod { interface: Interface },
    /// 1004: this header missing or empty.
    HeaderMissing { header: &'static str },
    /// 1004 with `rules.require_content_type`.
    ContentTypeMissing,
    /// 1008: no enterprise nor test account has this appId.
    UnknownAppId,
    /// 1008: a test account's appId on a production path.
    TestAppIdOnProduction,
    /// 1008: a production appId on a test path.
    ProductionAppIdOnTest,
    /// 1008 (SPEC §8, `rules.require_test_pass`): production before the 8 test cases passed.
    TestCasesNotPassed { passed: usize },
    /// 1009.
    Disabled,
    /// 1005: the peer is not on the whitelist (the test system's own on test paths).
    IpNotAllowed { peer: IpAddr, test_system: bool },
    /// 1010: no game has this bizId.
    UnknownBizId,
    /// 1010: the test account's bizId on a production path.
    TestBizIdOnProduction,
    /// 1010: a bizId other than the test account's on a test path.
    NotTestBizId { production: bool },
    /// 1010: the game exists but is not bound to this appId.
    NotBound,
    /// 1010: the binding lacks the interface's permission.
    NoPermission { interface: Interface },
    /// 4002.
    UnknownTestCode,
    /// 4003: the code stands for this case, of another interface.
    TestCodeOfOtherCase { case: usize },
    /// 1011 (R-HDR-2).
    TimestampsNotNumber,
    /// 1007 (R-TS-1).
    TimestampsOutsideWindow { sent_ms: u64, server_ms: u64, window_ms: u64, clock: TimestampsClock },
    /// 1006 (R-RL-1): this request went over the quota and started a block.
    OverQuota { limit: u32, interface: Interface, blocked_until_ms: u64, now_ms: u64 },
    /// 1006 (R-RL-2): blocked by an earlier 1006.
    QuotaBlocked { interface: Interface, blocked_until_ms: u64, now_ms: u64 },
    /// 1001: the body is larger than `server.max_body_bytes`.
    BodyTooLarge,
    /// 1001: the client stopped sending before the body was whole.
    BodyCut,
    /// 1001: the body was not whole within `server.body_timeout_s`.
    BodyTimedOut,
    /// 1011 (R-HDR-2): `sign` is not 64 hex characters.
    SignMalformed { chars: usize },
    /// 1011 (R-SIG-3): no valid key gives this sign over what was sent.
    SignMismatch { signed: &'static str },
    /// 1011 (R-KEY-1): a key of the enterprise gives this sign, but it is not valid now.
    KeyOutsideValidity,
    /// 1001 (R-ENC-1): the POST body is not `{"data":"…"}`.
    NotEnvelope,
    /// 1011 (R-SIG-3): `data` does not open under the key that signed.
    NotSealed(EnvelopeError),
    /// 1001 (R-ENC-1): the decrypted plaintext is not JSON.
    PlaintextNotJson,
    /// R-BEH-1: loginout plaintext without `collections` (1001, or the code `rules.missing_collections_code` says).
    NoCollections { code: StatusCode },
    /// 1012: the plaintext's shape, with serde's path to the field and what was wrong.
    Shape { detail: String },
    /// 1012: `ai` empty or over 32 characters (`query`: the query parameter).
    AiLength { chars: usize },
    /// 1012: a query without its `ai` parameter.
    QueryWithoutAi,
    /// 1012: `name` over 32 characters.
    NameTooLong { chars: usize },
    /// 3002, 3003 or 1012 (si/di lengths).
    Batch(BatchError),
    /// 2001.
    IdNum(IdNumError),
    /// 2005.
    Name { rule: NameRule },
    /// 2004.
    AiInUse,
    /// 2002.
    RecordCap { cap: u64 },
    /// 2003 (R-QRY-3): no live record of the ai.
    NoRecord,
    /// 2003 (R-QRY-5): the record is another enterprise's.
    NotOwner,
    /// 2003 on the test system: only the preset ais answer.
    NotPresetAi,
    /// 3001: some records rejected; each with its code.
    SomeRecords { total: usize, rejected: Vec<RecordResult> },
}

impl Refusal {
    /// The rule broken: a row of [`rules::RULES`].
    pub fn rule(&self) -> Rule {
        use Refusal::*;
        match self {
            UnknownPath => rules::PATH,
            WrongMethod { .. } => rules::METHOD,
            HeaderMissing { .. } | ContentTypeMissing => rules::HEADERS,
            UnknownAppId | TestAppIdOnProduction | ProductionAppIdOnTest => rules::PARTNER,
            TestCasesNotPassed { .. } => rules::TEST_PASS,
            Disabled => rules::DISABLED,
            IpNotAllowed { .. } => rules::IP,
            UnknownBizId | TestBizIdOnProduction | NotTestBizId { .. } | NotBound | NoPermission { .. } => {
                rules::BINDING
            }
            UnknownTestCode => rules::TEST_CODE,
            TestCodeOfOtherCase { .. } => rules::TEST_CODE_INTERFACE,
            TimestampsNotNumber => rules::TIMESTAMPS_FORMAT,
            TimestampsOutsideWindow { .. } => rules::TIMESTAMPS_WINDOW,
            OverQuota { .. } => rules::QUOTA,
            QuotaBlocked { .. } => rules::QUOTA_BLOCK,
            BodyTooLarge | BodyCut | BodyTimedOut => rules::BODY_READ,
            SignMalformed { .. } => rules::SIGN_FORMAT,
            SignMismatch { .. } => rules::SIGN,
            KeyOutsideValidity => rules::KEY_VALIDITY,
            NotEnvelope => rules::ENVELOPE_JSON,
            NotSealed(_) => rules::SEALED,
            PlaintextNotJson => rules::PLAINTEXT_JSON,
            NoCollections { .. } => rules::COLLECTIONS,
            Shape { .. } | AiLength { .. } | QueryWithoutAi | NameTooLong { .. } => rules::SHAPE,
            Batch(BatchError::Empty) => rules::EMPTY_BATCH,
            Batch(BatchError::OverLimit(_)) => rules::OVER_LIMIT,
            Batch(BatchError::Si { .. } | BatchError::Di { .. }) => rules::SHAPE,
            IdNum(_) => rules::ID_NUM,
            Name { .. } => rules::NAME,
            AiInUse => rules::AI_IN_USE,
            RecordCap { .. } => rules::RECORD_CAP,
            NoRecord | NotPresetAi => rules::NO_RECORD,
            NotOwner => rules::NOT_OWNER,
            SomeRecords { .. } => rules::PARTIAL,
        }
    }

    /// The errcode answered: the rule's, except where the configuration chooses it.
    pub fn code(&self) -> StatusCode {
        match self {
            Refusal::NoCollections { code } => *code,
            other => other.rule().code.unwrap_or(StatusCode::SysError),
        }
    }
}

/// The cause, one line, without the rule id (the journal keeps that apart).
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Refusal::*;
        match self {
            UnknownPath => f.write_str(
                "the path is none of /idcard/authentication/check, /idcard/authentication/query, \
                 /behavior/collection/loginout (nor a /test/… path with a code)",
            ),
            WrongMethod { interface } => {
                write!(f, "{} takes {} only", interface.name(), interface.method())
            }
            HeaderMissing { header } => write!(f, "header `{header}` missing or empty"),
            ContentTypeMissing => f.write_str("POST without `Content-Type` (required with rules.require_content_type)"),
            UnknownAppId => f.write_str("unknown appId: no enterprise nor test account has it"),
            TestAppIdOnProduction => f.write_str(
                "test credentials on a production path: this appId is a test-system account; call \
                 /test/…/{code} with it, or production with the production appId",
            ),
            ProductionAppIdOnTest => f.write_str(
                "production credentials on a test path: the test system takes the test account's appId, bizId and \
                 secretKey (GET /__admin/testsystem?reveal=keys)",
            ),
            TestCasesNotPassed { passed } => write!(
                f,
                "production before the 8 test cases passed ({passed} of 8 so far; rules.require_test_pass): pass \
                 them on the test system, or set test_passed = true on the enterprise"
            ),
            Disabled => f.write_str("the enterprise is disabled (enabled = false)"),
            IpNotAllowed { peer, test_system } => {
                let list = if *test_system { "the test system's whitelist" } else { "the enterprise's whitelist" };
                write!(f, "client IP {peer} is not on {list}")
            }
            UnknownBizId => f.write_str("unknown bizId: no game has it"),
            TestBizIdOnProduction => f.write_str("the test bizId on a production path: use the game's bizId"),
            NotTestBizId { production: true } => {
                f.write_str("a production bizId on a test path: use the test account's bizId")
            }
            NotTestBizId { production: false } => {
                f.write_str("the bizId is not the test account's: use the test account's bizId")
            }
            NotBound => f.write_str("the game of this bizId is not bound to this appId"),
            NoPermission { interface } => {
                let permission = if *interface == Interface::Loginout { "report" } else { "realname" };
                write!(
                    f,
                    "the binding of appId and bizId lacks the `{permission}` permission {} needs",
                    interface.name()
                )
            }
            UnknownTestCode => f.write_str("unknown test code (or another enterprise's)"),
            TestCodeOfOtherCase { case } => match CASES.get(*case) {
                Some(c) => {
                    write!(f, "this code is {}'s, a {} case: send it to that interface", c.name, c.interface.name())
                }
                None => f.write_str("this code is another interface's"),
            },
            TimestampsNotNumber => f.write_str("`timestamps` is not a decimal number of Unix milliseconds"),
            TimestampsOutsideWindow { sent_ms, server_ms, window_ms, clock } => {
                write_timestamps(f, *sent_ms, *server_ms, *window_ms, *clock)
            }
            OverQuota { limit, interface, blocked_until_ms, now_ms } => write!(
                f,
                "more than {limit} {} requests in one second; blocked for {:.1} s more",
                interface.name(),
                seconds(blocked_until_ms.saturating_sub(*now_ms))
            ),
            QuotaBlocked { interface, blocked_until_ms, now_ms } => write!(
                f,
                "{} is blocked {:.1} s more after a 1006: wait until then (calls meanwhile are refused)",
                interface.name(),
                seconds(blocked_until_ms.saturating_sub(*now_ms))
            ),
            BodyTooLarge => f.write_str("body over server.max_body_bytes"),
            BodyCut => f.write_str("body cut short (the client stopped sending)"),
            BodyTimedOut => f.write_str("body not whole within server.body_timeout_s"),
            SignMalformed { chars } => write!(f, "`sign` is {chars} characters, not 64 lowercase hex"),
            SignMismatch { signed } => write!(
                f,
                "sign mismatch: not SHA-256 hex of secretKey + {signed} (key+value, sorted) + the raw body; \
                 `nppa client -v` prints a correct sign string, `nppa certify` names the mistake"
            ),
            KeyOutsideValidity => f.write_str(
                "signed with a key outside its validity (expired, not yet valid, replaced or invalidated): use the \
                 current key (GET /__admin/enterprises)",
            ),
            NotEnvelope => f.write_str("the POST body is not JSON {\"data\":\"…\"}"),
            NotSealed(error) => write!(
                f,
                "data not sealed under the key that signed ({error}): AES-128-GCM with the hex-decoded secretKey, \
                 iv (12 bytes) + ciphertext + tag, standard base64"
            ),
            PlaintextNotJson => f.write_str("the decrypted plaintext is not JSON"),
            NoCollections { .. } => f.write_str("loginout plaintext without `collections`"),
            Shape { detail } => write!(f, "plaintext shape: {detail}"),
            AiLength { chars } => write!(f, "`ai` has {chars} characters (1–32)"),
            QueryWithoutAi => f.write_str("query without an `ai` parameter"),
            NameTooLong { chars } => write!(f, "`name` has {chars} characters (at most 32)"),
            Batch(error) => write!(f, "{error}"),
            IdNum(error) => write!(f, "idNum: {error}"),
            Name { rule: NameRule::Cjk } => f.write_str(
                "`name` is not 2–32 CJK ideographs with optional · between parts (rules.name_rule = \"cjk\")",
            ),
            Name { rule: NameRule::AnyScript } => {
                f.write_str("`name` is not 2–32 letters with ·, space or - between parts")
            }
            AiInUse => f.write_str("this ai's record is still live (pending, or resolved and not yet deleted)"),
            RecordCap { cap } => write!(f, "the game already holds {cap} live records (rules.live_record_cap)"),
            NoRecord => f.write_str(
                "no live record of this ai: never checked as pending, deleted 300 s after its first final query, \
                 or 48 h old",
            ),
            NotOwner => f.write_str("the ai's record belongs to another enterprise (the one that sent its check)"),
            NotPresetAi => f.write_str("the test system answers queries of its preset ais only"),
            SomeRecords { total, rejected } => {
                write!(f, "{} of {total} records rejected:", rejected.len())?;
                for record in rejected {
                    let id = rules::RULES.iter().find(|r| r.code == Some(record.errcode)).map_or("", |r| r.id);
                    write!(f, " no {} {} ({id});", record.no, record.errcode.code())?;
                }
                f.write_str(" the others were accepted")
            }
        }
    }
}

/// R-TS-1's cause: how far off, against which clock, and what to do.
fn write_timestamps(
    f: &mut fmt::Formatter<'_>,
    sent_ms: u64,
    server_ms: u64,
    window_ms: u64,
    clock: TimestampsClock,
) -> fmt::Result {
    let window = seconds(window_ms);
    if sent_ms < SECONDS_BELOW {
        return write!(f, "timestamps {sent_ms} looks like Unix seconds: send milliseconds (window ±{window} s)");
    }
    let (off, way) =
        if sent_ms < server_ms { (server_ms - sent_ms, "behind") } else { (sent_ms - server_ms, "ahead of") };
    let off = seconds(off);
    match clock {
        TimestampsClock::Mock => write!(
            f,
            "timestamps {sent_ms} is {off:.1} s {way} the mock clock (window ±{window} s); sign with the mock clock \
             (GET /__admin/clock) or set rules.timestamps_clock = \"wall\""
        ),
        TimestampsClock::Wall => write!(
            f,
            "timestamps {sent_ms} is {off:.1} s {way} real time (window ±{window} s, rules.timestamps_clock = \
             \"wall\"); sign with this machine's clock"
        ),
    }
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}
