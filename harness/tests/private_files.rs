//! Files that hold secrets or personal data are the owner's alone (0600): the journal file (names and ID numbers
//! in clear), the local CA's private key (also one that was there with wider permissions), certify's journal and
//! reports. Through the real server and the real `nppa certify`.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nppa-private-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_journal_file_is_private_even_when_it_existed_world_readable() {
    let dir = temp_dir("journal");
    let file = dir.join("journal.jsonl");
    std::fs::write(&file, "").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = file.clone();
    let mock = start_with(move |c| c.journal.file = Some(path)).await;
    mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(mode(&file), 0o600);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_local_ca_key_is_created_private_and_a_loose_one_is_made_private() {
    let dir = temp_dir("ca");
    let tls_dir = dir.clone();
    let mock = start_with(move |c| {
        c.server.tls = true;
        c.server.tls_dir = tls_dir;
    })
    .await;
    assert_eq!(mode(&dir.join("ca-key.pem")), 0o600);
    drop(mock);
    std::fs::set_permissions(dir.join("ca-key.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let tls_dir = dir.clone();
    let _again = start_with(move |c| {
        c.server.tls = true;
        c.server.tls_dir = tls_dir;
    })
    .await;
    assert_eq!(mode(&dir.join("ca-key.pem")), 0o600, "the existing key was left readable by others");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn certify_writes_its_journal_and_reports_private() {
    let dir = temp_dir("certify");
    let out = dir.join("out");
    let nppa = env!("CARGO_BIN_EXE_nppa");
    let status = std::process::Command::new(nppa)
        .args(["certify", "--out", out.to_str().unwrap(), "--", nppa, "client", "flow"])
        .output()
        .unwrap();
    assert!(status.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&status.stderr));
    // outcomes.jsonl too: certify makes it before the client appends its ais and pis.
    for name in ["journal.jsonl", "junit.xml", "report.md", "report.json", "report.html", "outcomes.jsonl"] {
        assert_eq!(mode(&out.join(name)), 0o600, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
