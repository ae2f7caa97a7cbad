//! Request signing (R-SIG-1, R-SIG-2): `sign` = lowercase hex SHA-256 of
//! secretKey + every system parameter but `sign` and every URL query parameter, sorted by key in byte order,
//! each as key + value + the raw body exactly as sent (empty for GET).

use sha2::{Digest, Sha256};
use smallvec::SmallVec;
use subtle::ConstantTimeEq;

pub mod diagnosis;

/// The parameters that take part in a signature: `appId`, `bizId`, `timestamps` and the query parameters.
/// Order does not matter; they are sorted by key (byte order, stable for repeated keys) when signing.
pub type SignParams<'a> = [(&'a str, &'a str)];

/// The parameters in signing order, on the stack for the few a request signs (3 or 4: no allocation per request).
fn sorted<'a>(params: &'a SignParams<'a>) -> SmallVec<[&'a (&'a str, &'a str); 8]> {
    let mut sorted: SmallVec<[_; 8]> = params.iter().collect();
    // Stable, and without a buffer for short lists.
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
    lower_hex(digest(secret_key_hex, params, body))
}

/// The `sign` header value of a sign string already built ([`sign_string`]): the same as [`sign`], in one pass over
/// the string's bytes, for a client that keeps the string too.
pub fn sign_of_string(sign_string: &[u8]) -> String {
    lower_hex(Sha256::digest(sign_string).into())
}

fn lower_hex(digest: [u8; 32]) -> String {
    // Into a buffer of the right size: `hex::encode` goes through a char iterator, 2 200 instructions a sign.
    // 64 bytes always hold the hex of 32, and hex is ASCII: neither step can fail.
    let mut text = [0u8; 64];
    let _ = hex::encode_to_slice(digest, &mut text);
    std::str::from_utf8(&text).unwrap_or_default().to_owned()
}

/// Checks a received `sign` header: its 32 bytes against the digest, in constant time. Only 64 lowercase hex
/// characters can match ([`sign`] writes lowercase).
pub fn verify(secret_key_hex: &str, params: &SignParams<'_>, body: &[u8], received: &str) -> bool {
    decode(received).is_some_and(|sent| verify_decoded(secret_key_hex, params, body, &sent))
}

/// [`verify`] of a sign [`decode`]d once (a server trying several keys decodes it once).
pub fn verify_decoded(secret_key_hex: &str, params: &SignParams<'_>, body: &[u8], sent: &[u8; 32]) -> bool {
    digest(secret_key_hex, params, body).ct_eq(sent).into()
}

/// A byte's value as a hex digit: 0–15 for `0-9 a-f`; [`UPPER`] for `A-F` (well-formed, never matches: [`sign`]
/// writes lower case); [`NOT_HEX`] for any other byte. A table, so that a sign's 64 characters are read without a
/// branch each.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = match byte as u8 {
            b @ b'0'..=b'9' => b - b'0',
            b @ b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => UPPER,
            _ => NOT_HEX,
        };
        byte += 1;
    }
    table
};
const UPPER: u8 = 0x40;
const NOT_HEX: u8 = 0x80;

/// The 32 bytes of a sign written as [`sign`] writes it: 64 lowercase hex characters; `None` for anything else.
pub fn decode(received: &str) -> Option<[u8; 32]> {
    let hex: &[u8; 64] = received.as_bytes().try_into().ok()?;
    let (mut bytes, mut flags) = ([0u8; 32], 0u8);
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let (high, low) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
        flags |= high | low;
        // A flagged digit makes a wrong byte here, and `None` below.
        *byte = (high << 4) | (low & 0x0f);
    }
    (flags & (UPPER | NOT_HEX) == 0).then_some(bytes)
}

/// R-HDR-2: a `sign` header is well-formed when it is 64 hexadecimal characters.
pub fn is_well_formed(sign: &str) -> bool {
    sign.len() == 64 && sign.bytes().fold(0, |flags, b| flags | HEX_VALUE[usize::from(b)]) & NOT_HEX == 0
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

    proptest::proptest! {
        #[test]
        fn the_sign_of_a_built_sign_string_is_the_sign(
            key in "[0-9a-f]{32}",
            params in proptest::collection::vec(("[a-zA-Z]{1,12}", "[ -~]{0,40}"), 0..6),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let built = sign_string(&key, &params, &body);
            proptest::prop_assert_eq!(sign_of_string(&built), sign(&key, &params, &body));
        }

        /// The table reads a sign as the definitions say: 64 hex characters are well-formed; only lower case decodes,
        /// to the bytes `hex` decodes.
        #[test]
        fn decode_and_is_well_formed_follow_their_definitions(text in "[0-9a-fA-F]{64}|[0-9a-f]{64}|[0-9a-g]{63,65}|.{0,70}") {
            let well_formed = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
            proptest::prop_assert_eq!(is_well_formed(&text), well_formed);
            let lower = well_formed && !text.bytes().any(|b| b.is_ascii_uppercase());
            let expected = lower.then(|| <[u8; 32]>::try_from(hex::decode(&text).unwrap_or_default()).ok()).flatten();
            proptest::prop_assert_eq!(decode(&text), expected);
        }
    }

    #[test]
    fn verify_refuses_upper_case_and_short_signs() {
        let params = [("appId", "a"), ("bizId", "b"), ("timestamps", "1")];
        let good = sign("00", &params, b"");
        assert!(verify("00", &params, b"", &good));
        assert!(!verify("00", &params, b"", &good.to_uppercase()));
        assert!(!verify("00", &params, b"", &good[..63]));
        assert!(!verify("00", &params, b"", &format!("{good}0")));
        assert!(!verify("00", &params, b"", &"g".repeat(64)), "not hex");
        let mut one_digit_off = good.clone().into_bytes();
        one_digit_off[40] = if one_digit_off[40] == b'0' { b'1' } else { b'0' };
        let one_digit_off = String::from_utf8(one_digit_off).expect("ascii");
        assert!(!verify("00", &params, b"", &one_digit_off));
        assert!(!verify("01", &params, b"", &good), "another key");
        assert_eq!(decode(&good).map(hex::encode), Some(good.clone()), "decode undoes sign's hex");
        assert!(is_well_formed(&good));
        assert!(!is_well_formed("xyz"));
    }
}
