//! The reports, all from one [`CertifyReport`]: JUnit XML, Markdown, JSON and a self-contained HTML page.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nppa_mockserver::journal::JournalEntry;

use super::model::{CertifyReport, Finding, Severity, Verdict};

fn xml_escape(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}'))
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// JUnit XML: one testcase per rule; a failure quotes every finding and its evidence.
pub fn junit(report: &CertifyReport) -> String {
    let failures = report.failed().count();
    let skipped = report.rules.iter().filter(|r| r.verdict == Verdict::NotExercised).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        // junit-10.xsd (the common Jenkins/Surefire schema) allows `skipped` on <testsuite> only.
        "<testsuites name=\"nppa certify\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        report.rules.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"nppa certify ({})\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
        xml_escape(&report.profile),
        report.rules.len(),
        report.overhead_s
    );
    for rule in &report.rules {
        let name = xml_escape(&format!("{} {}", rule.id, rule.title));
        let _ = write!(out, "    <testcase classname=\"nppa.certify.{}\" name=\"{name}\">", xml_escape(rule.id));
        match rule.verdict {
            Verdict::Passed => {}
            Verdict::NotExercised => out.push_str("<skipped message=\"the traffic gave this rule nothing to judge\"/>"),
            Verdict::Failed => {
                let first = rule.findings.first().map(|f| f.message.as_str()).unwrap_or("");
                let mut text = String::new();
                for f in &rule.findings {
                    let _ = writeln!(text, "- {}{}{}", f.message, journal_ids(&f.journal_ids), repeats(f));
                    if let Some(choice) = &f.choice {
                        let _ = writeln!(text, "    ({choice})");
                    }
                    for line in &f.evidence {
                        let _ = writeln!(text, "    {line}");
                    }
                }
                let _ = write!(
                    out,
                    "\n      <failure message=\"{}\" type=\"{} {:?}\">{}</failure>\n    ",
                    xml_escape(first),
                    rule.spec,
                    rule.severity,
                    xml_escape(&text)
                );
            }
        }
        out.push_str("</testcase>\n");
    }
    if !report.notes.is_empty() {
        let notes: String = report.notes.iter().map(|n| format!("Note: {n}\n")).collect();
        let _ = writeln!(out, "    <system-out>{}</system-out>", xml_escape(&notes));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn verdict_mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "✅ passed",
        Verdict::Failed => "❌ failed",
        Verdict::NotExercised => "➖ not exercised",
    }
}

/// Plain words for pages where emoji fonts may be missing; the row colour carries the verdict too.
fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "<strong>FAILED</strong>",
        Verdict::NotExercised => "not exercised",
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
    for rule in report.failed() {
        let _ = writeln!(out, "\n### `{}` {}\n", rule.id, rule.title);
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

/// A self-contained HTML page: verdicts first, then each finding with its evidence.
/// Pretty JSON when the text is JSON, the text itself otherwise.
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// One journaled exchange, folded: request line, headers, body, decrypted plaintext, answer.
fn exchange_html(entry: &JournalEntry) -> String {
    let target = match &entry.query {
        Some(query) => format!("{}?{query}", entry.path),
        None => entry.path.clone(),
    };
    let headers: String = entry.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    let body =
        entry.body.clone().or_else(|| entry.body_base64.as_ref().map(|b| format!("(base64) {b}"))).unwrap_or_default();
    let plaintext = entry.plaintext.as_deref().map(pretty).unwrap_or_else(|| "(not decrypted)".to_owned());
    let answer =
        if entry.connection_reset { "(connection closed without an answer)".to_owned() } else { pretty(&entry.answer) };
    format!(
        "<details><summary>#{} {} {} → HTTP {}{}</summary><pre>{}\n{}\n{}</pre><p>decrypted plaintext</p><pre>{}</pre><p>answer</p><pre>{}</pre></details>",
        entry.id,
        xml_escape(&entry.method),
        xml_escape(&target),
        entry.http_status,
        entry.errcode.map(|c| format!(", errcode {c}")).unwrap_or_default(),
        xml_escape(&format!("{} {target}", entry.method)),
        xml_escape(&headers),
        xml_escape(&body),
        xml_escape(&plaintext),
        xml_escape(&answer),
    )
}

/// A self-contained HTML page: verdicts first, then each finding with its evidence and the exchanges it names.
pub fn html(report: &CertifyReport, entries: &[JournalEntry]) -> String {
    let by_id: HashMap<u64, &JournalEntry> = entries.iter().map(|e| (e.id, e)).collect();
    let mut rows = String::new();
    for rule in &report.rules {
        let class = match rule.verdict {
            Verdict::Passed => "pass",
            Verdict::Failed => "fail",
            Verdict::NotExercised => "skip",
        };
        let _ = write!(
            rows,
            "<tr class=\"{class}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml_escape(rule.id),
            verdict_word(rule.verdict),
            xml_escape(rule.spec),
            xml_escape(rule.title)
        );
    }
    let mut details = String::new();
    for rule in report.failed() {
        let _ = write!(
            details,
            "<section id=\"{0}\"><h2><code>{0}</code> {1}</h2>",
            xml_escape(rule.id),
            xml_escape(rule.title)
        );
        for f in &rule.findings {
            let _ = write!(
                details,
                "<div class=\"finding\"><p>{}{}</p>{}<p class=\"ids\">{}</p>",
                xml_escape(&f.message),
                xml_escape(&repeats(f)),
                f.choice
                    .map(|c| format!("<p class=\"choice\"><em>{}</em></p>", xml_escape(&c.to_string())))
                    .unwrap_or_default(),
                journal_ids(&f.journal_ids).trim().trim_start_matches('(').trim_end_matches(')')
            );
            if !f.evidence.is_empty() {
                let _ = write!(details, "<pre>{}</pre>", xml_escape(&f.evidence.join("\n")));
            }
            for entry in f.journal_ids.iter().filter_map(|id| by_id.get(id)) {
                details.push_str(&exchange_html(entry));
            }
            details.push_str("</div>");
        }
        details.push_str("</section>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nppa certify — {profile}</title>\
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}}\
tr.fail td{{background:#fde8e8}}tr.pass td{{background:#e8f6e8}}tr.skip td{{color:#777}}pre{{background:#f6f6f6;padding:.8em;overflow-x:auto;white-space:pre-wrap}}details{{margin:.4em 0 .4em 1em}}summary{{cursor:pointer;font-family:monospace}}.finding{{margin:1em 0}}.ids{{color:#666;font-size:.9em}}</style></head>\
<body><h1>nppa certify — {profile}</h1><p id=\"summary\">{total} rules, <strong>{failed} failed</strong>; requests judged: {requests}; command <code>{command}</code></p>\
{notes}<table><thead><tr><th>rule</th><th>verdict</th><th>spec</th><th>what it checks</th></tr></thead><tbody>{rows}</tbody></table>{details}</body></html>\n",
        profile = xml_escape(&report.profile),
        total = report.rules.len(),
        failed = report.failed().count(),
        requests = report.requests,
        command = xml_escape(&report.command.join(" ")),
        notes = report.notes.iter().map(|n| format!("<p class=\"note\"><strong>Note:</strong> {}</p>", xml_escape(n))).collect::<String>(),
    )
}

/// Writes every report into `dir`; returns the paths written.
pub fn write_all(report: &CertifyReport, entries: &[JournalEntry], dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    let files = [
        ("junit.xml", junit(report)),
        ("report.md", markdown(report)),
        ("report.json", json),
        ("report.html", html(report, entries)),
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

/// JUnit XML for a run that could not be judged (exit code 2): one error testcase with the reason.
pub fn could_not_judge(reason: &str) -> String {
    let reason = xml_escape(reason);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"nppa certify\" tests=\"1\" failures=\"0\" errors=\"1\">\n  \
         <testsuite name=\"nppa certify\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">\n    \
         <testcase classname=\"nppa.certify\" name=\"certify judged the client\">\n      \
         <error message=\"{reason}\" type=\"could not judge\">nppa certify could not judge the client: {reason}</error>\n    \
         </testcase>\n  </testsuite>\n</testsuites>\n"
    )
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
