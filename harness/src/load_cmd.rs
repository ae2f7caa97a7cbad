//! `nppa load SCENARIO` and `nppa size`: load runs against the mock (in-process by default) with reports, and the
//! logout-burst sizing model, checked against a simulation on the mock's clock.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use nppa_mockserver::config::{Config, GameConfig};
use nppa_mockserver::{MockServer, RunningServer};
use nppa_protocol::behaviour::MAX_RECORDS;
use nppa_protocol::request::Credentials;
use nppa_protocol::{Interface, Permission, QuotaProfile, SecretKey};
use nppa_scenarios::engine::{self, LoadOptions, RunResult, ScenarioKind};
use nppa_scenarios::recorder::Recorder;
use nppa_scenarios::report::{self, LoadReport, ReportContext};
use nppa_scenarios::simulate::{self, SimTarget};
use nppa_scenarios::sizing::{self, SizingInput, SizingResult};
use nppa_scenarios::target::{LoadTarget, Timeline};
use nppa_scenarios::thresholds::Threshold;

use crate::admin_client::AdminClient;
use crate::{DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY};

/// The in-process mock's clock: noon Beijing time, far from the 00:00–04:00 outage whatever the hour (R-PEND-2).
const MOCK_CLOCK_START: &str = "2026-01-15T12:00:00+08:00";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// check → (pending) → query at --rate, with the real lifecycle.
    Realname,
    /// --players log in and out (sessions of --session on average), reported in batches at --rate.
    Report,
    /// --players log out within --window; the driver batches, paces to the quota, honours 1006, re-sends only rejected records.
    LogoutBurst,
    /// Ramps --interface from --rate by --step each second until the first 1006, and reports the limit.
    QuotaProbe,
    /// --mix percent realname, the rest report.
    Mixed,
}

impl Scenario {
    fn kind(self) -> ScenarioKind {
        match self {
            Scenario::Realname => ScenarioKind::Realname,
            Scenario::Report => ScenarioKind::Report,
            Scenario::LogoutBurst => ScenarioKind::LogoutBurst,
            Scenario::QuotaProbe => ScenarioKind::QuotaProbe,
            Scenario::Mixed => ScenarioKind::Mixed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// check 500, query 500, loginout 50 requests/s per game.
    #[value(name = "v2.1")]
    V21,
    /// check 100, query 300, loginout 10 requests/s per game.
    V1,
}

impl Profile {
    fn quota(self) -> QuotaProfile {
        match self {
            Profile::V21 => QuotaProfile::V2_1,
            Profile::V1 => QuotaProfile::V1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbeInterface {
    Check,
    Query,
    Loginout,
}

/// Flags shared by `load` and `size` for the in-process mock.
#[derive(Debug, Clone, Args)]
pub struct MockFlags {
    /// Quota profile of the in-process mock and of the burst driver's pacing.
    #[arg(long, value_enum, default_value = "v2.1")]
    pub profile: Profile,
    /// Games (bizIds), each with its own quota. In-process, they are created; with --target, give --biz-id once per game.
    #[arg(long, default_value_t = 1)]
    pub games: u32,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  nppa load realname --rate 500 --duration 60s                   # the 500 req/s target on this machine
  nppa load logout-burst --players 100000 --window 30s           # will my burst make it? open reports/…/report.html
  nppa load logout-burst --players 1000000 --simulate            # a million players on the mock's clock, in seconds
  nppa load quota-probe --interface check --rate 100 --step 50   # find the limit
  nppa load mixed --threshold 'p99<50ms' --threshold 'errors==0' # fail CI on a slow or erroring run
  nppa load realname --target http://127.0.0.1:8080              # against a mock you started yourself

Reports go to reports/<scenario>-<time>/: report.html (plots), report.md, report.json (the --baseline format).
Exit codes: 0 done and every threshold passed; 1 a threshold failed; 2 could not run.")]
pub struct LoadArgs {
    /// What to run.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Mock to load (its base URL). Default: start the mock in-process on a free loopback port.
    #[arg(long)]
    pub target: Option<String>,
    /// appId for --target.
    #[arg(long, default_value = DEFAULT_APP_ID)]
    pub app_id: String,
    /// secretKey for --target.
    #[arg(long, default_value = DEFAULT_SECRET_KEY)]
    pub secret_key: String,
    /// bizId(s) for --target, one per game.
    #[arg(long = "biz-id")]
    pub biz_ids: Vec<String>,
    /// Requests per second, open model (arrivals do not wait for answers); 0 = as fast as the senders go.
    /// Default: realname 500, report 20, mixed 100, quota-probe 10 (its starting rate).
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long arrivals keep coming (logout-burst: until drained).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Senders (goose users): requests that can be in flight at once; per game for logout-burst.
    #[arg(long)]
    pub users: Option<usize>,
    /// Players (report, logout-burst). Default: report 5000, logout-burst 100000.
    #[arg(long)]
    pub players: Option<u64>,
    /// logout-burst: the players log out evenly over this window (0s = all at once).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// logout-burst: records per request (at most 128, R-BEH-1).
    #[arg(long, default_value_t = MAX_RECORDS as u32)]
    pub batch: u32,
    /// logout-burst: requests per second per game the driver allows itself. Default: the profile's loginout quota.
    #[arg(long)]
    pub burst_qps: Option<u32>,
    /// logout-burst: simulate on the mock's clock instead of waiting in real time (in-process mock only).
    #[arg(long)]
    pub simulate: bool,
    /// realname / mixed: share of checks that pend (in-process mock), so that queries are exercised.
    #[arg(long, default_value_t = 0.1)]
    pub pending: f64,
    /// realname: wait this long after a pending answer before querying it.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub query_after: Duration,
    /// report: mean session length.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    pub session: Duration,
    /// quota-probe: the interface to ramp.
    #[arg(long, value_enum, default_value = "loginout")]
    pub interface: ProbeInterface,
    /// quota-probe: requests per second added each second.
    #[arg(long, default_value_t = 10.0)]
    pub step: f64,
    /// mixed: percent of arrivals that are realname (the rest report).
    #[arg(long, default_value_t = 70)]
    pub mix: u32,
    #[command(flatten)]
    pub mock: MockFlags,
    /// In-process mock: turn quotas off (to measure the driver or the mock, not the quota).
    #[arg(long)]
    pub no_quotas: bool,
    /// Pass/fail rule, repeatable: 'p99<50ms', 'check.p999<=5ms', 'errors==0', 'error_rate<0.1%', 'rate>=490',
    /// 'lost==0', 'drain<160s', 'oldest_age<180s', 'p99_vs_baseline<10%'. A failed rule exits 1.
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,
    /// An earlier run's report.json to compare with.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Report directory. Default: reports/<scenario>-<time>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write goose's own HTML report (goose.html) into the report directory.
    #[arg(long)]
    pub goose_report: bool,
    /// Hard limit on the run, whatever happens.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub max_run: Duration,
    /// The latency chart leaves out this start of the run (connections opening, caches filling), rounded up to
    /// whole seconds, and says so; the tables and thresholds count every request.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warm_up: Duration,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  nppa size --players 1000000                          # V2.1: 157 s, inside the 180 s window
  nppa size --players 1000000 --profile v1             # 782 s: most records lost, and what would avoid it
  nppa size --players 1000000 --window 120s --games 2 --simulate   # check the model on the mock's clock
  nppa size --players 1000000 --profile v1 --fail-on-loss          # exit 1: a CI gate on the sizing
Exit codes: 0 the model ran (and, with --fail-on-loss, predicts no loss); 1 with --fail-on-loss, losses predicted;
2 bad input or a failed simulation.")]
pub struct SizeArgs {
    /// Players logging out in the burst.
    #[arg(long)]
    pub players: u64,
    /// They log out evenly over this window (0s = all at once).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    #[command(flatten)]
    pub mock: MockFlags,
    /// Loginout quota per game, if NPPA raised it (FAQ 109). Default: the profile's.
    #[arg(long)]
    pub quota: Option<u32>,
    /// Records per request (at most 128).
    #[arg(long, default_value_t = MAX_RECORDS as u32)]
    pub batch: u32,
    /// Requests in flight per game.
    #[arg(long, default_value_t = 4)]
    pub concurrency: u32,
    /// Round-trip time of one request to NPPA.
    #[arg(long, default_value = "30ms", value_parser = humantime::parse_duration)]
    pub rtt: Duration,
    /// Also run the burst on the in-process mock's clock and print model and simulation side by side.
    #[arg(long)]
    pub simulate: bool,
    /// Report directory for --simulate. Default: reports/size-<time>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 1 when the model predicts records lost to 3005 (a gate for CI).
    #[arg(long)]
    pub fail_on_loss: bool,
}

fn run_dir(out: Option<PathBuf>, name: &str) -> PathBuf {
    out.unwrap_or_else(|| {
        PathBuf::from("reports").join(format!("{name}-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")))
    })
}

/// The in-process mock for a load run: the embedded default, with `games` games of the example enterprise.
fn load_config(flags: &MockFlags, quotas: bool, pending: f64, edit: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::embedded_default();
    config.clock.start = Some(MOCK_CLOCK_START.into());
    config.server.quota_profile = flags.profile.quota();
    config.server.quotas = quotas;
    config.identities.pending_fraction = pending;
    config.identities.pending_delay_min_s = 3.0;
    config.identities.pending_delay_max_s = 8.0;
    for g in 1..flags.games {
        config.games.push(GameConfig {
            name: format!("Load game {g}"),
            biz_id: format!("11019{g:05}"),
            owner: DEFAULT_APP_ID.into(),
            permissions: vec![Permission::Realname, Permission::Report],
            quota: Default::default(),
            channels: vec![],
        });
    }
    edit(&mut config);
    config
}

fn credentials(app_id: &str, secret_key: &str, biz_ids: &[String]) -> anyhow::Result<Vec<Credentials>> {
    let key = SecretKey::from_hex(secret_key).context("--secret-key")?;
    Ok(biz_ids
        .iter()
        .map(|biz_id| Credentials { app_id: app_id.into(), biz_id: biz_id.clone(), key: key.clone() })
        .collect())
}

async fn start_mock(config: Config) -> anyhow::Result<(RunningServer, Vec<String>)> {
    let biz_ids = config.games.iter().map(|g| g.biz_id.clone()).collect();
    let server = MockServer::new(config).context("refusing to start the mock")?;
    let server = server.bind("127.0.0.1:0".parse()?).await.context("starting the mock on a loopback port")?;
    Ok((server, biz_ids))
}

/// The offset between this machine's clock and a remote mock's, from `GET /__admin/clock` (0 when it has none).
async fn remote_timeline(base_url: &str) -> Timeline {
    let admin = AdminClient::new(base_url);
    let wall_before = Timeline::default().now_ms();
    match tokio::time::timeout(Duration::from_secs(3), admin.clock()).await {
        Ok(Ok(clock)) => Timeline { offset_ms: clock.now_ms as i64 - wall_before as i64 },
        failed => {
            let why = match failed {
                Ok(Err(e)) => format!("{e:#}"),
                _ => "no answer within 3 s".to_owned(),
            };
            eprintln!("note: {base_url}/__admin/clock: {why}; signing with this machine's clock");
            Timeline::default()
        }
    }
}

fn options(args: &LoadArgs) -> anyhow::Result<LoadOptions> {
    let kind = args.scenario.kind();
    let defaults = LoadOptions::defaults(kind);
    if args.batch == 0 || args.batch as usize > MAX_RECORDS {
        bail!("--batch must be 1–{MAX_RECORDS} (R-BEH-1: at most {MAX_RECORDS} records a request)");
    }
    let rate = args.rate.unwrap_or(defaults.rate);
    if !(rate >= 0.0 && rate.is_finite()) {
        bail!("--rate must be a number ≥ 0");
    }
    if args.mix > 100 {
        bail!("--mix is a percentage (0–100)");
    }
    Ok(LoadOptions {
        rate,
        duration: args.duration,
        users: args.users.unwrap_or(defaults.users).max(1),
        query_after: args.query_after,
        players: args.players.unwrap_or(defaults.players),
        session: args.session,
        window: args.window,
        burst_qps: args.burst_qps.unwrap_or(Interface::Loginout.quota(args.mock.profile.quota())),
        batch: args.batch,
        probe_interface: match args.interface {
            ProbeInterface::Check => Interface::Check,
            ProbeInterface::Query => Interface::Query,
            ProbeInterface::Loginout => Interface::Loginout,
        },
        probe_step: args.step,
        mix_realname_percent: args.mix,
        max_run: args.max_run,
        goose_report: None,
        ..defaults
    })
}

/// Prints a progress line every second (in place on a terminal, a line every 5 s otherwise).
fn spawn_progress(recorder: Arc<Recorder>, label: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tty = std::io::stderr().is_terminal();
        let mut tick = 0u64;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tick += 1;
            if !tty && !tick.is_multiple_of(5) {
                continue;
            }
            let p = recorder.progress();
            let mut line = format!(
                "{label} {:>4} s  {:>9} requests  {:>7} req/s  p99 {:>8}  not OK {}",
                p.seconds,
                p.requests,
                p.last_second_requests,
                p.last_second_p99_ms.map_or("-".into(), |v| format!("{v:.2} ms")),
                p.not_ok
            );
            if let Some(g) = p.gauges {
                line += &format!("  backlog {} oldest {:.0} s", g.backlog, g.oldest_age_s);
            }
            if tty {
                eprint!("\r{line}\x1b[K");
            } else {
                eprintln!("{line}");
            }
        }
    })
}

fn end_progress(handle: tokio::task::JoinHandle<()>) {
    handle.abort();
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
}

/// `nppa load`.
pub async fn run(args: LoadArgs) -> anyhow::Result<i32> {
    let thresholds = args.thresholds.iter().map(|t| Threshold::parse(t)).collect::<Result<Vec<_>, _>>()?;
    let mut opts = options(&args)?;
    let out = run_dir(args.out.clone(), args.scenario.kind().name());
    if args.goose_report {
        std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        opts.goose_report = Some(out.join("goose.html").display().to_string());
    }
    let kind = opts.scenario;
    if args.simulate && kind != ScenarioKind::LogoutBurst {
        bail!("--simulate runs logout-burst on the mock's clock; other scenarios run in real time");
    }
    if args.simulate && args.target.is_some() {
        bail!("--simulate needs the in-process mock (it moves the mock's clock); leave out --target");
    }
    let started_at = chrono::Local::now().to_rfc3339();
    let recorder = Arc::new(Recorder::new());
    let progress = spawn_progress(recorder.clone(), kind.name().into());
    let (result, target_label, server) = match &args.target {
        Some(url) => {
            let base_url = url.trim_end_matches('/').to_owned();
            let biz_ids = if args.biz_ids.is_empty() { vec![DEFAULT_BIZ_ID.to_owned()] } else { args.biz_ids.clone() };
            let target = LoadTarget {
                games: credentials(&args.app_id, &args.secret_key, &biz_ids)?,
                timeline: remote_timeline(&base_url).await,
                base_url: base_url.clone(),
            };
            (engine::run(opts.clone(), target, recorder.clone()).await, base_url, None)
        }
        None => {
            let config = load_config(&args.mock, !args.no_quotas, args.pending, |_| {});
            let (server, biz_ids) = start_mock(config).await?;
            let games = credentials(DEFAULT_APP_ID, DEFAULT_SECRET_KEY, &biz_ids)?;
            let label = format!("in-process mock ({})", server.base_url());
            let result = if args.simulate {
                simulate_burst(&server, games, &opts, recorder.clone()).await
            } else {
                let timeline = Timeline { offset_ms: server.service().clock().offset_from_wall_ms() };
                engine::run(opts.clone(), LoadTarget { base_url: server.base_url(), games, timeline }, recorder.clone())
                    .await
            };
            (result, label, Some(server))
        }
    };
    end_progress(progress);
    if let Some(server) = server {
        server.shutdown().await;
    }
    let result = result?;
    // The games the burst really ran on: --games in-process, one per --biz-id with --target.
    let model = result.burst.as_ref().map(|b| sizing::model(&sizing_input_for(&opts, b.plan.games)));
    let context = ReportContext {
        run_id: out.file_name().map_or("run".into(), |n| n.to_string_lossy().into_owned()),
        scenario: kind,
        started_at,
        target: target_label,
        options: serde_json::to_value(&opts)?,
        model,
        warm_up_s: args.warm_up.as_secs() + u64::from(args.warm_up.subsec_nanos() > 0),
    };
    finish(report::build(context, result), args.baseline.as_deref(), &thresholds, &out)
}

/// The sizing model's input for the burst a load run drives (RTT from nothing: the driver's own pacing rules).
fn sizing_input_for(opts: &LoadOptions, games: u32) -> SizingInput {
    SizingInput {
        players: opts.players,
        window_s: opts.window.as_secs_f64(),
        quota_qps: opts.burst_qps,
        games: games.max(1),
        batch: opts.batch,
        concurrency: opts.users as u32,
        rtt_ms: 1.0,
    }
}

/// Run a burst on the in-process mock's clock: freeze it, and let the simulation move it.
async fn simulate_burst(
    server: &RunningServer,
    games: Vec<Credentials>,
    opts: &LoadOptions,
    recorder: Arc<Recorder>,
) -> anyhow::Result<RunResult> {
    let service = server.service().clone();
    service.clock().freeze(true);
    let plan = opts.burst_plan(games.len() as u32, service.clock().now_ms());
    let clock_service = service.clone();
    let target =
        SimTarget { base_url: server.base_url(), games, set_clock: Arc::new(move |t| clock_service.clock().set_ms(t)) };
    simulate::simulate(plan, &target, recorder).await
}

fn finish(
    mut report: LoadReport,
    baseline: Option<&Path>,
    thresholds: &[Threshold],
    out: &Path,
) -> anyhow::Result<i32> {
    if let Some(file) = baseline {
        report.compare_with(file)?;
    }
    report.judge(thresholds);
    let files = report.write_all(out)?;
    print!("{}", report.console_summary());
    if let Some(html) = files.iter().find(|f| f.extension().is_some_and(|e| e == "html")) {
        println!("report: {} (and report.md, report.json)", html.display());
    }
    if report.summary.answered() == 0 {
        // Not a measurement of anything: a CI job must not pass on it (the reports say what happened).
        eprintln!(
            "nppa load: nothing answered any of the {} requests sent to {}. Is the server running there, and is \
             that its address?",
            report.summary.requests, report.target
        );
        return Ok(2);
    }
    Ok(if report.passed() { 0 } else { 1 })
}

/// `nppa size`.
pub async fn size(args: SizeArgs) -> anyhow::Result<i32> {
    let quota = args.quota.unwrap_or(Interface::Loginout.quota(args.mock.profile.quota()));
    let input = SizingInput {
        players: args.players,
        window_s: args.window.as_secs_f64(),
        quota_qps: quota,
        games: args.mock.games,
        batch: args.batch,
        concurrency: args.concurrency,
        rtt_ms: args.rtt.as_secs_f64() * 1000.0,
    };
    input.validate()?;
    let model = sizing::model(&input);
    print!("{}", sizing::render(&model));
    let verdict = if args.fail_on_loss && model.predicted_losses > 0 {
        eprintln!("nppa size: {} records predicted lost to 3005 (--fail-on-loss)", model.predicted_losses);
        1
    } else {
        0
    };
    if !args.simulate {
        return Ok(verdict);
    }
    println!("\nSimulating on the mock's clock…");
    let config = load_config(&args.mock, true, 0.0, |c| {
        for game in &mut c.games {
            game.quota.loginout = Some(quota);
        }
        // A million requests' worth of journal would only cost memory here.
        c.journal.enabled = false;
    });
    let (server, biz_ids) = start_mock(config).await?;
    let games = credentials(DEFAULT_APP_ID, DEFAULT_SECRET_KEY, &biz_ids)?;
    let opts = LoadOptions {
        players: args.players,
        window: args.window,
        batch: args.batch,
        burst_qps: model.requests_per_s_per_game.floor().max(1.0) as u32,
        users: args.concurrency as usize,
        ..LoadOptions::defaults(ScenarioKind::LogoutBurst)
    };
    let recorder = Arc::new(Recorder::new());
    let progress = spawn_progress(recorder.clone(), "simulate".into());
    let result = simulate_burst(&server, games, &opts, recorder).await;
    end_progress(progress);
    server.shutdown().await;
    let result = result?;
    print!("{}", side_by_side(&model, &result));
    let out = run_dir(args.out, "size");
    let context = ReportContext {
        run_id: out.file_name().map_or("size".into(), |n| n.to_string_lossy().into_owned()),
        scenario: ScenarioKind::LogoutBurst,
        started_at: chrono::Local::now().to_rfc3339(),
        target: "in-process mock (simulated clock)".into(),
        options: serde_json::to_value(&input)?,
        model: Some(model),
        warm_up_s: report::DEFAULT_WARM_UP_S,
    };
    let simulated = finish(report::build(context, result), None, &[], &out)?;
    Ok(simulated.max(verdict))
}

/// Model and simulation, one line per quantity, with the difference.
pub fn side_by_side(model: &SizingResult, run: &RunResult) -> String {
    let Some(burst) = &run.burst else { return String::new() };
    let t = &burst.totals;
    let drain = t.drain_ms as f64 / 1000.0;
    let oldest = burst.ages.max_ms / 1000.0;
    let peak = run.measured.timeline.iter().map(|p| p.requests).max().unwrap_or(0) as f64;
    let records_per_s = if drain > 0.0 { t.records as f64 / drain } else { 0.0 };
    let rows = [
        ("drain time (s)", model.drain_time_s, drain),
        ("peak requests/s", model.peak_requests_per_s, peak),
        ("records/s (mean)", model.records_per_s.min(t.records as f64 / model.drain_time_s), records_per_s),
        ("oldest record when sent (s)", model.oldest_age_s, oldest),
        ("records lost to 3005", model.predicted_losses as f64, t.lost_3005 as f64),
    ];
    let mut out = format!("\n{:<28} {:>14} {:>14} {:>9}\n", "", "model", "simulation", "diff");
    for (name, predicted, simulated) in rows {
        let diff = if predicted.abs() > 1e-9 {
            format!("{:+.1} %", (simulated - predicted) / predicted * 100.0)
        } else if simulated.abs() < 1e-9 {
            "0".into()
        } else {
            "—".into()
        };
        out += &format!("{name:<28} {predicted:>14.1} {simulated:>14.1} {diff:>9}\n");
    }
    out += &format!(
        "simulated {:.0} s of burst in {:.1} s of wall time ({} requests, real HTTP and crypto)\n",
        drain, run.wall_seconds, t.requests
    );
    out
}
