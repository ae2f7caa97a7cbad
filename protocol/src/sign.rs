//! Request signing (R-SIG-1, R-SIG-2): `sign` = lowercase hex SHA-256 of
//! secretKey + every system parameter but `sign` and every URL query parameter, sorted by key in byte order,
//! each as key + value + the raw body exactly as sent (empty for GET).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The parameters that take part in a signature: `appId`, `bizId`, `timestamps` and the query parameters.
/// Order does not matter; they are sorted by key (byte order, stable for repeated keys) when signing.
pub type SignParams<'a> = [(&'a str, &'a str)];

fn sorted<'a>(params: &'a SignParams<'a>) -> Vec<&'a (&'a str, &'a str)> {
    let mut sorted: Vec<_> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted
}

/// The exact bytes that are hashed, for display (`nppa client -v`) and diagnosis.
pub fn sign_string(secret_key_hex: &str, params: &SignParams<'_>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(secret_key_hex.len() + 96 + body.len());
    out.extend_from_slice(secret_key_hex.as_bytes());
    for (key, value) in sorted(params) {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// The raw SHA-256 digest of the sign string, computed without building the string.
pub fn digest(secret_key_hex: &str, params: &SignParams<'_>, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(secret_key_hex.as_bytes());
    for (key, value) in sorted(params) {
        hasher.update(key.as_bytes());
        hasher.update(value.as_bytes());
    }
    hasher.update(body);
    hasher.finalize().into()
}

/// The `sign` header value: lowercase hex of [`digest`].
pub fn sign(secret_key_hex: &str, params: &SignParams<'_>, body: &[u8]) -> String {
    // Into a buffer of the right size: `hex::encode` goes through a char iterator, 2 200 instructions a sign.
    // 64 bytes always hold the hex of 32, and hex is ASCII: neither step can fail.
    let mut text = [0u8; 64];
    let _ = hex::encode_to_slice(digest(secret_key_hex, params, body), &mut text);
    std::str::from_utf8(&text).unwrap_or_default().to_owned()
}

/// Checks a received `sign` header in constant time. Only 64 lowercase hex characters can match.
pub fn verify(secret_key_hex: &str, params: &SignParams<'_>, body: &[u8], received: &str) -> bool {
    let expected = sign(secret_key_hex, params, body);
    expected.as_bytes().ct_eq(received.as_bytes()).into()
}

/// R-HDR-2: a `sign` header is well-formed when it is 64 hexadecimal characters.
pub fn is_well_formed(sign: &str) -> bool {
    sign.len() == 64 && sign.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_sorted_by_key_in_byte_order() {
        let text = sign_string("k", &[("timestamps", "3"), ("ai", "1"), ("appId", "2")], b"B");
        assert_eq!(text, b"kai1appId2timestamps3B");
        // Upper case sorts before lower case in byte order.
        let text = sign_string("k", &[("b", "1"), ("Z", "2")], b"");
        assert_eq!(text, b"kZ2b1");
    }

    #[test]
    fn verify_refuses_upper_case_and_short_signs() {
        let params = [("appId", "a"), ("bizId", "b"), ("timestamps", "1")];
        let good = sign("00", &params, b"");
        assert!(verify("00", &params, b"", &good));
        assert!(!verify("00", &params, b"", &good.to_uppercase()));
        assert!(!verify("00", &params, b"", &good[..63]));
        assert!(is_well_formed(&good));
        assert!(!is_well_formed("xyz"));
    }
}
