//! Each scenario, briefly, against the real mock on a loopback port (real HTTP, real crypto), through goose.
//! Goose's killswitch is process-wide, so the runs take turns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use nppa_mockserver::config::{Config, GameConfig};
use nppa_mockserver::journal::{JournalEntry, JournalQuery};
use nppa_mockserver::{MockServer, RunningServer};
use nppa_protocol::request::Credentials;
use nppa_protocol::{Interface, Permission, QuotaProfile, SecretKey};
use nppa_scenarios::burst::BurstPlan;
use nppa_scenarios::engine::{self, LoadOptions, RunResult, ScenarioKind, StopReason};
use nppa_scenarios::recorder::Recorder;
use nppa_scenarios::simulate::{self, SimTarget};
use nppa_scenarios::sizing::{self, SizingInput};
use nppa_scenarios::target::{LoadTarget, Timeline};
use serde_json::{json, Value};
use std::collections::HashMap;
use tokio::sync::Mutex;

static GOOSE: Mutex<()> = Mutex::const_new(());

const APP_ID: &str = "fdc6688637bc468e9aea874654cbead2";
const KEY: &str = "b4c932250dbe59ff53b15ee993a9feb5";

async fn mock(games: u32, edit: impl FnOnce(&mut Config)) -> (RunningServer, LoadTarget) {
    let mut config = Config::embedded_default();
    config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
    for g in 1..games {
        config.games.push(GameConfig {
            name: format!("Load game {g}"),
            biz_id: format!("11019{g:05}"),
            owner: APP_ID.into(),
            permissions: vec![Permission::Realname, Permission::Report],
            quota: Default::default(),
            channels: vec![],
        });
    }
    edit(&mut config);
    let biz_ids: Vec<String> = config.games.iter().map(|g| g.biz_id.clone()).collect();
    let server = MockServer::new(config).unwrap().bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let offset_ms = server.service().clock().offset_from_wall_ms();
    let games = biz_ids
        .into_iter()
        .map(|biz_id| Credentials { app_id: APP_ID.into(), biz_id, key: SecretKey::from_hex(KEY).unwrap() })
        .collect();
    let target = LoadTarget { base_url: server.base_url(), games, timeline: Timeline { offset_ms } };
    (server, target)
}

fn options(scenario: ScenarioKind) -> LoadOptions {
    LoadOptions {
        duration: Duration::from_secs(2),
        max_run: Duration::from_secs(30),
        ..LoadOptions::defaults(scenario)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realname_checks_and_queries_pending_results() {
    let _turn = GOOSE.lock().await;
    let (server, target) = mock(1, |c| {
        c.identities.pending_fraction = 0.3;
        c.identities.pending_delay_min_s = 1.0;
        c.identities.pending_delay_max_s = 1.0;
    })
    .await;
    let mut opts = options(ScenarioKind::Realname);
    opts.rate = 100.0;
    opts.query_after = Duration::from_millis(1100);
    let result = engine::run(opts, target, Arc::new(Recorder::new())).await.unwrap();
    let m = &result.measured;
    assert_eq!(result.stop_reason, StopReason::ScheduleComplete);
    assert_eq!(m.requests, 200, "{:?}", m.by_errcode);
    assert_eq!(m.by_errcode.get("0"), Some(&200), "{:?}", m.by_errcode);
    let stats = result.realname.unwrap();
    assert!(stats.pending > 20 && stats.queries > 0, "{stats:?}");
    assert!(m.interfaces["check"].all.p99_ms > 0.0);
    assert_eq!(m.interfaces["check"].all.count + m.interfaces["query"].all.count, 200);
    server.shutdown().await;
}

fn unexpected(result: &RunResult) -> Vec<(String, u64)> {
    result.measured.by_errcode.iter().filter(|(code, _)| code.as_str() != "0").map(|(c, n)| (c.clone(), *n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_pairs_logins_with_logouts() {
    let _turn = GOOSE.lock().await;
    let (server, target) = mock(1, |_| {}).await;
    let mut opts = options(ScenarioKind::Report);
    opts.rate = 20.0;
    opts.players = 200;
    opts.session = Duration::from_secs(1);
    opts.duration = Duration::from_secs(3);
    let result = engine::run(opts, target, Arc::new(Recorder::new())).await.unwrap();
    assert!(unexpected(&result).is_empty(), "{:?}", result.measured.by_errcode);
    let stats = result.report.unwrap();
    assert!(stats.logins >= 200 && stats.logouts > 50, "{stats:?}");
    assert_eq!(stats.records_accepted, stats.logins + stats.logouts);
    // Every logout the mock accepted has a login with the same si before it (R-BEH-3).
    let journal = server.service().journal().query(&JournalQuery { limit: Some(100_000), ..Default::default() });
    let mut logged_in = std::collections::HashSet::new();
    for record in journal.iter().flat_map(records) {
        let si = record["si"].as_str().unwrap().to_owned();
        if record["bt"] == 1 {
            assert!(logged_in.insert(si));
        } else {
            assert!(logged_in.contains(&si), "logout without login: {si}");
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_blends_realname_and_report() {
    let _turn = GOOSE.lock().await;
    let (server, target) = mock(1, |_| {}).await;
    let mut opts = options(ScenarioKind::Mixed);
    // 30 loginout requests a second, under the quota of 50.
    opts.rate = 100.0;
    opts.mix_realname_percent = 70;
    let result = engine::run(opts, target, Arc::new(Recorder::new())).await.unwrap();
    assert!(unexpected(&result).is_empty(), "{:?}", result.measured.by_errcode);
    let interfaces = &result.measured.interfaces;
    let checks = interfaces["check"].all.count;
    let reports = interfaces["loginout"].all.count;
    assert!(checks > 100 && reports > 30, "check {checks}, loginout {reports}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_probe_finds_the_configured_limit() {
    let _turn = GOOSE.lock().await;
    let (server, target) = mock(1, |c| c.games[0].quota.loginout = Some(20)).await;
    let mut opts = options(ScenarioKind::QuotaProbe);
    opts.rate = 5.0;
    opts.probe_step = 5.0;
    opts.probe_interface = Interface::Loginout;
    opts.duration = Duration::from_secs(20);
    let result = engine::run(opts, target, Arc::new(Recorder::new())).await.unwrap();
    let finding = result.probe.unwrap();
    assert_eq!(result.stop_reason, StopReason::First1006);
    assert_eq!(finding.limit_found, Some(20), "{finding:?}");
    assert_eq!(finding.rate_at_1006, Some(25.0), "{finding:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_burst_in_real_time_stays_inside_the_quota() {
    let _turn = GOOSE.lock().await;
    let (server, target) = mock(2, |c| {
        c.games[0].quota.loginout = Some(5);
        c.games[1].quota.loginout = Some(5);
    })
    .await;
    let mut opts = options(ScenarioKind::LogoutBurst);
    opts.players = 2_000;
    opts.window = Duration::from_secs(1);
    opts.burst_qps = 5;
    opts.users = 3;
    let result = engine::run(opts, target, Arc::new(Recorder::new())).await.unwrap();
    let burst = result.burst.clone().unwrap();
    assert_eq!(result.stop_reason, StopReason::ScheduleComplete);
    assert_eq!(burst.totals.accepted, 2_000, "{:?}", burst.totals);
    assert!(unexpected(&result).is_empty(), "{:?}", result.measured.by_errcode);
    let entries = loginouts(&server);
    assert_eq!(assert_journal_rules(&entries, 5), 0);
    // 1 000 records per game at 5 × 128 a second: two seconds of quota each.
    assert_eq!(entries.len() as u64, burst.totals.requests);
    server.shutdown().await;
}

/// Loginout plaintexts' records.
fn records(entry: &JournalEntry) -> Vec<Value> {
    let Some(plaintext) = &entry.plaintext else { return vec![] };
    let body: Value = serde_json::from_str(plaintext).unwrap();
    body["collections"].as_array().cloned().unwrap_or_default()
}

fn loginouts(server: &RunningServer) -> Vec<JournalEntry> {
    let query = JournalQuery { interface: Some(Interface::Loginout), limit: Some(1_000_000), ..Default::default() };
    server.service().journal().query(&query)
}

fn header<'a>(entry: &'a JournalEntry, name: &str) -> &'a str {
    entry.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// What the journal must show of a burst driver: ≤ 128 records a request (R-BEH-1), ≤ `quota` requests per game
/// per second (R-RL-1) and so no 1006 of the mock's own, and a record sent again only when the answer that carried
/// it did not accept it (R-BEH-4): a 1006, an answer the client could not read, or a 3001 naming it with a code
/// other than 3005.
fn assert_journal_rules(entries: &[JournalEntry], quota: usize) -> usize {
    let mut per_second: HashMap<(String, u64), usize> = HashMap::new();
    let mut last_answer: HashMap<String, (u64, bool)> = HashMap::new();
    let mut resent = 0;
    for entry in entries {
        let records = records(entry);
        if entry.plaintext.is_none() {
            // A fault answered before the mock decrypted anything: the driver cannot have seen an answer either.
            assert!(entry.fault.is_some(), "entry {} has no plaintext", entry.id);
            continue;
        }
        assert!(!records.is_empty() && records.len() <= 128, "request {} has {} records", entry.id, records.len());
        let window = per_second.entry((header(entry, "bizId").to_owned(), entry.time_ms / 1000)).or_default();
        *window += 1;
        assert!(*window <= quota, "more than {quota} requests in one second for a game (entry {})", entry.id);
        if entry.fault.is_none() {
            assert_ne!(entry.errcode, Some(1006), "the mock itself answered 1006 (entry {})", entry.id);
        }
        let answer: Option<Value> = serde_json::from_str(&entry.answer).ok();
        let errcode = answer.as_ref().and_then(|a| a["errcode"].as_u64());
        let rejected: HashMap<u64, u64> = answer
            .as_ref()
            .and_then(|a| a.pointer("/data/results")?.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|r| (r["no"].as_u64().unwrap(), r["errcode"].as_u64().unwrap()))
            .collect();
        for record in records {
            let si = record["si"].as_str().unwrap().to_owned();
            let no = record["no"].as_u64().unwrap();
            if let Some((previous, may_resend)) = last_answer.get(&si) {
                assert!(may_resend, "{si} sent again after entry {previous} settled it (entry {})", entry.id);
                resent += 1;
            }
            let may_resend = match errcode {
                Some(0) => false,
                Some(3001) => rejected.get(&no).is_some_and(|code| *code != 3005),
                Some(1006) | None => true,
                Some(_) => true,
            };
            last_answer.insert(si, (entry.id, may_resend));
        }
    }
    resent
}

async fn simulated_mock(games: u32, quota: u32) -> (RunningServer, SimTarget) {
    let (server, target) = mock(games, |c| {
        c.server.quota_profile = QuotaProfile::V1;
        for game in &mut c.games {
            game.quota.loginout = Some(quota);
        }
    })
    .await;
    let service = server.service().clone();
    service.clock().freeze(true);
    let sim = SimTarget {
        base_url: target.base_url.clone(),
        games: target.games.clone(),
        set_clock: Arc::new(move |t| service.clock().set_ms(t)),
    };
    (server, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_burst_follows_the_rules_under_faults() {
    let (server, sim) = simulated_mock(2, 2).await;
    let faults = json!({"seed": 7, "rules": [
        {"interface": "loginout", "probability": 0.03, "count": 4, "action": {"kind": "status", "errcode": 1006}},
        {"interface": "loginout", "probability": 0.03, "count": 6, "action": {"kind": "truncate"}},
        {"interface": "loginout", "probability": 0.03, "count": 6, "action": {"kind": "reset"}}
    ]});
    server.service().faults().add(serde_json::from_value(faults).unwrap()).unwrap();
    let start_ms = server.service().clock().now_ms();
    // 2 requests/s of 128 records: 46 080 records reach NPPA inside 180 s; the rest of 60 000 per game are late.
    let plan =
        BurstPlan { players: 120_000, window_ms: 0, games: 2, batch: 128, requests_per_s: 2, start_ms, margin_ms: 30 };
    let result = simulate::simulate(plan, &sim, Arc::new(Recorder::new())).await.unwrap();
    let burst = result.burst.unwrap();
    let t = &burst.totals;
    assert_eq!(t.accepted + t.lost_3005 + t.given_up, 120_000, "{t:?}");
    assert!(t.lost_3005 > 20_000, "{t:?}");
    assert!(t.answers_1006 >= 1 && t.resent > 0, "{t:?}");
    assert!(t.largest_batch <= 128);
    assert!(assert_journal_rules(&loginouts(&server), 2) > 0, "the faults made the driver re-send");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_simulation_agrees_with_the_model() {
    let (server, sim) = simulated_mock(1, 10).await;
    let start_ms = server.service().clock().now_ms();
    // V1: 10 requests/s of 128 records; 400 000 players over 60 s. The model says 312.5 s to drain and about
    // 115 000 records too old.
    let input = SizingInput {
        players: 400_000,
        window_s: 60.0,
        quota_qps: 10,
        games: 1,
        batch: 128,
        concurrency: 4,
        rtt_ms: 1.0,
    };
    let model = sizing::model(&input);
    let plan = BurstPlan {
        players: 400_000,
        window_ms: 60_000,
        games: 1,
        batch: 128,
        requests_per_s: 10,
        start_ms,
        margin_ms: 30,
    };
    let result = simulate::simulate(plan, &sim, Arc::new(Recorder::new())).await.unwrap();
    let burst = result.burst.unwrap();
    let drain_s = burst.totals.drain_ms as f64 / 1000.0;
    let error = (drain_s - model.drain_time_s).abs() / model.drain_time_s;
    assert!(error < 0.05, "model {:.1} s, simulation {drain_s:.1} s", model.drain_time_s);
    let lost_error =
        (burst.totals.lost_3005 as f64 - model.predicted_losses as f64).abs() / model.predicted_losses as f64;
    assert!(lost_error < 0.05, "model {} lost, simulation {}", model.predicted_losses, burst.totals.lost_3005);
    server.shutdown().await;
}
