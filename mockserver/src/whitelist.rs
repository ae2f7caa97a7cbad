//! R-IP-1: one entry of an IP whitelist — an address, a CIDR range, or `*` for everyone — as the
//! configuration and the admin API give it. Used by both [`crate::config`] (checked at start) and
//! [`crate::tenants`] (the parsed whitelist), so that neither needs the other for it.

use std::net::IpAddr;

use ipnet::IpNet;

/// A whitelist entry that is none of the three forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not an IP address, a CIDR range or \"*\"")]
pub struct WhitelistEntryError {
    /// The entry as given.
    pub entry: String,
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
}
