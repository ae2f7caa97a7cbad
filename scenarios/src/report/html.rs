//! report.html: one self-contained page, the verdict, the charts and the Markdown rendered as HTML, from an askama
//! template (`scenarios/templates/load.html`) that escapes every value it is not told is markup.

use askama::Template;
use pulldown_cmark::{Event, Options, Parser};

use super::prose::burst_verdict;
use super::LoadReport;

#[derive(Template)]
#[template(path = "load.html")]
struct Page<'a> {
    scenario: &'a str,
    run_id: &'a str,
    verdict: String,
    /// Inline SVG, drawn by plotters (which escapes its texts).
    charts: Vec<String>,
    /// The Markdown report as HTML, raw HTML in it shown as text.
    details: String,
}

impl LoadReport {
    pub fn html(&self) -> Result<String, askama::Error> {
        let verdict = match (&self.burst, self.thresholds.is_empty()) {
            (Some(b), _) => burst_verdict(b),
            (None, false) if self.passed() => "Every threshold passed.".to_owned(),
            (None, false) => "A threshold failed.".to_owned(),
            (None, true) => format!("{} unexpected answers.", self.summary.unexpected_errors),
        };
        // The Markdown's own title is already above the charts.
        let markdown = self.markdown();
        let rest = markdown.split_once('\n').map_or(markdown.as_str(), |(_, rest)| rest);
        Page {
            scenario: &self.scenario,
            run_id: &self.run_id,
            verdict,
            charts: self.charts(),
            details: markdown_to_html(rest),
        }
        .render()
    }
}

/// The report's Markdown, as HTML (tables included). The Markdown quotes what the user typed (the target, the run
/// id): HTML in it is shown as text, never passed through as markup.
fn markdown_to_html(md: &str) -> String {
    let mut html = String::new();
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        other => other,
    });
    pulldown_cmark::html::push_html(&mut html, parser);
    html
}
