//! The reference client's whole flow, as `nppa certify` judges a vendor's: the 8 official cases on the test
//! system, then production — a check that succeeds, a check that pends and its query, and a login and logout
//! for a verified user and a guest. `nppa client flow` runs it; `nppa certify -- nppa client flow` passes.

use anyhow::Context as _;
use nppa_protocol::messages::{bt, ct, BehaviourRecord};
use nppa_protocol::quota;
use nppa_protocol::request::Target;

use std::time::Duration;

use crate::client::{Client, Exchange, TimeSource};

/// What the flow needs, as `nppa certify` puts it in the environment.
#[derive(Debug, Clone)]
pub struct FlowEnv {
    pub base_url: String,
    pub app_id: String,
    pub biz_id: String,
    pub secret_key: String,
    pub test_app_id: String,
    pub test_biz_id: String,
    pub test_secret_key: String,
    /// The 8 codes, testcase01 first.
    pub test_codes: Vec<String>,
    /// Where `timestamps` come from (the system clock, as a vendor's client).
    pub time: TimeSource,
}

impl FlowEnv {
    /// From NPPA_* variables (a `lookup` such as `std::env::var`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<FlowEnv> {
        let get = |name: &str| lookup(name).with_context(|| format!("{name} is not set (nppa certify sets it)"));
        let codes: Vec<String> = get("NPPA_TEST_CODES")?.split(',').map(str::to_owned).collect();
        anyhow::ensure!(codes.len() == 8, "NPPA_TEST_CODES holds {} codes, not 8", codes.len());
        Ok(FlowEnv {
            base_url: get("NPPA_BASE_URL")?,
            app_id: get("NPPA_APP_ID")?,
            biz_id: get("NPPA_BIZ_ID")?,
            secret_key: get("NPPA_SECRET_KEY")?,
            test_app_id: get("NPPA_TEST_APP_ID")?,
            test_biz_id: get("NPPA_TEST_BIZ_ID")?,
            test_secret_key: get("NPPA_TEST_SECRET_KEY")?,
            test_codes: codes,
            time: TimeSource::System,
        })
    }

    /// The production client.
    pub fn production(&self) -> anyhow::Result<Client> {
        Ok(Client::new(&self.base_url, &self.app_id, &self.biz_id, &self.secret_key)?.with_time(self.time))
    }

    /// The test-system client for case `case` (0..8).
    pub fn test_case(&self, case: usize) -> anyhow::Result<Client> {
        let target = Target::TestSystem { test_code: self.test_codes[case].clone() };
        let client = Client::new(&self.base_url, &self.test_app_id, &self.test_biz_id, &self.test_secret_key)?;
        Ok(client.with_target(target).with_time(self.time))
    }
}

/// A record `seconds_ago` before now.
fn record(
    no: i64,
    si: &str,
    behaviour: i64,
    user: (i64, Option<String>, Option<String>),
    now_ms: u64,
) -> BehaviourRecord {
    let (ct, pi, di) = user;
    BehaviourRecord { no, si: si.to_owned(), bt: behaviour, ot: now_ms as i64 / 1000 - 1, ct, di, pi }
}

/// A session id of 32 hex characters.
fn session() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// One call as a careful client makes it (SPEC §8a): at most 3 attempts, each re-signed with a fresh timestamps
/// and iv, 200 ms apart; after a 1006 it waits 60 s; an answer that will not change is not retried; when NPPA
/// fails it gives up and lets the player play (fail open).
async fn call(client: &Client, attempt: impl AsyncFn() -> anyhow::Result<Exchange>) -> Option<Exchange> {
    for _ in 0..3 {
        let pause = match attempt().await {
            Ok(answer) if answer.http_status == 200 => match answer.code() {
                Some(code) if code.is_busy() => Duration::from_millis(quota::BLOCK_MS),
                Some(code) if code.is_transient() => Duration::from_millis(200),
                _ => return Some(answer),
            },
            // Another HTTP status, a broken answer, a reset connection, a timeout.
            Ok(_) | Err(_) => Duration::from_millis(200),
        };
        if client.sleep(pause).await.is_err() {
            return None;
        }
    }
    None
}

/// The official 8 cases, on the test system, each call as careful as production's (a test system can fail too).
pub async fn official_cases(env: &FlowEnv) -> anyhow::Result<()> {
    const PRESET_PI: &str = "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u";
    let checks = [
        ("100000000000000001".to_owned(), "某一一", "110000190101010001"),
        ("200000000000000001".to_owned(), "某二一", "110000190201010009"),
        (format!("{:032x}", rand::random::<u128>()), "张三", "11010519491231002X"),
    ];
    for (case, (ai, name, id_num)) in checks.iter().enumerate() {
        let client = env.test_case(case)?;
        call(&client, async || client.check(ai, name, id_num).await).await;
    }
    for (case, ai) in [(3, "100000000000000001"), (4, "200000000000000001"), (5, "300000000000000001")] {
        let client = env.test_case(case)?;
        call(&client, async || client.query(ai).await).await;
    }
    let guest = env.test_case(6)?;
    let now = guest.now_ms().await?;
    let report = vec![record(1, &session(), bt::LOGIN, (ct::GUEST, None, Some("device-1".into())), now)];
    call(&guest, async || guest.loginout(report.clone()).await).await;
    let verified = env.test_case(7)?;
    let report = vec![record(1, &session(), bt::LOGIN, (ct::VERIFIED, Some(PRESET_PI.into()), None), now)];
    call(&verified, async || verified.loginout(report.clone()).await).await;
    Ok(())
}

/// Production: check → (pending → query) → login and logout, as a well-behaved game server does.
pub async fn production(env: &FlowEnv) -> anyhow::Result<()> {
    let client = env.production()?;
    // FAQ 114: a 32-character ai, unique per check.
    let ok_ai = session();
    let ok = call(&client, async || client.check(&ok_ai, "某一二", "110000190101020007").await).await;
    let pi = ok.as_ref().and_then(Exchange::pi).map(str::to_owned);
    let pending_ai = session();
    let pending = call(&client, async || client.check(&pending_ai, "某二二", "110000190201020004").await).await;
    if pending.as_ref().and_then(Exchange::status) == Some(1) {
        // Query the pending ai (never re-check it); once is enough here.
        call(&client, async || client.query(&pending_ai).await).await;
    }
    let now = client.now_ms().await?;
    let verified_session = session();
    let guest_session = session();
    let login = vec![record(1, &guest_session, bt::LOGIN, (ct::GUEST, None, Some("device-42".into())), now)]
        .into_iter()
        .chain(pi.clone().map(|pi| record(2, &verified_session, bt::LOGIN, (ct::VERIFIED, Some(pi), None), now)))
        .collect::<Vec<_>>();
    call(&client, async || client.loginout(login.clone()).await).await;
    let now = client.now_ms().await?;
    let logout = vec![record(1, &guest_session, bt::LOGOUT, (ct::GUEST, None, Some("device-42".into())), now)]
        .into_iter()
        .chain(pi.map(|pi| record(2, &verified_session, bt::LOGOUT, (ct::VERIFIED, Some(pi), None), now)))
        .collect::<Vec<_>>();
    call(&client, async || client.loginout(logout.clone()).await).await;
    Ok(())
}

/// The whole flow.
pub async fn run(env: &FlowEnv) -> anyhow::Result<()> {
    official_cases(env).await?;
    production(env).await
}
