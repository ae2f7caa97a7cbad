//! The request body envelope (R-ENC-1): `{"data":"<base64(iv[12] || AES-128-GCM ciphertext || tag[16])>"}`,
//! key = the 16 bytes hex-decoded from the 32-hex-character secretKey, no associated data.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Length of the GCM nonce that prefixes every sealed body.
pub const IV_LEN: usize = 12;
/// Length of the GCM tag that ends every sealed body.
pub const TAG_LEN: usize = 16;

/// A secretKey: 32 hex characters as issued, and the 16 key bytes they encode.
#[derive(Clone)]
pub struct SecretKey {
    hex: String,
    cipher: Aes128Gcm,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself in logs.
        write!(f, "SecretKey({}…)", &self.hex[..4])
    }
}

/// Why a secretKey string is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a secretKey is 32 hexadecimal characters, this one has {0}")]
    Length(usize),
    #[error("a secretKey is hexadecimal (0-9, a-f), this one is not")]
    NotHex,
}

impl SecretKey {
    /// Parses the 32-hex-character secretKey as issued by the portal.
    pub fn from_hex(hex_key: &str) -> Result<SecretKey, KeyError> {
        if hex_key.len() != 32 {
            return Err(KeyError::Length(hex_key.len()));
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(hex_key, &mut bytes).map_err(|_| KeyError::NotHex)?;
        let cipher = Aes128Gcm::new(Key::<Aes128Gcm>::from_slice(&bytes));
        Ok(SecretKey { hex: hex_key.to_owned(), cipher })
    }

    /// The key as issued (32 hex characters); this string starts every sign string (R-SIG-1).
    pub fn as_hex(&self) -> &str {
        &self.hex
    }

    /// Seals a plaintext with the given nonce: the base64 that goes in `data`.
    /// Callers must use a fresh random nonce for every request.
    pub fn seal(&self, plaintext: &[u8], iv: [u8; IV_LEN]) -> String {
        BASE64.encode(self.sealed(plaintext, iv))
    }

    /// The POST body of a sealed plaintext, compact (R-SIG-2): what `DataBody { data: seal(…) }.to_json()` gives,
    /// written straight into one buffer of its exact size, which a `Bytes` then takes without another allocation.
    pub fn seal_body(&self, plaintext: &[u8], iv: [u8; IV_LEN]) -> Vec<u8> {
        let (open, close) = (COMPACT_OPEN.as_bytes(), COMPACT_CLOSE.as_bytes());
        let sealed = self.sealed(plaintext, iv);
        // A sealed body is a few hundred bytes: its base64 length cannot overflow.
        let encoded = base64::encoded_len(sealed.len(), true).unwrap_or_default();
        let mut body = Vec::with_capacity(open.len() + encoded + close.len());
        body.extend_from_slice(open);
        body.resize(open.len() + encoded, 0);
        // The slice is exactly the encoded length: encoding into it cannot fail.
        let _ = BASE64.encode_slice(&sealed, &mut body[open.len()..]);
        body.extend_from_slice(close);
        body
    }

    /// iv, ciphertext and tag in one buffer: encrypted in place, then the tag appended.
    fn sealed(&self, plaintext: &[u8], iv: [u8; IV_LEN]) -> Vec<u8> {
        let mut sealed = Vec::with_capacity(IV_LEN + plaintext.len() + TAG_LEN);
        sealed.extend_from_slice(&iv);
        sealed.extend_from_slice(plaintext);
        // Encryption with a 12-byte nonce cannot fail for inputs under 64 GiB.
        match self.cipher.encrypt_in_place_detached(Nonce::from_slice(&iv), b"", &mut sealed[IV_LEN..]) {
            Ok(tag) => sealed.extend_from_slice(&tag),
            Err(_) => unreachable_encrypt(),
        }
        sealed
    }

    /// Opens the base64 of `data`: the plaintext bytes, or why it does not decrypt.
    pub fn open(&self, data_base64: &str) -> Result<Vec<u8>, EnvelopeError> {
        let mut sealed = BASE64.decode(data_base64).map_err(|_| EnvelopeError::Base64)?;
        if sealed.len() < IV_LEN + TAG_LEN {
            return Err(EnvelopeError::TooShort(sealed.len()));
        }
        // Decrypted where it was decoded: one buffer a request, not two.
        let tag_at = sealed.len() - TAG_LEN;
        let (iv, rest) = sealed.split_at_mut(IV_LEN);
        let (ciphertext, tag) = rest.split_at_mut(tag_at - IV_LEN);
        self.cipher
            .decrypt_in_place_detached(Nonce::from_slice(iv), b"", ciphertext, aes_gcm::Tag::from_slice(tag))
            .map_err(|_| EnvelopeError::Tag)?;
        sealed.truncate(tag_at);
        sealed.drain(..IV_LEN);
        Ok(sealed)
    }
}

#[cold]
fn unreachable_encrypt() -> ! {
    // aes-gcm only refuses plaintexts longer than 2^36 bytes; no request body comes near.
    panic!("AES-128-GCM refused to encrypt an in-memory plaintext")
}

/// Why a `data` value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("data is not standard base64 with padding")]
    Base64,
    #[error("data holds {0} bytes, fewer than iv (12) + tag (16)")]
    TooShort(usize),
    #[error("the AES-GCM tag does not verify: wrong key, or the ciphertext was changed")]
    Tag,
}

/// What comes before and after the base64 in the compact body (R-SIG-2), written by [`DataBody::to_json`] and
/// [`SecretKey::seal_body`].
const COMPACT_OPEN: &str = "{\"data\":\"";
const COMPACT_CLOSE: &str = "\"}";

/// The JSON body of every POST: `{"data":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataBody {
    pub data: String,
}

impl DataBody {
    /// The compact JSON that is sent and signed: `{"data":"…"}` with no spaces (R-SIG-2).
    pub fn to_json(&self) -> String {
        // base64 never needs JSON escaping. Pushed into a string of the right size (`format!` grows it twice).
        let mut json = String::with_capacity(COMPACT_OPEN.len() + self.data.len() + COMPACT_CLOSE.len());
        json.push_str(COMPACT_OPEN);
        json.push_str(&self.data);
        json.push_str(COMPACT_CLOSE);
        json
    }

    /// Parses a received body; `None` when it is not a JSON object with a string `data`.
    pub fn parse(body: &[u8]) -> Option<DataBody> {
        data_of(body).map(|data| DataBody { data: data.into_owned() })
    }
}

/// The `data` string of a received body, borrowed from it when it needs no unescaping (base64 never does); `None`
/// when the body is not a JSON object with a string `data`.
pub fn data_of(body: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    // The form clients write, `{"data":"…"}` with base64's characters only between the quotes, is read without a
    // parser: such a string has no escape and no control character, so it is the string serde would read
    // (a proptest holds the two to each other). Anything else goes through serde.
    let compact = body.strip_prefix(br#"{"data":""#).and_then(|rest| rest.strip_suffix(br#""}"#));
    if let Some(data) = compact.filter(|data| is_base64_text(data)) {
        return std::str::from_utf8(data).ok().map(std::borrow::Cow::Borrowed);
    }
    data_of_parsed(body)
}

/// Only base64's characters (`A–Z a–z 0–9 + / =`). No early exit, so that it checks many bytes at a time.
fn is_base64_text(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |all, &b| all & (b.is_ascii_alphanumeric() | (b == b'+') | (b == b'/') | (b == b'=')))
}

/// [`data_of`] by serde, for any body.
fn data_of_parsed(body: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    #[derive(Deserialize)]
    struct Borrowed<'a> {
        #[serde(borrow)]
        data: std::borrow::Cow<'a, str>,
    }
    // serde would also read a struct from a JSON array (`["…"]`); only an object is an envelope.
    if *body.iter().find(|b| !b.is_ascii_whitespace())? != b'{' {
        return None;
    }
    crate::json::from_bytes::<Borrowed<'_>>(body).ok().map(|b| b.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_keys_that_are_not_32_hex() {
        assert_eq!(SecretKey::from_hex("abc").err(), Some(KeyError::Length(3)));
        assert_eq!(SecretKey::from_hex("zzc932250dbe59ff53b15ee993a9feb5").err(), Some(KeyError::NotHex));
    }

    proptest::proptest! {
        /// The compact form's shortcut reads what serde reads, whatever is between the quotes.
        #[test]
        fn data_of_reads_what_serde_reads(
            inside in r#"[A-Za-z0-9+/=]{0,40}|[A-Za-z0-9+/="\\ \x00-\x1f\u{80}-\u{10ffff}]{0,12}"#,
            spaced in proptest::bool::ANY,
        ) {
            let body = if spaced { format!(r#"{{ "data": "{inside}" }}"#) } else { format!(r#"{{"data":"{inside}"}}"#) };
            proptest::prop_assert_eq!(data_of(body.as_bytes()), data_of_parsed(body.as_bytes()));
        }
    }

    #[test]
    fn data_of_reads_the_compact_form_and_any_other() {
        assert_eq!(data_of(br#"{"data":"q83vEjRWeJA="}"#).as_deref(), Some("q83vEjRWeJA="));
        assert_eq!(data_of(br#"{"data":"a\u0062"}"#).as_deref(), Some("ab"), "an escape: through serde");
        assert_eq!(data_of(b"{\"data\":\"a\x01\"}"), None, "a control character is not JSON");
        assert_eq!(data_of(br#"{"data":"a"b"}"#), None);
        assert_eq!(data_of(br#" {"data":"YQ=="} "#).as_deref(), Some("YQ=="));
        assert_eq!(data_of(br#"["YQ=="]"#), None);
    }

    proptest::proptest! {
        #[test]
        fn a_sealed_body_is_the_compact_json_of_the_sealed_data(plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..600), iv: [u8; IV_LEN]) {
            let key = SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").expect("key");
            let body = key.seal_body(&plaintext, iv);
            let expected = DataBody { data: key.seal(&plaintext, iv) }.to_json();
            proptest::prop_assert_eq!(body.as_slice(), expected.as_bytes());
            // Exactly its size: `Bytes::from` takes such a buffer without allocating (the load driver's send).
            proptest::prop_assert_eq!(body.capacity(), body.len());
        }
    }

    #[test]
    fn compact_body_has_no_spaces() {
        let body = DataBody { data: "abc=".into() };
        assert_eq!(body.to_json(), r#"{"data":"abc="}"#);
        assert_eq!(DataBody::parse(br#"{"data": "abc="}"#), Some(body));
        assert_eq!(DataBody::parse(br#"{"data": 1}"#), None);
        assert_eq!(DataBody::parse(br#"["abc="]"#), None);
    }
}
