//! Rate limits (R-RL-1) and the block that follows a 1006 (R-RL-2).

use serde::{Deserialize, Serialize};

use crate::Interface;

/// The window requests are counted in: one second of the server clock (our reading of "QPS", a fixed window).
pub const WINDOW_MS: u64 = 1_000;
/// R-RL-2: a 1006 blocks the (appId, bizId, interface) this long (V2.1: "限流 1 分钟").
pub const BLOCK_MS: u64 = 60_000;

/// Rate-limit profile (R-RL-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum QuotaProfile {
    /// V2.1: check 500, query 500, loginout 50 QPS.
    #[default]
    #[serde(rename = "v2.1")]
    V2_1,
    /// V1: check 100, query 300, loginout 10 QPS.
    #[serde(rename = "v1")]
    V1,
}

impl QuotaProfile {
    /// Requests per second allowed per (appId, bizId) on `interface` (SPEC §1).
    pub const fn limit(self, interface: Interface) -> u32 {
        match (self, interface) {
            (QuotaProfile::V2_1, Interface::Check) => 500,
            (QuotaProfile::V2_1, Interface::Query) => 500,
            (QuotaProfile::V2_1, Interface::Loginout) => 50,
            (QuotaProfile::V1, Interface::Check) => 100,
            (QuotaProfile::V1, Interface::Query) => 300,
            (QuotaProfile::V1, Interface::Loginout) => 10,
        }
    }

    /// The limits of all three interfaces, indexed by [`Interface::index`].
    pub const fn limits(self) -> [u32; 3] {
        [self.limit(Interface::Check), self.limit(Interface::Query), self.limit(Interface::Loginout)]
    }
}

/// R-RL-2: when a block that starts with a 1006 ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaBlock {
    /// [`BLOCK_MS`] from the first 1006 (V2.1: "限流 1 分钟").
    #[default]
    SixtySeconds,
    /// Until the next wall-clock minute (FAQ 103: "在下一分钟解除").
    NextMinute,
}

impl QuotaBlock {
    /// The end of a block that starts at `now_ms`.
    pub const fn until_ms(self, now_ms: u64) -> u64 {
        match self {
            QuotaBlock::SixtySeconds => now_ms.saturating_add(BLOCK_MS),
            QuotaBlock::NextMinute => (now_ms / 60_000).saturating_add(1).saturating_mul(60_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_rl_1_limits_of_both_profiles() {
        assert_eq!(QuotaProfile::V2_1.limits(), [500, 500, 50]);
        assert_eq!(QuotaProfile::V1.limits(), [100, 300, 10]);
    }

    #[test]
    fn r_rl_2_blocks_end_sixty_seconds_later_or_at_the_next_minute() {
        assert_eq!(QuotaBlock::SixtySeconds.until_ms(61_500), 121_500);
        assert_eq!(QuotaBlock::NextMinute.until_ms(61_500), 120_000);
        assert_eq!(QuotaBlock::SixtySeconds.until_ms(u64::MAX), u64::MAX);
    }
}
