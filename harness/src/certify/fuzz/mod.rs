//! `nppa certify --profile fuzz`: the client runs against a mock that varies its answers as the real system or a
//! network could ([`plan`]); its traffic is judged with the fault and error rules and its outcome assertions. When
//! it fails, the run is repeated with fewer variations ([`shrink`]) until the smallest set that still fails is
//! found, and reported with its exact bytes and the command that replays it alone.

pub mod plan;
pub mod shrink;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use nppa_mockserver::faults::FaultRequest;
use nppa_mockserver::journal::{JournalEntry, JournalQuery};
use nppa_mockserver::{Config, MockServer};
use serde::Serialize;

pub use plan::{parse_picks, Answer, Kind, Pick, Plan, Variation};
use shrink::Trial;

use super::client_output::ClientOutput;
use super::model::CertifyReport;
use super::outcomes::{self, Outcomes};
use super::rules::Profile;
use super::traffic::Thresholds;

/// What `--profile fuzz` is told on the command line.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub seed: u64,
    pub cases: u32,
    pub skip: Vec<Kind>,
    /// Only these variations, and no shrinking (`--replay`).
    pub replay: Option<Vec<Pick>>,
    pub max_runs: u32,
    /// Each run's time limit.
    pub timeout: Duration,
    /// The flags a replay command must repeat to draw the same plan and run as this one (`--cases 16 --skip busy`).
    pub replay_flags: Vec<String>,
}

/// What report.json says of a fuzz run.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    pub seed: u64,
    /// The plan's variations, as drawn.
    pub planned: usize,
    /// The variations the client met in the first run (`--replay` ids).
    pub applied: Vec<String>,
    /// The smallest set of variations found that still fails, when the run failed and was shrunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimal: Option<Minimal>,
}

/// A failure shrunk to the variations it needs.
#[derive(Debug, Clone, Serialize)]
pub struct Minimal {
    /// The rule the first run failed that every shrinking run checked.
    pub rule: String,
    pub answers: Vec<MinimalAnswer>,
    /// Runs of the client while shrinking.
    pub runs: u32,
    /// False when `--max-runs` stopped shrinking: a smaller set may exist.
    pub finished: bool,
    /// The command that runs the client with these variations alone.
    pub replay: String,
    /// The client fails even with no variation: its failure is not the variations' doing.
    pub fails_without_variations: bool,
}

/// One answer of a minimal failing set, as the client got it.
#[derive(Debug, Clone, Serialize)]
pub struct MinimalAnswer {
    pub pick: String,
    pub interface: nppa_protocol::Interface,
    pub description: String,
    /// What went over the wire, from the journal of the smallest failing run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// One run of the client against a fresh mock with some variations.
struct Run {
    report: CertifyReport,
    entries: Vec<JournalEntry>,
    /// The picks whose rule answered some request, in plan order.
    applied: Vec<Pick>,
    /// Journal id of the first request each pick answered.
    answered: HashMap<Pick, u64>,
    /// The client's exit code (`None`: stopped at the time limit).
    exit: Option<i32>,
    output: ClientOutput,
}

/// What every run shares.
struct Runner<'a> {
    config: &'a Config,
    command: &'a [String],
    plan: &'a Plan,
    timeout: Duration,
    thresholds: Thresholds,
    /// The first run's outcomes (the report's, beside its journal), and every shrinking run's.
    outcomes_path: PathBuf,
    shrinking_outcomes_path: PathBuf,
    replay_flags: &'a [String],
}

impl Runner<'_> {
    /// Runs the client once against a new mock that gives the variations `picks`, and judges it.
    async fn run(&self, picks: &[Pick], quiet: bool) -> anyhow::Result<Run> {
        // The report's outcomes stay those of the run it reports (quiet runs are shrinking's).
        let outcomes_path = if quiet { &self.shrinking_outcomes_path } else { &self.outcomes_path };
        let mut config = self.config.clone();
        if let Some(note) = super::avoid_the_outage(&mut config, nppa_mockserver::clock::wall_ms()) {
            if !quiet {
                eprintln!("{note}");
            }
        }
        let server = MockServer::new(config.clone()).context("refusing to start the mock")?;
        let server = server.bind("127.0.0.1:0".parse()?).await.context("starting the mock")?;
        let rules = self.plan.rules(picks);
        let request = FaultRequest::Many {
            seed: Some(self.plan.seed),
            rules: rules.iter().map(|(_, rule)| rule.clone()).collect(),
        };
        let added = server.service().faults().add(request).context("the fuzz plan's fault rules")?;
        let pick_of: HashMap<u64, Pick> =
            added.iter().zip(&rules).map(|(rule, (pick, _))| (rule.id, pick.clone())).collect();
        // Each run's outcomes on their own: made empty and private before the client appends to it.
        nppa_mockserver::private_file::create(outcomes_path)
            .with_context(|| format!("creating {}", outcomes_path.display()))?;
        let mut env = super::client_environment(&config, &server.base_url());
        env.push((outcomes::ENV.to_owned(), outcomes_path.display().to_string()));
        let mut output = ClientOutput { quiet, ..ClientOutput::default() };
        let exit = super::run_client(self.command, &env, self.timeout, &mut output).await?;
        super::wait_for_held_answers(server.service()).await;
        let service = std::sync::Arc::clone(server.service());
        server.shutdown().await;
        let entries = service.journal().query(&JournalQuery { limit: Some(usize::MAX), ..JournalQuery::default() });
        let mut report = super::judge_runs(
            std::slice::from_ref(&entries),
            &config,
            Profile::Fuzz,
            self.command.to_vec(),
            vec![exit],
            self.thresholds,
        );
        if let Some(outcomes) = Outcomes::read(outcomes_path)? {
            super::add_outcomes(&mut report, &entries, &outcomes);
        }
        let mut answered: HashMap<Pick, u64> = HashMap::new();
        for entry in &entries {
            if let Some(pick) = entry.fault.and_then(|note| pick_of.get(&note.rule)) {
                answered.entry(pick.clone()).or_insert(entry.id);
            }
        }
        let applied = picks.iter().filter(|p| answered.contains_key(*p)).cloned().collect();
        Ok(Run { report, entries, applied, answered, exit, output })
    }
}

/// Runs `--profile fuzz`; returns the report of the first run (with what shrinking found), its journal and the
/// client's output.
pub async fn run(
    config: &Config,
    command: &[String],
    options: &FuzzOptions,
    thresholds: Thresholds,
    out: &Path,
) -> anyhow::Result<(CertifyReport, Vec<JournalEntry>, ClientOutput)> {
    let plan = Plan::generate(options.seed, options.cases, &options.skip);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let outcomes_path = std::path::absolute(out.join("outcomes.jsonl")).context("the outcomes file's path")?;
    let shrinking_dir = out.join("shrinking");
    std::fs::create_dir_all(&shrinking_dir).with_context(|| format!("creating {}", shrinking_dir.display()))?;
    let shrinking_outcomes_path = std::path::absolute(shrinking_dir.join("outcomes.jsonl"))?;
    let runner = Runner {
        config,
        command,
        plan: &plan,
        timeout: options.timeout,
        thresholds,
        outcomes_path,
        shrinking_outcomes_path,
        replay_flags: &options.replay_flags,
    };
    if plan.variations.is_empty() {
        anyhow::bail!(
            "nothing to vary: --cases {} with --skip {:?} draws no variation; give --cases 1 or more and leave a kind unskipped",
            options.cases,
            options.skip
        );
    }
    if let Some(unknown) = options.replay.iter().flatten().find(|p| plan.get(p.id).is_none()) {
        anyhow::bail!(
            "--replay {unknown}: the plan of seed {} has variations 1 to {} (with the same --cases and --skip as the run that printed it)",
            plan.seed,
            plan.variations.len()
        );
    }
    let picks = options.replay.clone().unwrap_or_else(|| plan.all());
    let replaying = options.replay.is_some();
    eprintln!(
        "nppa certify: fuzz seed {}: {} of {} variations{}",
        plan.seed,
        picks.len(),
        plan.variations.len(),
        if replaying { " (replay)" } else { "" }
    );
    let first = runner.run(&picks, false).await?;
    let mut report = first.report.clone();
    let applied: Vec<String> = first.applied.iter().map(ToString::to_string).collect();
    let met = if applied.is_empty() { "none".to_owned() } else { applied.join(", ") };
    let verdict = if report.all_passed() {
        format!("survived {} variations (seed {})", first.applied.len(), plan.seed)
    } else {
        format!("fuzz seed {}: the client met {} of the {} variations", plan.seed, first.applied.len(), picks.len())
    };
    report.notes.insert(
        0,
        format!(
            "{verdict}{}: {met}; `--seed {} --replay IDS` runs any of them alone",
            if replaying { " (replayed)" } else { "" },
            plan.seed
        ),
    );
    let mut fuzz = FuzzReport { seed: plan.seed, planned: plan.variations.len(), applied, minimal: None };
    let failed: Vec<&'static str> = report.failed_causes_first().iter().map(|r| r.id).collect();
    match failed.first() {
        None => eprintln!(
            "nppa certify: survived {} variations (seed {}): {}",
            first.applied.len(),
            plan.seed,
            describe_applied(&plan, &first.applied)
        ),
        Some(&rule) => {
            let minimal = if replaying {
                let search = Search { runs: 0, finished: true, fails_without_variations: false };
                minimal_of(&plan, &first, rule, &first.applied, search, command, &options.replay_flags)
            } else {
                shrink_failure(&runner, &first, rule, options.max_runs, command).await?
            };
            let text = minimal_text(&minimal);
            eprintln!("nppa certify: {text}");
            report.notes.insert(1, text);
            fuzz.minimal = Some(minimal);
        }
    }
    report.fuzz = Some(fuzz);
    Ok((report, first.entries, first.output))
}

/// Shrinks the first run's failure of `rule` over the variations the client met.
async fn shrink_failure(
    runner: &Runner<'_>,
    first: &Run,
    rule: &'static str,
    max_runs: u32,
    command: &[String],
) -> anyhow::Result<Minimal> {
    let started = Instant::now();
    let mut runs = 0u32;
    // A failure with no variation at all is not theirs to explain.
    eprintln!("nppa certify: {rule} failed; running once without variations to see whether they caused it");
    let bare = runner.run(&[], true).await?;
    runs += 1;
    if fails(&bare, rule) {
        let search = Search { runs, finished: true, fails_without_variations: true };
        return Ok(minimal_of(runner.plan, &bare, rule, &[], search, command, runner.replay_flags));
    }
    let mut failing: HashMap<Vec<Pick>, Run> = HashMap::new();
    let mut error = None;
    let shrunk = shrink::shrink(runner.plan, first.applied.clone(), async |picks: &[Pick]| {
        if runs >= max_runs || error.is_some() {
            return Trial::OutOfBudget;
        }
        runs += 1;
        eprintln!(
            "nppa certify: shrinking, run {runs}/{max_runs}: {} variation(s): {}",
            picks.len(),
            picks.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        );
        match runner.run(picks, true).await {
            Ok(run) if fails(&run, rule) => {
                failing.insert(picks.to_vec(), run);
                Trial::Fails
            }
            Ok(_) => Trial::Passes,
            Err(e) => {
                error = Some(e);
                Trial::OutOfBudget
            }
        }
    })
    .await;
    if let Some(error) = error {
        return Err(error.context("a shrinking run"));
    }
    eprintln!("nppa certify: shrinking took {runs} runs, {:.1} s", started.elapsed().as_secs_f64());
    let smallest = failing.get(&shrunk.picks).unwrap_or(first);
    let search = Search { runs, finished: shrunk.finished, fails_without_variations: false };
    Ok(minimal_of(runner.plan, smallest, rule, &shrunk.picks, search, command, runner.replay_flags))
}

/// Does this run fail as the first did? A client that does not exit 0 fails survival even where no variation
/// reached it (FLT-SURVIVES then judges nothing): that is how a run without variations shows a crash of its own.
fn fails(run: &Run, rule: &str) -> bool {
    run.report.failed().any(|r| r.id == rule) || (rule == SURVIVES && run.exit != Some(0))
}

/// The rule of surviving what was injected.
const SURVIVES: &str = "FLT-SURVIVES";

/// How the search for a minimal set went.
#[derive(Debug, Clone, Copy)]
struct Search {
    runs: u32,
    finished: bool,
    fails_without_variations: bool,
}

/// The minimal failing set `picks`, as the client got it in `run`.
fn minimal_of(
    plan: &Plan,
    run: &Run,
    rule: &str,
    picks: &[Pick],
    search: Search,
    command: &[String],
    replay_flags: &[String],
) -> Minimal {
    let answers = picks
        .iter()
        .filter_map(|pick| {
            let variation = plan.get(pick.id)?;
            let answer = pick.answer.as_ref().unwrap_or(&variation.answer);
            let entry = run.answered.get(pick).and_then(|id| run.entries.iter().find(|e| e.id == *id));
            Some(MinimalAnswer {
                pick: pick.to_string(),
                interface: variation.interface,
                description: answer.describe(),
                http_status: entry.filter(|e| !e.connection_reset).map(|e| e.http_status),
                body: entry.filter(|e| !e.connection_reset).map(|e| e.answer.clone()),
            })
        })
        .collect();
    let ids: Vec<String> = picks.iter().map(ToString::to_string).collect();
    let replay = format!(
        "nppa certify --profile fuzz --seed {} {}--replay {} -- {}",
        plan.seed,
        replay_flags.iter().map(|f| format!("{} ", shell_words(std::slice::from_ref(f)))).collect::<String>(),
        if ids.is_empty() { "none".to_owned() } else { ids.join(",") },
        shell_words(command)
    );
    Minimal {
        rule: rule.to_owned(),
        answers,
        runs: search.runs,
        finished: search.finished,
        replay,
        fails_without_variations: search.fails_without_variations,
    }
}

/// "your client fails when the check answer is …", in one paragraph.
fn minimal_text(minimal: &Minimal) -> String {
    if minimal.fails_without_variations {
        return format!(
            "{} fails even without any variation: the variations are not the cause; see the rule's findings (and `nppa certify --profile all`)",
            minimal.rule
        );
    }
    let answers: Vec<String> = minimal
        .answers
        .iter()
        .map(|a| {
            let bytes = match (&a.http_status, &a.body) {
                (Some(status), Some(body)) => format!(" — HTTP {status}, body {body:?}"),
                _ => String::new(),
            };
            format!("the {} answer is {} (variation {}){bytes}", a.interface, a.description, a.pick)
        })
        .collect();
    format!(
        "your client fails {} when {}; {}{}. Reproduce it alone: {}",
        minimal.rule,
        answers.join(", and "),
        match minimal.runs {
            0 => "as replayed".to_owned(),
            runs => format!("{runs} runs to find it"),
        },
        if minimal.finished { "" } else { " (stopped by --max-runs: a smaller set may exist)" },
        minimal.replay
    )
}

fn describe_applied(plan: &Plan, picks: &[Pick]) -> String {
    let words: Vec<String> = picks
        .iter()
        .filter_map(|pick| {
            let variation = plan.get(pick.id)?;
            let answer = pick.answer.as_ref().unwrap_or(&variation.answer);
            Some(format!("{} {} → {}", pick, variation.interface, answer.describe()))
        })
        .collect();
    if words.is_empty() {
        "none met (the client sent no request they matched)".to_owned()
    } else {
        words.join("; ")
    }
}

/// The command as a shell reads it back: words with spaces or quotes quoted.
fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|word| {
            if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
