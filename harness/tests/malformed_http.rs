//! Requests that do not parse as HTTP/1 (issue #13): each is journaled as a malformed-HTTP entry with the bytes
//! that arrived and counted in `/metrics`, and the mock goes on serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::*;
use nppa_harness::certify::judge;
use nppa_harness::certify::model::{RuleResult, Verdict};
use nppa_harness::certify::rules::Profile;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `bytes` on a connection of its own; what the mock answered before it closed.
async fn send_raw(mock: &Mock, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    String::from_utf8_lossy(&read_to_close(&mut stream).await).into_owned()
}

async fn malformed_entries(mock: &Mock) -> Vec<Value> {
    let (status, value) = mock.admin("GET", "/__admin/journal", None).await;
    assert_eq!(status, 200, "{value}");
    value["entries"].as_array().unwrap().iter().filter(|e| e.get("http_error").is_some()).cloned().collect()
}

/// The bytes an entry kept: `raw` when they are UTF-8, `raw_base64` otherwise.
fn raw_bytes(entry: &Value) -> Vec<u8> {
    match (entry["raw"].as_str(), entry["raw_base64"].as_str()) {
        (Some(text), None) => text.as_bytes().to_vec(),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD.decode(b64).unwrap(),
        other => panic!("no raw bytes: {other:?} in {entry}"),
    }
}

#[tokio::test]
async fn requests_that_do_not_parse_are_journaled_with_their_bytes_and_counted() {
    let mock = start().await;
    let bad_header_byte: &[u8] =
        b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nb\xffd: 1\r\n\r\n";
    let mut many_headers = b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nhost: 127.0.0.1\r\n".to_vec();
    for n in 0..101 {
        many_headers.extend_from_slice(format!("x-h{n}: {n}\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"\r\n");
    let long_uri =
        format!("GET /idcard/authentication/query?ai={} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n", "a".repeat(100_000));
    let h2_preface: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let cases: [(&str, &[u8], &str, u16); 4] = [
        ("bad header byte", bad_header_byte, "malformed", 400),
        ("101 headers", &many_headers, "too_large", 431),
        ("100 KB URI", long_uri.as_bytes(), "too_large", 414),
        ("HTTP/2 preface", h2_preface, "http2", 0),
    ];
    for (name, bytes, _, status) in cases {
        let answer = send_raw(&mock, bytes).await;
        match status {
            0 => assert!(answer.is_empty(), "{name}: closed without an answer, got {answer}"),
            _ => assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{name}: {answer}"),
        }
    }
    let entries = malformed_entries(&mock).await;
    assert_eq!(entries.len(), 4, "{entries:#?}");
    for ((name, bytes, kind, status), entry) in cases.iter().zip(&entries) {
        assert_eq!(entry["http_error"]["kind"], *kind, "{name}: {entry}");
        assert_eq!(entry["http_status"], *status, "{name}: {entry}");
        assert_eq!(entry["peer"], "127.0.0.1");
        assert!(entry.get("interface").is_none() && entry.get("errcode").is_none(), "{name}: {entry}");
        // What arrived, up to the first 4 KiB.
        let kept = raw_bytes(entry);
        assert_eq!(kept, bytes[..bytes.len().min(4096)], "{name}");
    }
    assert!(entries[0].get("raw").is_none(), "not UTF-8: kept as base64");
    assert_eq!(metric(&mock, r#"nppa_http_errors_total{kind="malformed"}"#).await, 1.0);
    assert_eq!(metric(&mock, r#"nppa_http_errors_total{kind="too_large"}"#).await, 2.0);
    assert_eq!(metric(&mock, r#"nppa_http_errors_total{kind="http2"}"#).await, 1.0);
    // Still serving.
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 2003);

    // Certify names each kind once (the two heads over the limits are one cause), with the first bytes.
    let http = env_http(&mock);
    assert_eq!(http.verdict, Verdict::Failed);
    let messages: Vec<&str> = http.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].contains("does not parse as HTTP/1.1") && messages[0].contains("answered HTTP 400"));
    assert!(messages[1].contains("over the limits") && http.findings[1].count == 2, "{:#?}", http.findings[1]);
    assert!(messages[2].contains("HTTP/2 connection preface") && messages[2].contains("closed without an answer"));
    assert!(http.findings[2].evidence[0].starts_with("first bytes: \"PRI * HTTP/2.0"), "{:?}", http.findings[2]);
}

/// ENV-HTTP's verdict on the mock's journal.
fn env_http(mock: &Mock) -> RuleResult {
    let report = judge(&entries(mock), mock.server.service().config(), Profile::Official, vec![], vec![Some(0)]);
    report.rules.into_iter().find(|r| r.id == "ENV-HTTP").unwrap()
}

#[tokio::test]
async fn env_http_leaves_a_client_that_speaks_http_1_1_clean() {
    let mock = start().await;
    nppa_harness::certify::reference::run(&flow_env(&mock)).await.unwrap();
    assert_eq!(env_http(&mock).verdict, Verdict::Passed);
}

#[tokio::test]
async fn a_head_cut_short_is_journaled_once_and_a_body_cut_short_stays_a_protocol_request() {
    let mock = start().await;
    let addr = mock.server.local_addr();
    // Half a head, then the client closes.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /idcard/authentication/qu").await.unwrap();
    stream.shutdown().await.unwrap();
    assert!(read_to_close(&mut stream).await.is_empty());
    // A whole head whose body stops short: answered by the gates (1004 here), journaled as the request it is.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let cut = b"POST /idcard/authentication/check HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100\r\n\r\n{\"da";
    stream.write_all(cut).await.unwrap();
    stream.shutdown().await.unwrap();
    let _ = read_to_close(&mut stream).await;

    let (_, journal) = mock.admin("GET", "/__admin/journal", None).await;
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:#?}");
    assert_eq!(entries[0]["http_error"]["kind"], "incomplete");
    assert_eq!(entries[0]["raw"], "GET /idcard/authentication/qu");
    assert_eq!(entries[1]["interface"], "check");
    assert!(entries[1].get("http_error").is_none(), "a body cut short is the protocol's 1001 business: {}", entries[1]);
    let http = env_http(&mock);
    assert_eq!(http.findings.len(), 1, "{http:#?}");
    assert!(http.findings[0].message.contains("closed in the middle of a request head"), "{http:#?}");
}

#[tokio::test]
async fn a_malformed_request_after_good_ones_on_a_kept_alive_connection_is_journaled_without_bytes() {
    let mock = start().await;
    let mut stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    stream.write_all(b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    assert!(stream.read(&mut buf).await.unwrap() > 0);
    stream.write_all(b"GET /x HTTP/1.1\r\nhost: 127.0.0.1\r\nb\xffd: 1\r\n\r\n").await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let entries = malformed_entries(&mock).await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(
        (entries[0]["http_error"]["kind"].as_str(), entries[0]["http_status"].as_u64()),
        (Some("malformed"), Some(400))
    );
    // Only a connection's first request is copied, so that good traffic costs nothing.
    assert!(entries[0].get("raw").is_none() && entries[0].get("raw_base64").is_none());
}
