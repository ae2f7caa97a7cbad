//! The reports, all from one [`CertifyReport`]: JUnit XML, Markdown, JSON and a self-contained HTML page.
//!
//! JUnit is written by quick-junit (it escapes, and drops what XML 1.0 cannot hold); the page by an askama template
//! (`harness/templates/certify.html`): askama checks the template against these types when the crate builds and
//! escapes every value unless told otherwise, where minijinja would find a misspelt field only when a report is
//! written.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use askama::Template;
use nppa_mockserver::journal::JournalEntry;
use quick_junit::{NonSuccessKind, Property, Report, SerializeError, TestCase, TestCaseStatus, TestSuite};

use super::client_output::ClientOutput;
use super::model::{CertifyReport, Finding, Severity, Verdict};
use super::Started;

/// JUnit XML: one testcase per rule; a failure quotes every finding and its evidence. The suite carries the run's
/// start and its whole length (the client's runs included), and the client's own output.
pub fn junit(report: &CertifyReport) -> Result<String, SerializeError> {
    let mut suite = TestSuite::new(format!("nppa certify ({})", report.profile));
    for rule in &report.rules {
        let status = match rule.verdict {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::NotExercised => {
                let mut status = TestCaseStatus::skipped();
                status.set_message("the traffic gave this rule nothing to judge");
                status
            }
            Verdict::Failed => {
                let first = rule.findings.first().map(|f| f.message.as_str()).unwrap_or("");
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(first)
                    .set_type(format!("{} {:?}", rule.spec, rule.severity))
                    .set_description(rule.findings.iter().map(finding_text).collect::<String>());
                status
            }
        };
        let mut case = TestCase::new(format!("{} {}", rule.id, rule.title), status);
        case.set_classname(format!("nppa.certify.{}", rule.id));
        // A rule does not run anything: it reads the traffic the client sent. Its time is how long judging that
        // traffic took (the client's own time is the suite's).
        case.set_time(report.judging.get(rule.id).copied().unwrap_or_default());
        suite.add_test_case(case);
    }
    // Upstream mode: whose answers were judged, for tools that read the suite's properties.
    for url in &report.answered_by {
        suite.add_property(Property::new("nppa.answered_by", url.as_str()));
    }
    let notes: String = report.notes.iter().map(|n| format!("Note: {n}\n")).collect();
    to_xml(suite, report.started_at, seconds(report.wall_s), &notes, &report.client_output)
}

/// A finding as the JUnit failure's text quotes it.
fn finding_text(f: &Finding) -> String {
    let mut text = format!("- {}{}{}\n", f.message, journal_ids(&f.journal_ids), repeats(f));
    if let Some(choice) = &f.choice {
        let _ = writeln!(text, "    ({choice})");
    }
    for line in &f.evidence {
        let _ = writeln!(text, "    {line}");
    }
    text
}

/// JUnit XML for a run that could not be judged (exit code 2): one error testcase with the reason, and what the
/// client wrote, if it ran.
pub fn could_not_judge(reason: &str, started: Started, client: &ClientOutput) -> Result<String, SerializeError> {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status
        .set_message(reason)
        .set_type("could not judge")
        .set_description(format!("nppa certify could not judge the client: {reason}"));
    let mut case = TestCase::new("certify judged the client", status);
    case.set_classname("nppa.certify").set_time(Duration::ZERO);
    let mut suite = TestSuite::new("nppa certify");
    suite.add_test_case(case);
    to_xml(suite, Some(started.at), started.instant.elapsed(), "", client)
}

/// The suite inside its `<testsuites>`, with its start, its length and the output.
fn to_xml(
    mut suite: TestSuite,
    started_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    wall: Duration,
    notes: &str,
    client: &ClientOutput,
) -> Result<String, SerializeError> {
    if let Some(at) = started_at {
        suite.set_timestamp(at);
    }
    suite.set_time(wall);
    let stdout = match client.stdout.is_empty() {
        true => notes.to_owned(),
        false => format!("{notes}── the client's standard output ──\n{}", client.stdout.text()),
    };
    if !stdout.is_empty() {
        suite.set_system_out(stdout);
    }
    if !client.stderr.is_empty() {
        suite.set_system_err(format!("── the client's standard error ──\n{}", client.stderr.text()));
    }
    let skipped = suite.skipped;
    let mut report = Report::new("nppa certify");
    report.set_time(wall).add_test_suite(suite);
    let xml = report.to_string()?;
    Ok(without_skipped_on_testsuites(xml, skipped))
}

/// junit-10.xsd (the Jenkins/Surefire schema CI validates against) allows `skipped` on `<testsuite>` only, where it
/// stays; quick-junit also writes it on `<testsuites>`, whose start tag comes first in the document.
fn without_skipped_on_testsuites(xml: String, skipped: usize) -> String {
    let attribute = format!(" skipped=\"{skipped}\"");
    let root_end = xml.find("<testsuites").and_then(|start| xml[start..].find('>').map(|end| start + end));
    match root_end.and_then(|end| xml[..end].find(&attribute)) {
        Some(at) => format!("{}{}", &xml[..at], &xml[at + attribute.len()..]),
        None => xml,
    }
}

/// Seconds as a duration; a value no duration holds (negative, NaN) as zero.
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or_default()
}

fn verdict_mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "✅ passed",
        Verdict::Failed => "❌ failed",
        Verdict::NotExercised => "➖ not exercised",
    }
}

/// Markdown, for a pull-request comment or a CI step summary.
pub fn markdown(report: &CertifyReport) -> String {
    let failed = report.failed().count();
    let mut out = format!(
        "## nppa certify — {} ({} rules, {failed} failed, {} requests judged)\n\n| rule | verdict | severity | spec | |\n|---|---|---|---|---|\n",
        report.profile,
        report.rules.len(),
        report.requests
    );
    if !report.notes.is_empty() {
        out = out.replacen("\n\n| rule |", &format!("\n\n{}\n| rule |", notes_text(report)), 1);
    }
    for rule in &report.rules {
        let severity = match rule.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {severity} | {} | {} |",
            rule.id,
            verdict_mark(rule.verdict),
            rule.spec,
            rule.title
        );
    }
    for rule in report.failed_causes_first() {
        let _ = writeln!(out, "\n### `{}` {}\n", rule.id, rule.title);
        let explained = report.explained_by(rule.id);
        if !explained.is_empty() {
            let _ = writeln!(out, "_The cause of {}: read this first._\n", code_list(&explained));
        }
        for f in &rule.findings {
            let _ = writeln!(out, "- {}{}{}", f.message, journal_ids(&f.journal_ids), repeats(f));
            if let Some(choice) = &f.choice {
                let _ = writeln!(out, "  _{choice}_");
            }
            if !f.evidence.is_empty() {
                let _ = writeln!(out, "  ```\n  {}\n  ```", f.evidence.join("\n  "));
            }
        }
    }
    out
}

/// Pretty JSON when the text is JSON, the text itself otherwise.
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// report.html (`harness/templates/certify.html`): verdicts first, then each failed rule, root causes first, with
/// its findings, their evidence and the exchanges they name.
#[derive(Template)]
#[template(path = "certify.html")]
struct Page<'a> {
    profile: &'a str,
    total: usize,
    failed: usize,
    requests: usize,
    command: String,
    notes: &'a [String],
    rows: Vec<Row<'a>>,
    sections: Vec<Section<'a>>,
}

/// A rule's line in the table of verdicts.
struct Row<'a> {
    id: &'a str,
    /// The row's class: pass, fail or skip.
    class: &'static str,
    verdict: &'static str,
    spec: &'a str,
    title: &'a str,
}

/// A failed rule.
struct Section<'a> {
    id: &'a str,
    title: &'a str,
    /// The failed rules it is the cause of.
    explains: String,
    findings: Vec<FindingView<'a>>,
}

struct FindingView<'a> {
    message: &'a str,
    repeats: String,
    choice: Option<String>,
    ids: String,
    evidence: String,
    exchanges: Vec<Exchange<'a>>,
}

/// One journaled exchange, folded: request line, headers, body, decrypted plaintext, answer.
struct Exchange<'a> {
    id: u64,
    method: &'a str,
    target: String,
    http_status: u16,
    errcode: Option<u16>,
    headers: String,
    body: String,
    plaintext: String,
    answer: String,
}

impl<'a> Exchange<'a> {
    fn of(entry: &'a JournalEntry) -> Exchange<'a> {
        let target = match &entry.query {
            Some(query) => format!("{}?{query}", entry.path),
            None => entry.path.clone(),
        };
        let body = entry
            .body
            .clone()
            .or_else(|| entry.body_base64.as_ref().map(|b| format!("(base64) {b}")))
            .unwrap_or_default();
        Exchange {
            id: entry.id,
            method: &entry.method,
            target,
            http_status: entry.http_status,
            errcode: entry.errcode,
            headers: entry.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect(),
            body,
            plaintext: entry.plaintext.as_deref().map(pretty).unwrap_or_else(|| "(not decrypted)".to_owned()),
            answer: match entry.connection_reset {
                true => "(connection closed without an answer)".to_owned(),
                false => pretty(&entry.answer),
            },
        }
    }
}

/// A self-contained HTML page: verdicts first, then each finding with its evidence and the exchanges it names.
pub fn html(report: &CertifyReport, entries: &[JournalEntry]) -> Result<String, askama::Error> {
    let by_id: HashMap<u64, &JournalEntry> = entries.iter().map(|e| (e.id, e)).collect();
    let rows = report
        .rules
        .iter()
        .map(|rule| {
            let (class, verdict) = match rule.verdict {
                Verdict::Passed => ("pass", "passed"),
                Verdict::Failed => ("fail", "FAILED"),
                Verdict::NotExercised => ("skip", "not exercised"),
            };
            Row { id: rule.id, class, verdict, spec: rule.spec, title: rule.title }
        })
        .collect();
    let sections = report
        .failed_causes_first()
        .into_iter()
        .map(|rule| Section {
            id: rule.id,
            title: rule.title,
            explains: report.explained_by(rule.id).join(", "),
            findings: rule
                .findings
                .iter()
                .map(|f| FindingView {
                    message: &f.message,
                    repeats: repeats(f),
                    choice: f.choice.map(|c| c.to_string()),
                    ids: journal_ids(&f.journal_ids).trim().trim_start_matches('(').trim_end_matches(')').to_owned(),
                    evidence: f.evidence.join("\n"),
                    exchanges: f.journal_ids.iter().filter_map(|id| by_id.get(id)).map(|e| Exchange::of(e)).collect(),
                })
                .collect(),
        })
        .collect();
    Page {
        profile: &report.profile,
        total: report.rules.len(),
        failed: report.failed().count(),
        requests: report.requests,
        command: report.command.join(" "),
        notes: &report.notes,
        rows,
        sections,
    }
    .render()
}

/// Writes every report into `dir`; returns the paths written.
pub fn write_all(report: &CertifyReport, entries: &[JournalEntry], dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let files = [
        ("junit.xml", junit(report).map_err(std::io::Error::other)?),
        ("report.md", markdown(report)),
        ("report.json", serde_json::to_string_pretty(report).map_err(std::io::Error::other)?),
        ("report.html", html(report, entries).map_err(std::io::Error::other)?),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        // The evidence quotes plaintexts, names and ID numbers included: private.
        nppa_mockserver::private_file::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// The notes, one "Note: …" line each.
fn notes_text(report: &CertifyReport) -> String {
    report.notes.iter().map(|n| format!("**Note:** {n}\n")).collect()
}

/// ` — 12 times in all; later #9, #14, #20, #31, #40, …` for a cause seen more than once, nothing otherwise.
fn repeats(finding: &Finding) -> String {
    if finding.count <= 1 {
        return String::new();
    }
    let later: Vec<String> = finding.later_ids.iter().map(|id| format!("#{id}")).collect();
    let more = if finding.count - 1 > later.len() { ", …" } else { "" };
    match later.is_empty() {
        true => format!(" — {} times in all", finding.count),
        false => format!(" — {} times in all; later {}{more}", finding.count, later.join(", ")),
    }
}

/// ` (journal #3, #4)`, or nothing when a finding names no request.
fn journal_ids(ids: &[u64]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
    format!(" (journal {})", ids.join(", "))
}

/// "`OFFICIAL-01`, `OFFICIAL-02`".
fn code_list(ids: &[&str]) -> String {
    ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
}
