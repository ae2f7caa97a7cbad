//! Signature verification (R-SIG-1): any parameters, body and sign verify or fail cleanly; a sign we make verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nppa_protocol::sign;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let mut parts = text.splitn(4, '\u{0}');
    let key = parts.next().unwrap_or("");
    let ai = parts.next().unwrap_or("");
    let received = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("").as_bytes();
    let params = [("appId", "a"), ("bizId", "b"), ("timestamps", "1"), ("ai", ai)];
    let _ = sign::verify(key, &params, body, received);
    let _ = sign::is_well_formed(received);
    let made = sign::sign(key, &params, body);
    assert!(sign::verify(key, &params, body, &made));
    assert!(sign::is_well_formed(&made));
});
