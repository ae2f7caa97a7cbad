//! `nppa admin shadow report`: what shadow mode found, from the journal: each kind of difference between the
//! upstream's answers and the mock's, with its count and the first exchanges that showed it (Markdown or JSON).

use std::fmt::Write as _;

use nppa_mockserver::journal::{DifferenceKind, JournalEntry};
use serde::Serialize;

/// How many exchanges a kind of difference names.
const FIRST_SHOWN: usize = 5;

/// The report, from one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowReport {
    /// Requests whose answer was compared with an upstream's (shadow entries).
    pub compared: usize,
    /// Of those, the ones where both answers meant the same.
    pub agreed: usize,
    /// Shadow entries where the upstream gave no answer (nothing to compare).
    pub unanswered: usize,
    /// Each kind of difference seen, in the order of `DifferenceKind::ALL`.
    pub differences: Vec<KindSeen>,
}

/// One kind of difference: how often, and where first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindSeen {
    pub kind: DifferenceKind,
    pub count: usize,
    pub first: Vec<Example>,
}

/// One exchange that showed a difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    pub journal_id: u64,
    /// `POST /behavior/collection/loginout`.
    pub request: String,
    pub mock: String,
    pub upstream: String,
}

impl ShadowReport {
    pub fn of(entries: &[JournalEntry]) -> ShadowReport {
        let shadowed = entries.iter().filter_map(|e| Some((e, e.upstream.as_ref().filter(|u| u.shadow)?)));
        let mut report = ShadowReport { compared: 0, agreed: 0, unanswered: 0, differences: Vec::new() };
        let mut seen: Vec<KindSeen> =
            DifferenceKind::ALL.into_iter().map(|kind| KindSeen { kind, count: 0, first: Vec::new() }).collect();
        for (entry, upstream) in shadowed {
            if upstream.status.is_none() {
                report.unanswered += 1;
                continue;
            }
            report.compared += 1;
            report.agreed += usize::from(upstream.differences.is_empty());
            for difference in &upstream.differences {
                let Some(kind) = seen.iter_mut().find(|k| k.kind == difference.kind) else { continue };
                kind.count += 1;
                if kind.first.len() < FIRST_SHOWN {
                    kind.first.push(Example {
                        journal_id: entry.id,
                        request: format!("{} {}", entry.method, entry.path),
                        mock: difference.mock.clone(),
                        upstream: difference.upstream.clone(),
                    });
                }
            }
        }
        report.differences = seen.into_iter().filter(|k| k.count > 0).collect();
        report
    }

    /// Markdown: a line of totals, then a table of the kinds, then each kind's first exchanges.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "## nppa shadow — {} compared, {} agreed, {} differed; {} without an upstream answer\n\n",
            plural(self.compared, "answer"),
            self.agreed,
            self.compared - self.agreed,
            self.unanswered
        );
        if self.compared == 0 {
            // Nothing to agree with: not shadow mode, or no upstream answered.
            out.push_str(
                "Nothing compared: no journal entry holds both the mock's and an upstream's answer (is the mock \
                          in shadow mode, `nppa mock --shadow URL`, and does the upstream answer?).\n",
            );
            return out;
        }
        if self.differences.is_empty() {
            out.push_str("No differences: the mock answered as the upstream did.\n");
            return out;
        }
        out.push_str("| difference | count |\n|---|---|\n");
        for kind in &self.differences {
            let _ = writeln!(out, "| `{}` | {} |", kind.kind.as_str(), kind.count);
        }
        for kind in &self.differences {
            let _ = writeln!(out, "\n### `{}`\n", kind.kind.as_str());
            for example in &kind.first {
                let _ = writeln!(
                    out,
                    "- #{} {}: mock {}, upstream {}",
                    example.journal_id,
                    example.request,
                    code_span(&example.mock),
                    code_span(&example.upstream)
                );
            }
        }
        out
    }
}

/// `1 answer`, `2 answers`.
fn plural(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
}

/// `text` as one Markdown code span on one line, whatever it holds: the values come from the upstream, and a line
/// break or a backtick in them must not end the span or start a heading.
fn code_span(text: &str) -> String {
    let flat: String =
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect();
    let mut longest_run = 0;
    let mut run = 0;
    for c in flat.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest_run = longest_run.max(run);
    }
    let fence = "`".repeat(longest_run + 1);
    // A span that starts or ends with a backtick needs a space inside its fence (CommonMark strips one).
    let pad = if flat.starts_with('`') || flat.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_answer_is_not_answers() {
        assert_eq!(
            (plural(1, "answer"), plural(0, "answer"), plural(4, "answer")),
            ("1 answer".into(), "0 answers".into(), "4 answers".into())
        );
    }

    #[test]
    fn values_from_the_upstream_stay_inside_their_code_span_on_one_line() {
        assert_eq!(code_span("1006"), "`1006`");
        assert_eq!(code_span("a`b|c\n## injected"), "``a`b|c\\n## injected``");
        assert_eq!(code_span("`x"), "`` `x ``");
        let span = code_span("line\r\n## heading\t");
        assert!(!span.contains('\n') && !span.contains('\r'), "{span}");
        assert_eq!(span, "`line\\r\\n## heading\\t`");
    }

    #[test]
    fn a_journal_without_shadow_entries_says_nothing_was_compared_not_that_all_agreed() {
        let markdown = ShadowReport::of(&[]).markdown();
        assert!(markdown.contains("Nothing compared"), "{markdown}");
        assert!(!markdown.contains("No differences"), "{markdown}");
    }
}
