//! R-ORDER as a table: a check that breaks two rules at once is answered with the code of the rule that comes
//! first in SPEC §4's order, through the real server on a loopback port. Each row breaks one rule, either in the
//! request or in the mock's configuration; every pair of rows that break different parts of the request is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use nppa_mockserver::Config;
use nppa_protocol::messages::CheckRequest;
use nppa_protocol::request::{self, Credentials, SignedRequest, Target};
use nppa_protocol::{sign, SecretKey, StatusCode};

/// The part of the request (or of the configuration) a row breaks; two rows that break the same part cannot be
/// combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Path,
    Method,
    BizId,
    AppId,
    Timestamps,
    Sign,
    Body,
    Config,
}

/// One broken rule.
struct Breaker {
    rule: &'static str,
    code: StatusCode,
    part: Part,
    config: fn(&mut Config),
    request: fn(&mut SignedRequest, u64),
}

fn no_config(_: &mut Config) {}
fn no_request(_: &mut SignedRequest, _: u64) {}

fn key() -> SecretKey {
    SecretKey::from_hex(nppa_harness::DEFAULT_SECRET_KEY).unwrap()
}

fn set_header(request: &mut SignedRequest, name: &str, value: &str) {
    for (n, v) in request.headers.iter_mut() {
        if *n == name {
            *v = value.to_owned();
        }
    }
}

fn header(request: &SignedRequest, name: &str) -> String {
    request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// A body sealed with the right key around `plaintext`.
fn sealed_body(plaintext: &str) -> Vec<u8> {
    format!(r#"{{"data":"{}"}}"#, key().seal(plaintext.as_bytes(), [9; 12])).into_bytes()
}

/// The rules in SPEC §4's R-ORDER, first to last.
fn breakers() -> Vec<Breaker> {
    vec![
        Breaker {
            rule: "1002 unknown path",
            code: StatusCode::ResourceNotExist,
            part: Part::Path,
            config: no_config,
            request: |r, _| r.path_and_query = "/idcard/authentication/checks".into(),
        },
        Breaker {
            rule: "1003 wrong method",
            code: StatusCode::MethodError,
            part: Part::Method,
            config: no_config,
            request: |r, _| r.method = "PUT",
        },
        Breaker {
            rule: "1004 bizId header missing (R-HDR-1)",
            code: StatusCode::HeaderMiss,
            part: Part::BizId,
            config: no_config,
            request: |r, _| r.headers.retain(|(n, _)| *n != "bizId"),
        },
        Breaker {
            rule: "1008 unknown appId",
            code: StatusCode::PartnerError,
            part: Part::AppId,
            config: no_config,
            request: |r, _| set_header(r, "appId", "ffffffffffffffffffffffffffffffff"),
        },
        Breaker {
            rule: "1009 enterprise disabled",
            code: StatusCode::PartnerAuthDisable,
            part: Part::Config,
            config: |c| c.enterprises[0].enabled = false,
            request: no_request,
        },
        Breaker {
            rule: "1005 IP not whitelisted (R-IP-1)",
            code: StatusCode::IpError,
            part: Part::Config,
            config: |c| c.enterprises[0].ip_whitelist = vec!["192.0.2.1".into()],
            request: no_request,
        },
        Breaker {
            rule: "1010 bizId not bound (R-ENT-1)",
            code: StatusCode::AuthError,
            part: Part::BizId,
            config: no_config,
            request: |r, _| set_header(r, "bizId", "1109999999"),
        },
        Breaker {
            rule: "1011 timestamps not a number (R-HDR-2)",
            code: StatusCode::PartnerAuthError,
            part: Part::Timestamps,
            config: no_config,
            request: |r, _| set_header(r, "timestamps", "12:00"),
        },
        Breaker {
            rule: "1007 timestamps 60 s behind (R-TS-1)",
            code: StatusCode::Expire,
            part: Part::Timestamps,
            config: no_config,
            request: |r, now| set_header(r, "timestamps", &(now - 60_000).to_string()),
        },
        Breaker {
            rule: "1006 over the quota (R-RL-1)",
            code: StatusCode::Busy,
            part: Part::Config,
            config: |c| c.games[0].quota.check = Some(0),
            request: no_request,
        },
        Breaker {
            rule: "1011 wrong sign (R-SIG-3)",
            code: StatusCode::PartnerAuthError,
            part: Part::Sign,
            config: no_config,
            request: |r, _| set_header(r, "sign", &"0".repeat(64)),
        },
        Breaker {
            rule: "1001 body not {\"data\":…} (R-ENC-1)",
            code: StatusCode::SysError,
            part: Part::Body,
            config: no_config,
            request: |r, _| r.body = b"{\"date\":\"x\"}".to_vec(),
        },
        Breaker {
            rule: "1011 body does not decrypt (R-SIG-3)",
            code: StatusCode::PartnerAuthError,
            part: Part::Body,
            config: no_config,
            request: |r, _| r.body = br#"{"data":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#.to_vec(),
        },
        Breaker {
            rule: "1001 plaintext not JSON",
            code: StatusCode::SysError,
            part: Part::Body,
            config: no_config,
            request: |r, _| r.body = sealed_body("ai=1"),
        },
        Breaker {
            rule: "1012 plaintext of the wrong shape",
            code: StatusCode::ParamCheckError,
            part: Part::Body,
            config: no_config,
            request: |r, _| r.body = sealed_body(r#"{"ai":1,"name":"某一一","idNum":"110000190101010001"}"#),
        },
        Breaker {
            rule: "2001 idNum illegal (R-ID)",
            code: StatusCode::IdNumIllegal,
            part: Part::Body,
            config: no_config,
            request: |r, _| r.body = sealed_body(r#"{"ai":"order-ai","name":"某一一","idNum":"110000190101010002"}"#),
        },
    ]
}

/// A correct check, then the rows' changes; re-signed with the right key unless a row breaks the sign.
fn broken_request(rows: &[&Breaker], now_ms: u64) -> SignedRequest {
    let (ai, name, id_num) = PRESET_OK;
    let body = CheckRequest { ai: ai.into(), name: name.into(), id_num: id_num.into() };
    let credentials = Credentials {
        app_id: nppa_harness::DEFAULT_APP_ID.into(),
        biz_id: nppa_harness::DEFAULT_BIZ_ID.into(),
        key: key(),
    };
    let mut built = request::check(&credentials, &Target::Production, &body, now_ms, [7; 12]);
    for row in rows {
        (row.request)(&mut built, now_ms);
    }
    if !rows.iter().any(|row| row.part == Part::Sign) {
        let (app_id, biz_id, ts) = (header(&built, "appId"), header(&built, "bizId"), header(&built, "timestamps"));
        let params = [("appId", app_id.as_str()), ("bizId", biz_id.as_str()), ("timestamps", ts.as_str())];
        let signature = sign::sign(key().as_hex(), &params, &built.body);
        set_header(&mut built, "sign", &signature);
    }
    built
}

async fn answer(rows: &[&Breaker]) -> u16 {
    let mock = start_with(|config| {
        for row in rows {
            (row.config)(config);
        }
    })
    .await;
    let now = mock.now_ms().await;
    let exchange = mock.client().send(broken_request(rows, now)).await.unwrap();
    code(&exchange)
}

#[tokio::test]
async fn r_order_each_rule_alone_gives_its_code() {
    for row in &breakers() {
        assert_eq!(answer(&[row]).await, row.code.code(), "{}", row.rule);
    }
}

#[tokio::test]
async fn r_order_a_request_breaking_two_rules_gets_the_earlier_rules_code() {
    let rows = breakers();
    let mut pairs = 0;
    for (i, first) in rows.iter().enumerate() {
        for later in &rows[i + 1..] {
            if first.part == later.part && first.part != Part::Config {
                continue; // both change the same part of the request: one would undo the other
            }
            // Either order of applying the changes; the answer names the rule that comes first in R-ORDER.
            assert_eq!(answer(&[first, later]).await, first.code.code(), "{} + {}", first.rule, later.rule);
            assert_eq!(answer(&[later, first]).await, first.code.code(), "{} + {}", later.rule, first.rule);
            pairs += 1;
        }
    }
    assert!(pairs > 90, "only {pairs} pairs were combined");
}
