//! `nppa certify`: run a vendor's client against the mock, judge its traffic, write reports CI understands.
//!
//! - [`rules`]: the rules and the judge; [`traffic`]: the journal as the judge reads it
//! - [`model`]: the result model; [`report`]: JUnit XML, Markdown, JSON, HTML from it

pub mod choices;
pub mod client_output;
pub mod console;
pub mod fuzz;
pub mod model;
pub mod outcomes;
pub mod reference;
pub mod report;
pub mod rules;
pub mod traffic;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use nppa_mockserver::faults::{DataShape, FaultAction, FaultRequest, FaultRule};
use nppa_mockserver::journal::{JournalEntry, JournalQuery};
use nppa_mockserver::{Config, MockServer};
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;
use nppa_protocol::{Interface, StatusCode};

use client_output::ClientOutput;
use model::CertifyReport;
use outcomes::Outcomes;
use rules::Profile;
use traffic::{Deployment, Thresholds};

use crate::admin_client::AdminClient;

/// `nppa certify` options.
#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// Which rules to judge [default: all; with --journal, the profile of the run that wrote it, read from the
    /// report.json beside it]
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Run the client this many times (some bugs show only sometimes).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Time limit for each run of the client (e.g. 300s, 10m); it is killed past it.
    #[arg(long, default_value = "300s")]
    pub timeout: String,
    /// Where to write the reports (default: reports/certify-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Mock configuration (default: the embedded one, whose credentials the client gets in its environment).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Use a mock already running at this URL instead of starting one (its admin API must answer).
    #[arg(long)]
    pub mock_url: Option<String>,
    /// ERR-BUSY forgives other requests sent this soon after a 1006 (already in flight; never the refused call
    /// sent again) [default: 1s; with --journal, as recorded]
    #[arg(long)]
    pub busy_tolerance: Option<String>,
    /// RN-QUERY flags queries of one ai closer together than this [default: 1s; with --journal, as recorded]
    #[arg(long)]
    pub query_spacing: Option<String>,
    /// With --profile fuzz: the seed the variations are drawn from [default: a random one, printed and written to
    /// every report].
    #[arg(long)]
    pub seed: Option<u64>,
    /// With --profile fuzz: how many variations to draw (the client meets those its requests reach).
    #[arg(long, default_value_t = 16)]
    pub cases: u32,
    /// With --profile fuzz: kinds of variation to leave out, e.g. `--skip busy` (each 1006 costs a careful client
    /// 60 s of waiting).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub skip: Vec<fuzz::Kind>,
    /// With --profile fuzz: apply only these variations of the seed's plan, as a failing run prints them (`7`,
    /// `7:chunked`, `3,9`), and do not shrink.
    #[arg(long)]
    pub replay: Option<String>,
    /// With --profile fuzz: at most this many runs of the client to shrink a failure.
    #[arg(long, default_value_t = 40)]
    pub max_runs: u32,
    /// Print the mock's web console URL before the client starts (the client gets it as NPPA_CONSOLE_URL) and,
    /// after the verdict, keep the in-process mock up until Enter or Ctrl-C (not without a terminal on stdin).
    #[arg(long, conflicts_with = "journal")]
    pub console: bool,
    /// Judge a recorded journal (JSONL, e.g. `journal.jsonl` of an earlier certify run) instead of running a client.
    #[arg(long, conflicts_with_all = ["mock_url", "command"])]
    pub journal: Option<PathBuf>,
    /// With --journal: the outcomes the client wrote (`outcomes.jsonl` of an earlier run; see $NPPA_CERTIFY_OUTCOMES).
    #[arg(long, requires = "journal")]
    pub outcomes: Option<PathBuf>,
    /// The client command, after `--`; it finds the mock through NPPA_BASE_URL, NPPA_APP_ID, NPPA_BIZ_ID,
    /// NPPA_SECRET_KEY, NPPA_TEST_APP_ID, NPPA_TEST_BIZ_ID, NPPA_TEST_SECRET_KEY and NPPA_TEST_CODES.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// The environment a client is given.
pub fn client_environment(config: &Config, base_url: &str) -> Vec<(String, String)> {
    let mut env = vec![("NPPA_BASE_URL".to_owned(), base_url.to_owned())];
    if config.server.proxy {
        // Proxy mode: a client with hard-coded NPPA hosts reaches the mock through its proxy settings.
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
            env.push((name.to_owned(), base_url.to_owned()));
        }
    }
    if let Some(enterprise) = config.enterprises.first() {
        env.push(("NPPA_APP_ID".into(), enterprise.app_id.clone()));
        env.push(("NPPA_SECRET_KEY".into(), enterprise.secret_key.clone()));
        if let Some(game) = config.games.iter().find(|g| g.owner == enterprise.app_id) {
            env.push(("NPPA_BIZ_ID".into(), game.biz_id.clone()));
        }
        if let Some(test) = &enterprise.test {
            env.push(("NPPA_TEST_APP_ID".into(), test.app_id.clone()));
            env.push(("NPPA_TEST_BIZ_ID".into(), test.biz_id.clone()));
            env.push(("NPPA_TEST_SECRET_KEY".into(), test.secret_key.clone()));
            env.push(("NPPA_TEST_CODES".into(), test.codes.join(",")));
        }
    }
    env
}

/// Reads a JSONL journal.
pub fn read_journal(path: &Path) -> anyhow::Result<Vec<JournalEntry>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{} line {}: not a journal entry", path.display(), i + 1))
        })
        .collect()
}

/// The faults `--profile faults` injects while the client runs, each once: one of each kind a client meets in the
/// wild, and the ones that find the known bugs of public clients — a 5xx whose body says errcode 0 (clients that
/// ignore the HTTP status), codes no retry changes (1005 on a valid request; a 1011 a client may re-sign once),
/// every loginout `data` shape.
/// The test system gets the ones that need no waiting, so that a client that calls only test paths meets faults
/// too; the official cases are not judged under this profile.
pub fn fault_plan() -> FaultRequest {
    let fault =
        |test_system: bool, interface: Interface, action: Option<FaultAction>, delay_ms: Option<u64>| FaultRule {
            test_system: Some(test_system),
            interface: Some(interface),
            count: Some(1),
            action,
            delay_ms,
            ..FaultRule::default()
        };
    let status = |errcode| Some(FaultAction::Status { errcode });
    let ok_body = |status| {
        let body = r#"{"errcode":0,"errmsg":"OK","data":""}"#.to_owned();
        Some(FaultAction::HttpStatus { status, body: Some(body) })
    };
    let data = |shape| Some(FaultAction::LoginoutData { shape });
    let (production, test) = (false, true);
    let rules = vec![
        fault(production, Interface::Check, Some(FaultAction::HttpStatus { status: 502, body: None }), None),
        fault(production, Interface::Check, Some(FaultAction::Truncate), None),
        fault(production, Interface::Check, status(StatusCode::IpError), None),
        fault(production, Interface::Query, Some(FaultAction::Reset), None),
        // Past the client timeout (SPEC §1): the client should give up and go on.
        fault(production, Interface::Query, None, Some(CLIENT_TIMEOUT_MS + 500)),
        fault(production, Interface::Loginout, status(StatusCode::Busy), None),
        fault(production, Interface::Loginout, ok_body(503), None),
        fault(production, Interface::Loginout, data(DataShape::Null), None),
        fault(production, Interface::Loginout, data(DataShape::Absent), None),
        fault(test, Interface::Check, ok_body(500), None),
        fault(test, Interface::Query, status(StatusCode::PartnerAuthError), None),
        fault(test, Interface::Loginout, data(DataShape::EmptyResults), None),
    ];
    FaultRequest::Many { seed: Some(1), rules }
}

/// Judges entries and builds the report, with the default tolerances.
pub fn judge(
    entries: &[JournalEntry],
    config: &Config,
    profile: Profile,
    command: Vec<String>,
    runs: Vec<Option<i32>>,
) -> CertifyReport {
    judge_with(entries, config, profile, command, runs, Thresholds::default())
}

/// Judges entries and builds the report.
pub fn judge_with(
    entries: &[JournalEntry],
    config: &Config,
    profile: Profile,
    command: Vec<String>,
    runs: Vec<Option<i32>>,
    thresholds: Thresholds,
) -> CertifyReport {
    let mut deployment = Deployment::from_config(config);
    deployment.thresholds = thresholds;
    deployment.client_exits = runs.clone();
    let requests = traffic::read(entries, &deployment);
    let (rules, judging) = rules::judge(&requests, &deployment, profile);
    let mut notes = Vec::new();
    if matches!(profile, Profile::Faults | Profile::Fuzz) && entries.iter().all(|e| e.fault.is_none()) {
        notes.push(
            "no fault was injected: the client sent no request a fault rule matched, so the fault rules judged \
             nothing (they are not exercised, not passed)"
                .to_owned(),
        );
    }
    // Upstream mode: the answers were the upstream's (issue #17).
    let answered_by = model::AnsweredBy::of(entries);
    notes.extend(answered_by.note());
    let profile = profile.name().to_owned();
    CertifyReport {
        profile,
        command,
        runs,
        runs_after_id: vec![],
        thresholds: Some(thresholds),
        requests: entries.len(),
        rules,
        answered_by: answered_by.upstreams,
        notes,
        fuzz: None,
        overhead_s: 0.0,
        started_at: None,
        wall_s: 0.0,
        judging,
        client_output: Default::default(),
    }
}

/// Judges the outcomes the client reported and adds their rules to the report. The two rules are judged together:
/// each shows the time both took.
fn add_outcomes(report: &mut CertifyReport, entries: &[JournalEntry], outcomes: &Outcomes) {
    let started = Instant::now();
    let rules = outcomes::judge(entries, outcomes);
    let took = started.elapsed();
    report.judging.extend(rules.iter().map(|r| (r.id, took)));
    report.rules.extend(rules);
}

/// Judges each run's requests on their own and merges the verdicts: a rule fails when it fails in any run.
pub fn judge_runs(
    segments: &[Vec<JournalEntry>],
    config: &Config,
    profile: Profile,
    command: Vec<String>,
    runs: Vec<Option<i32>>,
    thresholds: Thresholds,
) -> CertifyReport {
    let mut reports = segments.iter().enumerate().map(|(k, entries)| {
        let exit = runs.get(k).copied().map_or_else(Vec::new, |e| vec![e]);
        judge_with(entries, config, profile, command.clone(), exit, thresholds)
    });
    let Some(mut merged) = reports.next() else { return judge_with(&[], config, profile, command, runs, thresholds) };
    let several = segments.len() > 1;
    if several {
        for rule in &mut merged.rules {
            for f in &mut rule.findings {
                f.message = format!("run 1: {}", f.message);
            }
        }
    }
    if several {
        merged.notes = merged.notes.iter().map(|n| format!("run 1: {n}")).collect();
    }
    for (k, report) in reports.enumerate() {
        merged.requests += report.requests;
        for (id, took) in report.judging {
            *merged.judging.entry(id).or_default() += took;
        }
        merged.notes.extend(report.notes.iter().map(|n| format!("run {}: {n}", k + 2)));
        for url in report.answered_by.into_iter().filter(|url| !merged.answered_by.contains(url)).collect::<Vec<_>>() {
            merged.answered_by.push(url);
        }
        for (into, rule) in merged.rules.iter_mut().zip(report.rules) {
            use model::Verdict::{Failed, NotExercised, Passed};
            into.verdict = match (into.verdict, rule.verdict) {
                (Failed, _) | (_, Failed) => Failed,
                (Passed, _) | (_, Passed) => Passed,
                (NotExercised, NotExercised) => NotExercised,
            };
            into.findings.extend(rule.findings.into_iter().map(|mut f| {
                f.message = format!("run {}: {}", k + 2, f.message);
                f
            }));
        }
    }
    // A cause every run shows is one finding, named by its first run.
    for rule in &mut merged.rules {
        rule.findings = model::group_by_cause(std::mem::take(&mut rule.findings));
    }
    merged.runs = runs;
    merged
}

/// Between 00:00 and 04:00 Beijing time every check pends (R-PEND-2), so a certification run would judge a client
/// differently by the hour of the CI job. Unless the configuration sets the clock, the in-process mock's clock then
/// starts at 04:01, and `timestamps` are checked against real time so that clients signing with their own clock
/// still pass R-TS-1. Returns the note to print when it did so.
pub fn avoid_the_outage(config: &mut Config, wall_ms: u64) -> Option<String> {
    use nppa_protocol::beijing;
    if config.clock.start.is_some() || !config.rules.mps_outage || !beijing::in_mps_outage(wall_ms) {
        return None;
    }
    // A minute after the outage ends: 04:01.
    let start_ms = beijing::outage_end_ms(wall_ms) + beijing::HOUR_MS / 60;
    config.clock.start = Some(beijing::rfc3339(start_ms));
    config.rules.timestamps_clock = nppa_mockserver::config::TimestampsClock::Wall;
    Some(format!(
        "note: it is inside the daily 00:00–04:00 Beijing outage (R-PEND-2), when every check pends; the in-process \
         mock's clock starts at {} so that the verdict does not depend on the hour (set clock.start in --config to \
         certify inside the outage)",
        beijing::format(start_ms, "%H:%M Beijing time")
    ))
}

/// Runs certify; the exit code is 0 when every rule passed, 1 with findings, 2 when it could not run (an error;
/// a JUnit file with one error testcase says why, so that CI shows it where it shows verdicts).
pub async fn run(args: CertifyArgs) -> anyhow::Result<i32> {
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports").join(format!("certify-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")))
    });
    let started = Started::now();
    let mut client_output = ClientOutput::default();
    let result = run_into(args, &out, started, &mut client_output).await;
    if let Err(error) = &result {
        let junit = report::could_not_judge(&format!("{error:#}"), started, &client_output);
        let written = std::fs::create_dir_all(&out).and_then(|()| {
            let junit = junit.map_err(std::io::Error::other)?;
            nppa_mockserver::private_file::write(&out.join("junit.xml"), junit)
        });
        if let Err(e) = written {
            eprintln!("nppa certify: could not write {}: {e}", out.join("junit.xml").display());
        }
    }
    result
}

/// When a run started, on the wall clock (for the reports) and the monotonic one (for its length).
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub at: chrono::DateTime<chrono::FixedOffset>,
    pub instant: Instant,
}

impl Started {
    pub fn now() -> Started {
        Started { at: chrono::Local::now().fixed_offset(), instant: Instant::now() }
    }
}

async fn run_into(
    args: CertifyArgs,
    out: &Path,
    started: Started,
    client_output: &mut ClientOutput,
) -> anyhow::Result<i32> {
    let config = crate::mock_cmd::load_config(args.config.as_deref())?;
    // A tolerance given on the command line, else the recorded one (with --journal), else the default.
    let tolerance = |given: &Option<String>, recorded: Option<u64>, default: u64| -> anyhow::Result<u64> {
        match given {
            Some(text) => Ok(crate::admin_cmd::parse_duration_ms(text)?.max(0) as u64),
            None => Ok(recorded.unwrap_or(default)),
        }
    };
    let recorded = args.journal.as_deref().and_then(RecordedRuns::beside);
    let recorded_thresholds = recorded.as_ref().and_then(|r| r.thresholds);
    let defaults = Thresholds::default();
    let thresholds = Thresholds {
        busy_tolerance_ms: tolerance(
            &args.busy_tolerance,
            recorded_thresholds.map(|t| t.busy_tolerance_ms),
            defaults.busy_tolerance_ms,
        )?,
        query_spacing_ms: tolerance(
            &args.query_spacing,
            recorded_thresholds.map(|t| t.query_spacing_ms),
            defaults.query_spacing_ms,
        )?,
    };
    let out = out.to_owned();
    if let Some(path) = &args.journal {
        let entries = read_journal(path)?;
        let command = vec![format!("--journal {}", path.display())];
        // Judged as it was live: the recorded profile, tolerances, and each run on its own (report.json beside the
        // journal).
        let profile = args.profile.or(recorded.as_ref().map(|r| r.profile)).unwrap_or(Profile::All);
        if let Some(recorded) = &recorded {
            eprintln!(
                "nppa certify: judging as recorded in report.json: {} run(s), profile {}{}",
                recorded.runs.len(),
                profile.name(),
                if args.profile.is_some_and(|p| p != recorded.profile) {
                    " (given; the run's was another)"
                } else {
                    ""
                }
            );
        }
        let mut report = match recorded {
            Some(recorded) => {
                let segments = split_runs(&entries, &recorded.runs_after_id);
                let mut report = judge_runs(&segments, &config, profile, command, recorded.runs, thresholds);
                report.runs_after_id = recorded.runs_after_id;
                report
            }
            None => judge_with(&entries, &config, profile, command, vec![], thresholds),
        };
        // The outcomes the client wrote: given, or the run's own outcomes.jsonl beside the journal.
        let beside = path.parent().map(|dir| dir.join("outcomes.jsonl")).filter(|p| p.exists());
        match args.outcomes.clone().or(beside) {
            Some(path) => {
                let outcomes = Outcomes::read(&path).with_context(|| format!("reading {}", path.display()))?;
                eprintln!("nppa certify: outcome assertions from {}", path.display());
                if let Some(outcomes) = outcomes {
                    add_outcomes(&mut report, &entries, &outcomes);
                }
            }
            None => {
                eprintln!("nppa certify: no outcomes.jsonl beside the journal: OUT-ANSWER and OUT-RECORDS not judged")
            }
        }
        report.overhead_s = started.instant.elapsed().as_secs_f64();
        return finish(report, &out, &entries, started);
    }
    if args.command.is_empty() {
        bail!("give the client command after `--`, e.g. nppa certify -- python3 my_client.py (or --journal FILE)");
    }
    let profile = args.profile.unwrap_or(Profile::All);
    let timeout = Duration::from_millis(crate::admin_cmd::parse_duration_ms(&args.timeout)?.max(1) as u64);
    if profile == Profile::Fuzz {
        if args.console {
            bail!("--profile fuzz starts a mock for each run of the client: --console has no one mock to show");
        }
        return run_fuzz(&args, &config, timeout, thresholds, &out, started, client_output).await;
    }
    let remote = args.mock_url.as_deref().map(AdminClient::new);
    let recorded = |admin: &AdminClient| {
        let admin = admin.clone();
        async move {
            let page = admin.journal(&JournalQuery { limit: Some(0), ..JournalQuery::default() }).await;
            page.map(|page| page.stats.recorded).with_context(|| format!("reaching the mock at {}", admin.base_url()))
        }
    };
    let (base_url, server, baseline) = match &remote {
        Some(admin) => (admin.base_url().to_owned(), None, recorded(admin).await?),
        None => {
            let mut config = config.clone();
            if let Some(note) = avoid_the_outage(&mut config, nppa_mockserver::clock::wall_ms()) {
                eprintln!("{note}");
            }
            let server = MockServer::new(config).context("refusing to start the mock")?;
            let server = server.bind("127.0.0.1:0".parse()?).await.context("starting the mock")?;
            (server.base_url(), Some(server), 0)
        }
    };
    let mut env = client_environment(&config, &base_url);
    let console = args.console.then(|| console::Console::new(&base_url, config.server.admin_token.as_deref()));
    if let Some(console) = &console {
        console.announce(&mut env);
    }
    // Outcome assertions: the client may say what its library returned for each call (see `outcomes`).
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let outcomes_path = std::path::absolute(out.join("outcomes.jsonl")).context("the outcomes file's path")?;
    // Made empty and private before the client runs: it will hold ais and pis, and a client appends to it.
    nppa_mockserver::private_file::create(&outcomes_path)
        .with_context(|| format!("creating {}", outcomes_path.display()))?;
    env.push((outcomes::ENV.to_owned(), outcomes_path.display().to_string()));
    let mut runs = Vec::new();
    let mut client_time = Duration::ZERO;
    // Where each run's requests start in the journal: runs are judged one by one (a second run of the same
    // client is a new client, not the first one re-checking its people).
    let mut boundaries = Vec::new();
    for run in 1..=args.repeat {
        if let Some(server) = &server {
            wait_for_held_answers(server.service()).await;
        }
        boundaries.push(match (&server, &remote) {
            (Some(server), _) => server.service().journal().stats().recorded,
            (None, Some(admin)) => recorded(admin).await?,
            (None, None) => 0,
        });
        if profile == Profile::Faults {
            // Each run meets the whole plan: in our own mock the last run's plan, spent or not, makes way (a mock
            // of yours keeps its own rules beside it).
            let plan = fault_plan();
            match (&server, &remote) {
                (Some(server), _) => {
                    server.service().faults().clear();
                    server.service().faults().add(plan).context("the fault plan")?;
                }
                (None, Some(admin)) => {
                    admin.add_faults(&plan).await.context("the mock refused the fault plan")?;
                }
                (None, None) => {}
            }
        }
        eprintln!("nppa certify: run {run}/{} of {:?} against {base_url}", args.repeat, args.command.join(" "));
        if args.repeat > 1 {
            client_output.run_starts(run);
        }
        let run_started = Instant::now();
        let status = run_client(&args.command, &env, timeout, client_output).await?;
        if status.is_none() {
            eprintln!("nppa certify: the client ran past {} and was stopped", args.timeout);
        }
        client_time += run_started.elapsed();
        runs.push(status);
    }
    // Stop the in-process mock first: requests still in flight (a slow faulted answer) finish and are journaled.
    let service = server.as_ref().map(|server| std::sync::Arc::clone(server.service()));
    // With --console the mock stays up for the console until after the verdict: the answers a fault held are waited
    // for instead.
    let server = match server {
        Some(server) if console.is_some() => {
            wait_for_held_answers(server.service()).await;
            Some(server)
        }
        Some(server) => {
            server.shutdown().await;
            None
        }
        None => None,
    };
    let entries = match (&service, &remote) {
        (Some(service), _) => {
            let query = JournalQuery { limit: Some(usize::MAX), ..JournalQuery::default() };
            let stats = service.journal().stats();
            if stats.evicted > 0 {
                eprintln!(
                    "nppa certify: {} requests fell out of the journal's ring; raise journal.capacity",
                    stats.evicted
                );
            }
            service.journal().query(&query)
        }
        (None, Some(admin)) => {
            let query = JournalQuery { after_id: Some(baseline), limit: Some(100_000_000), ..JournalQuery::default() };
            admin.journal(&query).await.context("the mock's journal")?.entries
        }
        (None, None) => Vec::new(),
    };
    if entries.is_empty() {
        bail!("the client sent no request ({}); nothing to judge", exits_text(&runs));
    }
    let segments = split_runs(&entries, &boundaries);
    let mut report = judge_runs(&segments, &config, profile, args.command.clone(), runs, thresholds);
    report.runs_after_id = boundaries;
    match Outcomes::read(&outcomes_path).with_context(|| format!("reading {}", outcomes_path.display()))? {
        Some(outcomes) => {
            eprintln!("nppa certify: {} outcomes reported by the client", outcomes.lines.len());
            add_outcomes(&mut report, &entries, &outcomes);
        }
        None => eprintln!(
            "nppa certify: no outcomes reported (write them to ${} to judge what your library returned)",
            outcomes::ENV
        ),
    }
    report.overhead_s = started.instant.elapsed().saturating_sub(client_time).as_secs_f64();
    report.client_output = client_output.clone();
    let verdict = finish(report, &out, &entries, started);
    if let (Some(server), Some(console)) = (server, console) {
        console.linger().await;
        server.shutdown().await;
    }
    verdict
}

/// `--profile fuzz`: runs, shrinks a failure, and writes the first run's reports.
async fn run_fuzz(
    args: &CertifyArgs,
    config: &Config,
    timeout: Duration,
    thresholds: Thresholds,
    out: &Path,
    started: Started,
    client_output: &mut ClientOutput,
) -> anyhow::Result<i32> {
    if args.mock_url.is_some() {
        bail!(
            "--profile fuzz runs its own mock for each run of the client (it varies the answers): leave out --mock-url"
        );
    }
    if args.repeat > 1 {
        bail!("--profile fuzz runs the client as often as shrinking needs (--max-runs): leave out --repeat");
    }
    let replay = match &args.replay {
        Some(text) => Some(fuzz::parse_picks(text).map_err(|e| anyhow::anyhow!("--replay {e}"))?),
        None => None,
    };
    let options = fuzz::FuzzOptions {
        seed: args.seed.unwrap_or_else(rand::random),
        cases: args.cases,
        skip: args.skip.clone(),
        replay,
        max_runs: args.max_runs,
        timeout,
        replay_flags: replay_flags(args),
    };
    let (mut report, entries, output) = fuzz::run(config, &args.command, &options, thresholds, out).await?;
    *client_output = output;
    report.overhead_s = 0.0;
    report.client_output = client_output.clone();
    finish(report, out, &entries, started)
}

/// The flags a fuzz run's replay command repeats: those that shape its plan (`--cases`, `--skip`) and its runs.
fn replay_flags(args: &CertifyArgs) -> Vec<String> {
    let mut flags = vec!["--cases".to_owned(), args.cases.to_string()];
    if !args.skip.is_empty() {
        let kinds: Vec<&str> = args.skip.iter().map(|k| k.name()).collect();
        flags.extend(["--skip".to_owned(), kinds.join(",")]);
    }
    flags.extend(["--timeout".to_owned(), args.timeout.clone()]);
    if let Some(config) = &args.config {
        flags.extend(["--config".to_owned(), config.display().to_string()]);
    }
    flags
}

/// Runs the client once with `env`, its output piped, shown (unless quiet) and kept for the JUnit file; its exit code,
/// or `None` when it ran past `timeout` and was stopped.
pub async fn run_client(
    command: &[String],
    env: &[(String, String)],
    timeout: Duration,
    output: &mut ClientOutput,
) -> anyhow::Result<Option<i32>> {
    let Some((program, arguments)) = command.split_first() else { bail!("no client command") };
    let mut child = tokio::process::Command::new(program)
        .args(arguments)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {program:?}"))?;
    Ok(match output.wait_for(&mut child, timeout).await {
        Ok(status) => status.code(),
        Err(()) => None,
    })
}

/// Waits (at most 10 s, beyond the longest fault delay) until no answer a fault holds back is still to be journaled:
/// the journal ids after this point are the next run's, not a slow answer of the last one.
pub(crate) async fn wait_for_held_answers(service: &nppa_mockserver::service::MockService) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while service.answers_held() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each run's entries: those with journal ids above its start and up to the next run's.
pub fn split_runs(entries: &[JournalEntry], runs_after_id: &[u64]) -> Vec<Vec<JournalEntry>> {
    if runs_after_id.is_empty() {
        return vec![entries.to_vec()];
    }
    runs_after_id
        .iter()
        .enumerate()
        .map(|(k, start)| {
            let end = runs_after_id.get(k + 1).copied().unwrap_or(u64::MAX);
            entries.iter().filter(|e| e.id > *start && e.id <= end).cloned().collect()
        })
        .collect()
}

/// What a certify run recorded of itself in its report.json, to judge its journal again as it was judged live.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct RecordedRuns {
    pub profile: Profile,
    pub runs: Vec<Option<i32>>,
    #[serde(default)]
    pub runs_after_id: Vec<u64>,
    #[serde(default)]
    pub thresholds: Option<Thresholds>,
}

impl RecordedRuns {
    /// The report.json in the journal's directory, when there is one that says how it was judged.
    pub fn beside(journal: &Path) -> Option<RecordedRuns> {
        let text = std::fs::read_to_string(journal.parent()?.join("report.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// "it exited with code 1", "its runs exited with codes 0, 1 and was stopped at the time limit".
fn exits_text(runs: &[Option<i32>]) -> String {
    let each: Vec<String> = runs
        .iter()
        .map(|r| r.map_or("was stopped at the time limit".to_owned(), |c| format!("exited with code {c}")))
        .collect();
    match each.as_slice() {
        [one] => format!("it {one}"),
        _ => format!("its runs: {}", each.join(", ")),
    }
}

fn finish(mut report: CertifyReport, out: &Path, entries: &[JournalEntry], started: Started) -> anyhow::Result<i32> {
    report.started_at = Some(started.at);
    // Up to the reports' writing: the JUnit file's suite time, the client's runs included.
    report.wall_s = started.instant.elapsed().as_secs_f64();
    let written =
        report::write_all(&report, entries, out).with_context(|| format!("writing reports to {}", out.display()))?;
    let journal_path = out.join("journal.jsonl");
    // Names and ID numbers in clear: private.
    let mut journal = std::io::BufWriter::new(nppa_mockserver::private_file::create(&journal_path)?);
    for entry in entries {
        serde_json::to_writer(&mut journal, entry)?;
        journal.write_all(b"\n")?;
    }
    journal.flush()?;
    let markdown = report::markdown(&report);
    // GitHub Actions shows this file on the run's page.
    if let Ok(summary) = std::env::var("GITHUB_STEP_SUMMARY") {
        if let Ok(mut file) = std::fs::OpenOptions::new().append(true).create(true).open(summary) {
            let _ = file.write_all(markdown.as_bytes());
        }
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{markdown}");
    let _ = writeln!(
        stdout,
        "reports: {} (and {})",
        written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        journal_path.display()
    );
    Ok(if report.all_passed() { 0 } else { 1 })
}
