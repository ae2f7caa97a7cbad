//! Envelope open (R-ENC-1): any `data` string opens or fails cleanly; seal → open gives the plaintext back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nppa_protocol::envelope::DataBody;
use nppa_protocol::SecretKey;

fuzz_target!(|input: &[u8]| {
    let Ok(key) = SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5") else { return };
    // Any body: parse as the JSON envelope, then open.
    if let Some(body) = DataBody::parse(input) {
        let _ = key.open(&body.data);
    }
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = key.open(text);
    }
    // Round trip.
    let iv: [u8; 12] = core::array::from_fn(|i| input.get(i).copied().unwrap_or(0));
    let sealed = key.seal(input, iv);
    assert_eq!(key.open(&sealed).as_deref(), Ok(input), "decode(encode(x)) == x");
});
