//! report.html: one self-contained page, the verdict, the charts and the Markdown rendered as HTML.

use std::fmt::Write as _;

use super::prose::burst_verdict;
use super::LoadReport;

impl LoadReport {
    pub fn html(&self) -> String {
        let mut body = format!("<h1>nppa load — {} ({})</h1>\n", escape(&self.scenario), escape(&self.run_id));
        let verdict = match (&self.burst, self.thresholds.is_empty()) {
            (Some(b), _) => burst_verdict(b),
            (None, false) if self.passed() => "Every threshold passed.".to_owned(),
            (None, false) => "A threshold failed.".to_owned(),
            (None, true) => format!("{} unexpected answers.", self.summary.unexpected_errors),
        };
        let _ = write!(body, "<p class=\"verdict\">{}</p>", escape(&verdict));
        body += &self.charts();
        // The Markdown's own title is already above the charts.
        let markdown = self.markdown();
        let rest = markdown.split_once('\n').map_or(markdown.as_str(), |(_, rest)| rest);
        body += &markdown_to_html(rest);
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nppa load — {} ({})</title>\n\
             <style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}}\
             table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
             th{{background:#f3f3f3}}td:first-child{{text-align:left}}.verdict{{font-size:1.3em;font-weight:bold}}\
             figure{{margin:1em 0}}code{{background:#f3f3f3}}</style></head><body>\n{}\n</body></html>\n",
            escape(&self.scenario),
            escape(&self.run_id),
            body
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The report's Markdown, as HTML (tables included).
fn markdown_to_html(md: &str) -> String {
    let mut html = String::new();
    let parser = pulldown_cmark::Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::html::push_html(&mut html, parser);
    html
}
