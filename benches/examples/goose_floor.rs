//! goose's own floor: one goose user sending one prebuilt request as fast as it can, through `GooseUser::request`,
//! reading nothing. What any goose-based driver pays per request before it builds, signs or reads anything; the
//! yardstick for `nppa load`'s driver cost (`benches/instructions.py` runs it under callgrind for two durations).
//!
//!     goose_floor BASE_URL SECONDS PATH BODY [HEADER: VALUE]…
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use goose::config::GooseConfiguration;
use goose::goose::{GooseMethod, GooseRequest, GooseUser, Scenario, Transaction, TransactionFunction};
use goose::GooseAttack;

struct Prebuilt {
    path: String,
    body: bytes::Bytes,
    headers: reqwest::header::HeaderMap,
}

static PREBUILT: OnceLock<Prebuilt> = OnceLock::new();

async fn send_one(user: &mut GooseUser, sent: &AtomicU64) {
    let prebuilt = PREBUILT.get().unwrap();
    let builder = user
        .get_request_builder(&GooseMethod::Post, &prebuilt.path)
        .unwrap()
        .headers(prebuilt.headers.clone())
        .body(prebuilt.body.clone());
    let _ = user.request(GooseRequest::builder().set_request_builder(builder).build()).await;
    sent.fetch_add(1, Ordering::Relaxed);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base_url, seconds, path, body, headers @ ..] = args.as_slice() else {
        panic!("goose_floor BASE_URL SECONDS PATH BODY [HEADER: VALUE]…");
    };
    let mut map = reqwest::header::HeaderMap::new();
    for header in headers {
        let (name, value) = header.split_once(": ").unwrap();
        map.insert(reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    let prebuilt = Prebuilt { path: path.clone(), body: bytes::Bytes::from(body.clone().into_bytes()), headers: map };
    assert!(PREBUILT.set(prebuilt).is_ok());
    let sent = Arc::new(AtomicU64::new(0));
    let mut config = GooseConfiguration::default();
    config.host = Some(base_url.clone());
    config.users = Some(1);
    config.increase_rate = Some("1".into());
    config.run_time = Some(format!("{seconds}s"));
    config.quiet = 1;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_telnet = true;
    config.no_metrics = true;
    let step: TransactionFunction = {
        let sent = sent.clone();
        Arc::new(move |user| {
            let sent = sent.clone();
            Box::pin(async move {
                send_one(user, &sent).await;
                Ok(())
            })
        })
    };
    GooseAttack::initialize_with_config(config)
        .unwrap()
        .register_scenario(Scenario::new("floor").register_transaction(Transaction::new(step)))
        .execute()
        .await
        .unwrap();
    println!("{}", sent.load(Ordering::Relaxed));
}
