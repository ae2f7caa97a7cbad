//! The interface table (SPEC §1): method, production path, test-system path and quota per profile.

use serde::{Deserialize, Serialize};

use crate::QuotaProfile;

/// The spec's suggested client timeout, also the `timestamps` message timeout (SPEC §1).
pub const CLIENT_TIMEOUT_MS: u64 = 5_000;

/// One of the three NPPA interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    /// Real-name check, `POST /idcard/authentication/check`.
    Check,
    /// Real-name result query, `GET /idcard/authentication/query?ai=…`.
    Query,
    /// Behaviour report, `POST /behavior/collection/loginout`.
    Loginout,
}

/// The permission a channel binding must hold to call an interface (R-ENT-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// 实名认证: check and query.
    Realname,
    /// 数据上报: loginout.
    Report,
}

impl Interface {
    /// All three, in table order.
    pub const ALL: [Interface; 3] = [Interface::Check, Interface::Query, Interface::Loginout];

    /// Short name used in logs, metrics and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Interface::Check => "check",
            Interface::Query => "query",
            Interface::Loginout => "loginout",
        }
    }

    /// The HTTP method.
    pub const fn method(self) -> &'static str {
        match self {
            Interface::Query => "GET",
            Interface::Check | Interface::Loginout => "POST",
        }
    }

    /// True when the request carries an encrypted body.
    pub const fn has_body(self) -> bool {
        !matches!(self, Interface::Query)
    }

    /// The production path.
    pub const fn production_path(self) -> &'static str {
        match self {
            Interface::Check => "/idcard/authentication/check",
            Interface::Query => "/idcard/authentication/query",
            Interface::Loginout => "/behavior/collection/loginout",
        }
    }

    /// The test-system path prefix; the test code follows it.
    pub const fn test_path_prefix(self) -> &'static str {
        match self {
            Interface::Check => "/test/authentication/check/",
            Interface::Query => "/test/authentication/query/",
            Interface::Loginout => "/test/collection/loginout/",
        }
    }

    /// The production host of the real system.
    pub const fn production_host(self) -> &'static str {
        match self {
            Interface::Check => "https://api.wlc.nppa.gov.cn",
            Interface::Query | Interface::Loginout => "http://api2.wlc.nppa.gov.cn",
        }
    }

    /// The host of the real official test system (SPEC §8, test system V1.2) that serves the test paths.
    pub const TEST_SYSTEM_HOST: &'static str = "https://wlc.nppa.gov.cn";

    /// The permission a binding needs for this interface.
    pub const fn permission(self) -> Permission {
        match self {
            Interface::Check | Interface::Query => Permission::Realname,
            Interface::Loginout => Permission::Report,
        }
    }

    /// Requests per second allowed per (appId, bizId) under a profile (R-RL-1).
    pub const fn quota(self, profile: QuotaProfile) -> u32 {
        profile.limit(self)
    }

    /// The interface served at a production path.
    pub fn from_production_path(path: &str) -> Option<Interface> {
        Interface::ALL.into_iter().find(|i| i.production_path() == path)
    }

    /// The interface and test code of a test-system path (`/test/authentication/check/{code}`).
    pub fn from_test_path(path: &str) -> Option<(Interface, &str)> {
        Interface::ALL.into_iter().find_map(|i| {
            let code = path.strip_prefix(i.test_path_prefix())?;
            (!code.is_empty() && !code.contains('/')).then_some((i, code))
        })
    }

    /// Index 0..3, for per-interface tables.
    pub const fn index(self) -> usize {
        match self {
            Interface::Check => 0,
            Interface::Query => 1,
            Interface::Loginout => 2,
        }
    }
}

/// A name that is not `check`, `query` or `loginout`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an interface: give check, query or loginout")]
pub struct UnknownInterface(pub String);

impl std::str::FromStr for Interface {
    type Err = UnknownInterface;

    /// The interface of a short name (`check`, `query`, `loginout`), as [`Interface::name`] spells it.
    fn from_str(name: &str) -> Result<Interface, UnknownInterface> {
        Interface::ALL.into_iter().find(|i| i.name() == name).ok_or_else(|| UnknownInterface(name.to_owned()))
    }
}

impl std::fmt::Display for Interface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for i in Interface::ALL {
            assert_eq!(Interface::from_production_path(i.production_path()), Some(i));
            let test_path = format!("{}abc", i.test_path_prefix());
            assert_eq!(Interface::from_test_path(&test_path), Some((i, "abc")));
        }
        assert_eq!(Interface::from_test_path("/test/authentication/check/"), None);
        for i in Interface::ALL {
            assert_eq!(i.name().parse(), Ok(i));
        }
        assert!("Check".parse::<Interface>().is_err());
    }
}
