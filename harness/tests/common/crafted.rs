//! Requests a test changes after signing: a header replaced, a body sealed by hand, signed again so that only the
//! intended fault remains.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use nppa_protocol::messages::CheckRequest;
use nppa_protocol::request::{self, SignedRequest, Target};
use nppa_protocol::sign;

use super::{credentials, PRESET_OK};

/// A check of the preset that succeeds, signed at `now_ms` with a fixed iv.
pub fn check_request(now_ms: u64) -> SignedRequest {
    let (ai, name, id) = PRESET_OK;
    let body = CheckRequest { ai: ai.into(), name: name.into(), id_num: id.into() };
    request::check(&credentials(), &Target::Production, &body, now_ms, [7; 12])
}

pub fn set_header(request: &mut SignedRequest, name: &str, value: &str) {
    for (n, v) in request.headers.iter_mut() {
        if *n == name {
            *v = value.to_owned();
        }
    }
}

/// Signs again after a test changed the body or headers, so that only the intended fault remains.
pub fn resign(request: &mut SignedRequest, key_hex: &str) {
    let header = |name: &str| request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap();
    let (app_id, biz_id, ts) = (header("appId"), header("bizId"), header("timestamps"));
    let params = [("appId", app_id.as_str()), ("bizId", biz_id.as_str()), ("timestamps", ts.as_str())];
    let signature = sign::sign(key_hex, &params, &request.body);
    set_header(request, "sign", &signature);
}

/// A POST to `path` whose plaintext is exactly `plaintext`, sealed and signed correctly with the default key.
pub fn sealed(path: &str, plaintext: &str, now_ms: u64) -> SignedRequest {
    let mut built = check_request(now_ms);
    built.path_and_query = path.into();
    built.body = format!(r#"{{"data":"{}"}}"#, credentials().key.seal(plaintext.as_bytes(), [9; 12])).into_bytes();
    resign(&mut built, nppa_harness::DEFAULT_SECRET_KEY);
    built
}
