//! The load driver's HTTP client (`Sender`) against the real mock on a loopback port, and against targets that
//! misbehave: a kept-alive connection reused, one the server closed replaced without losing or repeating a request
//! (R-CONN-1), the client's 5 s timeout (SPEC §1), answers that are not NPPA's, HTTPS checked against the mock's CA.
//! Time is tokio's paused clock where a test waits: it jumps to the next timer whenever everything waits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nppa_mockserver::config::Config;
use nppa_mockserver::journal::JournalQuery;
use nppa_mockserver::{MockServer, RunningServer};
use nppa_protocol::request::{Credentials, SignedRequest};
use nppa_protocol::{Interface, SecretKey};
use nppa_scenarios::people;
use nppa_scenarios::recorder::Outcome;
use nppa_scenarios::sender::{Failure, Sender};
use nppa_scenarios::target::{Signer, Timeline};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn mock(edit: impl FnOnce(&mut Config)) -> RunningServer {
    let mut config = Config::embedded_default();
    // Noon in Beijing: outside the MPS outage (R-PEND-2), so that checks are answered whatever the hour.
    config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
    edit(&mut config);
    MockServer::new(config).unwrap().bind("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// Check `n` of a new player, signed on the mock's clock with the embedded default game's credentials.
fn check(server: &RunningServer, signer: &Signer, n: u64) -> SignedRequest {
    let game = &server.service().config().games[0];
    let credentials = Credentials {
        app_id: "fdc6688637bc468e9aea874654cbead2".into(),
        biz_id: game.biz_id.clone(),
        key: SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").unwrap(),
    };
    let now_ms = Timeline { offset_ms: server.service().clock().offset_from_wall_ms() }.now_ms();
    signer.check(&credentials, &people::new_check(7, n), now_ms)
}

fn checks_received(server: &RunningServer) -> usize {
    let query = JournalQuery { interface: Some(Interface::Check), ..Default::default() };
    server.service().journal().query(&query).len()
}

/// The mock's `nppa_open_connections` gauge.
fn open_connections(server: &RunningServer) -> String {
    let metrics = server.service().metrics().render();
    let line = metrics.lines().find(|line| line.starts_with("nppa_open_connections "));
    line.unwrap_or_default().trim_start_matches("nppa_open_connections ").to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_connection_the_mock_closed_while_idle_is_replaced_and_no_request_is_lost_or_sent_twice() {
    let server = mock(|_| {}).await;
    let sender = Sender::new(&server.base_url()).unwrap();
    let signer = Signer::new();
    for n in 0..3 {
        let sent = sender.send(&mut check(&server, &signer, n)).await;
        assert_eq!(sent.answer.outcome, Outcome::Code(0), "{:?}", sent.http);
    }
    assert_eq!(open_connections(&server), "1", "three requests, one kept-alive connection");
    // R-CONN-1: the mock closes a connection idle for 120 s. The next request goes out on a new one.
    tokio::time::sleep(Duration::from_secs(121)).await;
    assert_eq!(open_connections(&server), "0", "closed by the mock");
    let sent = sender.send(&mut check(&server, &signer, 3)).await;
    assert_eq!(sent.answer.outcome, Outcome::Code(0), "{:?}", sent.http);
    assert_eq!(open_connections(&server), "1", "the fourth went out on a new connection");
    assert_eq!(checks_received(&server), 4, "each check reached the mock once");
    server.shutdown().await;
}

/// A target that accepts connections and answers each with `answer` (nothing, when it is empty), then holds them.
async fn odd_target(answer: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0u8; 64 * 1024];
            let _ = stream.read(&mut request).await;
            if !answer.is_empty() {
                let _ = stream.write_all(&answer).await;
            }
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

#[tokio::test(start_paused = true)]
async fn a_target_that_never_answers_is_given_up_after_5_s() {
    let server = mock(|_| {}).await;
    let sender = Sender::new(&odd_target(Vec::new()).await).unwrap();
    let started = tokio::time::Instant::now();
    let sent = sender.send(&mut check(&server, &Signer::new(), 0)).await;
    let waited = started.elapsed();
    assert_eq!(sent.answer.outcome, Outcome::Transport);
    assert!(matches!(sent.http, Err(Failure::TimedOut)), "{:?}", sent.http);
    assert!(waited >= Duration::from_secs(5) && waited < Duration::from_millis(5_100), "{waited:?}");
}

#[tokio::test]
async fn answers_that_are_not_nppa_answers_are_classed_by_their_http_status_or_as_transport() {
    let server = mock(|_| {}).await;
    let signer = Signer::new();
    let gateway =
        b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 10\r\n\r\n<h1>x</h1>".to_vec();
    let sent = Sender::new(&odd_target(gateway).await).unwrap().send(&mut check(&server, &signer, 0)).await;
    assert_eq!((sent.answer.outcome, sent.http.ok()), (Outcome::Http(502), Some(502)));
    // Larger than any NPPA answer: not read into memory.
    let mut huge = b"HTTP/1.1 200 OK\r\ncontent-length: 2097152\r\n\r\n".to_vec();
    huge.resize(huge.len() + 2 * 1024 * 1024, b' ');
    let sent = Sender::new(&odd_target(huge).await).unwrap().send(&mut check(&server, &signer, 1)).await;
    assert_eq!(sent.answer.outcome, Outcome::Transport);
    assert!(matches!(sent.http, Err(Failure::TooLarge)), "{:?}", sent.http);
    // An answer in several pieces is read whole.
    let pieces = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"err\r\n8\r\ncode\":10\r\n\
        10\r\n11,\"errmsg\":\"x\"}\r\n0\r\n\r\n"
        .to_vec();
    let sent = Sender::new(&odd_target(pieces).await).unwrap().send(&mut check(&server, &signer, 9)).await;
    assert_eq!((sent.answer.outcome, sent.http.ok()), (Outcome::Code(1011), Some(200)));
    let garbage = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
    let sent = Sender::new(&odd_target(garbage).await).unwrap().send(&mut check(&server, &signer, 2)).await;
    assert_eq!(sent.answer.outcome, Outcome::Transport, "{:?}", sent.http);
    // Nothing listening.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let sent = Sender::new(&format!("http://{closed}")).unwrap().send(&mut check(&server, &signer, 3)).await;
    assert!(matches!(sent.http, Err(Failure::Connect(_))), "{:?}", sent.http);
    server.shutdown().await;
}

/// What a scripted target does on each connection after answering its first request.
#[derive(Clone, Copy)]
enum Then {
    /// Closes the connection right after the answer.
    Close,
    /// Reads the next request whole, then closes without answering it.
    ReadAndClose,
}

/// A target that answers one request on each connection with an NPPA OK, then does `then`. Counts the connections
/// it accepted and the requests it read whole.
async fn scripted_target(then: Then) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (connections, requests) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let counts = (Arc::clone(&connections), Arc::clone(&requests));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counts.0.fetch_add(1, Ordering::SeqCst);
            let requests = Arc::clone(&counts.1);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                if !read_request(&mut stream, &mut buffer).await {
                    return;
                }
                requests.fetch_add(1, Ordering::SeqCst);
                let body = br#"{"errcode":0,"errmsg":"OK","data":""}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&[head.as_bytes(), body].concat()).await;
                if let Then::ReadAndClose = then {
                    if read_request(&mut stream, &mut buffer).await {
                        requests.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), connections, requests)
}

/// Reads one whole request (head and `content-length` body) off `stream`, keeping what follows in `buffer`.
async fn read_request(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> bool {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse::<usize>().unwrap());
            if buffer.len() >= end + 4 + length {
                buffer.drain(..end + 4 + length);
                return true;
            }
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_connection_the_server_closed_after_its_answer_is_not_used_again_and_each_request_goes_out_once() {
    let server = mock(|_| {}).await;
    let signer = Signer::new();
    let (target, connections, requests) = scripted_target(Then::Close).await;
    let sender = Sender::new(&target).unwrap();
    for n in 0..3 {
        // Sent at once after the answer, on a connection the server is closing.
        let sent = sender.send(&mut check(&server, &signer, n)).await;
        assert_eq!(sent.answer.outcome, Outcome::Code(0), "request {n}: {:?}", sent.http);
    }
    assert_eq!(requests.load(Ordering::SeqCst), 3, "each request read once");
    assert_eq!(connections.load(Ordering::SeqCst), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_the_server_read_and_left_unanswered_is_a_transport_failure_and_not_sent_again() {
    let server = mock(|_| {}).await;
    let signer = Signer::new();
    let (target, connections, requests) = scripted_target(Then::ReadAndClose).await;
    let sender = Sender::new(&target).unwrap();
    let first = sender.send(&mut check(&server, &signer, 0)).await;
    assert_eq!(first.answer.outcome, Outcome::Code(0), "{:?}", first.http);
    let second = sender.send(&mut check(&server, &signer, 1)).await;
    assert_eq!(second.answer.outcome, Outcome::Transport);
    let reason = second.http.unwrap_err().to_string();
    assert!(reason.contains("connection closed before message completed"), "{reason}");
    assert_eq!(requests.load(Ordering::SeqCst), 2, "the unanswered request was not sent again");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}
