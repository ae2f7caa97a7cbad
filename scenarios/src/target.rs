//! Where the load goes: the base URL, the credentials of each game, and the clock requests are signed with.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nppa_protocol::envelope::IV_LEN;
use nppa_protocol::messages::{CheckRequest, LoginoutRequest};
use nppa_protocol::request::{self, Credentials, SignedRequest, Target as PathTarget};

/// The clock the driver signs `timestamps` with and paces quota windows by: the machine's clock shifted by a
/// fixed offset, so that it follows a mock whose clock was set elsewhere (R-TS-1).
#[derive(Debug, Clone, Copy, Default)]
pub struct Timeline {
    pub offset_ms: i64,
}

impl Timeline {
    pub fn now_ms(&self) -> u64 {
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
        (wall + self.offset_ms).max(0) as u64
    }

    /// How long until the timeline reads `t_ms` (zero if it already has).
    pub fn until(&self, t_ms: u64) -> Duration {
        Duration::from_millis(t_ms.saturating_sub(self.now_ms()))
    }
}

/// The system under load.
#[derive(Debug, Clone)]
pub struct LoadTarget {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    /// One set of credentials per game (bizId); requests of game g use `games[g]`.
    pub games: Vec<Credentials>,
    pub timeline: Timeline,
}

/// Builds signed requests with fresh nonces.
#[derive(Debug)]
pub struct Signer {
    nonce: AtomicU64,
    run: u32,
}

impl Default for Signer {
    fn default() -> Signer {
        Signer::new()
    }
}

impl Signer {
    pub fn new() -> Signer {
        let run = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u32;
        Signer { nonce: AtomicU64::new(0), run }
    }

    fn iv(&self) -> [u8; IV_LEN] {
        // A counter is a valid GCM nonce as long as it never repeats under one key; the run tag tells runs apart.
        let n = self.nonce.fetch_add(1, Ordering::Relaxed);
        let mut iv = [0u8; IV_LEN];
        iv[..8].copy_from_slice(&n.to_be_bytes());
        iv[8..].copy_from_slice(&self.run.to_be_bytes());
        iv
    }

    pub fn check(&self, credentials: &Credentials, check: &CheckRequest, now_ms: u64) -> SignedRequest {
        request::check(credentials, &PathTarget::Production, check, now_ms, self.iv())
    }

    pub fn query(&self, credentials: &Credentials, ai: &str, now_ms: u64) -> SignedRequest {
        request::query(credentials, &PathTarget::Production, ai, now_ms)
    }

    pub fn loginout(&self, credentials: &Credentials, body: &LoginoutRequest, now_ms: u64) -> SignedRequest {
        request::loginout(credentials, &PathTarget::Production, body, now_ms, self.iv())
    }
}
