//! R-KEY-1 key rotation windows and R-IP-1 / enterprise changes at run time through the admin API,
//! on the mock clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::{DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

async fn keys(mock: &Mock) -> Vec<Value> {
    let (status, list) = mock.admin("GET", "/__admin/enterprises?reveal=keys", None).await;
    assert_eq!(status, 200);
    list["enterprises"][0]["keys"].as_array().unwrap().clone()
}

/// errcode of a query signed with `key` (2003 means the signature passed).
async fn with_key(mock: &Mock, key: &str) -> u16 {
    code(&mock.client_for(DEFAULT_APP_ID, DEFAULT_BIZ_ID, key).query("k").await.unwrap())
}

#[tokio::test]
async fn r_key_1_a_replacement_is_issued_15_days_before_expiry_and_both_are_valid() {
    let mock = start_with(|c| {
        c.enterprises[0].secret_key_expires = Some("2026-02-04T12:00:00+08:00".into()); // start + 20 days
        c.enterprises[0].key_validity_days = Some(30.0);
    })
    .await;
    mock.freeze().await;
    assert_eq!(keys(&mock).await.len(), 1);
    mock.advance(5 * DAY - 1000).await;
    assert_eq!(keys(&mock).await.len(), 1, "not yet 15 days before expiry");
    mock.advance(1000).await;
    let list = keys(&mock).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|k| k["valid_now"] == true));
    let fresh = list[1]["secret_key"].as_str().unwrap().to_owned();
    assert_ne!(fresh, DEFAULT_SECRET_KEY);
    assert_eq!(with_key(&mock, DEFAULT_SECRET_KEY).await, 2003);
    assert_eq!(with_key(&mock, &fresh).await, 2003);
    // At expiry the old key answers 1011; the replacement carries on.
    mock.advance(15 * DAY - 1000).await;
    assert_eq!(with_key(&mock, DEFAULT_SECRET_KEY).await, 2003);
    mock.advance(1000).await;
    assert_eq!(with_key(&mock, DEFAULT_SECRET_KEY).await, 1011);
    assert_eq!(with_key(&mock, &fresh).await, 2003);
}

#[tokio::test]
async fn r_key_1_a_manual_refresh_keeps_the_old_key_three_days() {
    let mock = start().await;
    mock.freeze().await;
    let (status, list) = mock
        .admin(
            "POST",
            &format!("/__admin/enterprises/{DEFAULT_APP_ID}/keys?reveal=keys"),
            Some(json!({"action": "refresh"})),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let fresh = list["enterprises"][0]["keys"][1]["secret_key"].as_str().unwrap().to_owned();
    assert_eq!(with_key(&mock, &fresh).await, 2003);
    mock.advance(3 * DAY - 1000).await;
    assert_eq!(with_key(&mock, DEFAULT_SECRET_KEY).await, 2003);
    mock.advance(1000).await;
    assert_eq!(with_key(&mock, DEFAULT_SECRET_KEY).await, 1011);
    assert_eq!(with_key(&mock, &fresh).await, 2003);
}

#[tokio::test]
async fn r_key_1_invalidate_now_and_a_key_not_yet_valid() {
    let mock = start().await;
    mock.freeze().await;
    let path = format!("/__admin/enterprises/{DEFAULT_APP_ID}/keys");
    let now = mock.now_ms().await;
    let future = "00112233445566778899aabbccddeeff";
    let add = json!({"action": "add", "secret_key": future, "valid_from_ms": now + 60_000});
    assert_eq!(mock.admin("POST", &path, Some(add)).await.0, 200);
    assert_eq!(with_key(&mock, future).await, 1011, "not valid before valid_from_ms");
    let invalidate = json!({"action": "invalidate", "secret_key": DEFAULT_SECRET_KEY});
    assert_eq!(mock.admin("POST", &path, Some(invalidate)).await.0, 200);
    assert_eq!(with_key(&mock, DEFAULT_SECRET_KEY).await, 1011, "invalidated at once");
    mock.advance(60_000).await;
    assert_eq!(with_key(&mock, future).await, 2003);
    // Errors say what is wrong.
    let unknown = json!({"action": "invalidate", "secret_key": "ffffffffffffffffffffffffffffffff"});
    assert_eq!(mock.admin("POST", &path, Some(unknown)).await.0, 400);
    assert_eq!(mock.admin("POST", "/__admin/enterprises/nobody/keys", Some(json!({"action": "refresh"}))).await.0, 404);
    assert_eq!(mock.admin("POST", &path, Some(json!({"action": "spin"}))).await.0, 400);
}

#[tokio::test]
async fn enterprise_state_and_whitelist_change_at_once() {
    let mock = start().await;
    let path = format!("/__admin/enterprises/{DEFAULT_APP_ID}");
    let client = mock.client();
    assert_eq!(mock.admin("POST", &path, Some(json!({"enabled": false}))).await.0, 200);
    assert_eq!(code(&client.query("x").await.unwrap()), 1009);
    assert_eq!(mock.admin("POST", &path, Some(json!({"enabled": true}))).await.0, 200);
    assert_eq!(code(&client.query("x").await.unwrap()), 2003);
    // R-IP-1: the whitelist takes effect at once (FAQ 99).
    assert_eq!(mock.admin("POST", &path, Some(json!({"ip_whitelist": ["10.0.0.0/8"]}))).await.0, 200);
    assert_eq!(code(&client.query("x").await.unwrap()), 1005);
    let (status, error) = mock.admin("POST", &path, Some(json!({"ip_whitelist": ["localhost"]}))).await;
    assert_eq!(status, 400);
    assert!(error["error"].as_str().unwrap().contains("localhost"));
    assert_eq!(code(&client.query("x").await.unwrap()), 1005, "a refused change changes nothing");
    let (_, list) = mock.admin("POST", &path, Some(json!({"ip_whitelist": ["127.0.0.1"]}))).await;
    assert_eq!(list["enterprises"][0]["ip_whitelist"], json!(["127.0.0.1/32"]));
    assert_eq!(code(&client.query("x").await.unwrap()), 2003);
}
