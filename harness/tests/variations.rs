//! The `vary` fault action through the real mock and real HTTP: each change reaches the client as said (bytes,
//! content type, chunked, trickled, cut mid-body), is journaled as the changes that applied, and a rule whose
//! changes fit no answer is not spent on it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_mockserver::faults::{FaultAction, FaultEffect, FaultRequest, FaultRule};
use nppa_mockserver::variation::{Change, Changes};
use nppa_protocol::Interface;
use tokio::io::AsyncWriteExt;

fn vary(mock: &Mock, interface: Interface, changes: &[Change]) {
    let rule = FaultRule {
        interface: Some(interface),
        count: Some(1),
        action: Some(FaultAction::Vary { changes: Changes::of(changes) }),
        ..FaultRule::default()
    };
    mock.server.service().faults().add(FaultRequest::One(rule)).unwrap();
}

/// The raw bytes of one signed request's answer, read to the connection's close.
async fn raw_answer(mock: &Mock, signed: nppa_protocol::request::SignedRequest) -> String {
    let mut stream = tokio::net::TcpStream::connect(mock.server.local_addr()).await.unwrap();
    let mut head =
        format!("{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n", signed.method, signed.path_and_query);
    for (name, value) in &signed.headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += &format!("content-length: {}\r\n\r\n", signed.body.len());
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&signed.body).await.unwrap();
    String::from_utf8(read_to_close(&mut stream).await).unwrap()
}

fn last_fault(mock: &Mock) -> Option<FaultEffect> {
    entries(mock).last().unwrap().fault.and_then(|note| note.effect)
}

#[tokio::test]
async fn rewritten_answers_read_the_same_and_are_journaled_as_sent() {
    let mock = start().await;
    let client = mock.client();
    vary(&mock, Interface::Check, &[Change::KeysReversed, Change::Spaced, Change::EscapedStrings, Change::ExtraFields]);
    let exchange = client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!((exchange.errcode(), exchange.status(), exchange.pi()), (Some(0), Some(0), Some(PRESET_OK_PI)));
    // The unknown fields added, then every key reversed: the added `traceId` comes first, spelled in escapes.
    assert!(exchange.response_body.starts_with("{\r\n\t\"\\u0074\\u0072"), "{}", exchange.response_body);
    let journaled = entries(&mock).pop().unwrap();
    assert_eq!(journaled.answer, exchange.response_body, "the journal keeps the bytes the client got");
    assert_eq!(
        journaled.fault.unwrap().to_string(),
        "fault #1: vary keys_reversed+spaced+escaped_strings+extra_fields"
    );
}

#[tokio::test]
async fn a_change_that_fits_no_answer_waits_for_one_it_fits() {
    let mock = start().await;
    let client = mock.client();
    vary(&mock, Interface::Check, &[Change::PiNull]);
    // A success has its pi: the rule is not spent on it.
    let ok = client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert!(!ok.response_body.contains("null"));
    assert_eq!(last_fault(&mock), None);
    let pending = client.check(PRESET_PENDING.0, PRESET_PENDING.1, PRESET_PENDING.2).await.unwrap();
    assert_eq!(pending.status(), Some(1));
    assert!(pending.response_body.contains(r#""pi":null"#), "{}", pending.response_body);
    assert_eq!(last_fault(&mock), Some(FaultEffect::Vary(Changes::of(&[Change::PiNull]))));
}

#[tokio::test]
async fn a_set_of_changes_is_spent_only_on_an_answer_they_all_fit() {
    let mock = start().await;
    let client = mock.client();
    vary(&mock, Interface::Check, &[Change::KeysReversed, Change::PiNull]);
    // A success fits keys_reversed but not pi_null: answered plainly, the rule kept for the pending check.
    let ok = client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert!(ok.response_body.starts_with(r#"{"errcode":0"#), "{}", ok.response_body);
    assert_eq!(last_fault(&mock), None);
    let pending = client.check(PRESET_PENDING.0, PRESET_PENDING.1, PRESET_PENDING.2).await.unwrap();
    assert_eq!(pending.response_body, r#"{"data":{"result":{"pi":null,"status":1}},"errmsg":"OK","errcode":0}"#);
    assert_eq!(last_fault(&mock), Some(FaultEffect::Vary(Changes::of(&[Change::KeysReversed, Change::PiNull]))));
}

#[tokio::test]
async fn every_record_rejected_answers_3001_listing_each_record_and_journals_3001() {
    let mock = start().await;
    let client = mock.client();
    vary(&mock, Interface::Loginout, &[Change::EveryRecordRejected]);
    let now = mock.now_ms().await;
    let exchange = client.loginout(vec![guest(1, "s1", 1, now), guest(2, "s2", 1, now)]).await.unwrap();
    assert_eq!(exchange.errcode(), Some(3001));
    assert_eq!(exchange.rejected(), vec![(1, 3005), (2, 3005)]);
    assert_eq!(entries(&mock).pop().unwrap().errcode, Some(3001));
}

#[tokio::test]
async fn transport_changes_reach_the_wire() {
    let mock = start().await;
    let client = mock.client();
    let check = |ai: &str, now_ms| {
        let body = nppa_protocol::messages::CheckRequest {
            ai: ai.into(),
            name: PRESET_OK.1.into(),
            id_num: PRESET_OK.2.into(),
        };
        nppa_protocol::request::check(
            client.credentials(),
            &nppa_protocol::request::Target::Production,
            &body,
            now_ms,
            rand::random(),
        )
    };

    vary(&mock, Interface::Check, &[Change::Chunked, Change::HtmlContentType]);
    let raw = raw_answer(&mock, check("chunked", mock.now_ms().await)).await.to_ascii_lowercase();
    assert!(raw.contains("transfer-encoding: chunked"), "{raw}");
    assert!(raw.contains("content-type: text/html"), "{raw}");
    assert!(!raw.contains("content-length"), "{raw}");

    vary(&mock, Interface::Check, &[Change::Trickled]);
    let raw = raw_answer(&mock, check("trickled", mock.now_ms().await)).await;
    assert!(raw.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{raw}");
    assert!(raw.contains("\r\n4\r\n"), "sent 4 bytes at a time: {raw}");
    assert!(raw.ends_with("0\r\n\r\n"), "and finished: {raw}");

    vary(&mock, Interface::Check, &[Change::CloseDelimited]);
    let raw = raw_answer(&mock, check("close-delimited", mock.now_ms().await)).await;
    let lower = raw.to_ascii_lowercase();
    assert!(raw.starts_with("HTTP/1.0 200"), "{raw}");
    assert!(!lower.contains("content-length") && !lower.contains("transfer-encoding"), "{raw}");
    assert!(raw.ends_with("\"errcode\":0}") || raw.ends_with('}'), "the whole body, ended by the close: {raw}");
    vary(&mock, Interface::Check, &[Change::CloseDelimited]);
    let exchange = client.check("close-delimited-2", PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(exchange.errcode(), Some(0), "a client library reads it whole");

    vary(&mock, Interface::Check, &[Change::CutMidBody]);
    let raw = raw_answer(&mock, check("cut", mock.now_ms().await)).await;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let promised: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap()))
        .expect("a content-length");
    assert!(body.len() < promised && !body.is_empty(), "{} of {promised} bytes: {raw}", body.len());
    // A client library sees the short body as an error.
    vary(&mock, Interface::Check, &[Change::CutMidBody]);
    assert!(client.check("cut-2", PRESET_OK.1, PRESET_OK.2).await.is_err());
    assert_eq!(last_fault(&mock), Some(FaultEffect::Vary(Changes::of(&[Change::CutMidBody]))));
}

#[tokio::test]
async fn a_vary_rule_without_changes_is_refused_with_a_reason() {
    let mock = start().await;
    let (status, body) = mock
        .admin("POST", "/__admin/faults", Some(serde_json::json!({"action": {"kind": "vary", "changes": []}})))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("at least one change"), "{body}");
    let (status, body) = mock
        .admin(
            "POST",
            "/__admin/faults",
            Some(serde_json::json!({"interface": "query", "action": {"kind": "vary", "changes": ["keys_reversed", "trickled"]}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
