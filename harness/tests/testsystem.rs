//! The official test system (SPEC §8) end to end: the 8 cases through the test paths with the reference client,
//! the unlocking of production, 4002/4003, and 1008/1010/1005 from mixing test and production.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_harness::client::Client;
use nppa_harness::{DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY};
use nppa_protocol::messages::BehaviourRecord;
use nppa_protocol::request::Target;
use serde_json::Value;

/// The test account as `GET /__admin/testsystem` shows it.
struct TestAccount {
    app_id: String,
    key: String,
    biz_id: String,
    codes: Vec<String>,
}

async fn account(mock: &Mock) -> TestAccount {
    let (status, state) = mock.admin("GET", "/__admin/testsystem?reveal=keys", None).await;
    assert_eq!(status, 200);
    let account = &state["accounts"][0];
    assert_eq!(account["enterprise"], DEFAULT_APP_ID);
    TestAccount {
        app_id: account["app_id"].as_str().unwrap().into(),
        key: account["secret_key"].as_str().unwrap().into(),
        biz_id: account["biz_id"].as_str().unwrap().into(),
        codes: account["cases"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect(),
    }
}

fn test_client(mock: &Mock, account: &TestAccount, case: usize) -> Client {
    mock.client_for(&account.app_id, &account.biz_id, &account.key)
        .with_target(Target::TestSystem { test_code: account.codes[case].clone() })
}

async fn passed(mock: &Mock) -> Vec<bool> {
    let (_, state) = mock.admin("GET", "/__admin/testsystem", None).await;
    state["accounts"][0]["cases"].as_array().unwrap().iter().map(|c| c["passed"].as_bool().unwrap()).collect()
}

fn record(ct: i64, now_ms: u64) -> BehaviourRecord {
    if ct == 2 {
        guest(1, "test-session", 1, now_ms)
    } else {
        verified(1, "test-session", 1, now_ms)
    }
}

#[tokio::test]
async fn the_eight_official_cases_pass_end_to_end_and_unlock_production() {
    let mock = start_with(|c| c.rules.require_test_pass = true).await;
    let production = mock.client();
    // Before the 8 cases, production answers 1008 (V2.1 FAQ 4, 1008 row).
    assert_eq!(code(&production.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap()), 1008);
    let account = account(&mock).await;
    let now = mock.now_ms().await;

    let answers: Vec<nppa_harness::client::Exchange> = vec![
        test_client(&mock, &account, 0).check("100000000000000001", "某一一", "110000190101010001").await.unwrap(),
        test_client(&mock, &account, 1).check("200000000000000001", "某二一", "110000190201010009").await.unwrap(),
        test_client(&mock, &account, 2).check("any-ai", "张三", &id_num(3)).await.unwrap(),
        test_client(&mock, &account, 3).query("100000000000000001").await.unwrap(),
        test_client(&mock, &account, 4).query("200000000000000001").await.unwrap(),
        test_client(&mock, &account, 5).query("300000000000000001").await.unwrap(),
    ];
    for (case, answer) in answers.iter().enumerate() {
        assert_eq!(code(answer), 0, "case {}", case + 1);
        assert_eq!(answer.status(), Some((case % 3) as u8), "testcase0{}", case + 1);
    }
    assert_eq!(answers[0].pi(), Some(PRESET_OK_PI));
    assert_eq!(answers[3].pi(), Some(PRESET_OK_PI));
    assert_eq!(passed(&mock).await, [true, true, true, true, true, true, false, false]);
    assert_eq!(code(&test_client(&mock, &account, 6).loginout(vec![record(2, now)]).await.unwrap()), 0);
    // Seven of eight: production is still closed.
    assert_eq!(code(&production.query("x").await.unwrap()), 1008);
    assert_eq!(code(&test_client(&mock, &account, 7).loginout(vec![record(0, now)]).await.unwrap()), 0);
    assert_eq!(passed(&mock).await, [true; 8]);
    let (_, state) = mock.admin("GET", "/__admin/testsystem", None).await;
    assert_eq!(state["accounts"][0]["production_unlocked"], true);
    // Production is open.
    let ok = production.check(PRESET_OK.0, PRESET_OK.1, PRESET_OK.2).await.unwrap();
    assert_eq!((code(&ok), ok.status()), (0, Some(0)));
    // Resetting the test system closes it again.
    let (status, _) = mock.admin("POST", "/__admin/testsystem/reset", None).await;
    assert_eq!(status, 200);
    assert_eq!(code(&production.query("x").await.unwrap()), 1008);
}

#[tokio::test]
async fn a_case_passes_only_on_its_own_answer() {
    let mock = start().await;
    let account = account(&mock).await;
    // testcase01 expects status 0; pending data answers 1 and does not pass it.
    let answer = test_client(&mock, &account, 0).check("200000000000000001", "某二一", "110000190201010009").await;
    assert_eq!(answer.unwrap().status(), Some(1));
    // The right ai with another person is "other data": status 2.
    let answer = test_client(&mock, &account, 0).check("100000000000000001", "某一二", "110000190101020007").await;
    assert_eq!(answer.unwrap().status(), Some(2));
    // testcase08 needs a preset pi: a well-formed pi of someone else is refused with 3010.
    let now = mock.now_ms().await;
    let mut stranger = verified(1, "s", 1, now);
    stranger.pi = Some("1hpfml09b57f3f8185f8cb5094ea3f26278efb".into());
    let answer = test_client(&mock, &account, 7).loginout(vec![stranger]).await.unwrap();
    assert_eq!((code(&answer), answer.rejected()), (3001, vec![(1, 3010)]));
    assert_eq!(passed(&mock).await, [false; 8]);
}

#[tokio::test]
async fn unknown_code_is_4002_and_a_code_on_the_wrong_interface_is_4003() {
    let mock = start().await;
    let account = account(&mock).await;
    let unknown = mock
        .client_for(&account.app_id, &account.biz_id, &account.key)
        .with_target(Target::TestSystem { test_code: "no-such-code".into() });
    assert_eq!(code(&unknown.query("100000000000000001").await.unwrap()), 4002);
    // testcase01's code belongs to check; used on query it is 4003.
    assert_eq!(code(&test_client(&mock, &account, 0).query("100000000000000001").await.unwrap()), 4003);
    let now = mock.now_ms().await;
    assert_eq!(code(&test_client(&mock, &account, 3).loginout(vec![record(2, now)]).await.unwrap()), 4003);
}

#[tokio::test]
async fn mixing_test_and_production_credentials_is_1008_or_1010() {
    let mock = start().await;
    let account = account(&mock).await;
    // 1008: test credentials on production …
    let test_on_production = mock.client_for(&account.app_id, &account.biz_id, &account.key);
    assert_eq!(code(&test_on_production.query("x").await.unwrap()), 1008);
    // … and production credentials on the test system.
    let production_on_test = mock
        .client_for(DEFAULT_APP_ID, DEFAULT_BIZ_ID, DEFAULT_SECRET_KEY)
        .with_target(Target::TestSystem { test_code: account.codes[3].clone() });
    assert_eq!(code(&production_on_test.query("100000000000000001").await.unwrap()), 1008);
    // 1010: the test bizId on production, and the production bizId on the test system (V2.1 FAQ 4, 1010 row).
    let test_biz_on_production = mock.client_for(DEFAULT_APP_ID, &account.biz_id, DEFAULT_SECRET_KEY);
    assert_eq!(code(&test_biz_on_production.query("x").await.unwrap()), 1010);
    let production_biz_on_test = mock
        .client_for(&account.app_id, DEFAULT_BIZ_ID, &account.key)
        .with_target(Target::TestSystem { test_code: account.codes[3].clone() });
    assert_eq!(code(&production_biz_on_test.query("100000000000000001").await.unwrap()), 1010);
}

#[tokio::test]
async fn the_test_system_has_its_own_whitelist() {
    let mock = start_with(|c| {
        if let Some(test) = c.enterprises[0].test.as_mut() {
            test.ip_whitelist = vec!["10.0.0.1".into()];
        }
    })
    .await;
    let account = account(&mock).await;
    assert_eq!(code(&test_client(&mock, &account, 3).query("100000000000000001").await.unwrap()), 1005);
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 2003, "production whitelist unaffected");
}

#[tokio::test]
async fn an_enterprise_that_passed_before_is_open_with_require_test_pass() {
    let mock = start_with(|c| {
        c.rules.require_test_pass = true;
        c.enterprises[1].test_passed = true;
    })
    .await;
    let other = mock.client_for(OTHER_APP_ID, OTHER_BIZ_ID, OTHER_KEY);
    assert_eq!(code(&other.query("x").await.unwrap()), 2003);
    assert_eq!(code(&mock.client().query("x").await.unwrap()), 1008);
    let (_, state): (u16, Value) = mock.admin("GET", "/__admin/testsystem", None).await;
    assert_eq!(state["accounts"].as_array().unwrap().len(), 1);
}
