//! The goose side of `nppa load`: one goose scenario whose users are the senders, one transaction that claims
//! the next arrival (or the next burst slot), signs it with `protocol`, sends it (`sender`), and records the
//! answer. The run stops by itself when its schedule is spent (goose's killswitch), or at a hard time limit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::goose::{GooseUser, Scenario as GooseScenario, Transaction, TransactionFunction};
use goose::prelude::TransactionResult;
use goose::GooseAttack;
use nppa_protocol::behaviour::MAX_RECORDS;
use nppa_protocol::request::SignedRequest;
use nppa_protocol::Interface;
use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::burst::{Burst, BurstPlan, BurstTotals, Slot};
use crate::recorder::{Measured, Outcome, Percentiles, Recorder, Sample};
use crate::schedule::{Schedule, Shape};
use crate::sender::Sender;
use crate::target::{LoadTarget, Signer};
use crate::workloads::{Probe, ProbeFinding, Realname, RealnameStats, Report, ReportStats};

/// The scenarios `nppa load` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// check → (pending) → query at a steady rate, with the real lifecycle.
    Realname,
    /// Players logging in and out, reported in batches.
    Report,
    /// N players log out within W seconds; the driver drains them within the quota.
    LogoutBurst,
    /// Ramp one interface until 1006 and report the limit found.
    QuotaProbe,
    /// A blend of realname and report arrivals.
    Mixed,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 5] = [
        ScenarioKind::Realname,
        ScenarioKind::Report,
        ScenarioKind::LogoutBurst,
        ScenarioKind::QuotaProbe,
        ScenarioKind::Mixed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ScenarioKind::Realname => "realname",
            ScenarioKind::Report => "report",
            ScenarioKind::LogoutBurst => "logout-burst",
            ScenarioKind::QuotaProbe => "quota-probe",
            ScenarioKind::Mixed => "mixed",
        }
    }
}

/// Everything a run needs to know; `nppa load` fills it from its flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadOptions {
    pub scenario: ScenarioKind,
    /// Requests per second (open model); 0 = as fast as the senders go. Quota probe: the starting rate.
    pub rate: f64,
    pub duration: Duration,
    /// Goose users: requests that can be in flight at once (per game for logout-burst).
    pub users: usize,
    /// realname: wait this long after a pending answer before querying (R-QRY-4: not too often).
    pub query_after: Duration,
    /// report / logout-burst: players.
    pub players: u64,
    /// report: mean session length.
    pub session: Duration,
    /// logout-burst: logouts spread over this window.
    pub window: Duration,
    /// logout-burst: requests per second per game the driver allows itself (the quota).
    pub burst_qps: u32,
    pub batch: u32,
    /// quota-probe: the interface ramped, and the increase per second.
    pub probe_interface: Interface,
    pub probe_step: f64,
    /// mixed: share of arrivals that are realname (the rest report), in percent.
    pub mix_realname_percent: u32,
    /// A run never lasts longer than this, whatever happens.
    pub max_run: Duration,
    /// Also write goose's own HTML report here.
    pub goose_report: Option<String>,
}

impl LoadOptions {
    pub fn defaults(scenario: ScenarioKind) -> LoadOptions {
        let (rate, users) = match scenario {
            ScenarioKind::Realname => (500.0, 64),
            // 70 % realname: 30 loginout requests a second, under the V2.1 quota of 50.
            ScenarioKind::Mixed => (100.0, 32),
            ScenarioKind::Report => (20.0, 16),
            ScenarioKind::LogoutBurst => (0.0, 4),
            ScenarioKind::QuotaProbe => (10.0, 64),
        };
        LoadOptions {
            scenario,
            rate,
            duration: Duration::from_secs(60),
            users,
            query_after: Duration::from_secs(5),
            players: if scenario == ScenarioKind::LogoutBurst { 100_000 } else { 5_000 },
            session: Duration::from_secs(20),
            window: Duration::ZERO,
            burst_qps: 50,
            batch: MAX_RECORDS as u32,
            probe_interface: Interface::Loginout,
            probe_step: 10.0,
            mix_realname_percent: 70,
            max_run: Duration::from_secs(3600),
            goose_report: None,
        }
    }
}

impl LoadOptions {
    /// The logout burst these options describe, for `games` games, the first logout at `start_ms`.
    pub fn burst_plan(&self, games: u32, start_ms: u64) -> BurstPlan {
        BurstPlan {
            players: self.players,
            window_ms: self.window.as_millis() as u64,
            games,
            batch: self.batch,
            requests_per_s: self.burst_qps,
            start_ms,
            // Keeps each second's requests 30 ms clear of the quota window's edges.
            margin_ms: 30,
        }
    }
}

/// The logout burst's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BurstResult {
    pub plan: BurstPlan,
    pub totals: BurstTotals,
    /// Age of settled records (accepted or 3005) when sent, in ms.
    pub ages: Percentiles,
    /// Whether the run was a simulation on the mock's clock.
    pub simulated: bool,
}

/// Why a run ended. Written into report.json as its sentence (`"schedule complete"`, `"time limit (3600 s)"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum StopReason {
    /// Every arrival of the schedule (or every slot of the burst) was sent.
    ScheduleComplete,
    /// The quota probe saw its first 1006.
    First1006,
    /// The run reached `--max-run`.
    TimeLimit { seconds: u64 },
    /// The simulated burst sent its last record.
    BurstDrained,
    /// The simulation reached its limit of simulated time.
    SimulatedTimeLimit { hours: u64 },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::ScheduleComplete => f.write_str("schedule complete"),
            StopReason::First1006 => f.write_str("first 1006"),
            StopReason::TimeLimit { seconds } => write!(f, "time limit ({seconds} s)"),
            StopReason::BurstDrained => f.write_str("burst drained"),
            StopReason::SimulatedTimeLimit { hours } => write!(f, "simulated time limit ({hours} h)"),
        }
    }
}

/// A report.json whose `stop_reason` is not one `nppa load` writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a stop reason nppa load writes")]
pub struct UnknownStopReason(pub String);

impl std::str::FromStr for StopReason {
    type Err = UnknownStopReason;

    fn from_str(text: &str) -> Result<StopReason, UnknownStopReason> {
        let number = |prefix: &str, suffix: &str| text.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok();
        match text {
            "schedule complete" => Ok(StopReason::ScheduleComplete),
            "first 1006" => Ok(StopReason::First1006),
            "burst drained" => Ok(StopReason::BurstDrained),
            _ => {
                if let Some(seconds) = number("time limit (", " s)") {
                    Ok(StopReason::TimeLimit { seconds })
                } else if let Some(hours) = number("simulated time limit (", " h)") {
                    Ok(StopReason::SimulatedTimeLimit { hours })
                } else {
                    Err(UnknownStopReason(text.to_owned()))
                }
            }
        }
    }
}

impl From<StopReason> for String {
    fn from(reason: StopReason) -> String {
        reason.to_string()
    }
}

impl TryFrom<String> for StopReason {
    type Error = UnknownStopReason;

    fn try_from(text: String) -> Result<StopReason, UnknownStopReason> {
        text.parse()
    }
}

/// What a run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub measured: Measured,
    pub wall_seconds: f64,
    /// CPU seconds this process used during the run (driver, plus the mock when it runs in-process).
    pub cpu_seconds: f64,
    pub stop_reason: StopReason,
    pub burst: Option<BurstResult>,
    pub probe: Option<ProbeFinding>,
    pub realname: Option<RealnameStats>,
    pub report: Option<ReportStats>,
}

/// Shared by every goose user of one run.
struct Engine {
    options: LoadOptions,
    target: LoadTarget,
    signer: Signer,
    recorder: Arc<Recorder>,
    schedule: Schedule,
    /// Instant and timeline ms at which second 0 of the run begins: set when the first sender runs (goose may take
    /// a while to start its users), or at creation for a burst, whose logouts happen when they happen.
    start: OnceLock<(Instant, u64)>,
    in_flight: AtomicU64,
    spent: AtomicBool,
    realname: Realname,
    report: OnceLock<Report>,
    probe: Probe,
    burst: Option<Burst>,
    sender: Sender,
}

/// Second 0 of a run: the next whole second of the target's clock at least 300 ms away, so that every user has
/// started; a second of arrivals then falls into one quota window.
fn first_second(target: &LoadTarget) -> (Instant, u64) {
    let now_ms = target.timeline.now_ms();
    let start_ms = (now_ms + 300).div_ceil(1000) * 1000;
    (Instant::now() + Duration::from_millis(start_ms - now_ms), start_ms)
}

/// Process CPU time (user + system), in seconds.
pub fn process_cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            tv(usage.user_time()) + tv(usage.system_time())
        }
        Err(_) => 0.0,
    }
}

/// Run a scenario against `target` through goose. Only one goose run may be active per process (goose's
/// killswitch is process-wide).
pub async fn run(options: LoadOptions, target: LoadTarget, recorder: Arc<Recorder>) -> anyhow::Result<RunResult> {
    anyhow::ensure!(!target.games.is_empty(), "the target needs the credentials of at least one game");
    let sender = Sender::new(&target.base_url)?;
    let engine = Arc::new(Engine::new(options, target, recorder, sender));
    let cpu_before = process_cpu_seconds();
    let wall = Instant::now();
    let ticker = engine.burst.is_some().then(|| tokio::spawn(gauge_ticker(engine.clone())));

    let users = engine.goose_users();
    let mut config = GooseConfiguration::default();
    config.host = Some(engine.target.base_url.clone());
    config.users = Some(users);
    config.increase_rate = Some((users * 20).to_string());
    config.run_time = Some(format!("{}s", engine.options.max_run.as_secs().max(1)));
    config.quiet = 1;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_telnet = true;
    match &engine.options.goose_report {
        Some(path) => config.report_file = vec![path.clone()],
        None => config.no_metrics = true,
    }
    let step: TransactionFunction = {
        let engine = engine.clone();
        Arc::new(move |user| {
            let engine = engine.clone();
            Box::pin(async move { engine.step(user).await })
        })
    };
    let scenario = GooseScenario::new(engine.options.scenario.name()).register_transaction(Transaction::new(step));
    goose::reset_killswitch();
    // goose builds an HTTP client for its users even though they send through the sender: one shared client
    // instead of one per user (each would read the system's TLS roots: 19 000 000 instructions a user).
    let attack = GooseAttack::initialize_with_config(config)
        .and_then(|attack| attack.set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies()))
        .map_err(|e| anyhow::anyhow!("goose: {e}"))?;
    let outcome = attack.register_scenario(scenario).execute().await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    let stop_reason = match (&outcome, engine.spent.load(Ordering::SeqCst)) {
        (Err(e), _) => return Err(anyhow::anyhow!("goose: {e}")),
        (Ok(_), true) => StopReason::ScheduleComplete,
        (Ok(_), false) if engine.probe.finding().is_some() => StopReason::First1006,
        (Ok(_), false) => StopReason::TimeLimit { seconds: engine.options.max_run.as_secs() },
    };
    if let Some(burst) = &engine.burst {
        let now = engine.target.timeline.now_ms();
        engine.recorder.set_gauges(engine.second_of(now), burst.gauges(now));
    }
    Ok(engine.result(wall.elapsed().as_secs_f64(), process_cpu_seconds() - cpu_before, stop_reason))
}

/// Sets the burst's backlog gauges once a second, so that quiet periods (a 1006 block) show on the plot too.
async fn gauge_ticker(engine: Arc<Engine>) {
    let Some(burst) = &engine.burst else { return };
    loop {
        let now = engine.target.timeline.now_ms();
        engine.recorder.set_gauges(engine.second_of(now), burst.gauges(now));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

impl Engine {
    fn new(options: LoadOptions, target: LoadTarget, recorder: Arc<Recorder>, sender: Sender) -> Engine {
        let shape = match options.scenario {
            ScenarioKind::QuotaProbe => Shape::Ramp { start: options.rate.max(1.0), step: options.probe_step },
            _ if options.rate > 0.0 => Shape::Constant(options.rate),
            _ => Shape::Unpaced,
        };
        let start = OnceLock::new();
        let burst = (options.scenario == ScenarioKind::LogoutBurst).then(|| {
            let (_, start_ms) = *start.get_or_init(|| first_second(&target));
            Burst::new(options.burst_plan(target.games.len() as u32, start_ms))
        });
        Engine {
            schedule: Schedule::new(shape, options.duration),
            realname: Realname::new(options.query_after),
            probe: Probe::new(options.probe_interface),
            report: OnceLock::new(),
            burst,
            signer: Signer::new(),
            recorder,
            start,
            in_flight: AtomicU64::new(0),
            spent: AtomicBool::new(false),
            sender,
            options,
            target,
        }
    }

    fn goose_users(&self) -> usize {
        match self.options.scenario {
            ScenarioKind::LogoutBurst => self.options.users.max(1) * self.target.games.len(),
            _ => self.options.users.max(1),
        }
    }

    fn start(&self) -> (Instant, u64) {
        *self.start.get_or_init(|| first_second(&self.target))
    }

    fn report(&self) -> &Report {
        self.report.get_or_init(|| {
            Report::new(self.options.players, self.options.session, self.options.duration, self.start().1)
        })
    }

    fn second_of(&self, t_ms: u64) -> u64 {
        t_ms.saturating_sub(self.start().1) / 1000
    }

    async fn step(&self, user: &mut GooseUser) -> TransactionResult {
        if self.burst.is_some() {
            self.burst_step(user).await;
        } else {
            self.arrival_step(user).await;
        }
        Ok(())
    }

    /// Called when a sender finds nothing left to do: the last one out stops goose.
    async fn maybe_finish(&self) {
        self.spent.store(true, Ordering::SeqCst);
        if self.in_flight.load(Ordering::SeqCst) == 0 {
            goose::trigger_killswitch("schedule complete");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    async fn arrival_step(&self, user: &mut GooseUser) {
        if self.probe.finding().is_some() {
            goose::trigger_killswitch("first 1006");
            return tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Wait for the schedule's start before claiming anything.
        let (start, _) = self.start();
        if Instant::now() < start {
            tokio::time::sleep_until(start.into()).await;
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let Some((n, offset)) = self.schedule.claim(start.elapsed()) else {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return self.maybe_finish().await;
        };
        // A slot already due when a sender claims it waited for a busy sender: that is coordinated omission, counted
        // and added to the corrected latency. A sender that sleeps until its slot is on time, whatever the timer's
        // 1–2 ms wake-up slack.
        let late = match offset {
            Some(offset) => {
                let due = start + offset;
                let behind = Instant::now().saturating_duration_since(due);
                if behind.is_zero() {
                    tokio::time::sleep_until(due.into()).await;
                } else {
                    self.recorder.late_start(behind.as_micros() as u64);
                }
                behind
            }
            None => Duration::ZERO,
        };
        let now_ms = self.target.timeline.now_ms();
        let credentials = &self.target.games[(n as usize) % self.target.games.len()];
        let action = match self.options.scenario {
            ScenarioKind::Realname => self.realname.next(n, now_ms, &self.signer, credentials),
            ScenarioKind::Report => self.report().next(now_ms, &self.signer, credentials, self.options.batch),
            // 37 is coprime with 100: every 100 consecutive arrivals hold exactly the mix, evenly spread.
            ScenarioKind::Mixed if (n * 37 + 11) % 100 < u64::from(self.options.mix_realname_percent) => {
                self.realname.next(n, now_ms, &self.signer, credentials)
            }
            ScenarioKind::Mixed => self.report().next(now_ms, &self.signer, credentials, self.options.batch),
            ScenarioKind::QuotaProbe => self.probe.next(n, now_ms, &self.signer, credentials),
            ScenarioKind::LogoutBurst => None,
        };
        if let Some(mut action) = action {
            let (answer, service_us) = self.send(user, &mut action.request).await;
            let corrected_us = service_us + late.as_micros() as u64;
            let records_3005 = match (self.options.scenario, action.request.interface) {
                (ScenarioKind::QuotaProbe, _) => {
                    self.probe.settle(&answer, now_ms);
                    0
                }
                (_, Interface::Check | Interface::Query) => {
                    self.realname.settle(&action, &answer, now_ms);
                    0
                }
                (_, Interface::Loginout) => self.report().settle(&action, &answer),
            };
            self.recorder.record(Sample {
                interface: action.request.interface.name(),
                outcome: answer.outcome,
                service_us,
                corrected_us,
                second: self.second_of(now_ms),
                records: action.records,
                records_3005,
            });
        } else {
            self.report().idle();
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.probe.finding().is_some() {
            goose::trigger_killswitch("first 1006");
        }
    }

    /// Sends `request`; with `--goose-report`, goose's report counts it too (by interface, as goose would have).
    async fn send(&self, user: &mut GooseUser, request: &mut SignedRequest) -> (Answer, u64) {
        let sent = self.sender.send(request).await;
        if let Err(failure) = &sent.http {
            self.recorder.transport_failure(failure);
        }
        if self.options.goose_report.is_some() {
            let (status, error) = match &sent.http {
                Ok(status) => (Some(*status), None),
                Err(failure) => (None, Some(failure.to_string())),
            };
            let success = status.is_some_and(|status| (200..300).contains(&status));
            let elapsed = Duration::from_micros(sent.service_us);
            // Only fails on an empty method or name, which these are not.
            let _ = user
                .record_custom_request_duration(
                    request.method,
                    request.interface.name(),
                    elapsed,
                    success,
                    status,
                    error.as_deref(),
                )
                .await;
        }
        (sent.answer, sent.service_us)
    }

    async fn burst_step(&self, user: &mut GooseUser) {
        let Some(burst) = &self.burst else { return };
        let game = (user.weighted_users_index % self.target.games.len()) as u32;
        let timeline = self.target.timeline;
        match burst.claim_slot(game, timeline.now_ms()) {
            Slot::Done => {
                if burst.finished() {
                    self.spent.store(true, Ordering::SeqCst);
                    goose::trigger_killswitch("burst drained");
                }
                return tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Slot::At(t) => tokio::time::sleep(timeline.until(t)).await,
        }
        let now_ms = timeline.now_ms();
        let Some(batch) = burst.take(game, now_ms) else { return };
        let credentials = &self.target.games[game as usize];
        let body = nppa_protocol::messages::LoginoutRequest::new(burst.records(&batch));
        let mut request = self.signer.loginout(credentials, &body, now_ms);
        let (answer, service_us) = self.send(user, &mut request).await;
        let lost = burst.settle(&batch, &answer, timeline.now_ms());
        self.recorder.record(Sample {
            interface: Interface::Loginout.name(),
            outcome: answer.outcome,
            service_us,
            corrected_us: service_us,
            second: self.second_of(now_ms),
            records: batch.players.len() as u32,
            records_3005: lost,
        });
    }

    fn result(&self, wall_seconds: f64, cpu_seconds: f64, stop_reason: StopReason) -> RunResult {
        let kind = self.options.scenario;
        let uses_realname = matches!(kind, ScenarioKind::Realname | ScenarioKind::Mixed);
        let uses_report = matches!(kind, ScenarioKind::Report | ScenarioKind::Mixed);
        RunResult {
            measured: self.recorder.summary(),
            wall_seconds,
            cpu_seconds,
            stop_reason,
            burst: self.burst.as_ref().map(|b| BurstResult {
                plan: b.plan().clone(),
                totals: b.totals(),
                ages: b.ages(),
                simulated: false,
            }),
            probe: (kind == ScenarioKind::QuotaProbe).then(|| self.probe.result(&self.schedule)),
            realname: uses_realname.then(|| self.realname.stats()),
            report: uses_report.then(|| self.report().stats()),
        }
    }
}

/// Whether an answer is one the scenario does not expect (anything but OK, a 3001 of a burst, or the probe's
/// 1006).
pub fn unexpected(outcome: Outcome, scenario: ScenarioKind) -> bool {
    !matches!(
        (outcome, scenario),
        (Outcome::Code(0), _)
            | (Outcome::Code(1006), ScenarioKind::QuotaProbe)
            | (Outcome::Code(3001), ScenarioKind::LogoutBurst)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_are_written_and_read_as_their_sentences() {
        let reasons = [
            (StopReason::ScheduleComplete, "schedule complete"),
            (StopReason::First1006, "first 1006"),
            (StopReason::TimeLimit { seconds: 3600 }, "time limit (3600 s)"),
            (StopReason::BurstDrained, "burst drained"),
            (StopReason::SimulatedTimeLimit { hours: 24 }, "simulated time limit (24 h)"),
        ];
        for (reason, sentence) in reasons {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{sentence}\""));
            assert_eq!(serde_json::from_str::<StopReason>(&json).unwrap(), reason);
        }
        let err = serde_json::from_str::<StopReason>("\"tired\"").unwrap_err();
        assert!(err.to_string().contains("`tired` is not a stop reason"), "{err}");
    }
}
