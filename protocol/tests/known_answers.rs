//! Known-answer tests against `vectors/official.json` (R-ENC-1, R-SIG-1, R-PI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nppa_protocol::{envelope, pi, request, sign, SecretKey};
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("../../vectors/official.json");
    serde_json::from_str(text).expect("official.json parses")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("vector field {key}"))
}

#[test]
fn every_encryption_vector_opens_to_its_plaintext() {
    let vectors = vectors();
    let list = vectors["encryption"].as_array().expect("encryption list");
    assert_eq!(list.len(), 3);
    for v in list {
        let key = SecretKey::from_hex(str_of(v, "secretKey")).expect("key");
        let plaintext = key.open(str_of(v, "data")).unwrap_or_else(|e| panic!("{}: {e}", str_of(v, "source")));
        assert_eq!(String::from_utf8(plaintext).expect("utf-8"), str_of(v, "plaintext"));
    }
}

#[test]
fn sealing_with_the_vector_iv_reproduces_the_vector_bytes() {
    use base64::Engine as _;
    let vectors = vectors();
    for v in vectors["encryption"].as_array().expect("list") {
        let key = SecretKey::from_hex(str_of(v, "secretKey")).expect("key");
        let data = str_of(v, "data");
        let raw = base64::engine::general_purpose::STANDARD.decode(data).expect("base64");
        let iv: [u8; envelope::IV_LEN] = raw[..12].try_into().expect("iv");
        assert_eq!(key.seal(str_of(v, "plaintext").as_bytes(), iv), data);
    }
}

#[test]
fn a_flipped_bit_or_wrong_key_does_not_open() {
    let vectors = vectors();
    let v = &vectors["encryption"][1];
    let key = SecretKey::from_hex(str_of(v, "secretKey")).expect("key");
    let data = str_of(v, "data");
    let mut tampered = data.as_bytes().to_vec();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    assert_eq!(key.open(&tampered), Err(envelope::EnvelopeError::Tag));
    let other = SecretKey::from_hex("2836e95fcd10e04b0069bb1ee659955b").expect("key");
    assert_eq!(other.open(data), Err(envelope::EnvelopeError::Tag));
    assert_eq!(key.open("not base64!"), Err(envelope::EnvelopeError::Base64));
    assert_eq!(key.open("AAAA"), Err(envelope::EnvelopeError::TooShort(3)));
}

#[test]
fn every_signature_vector_reproduces_its_sign_string_and_sign() {
    let vectors = vectors();
    let list = vectors["signature"].as_array().expect("signature list");
    assert_eq!(list.len(), 4);
    for v in list {
        let secret = str_of(v, "secretKey");
        let params: Vec<(&str, &str)> = v["params"]
            .as_object()
            .expect("params")
            .iter()
            .map(|(k, val)| (k.as_str(), val.as_str().expect("string param")))
            .collect();
        let body = str_of(v, "body").as_bytes();
        let text = sign::sign_string(secret, &params, body);
        assert_eq!(String::from_utf8(text).expect("utf-8"), str_of(v, "signString"));
        assert_eq!(sign::sign(secret, &params, body), str_of(v, "sign"), "{}", str_of(v, "source"));
        assert!(sign::verify(secret, &params, body, str_of(v, "sign")));
    }
}

#[test]
fn the_request_builder_reproduces_the_v21_check_example() {
    // V2.1 check example: same key, credentials, timestamps and iv give the printed body and sign.
    use base64::Engine as _;
    let vectors = vectors();
    let enc = &vectors["encryption"][1];
    let sig = &vectors["signature"][2];
    let credentials = request::Credentials {
        app_id: "fdc6688637bc468e9aea874654cbead2".into(),
        biz_id: "1101999999".into(),
        key: SecretKey::from_hex(str_of(enc, "secretKey")).expect("key"),
    };
    let raw = base64::engine::general_purpose::STANDARD.decode(str_of(enc, "data")).expect("b64");
    let iv: [u8; 12] = raw[..12].try_into().expect("iv");
    let check: nppa_protocol::messages::CheckRequest =
        serde_json::from_str(str_of(enc, "plaintext")).expect("plaintext");
    let built = request::check(&credentials, &request::Target::Production, &check, 1705975788903, iv);
    assert_eq!(String::from_utf8(built.body).expect("utf-8"), str_of(sig, "body"));
    let sent_sign = built.headers.iter().find(|(k, _)| *k == "sign").map(|(_, v)| v.as_str());
    assert_eq!(sent_sign, Some(str_of(sig, "sign")));
    assert_eq!(built.path_and_query, "/idcard/authentication/check");
}

#[test]
fn the_request_builder_reproduces_the_v21_query_example() {
    let vectors = vectors();
    let sig = &vectors["signature"][1];
    let credentials = request::Credentials {
        app_id: "fdc6688637bc468e9aea874654cbead2".into(),
        biz_id: "1101999999".into(),
        key: SecretKey::from_hex(str_of(sig, "secretKey")).expect("key"),
    };
    let built = request::query(&credentials, &request::Target::Production, "100000000000000001", 1705975247808);
    assert!(built.body.is_empty());
    assert_eq!(built.path_and_query, "/idcard/authentication/query?ai=100000000000000001");
    let sent_sign = built.headers.iter().find(|(k, _)| *k == "sign").map(|(_, v)| v.as_str());
    assert_eq!(sent_sign, Some(str_of(sig, "sign")));
}

#[test]
fn pi_vectors_decode_to_their_birth_dates() {
    let vectors = vectors();
    for v in vectors["pi"].as_array().expect("pi list") {
        let parsed = pi::parse(str_of(v, "pi")).expect("well-formed pi");
        assert_eq!(parsed.birth_date.format("%Y%m%d").to_string(), str_of(v, "birthDate"));
    }
}

#[test]
fn every_preset_identity_and_pi_is_well_formed() {
    let presets: Value =
        serde_json::from_str(include_str!("../../vectors/test-system-presets.json")).expect("presets parse");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    for list in ["check_success", "check_pending"] {
        for person in presets[list].as_array().expect("list") {
            let id = str_of(person, "idNum");
            assert!(nppa_protocol::idnum::validate(id, today).is_ok(), "{id}");
            assert!(nppa_protocol::name::is_valid(str_of(person, "name"), Default::default()));
        }
    }
    for p in presets["loginout_pi"].as_array().expect("pis") {
        assert!(pi::parse(p.as_str().expect("pi")).is_ok());
    }
}
