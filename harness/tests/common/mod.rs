//! Shared test setup: the real mock on a loopback port, the reference client, the admin API over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use nppa_harness::admin_client::AdminClient;
use nppa_harness::client::{Client, Exchange, TimeSource};
use nppa_harness::{DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY};
use nppa_mockserver::admin_api::ClockChange;
use nppa_mockserver::config::{ChannelConfig, Config, EnterpriseConfig, GameConfig};
use nppa_mockserver::{MockServer, RunningServer};
use nppa_protocol::messages::BehaviourRecord;
use nppa_protocol::Permission;
use serde_json::Value;

pub mod crafted;
pub mod judging;

/// 2026-01-15 12:00:00 Beijing time: far from the 00:00–04:00 outage, so results do not depend on when CI runs.
pub const NOON_BEIJING_MS: u64 = 1_768_449_600_000;
/// 2026-01-15 00:00:00 Beijing time.
pub const MIDNIGHT_BEIJING_MS: u64 = NOON_BEIJING_MS - 12 * nppa_protocol::beijing::HOUR_MS;

pub const PRESET_OK: (&str, &str, &str) = ("100000000000000001", "某一一", "110000190101010001");
pub const PRESET_OK_PI: &str = "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u";
pub const PRESET_PENDING: (&str, &str, &str) = ("200000000000000001", "某二一", "110000190201010009");

/// A second enterprise used by tests: owns game 1102000001, and is a report-only channel of the default game.
pub const OTHER_APP_ID: &str = "0123456789abcdef0123456789abcdef";
pub const OTHER_KEY: &str = "00112233445566778899aabbccddeeff";
pub const OTHER_BIZ_ID: &str = "1102000001";

pub struct Mock {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
}

/// The embedded default, with the clock fixed at noon Beijing time and a second enterprise.
pub fn test_config() -> Config {
    let mut config = Config::embedded_default();
    config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
    config.enterprises.push(EnterpriseConfig {
        name: "Other".into(),
        app_id: OTHER_APP_ID.into(),
        secret_key: OTHER_KEY.into(),
        enabled: true,
        ip_whitelist: vec!["127.0.0.0/8".into()],
        whitelist_ips_granted: 0,
        test_passed: false,
        test: None,
        secret_key_expires: None,
        key_validity_days: None,
    });
    config.games.push(GameConfig {
        name: "Other game".into(),
        biz_id: OTHER_BIZ_ID.into(),
        owner: OTHER_APP_ID.into(),
        permissions: vec![Permission::Realname, Permission::Report],
        quota: Default::default(),
        channels: vec![],
    });
    config.games[0].channels.push(ChannelConfig { app_id: OTHER_APP_ID.into(), permissions: vec![Permission::Report] });
    config
}

pub async fn start() -> Mock {
    start_with(|_| {}).await
}

pub async fn start_with(edit: impl FnOnce(&mut Config)) -> Mock {
    let mut config = test_config();
    edit(&mut config);
    let server = MockServer::new(config).expect("config").bind("127.0.0.1:0".parse().unwrap()).await.expect("bind");
    let base = server.base_url();
    Mock { server, base, http: reqwest::Client::new() }
}

impl Mock {
    /// The default enterprise and game, signing with the mock clock.
    pub fn client(&self) -> Client {
        self.client_for(DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY)
    }

    pub fn client_for(&self, app_id: &str, biz_id: &str, key: &str) -> Client {
        Client::new(&self.base, app_id, biz_id, key).unwrap().with_time(TimeSource::MockClock)
    }

    /// The typed admin API.
    pub fn admin_api(&self) -> AdminClient {
        AdminClient::new(&self.base)
    }

    /// A raw admin call, for tests of the admin API's HTTP itself (statuses, refusals, shapes).
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.parse().unwrap(), &url);
        if let Some(body) = body {
            request = request.header("Content-Type", "application/json").body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn now_ms(&self) -> u64 {
        self.admin_api().clock().await.unwrap().now_ms
    }

    pub async fn advance(&self, ms: i64) {
        self.admin_api().change_clock(ClockChange::advance(ms)).await.unwrap();
    }

    pub async fn set_clock(&self, ms: u64) {
        self.admin_api().change_clock(ClockChange::set(ms)).await.unwrap();
    }

    pub async fn freeze(&self) {
        self.admin_api().change_clock(ClockChange::freeze(true)).await.unwrap();
    }

    pub async fn live_records(&self) -> u64 {
        self.admin_api().stats().await.unwrap().live_records
    }
}

/// A valid record of a verified user, `ot` one second before `now_ms`.
pub fn verified(no: i64, si: &str, bt: i64, now_ms: u64) -> BehaviourRecord {
    BehaviourRecord {
        no,
        si: si.into(),
        bt,
        ot: now_ms as i64 / 1000 - 1,
        ct: 0,
        di: None,
        pi: Some(PRESET_OK_PI.into()),
    }
}

/// A valid guest record.
pub fn guest(no: i64, si: &str, bt: i64, now_ms: u64) -> BehaviourRecord {
    BehaviourRecord {
        no,
        si: si.into(),
        bt,
        ot: now_ms as i64 / 1000 - 1,
        ct: 2,
        di: Some("device-1".into()),
        pi: None,
    }
}

pub fn code(exchange: &Exchange) -> u16 {
    exchange.errcode().unwrap_or_else(|| panic!("no errcode in {}", exchange.response_body))
}

/// A valid idNum for a generated person (birth 1990-01-01, sequence `n`).
pub fn id_num(n: u32) -> String {
    nppa_protocol::idnum::complete(&format!("110105199001{:02}{:03}", 1 + n / 1000 % 28, n % 1000)).unwrap()
}

/// Every journal entry of the in-process mock, oldest first (what certify judges).
pub fn entries(mock: &Mock) -> Vec<nppa_mockserver::journal::JournalEntry> {
    let query = nppa_mockserver::journal::JournalQuery { limit: Some(usize::MAX), ..Default::default() };
    mock.server.service().journal().query(&query)
}

/// Waits (real time, up to 10 s) until the journal holds `n` entries: an answer held by a delay, or forwarded to a
/// slow upstream, is journaled when it comes, whether or not the client still waits.
pub async fn journaled(mock: &Mock, n: usize) -> Vec<nppa_mockserver::journal::JournalEntry> {
    for _ in 0..200 {
        let entries = entries(mock);
        if entries.len() >= n {
            return entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the journal never reached {n} entries: {:#?}", entries(mock));
}

/// The environment `nppa certify` gives a client, for the built-in reference flows; they sign with the mock
/// clock (the tests' clock starts at a fixed noon).
pub fn flow_env(mock: &Mock) -> nppa_harness::certify::reference::FlowEnv {
    let env = nppa_harness::certify::client_environment(mock.server.service().config(), &mock.base);
    let mut flow = nppa_harness::certify::reference::FlowEnv::from_lookup(|name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    flow.time = TimeSource::MockClock;
    flow
}

/// The default production credentials.
pub fn credentials() -> nppa_protocol::request::Credentials {
    nppa_protocol::request::Credentials {
        app_id: DEFAULT_APP_ID.into(),
        biz_id: DEFAULT_BIZ_ID.into(),
        key: nppa_protocol::SecretKey::from_hex(DEFAULT_SECRET_KEY).unwrap(),
    }
}

/// A mock in proxy mode with its local CA in `tls_dir`, and an HTTP client that sends through it and trusts the CA:
/// a client with NPPA's hosts hard-coded reaches the mock. `timestamps` are checked against real time, as such a
/// client signs with its own clock.
pub async fn start_proxy(tls_dir: std::path::PathBuf) -> (Mock, reqwest::Client) {
    let mock = start_with(move |c| {
        c.server.proxy = true;
        c.server.tls_dir = tls_dir;
        c.rules.timestamps_clock = nppa_mockserver::config::TimestampsClock::Wall;
    })
    .await;
    let pem = std::fs::read(mock.server.ca_path().expect("a CA in proxy mode")).unwrap();
    let through_mock = nppa_harness::client::http_client(Some(&pem), Some(&mock.base)).unwrap();
    (mock, through_mock)
}

/// Reads until EOF or error; returns what was read. Fails the test if the server keeps the socket open 10 s.
pub async fn read_to_close(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server should have closed the connection");
    out
}

/// A connection to the mock from another loopback address (`127.0.0.2`…): another peer for the per-IP limit.
pub async fn connect_from(ip: &str, mock: &Mock) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    socket.connect(mock.server.local_addr()).await.unwrap()
}

/// The value of one series of `/metrics` (`nppa_http_errors_total{kind="http2"}`), 0 when absent; read on a
/// connection of its own that closes, so that it holds no place under the connection limits.
pub async fn metric(mock: &Mock, series: &str) -> f64 {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(mock.server.local_addr()).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").await.unwrap();
    let text = String::from_utf8(read_to_close(&mut stream).await).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}
