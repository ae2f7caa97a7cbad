//! Every status code the mock raises by itself (1001–1012, 2001–2005, 3001–3010), each by its real cause,
//! through the real server on a loopback port. Rule ids refer to SPEC.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::crafted::*;
use common::*;
use nppa_protocol::messages::{BehaviourRecord, LoginoutRequest};
use nppa_protocol::request::{self, Target};
use nppa_protocol::{sign, SecretKey};

const CHECK: &str = "/idcard/authentication/check";
const LOGINOUT: &str = "/behavior/collection/loginout";

#[tokio::test]
async fn r_order_1002_unknown_path_and_1003_wrong_method() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let mut unknown = check_request(now);
    unknown.path_and_query = "/idcard/authentication/checks".into();
    assert_eq!(code(&client.send(unknown).await.unwrap()), 1002);
    let mut wrong_method = check_request(now);
    wrong_method.method = "GET";
    assert_eq!(code(&client.send(wrong_method).await.unwrap()), 1003);
    let mut post_query = request::query(&credentials(), &Target::Production, "x", now);
    post_query.method = "POST";
    assert_eq!(code(&client.send(post_query).await.unwrap()), 1003);
}

#[tokio::test]
async fn r_hdr_1_1004_each_missing_or_empty_header() {
    let mock = start().await;
    let client = mock.client();
    for header in ["appId", "bizId", "timestamps", "sign"] {
        let mut missing = check_request(mock.now_ms().await);
        missing.headers.retain(|(n, _)| *n != header);
        assert_eq!(code(&client.send(missing).await.unwrap()), 1004, "{header} missing");
        let mut empty = check_request(mock.now_ms().await);
        set_header(&mut empty, header, "");
        assert_eq!(code(&client.send(empty).await.unwrap()), 1004, "{header} empty");
    }
}

#[tokio::test]
async fn header_names_match_case_insensitively() {
    // R-HDR-1: HTTP header names are case-insensitive; hyper sends them lower-cased anyway.
    let mock = start().await;
    let answer = mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(code(&answer), 0);
}

#[tokio::test]
async fn r_ent_1_1008_unknown_app_id_and_1009_disabled_enterprise() {
    let mock = start_with(|c| c.enterprises[1].enabled = false).await;
    let unknown = mock.client_for("ffffffffffffffffffffffffffffffff", nppa_harness::DEFAULT_BIZ_ID, OTHER_KEY);
    assert_eq!(code(&unknown.query("a").await.unwrap()), 1008);
    let disabled = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    assert_eq!(code(&disabled.query("a").await.unwrap()), 1009);
}

#[tokio::test]
async fn r_ip_1_1005_peer_not_on_the_whitelist() {
    let mock = start_with(|c| c.enterprises[1].ip_whitelist = vec!["10.1.2.3".into(), "192.168.0.0/16".into()]).await;
    let outside = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    assert_eq!(code(&outside.query("a").await.unwrap()), 1005);
    // The whitelist is per enterprise: the default one still gets through.
    assert_eq!(code(&mock.client().query("a").await.unwrap()), 2003);
}

#[tokio::test]
async fn r_ent_1_1010_binding_and_permission() {
    let mock = start().await;
    // The default enterprise has no binding to the other enterprise's game.
    let unbound = mock.client_for(nppa_harness::DEFAULT_APP_ID, OTHER_BIZ_ID, nppa_harness::DEFAULT_SECRET_KEY);
    assert_eq!(code(&unbound.query("a").await.unwrap()), 1010);
    let unknown_game = mock.client_for(nppa_harness::DEFAULT_APP_ID, "1109999999", nppa_harness::DEFAULT_SECRET_KEY);
    assert_eq!(code(&unknown_game.query("a").await.unwrap()), 1010);
    // The other enterprise is a report-only channel of the default game: loginout passes, real-name does not.
    let channel = mock.client_for(OTHER_APP_ID, nppa_harness::DEFAULT_BIZ_ID, OTHER_KEY);
    assert_eq!(code(&channel.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 1010);
    assert_eq!(code(&channel.query("a").await.unwrap()), 1010);
    let now = mock.now_ms().await;
    assert_eq!(code(&channel.loginout(vec![guest(1, "s1", 1, now)]).await.unwrap()), 0);
}

#[tokio::test]
async fn r_ts_1_1007_stale_future_or_seconds_timestamps() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    mock.freeze().await;
    let now_frozen = mock.now_ms().await;
    for (label, ts) in [("6 s old", now_frozen - 6_000), ("6 s ahead", now_frozen + 6_000), ("seconds", now / 1000)] {
        let mut stale = check_request(ts);
        resign(&mut stale, nppa_harness::DEFAULT_SECRET_KEY);
        assert_eq!(code(&client.send(stale).await.unwrap()), 1007, "{label}");
    }
    // Inside the window on both sides.
    for ts in [now_frozen - 5_000, now_frozen + 5_000] {
        assert_eq!(code(&client.send(check_request(ts)).await.unwrap()), 0);
    }
}

#[tokio::test]
async fn r_hdr_2_1011_malformed_timestamps_or_sign() {
    let mock = start().await;
    let client = mock.client();
    let mut letters = check_request(mock.now_ms().await);
    set_header(&mut letters, "timestamps", "17059757889O3");
    assert_eq!(code(&client.send(letters).await.unwrap()), 1011);
    let mut short_sign = check_request(mock.now_ms().await);
    set_header(&mut short_sign, "sign", "abc123");
    assert_eq!(code(&client.send(short_sign).await.unwrap()), 1011);
}

#[tokio::test]
async fn r_sig_3_1011_wrong_key_reserialised_body_or_undecryptable_data() {
    let mock = start().await;
    let client = mock.client();
    let mut wrong_key = check_request(mock.now_ms().await);
    resign(&mut wrong_key, OTHER_KEY);
    assert_eq!(code(&client.send(wrong_key).await.unwrap()), 1011);

    // R-SIG-2: the server signs the raw bytes; a space after the colon is a different body.
    let mut spaced = check_request(mock.now_ms().await);
    let text = String::from_utf8(spaced.body.clone()).unwrap().replacen("\"data\":", "\"data\": ", 1);
    spaced.body = text.into_bytes();
    assert_eq!(code(&client.send(spaced).await.unwrap()), 1011);

    // Signed correctly, but sealed with another key: does not decrypt.
    let mut foreign = check_request(mock.now_ms().await);
    let other = SecretKey::from_hex(OTHER_KEY).unwrap();
    foreign.body = format!(r#"{{"data":"{}"}}"#, other.seal(b"{}", [1; 12])).into_bytes();
    resign(&mut foreign, nppa_harness::DEFAULT_SECRET_KEY);
    assert_eq!(code(&client.send(foreign).await.unwrap()), 1011);

    // Query params take part in the signature: a changed ai breaks it.
    let mut query = request::query(&credentials(), &Target::Production, "abc", mock.now_ms().await);
    query.path_and_query = query.path_and_query.replace("ai=abc", "ai=abd");
    assert_eq!(code(&client.send(query).await.unwrap()), 1011);
}

#[tokio::test]
async fn r_enc_1_1001_envelope_not_json_plaintext_not_json_or_body_too_large() {
    let mock = start_with(|c| c.server.max_body_bytes = 2048).await;
    let client = mock.client();
    let now = mock.now_ms().await;
    for body in ["not json", r#"{"dat":"x"}"#, r#"{"data":5}"#, r#"["data"]"#] {
        let mut bad = check_request(now);
        bad.body = body.as_bytes().to_vec();
        resign(&mut bad, nppa_harness::DEFAULT_SECRET_KEY);
        assert_eq!(code(&client.send(bad).await.unwrap()), 1001, "{body}");
    }
    assert_eq!(code(&client.send(sealed(CHECK, "ai=1&name=x", now)).await.unwrap()), 1001);
    let mut huge = check_request(now);
    huge.body = format!(r#"{{"data":"{}"}}"#, "A".repeat(4096)).into_bytes();
    resign(&mut huge, nppa_harness::DEFAULT_SECRET_KEY);
    assert_eq!(code(&client.send(huge).await.unwrap()), 1001);
}

#[tokio::test]
async fn r_beh_1_1001_loginout_without_collections_or_1011_when_configured() {
    let mock = start().await;
    let now = mock.now_ms().await;
    let answer = mock.client().send(sealed(LOGINOUT, r#"{"records":[]}"#, now)).await.unwrap();
    assert_eq!(code(&answer), 1001);
    let mock = start_with(|c| c.rules.missing_collections_code = 1011).await;
    let now = mock.now_ms().await;
    let answer = mock.client().send(sealed(LOGINOUT, r#"{"records":[]}"#, now)).await.unwrap();
    assert_eq!(code(&answer), 1011);
}

#[tokio::test]
async fn r_ai_1012_plaintext_of_the_wrong_shape() {
    let mock = start().await;
    let client = mock.client();
    let now = mock.now_ms().await;
    let long_ai = "a".repeat(33);
    let long_name = "某".repeat(33);
    let cases = [
        (CHECK, r#"{"ai":"1","name":"某一一"}"#.to_owned()),
        (CHECK, r#"{"ai":1,"name":"某一一","idNum":"110000190101010001"}"#.to_owned()),
        (CHECK, format!(r#"{{"ai":"{long_ai}","name":"某一一","idNum":"110000190101010001"}}"#)),
        (CHECK, r#"{"ai":"","name":"某一一","idNum":"110000190101010001"}"#.to_owned()),
        (CHECK, format!(r#"{{"ai":"a","name":"{long_name}","idNum":"110000190101010001"}}"#)),
        (LOGINOUT, format!(r#"{{"collections":[{{"no":"1","si":"s","bt":0,"ot":{},"ct":2,"di":"d"}}]}}"#, now / 1000)),
        (LOGINOUT, format!(r#"{{"collections":[{{"no":1,"bt":0,"ot":{},"ct":2,"di":"d"}}]}}"#, now / 1000)),
        (LOGINOUT, r#"{"collections":{}}"#.to_owned()),
    ];
    for (path, plaintext) in cases {
        assert_eq!(code(&client.send(sealed(path, &plaintext, now)).await.unwrap()), 1012, "{plaintext}");
    }
    let no_ai = request::query(&credentials(), &Target::Production, "x", now);
    let mut no_ai = no_ai;
    no_ai.path_and_query = "/idcard/authentication/query".into();
    let params = [("appId", nppa_harness::DEFAULT_APP_ID), ("bizId", nppa_harness::DEFAULT_BIZ_ID)];
    let ts = now.to_string();
    let mut all = params.to_vec();
    all.push(("timestamps", ts.as_str()));
    set_header(&mut no_ai, "sign", &sign::sign(nppa_harness::DEFAULT_SECRET_KEY, &all, b""));
    assert_eq!(code(&client.send(no_ai).await.unwrap()), 1012);
    assert_eq!(code(&client.query(&long_ai).await.unwrap()), 1012);
}

#[tokio::test]
async fn r_id_2001_and_r_name_2005() {
    let mock = start().await;
    let client = mock.client();
    for bad_id in
        ["11000019010101001x", "110000190101010002", "1100001901010100", "110000199913010001", "11000020990101001X"]
    {
        assert_eq!(code(&client.check("a1", "张三", bad_id).await.unwrap()), 2001, "{bad_id}");
    }
    for bad_name in ["张", "John Smith", "张三1", "·张三"] {
        assert_eq!(code(&client.check("a2", bad_name, &id_num(1)).await.unwrap()), 2005, "{bad_name}");
    }
    assert_eq!(code(&client.check("a3", "买买提·艾力", &id_num(1)).await.unwrap()), 0);
}

#[tokio::test]
async fn r_chk_3_2004_ai_in_use_and_2002_live_record_cap() {
    let mock = start_with(|c| c.rules.live_record_cap = 1).await;
    let client = mock.client();
    let (ai, name, id) = PRESET_PENDING;
    let first = client.check(ai, name, id).await.unwrap();
    assert_eq!((code(&first), first.status()), (0, Some(1)));
    // R-CHK-3: the pending record holds the ai, whatever the person.
    assert_eq!(code(&client.check(ai, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 2004);
    // The ai namespace is global: another enterprise's game meets the same ai.
    let other = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    assert_eq!(code(&other.check(ai, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 2004);
    // 2002: the game holds its one allowed live record; another pending check is refused.
    assert_eq!(code(&client.check("200000000000000002", "某二二", "110000190201020004").await.unwrap()), 2002);
    // The cap is per game: the other game may still hold one.
    assert_eq!(code(&other.check("200000000000000002", "某二二", "110000190201020004").await.unwrap()), 0);
}

#[tokio::test]
async fn ai_namespace_per_game_is_an_option() {
    let mock = start_with(|c| c.rules.ai_namespace = nppa_mockserver::config::AiNamespace::PerGame).await;
    let (ai, name, id) = PRESET_PENDING;
    assert_eq!(code(&mock.client().check(ai, name, id).await.unwrap()), 0);
    let other = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    assert_eq!(other.check(ai, name, id).await.unwrap().status(), Some(1));
}

#[tokio::test]
async fn r_qry_3_2003_query_of_an_unknown_ai() {
    let mock = start().await;
    assert_eq!(code(&mock.client().query("never-submitted").await.unwrap()), 2003);
}

#[tokio::test]
async fn r_beh_1_3002_empty_and_3003_over_128_records() {
    let mock = start().await;
    let client = mock.client();
    assert_eq!(code(&client.loginout(vec![]).await.unwrap()), 3002);
    let now = mock.now_ms().await;
    let batch: Vec<BehaviourRecord> = (1..=129).map(|n| guest(n, &format!("s{n}"), 1, now)).collect();
    assert_eq!(code(&client.loginout(batch.clone()).await.unwrap()), 3003);
    let now = mock.now_ms().await;
    let batch: Vec<BehaviourRecord> = (1..=128).map(|n| guest(n, &format!("s{n}"), 1, now)).collect();
    assert_eq!(code(&client.loginout(batch).await.unwrap()), 0);
}

#[tokio::test]
async fn r_beh_2_3001_lists_each_rejected_record_with_its_code() {
    let mock = start().await;
    mock.freeze().await;
    let now = mock.now_ms().await;
    let ot = now as i64 / 1000 - 1;
    let mut records = vec![
        verified(1, "ok-verified", 1, now),
        guest(2, "ok-guest", 0, now),
        verified(2, "repeated-no", 1, now),       // 3004
        verified(129, "no-out-of-range", 1, now), // 3004
    ];
    let mut r = verified(5, "bad-bt", 1, now);
    r.bt = 2; // 3007
    records.push(r);
    let mut r = verified(6, "ct-1", 1, now);
    r.ct = 1; // 3006
    records.push(r);
    let mut r = verified(7, "no-pi", 1, now);
    r.pi = Some(String::new()); // 3008
    records.push(r);
    let mut r = guest(8, "no-di", 1, now);
    r.di = None; // 3009
    records.push(r);
    let mut r = verified(9, "bad-pi", 1, now);
    r.pi = Some("1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99U".into()); // 3010
    records.push(r);
    let mut r = verified(10, "too-old", 1, now);
    r.ot = ot - 180; // 3005: 181 s before timestamps
    records.push(r);
    let mut r = guest(11, "future", 1, now);
    r.ot = ot + 2; // 3005: not earlier than timestamps
    records.push(r);
    let answer = mock.client().loginout(records).await.unwrap();
    assert_eq!(code(&answer), 3001);
    assert_eq!(answer.answer.as_ref().unwrap().errmsg.as_deref(), Some("BUS COLL PARTIAL ERROR"));
    assert_eq!(
        answer.rejected(),
        vec![(2, 3004), (129, 3004), (5, 3007), (6, 3006), (7, 3008), (8, 3009), (9, 3010), (10, 3005), (11, 3005)]
    );
    let body: serde_json::Value = serde_json::from_str(&answer.response_body).unwrap();
    let first = &body["data"]["results"][0];
    assert_eq!(first["errmsg"], "BUS COLL NO INVALID");
}

#[tokio::test]
async fn r_beh_2_di_and_pi_may_be_empty_null_or_absent_when_unused() {
    let mock = start().await;
    let now = mock.now_ms().await / 1000 - 1;
    let plaintext = format!(
        r#"{{"collections":[{{"no":1,"si":"a","bt":1,"ot":{now},"ct":0,"di":"","pi":"{PRESET_OK_PI}"}},{{"no":2,"si":"b","bt":1,"ot":{now},"ct":0,"di":null,"pi":"{PRESET_OK_PI}"}},{{"no":3,"si":"c","bt":1,"ot":{now},"ct":2,"di":"d","pi":null}},{{"no":4,"si":"d","bt":1,"ot":{now},"ct":2,"di":"d"}},{{"no":5,"si":"e","bt":1,"ot":{now},"ct":0,"di":"000c29110b92","pi":"{PRESET_OK_PI}"}}]}}"#
    );
    let answer = mock.client().send(sealed(LOGINOUT, &plaintext, mock.now_ms().await)).await.unwrap();
    assert_eq!(code(&answer), 0, "{}", answer.response_body);
    // SPEC §3: an accepted report answers with data "".
    assert_eq!(answer.response_body, r#"{"errcode":0,"errmsg":"OK","data":""}"#);
}

#[tokio::test]
async fn loginout_reports_parse_from_the_typed_builder_too() {
    // The typed builder and a hand-written plaintext agree on the wire shape.
    let report = LoginoutRequest::new(vec![guest(1, "s", 1, 1_700_000_000_000)]);
    let text = serde_json::to_string(&report).unwrap();
    assert_eq!(text, r#"{"collections":[{"no":1,"si":"s","bt":1,"ot":1699999999,"ct":2,"di":"device-1"}]}"#);
}
