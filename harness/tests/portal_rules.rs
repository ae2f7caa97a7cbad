//! Where the mock departed from the seeds on the portal's side (#13 item 7): the IP whitelist needs a game (FAQ 98)
//! and holds about 10 addresses per game (the manual; SPEC R-IP-1), a POST without `Content-Type` (V2.1 marks it
//! required; R-HDR-1, a README choice), and a disabled enterprise on the test system (1009; a README choice).
//! Through the real server on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::{DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY};
use nppa_mockserver::config::{ChannelConfig, EnterpriseConfig};
use nppa_mockserver::journal::JournalQuery;
use nppa_protocol::messages::CheckRequest;
use nppa_protocol::request::{self, Credentials, Target};
use nppa_protocol::{Interface, Permission, SecretKey};
use serde_json::{json, Value};

/// An enterprise that owns no game and is no game's channel.
const LONE_APP_ID: &str = "fedcba9876543210fedcba9876543210";

fn lone_enterprise() -> EnterpriseConfig {
    EnterpriseConfig {
        name: "Registered, no game yet".into(),
        app_id: LONE_APP_ID.into(),
        secret_key: "ffeeddccbbaa99887766554433221100".into(),
        enabled: true,
        ip_whitelist: vec![],
        whitelist_ips_granted: 0,
        test_passed: false,
        test: None,
        secret_key_expires: None,
        key_validity_days: None,
    }
}

async fn set_whitelist(mock: &Mock, app_id: &str, entries: &[String]) -> (u16, Value) {
    mock.admin("POST", &format!("/__admin/enterprises/{app_id}"), Some(json!({ "ip_whitelist": entries }))).await
}

async fn whitelist_of(mock: &Mock, app_id: &str) -> Vec<String> {
    let list = mock.admin_api().enterprises().await.unwrap();
    list.enterprises.into_iter().find(|e| e.app_id == app_id).map(|e| e.ip_whitelist).unwrap_or_default()
}

/// `n` distinct loopback addresses from 127.0.0.1 (each its own whitelist entry).
fn addresses(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("127.0.{}.{}", i / 250, i % 250 + 1)).collect()
}

/// FAQ 98 (manual, "IP 白名单配置是灰色的？"): "只有与任意一款游戏建立关联后才可以配置IP白名单，您可以接入您运营的游戏，也可以让
/// 合作企业就某一款已经接入的游戏为您授权" — SPEC R-IP-1.
#[tokio::test]
async fn r_ip_1_faq_98_a_whitelist_needs_a_game_owned_or_bound_as_a_channel() {
    let mock = start_with(|c| c.enterprises.push(lone_enterprise())).await;
    let (status, answer) = set_whitelist(&mock, LONE_APP_ID, &["127.0.0.1".into()]).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("linked to a game (FAQ 98)"), "{answer}");
    assert!(whitelist_of(&mock, LONE_APP_ID).await.is_empty(), "nothing was stored");

    // Authorised as a channel of another enterprise's game, it may configure one.
    let mock = start_with(|c| {
        c.enterprises.push(lone_enterprise());
        c.games[0].channels.push(ChannelConfig { app_id: LONE_APP_ID.into(), permissions: vec![Permission::Report] });
    })
    .await;
    assert_eq!(set_whitelist(&mock, LONE_APP_ID, &["127.0.0.1".into()]).await.0, 200);
    assert_eq!(whitelist_of(&mock, LONE_APP_ID).await, ["127.0.0.1/32"]);

    // A configuration the portal could not have produced does not start.
    let mut config = test_config();
    let mut lone = lone_enterprise();
    lone.ip_whitelist = vec!["127.0.0.1".into()];
    config.enterprises.push(lone);
    let err = nppa_mockserver::MockServer::new(config).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("enterprise[2].ip_whitelist") && err.contains("FAQ 98"), "{err}");
}

/// The manual (IP 增配): "原则上每款游戏有10个IP地址", more on request — SPEC R-IP-1, `rules.whitelist_ips_per_game`.
#[tokio::test]
async fn r_ip_1_ten_whitelist_entries_per_game_then_a_clear_refusal() {
    let mock = start().await;
    // The default enterprise owns one game: 10 entries.
    assert_eq!(set_whitelist(&mock, DEFAULT_APP_ID, &addresses(10)).await.0, 200);
    assert_eq!(whitelist_of(&mock, DEFAULT_APP_ID).await.len(), 10);
    let (status, answer) = set_whitelist(&mock, DEFAULT_APP_ID, &addresses(11)).await;
    assert_eq!(status, 400, "{answer}");
    let reason = answer["error"].as_str().unwrap();
    assert!(
        reason.contains("11 whitelist entries, 10 allowed") && reason.contains("rules.whitelist_ips_per_game"),
        "{reason}"
    );
    assert_eq!(whitelist_of(&mock, DEFAULT_APP_ID).await.len(), 10, "the refused list changed nothing");
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 2003, "and the enterprise still calls");
    // The other enterprise owns one game and is a channel of another: 20.
    assert_eq!(set_whitelist(&mock, OTHER_APP_ID, &addresses(20)).await.0, 200);
    assert_eq!(set_whitelist(&mock, OTHER_APP_ID, &addresses(21)).await.0, 400);

    // The limit is a setting, and an enterprise may be granted more (增配).
    let mock = start_with(|c| {
        c.rules.whitelist_ips_per_game = 2;
        c.enterprises[0].whitelist_ips_granted = 1;
    })
    .await;
    assert_eq!(set_whitelist(&mock, DEFAULT_APP_ID, &addresses(3)).await.0, 200);
    let (status, answer) = set_whitelist(&mock, DEFAULT_APP_ID, &addresses(4)).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("2 per linked game × 1 game(s) + 1 granted"), "{answer}");
    let err = nppa_mockserver::MockServer::new({
        let mut config = test_config();
        config.enterprises[0].ip_whitelist = addresses(11);
        config
    })
    .map(|_| ())
    .unwrap_err()
    .to_string();
    assert!(err.contains("enterprise[0].ip_whitelist") && err.contains("11 whitelist entries, 10 allowed"), "{err}");
}

/// A check signed for the default enterprise, at the mock's time, with `Content-Type` left out.
async fn check_without_content_type(mock: &Mock) -> nppa_harness::client::Exchange {
    let credentials = Credentials {
        app_id: DEFAULT_APP_ID.into(),
        biz_id: DEFAULT_BIZ_ID.into(),
        key: SecretKey::from_hex(DEFAULT_SECRET_KEY).unwrap(),
    };
    let body = CheckRequest { ai: PRESET_OK.0.into(), name: PRESET_OK.1.into(), id_num: PRESET_OK.2.into() };
    let mut signed = request::check(&credentials, &Target::Production, &body, mock.now_ms().await, [7; 12]);
    signed.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-type"));
    mock.client().send(signed).await.unwrap()
}

/// The journal's header names of the last check.
async fn last_check_headers(mock: &Mock) -> Vec<String> {
    let query = JournalQuery { interface: Some(Interface::Check), ..JournalQuery::default() };
    let page = mock.admin_api().journal(&query).await.unwrap();
    page.entries.last().unwrap().headers.iter().map(|(name, _)| name.clone()).collect()
}

/// V2.1 (check and loginout request headers): "Content-Type String Y 报文类型 默认值 application/json; charset=utf-8" —
/// required, with a default value, and no code named for its absence. SPEC R-HDR-1; README choice: read it as JSON
/// and answer as usual, journaled as sent, so that certify can warn; `rules.require_content_type` answers 1004.
#[tokio::test]
async fn r_hdr_1_a_post_without_content_type_is_answered_and_the_journal_shows_it_was_not_sent() {
    let mock = start().await;
    let answered = check_without_content_type(&mock).await;
    assert_eq!(code(&answered), 0);
    assert_eq!(answered.status(), Some(0));
    let names = last_check_headers(&mock).await;
    assert!(names.iter().any(|n| n == "sign") && !names.iter().any(|n| n == "content-type"), "{names:?}");
    mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert!(last_check_headers(&mock).await.iter().any(|n| n == "content-type"), "a client that sends it");

    let strict = start_with(|c| c.rules.require_content_type = true).await;
    assert_eq!(code(&check_without_content_type(&strict).await), 1004);
    assert_eq!(code(&strict.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 0);
}

/// 1009 "接口请求方权限未启用" (V2.1 code table); the seeds do not say whether the test system answers it. README
/// choice: the test system serves the enterprise (FAQ 21, "接口测试功能是面向企业主体服务的"), so a disabled enterprise
/// is disabled there too, from the moment the portal (the admin API) switches it (SPEC R-ORDER: 1009 before 1005).
#[tokio::test]
async fn r_ent_1_a_disabled_enterprise_gets_1009_on_the_test_system_too() {
    let mock = start().await;
    let test = mock.client_for("7e57a99c0de0466b9d1c3f5e8a2b4d60", "1101999998", "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    let testcase01 = test.with_target(Target::TestSystem { test_code: "3f9c2a7e51d04b86".into() });
    assert_eq!(code(&testcase01.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 0);

    let path = format!("/__admin/enterprises/{DEFAULT_APP_ID}");
    assert_eq!(mock.admin("POST", &path, Some(json!({"enabled": false}))).await.0, 200);
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 1009, "production");
    assert_eq!(code(&testcase01.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 1009, "test system");
    assert_eq!(mock.admin("POST", &path, Some(json!({"enabled": true}))).await.0, 200);
    assert_eq!(code(&testcase01.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 0);

    // Disabled in the configuration: the same from the start.
    let mock = start_with(|c| c.enterprises[0].enabled = false).await;
    let test = mock.client_for("7e57a99c0de0466b9d1c3f5e8a2b4d60", "1101999998", "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    let testcase01 = test.with_target(Target::TestSystem { test_code: "3f9c2a7e51d04b86".into() });
    assert_eq!(code(&testcase01.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 1009);
}
