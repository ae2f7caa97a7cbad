//! The protocol lives once: the most important protocol numbers are typed only in `protocol/`, and every other
//! crate reads them by name (`behaviour::MAX_RECORDS`, `behaviour::WINDOW_MS`, `quota::BLOCK_MS`,
//! `beijing::OFFSET_MS`). This scans the other crates' code — comments, string literals and `#[cfg(test)]` modules
//! left out, since tests compute known answers by hand on purpose — for those numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// Tokens that are protocol numbers wherever they appear in code.
const FORBIDDEN: &[(&str, &str)] = &[
    ("128", "behaviour::MAX_RECORDS (R-BEH-1)"),
    ("180_000", "behaviour::WINDOW_MS (R-BEH-TIME)"),
    ("180000", "behaviour::WINDOW_MS (R-BEH-TIME)"),
    ("60_000", "quota::BLOCK_MS (R-RL-2)"),
    ("60000", "quota::BLOCK_MS (R-RL-2)"),
    ("28_800", "beijing::OFFSET_MS (UTC+8)"),
    ("28800", "beijing::OFFSET_MS (UTC+8)"),
];

/// Token sequences that spell Beijing's offset.
const FORBIDDEN_SEQUENCES: &[(&[&str], &str)] =
    &[(&["8", "*", "3600"], "beijing::OFFSET_MS (UTC+8)"), (&["8", "*", "HOUR_MS"], "beijing::OFFSET_MS (UTC+8)")];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments, string and char literals, and without its `#[cfg(test)]` tail.
fn code_only(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].bytes().take_while(|&b| b == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let open = 2 + hashes;
            i += rest[open..].find(&close).map_or(rest.len(), |end| open + end + close.len());
            out.push(' ');
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
            out.push(' ');
        } else if bytes[i] == b'\'' && rest.len() >= 3 && (rest.as_bytes()[2] == b'\'' || rest.as_bytes()[1] == b'\\') {
            // A char literal ('x', '\n'); a lifetime has no closing quote.
            i += rest[1..].find('\'').map_or(1, |end| end + 2);
            out.push(' ');
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn tokens(code: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices() {
        let word = c.is_ascii_alphanumeric() || c == '_';
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                tokens.push(&code[s..i]);
                start = None;
            }
            _ => {}
        }
        if !word && !c.is_whitespace() {
            tokens.push(&code[i..i + c.len_utf8()]);
        }
    }
    if let Some(s) = start {
        tokens.push(&code[s..]);
    }
    tokens
}

#[test]
fn protocol_numbers_are_named_outside_protocol() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["mockserver/src", "harness/src", "scenarios/src", "benches/src", "benches/benches", "fuzz/fuzz_targets"]
    {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 40, "the scan found only {} files", files.len());
    let mut found = Vec::new();
    for file in &files {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let tokens = tokens(&code);
        for (number, name) in FORBIDDEN {
            if tokens.contains(number) {
                found.push(format!("{}: {number} — use nppa_protocol::{name}", file.display()));
            }
        }
        for (sequence, name) in FORBIDDEN_SEQUENCES {
            if tokens.windows(sequence.len()).any(|w| w == *sequence) {
                found.push(format!("{}: {} — use nppa_protocol::{name}", file.display(), sequence.join(" ")));
            }
        }
    }
    assert!(found.is_empty(), "protocol numbers typed outside protocol/:\n{}", found.join("\n"));
}

#[test]
fn the_scanner_sees_code_and_skips_comments_strings_and_tests() {
    let code = code_only(
        "let a = 128; // 60_000\nlet s = \"180_000\"; let r = r#\"8 * 3600\"#; let c = '\"'; let d = 28_800;\n#[cfg(test)]\nconst X: u64 = 60_000;",
    );
    let tokens = tokens(&code);
    assert!(tokens.contains(&"128") && tokens.contains(&"28_800"));
    assert!(!tokens.contains(&"60_000") && !tokens.contains(&"180_000") && !tokens.contains(&"3600"));
}
