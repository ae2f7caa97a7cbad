//! R-KEY-1: an enterprise's secretKeys and their validity on the mock clock. One appId has one key for all its
//! games; keys expire; 15 days before expiry a replacement is issued and both are valid; a manual refresh keeps
//! the old key valid 3 days; "invalidate now" ends a key at once. A request signed with a key outside its
//! validity answers 1011.

use nppa_protocol::SecretKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[cfg(test)]
use nppa_protocol::beijing::DAY_MS;
pub use nppa_protocol::key_validity::{DEFAULT_VALIDITY_MS, REFRESH_GRACE_MS, RENEW_BEFORE_MS};

/// One key and when it is valid.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub key: SecretKey,
    pub valid_from_ms: u64,
    /// `None`: never expires.
    pub valid_until_ms: Option<u64>,
}

impl KeySpec {
    /// Valid at `now_ms`?
    pub fn is_valid(&self, now_ms: u64) -> bool {
        self.valid_from_ms <= now_ms && self.valid_until_ms.is_none_or(|until| now_ms < until)
    }
}

/// Whether an admin answer shows the secretKeys themselves. A web page or a log must not get them by accident:
/// they are shown to a request that carries `server.admin_token`, or that asks with `?reveal=keys` from loopback
/// (`crate::admin_guard::Admission::secret_keys`); otherwise every `secret_key` field is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKeys {
    Shown,
    Redacted,
}

impl SecretKeys {
    /// Answers of mocks from before redaction showed the keys.
    pub fn shown() -> SecretKeys {
        SecretKeys::Shown
    }

    /// The key's hex text when shown.
    pub fn show(self, key: &SecretKey) -> Option<String> {
        (self == SecretKeys::Shown).then(|| key.as_hex().to_owned())
    }
}

/// A key as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    /// Absent when the answer's `secret_keys` is `"redacted"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    pub valid_from_ms: u64,
    pub valid_until_ms: Option<u64>,
    pub valid_now: bool,
}

/// The keys of one enterprise, oldest first.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<KeySpec>,
    /// Validity of replacement keys; `None` when keys never expire.
    validity_ms: Option<u64>,
}

impl KeyRing {
    /// A ring starting with `key`, valid until `expires_ms` (never when `None`); replacements live `validity_ms`.
    pub fn new(key: SecretKey, expires_ms: Option<u64>, validity_ms: Option<u64>) -> KeyRing {
        KeyRing { keys: vec![KeySpec { key, valid_from_ms: 0, valid_until_ms: expires_ms }], validity_ms }
    }

    /// Keys valid at `now_ms`, newest first (the one a client most likely uses).
    /// Every key the enterprise has had, valid now or not (to read what a client sealed with an expired key).
    pub fn all(&self) -> impl Iterator<Item = &SecretKey> {
        self.keys.iter().map(|k| &k.key)
    }

    pub fn valid_at(&self, now_ms: u64) -> impl Iterator<Item = &SecretKey> {
        self.keys.iter().rev().filter(move |k| k.is_valid(now_ms)).map(|k| &k.key)
    }

    /// The newest key valid at `now_ms`.
    pub fn current(&self, now_ms: u64) -> Option<&SecretKey> {
        self.valid_at(now_ms).next()
    }

    /// When the next replacement is due (15 days before the newest key expires), if ever.
    pub fn renewal_due_ms(&self) -> Option<u64> {
        let newest = self.keys.last()?;
        newest.valid_until_ms.map(|until| until.saturating_sub(RENEW_BEFORE_MS))
    }

    /// Issues every replacement due by `now_ms`; true when a key was added.
    pub fn renew(&mut self, now_ms: u64) -> bool {
        let mut added = false;
        while let Some(due) = self.renewal_due_ms().filter(|due| *due <= now_ms) {
            let validity = self.validity_ms.unwrap_or(DEFAULT_VALIDITY_MS);
            self.push(due, Some(due.saturating_add(validity)));
            added = true;
            // A validity within the 15-day overlap would make each replacement due at once, forever (the
            // configuration refuses one; this keeps a key added through the admin API from doing it).
            if self.renewal_due_ms().is_none_or(|next| next <= due) {
                break;
            }
        }
        added
    }

    /// A manual refresh in the portal: a new key from now; older keys stay valid at most 3 more days.
    pub fn refresh(&mut self, now_ms: u64) -> &SecretKey {
        for spec in &mut self.keys {
            let grace_end = now_ms.saturating_add(REFRESH_GRACE_MS);
            spec.valid_until_ms = Some(spec.valid_until_ms.map_or(grace_end, |until| until.min(grace_end)));
        }
        let until = self.validity_ms.map(|v| now_ms.saturating_add(v));
        self.push(now_ms, until)
    }

    /// "Invalidate now": the key stops being valid at `now_ms`. False when the ring has no such key.
    pub fn invalidate(&mut self, secret_key: &str, now_ms: u64) -> bool {
        let mut found = false;
        for spec in self.keys.iter_mut().filter(|k| k.key.as_hex() == secret_key) {
            spec.valid_until_ms = Some(spec.valid_until_ms.map_or(now_ms, |until| until.min(now_ms)));
            found = true;
        }
        found
    }

    /// Adds a given key with its validity (for tests and scripted rotations).
    pub fn add(&mut self, spec: KeySpec) {
        self.keys.push(spec);
    }

    /// Every key, for the admin API.
    pub fn view(&self, now_ms: u64, shown: SecretKeys) -> Vec<KeyView> {
        self.keys
            .iter()
            .map(|k| KeyView {
                secret_key: shown.show(&k.key),
                valid_from_ms: k.valid_from_ms,
                valid_until_ms: k.valid_until_ms,
                valid_now: k.is_valid(now_ms),
            })
            .collect()
    }

    /// A new key derived from the newest one, so that runs repeat.
    fn push(&mut self, valid_from_ms: u64, valid_until_ms: Option<u64>) -> &SecretKey {
        let previous = self.keys.last().map(|k| k.key.as_hex().to_owned()).unwrap_or_default();
        let digest = Sha256::new().chain_update(b"nppa-key-rotation\0").chain_update(&previous).finalize();
        let hex_key = hex_of(&digest[..16]);
        // 32 hex characters always parse.
        let key = SecretKey::from_hex(&hex_key).unwrap_or_else(|_| unreachable!("32 hex characters"));
        self.keys.push(KeySpec { key, valid_from_ms, valid_until_ms });
        let index = self.keys.len() - 1;
        &self.keys[index].key
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(expires: Option<u64>) -> KeyRing {
        KeyRing::new(SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").expect("key"), expires, Some(30 * DAY_MS))
    }

    #[test]
    fn a_replacement_overlaps_the_last_15_days() {
        let mut keys = ring(Some(100 * DAY_MS));
        assert!(!keys.renew(85 * DAY_MS - 1));
        assert!(keys.renew(85 * DAY_MS));
        assert_eq!(keys.valid_at(90 * DAY_MS).count(), 2);
        assert_eq!(keys.valid_at(100 * DAY_MS).count(), 1);
        let newest = keys.current(100 * DAY_MS).map(|k| k.as_hex().to_owned());
        assert_ne!(newest.as_deref(), Some("b4c932250dbe59ff53b15ee993a9feb5"));
        // The replacement lives 30 days and is itself replaced 15 days before it ends.
        assert!(!keys.renew(100 * DAY_MS - 1));
        assert!(keys.renew(100 * DAY_MS));
        assert_eq!(keys.view(0, SecretKeys::Redacted).len(), 3);
        assert!(keys.view(0, SecretKeys::Redacted).iter().all(|k| k.secret_key.is_none()));
    }

    #[test]
    fn a_validity_within_the_overlap_renews_once_instead_of_forever() {
        // Found by reasoning over the config fuzz target: key_validity_days = 10 with an expiry before the clock
        // grew the ring without end at the first request (out of memory).
        let mut keys = KeyRing::new(
            SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").expect("key"),
            Some(100 * DAY_MS),
            Some(10 * DAY_MS),
        );
        assert!(keys.renew(1000 * DAY_MS));
        assert_eq!(keys.view(0, SecretKeys::Redacted).len(), 2);
    }

    #[test]
    fn refresh_keeps_the_old_key_three_days_and_invalidate_ends_it() {
        let mut keys = ring(None);
        let fresh = keys.refresh(10 * DAY_MS).as_hex().to_owned();
        assert_eq!(keys.valid_at(13 * DAY_MS - 1).count(), 2);
        assert_eq!(keys.valid_at(13 * DAY_MS).count(), 1);
        assert!(keys.invalidate(&fresh, 11 * DAY_MS));
        assert_eq!(keys.valid_at(11 * DAY_MS).count(), 1, "only the old key, in its grace period");
        assert!(!keys.invalidate("00000000000000000000000000000000", 0));
    }
}
