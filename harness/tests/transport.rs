//! R-CONN-1 and the transport: connections per IP, idle close, keep-alive, odd bytes, clean shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn r_conn_1_connections_over_the_per_ip_limit_are_closed() {
    let mock = start_with(|c| c.server.max_connections_per_ip = 3).await;
    let addr = mock.server.local_addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Make sure the server has accepted the three (a request on one of them round-trips).
    let probe = b"GET /__admin/clock HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
    held[0].write_all(probe).await.unwrap();
    let mut buf = [0u8; 512];
    assert!(held[0].read(&mut buf).await.unwrap() > 0);
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    let _ = fourth.write_all(probe).await;
    assert!(read_to_close(&mut fourth).await.is_empty(), "the fourth connection is closed without an answer");
    // Freeing one place lets a new connection in.
    drop(held.pop());
    let client = mock.client();
    let mut answered = false;
    for _ in 0..50 {
        if client.query("x").await.is_ok() {
            answered = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(answered);
}

#[tokio::test]
async fn r_conn_1_idle_connections_are_closed_by_the_server() {
    // 120 s by default; shortened here so the test waits for the event, not for two minutes.
    let mock = start_with(|c| c.server.idle_timeout_s = 0.2).await;
    let mut stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    stream.write_all(b"GET /__admin/clock HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    let read = read_to_close(&mut stream).await;
    let text = String::from_utf8_lossy(&read);
    assert!(text.starts_with("HTTP/1.1 200"), "answered before closing: {text}");
}

/// Paused time: tokio's clock (which the idle timeout runs on) jumps to the next timer whenever everything waits.
#[tokio::test(start_paused = true)]
async fn r_conn_1_a_connection_in_use_is_not_closed_and_closes_120_s_after_its_last_bytes() {
    let mock = start().await;
    let mut stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    let request = b"GET /__admin/clock HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    // A request every 50 s for 300 s: never idle for 120 s, so never closed.
    for _ in 0..6 {
        stream.write_all(request).await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "answered while in use");
        tokio::time::sleep(std::time::Duration::from_secs(50)).await;
    }
    // 50 s after the last exchange: still open (a request is answered).
    stream.write_all(request).await.unwrap();
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "still open 50 s after its last bytes");
    // 119 s after that: not yet closed; 121 s: closed.
    let idle_start = tokio::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_secs(119)).await;
    let open = tokio::time::timeout(std::time::Duration::from_millis(10), stream.read(&mut buf)).await;
    assert!(open.is_err(), "closed before 120 s idle: {open:?}");
    let closed = stream.read(&mut buf).await;
    assert!(matches!(closed, Ok(0) | Err(_)), "closed once idle: {closed:?}");
    let idle = idle_start.elapsed();
    assert!(idle >= std::time::Duration::from_secs(120) && idle < std::time::Duration::from_secs(121), "{idle:?}");
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let mock = start().await;
    let mut stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    for _ in 0..3 {
        stream.write_all(b"GET /idcard/authentication/query?ai=1 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = stream.read(&mut buf).await.unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.contains(r#"{"errcode":1004,"errmsg":"SYS REQ HEADER MISS ERROR"}"#), "{text}");
    }
}

/// A signed check whose body is written in pieces, `chunked` or within a `content-length`, a pause between them so
/// that the mock reads them apart: answered and journaled as the whole body, as when it comes with its head.
async fn check_in_pieces(chunked: bool) -> (String, nppa_mockserver::journal::JournalEntry, Vec<u8>) {
    let mock = start().await;
    mock.freeze().await;
    let request = crafted::check_request(mock.now_ms().await);
    let mut head = format!("POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\n", request.path_and_query);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&if chunked {
        "transfer-encoding: chunked\r\n\r\n".to_owned()
    } else {
        format!("content-length: {}\r\n\r\n", request.body.len())
    });
    let mut stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let third = request.body.len() / 3;
    for piece in [&request.body[..third], &request.body[third..2 * third], &request.body[2 * third..]] {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        if chunked {
            stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes()).await.unwrap();
            stream.write_all(piece).await.unwrap();
            stream.write_all(b"\r\n").await.unwrap();
        } else {
            stream.write_all(piece).await.unwrap();
        }
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").await.unwrap();
    }
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    let entry = journaled(&mock, 1).await.remove(0);
    (String::from_utf8_lossy(&answer[..n]).into_owned(), entry, request.body)
}

#[tokio::test]
async fn a_body_that_comes_in_pieces_is_read_whole() {
    for chunked in [false, true] {
        let (answer, entry, body) = check_in_pieces(chunked).await;
        assert!(answer.contains(r#""errcode":0"#), "chunked {chunked}: {answer}");
        assert_eq!(entry.body.as_deref().map(str::as_bytes), Some(&body[..]), "chunked {chunked}");
        assert_eq!(entry.errcode, Some(0), "chunked {chunked}");
    }
}

#[tokio::test]
async fn odd_bytes_get_a_protocol_answer_or_a_clean_http_error_never_a_crash() {
    let mock = start().await;
    let addr = mock.server.local_addr();
    let inputs: [&[u8]; 5] = [
        b"POST /idcard/authentication/check HTTP/1.1\r\nhost: 127.0.0.1\r\nappId: \xff\xfe\r\nbizId: 1\r\ntimestamps: 1\r\nsign: 1\r\ncontent-length: 3\r\n\r\n\x00\x01\x02",
        b"POST /behavior/collection/loginout HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\n\r\n{{{{{",
        b"GET /idcard/authentication/query?ai=%ZZ&&&== HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n",
    ];
    for input in inputs {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(input).await.unwrap();
        stream.shutdown().await.unwrap();
        let answer = read_to_close(&mut stream).await;
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 "), "{text}");
    }
    // Still serving.
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 2003);
}

#[tokio::test]
async fn shutdown_stops_the_server_and_frees_the_port() {
    let mock = start().await;
    let addr = mock.server.local_addr();
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 2003);
    mock.server.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err(), "nothing listens after shutdown");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nppa-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A mock serving HTTPS with its local CA in `dir`.
async fn start_tls(dir: &std::path::Path) -> Mock {
    let tls_dir = dir.to_owned();
    start_with(move |c| {
        c.server.tls = true;
        c.server.tls_dir = tls_dir;
    })
    .await
}

#[tokio::test]
async fn tls_serves_the_protocol_with_a_certificate_from_the_local_ca() {
    let dir = temp_dir("tls");
    let mock = start_tls(&dir).await;
    assert!(mock.base.starts_with("https://127.0.0.1:"));
    let ca_path = mock.server.ca_path().expect("a CA in TLS mode").to_owned();
    let pem = std::fs::read(&ca_path).unwrap();
    let http = nppa_harness::client::http_client(Some(&pem), None).unwrap();
    let clock: serde_json::Value =
        http.get(format!("{}/__admin/clock", mock.base)).send().await.unwrap().json().await.unwrap();
    let client = mock.client().with_http(http.clone());
    let _ = clock["now_ms"].as_u64().unwrap();
    let answer = client.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!((code(&answer), answer.pi()), (0, Some(PRESET_OK_PI)));
    // A client that does not trust the local CA cannot connect.
    let untrusting = nppa_harness::client::http_client(None, None).unwrap();
    assert!(untrusting.get(format!("{}/__admin/clock", mock.base)).send().await.is_err());
    // The CA is kept: a second mock on the same directory presents certificates the same ca.pem verifies.
    mock.server.shutdown().await;
    let again = start_tls(&dir).await;
    assert_eq!(std::fs::read(&ca_path).unwrap(), pem);
    assert!(http.get(format!("{}/__admin/clock", again.base)).send().await.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn proxy_mode_routes_the_real_nppa_hosts_to_the_mock() {
    let dir = temp_dir("proxy");
    let (mock, through_mock) = start_proxy(dir.clone()).await;
    // A client whose hosts are hard-coded: https for check (CONNECT tunnel), http for query (absolute-form).
    let hard_coded = |host: &str| {
        let (app_id, biz_id, key) =
            (nppa_harness::DEFAULT_APP_ID, nppa_harness::DEFAULT_BIZ_ID, nppa_harness::DEFAULT_SECRET_KEY);
        nppa_harness::client::Client::new(host, app_id, biz_id, key).unwrap().with_http(through_mock.clone())
    };
    let answer = hard_coded("https://api.wlc.nppa.gov.cn").check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!((code(&answer), answer.pi()), (0, Some(PRESET_OK_PI)));
    let query = hard_coded("http://api2.wlc.nppa.gov.cn");
    assert_eq!(code(&query.query("nothing").await.unwrap()), 2003);
    let (_, journal) = mock.admin("GET", "/__admin/journal", None).await;
    let paths: Vec<&str> = journal["entries"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/idcard/authentication/check", "/idcard/authentication/query"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn connect_without_proxy_mode_says_how_to_turn_it_on() {
    let mock = start().await;
    let mut stream = TcpStream::connect(mock.server.local_addr()).await.unwrap();
    stream
        .write_all(b"CONNECT api.wlc.nppa.gov.cn:443 HTTP/1.1\r\nhost: api.wlc.nppa.gov.cn:443\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 405") && text.contains("nppa mock --proxy"), "{text}");
}
