//! A record's key as the store holds it: 33 bytes in the record itself, whatever the key's length, so that a record
//! needs no allocation of its own.

use sha2::{Digest, Sha256};

/// Longest key held as itself: a 32-character ASCII ai (FAQ 114 recommends 32) in the global namespace.
const INLINE: usize = 32;
/// The `len` of a key held as its SHA-256: a longer one (a per-game namespace's prefix, a multi-byte ai).
const DIGEST: u8 = u8::MAX;

/// A key's bytes when they fit, else its SHA-256. Two keys are equal exactly when their stored forms are: short and
/// long keys differ in `len`, and two long keys with one digest would take about 2^128 tries to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct StoredKey {
    len: u8,
    bytes: [u8; INLINE],
}

impl StoredKey {
    pub(super) fn new(key: &str) -> StoredKey {
        let key = key.as_bytes();
        if key.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            StoredKey { len: key.len() as u8, bytes }
        } else {
            StoredKey { len: DIGEST, bytes: Sha256::digest(key).into() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_up_to_32_bytes_are_held_as_themselves() {
        let ai = "0123456789abcdef0123456789abcdef";
        let key = StoredKey::new(ai);
        assert_eq!((usize::from(key.len), &key.bytes[..]), (32, ai.as_bytes()));
        // Zero padding does not make a shorter key equal to a longer one.
        assert_ne!(StoredKey::new("a"), StoredKey::new("a\0"));
        assert_ne!(StoredKey::new(""), StoredKey::new("\0"));
    }

    #[test]
    fn longer_keys_are_told_apart_by_every_byte() {
        // The per-game namespace (bizId, NUL, ai) and a 32-character ai of 3-byte characters are both longer than 32.
        let a = StoredKey::new("1101999999\u{0}0123456789abcdef0123456789abcdef");
        let b = StoredKey::new("1101999999\u{0}0123456789abcdef0123456789abcdeg");
        let c = StoredKey::new("1101999998\u{0}0123456789abcdef0123456789abcdef");
        assert_eq!(a, StoredKey::new("1101999999\u{0}0123456789abcdef0123456789abcdef"));
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(StoredKey::new(&"玩".repeat(32)).len, DIGEST);
    }

    #[test]
    fn a_short_key_never_equals_a_long_key_with_the_same_bytes() {
        let long = "x".repeat(33);
        let digest: [u8; 32] = Sha256::digest(long.as_bytes()).into();
        // Even a 32-byte key whose bytes are the long key's digest stays another key (its len is 32, not DIGEST).
        if let Ok(text) = std::str::from_utf8(&digest) {
            assert_ne!(StoredKey::new(text), StoredKey::new(&long));
        }
        assert_ne!(StoredKey { len: 32, bytes: digest }, StoredKey::new(&long));
        assert_eq!(StoredKey { len: DIGEST, bytes: digest }, StoredKey::new(&long));
    }
}
