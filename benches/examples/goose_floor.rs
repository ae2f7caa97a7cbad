//! What a goose-based driver pays per request before it builds, signs or records anything: one goose user sending
//! one prebuilt request as fast as it can, through one of three HTTP clients. The yardsticks of `nppa load`'s cost
//! (`benches/instructions.py --only driver` runs each under callgrind for two durations):
//!
//! - `goose`: `GooseUser::request`, goose's own path (reqwest, its pool, its URL and metric handling), reading nothing;
//! - `hyper-util`: hyper-util's pooled client (what reqwest is built on), reading the whole answer;
//! - `sender`: `nppa_scenarios::sender::Sender`, what `nppa load` sends with (a kept-alive hyper connection), reading
//!   and parsing the answer as the driver does; the request is cloned each time, as the sender consumes it.
//!
//!     goose_floor goose|hyper-util|sender BASE_URL SECONDS PATH BODY [HEADER: VALUE]…
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use goose::config::GooseConfiguration;
use goose::goose::{GooseMethod, GooseRequest, GooseUser, Scenario, Transaction, TransactionFunction};
use goose::GooseAttack;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use nppa_protocol::request::SignedRequest;
use nppa_protocol::Interface;
use nppa_scenarios::sender::Sender;

/// The request, prebuilt for each client.
#[allow(clippy::large_enum_variant, reason = "one value a run, kept in a static")]
enum Prebuilt {
    Goose { path: String, body: Bytes, headers: reqwest::header::HeaderMap },
    HyperUtil { client: Client<HttpConnector, Full<Bytes>>, request: hyper::Request<Full<Bytes>> },
    Sender { sender: Sender, request: SignedRequest },
}

static PREBUILT: OnceLock<Prebuilt> = OnceLock::new();

async fn send_one(user: &mut GooseUser) {
    match PREBUILT.get().unwrap() {
        Prebuilt::Goose { path, body, headers } => {
            let builder =
                user.get_request_builder(&GooseMethod::Post, path).unwrap().headers(headers.clone()).body(body.clone());
            let _ = user.request(GooseRequest::builder().set_request_builder(builder).build()).await;
        }
        Prebuilt::HyperUtil { client, request } => {
            let mut copy = hyper::Request::new(request.body().clone());
            *copy.method_mut() = request.method().clone();
            *copy.uri_mut() = request.uri().clone();
            *copy.headers_mut() = request.headers().clone();
            let response = client.request(copy).await.unwrap();
            std::hint::black_box(response.into_body().collect().await.unwrap().to_bytes());
        }
        Prebuilt::Sender { sender, request } => {
            std::hint::black_box(sender.send(&mut request.clone()).await);
        }
    }
}

fn prebuild(client: &str, base_url: &str, path: &str, body: &str, headers: &[(String, String)]) -> Prebuilt {
    let body = Bytes::from(body.to_owned());
    match client {
        "goose" => {
            let mut map = reqwest::header::HeaderMap::new();
            for (name, value) in headers {
                map.insert(reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
            }
            Prebuilt::Goose { path: path.to_owned(), body, headers: map }
        }
        "hyper-util" => {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
            let mut request = hyper::Request::post(format!("{base_url}{path}")).body(Full::new(body)).unwrap();
            for (name, value) in headers {
                let name = hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap();
                request.headers_mut().insert(name, value.parse().unwrap());
            }
            Prebuilt::HyperUtil { client, request }
        }
        "sender" => {
            // The sender takes `SignedRequest`'s header names as `&'static str`: these live as long as the process.
            let headers = headers.iter().map(|(name, value)| (&*name.clone().leak(), value.clone())).collect();
            let request = SignedRequest {
                interface: Interface::Check,
                method: "POST",
                path_and_query: path.to_owned(),
                headers,
                body: body.to_vec(),
                plaintext: None,
                sign_string: Vec::new(),
            };
            Prebuilt::Sender { sender: Sender::new(base_url).unwrap(), request }
        }
        other => panic!("{other}: the client is goose, hyper-util or sender"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [client, base_url, seconds, path, body, headers @ ..] = args.as_slice() else {
        panic!("goose_floor goose|hyper-util|sender BASE_URL SECONDS PATH BODY [HEADER: VALUE]…");
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|header| header.split_once(": ").map(|(n, v)| (n.to_owned(), v.to_owned())).unwrap())
        .collect();
    assert!(PREBUILT.set(prebuild(client, base_url, path, body, &headers)).is_ok());
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
                send_one(user).await;
                sent.fetch_add(1, Ordering::Relaxed);
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
