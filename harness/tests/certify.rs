//! `nppa certify` judged through the real mock: the reference client passes every rule; each mutant of it
//! (kept here) is flagged with the right rule id and diagnosis; offline judging agrees with the live one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::judge;
use nppa_harness::certify::model::{RuleResult, Verdict};
use nppa_harness::certify::reference::{self};
use nppa_harness::certify::rules::Profile;
use nppa_protocol::messages::{BehaviourRecord, CheckRequest};
use nppa_protocol::request::{self, SignedRequest, Target};
use nppa_protocol::{sign, SecretKey};

fn verdicts(mock: &Mock, profile: Profile) -> Vec<RuleResult> {
    judge(&entries(mock), mock.server.service().config(), profile, vec![], vec![]).rules
}

/// The rule, asserted failed; its findings' text.
fn failed(results: &[RuleResult], id: &str) -> String {
    let rule = results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no rule {id}"));
    assert_eq!(rule.verdict, Verdict::Failed, "{id} should fail: {rule:?}");
    rule.findings.iter().map(|f| format!("{}\n", f.message)).collect()
}

fn passed_or_unexercised(results: &[RuleResult]) {
    for rule in results {
        assert_ne!(rule.verdict, Verdict::Failed, "false positive: {rule:#?}");
    }
}

fn header(request: &SignedRequest, name: &str) -> String {
    request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap()
}

fn set_header(request: &mut SignedRequest, name: &str, value: String) {
    for (n, v) in request.headers.iter_mut() {
        if *n == name {
            *v = value.clone();
        }
    }
}

fn check_body(ai: &str) -> CheckRequest {
    CheckRequest { ai: ai.into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() }
}

#[tokio::test]
async fn the_reference_client_passes_every_rule_in_every_profile() {
    let mock = start().await;
    reference::run(&flow_env(&mock)).await.unwrap();
    for profile in [Profile::Official, Profile::Behaviour, Profile::All] {
        let results = verdicts(&mock, profile);
        passed_or_unexercised(&results);
        if profile != Profile::Behaviour {
            let official: Vec<_> = results.iter().filter(|r| r.id.starts_with("OFFICIAL")).collect();
            assert_eq!(official.len(), 8);
            assert!(official.iter().all(|r| r.verdict == Verdict::Passed));
        }
    }
}

#[tokio::test]
async fn each_sign_mistake_gets_its_own_diagnosis() {
    let mock = start().await;
    let client = mock.client();
    let key = nppa_harness::DEFAULT_SECRET_KEY;
    let now = mock.now_ms().await;
    let query = |ai: &str| request::query(&credentials(), &Target::Production, ai, now);
    let base = |r: &SignedRequest| (header(r, "appId"), header(r, "bizId"), header(r, "timestamps"));
    let hash = |text: String| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));

    // Query parameters appended after the system parameters instead of sorted.
    let mut unsorted = query("u1");
    let (a, b, t) = base(&unsorted);
    set_header(&mut unsorted, "sign", hash(format!("{key}appId{a}bizId{b}timestamps{t}aiu1")));
    // Query parameters left out.
    let mut omitted = query("u2");
    set_header(&mut omitted, "sign", sign::sign(key, &[("appId", &a), ("bizId", &b), ("timestamps", &t)], b""));
    // Signed with a timestamps 1 ms before the one sent.
    let mut early = query("u3");
    let before = (now - 1).to_string();
    set_header(
        &mut early,
        "sign",
        sign::sign(key, &[("appId", &a), ("bizId", &b), ("timestamps", &before), ("ai", "u3")], b""),
    );
    // Upper-case hex.
    let mut upper = query("u4");
    let sent = header(&upper, "sign").to_uppercase();
    set_header(&mut upper, "sign", sent);
    // The secretKey left out.
    let mut keyless = query("u5");
    set_header(&mut keyless, "sign", hash(format!("aiu5appId{a}bizId{b}timestamps{t}")));
    // The body signed re-serialised (with a space) but sent compact.
    let mut reserialised = request::check(&credentials(), &Target::Production, &check_body("u6"), now, [3; 12]);
    let spaced = String::from_utf8(reserialised.body.clone()).unwrap().replacen("\":\"", "\": \"", 1);
    set_header(
        &mut reserialised,
        "sign",
        sign::sign(key, &[("appId", &a), ("bizId", &b), ("timestamps", &t)], spaced.as_bytes()),
    );

    // The key's 16 decoded bytes at the start of the sign string instead of its 32 hex characters.
    let mut raw_key = query("u7");
    let mut text = hex::decode(key).unwrap();
    text.extend_from_slice(format!("aiu7appId{a}bizId{b}timestamps{t}").as_bytes());
    set_header(&mut raw_key, "sign", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&text)));

    // A POST with a query parameter, signed with the parameter appended after the body.
    let mut appended = request::check(&credentials(), &Target::Production, &check_body("u8"), now, [4; 12]);
    appended.path_and_query.push_str("?channel=7");
    let appended_text =
        format!("{key}appId{a}bizId{b}timestamps{t}{}channel7", String::from_utf8(appended.body.clone()).unwrap());
    set_header(&mut appended, "sign", hash(appended_text));
    // A GET signed as if it had the body `{}`.
    let mut get_signed_with_body = query("u9");
    set_header(
        &mut get_signed_with_body,
        "sign",
        sign::sign(key, &[("ai", "u9"), ("appId", &a), ("bizId", &b), ("timestamps", &t)], b"{}"),
    );

    let mutants = [unsorted, omitted, early, upper, keyless, reserialised, raw_key, appended, get_signed_with_body];
    for mutant in mutants {
        assert_eq!(code(&client.send(mutant).await.unwrap()), 1011);
    }
    let results = verdicts(&mock, Profile::All);
    let text = failed(&results, "ENV-SIGN");
    // The evidence sets the client's probable sign string beside the expected one.
    let sign_rule = results.iter().find(|r| r.id == "ENV-SIGN").unwrap();
    let early_finding = sign_rule.findings.iter().find(|f| f.message.contains("1 ms before")).unwrap();
    let client_line = early_finding.evidence.iter().find(|l| l.starts_with("client's sign string:")).unwrap();
    assert!(client_line.contains(&format!("timestamps{}", now - 1)), "{client_line}");
    assert!(early_finding
        .evidence
        .iter()
        .any(|l| l.starts_with("expected sign string:") && l.contains(&format!("timestamps{now}"))));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9, "{text}");
    for (line, diagnosis) in lines.iter().zip([
        "not sorted by key",
        "left out of the sign string",
        "1 ms before the value sent",
        "upper-case hex",
        "secretKey is missing",
        "re-serialised before signing",
        "16 decoded bytes",
        "appended after the body",
        "a GET was signed with a body",
    ]) {
        assert!(line.contains(diagnosis), "expected {diagnosis:?} in {line:?}");
    }
}

#[tokio::test]
async fn envelope_mutants_are_flagged() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let key = nppa_harness::DEFAULT_SECRET_KEY;
    let params = |r: &SignedRequest| (header(r, "appId"), header(r, "bizId"), header(r, "timestamps"));
    // Sealed with the key's ASCII characters.
    let mut ascii = request::check(&credentials(), &Target::Production, &check_body("e1"), now, [1; 12]);
    let ascii_key = SecretKey::from_hex(&hex::encode(&key.as_bytes()[..16])).unwrap();
    ascii.body = format!("{{\"data\":\"{}\"}}", ascii_key.seal(ascii.plaintext.clone().unwrap().as_bytes(), [1; 12]))
        .into_bytes();
    let (a, b, t) = params(&ascii);
    let ascii_sign = sign::sign(key, &[("appId", &a), ("bizId", &b), ("timestamps", &t)], &ascii.body);
    set_header(&mut ascii, "sign", ascii_sign);
    client.send(ascii).await.unwrap();
    // Seconds instead of milliseconds.
    let seconds = request::query(&credentials(), &Target::Production, "e2", now / 1000);
    client.send(seconds).await.unwrap();
    // A GET with a body (signed with it, so only the body is wrong).
    let mut get_body = request::query(&credentials(), &Target::Production, "e3", now);
    get_body.body = b"{}".to_vec();
    set_header(
        &mut get_body,
        "sign",
        sign::sign(key, &[("ai", "e3"), ("appId", &a), ("bizId", &b), ("timestamps", &t)], b"{}"),
    );
    client.send(get_body).await.unwrap();
    // The same iv for two different plaintexts, and a byte-identical replay.
    client.send(request::check(&credentials(), &Target::Production, &check_body("e4"), now, [9; 12])).await.unwrap();
    let reused = request::check(&credentials(), &Target::Production, &check_body("e5"), now, [9; 12]);
    client.send(reused.clone()).await.unwrap();
    client.send(reused).await.unwrap();

    let results = verdicts(&mock, Profile::All);
    assert!(failed(&results, "ENV-ENCRYPT").contains("ASCII characters"));
    assert!(failed(&results, "ENV-TIMESTAMPS").contains("in seconds"));
    assert!(failed(&results, "ENV-GET-BODY").contains("carries a body"));
    assert!(failed(&results, "ENV-NONCE").contains("same AES-GCM iv"));
    assert!(failed(&results, "ENV-REPLAY").contains("byte for byte"));
}

fn guest_record(no: i64, si: &str, bt: i64, now: u64) -> BehaviourRecord {
    guest(no, si, bt, now)
}

#[tokio::test]
async fn plaintext_and_behaviour_mutants_are_flagged() {
    let mock = start().await;
    let client = mock.client();
    // idNum with a lower-case x (2001), ot in milliseconds (3005).
    client.check("p1", "某一五", "11000019010101001x").await.unwrap();
    let now = mock.now_ms().await;
    let mut ms = guest_record(1, "ms", 1, now);
    ms.ot = now as i64;
    client.loginout(vec![ms]).await.unwrap();
    // 129 records; a repeated `no`.
    let many: Vec<_> = (1..=129).map(|n| guest_record(n, &format!("m{n}"), 1, now)).collect();
    client.loginout(many).await.unwrap();
    client.loginout(vec![guest_record(1, "d1", 0, now), guest_record(1, "d2", 0, now)]).await.unwrap();
    // A login never logged out.
    client.loginout(vec![guest_record(1, "forgotten-session", 1, now)]).await.unwrap();
    client.loginout(vec![guest_record(1, "lonely-session", 1, now)]).await.unwrap();
    // One si for two devices.
    let mut other_device = guest_record(1, "forgotten-session", 0, now);
    other_device.di = Some("device-2".into());
    client.loginout(vec![other_device]).await.unwrap();

    let results = verdicts(&mock, Profile::Behaviour);
    let shape = failed(&results, "PT-SHAPE");
    assert!(shape.contains("lower-case x") && shape.contains("in milliseconds"), "{shape}");
    let batch = failed(&results, "BEH-BATCH");
    assert!(batch.contains("129 records") && batch.contains("repeat 1"), "{batch}");
    assert!(failed(&results, "BEH-TIME").contains("outside (timestamps − 180 s, timestamps)"));
    assert!(failed(&results, "BEH-SESSION").contains("one si belongs to one person"));
    assert!(failed(&results, "BEH-PAIRS").contains("lonely-session"));
}

#[tokio::test]
async fn real_name_discipline_mutants_are_flagged() {
    let mock = start_with(|c| c.identities.failure_fraction = 1.0).await;
    let client = mock.client();
    let (ai, name, id) = PRESET_PENDING;
    client.check(ai, name, id).await.unwrap();
    client.check("another-ai", name, id).await.unwrap(); // re-checks a pending person
    for i in 0..3 {
        client.check(&format!("f{i}"), "张三", &id_num(77)).await.unwrap(); // a failed person, again and again
    }
    let text = failed(&verdicts(&mock, Profile::Behaviour), "RN-DISCIPLINE");
    assert!(text.contains("while its check") && text.contains("query the pending ai"), "{text}");
    assert!(text.contains("3th time after it failed"), "{text}");
}

#[tokio::test]
async fn error_handling_mutants_are_flagged() {
    let mock = start_with(|c| c.games[0].quota.loginout = Some(1)).await;
    mock.freeze().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    client.loginout(vec![guest_record(1, "b", 1, now)]).await.unwrap();
    assert_eq!(code(&client.loginout(vec![guest_record(1, "b", 0, now)]).await.unwrap()), 1006);
    mock.advance(2_000).await;
    client.loginout(vec![guest_record(1, "b", 0, now + 2_000)]).await.unwrap(); // hammering during the block
                                                                                // A 2005 retried unchanged.
    let bad = CheckRequest { ai: "r1".into(), name: "John".into(), id_num: id_num(5) };
    for _ in 0..2 {
        let t = mock.now_ms().await;
        let iv: [u8; 12] = rand::random();
        client.send(request::check(&credentials(), &Target::Production, &bad, t, iv)).await.unwrap();
    }
    let results = verdicts(&mock, Profile::Behaviour);
    assert!(failed(&results, "ERR-BUSY").contains("back off 60 s"));
    let tolerant = nppa_harness::certify::traffic::Thresholds { busy_tolerance_ms: 5_000, ..Default::default() };
    let config = mock.server.service().config();
    let rules =
        nppa_harness::certify::judge_with(&entries(&mock), config, Profile::Behaviour, vec![], vec![], tolerant).rules;
    assert!(rules.iter().any(|r| r.id == "ERR-BUSY" && r.verdict == Verdict::Passed), "2 s is inside a 5 s tolerance");
    assert!(failed(&results, "ERR-RETRY").contains("after errcode 2005"));
}

#[tokio::test]
async fn an_official_case_not_attempted_fails_and_offline_judging_agrees() {
    let mock = start().await;
    let env = flow_env(&mock);
    reference::production(&env).await.unwrap();
    // Only testcase01 on the test system.
    env.test_case(0).unwrap().check("100000000000000001", "某一一", "110000190101010001").await.unwrap();
    let live = verdicts(&mock, Profile::Official);
    assert!(live.iter().any(|r| r.id == "OFFICIAL-01" && r.verdict == Verdict::Passed));
    assert!(failed(&live, "OFFICIAL-02").contains("never attempted"));

    let dir = std::env::temp_dir().join(format!("nppa-certify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.jsonl");
    let lines: Vec<String> = entries(&mock).iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let offline = nppa_harness::certify::read_journal(&path).unwrap();
    let again = judge(&offline, mock.server.service().config(), Profile::Official, vec![], vec![]).rules;
    assert_eq!(again, live);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn query_rate_resend_mutants_are_flagged() {
    let mock = start_with(|c| c.games[0].quota.loginout = Some(2)).await;
    mock.freeze().await;
    let client = mock.client();
    let key = nppa_harness::DEFAULT_SECRET_KEY;
    let now = mock.now_ms().await;
    // A query with a stray parameter (signed with it, so only the parameter is wrong) and one without ai.
    let mut stray = request::query(&credentials(), &Target::Production, "q1", now);
    stray.path_and_query.push_str("&debug=1");
    let (a, b, t) = (header(&stray, "appId"), header(&stray, "bizId"), header(&stray, "timestamps"));
    let stray_sign =
        sign::sign(key, &[("ai", "q1"), ("appId", &a), ("bizId", &b), ("debug", "1"), ("timestamps", &t)], b"");
    set_header(&mut stray, "sign", stray_sign);
    client.send(stray).await.unwrap();
    let mut no_ai = request::query(&credentials(), &Target::Production, "q2", now);
    no_ai.path_and_query = "/idcard/authentication/query".into();
    set_header(&mut no_ai, "sign", sign::sign(key, &[("appId", &a), ("bizId", &b), ("timestamps", &t)], b""));
    client.send(no_ai).await.unwrap();
    // Three reports in one second against a quota of 2; the second re-sends what the first had accepted.
    let good = guest_record(1, "r", 1, now);
    let mut bad = guest_record(2, "r2", 1, now);
    bad.bt = 7;
    assert_eq!(code(&client.loginout(vec![good.clone(), bad]).await.unwrap()), 3001);
    client.loginout(vec![good.clone()]).await.unwrap();
    client.loginout(vec![good]).await.unwrap();
    // A query of an ai nobody checked, one of a final result, and two of a pending ai 0 ms apart.
    client.query("never-checked").await.unwrap();
    client.check("final-ai", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    client.query("final-ai").await.unwrap();
    client.check(PRESET_PENDING.0, PRESET_PENDING.1, PRESET_PENDING.2).await.unwrap();
    client.query(PRESET_PENDING.0).await.unwrap();
    client.query(PRESET_PENDING.0).await.unwrap();

    let results = verdicts(&mock, Profile::All);
    let query = failed(&results, "ENV-QUERY");
    assert!(query.contains("debug") && query.contains("without its ai"), "{query}");
    assert!(failed(&results, "BEH-RATE").contains("over the quota of 2/s"));
    assert!(failed(&results, "BEH-RESEND").contains("already accepted"));
    let rn = failed(&results, "RN-QUERY");
    assert!(rn.contains("which no check submitted"), "{rn}");
    assert!(rn.contains("already answered status 0"), "{rn}");
    assert!(rn.contains("0 ms after"), "{rn}");
    // The spacing threshold is the user's: at 0 ms, back-to-back queries pass.
    let relaxed = nppa_harness::certify::traffic::Thresholds { query_spacing_ms: 0, ..Default::default() };
    let config = mock.server.service().config();
    let rules = nppa_harness::certify::judge_with(&entries(&mock), config, Profile::All, vec![], vec![], relaxed).rules;
    assert!(!failed(&rules, "RN-QUERY").contains("ms after"));
}

#[tokio::test]
async fn a_query_inside_the_outage_is_flagged() {
    let mock = start().await;
    mock.set_clock(MIDNIGHT_BEIJING_MS + 3_600_000).await; // 01:00 Beijing: the check pends until 04:00
    let client = mock.client();
    client.check("outage-ai", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    mock.advance(10_000).await;
    client.query("outage-ai").await.unwrap();
    assert!(failed(&verdicts(&mock, Profile::Behaviour), "RN-QUERY").contains("after 04:00"));
}

fn install_fault_plan(mock: &Mock) {
    let plan = nppa_harness::certify::fault_plan();
    mock.server.service().faults().add(plan).unwrap();
}

#[tokio::test]
async fn the_reference_client_survives_the_fault_plan() {
    let mock = start().await;
    install_fault_plan(&mock);
    // Its waits (200 ms between retries, 60 s after a 1006) move the mock clock instead of sleeping.
    reference::run(&flow_env(&mock)).await.unwrap();
    let results = verdicts(&mock, Profile::Faults);
    passed_or_unexercised(&results);
    for id in ["FLT-SURVIVES", "FLT-RETRIES", "ERR-BUSY"] {
        let rule = results.iter().find(|r| r.id == id).unwrap();
        assert_eq!(rule.verdict, Verdict::Passed, "{id} exercised and passed");
    }
    // Every fault of the plan was met.
    let (_, faults) = mock.admin("GET", "/__admin/faults", None).await;
    for rule in faults["rules"].as_array().unwrap() {
        assert_eq!(rule["hits"], 1, "{rule}");
    }
}

#[tokio::test]
async fn clients_that_give_up_or_hammer_are_flagged() {
    let mock = start().await;
    install_fault_plan(&mock);
    let client = mock.client();
    // Exits 3; hammers query: five immediate retries of the same ai.
    client.check("giving-up", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    for _ in 0..6 {
        let _ = client.query("hammered").await;
    }
    let judged = judge(&entries(&mock), mock.server.service().config(), Profile::Faults, vec![], vec![Some(3)]).rules;
    let survived = failed(&judged, "FLT-SURVIVES");
    assert!(survived.contains("exited with code 3"), "{survived}");
    let retries = failed(&judged, "FLT-RETRIES");
    assert!(retries.contains("times; bound retries") && retries.contains("space retries"), "{retries}");
}

#[tokio::test]
async fn reporting_a_user_whose_check_is_pending_is_flagged() {
    let mock = start().await;
    let client = mock.client();
    let (ai, name, id) = PRESET_PENDING;
    client.check(ai, name, id).await.unwrap();
    mock.advance(31_000).await;
    let pi = client.query(ai).await.unwrap().pi().unwrap().to_owned();
    // The same person is checked again and pends; the game reports them meanwhile.
    assert_eq!(client.check("again-ai", name, id).await.unwrap().status(), Some(1));
    let now = mock.now_ms().await;
    let mut record = verified(1, "pending-session", 1, now);
    record.pi = Some(pi.clone());
    client.loginout(vec![record]).await.unwrap();
    let text = failed(&verdicts(&mock, Profile::Behaviour), "BEH-PENDING");
    assert!(text.contains(&pi) && text.contains("still pending"), "{text}");
}

#[test]
fn the_in_process_mock_steps_out_of_the_mps_outage_so_verdicts_do_not_depend_on_the_hour() {
    use nppa_harness::certify::avoid_the_outage;
    use nppa_mockserver::config::{Config, TimestampsClock};
    // 01:30 Beijing time: inside the outage, the clock starts at 04:01 and timestamps are checked against real time.
    let mut config = Config::embedded_default();
    let note = avoid_the_outage(&mut config, common::MIDNIGHT_BEIJING_MS + 90 * 60_000).unwrap();
    assert!(note.contains("04:01 Beijing time"), "{note}");
    assert_eq!(config.clock.start.as_deref(), Some("2026-01-15T04:01:00+08:00"));
    assert_eq!(config.rules.timestamps_clock, TimestampsClock::Wall);
    // Noon, a configured clock, or no outage at all: nothing changes.
    let mut noon = Config::embedded_default();
    assert!(avoid_the_outage(&mut noon, common::NOON_BEIJING_MS).is_none());
    let mut configured = common::test_config();
    assert!(avoid_the_outage(&mut configured, common::MIDNIGHT_BEIJING_MS + 60_000).is_none());
    let mut no_outage = Config::embedded_default();
    no_outage.rules.mps_outage = false;
    assert!(avoid_the_outage(&mut no_outage, common::MIDNIGHT_BEIJING_MS + 60_000).is_none());
}

#[tokio::test]
async fn broken_http_in_the_journal_is_read_and_changes_no_verdict() {
    use tokio::io::AsyncWriteExt;
    let mock = start().await;
    reference::run(&flow_env(&mock)).await.unwrap();
    let before = verdicts(&mock, Profile::All);
    // What a broken client library sends: the same bad bytes several times in a row, fast, and an HTTP/2 preface.
    let broken: [&[u8]; 4] = [
        b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nb\xffd: 1\r\n\r\n",
        b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nb\xffd: 1\r\n\r\n",
        b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nb\xffd: 1\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    for bytes in broken {
        let mut stream = tokio::net::TcpStream::connect(mock.server.local_addr()).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        let _ = read_to_close(&mut stream).await;
    }
    let all = entries(&mock);
    assert_eq!(all.iter().filter(|e| e.http_error.is_some()).count(), 4);
    // Through a journal file too, as `nppa certify --journal` reads it.
    let dir = std::env::temp_dir().join(format!("nppa-certify-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.jsonl");
    let lines: Vec<String> = all.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let offline = nppa_harness::certify::read_journal(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(offline, all);
    let after = judge(&offline, mock.server.service().config(), Profile::All, vec![], vec![]).rules;
    // ENV-HTTP names them (the three alike as one cause); no rule of the protocol judges them as requests.
    let (http, others): (Vec<_>, Vec<_>) = after.into_iter().partition(|r| r.id == "ENV-HTTP");
    assert_eq!(others, before.into_iter().filter(|r| r.id != "ENV-HTTP").collect::<Vec<_>>());
    assert_eq!(http[0].verdict, Verdict::Failed);
    assert_eq!(http[0].findings.iter().map(|f| f.count).collect::<Vec<_>>(), [3, 1], "{:#?}", http[0]);
}

#[tokio::test]
async fn an_official_case_refused_for_its_envelope_or_by_a_fault_points_to_the_cause() {
    let mock = start().await;
    let env = flow_env(&mock);
    // testcase01 signed with another key: 1011, which ENV-SIGN diagnoses.
    let mut wrong_key = env.clone();
    wrong_key.test_secret_key = "ab".repeat(16);
    assert_eq!(
        code(&wrong_key.test_case(0).unwrap().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()),
        1011
    );
    // testcase02 answered by an injected fault.
    let fault: nppa_mockserver::faults::FaultRule = serde_json::from_value(serde_json::json!({
        "test_system": true, "interface": "check", "count": 1, "action": {"kind": "status", "errcode": 1001}
    }))
    .unwrap();
    mock.server.service().faults().add(nppa_mockserver::faults::FaultRequest::One(fault)).unwrap();
    env.test_case(1).unwrap().check("200000000000000001", "某二一", "110000190201010009").await.unwrap();
    let results = verdicts(&mock, Profile::Official);
    assert!(failed(&results, "OFFICIAL-01").contains("see ENV-SIGN"), "{results:#?}");
    assert!(failed(&results, "OFFICIAL-02").contains("a fault injected by --profile faults"), "{results:#?}");
    // The reports put the cause first: ENV-SIGN's section comes before the official cases it explains.
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::Official, vec![], vec![]);
    let markdown = nppa_harness::certify::report::markdown(&report);
    let at = |text: &str, needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle:?} in {text}"));
    assert!(at(&markdown, "### `ENV-SIGN`") < at(&markdown, "### `OFFICIAL-01`"), "{markdown}");
    assert!(markdown.contains("_The cause of `OFFICIAL-01`: read this first._"), "{markdown}");
    // OFFICIAL-02 failed by a fault, pointing nowhere: after ENV-SIGN, in catalogue order with OFFICIAL-01.
    assert!(at(&markdown, "### `OFFICIAL-01`") < at(&markdown, "### `OFFICIAL-02`"));
    let html = nppa_harness::certify::report::html(&report, &entries(&mock)).unwrap();
    assert!(at(&html, "<section id=\"ENV-SIGN\">") < at(&html, "<section id=\"OFFICIAL-01\">"));
    assert!(html.contains("The cause of OFFICIAL-01: read this first."));
}

#[tokio::test]
async fn the_html_report_escapes_what_the_client_sent_and_lets_long_strings_wrap() {
    let mock = start().await;
    mock.client().query("<script>alert(1)</script>").await.unwrap();
    let report = judge(&entries(&mock), mock.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    assert!(failed(&report.rules, "RN-QUERY").contains("<script>alert(1)</script>"), "{:#?}", report.rules);
    let html = nppa_harness::certify::report::html(&report, &entries(&mock)).unwrap();
    // Quoted as text (escaped), never as a tag the browser would run.
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("script&#62;alert(1)&#60;/script"), "{html}");
    // Sign strings, base64 bodies and evidence have no spaces to break at: the page lets them wrap anywhere.
    assert!(html.contains("white-space:pre-wrap;overflow-wrap:anywhere"));
}
