//! R-IP-1: one entry of an IP whitelist — an address, a CIDR range, or `*` for everyone — as the
//! configuration and the admin API give it, and how many entries an enterprise may have ([`Allowance`]). Used by
//! both [`crate::config`] (checked at start) and [`crate::tenants`] (the parsed whitelist, changed at run time), so
//! that neither needs the other for it.

use std::net::IpAddr;

use ipnet::IpNet;

/// A whitelist entry that is none of the three forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not an IP address, a CIDR range or \"*\"")]
pub struct WhitelistEntryError {
    /// The entry as given.
    pub entry: String,
}

/// A whitelist the portal would not take (R-IP-1, FAQ 98).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhitelistError {
    #[error(transparent)]
    Entry(#[from] WhitelistEntryError),
    /// FAQ 98: "只有与任意一款游戏建立关联后才可以配置IP白名单".
    #[error(
        "an IP whitelist can be configured only once the enterprise is linked to a game (FAQ 98): add a [[game]] it \
         owns, or bind it as a [[game.channel]] of one"
    )]
    NoGame,
    /// The manual: "原则上每款游戏有10个IP地址", more on request (增配).
    #[error(
        "{given} whitelist entries, {allowed} allowed: {per_game} per linked game × {games} game(s) + {granted} \
         granted (R-IP-1); remove some, or raise rules.whitelist_ips_per_game or the enterprise's \
         whitelist_ips_granted in the configuration"
    )]
    TooMany { given: usize, allowed: u64, per_game: u32, games: usize, granted: u32 },
}

/// R-IP-1: how many entries an enterprise's whitelist may hold: `per_game` for each game it is linked to (as owner
/// or channel; the whitelist is per enterprise, FAQ 100) plus what it was granted on request; none while it has no
/// game (FAQ 98). An entry counts once whatever it covers (a range or `*` is a convenience of the mock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub per_game: u32,
    pub games: usize,
    pub granted: u32,
}

impl Allowance {
    /// Entries allowed.
    pub fn entries(&self) -> u64 {
        u64::from(self.per_game).saturating_mul(self.games as u64).saturating_add(u64::from(self.granted))
    }

    /// May the whitelist hold `given` entries? (An empty whitelist is always allowed: it configures nothing.)
    pub fn admits(&self, given: usize) -> Result<(), WhitelistError> {
        if given == 0 {
            return Ok(());
        }
        if self.games == 0 {
            return Err(WhitelistError::NoGame);
        }
        let allowed = self.entries();
        if given as u64 > allowed {
            let Allowance { per_game, games, granted } = *self;
            return Err(WhitelistError::TooMany { given, allowed, per_game, games, granted });
        }
        Ok(())
    }
}

/// Parses one entry into the ranges it allows (`*`: all of IPv4 and all of IPv6).
pub fn parse_entry(entry: &str) -> Result<Vec<IpNet>, WhitelistEntryError> {
    if entry == "*" {
        return Ok(vec![IpNet::V4(Default::default()), IpNet::V6(Default::default())]);
    }
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(vec![net]);
    }
    entry.parse::<IpAddr>().map(|ip| vec![IpNet::from(ip)]).map_err(|_| WhitelistEntryError { entry: entry.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_ranges_and_everyone() {
        assert_eq!(parse_entry("10.0.0.1"), Ok(vec!["10.0.0.1/32".parse().expect("net")]));
        assert_eq!(parse_entry("::1"), Ok(vec!["::1/128".parse().expect("net")]));
        assert_eq!(parse_entry("10.0.0.0/8"), Ok(vec!["10.0.0.0/8".parse().expect("net")]));
        assert_eq!(parse_entry("*").map(|nets| nets.len()), Ok(2));
        let err = parse_entry("localhost").expect_err("a host name");
        assert_eq!(err.to_string(), r#""localhost" is not an IP address, a CIDR range or "*""#);
    }

    #[test]
    fn ten_per_game_plus_what_was_granted_and_none_without_a_game() {
        let two_games = Allowance { per_game: 10, games: 2, granted: 3 };
        assert_eq!(two_games.admits(23), Ok(()));
        assert!(matches!(two_games.admits(24), Err(WhitelistError::TooMany { given: 24, allowed: 23, .. })));
        let no_game = Allowance { per_game: 10, games: 0, granted: 5 };
        assert_eq!(no_game.admits(1), Err(WhitelistError::NoGame));
        assert_eq!(no_game.admits(0), Ok(()));
        assert_eq!(Allowance { per_game: u32::MAX, games: usize::MAX, granted: u32::MAX }.entries(), u64::MAX);
    }
}
