//! R-RL-1 / R-RL-2: quotas per (appId, bizId, interface), 1006 and the 60 s block, on the mock clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_mockserver::config::QuotaBlock;
use nppa_protocol::QuotaProfile;

async fn report(client: &nppa_harness::client::Client, now: u64) -> u16 {
    code(&client.loginout(vec![guest(1, "s", 1, now)]).await.unwrap())
}

#[tokio::test]
async fn r_rl_1_and_2_the_51st_loginout_in_a_second_is_1006_and_blocks_for_60_s() {
    let mock = start().await;
    mock.freeze().await;
    let now = mock.now_ms().await;
    let client = mock.client();
    for i in 0..50 {
        assert_eq!(report(&client, now).await, 0, "request {i} is within 50 QPS");
    }
    assert_eq!(report(&client, now).await, 1006);
    // The block is per (appId, bizId, interface): real-name calls of the same game still pass …
    assert_eq!(code(&client.query("nothing").await.unwrap()), 2003);
    // … and so does another appId reporting for the same game (a channel).
    let channel = mock.client_for(OTHER_APP_ID, nppa_harness::DEFAULT_BIZ_ID, OTHER_KEY);
    assert_eq!(report(&channel, now).await, 0);
    // A new second does not lift the block; 60 s after the first 1006 does.
    mock.advance(59_999).await;
    assert_eq!(report(&client, now + 59_999).await, 1006);
    mock.advance(1).await;
    assert_eq!(report(&client, now + 60_000).await, 0);
    let (_, stats) = mock.admin("GET", "/__admin/stats", None).await;
    assert_eq!(stats["quota_blocks_started"], 1);
}

#[tokio::test]
async fn the_v1_profile_allows_10_loginouts_a_second() {
    let mock = start_with(|c| c.server.quota_profile = QuotaProfile::V1).await;
    mock.freeze().await;
    let now = mock.now_ms().await;
    let client = mock.client();
    for _ in 0..10 {
        assert_eq!(report(&client, now).await, 0);
    }
    assert_eq!(report(&client, now).await, 1006);
}

#[tokio::test]
async fn a_per_game_override_and_the_next_minute_option() {
    let mock = start_with(|c| {
        c.games[0].quota.loginout = Some(2);
        c.server.quota_block = QuotaBlock::NextMinute;
    })
    .await;
    mock.freeze().await;
    // 12:00:00.000 Beijing + 30 s: the block ends at 12:01:00.
    mock.set_clock(NOON_BEIJING_MS + 30_000).await;
    let client = mock.client();
    let now = NOON_BEIJING_MS + 30_000;
    assert_eq!(report(&client, now).await, 0);
    assert_eq!(report(&client, now).await, 0);
    assert_eq!(report(&client, now).await, 1006);
    mock.set_clock(NOON_BEIJING_MS + 59_999).await;
    assert_eq!(report(&client, NOON_BEIJING_MS + 59_999).await, 1006);
    mock.set_clock(NOON_BEIJING_MS + 60_000).await;
    assert_eq!(report(&client, NOON_BEIJING_MS + 60_000).await, 0);
}

#[tokio::test]
async fn quotas_can_be_switched_off_for_load_tests() {
    let mock = start_with(|c| c.server.quotas = false).await;
    mock.freeze().await;
    let now = mock.now_ms().await;
    let client = mock.client();
    for _ in 0..60 {
        assert_eq!(report(&client, now).await, 0);
    }
}
