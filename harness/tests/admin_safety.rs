//! The admin API cannot be driven by a web page the user opens: a `text/plain` POST from a foreign origin does not
//! install a fault, a DNS-rebound `Host` does not read the secretKeys, and from loopback by address it all works;
//! the secretKeys themselves are shown only to the admin token or to loopback asking `?reveal=keys` (#13 item 3).
//! Through the real server on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::DEFAULT_SECRET_KEY;
use nppa_mockserver::admin_api::SecretKeys;
use serde_json::json;

/// The test account's secretKey (config/default.toml).
const TEST_SECRET_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

#[tokio::test]
async fn a_web_page_cannot_install_a_fault_or_read_the_keys() {
    let mock = start().await;
    let url = |path: &str| format!("{}{path}", mock.base);
    let fault = r#"{"interface":"check","action":{"kind":"status","errcode":2007}}"#;
    // What a page at evil.example can send without a CORS preflight.
    let from_page = mock
        .http
        .post(url("/__admin/faults"))
        .header("Content-Type", "text/plain")
        .header("Origin", "https://evil.example")
        .body(fault)
        .send()
        .await
        .unwrap();
    assert!(matches!(from_page.status().as_u16(), 403 | 415), "{}", from_page.status());
    let same_type_foreign_origin = mock
        .http
        .post(url("/__admin/faults"))
        .header("Content-Type", "application/json")
        .header("Origin", "https://evil.example")
        .body(fault)
        .send()
        .await
        .unwrap();
    assert_eq!(same_type_foreign_origin.status().as_u16(), 403);
    assert!(mock.admin_api().faults().await.unwrap().rules.is_empty(), "no fault was installed");
    assert_eq!(code(&mock.client().check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 0);

    // DNS rebinding: the page's own name resolves to 127.0.0.1.
    let rebound =
        mock.http.get(url("/__admin/enterprises")).header("Host", "rebind.evil.example").send().await.unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
    let text = rebound.text().await.unwrap();
    assert!(!text.contains(nppa_harness::DEFAULT_SECRET_KEY) && text.contains("server.admin_hosts"), "{text}");

    // The tools, by address, as before.
    assert!(!mock.admin_api().enterprises().await.unwrap().enterprises.is_empty());
}

#[tokio::test]
async fn a_token_lets_a_configured_name_in_and_admin_remote_needs_one() {
    let mock = start_with(|c| c.server.admin_token = Some("t0ken".into())).await;
    let url = format!("{}/__admin/clock", mock.base);
    let named = |token: Option<&str>| {
        let mut request = mock.http.get(&url).header("Host", "mock.internal");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.send()
    };
    assert_eq!(named(None).await.unwrap().status().as_u16(), 403);
    assert_eq!(named(Some("wrong")).await.unwrap().status().as_u16(), 401);
    assert_eq!(named(Some("t0ken")).await.unwrap().status().as_u16(), 200);

    let mut config = test_config();
    config.server.admin_remote = true;
    let err = nppa_mockserver::MockServer::new(config).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("server.admin_token"), "{err}");
}

#[tokio::test]
async fn secret_keys_are_redacted_unless_revealed_from_loopback_or_asked_with_the_token() {
    let mock = start_with(|c| c.server.admin_token = Some("t0ken".into())).await;
    // A plain listing, a log of it or a tool that only wants names holds no key, and says so.
    for path in ["/__admin/enterprises", "/__admin/testsystem"] {
        let (status, text) = get_text(&mock, path).await;
        assert_eq!(status, 200, "{text}");
        assert!(!text.contains(DEFAULT_SECRET_KEY) && !text.contains(TEST_SECRET_KEY), "{path}: {text}");
        assert!(text.contains(r#""secret_keys":"redacted""#) && !text.contains(r#""secret_key""#), "{text}");
    }
    let listed = mock.admin_api().enterprises().await.unwrap();
    assert_eq!(listed.secret_keys, SecretKeys::Redacted);
    assert!(listed.enterprises.iter().flat_map(|e| &e.keys).all(|k| k.secret_key.is_none() && k.valid_now));
    // A refresh's answer is redacted as well: the new key is read by asking for it.
    let refreshed = mock
        .admin(
            "POST",
            &format!("/__admin/enterprises/{}/keys", nppa_harness::DEFAULT_APP_ID),
            Some(json!({"action": "refresh"})),
        )
        .await;
    assert_eq!(refreshed.0, 200);
    assert_eq!(refreshed.1["enterprises"][0]["keys"].as_array().map(Vec::len), Some(2));
    assert!(refreshed.1["enterprises"][0]["keys"][1].get("secret_key").is_none(), "{}", refreshed.1);

    // From loopback, asking.
    let revealed = mock.admin_api().revealing_keys().enterprises().await.unwrap();
    assert_eq!(revealed.secret_keys, SecretKeys::Shown);
    assert_eq!(revealed.enterprises[0].keys[0].secret_key.as_deref(), Some(DEFAULT_SECRET_KEY));
    assert!(revealed.enterprises[0].keys[1].secret_key.as_ref().is_some_and(|k| k.len() == 32));
    let test = mock.admin_api().revealing_keys().test_system().await.unwrap();
    assert_eq!(test.accounts[0].secret_key.as_deref(), Some(TEST_SECRET_KEY));
    // With the token (from anywhere): shown without asking.
    let with_token = mock.admin_api().with_token("t0ken").enterprises().await.unwrap();
    assert_eq!(with_token.enterprises[0].keys[0].secret_key.as_deref(), Some(DEFAULT_SECRET_KEY));
    // A query that is not ?reveal=keys is refused with what to send.
    let (status, text) = get_text(&mock, "/__admin/enterprises?reveal=all").await;
    assert_eq!(status, 400);
    assert!(text.contains("?reveal=keys"), "{text}");
}

/// A GET of the admin API from loopback by address: its status and text.
async fn get_text(mock: &Mock, path: &str) -> (u16, String) {
    let response = mock.http.get(format!("{}{path}", mock.base)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}
