//! ENV-HOST through the real mock in proxy mode: a client with NPPA's hosts hard-coded sends each interface to its
//! own scheme and host (SPEC §1); one that queries `https://api.wlc…` (the check host) is caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::certify::judge;
use nppa_harness::certify::model::{RuleResult, Verdict};
use nppa_harness::certify::rules::Profile;
use nppa_harness::client::Client;

fn env_host(mock: &Mock) -> RuleResult {
    let report = judge(&entries(mock), mock.server.service().config(), Profile::All, vec![], vec![Some(0)]);
    report.rules.into_iter().find(|r| r.id == "ENV-HOST").unwrap()
}

async fn proxy_mock(name: &str) -> (Mock, reqwest::Client, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("nppa-host-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (mock, http) = start_proxy(dir.clone()).await;
    (mock, http, dir)
}

fn at(host: &str, http: &reqwest::Client) -> Client {
    let (app_id, biz_id, key) =
        (nppa_harness::DEFAULT_APP_ID, nppa_harness::DEFAULT_BIZ_ID, nppa_harness::DEFAULT_SECRET_KEY);
    Client::new(host, app_id, biz_id, key).unwrap().with_http(http.clone())
}

#[tokio::test]
async fn env_host_passes_each_interface_at_its_own_host_and_catches_a_query_sent_to_the_check_host() {
    let (mock, http, dir) = proxy_mock("right").await;
    at("https://api.wlc.nppa.gov.cn", &http).check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    at("http://api2.wlc.nppa.gov.cn", &http).query("nothing").await.unwrap();
    let now = mock.now_ms().await;
    at("http://api2.wlc.nppa.gov.cn", &http).loginout(vec![guest(1, "host-session", 1, now)]).await.unwrap();
    let rule = env_host(&mock);
    assert_eq!(rule.verdict, Verdict::Passed, "{rule:#?}");
    let _ = std::fs::remove_dir_all(&dir);

    let (mock, http, dir) = proxy_mock("wrong").await;
    at("https://api.wlc.nppa.gov.cn", &http).check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    let wrong = at("https://api.wlc.nppa.gov.cn", &http);
    wrong.query("nothing").await.unwrap();
    wrong.query("nothing-again").await.unwrap();
    let rule = env_host(&mock);
    assert_eq!(rule.verdict, Verdict::Failed);
    assert_eq!(rule.findings.len(), 1, "one finding per cause, not per request: {rule:#?}");
    let message = &rule.findings[0].message;
    assert!(
        message.contains("query to https://api.wlc.nppa.gov.cn") && message.contains("http://api2.wlc.nppa.gov.cn")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn env_host_is_not_judged_outside_proxy_mode() {
    let mock = start().await;
    mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!(env_host(&mock).verdict, Verdict::NotExercised);
}
