//! Enterprises, games and channel bindings, as an immutable snapshot built from the configuration
//! (R-ENT-1, R-IP-1). Hot lookups are hash-map reads; nothing here changes while serving.

// Looked up on every request by appId and bizId, which the configuration names: foldhash, randomly seeded.
use foldhash::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use nppa_protocol::{Interface, Permission, QuotaProfile, SecretKey};

use crate::config::{Config, QuotaOverride};
use crate::error::StartError;
use crate::keys::KeyRing;
use crate::whitelist::{self, Allowance, WhitelistError};

/// One enterprise (appId).
#[derive(Debug, Clone)]
pub struct Enterprise {
    pub app_id: String,
    pub name: String,
    /// R-KEY-1: its keys and their validity.
    pub keys: KeyRing,
    pub enabled: bool,
    whitelist: Vec<IpNet>,
    /// R-IP-1: how many entries the whitelist may hold; `None` for a test account (the test system's own list).
    allowance: Option<Allowance>,
}

impl Enterprise {
    /// An enterprise with its parsed keys and whitelist, and no limit on the whitelist's size.
    pub fn new(app_id: String, name: String, keys: KeyRing, enabled: bool, whitelist: Vec<IpNet>) -> Enterprise {
        Enterprise { app_id, name, keys, enabled, whitelist, allowance: None }
    }

    /// The same, with R-IP-1's limit on the whitelist's size (FAQ 98 included).
    pub fn with_allowance(self, allowance: Allowance) -> Enterprise {
        Enterprise { allowance: Some(allowance), ..self }
    }

    /// Replaces the whitelist (R-IP-1: takes effect at once, FAQ 99), within its allowance; a refused list changes
    /// nothing.
    pub fn set_whitelist(&mut self, entries: &[String]) -> Result<(), WhitelistError> {
        if let Some(allowance) = self.allowance {
            allowance.admits(entries.len())?;
        }
        let mut whitelist = Vec::new();
        for entry in entries {
            whitelist.extend(whitelist::parse_entry(entry)?);
        }
        self.whitelist = whitelist;
        Ok(())
    }

    /// The whitelist, as CIDR strings.
    pub fn whitelist(&self) -> Vec<String> {
        self.whitelist.iter().map(ToString::to_string).collect()
    }

    /// R-IP-1: is this peer on the enterprise's whitelist?
    pub fn allows_ip(&self, peer: IpAddr) -> bool {
        let peer = canonical_ip(peer);
        self.whitelist.iter().any(|net| net.contains(&peer))
    }
}

/// An IPv4 peer seen through an IPv6 socket is the IPv4 address.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// One enterprise's access to one game: the owner's, or a channel's (R-ENT-1).
#[derive(Debug, Clone)]
pub struct Binding {
    /// Dense index, for per-binding tables (quotas).
    pub id: usize,
    pub enterprise: usize,
    pub game: usize,
    realname: bool,
    report: bool,
    /// Requests per second per interface; `None` = unlimited.
    pub limits: [Option<u32>; 3],
}

impl Binding {
    /// Does the binding hold the permission an interface needs?
    pub fn permits(&self, interface: Interface) -> bool {
        match interface.permission() {
            Permission::Realname => self.realname,
            Permission::Report => self.report,
        }
    }
}

/// One game (bizId).
#[derive(Debug, Clone)]
pub struct Game {
    pub biz_id: String,
    pub name: String,
    bindings: Vec<usize>,
}

/// The snapshot.
#[derive(Debug, Clone)]
pub struct Tenants {
    enterprises: Vec<Enterprise>,
    by_app_id: HashMap<String, usize>,
    games: Vec<Game>,
    by_biz_id: HashMap<String, usize>,
    bindings: Vec<Binding>,
    /// R-KEY-1: the earliest time a replacement key is due, kept with the keys so requests need not scan them.
    next_key_renewal_ms: Option<u64>,
}

impl Tenants {
    /// Builds the snapshot from a validated configuration.
    pub fn from_config(config: &Config) -> Result<Tenants, StartError> {
        let mut enterprises = Vec::new();
        let mut by_app_id = HashMap::default();
        for e in &config.enterprises {
            let key = SecretKey::from_hex(&e.secret_key)
                .map_err(|source| StartError::SecretKey { app_id: e.app_id.clone(), source })?;
            let expires = e.secret_key_expires.as_deref().and_then(crate::config::rfc3339_ms);
            let validity = e.key_validity_days.map(|days| (days * 86_400_000.0) as u64);
            let mut enterprise = Enterprise::new(
                e.app_id.clone(),
                e.name.clone(),
                KeyRing::new(key, expires, validity),
                e.enabled,
                vec![],
            )
            .with_allowance(config.whitelist_allowance(e));
            enterprise
                .set_whitelist(&e.ip_whitelist)
                .map_err(|source| StartError::Whitelist { app_id: e.app_id.clone(), source })?;
            by_app_id.insert(e.app_id.clone(), enterprises.len());
            enterprises.push(enterprise);
        }
        let profile = config.server.quota_profile;
        let quotas_on = config.server.quotas;
        let mut games = Vec::new();
        let mut by_biz_id = HashMap::default();
        let mut bindings = Vec::new();
        for g in &config.games {
            let game = games.len();
            let limits = limits(profile, &g.quota, quotas_on);
            let owner = std::iter::once((&g.owner, &g.permissions));
            let channels = g.channels.iter().map(|c| (&c.app_id, &c.permissions));
            let mut game_bindings = Vec::new();
            for (app_id, permissions) in owner.chain(channels) {
                let enterprise = *by_app_id.get(app_id).ok_or_else(|| StartError::UnknownEnterprise {
                    biz_id: g.biz_id.clone(),
                    app_id: app_id.clone(),
                })?;
                game_bindings.push(bindings.len());
                bindings.push(Binding {
                    id: bindings.len(),
                    enterprise,
                    game,
                    realname: permissions.contains(&Permission::Realname),
                    report: permissions.contains(&Permission::Report),
                    limits,
                });
            }
            by_biz_id.insert(g.biz_id.clone(), game);
            games.push(Game { biz_id: g.biz_id.clone(), name: g.name.clone(), bindings: game_bindings });
        }
        let mut tenants = Tenants { enterprises, by_app_id, games, by_biz_id, bindings, next_key_renewal_ms: None };
        tenants.keys_changed();
        Ok(tenants)
    }

    /// The enterprise with this appId (index and data).
    pub fn enterprise(&self, app_id: &str) -> Option<(usize, &Enterprise)> {
        let index = *self.by_app_id.get(app_id)?;
        Some((index, &self.enterprises[index]))
    }

    /// The game with this bizId.
    pub fn game(&self, biz_id: &str) -> Option<(usize, &Game)> {
        let index = *self.by_biz_id.get(biz_id)?;
        Some((index, &self.games[index]))
    }

    /// The binding of an enterprise to a game, if there is one.
    pub fn binding(&self, enterprise: usize, game: &Game) -> Option<&Binding> {
        game.bindings.iter().map(|&b| &self.bindings[b]).find(|b| b.enterprise == enterprise)
    }

    /// Every binding of an enterprise to a game (index = [`Binding::id`]).
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Number of bindings (size of per-binding tables).
    pub fn binding_count(&self) -> usize {
        self.bindings.len()
    }

    /// Number of games (size of per-game tables).
    pub fn game_count(&self) -> usize {
        self.games.len()
    }

    /// All enterprises.
    pub fn enterprises(&self) -> &[Enterprise] {
        &self.enterprises
    }

    /// Changes one enterprise (in a copy of the snapshot that is then swapped in whole); `None` without it.
    pub fn update_enterprise<R>(&mut self, app_id: &str, change: impl FnOnce(&mut Enterprise) -> R) -> Option<R> {
        let index = *self.by_app_id.get(app_id)?;
        let result = change(self.enterprises.get_mut(index)?);
        self.keys_changed();
        Some(result)
    }

    /// R-KEY-1: the earliest time a replacement key is due.
    pub fn next_key_renewal_ms(&self) -> Option<u64> {
        self.next_key_renewal_ms
    }

    /// Issues every replacement key due by `now_ms`; true when one was issued.
    pub fn renew_keys(&mut self, now_ms: u64) -> bool {
        let mut renewed = false;
        for enterprise in &mut self.enterprises {
            renewed |= enterprise.keys.renew(now_ms);
        }
        self.keys_changed();
        renewed
    }

    fn keys_changed(&mut self) {
        self.next_key_renewal_ms = self.enterprises.iter().filter_map(|e| e.keys.renewal_due_ms()).min();
    }

    /// All games.
    pub fn games(&self) -> &[Game] {
        &self.games
    }
}

fn limits(profile: QuotaProfile, overrides: &QuotaOverride, quotas_on: bool) -> [Option<u32>; 3] {
    let custom = [overrides.check, overrides.query, overrides.loginout];
    Interface::ALL.map(|i| quotas_on.then(|| custom[i.index()].unwrap_or(i.quota(profile))))
}
