//! `nppa certify --profile fuzz`, both ways, through the real binary, the real mock and real clients: careful
//! clients (the reference client, the README's Python client) survive every variation over many seeds; mutants of
//! the Python client are each found and shrunk to the one variation that breaks them, and their replay command
//! reproduces the failure alone. 1006 bursts are skipped here (`--skip busy`): each costs a careful client 60 s of
//! real waiting; ERR-BUSY is tested both ways on the mock clock in `certify.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use nppa_harness::certify::fuzz::{self, Answer, FuzzOptions, Kind, Plan, Variation};
use nppa_harness::certify::traffic::Thresholds;
use nppa_mockserver::variation::Change;
use nppa_protocol::{Interface, StatusCode};
use proptest::prelude::*;

const NPPA: &str = env!("CARGO_BIN_EXE_nppa");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn mutant_script() -> String {
    repo().join("harness/tests/clients/fuzz_mutant.py").display().to_string()
}

fn python_client() -> String {
    repo().join("examples/python/certify_client.py").display().to_string()
}

/// Python with `cryptography`, as `.ci/run` installs it: a missing one fails with what to do.
fn require_python() {
    let ok = Command::new("python3").args(["-c", "import cryptography"]).status().is_ok_and(|s| s.success());
    assert!(ok, "these tests run the README's Python client: pip install cryptography (as .ci/run does)");
}

const CASES: u32 = 16;

/// Runs the fuzz profile in-process (the library's entry point) with `command` as the client.
async fn fuzz_run(command: Vec<String>, seed: u64, out: &Path) -> nppa_harness::certify::model::CertifyReport {
    let mut config = nppa_mockserver::Config::embedded_default();
    config.clock.start = Some("2026-01-15T12:00:00+08:00".into());
    config.rules.timestamps_clock = nppa_mockserver::config::TimestampsClock::Wall;
    let options = FuzzOptions {
        seed,
        cases: CASES,
        skip: vec![Kind::Busy],
        replay: None,
        max_runs: 20,
        timeout: std::time::Duration::from_secs(120),
        replay_flags: vec!["--skip".into(), "busy".into()],
    };
    let (report, _, _) = fuzz::run(&config, &command, &options, Thresholds::default(), out).await.unwrap();
    report
}

fn failures(report: &nppa_harness::certify::model::CertifyReport) -> Vec<String> {
    report
        .failed()
        .map(|r| format!("{}: {:?}", r.id, r.findings.iter().map(|f| &f.message).collect::<Vec<_>>()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, failure_persistence: None, ..ProptestConfig::default() })]

    /// The reference client (`nppa client flow`: 3 attempts, re-signed, 200 ms apart, fail open) survives whatever
    /// plan a seed draws, and meets most of it.
    #[test]
    fn the_reference_client_survives_the_fuzz_profile(seed in any::<u64>()) {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let command = vec![NPPA.to_owned(), "client".into(), "flow".into()];
        let report = runtime.block_on(fuzz_run(command, seed, dir.path()));
        prop_assert!(report.all_passed(), "seed {seed}: {:#?}", failures(&report));
        let fuzz = report.fuzz.as_ref().unwrap();
        prop_assert!(fuzz.applied.len() >= 8, "seed {seed}: met only {:?}", fuzz.applied);
        prop_assert!(fuzz.minimal.is_none());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// The reference client, in-process on the mock clock (so that a 1006's minute costs nothing), survives every
    /// kind of variation the grammar has, one at a time, drawn by the library's own strategy; a failure shrinks to
    /// the simplest variation that breaks it.
    #[test]
    fn the_reference_client_survives_each_variation_of_the_grammar(variation in fuzz::plan::strategy::variation()) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let mock = common::start().await;
            let plan = Plan { seed: 0, variations: vec![variation.clone()] };
            let rules = plan.rules(&plan.all()).into_iter().map(|(_, rule)| rule).collect();
            mock.server.service().faults().add(nppa_mockserver::faults::FaultRequest::Many { seed: None, rules }).unwrap();
            nppa_harness::certify::reference::run(&common::flow_env(&mock)).await.unwrap();
            // A late answer is journaled when its delay ends, after the client gave up on it.
            for _ in 0..200 {
                if mock.server.service().answers_held() == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let entries = common::entries(&mock);
            assert!(entries.iter().any(|e| e.fault.is_some()), "{variation:?} met no request");
            let config = mock.server.service().config();
            let report = nppa_harness::certify::judge(&entries, config, nppa_harness::certify::rules::Profile::Fuzz, vec![], vec![Some(0)]);
            assert!(report.all_passed(), "{variation:?}: {:#?}", failures(&report));
        });
    }
}

#[tokio::test]
async fn the_readme_python_client_survives_the_fuzz_profile_run_after_run() {
    require_python();
    for seed in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let report = fuzz_run(vec!["python3".into(), python_client()], seed, dir.path()).await;
        assert!(report.all_passed(), "seed {seed}: {:#?}", failures(&report));
        assert!(report.rules.iter().any(|r| r.id == "OUT-ANSWER"), "the client's outcomes are judged too");
        let met = report.fuzz.as_ref().unwrap().applied.len();
        assert!(report.notes[0].starts_with(&format!("survived {met} variations (seed {seed})")), "{:?}", report.notes);
    }
}

/// The first seed whose plan (16 variations, no 1006) puts `wanted` among the first `within` variations of its
/// interface, where the Python client's flow is sure to reach it, and satisfies `also`.
fn seed_where(within: usize, wanted: impl Fn(&Variation) -> bool, also: impl Fn(&Plan) -> bool) -> (u64, u32) {
    for seed in 0..10_000 {
        let plan = Plan::generate(seed, CASES, &[Kind::Busy]);
        if !also(&plan) {
            continue;
        }
        for interface in [Interface::Check, Interface::Query, Interface::Loginout] {
            let mut mine = plan.variations.iter().filter(|v| v.interface == interface).take(within);
            if let Some(v) = mine.find(|v| wanted(v)) {
                return (seed, v.id);
            }
        }
    }
    panic!("no seed under 10 000 draws it");
}

/// `nppa certify --profile fuzz` as a user runs it; its exit code and report.json.
fn certify(args: &[&str], mutant: &str, out: &Path) -> (i32, serde_json::Value) {
    let output = Command::new(NPPA)
        .args(["certify", "--profile", "fuzz", "--skip", "busy", "--max-runs", "24", "--out"])
        .arg(out)
        .args(args)
        .args(["--", "python3", &mutant_script(), mutant])
        .output()
        .unwrap();
    let report = std::fs::read_to_string(out.join("report.json"))
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap(), serde_json::from_str(&report).unwrap())
}

/// The mutant is found, shrunk to one variation that `breaks` accepts, and its replay command fails alone.
fn found_and_shrunk(mutant: &str, rule: &str, wanted: impl Fn(&Variation) -> bool, breaks: impl Fn(&Answer) -> bool) {
    require_python();
    let (seed, _) = seed_where(2, &wanted, |_| true);
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = certify(&["--seed", &seed.to_string()], mutant, &dir.path().join("run"));
    assert_eq!(code, 1, "{mutant} (seed {seed}) must fail: {report:#}");
    let minimal = &report["fuzz"]["minimal"];
    assert_eq!(minimal["rule"], rule, "{mutant} (seed {seed}): {minimal:#}");
    assert_eq!(minimal["fails_without_variations"], false, "{minimal:#}");
    eprintln!("{mutant}: seed {seed}, shrunk in {} runs to {}", minimal["runs"], minimal["answers"]);
    let answers = minimal["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 1, "{mutant} (seed {seed}) shrinks to one variation: {minimal:#}");
    let pick = fuzz::parse_picks(answers[0]["pick"].as_str().unwrap()).unwrap().remove(0);
    let plan = Plan::generate(seed, CASES, &[Kind::Busy]);
    let answer = pick.answer.clone().unwrap_or_else(|| plan.get(pick.id).unwrap().answer.clone());
    assert!(breaks(&answer), "{mutant} (seed {seed}) shrunk to {answer:?}");
    assert!(answers[0]["body"].is_string() || answer == Answer::Reset, "the exact bytes: {minimal:#}");
    // Its replay command, as printed, fails alone with the same rule.
    let replay = minimal["replay"].as_str().unwrap();
    assert!(replay.contains("--cases 16 --skip busy --timeout 300s --replay"), "the plan's flags: {replay}");
    let ids = replay.split("--replay ").nth(1).unwrap().split(' ').next().unwrap();
    let (code, replayed) = certify(&["--seed", &seed.to_string(), "--replay", ids], mutant, &dir.path().join("replay"));
    assert_eq!(code, 1, "the replay of {ids} fails too: {replayed:#}");
    assert!(replayed["rules"].as_array().unwrap().iter().any(|r| r["id"] == rule && r["verdict"] == "failed"));
}

fn changed_with(change: Change) -> impl Fn(&Answer) -> bool {
    move |answer| matches!(answer, Answer::Changed { changes } if changes.contains(change))
}

#[test]
fn a_client_that_needs_errcode_first_is_shrunk_to_reordered_keys() {
    let reordered = changed_with(Change::KeysReversed);
    found_and_shrunk("key-order", "FLT-SURVIVES", |v| reordered(&v.answer), changed_with(Change::KeysReversed));
}

#[test]
fn a_client_that_dies_on_a_null_pi_is_shrunk_to_pi_null() {
    let pi_null = changed_with(Change::PiNull);
    found_and_shrunk("pi-null", "FLT-SURVIVES", |v| pi_null(&v.answer), changed_with(Change::PiNull));
}

#[test]
fn a_client_that_dies_on_an_http_503_with_a_json_body_is_shrunk_to_it() {
    let is_503_json = |a: &Answer| matches!(a, Answer::Http { status: 503, json_body: true });
    found_and_shrunk("http-503-json", "FLT-SURVIVES", |v| is_503_json(&v.answer), is_503_json);
}

#[test]
fn a_library_that_reports_1011_as_success_is_shrunk_to_the_1011() {
    let is_1011 = |a: &Answer| matches!(a, Answer::Code { errcode: StatusCode::PartnerAuthError });
    found_and_shrunk("1011-success", "OUT-ANSWER", |v| is_1011(&v.answer), is_1011);
}

#[test]
fn a_client_that_dies_on_the_specs_own_loginout_answer_fails_without_any_variation() {
    // `"data": ""` is the V2.1 example's loginout answer and the mock's own (SPEC §3): a client that dies on it dies
    // without any variation, and fuzz says so rather than blaming one.
    require_python();
    let (seed, _) = seed_where(
        16,
        |v| v.interface == Interface::Check,
        |plan| plan.variations.iter().filter(|v| v.interface == Interface::Loginout).count() <= 1,
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = certify(&["--seed", &seed.to_string()], "data-empty-string", dir.path());
    assert_eq!(code, 1, "{report:#}");
    let minimal = &report["fuzz"]["minimal"];
    assert_eq!(minimal["fails_without_variations"], true, "seed {seed}: {minimal:#}");
    assert!(report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("even without any variation")));
}

#[test]
fn fuzz_refuses_what_it_cannot_do_and_says_what_to_do_instead() {
    for (args, says) in [
        (vec!["--mock-url", "http://127.0.0.1:9"], "leave out --mock-url"),
        (vec!["--repeat", "2"], "leave out --repeat"),
        (vec!["--replay", "x"], "a variation is named by its number"),
        (vec!["--replay", "3:nonsense"], "\"nonsense\" is not a change"),
        (vec!["--replay", "99"], "has variations 1 to 16"),
        (vec!["--cases", "0"], "nothing to vary"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new(NPPA)
            .args(["certify", "--profile", "fuzz", "--out"])
            .arg(dir.path())
            .args(&args)
            .args(["--", "true"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
