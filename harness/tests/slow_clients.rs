//! Slow and many clients (issue #13): a head or body trickled byte by byte is cut off at its timeout, connections
//! over the limit of all peers are refused at once, and legitimate requests keep being answered while slow and idle
//! connections are held. Timeouts are shortened so that each test waits for the event, not for 10 s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `bytes` one at a time, `gap` apart, until they run out or the server closes; how many it sent.
async fn trickle(mut stream: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>, gap: Duration) -> usize {
    for (sent, byte) in bytes.iter().enumerate() {
        if stream.write_all(&[*byte]).await.is_err() {
            return sent;
        }
        tokio::time::sleep(gap).await;
    }
    bytes.len()
}

async fn journal_entries(mock: &Mock) -> Vec<Value> {
    let (status, value) = mock.admin("GET", "/__admin/journal", None).await;
    assert_eq!(status, 200, "{value}");
    value["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_head_trickled_byte_by_byte_is_cut_off_at_the_header_timeout() {
    // Each byte restarts the idle timer (R-CONN-1, 120 s here); the head's own deadline does not move.
    let mock = start_with(|c| c.server.header_timeout_s = 0.5).await;
    let stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    let (mut read, write) = stream.into_split();
    let head = b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ".to_vec();
    let filler = vec![b'a'; 200]; // 200 bytes 50 ms apart: 10 s if never cut off
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let mut write = write;
        write.write_all(&head).await.unwrap();
        trickle(write, filler, Duration::from_millis(50)).await
    });
    let mut buf = [0u8; 256];
    let answer = tokio::time::timeout(Duration::from_secs(8), read.read(&mut buf)).await;
    let closed_after = started.elapsed();
    assert!(matches!(answer, Ok(Ok(0)) | Ok(Err(_))), "closed without an answer, got {answer:?}");
    assert!(closed_after < Duration::from_secs(5), "closed after {closed_after:?}, the header timeout is 0.5 s");
    let sent = writer.await.unwrap();
    assert!(sent < 200, "the trickle was still going when the head was cut off");

    let entries = journal_entries(&mock).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["http_error"]["kind"], "head_timeout");
    assert_eq!(entry["http_status"], 0, "closed without an answer");
    assert!(entry["raw"].as_str().unwrap().starts_with("GET /idcard/authentication/query?ai=1 HTTP/1.1\r\n"));
    assert!(entry.get("interface").is_none());
    assert_eq!(metric(&mock, r#"nppa_http_errors_total{kind="head_timeout"}"#).await, 1.0);
}

#[tokio::test]
async fn a_body_trickled_byte_by_byte_is_answered_as_cut_short_at_the_body_timeout_not_as_1007() {
    let mock = start_with(|c| c.server.body_timeout_s = 0.5).await;
    let now = mock.now_ms().await;
    let head = format!(
        "POST /idcard/authentication/check HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         appId: {}\r\nbizId: {}\r\ntimestamps: {now}\r\nsign: {}\r\ncontent-length: 200\r\n\r\n",
        nppa_harness::DEFAULT_APP_ID,
        nppa_harness::DEFAULT_BIZ_ID,
        "0".repeat(64)
    );
    let stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let writer = tokio::spawn(trickle(write, vec![b'{'; 200], Duration::from_millis(50)));
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(8), read.read_to_end(&mut answer)).await;
    let closed_after = started.elapsed();
    assert!(closed_after < Duration::from_secs(5), "closed after {closed_after:?}, the body timeout is 0.5 s");
    let text = String::from_utf8_lossy(&answer).to_lowercase();
    // A protocol answer when the client still reads it (the gates before the body passed: 1001, R-ENC-1), and the
    // connection closed, since the rest of the body may still come.
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(text.contains("connection: close") && text.contains(r#""errcode":1001"#), "{text}");
    assert!(writer.await.unwrap() < 200, "the trickle was still going when the body was cut off");

    let entries = journal_entries(&mock).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!((entry["interface"].as_str(), entry["errcode"].as_u64()), (Some("check"), Some(1001)));
    assert_eq!(entry["http_error"]["kind"], "body_timeout");
    assert_eq!(metric(&mock, r#"nppa_http_errors_total{kind="body_timeout"}"#).await, 1.0);
    assert_eq!(
        metric(&mock, r#"nppa_requests_total{interface="check",errcode="1007",environment="production"}"#).await,
        0.0
    );
    // Certify says what happened: a late body, not a wrong timestamps.
    let journal = common::entries(&mock);
    let report = nppa_harness::certify::judge(
        &journal,
        mock.server.service().config(),
        nppa_harness::certify::rules::Profile::Official,
        vec![],
        vec![Some(0)],
    );
    let failed: Vec<&str> = report.failed().map(|r| r.id).collect();
    assert!(failed.contains(&"ENV-HTTP") && !failed.contains(&"ENV-TIMESTAMPS"), "{failed:?}");
    let http = report.rules.iter().find(|r| r.id == "ENV-HTTP").unwrap();
    assert!(http.findings[0].message.contains("body that did not arrive in time"), "{http:#?}");
}

#[tokio::test]
async fn connections_over_the_limit_of_all_peers_are_refused_at_once_and_counted() {
    let mock = start_with(|c| {
        c.server.max_connections = 4;
        c.server.header_timeout_s = 1.0;
    })
    .await;
    // Four silent connections from four peers, each well under the per-IP limit, fill the mock.
    let mut silent = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        silent.push(connect_from(ip, &mock).await);
    }
    // A fifth peer with a whole request is closed without an answer (accepted in order, after the four).
    let mut fifth = connect_from("127.0.0.6", &mock).await;
    let _ = fifth.write_all(b"GET /__admin/clock HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await;
    assert!(read_to_close(&mut fifth).await.is_empty(), "over max_connections: closed without an answer");
    // The silent ones send no head: the server closes each at the header timeout, and places free up.
    for stream in &mut silent {
        assert!(read_to_close(stream).await.is_empty());
    }
    let mut answered = None;
    for _ in 0..100 {
        match mock.client().query("x").await {
            Ok(exchange) => {
                answered = Some(code(&exchange));
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert_eq!(answered, Some(2003), "a legitimate request is answered once places are free");
    assert_eq!(metric(&mock, r#"nppa_connections_refused_total{reason="max_connections"}"#).await, 1.0);
    // Silent connections are counted, not journaled: nothing of a request arrived.
    assert_eq!(metric(&mock, r#"nppa_http_errors_total{kind="head_timeout"}"#).await, 4.0);
    assert!(journal_entries(&mock).await.iter().all(|e| e.get("http_error").is_none()));
}

#[tokio::test]
async fn legitimate_requests_are_answered_while_slow_and_idle_connections_are_held() {
    let mock = start_with(|c| {
        c.server.max_connections = 40;
        c.server.max_connections_per_ip = 10;
    })
    .await;
    let mut held = Vec::new();
    // One peer: 10 silent connections and 2 more refused by R-CONN-1.
    for _ in 0..10 {
        held.push(connect_from("127.0.0.2", &mock).await);
    }
    for _ in 0..2 {
        let mut over = connect_from("127.0.0.2", &mock).await;
        assert!(read_to_close(&mut over).await.is_empty(), "over the per-IP limit: closed");
    }
    // Another: 10 half heads. A third: 10 heads whose bodies stop after 10 of 1000 bytes.
    for _ in 0..10 {
        let mut stream = connect_from("127.0.0.3", &mock).await;
        stream.write_all(b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nhost: 1").await.unwrap();
        held.push(stream);
    }
    for _ in 0..10 {
        let mut stream = connect_from("127.0.0.4", &mock).await;
        let head = "POST /idcard/authentication/check HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 1000\r\n\r\n";
        stream.write_all(format!("{head}{{\"data\":\"").as_bytes()).await.unwrap();
        held.push(stream);
    }
    // A fourth: 5 connections idle after one answered request each (kept alive).
    for _ in 0..5 {
        let mut stream = connect_from("127.0.0.5", &mock).await;
        stream.write_all(b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        assert!(stream.read(&mut buf).await.unwrap() > 0);
        held.push(stream);
    }
    // Meanwhile the legitimate client is answered, every time.
    let client = mock.client();
    let (ai, name, id) = PRESET_OK;
    let check = client.check(ai, name, id).await.unwrap();
    assert_eq!((code(&check), check.pi()), (0, Some(PRESET_OK_PI)));
    for n in 0..20 {
        assert_eq!(code(&client.query(&format!("nothing-{n}")).await.unwrap()), 2003);
    }
    // All 35 are still held (header and body timeouts are 10 s and 20 s by default), besides the client's.
    let open = metric(&mock, "nppa_open_connections").await;
    assert!(open >= 36.0, "{open} open connections");
    assert_eq!(metric(&mock, r#"nppa_connections_refused_total{reason="per_ip"}"#).await, 2.0);
    drop(held);
}

#[tokio::test]
async fn connect_tunnels_keep_their_place_under_the_connection_limits() {
    let tls_dir = tempfile::tempdir().unwrap();
    let dir = tls_dir.path().to_owned();
    let mock = start_with(move |c| {
        c.server.proxy = true;
        c.server.tls_dir = dir;
        c.server.max_connections_per_ip = 2;
        c.server.header_timeout_s = 5.0;
    })
    .await;
    // Two tunnels from one peer, opened and not yet used: their CONNECT connections have handed the sockets over.
    let mut tunnels = Vec::new();
    for _ in 0..2 {
        let mut stream = connect_from("127.0.0.2", &mock).await;
        stream
            .write_all(b"CONNECT api.wlc.nppa.gov.cn:443 HTTP/1.1\r\nhost: api.wlc.nppa.gov.cn:443\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
        tunnels.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // R-CONN-1: the tunnels still hold the peer's two places; a third connection is closed at once.
    let mut third = connect_from("127.0.0.2", &mock).await;
    let _ = third.write_all(b"GET /__admin/clock HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await;
    assert!(read_to_close(&mut third).await.is_empty(), "the tunnels count against the per-IP limit");
    assert_eq!(metric(&mock, r#"nppa_connections_refused_total{reason="per_ip"}"#).await, 1.0);
    // Closed, the tunnels free their places.
    drop(tunnels);
    let mut answered = false;
    for _ in 0..100 {
        let mut stream = connect_from("127.0.0.2", &mock).await;
        let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").await;
        if read_to_close(&mut stream).await.starts_with(b"HTTP/1.1 200") {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered, "a new connection is served once the tunnels are gone");
}
