//! "Why was this refused": every refusal of the rules table (`mockserver/src/rules.rs`, the README's table) leaves a
//! journal entry whose `rule` is the table's and whose `cause` names the specific reason, through the real server on
//! a loopback port. A success carries neither; an injected fault says which rule injected it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::crafted::*;
use common::*;
use nppa_harness::client::{Client, Exchange};
use nppa_harness::{DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY};
use nppa_mockserver::admin_api::KeyAction;
use nppa_mockserver::config::ChannelConfig;
use nppa_mockserver::faults::{FaultRequest, FaultRule};
use nppa_mockserver::journal::{JournalEntry, JournalQuery};
use nppa_mockserver::rules::RULES;
use nppa_protocol::messages::BehaviourRecord;
use nppa_protocol::request::{self, Target};
use nppa_protocol::{Permission, SecretKey};

const TEST_APP_ID: &str = "7e57a99c0de0466b9d1c3f5e8a2b4d60";
const TEST_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const TEST_BIZ_ID: &str = "1101999998";
const TESTCASE01: &str = "3f9c2a7e51d04b86";
const TESTCASE04: &str = "1d8e3b6a0f4c9725";
const CHECK: &str = "/idcard/authentication/check";
const LOGINOUT: &str = "/behavior/collection/loginout";

/// The journal entry of the request `exchange` sent, found by its `sign` as `nppa client` finds it.
async fn entry_of(mock: &Mock, exchange: &Exchange) -> JournalEntry {
    let sign = exchange.request.headers.iter().find(|(n, _)| *n == "sign").map(|(_, v)| v.clone());
    let query = JournalQuery { sign, ..JournalQuery::default() };
    let page = mock.admin_api().journal(&query).await.unwrap();
    page.entries.last().cloned().unwrap_or_else(|| panic!("no journal entry for {:?}", exchange.request.headers))
}

/// The (rule id, errcode) pairs the tests saw, to hold against the table.
#[derive(Default)]
struct Seen(Vec<(String, u16)>);

impl Seen {
    /// Asserts the answer's errcode, the entry's rule, and that its cause holds every one of `words`.
    async fn refused(&mut self, mock: &Mock, exchange: &Exchange, code: u16, rule: &str, words: &[&str]) {
        assert_eq!(exchange.errcode(), Some(code), "{}", exchange.response_body);
        let entry = entry_of(mock, exchange).await;
        assert_eq!(entry.rule.as_deref(), Some(rule), "{code}: {:?}", entry.cause);
        let cause = entry.cause.unwrap_or_else(|| panic!("{code} {rule} without a cause"));
        for word in words {
            assert!(cause.contains(word), "{code} {rule}: {word:?} not in {cause:?}");
        }
        self.0.push((rule.to_owned(), code));
    }

    /// The records of a 3001 are counted by the rule the cause names for each.
    fn record(&mut self, rule: &str, code: u16) {
        self.0.push((rule.to_owned(), code));
    }
}

fn test_client(mock: &Mock, code: &str) -> Client {
    mock.client_for(TEST_APP_ID, TEST_BIZ_ID, TEST_KEY).with_target(Target::TestSystem { test_code: code.into() })
}

/// R-ORDER, R-HDR-1, R-ENT-1, R-IP-1, SPEC §8: who may call, each cause told apart.
async fn callers(seen: &mut Seen) {
    let mock = start_with(|c| {
        c.enterprises[1].ip_whitelist = vec!["10.1.2.3".into()];
    })
    .await;
    let client = mock.client();
    let now = mock.now_ms().await;

    let mut unknown_path = check_request(now);
    unknown_path.path_and_query = "/idcard/authentication/checks".into();
    let answer = client.send(unknown_path).await.unwrap();
    seen.refused(&mock, &answer, 1002, "R-ORDER", &["the path is none of"]).await;
    let mut get_check = check_request(now);
    get_check.method = "GET";
    let answer = client.send(get_check).await.unwrap();
    seen.refused(&mock, &answer, 1003, "R-ORDER", &["check takes POST only"]).await;
    let mut no_biz_id = check_request(now);
    set_header(&mut no_biz_id, "bizId", "");
    let answer = client.send(no_biz_id).await.unwrap();
    seen.refused(&mock, &answer, 1004, "R-HDR-1", &["header `bizId` missing or empty"]).await;

    // The 1008s: unknown, test credentials on production, production credentials on the test system.
    let unknown = mock.client_for("ffffffffffffffffffffffffffffffff", DEFAULT_BIZ_ID, OTHER_KEY);
    let answer = unknown.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1008, "R-ENT-1", &["unknown appId"]).await;
    let test_on_production = mock.client_for(TEST_APP_ID, TEST_BIZ_ID, TEST_KEY);
    let answer = test_on_production.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1008, "R-ENT-1", &["test credentials on a production path"]).await;
    let production_on_test = mock.client().with_target(Target::TestSystem { test_code: TESTCASE04.into() });
    let answer = production_on_test.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1008, "R-ENT-1", &["production credentials on a test path"]).await;

    let outside = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    let answer = outside.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1005, "R-IP-1", &["client IP 127.0.0.1", "enterprise's whitelist"]).await;

    // The 1010s.
    let unbound = mock.client_for(DEFAULT_APP_ID, OTHER_BIZ_ID, DEFAULT_SECRET_KEY);
    let answer = unbound.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1010, "R-ENT-1", &["not bound to this appId"]).await;
    let unknown_game = mock.client_for(DEFAULT_APP_ID, "1109999999", DEFAULT_SECRET_KEY);
    let answer = unknown_game.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1010, "R-ENT-1", &["unknown bizId"]).await;
    let test_biz = mock.client_for(DEFAULT_APP_ID, TEST_BIZ_ID, DEFAULT_SECRET_KEY);
    let answer = test_biz.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1010, "R-ENT-1", &["the test bizId on a production path"]).await;
    let production_biz = mock
        .client_for(TEST_APP_ID, DEFAULT_BIZ_ID, TEST_KEY)
        .with_target(Target::TestSystem { test_code: TESTCASE04.into() });
    let answer = production_biz.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1010, "R-ENT-1", &["a production bizId on a test path"]).await;

    // The test codes.
    let answer = test_client(&mock, "no-such-code").query("a").await.unwrap();
    seen.refused(&mock, &answer, 4002, "SPEC §8", &["unknown test code"]).await;
    let (ai, name, id) = PRESET_OK;
    let answer = test_client(&mock, TESTCASE04).check(ai, name, id).await.unwrap();
    seen.refused(&mock, &answer, 4003, "SPEC §8", &["testcase04", "query case"]).await;
    let answer = test_client(&mock, TESTCASE04).query("300000000000000099").await.unwrap();
    seen.refused(&mock, &answer, 2003, "R-QRY-3", &["preset ais only"]).await;
}

/// 1009, the report-only channel's 1010, and production before the 8 cases (SPEC §8's 1008).
async fn enterprises(seen: &mut Seen) {
    let mock = start_with(|c| {
        c.enterprises[1].enabled = false;
        c.enterprises[1].test_passed = true;
        c.rules.require_test_pass = true;
        c.enterprises[0].test_passed = false;
    })
    .await;
    let answer = mock.client().query("a").await.unwrap();
    seen.refused(&mock, &answer, 1008, "SPEC §8", &["before the 8 test cases passed", "0 of 8"]).await;
    let (ai, name, id) = PRESET_OK;
    let passed = test_client(&mock, TESTCASE01).check(ai, name, id).await.unwrap();
    assert_eq!(code(&passed), 0);
    let answer = mock.client().query("a").await.unwrap();
    seen.refused(&mock, &answer, 1008, "SPEC §8", &["1 of 8 so far"]).await;
    let disabled = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    let answer = disabled.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1009, "R-ENT-1", &["disabled"]).await;

    let mock = start().await;
    let channel = mock.client_for(OTHER_APP_ID, DEFAULT_BIZ_ID, OTHER_KEY);
    let answer = channel.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1010, "R-ENT-1", &["lacks the `realname` permission query needs"]).await;
}

/// R-HDR-2, R-TS-1, R-RL-1/2: timestamps and quotas.
async fn timestamps_and_quotas(seen: &mut Seen) {
    let mock = start_with(|c| c.games[0].quota.query = Some(1)).await;
    let client = mock.client();
    mock.freeze().await;
    let now = mock.now_ms().await;
    let mut letters = check_request(now);
    set_header(&mut letters, "timestamps", "17059757889O3");
    let answer = client.send(letters).await.unwrap();
    seen.refused(&mock, &answer, 1011, "R-HDR-2", &["`timestamps` is not a decimal number"]).await;

    // The issue's case: a client 31 s behind the mock clock.
    let mut behind = check_request(now - 31_000);
    resign(&mut behind, DEFAULT_SECRET_KEY);
    let answer = client.send(behind).await.unwrap();
    let words = [&*format!("timestamps {} is 31.0 s behind the mock clock", now - 31_000), "window ±5 s"];
    seen.refused(&mock, &answer, 1007, "R-TS-1", &words).await;
    let entry = entry_of(&mock, &answer).await;
    assert!(entry.cause.unwrap().contains("GET /__admin/clock) or set rules.timestamps_clock = \"wall\""));
    let answer = client.send(check_request(now + 6_000)).await.unwrap();
    seen.refused(&mock, &answer, 1007, "R-TS-1", &["6.0 s ahead of the mock clock"]).await;
    let mut seconds = check_request(now / 1000);
    resign(&mut seconds, DEFAULT_SECRET_KEY);
    let answer = client.send(seconds).await.unwrap();
    seen.refused(&mock, &answer, 1007, "R-TS-1", &["looks like Unix seconds"]).await;

    // Quota 1 per second on query, the clock frozen: the second starts the block, the third meets it.
    assert_eq!(code(&client.query("q").await.unwrap()), 2003);
    let answer = client.query("q").await.unwrap();
    seen.refused(&mock, &answer, 1006, "R-RL-1", &["more than 1 query requests in one second", "60.0 s"]).await;
    mock.advance(20_000).await;
    let answer = client.query("q").await.unwrap();
    seen.refused(&mock, &answer, 1006, "R-RL-2", &["query is blocked 40.0 s more"]).await;
}

/// R-ENC-1, R-HDR-2, R-SIG-3, R-KEY-1: the envelope and the signature, each 1001 and 1011 told apart.
async fn envelope_and_signature(seen: &mut Seen) {
    let mock = start_with(|c| c.server.max_body_bytes = 2048).await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let mut huge = check_request(now);
    huge.body = format!(r#"{{"data":"{}"}}"#, "A".repeat(4096)).into_bytes();
    resign(&mut huge, DEFAULT_SECRET_KEY);
    let answer = client.send(huge).await.unwrap();
    seen.refused(&mock, &answer, 1001, "R-ENC-1", &["body over server.max_body_bytes"]).await;

    let mut short_sign = check_request(now);
    set_header(&mut short_sign, "sign", "abc123");
    let answer = client.send(short_sign).await.unwrap();
    seen.refused(&mock, &answer, 1011, "R-HDR-2", &["`sign` is 6 characters, not 64"]).await;
    let mut wrong_key = check_request(now);
    resign(&mut wrong_key, OTHER_KEY);
    let answer = client.send(wrong_key).await.unwrap();
    seen.refused(&mock, &answer, 1011, "R-SIG-3", &["sign mismatch", "appId, bizId, timestamps"]).await;
    let mut query = request::query(&credentials(), &Target::Production, "abc", now);
    query.path_and_query = query.path_and_query.replace("ai=abc", "ai=abd");
    let answer = client.send(query).await.unwrap();
    seen.refused(&mock, &answer, 1011, "R-SIG-3", &["sign mismatch", "ai, appId, bizId, timestamps"]).await;

    // A key of the enterprise that expired yesterday signs correctly, but is not valid now.
    let expired = "aabbccddeeff00112233445566778899";
    let add = KeyAction::Add {
        secret_key: expired.into(),
        valid_from_ms: Some(now - 10 * 86_400_000),
        valid_until_ms: Some(now - 86_400_000),
    };
    mock.admin_api().key_action(DEFAULT_APP_ID, &add).await.unwrap();
    let with_expired = mock.client_for(DEFAULT_APP_ID, DEFAULT_BIZ_ID, expired);
    let answer = with_expired.query("a").await.unwrap();
    seen.refused(&mock, &answer, 1011, "R-KEY-1", &["key outside its validity"]).await;

    let mut not_json = check_request(now);
    not_json.body = b"not json".to_vec();
    resign(&mut not_json, DEFAULT_SECRET_KEY);
    let answer = client.send(not_json).await.unwrap();
    seen.refused(&mock, &answer, 1001, "R-ENC-1", &["not JSON {\"data\""]).await;
    let mut foreign = check_request(now);
    let other = SecretKey::from_hex(OTHER_KEY).unwrap();
    foreign.body = format!(r#"{{"data":"{}"}}"#, other.seal(b"{}", [1; 12])).into_bytes();
    resign(&mut foreign, DEFAULT_SECRET_KEY);
    let answer = client.send(foreign).await.unwrap();
    seen.refused(&mock, &answer, 1011, "R-SIG-3", &["data not sealed under the key that signed", "tag"]).await;
    let answer = client.send(sealed(CHECK, "ai=1&name=x", now)).await.unwrap();
    seen.refused(&mock, &answer, 1001, "R-ENC-1", &["plaintext is not JSON"]).await;
    let answer = client.send(sealed(LOGINOUT, r#"{"records":[]}"#, now)).await.unwrap();
    seen.refused(&mock, &answer, 1001, "R-BEH-1", &["without `collections`"]).await;
}

/// R-AI (1012, naming the field), R-ID, R-NAME, R-CHK-3, R-QRY-3, R-QRY-5.
async fn real_name(seen: &mut Seen) {
    let mock = start_with(|c| {
        c.rules.live_record_cap = 1;
        // The other enterprise may also check and query the default game: R-QRY-5 tells their records apart.
        c.games[0].channels =
            vec![ChannelConfig { app_id: OTHER_APP_ID.into(), permissions: vec![Permission::Realname] }];
    })
    .await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let answer = client.send(sealed(CHECK, r#"{"ai":"a","name":"某一一","idNum":5}"#, now)).await.unwrap();
    seen.refused(&mock, &answer, 1012, "R-AI", &["`idNum`", "invalid type: integer `5`, expected a string"]).await;
    let answer = client.send(sealed(CHECK, r#"{"ai":"a","name":"某一一"}"#, now)).await.unwrap();
    seen.refused(&mock, &answer, 1012, "R-AI", &["missing field `idNum`"]).await;
    let answer = client.check("", "某一一", "110000190101010001").await.unwrap();
    seen.refused(&mock, &answer, 1012, "R-AI", &["`ai` has 0 characters (1–32)"]).await;
    let answer = client.check("a", &"某".repeat(33), "110000190101010001").await.unwrap();
    seen.refused(&mock, &answer, 1012, "R-AI", &["`name` has 33 characters"]).await;
    let answer = client.query(&"a".repeat(33)).await.unwrap();
    seen.refused(&mock, &answer, 1012, "R-AI", &["`ai` has 33 characters"]).await;

    let answer = client.check("a", "某一一", "110000190101010002").await.unwrap();
    seen.refused(&mock, &answer, 2001, "R-ID", &["idNum: the check character does not match"]).await;
    let answer = client.check("a", "某一一", "11000019010101").await.unwrap();
    seen.refused(&mock, &answer, 2001, "R-ID", &["idNum: an idNum has 18 characters"]).await;
    let answer = client.check("a", "Bob", "110000190101010001").await.unwrap();
    seen.refused(&mock, &answer, 2005, "R-NAME", &["not 2–32 CJK ideographs", "rules.name_rule"]).await;

    let (ai, name, id) = PRESET_PENDING;
    assert_eq!(client.check(ai, name, id).await.unwrap().status(), Some(1));
    let answer = client.check(ai, name, id).await.unwrap();
    seen.refused(&mock, &answer, 2004, "R-CHK-3", &["still live"]).await;
    let answer = client.check("another-ai", "某二二", "110000190201020004").await.unwrap();
    seen.refused(&mock, &answer, 2002, "R-CHK-3", &["already holds 1 live records", "rules.live_record_cap"]).await;
    let answer = client.query("never-checked").await.unwrap();
    seen.refused(&mock, &answer, 2003, "R-QRY-3", &["no live record of this ai"]).await;
    let other = mock.client_for(OTHER_APP_ID, DEFAULT_BIZ_ID, OTHER_KEY);
    let answer = other.query(ai).await.unwrap();
    seen.refused(&mock, &answer, 2003, "R-QRY-5", &["belongs to another enterprise"]).await;
}

/// R-BEH-1, R-BEH-2, R-PI, R-BEH-TIME: whole batches, and each rejected record of a 3001 with its rule.
async fn behaviour(seen: &mut Seen) {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let answer = client.loginout(vec![]).await.unwrap();
    seen.refused(&mock, &answer, 3002, "R-BEH-1", &["`collections` is empty"]).await;
    let many: Vec<BehaviourRecord> = (1..=129).map(|n| guest(n, "s", 1, now)).collect();
    let answer = client.loginout(many).await.unwrap();
    seen.refused(&mock, &answer, 3003, "R-BEH-1", &["129 records, more than 128"]).await;
    let mut long_si = guest(1, "s", 1, now);
    long_si.si = "s".repeat(33);
    let answer = client.loginout(vec![long_si]).await.unwrap();
    seen.refused(&mock, &answer, 1012, "R-AI", &["record no 1: `si` has 33 characters"]).await;
    let plaintext = r#"{"collections":[{"no":1,"si":"s","bt":"1","ot":1,"ct":2,"di":"d"}]}"#;
    let answer = client.send(sealed(LOGINOUT, plaintext, now)).await.unwrap();
    seen.refused(&mock, &answer, 1012, "R-AI", &["`collections[0].bt`", "invalid type: string \"1\""]).await;

    let mut records = vec![guest(1, "ok", 1, now)];
    let mut repeated = guest(1, "s2", 1, now);
    repeated.no = 1;
    records.push(repeated);
    let mut bad_bt = guest(3, "s3", 1, now);
    bad_bt.bt = 5;
    records.push(bad_bt);
    let mut bad_ct = guest(4, "s4", 1, now);
    bad_ct.ct = 1;
    records.push(bad_ct);
    let mut no_pi = verified(5, "s5", 1, now);
    no_pi.pi = None;
    records.push(no_pi);
    let mut no_di = guest(6, "s6", 1, now);
    no_di.di = None;
    records.push(no_di);
    let mut bad_pi = verified(7, "s7", 1, now);
    bad_pi.pi = Some("not-a-pi".into());
    records.push(bad_pi);
    let mut late = guest(8, "s8", 1, now);
    late.ot = now as i64 / 1000 - 200;
    records.push(late);
    let answer = client.loginout(records).await.unwrap();
    let expected = [
        (1, 3004, "R-BEH-2"),
        (3, 3007, "R-BEH-2"),
        (4, 3006, "R-BEH-2"),
        (5, 3008, "R-BEH-2"),
        (6, 3009, "R-BEH-2"),
        (7, 3010, "R-PI"),
        (8, 3005, "R-BEH-TIME"),
    ];
    let words: Vec<String> = expected.iter().map(|(no, code, rule)| format!("no {no} {code} ({rule})")).collect();
    let mut words: Vec<&str> = words.iter().map(String::as_str).collect();
    words.push("7 of 8 records rejected");
    seen.refused(&mock, &answer, 3001, "R-BEH-2", &words).await;
    for (_, code, rule) in expected {
        seen.record(rule, code);
    }
}

#[tokio::test]
async fn every_refusal_of_the_rules_table_names_its_rule_and_the_specific_cause() {
    let mut seen = Seen::default();
    callers(&mut seen).await;
    enterprises(&mut seen).await;
    timestamps_and_quotas(&mut seen).await;
    envelope_and_signature(&mut seen).await;
    real_name(&mut seen).await;
    behaviour(&mut seen).await;
    // Every row of the table with an errcode was met, under its own rule id.
    for rule in RULES {
        let Some(code) = rule.code else { continue };
        // R-BEH-1's 1011 is the configurable code of the row whose 1001 was met.
        let met = seen.0.iter().any(|(id, c)| id == rule.id && *c == code.code());
        assert!(met, "no test met {} {} ({})", rule.id, code.code(), rule.cause);
    }
}

#[tokio::test]
async fn a_success_carries_no_rule_nor_cause() {
    let mock = start().await;
    let (ai, name, id) = PRESET_OK;
    let answer = mock.client().check(ai, name, id).await.unwrap();
    assert_eq!(code(&answer), 0);
    let entry = entry_of(&mock, &answer).await;
    assert_eq!((entry.rule, entry.cause), (None, None));
    // Nor in the JSON external tools read.
    let (_, page) = mock.admin("GET", "/__admin/journal", None).await;
    let json = page["entries"][0].as_object().unwrap();
    assert!(!json.contains_key("rule") && !json.contains_key("cause"), "{json:?}");
}

#[tokio::test]
async fn an_injected_fault_says_which_fault_rule_injected_it() {
    let mock = start().await;
    let rule: FaultRule = serde_json::from_value(serde_json::json!(
        {"interface": "query", "action": {"kind": "status", "errcode": 2007}}
    ))
    .unwrap();
    let added = mock.admin_api().add_faults(&FaultRequest::One(rule)).await.unwrap();
    let id = added.added[0].id;
    let answer = mock.client().query("a").await.unwrap();
    assert_eq!(code(&answer), 2007);
    let entry = entry_of(&mock, &answer).await;
    assert_eq!(entry.rule, None, "a fault is no rule of the protocol");
    assert_eq!(entry.cause.as_deref(), Some(&*format!("injected by fault rule #{id}: status 2007")));
}

#[tokio::test]
async fn the_stream_and_the_journal_file_carry_rule_and_cause_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("journal.jsonl");
    let path = file.clone();
    let mock = start_with(move |c| c.journal.file = Some(path)).await;
    let mut stream = mock.admin_api().journal_stream().await.unwrap();
    let answer = mock.client().query("never-checked").await.unwrap();
    assert_eq!(code(&answer), 2003);
    let mut text = String::new();
    while !text.contains("\"errcode\":2003") {
        let chunk = stream.chunk().await.unwrap().expect("the stream ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let line = text.lines().find(|l| l.contains("\"errcode\":2003")).unwrap();
    let streamed: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(streamed["rule"], "R-QRY-3");
    assert!(streamed["cause"].as_str().unwrap().contains("no live record of this ai"), "{streamed}");
    // The file's writer thread flushes as it goes: wait for its line.
    let mut written = String::new();
    for _ in 0..500 {
        written = std::fs::read_to_string(&file).unwrap_or_default();
        if written.contains("\"errcode\":2003") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let entry: serde_json::Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!((&entry["rule"], &entry["cause"]), (&streamed["rule"], &streamed["cause"]));
}
