//! The admin API cannot be driven by a web page the user opens: a `text/plain` POST from a foreign origin does not
//! install a fault, a DNS-rebound `Host` does not read the secretKeys, and from loopback by address it all works.
//! Through the real server on a loopback port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

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
