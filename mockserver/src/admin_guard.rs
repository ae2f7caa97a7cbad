//! Who may drive the admin API. It is reachable by any web page the user opens unless the mock checks: the peer
//! (loopback, unless `server.admin_remote`), the `Host` header (a DNS-rebound name is not this machine), the
//! request's origin (a page's cross-origin request is refused), and that a body is JSON (a page can post
//! `text/plain` without asking). `server.admin_token` lets anyone who holds it in, from anywhere. Answers that hold
//! secretKeys show them only to the token, or to loopback when asked (`?reveal=keys`): see [`Admission::secret_keys`].

use std::net::IpAddr;

use hyper::HeaderMap;
use subtle::ConstantTimeEq as _;

use crate::admin_api::{Reveal, RevealQuery, SecretKeys};
use crate::config::ServerSection;

/// How a request got in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// It carried `server.admin_token` (from anywhere).
    Token,
    /// From a loopback peer, without a token.
    Loopback,
}

impl Admission {
    /// Whether an answer may show secretKeys: always to the token; to loopback only when it asks with
    /// `?reveal=keys`, so that a tool that only wants the list, a log of it or a page never holds them by accident.
    pub fn secret_keys(self, query: RevealQuery) -> SecretKeys {
        match (self, query.reveal) {
            (Admission::Token, _) | (Admission::Loopback, Some(Reveal::Keys)) => SecretKeys::Shown,
            (Admission::Loopback, None) => SecretKeys::Redacted,
        }
    }
}

/// Why a request may not use the admin API: its HTTP status and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refused {
    pub status: u16,
    pub reason: String,
}

fn refused(status: u16, reason: impl Into<String>) -> Result<Admission, Refused> {
    Err(Refused { status, reason: reason.into() })
}

/// Lets a request in, or says why not.
pub fn admit(
    server: &ServerSection,
    peer: IpAddr,
    method: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Admission, Refused> {
    if !body.is_empty() && method != "GET" {
        let json = header(headers, "content-type")
            .is_some_and(|t| t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
        if !json {
            return refused(415, "admin request bodies are JSON: send Content-Type: application/json");
        }
    }
    match (server.admin_token.as_deref(), token(headers)) {
        (Some(expected), Some(given)) if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) => {
            return Ok(Admission::Token)
        }
        (_, Some(_)) => return refused(401, "the admin token does not match server.admin_token"),
        _ => {}
    }
    if !crate::tenants::canonical_ip(peer).is_loopback() {
        return if server.admin_remote {
            refused(
                401,
                "from another machine the admin API needs server.admin_token, sent as Authorization: Bearer TOKEN",
            )
        } else {
            refused(403, "the admin API answers loopback peers only (set server.admin_remote = true and server.admin_token to open it)")
        };
    }
    let host = header(headers, "host");
    if let Some(host) = host {
        if !names_this_machine(host, &server.admin_hosts) {
            return refused(
                403,
                format!("Host {host:?} does not name this machine (a DNS-rebound name?); call the mock by 127.0.0.1 or localhost, or add the name to server.admin_hosts"),
            );
        }
    }
    if let Some(site) = header(headers, "sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return refused(403, format!("a {site} request from a web page may not drive the admin API"));
        }
    }
    if let Some(origin) = header(headers, "origin") {
        let same = origin
            .split_once("://")
            .is_some_and(|(_, authority)| host.is_some_and(|h| authority.eq_ignore_ascii_case(h)));
        if !same {
            return refused(
                403,
                format!("a request from the web page at {origin} may not drive the admin API (cross-origin)"),
            );
        }
    }
    Ok(Admission::Loopback)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Authorization: Bearer TOKEN`, or `X-Nppa-Admin-Token: TOKEN`.
fn token(headers: &HeaderMap) -> Option<&str> {
    header(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| header(headers, "x-nppa-admin-token"))
        .map(str::trim)
}

/// A `Host` (with or without a port) that names this machine: a loopback address, `localhost`, or a configured name.
fn names_this_machine(host: &str, extra: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name),
    };
    let name = name.trim_end_matches('.');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| crate::tenants::canonical_ip(ip).is_loopback())
        || extra.iter().any(|allowed| allowed.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn status(server: &ServerSection, peer: &str, method: &str, pairs: &[(&'static str, &str)], body: &[u8]) -> u16 {
        match admit(server, peer.parse().expect("ip"), method, &headers(pairs), body) {
            Ok(_) => 200,
            Err(refused) => refused.status,
        }
    }

    #[test]
    fn loopback_hosts_pass_and_rebound_names_cross_origin_pages_and_text_bodies_do_not() {
        let server = ServerSection::default();
        let local = [("host", "127.0.0.1:8080")];
        assert_eq!(status(&server, "127.0.0.1", "GET", &local, b""), 200);
        for host in ["localhost:8080", "[::1]:8080", "127.0.0.2", "LOCALHOST"] {
            assert_eq!(status(&server, "127.0.0.1", "GET", &[("host", host)], b""), 200, "{host}");
        }
        assert_eq!(status(&server, "127.0.0.1", "GET", &[("host", "rebind.evil.example")], b""), 403);
        let page = [("host", "127.0.0.1:8080"), ("origin", "https://evil.example")];
        assert_eq!(status(&server, "127.0.0.1", "GET", &page, b""), 403);
        let same =
            [("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080"), ("content-type", "application/json")];
        assert_eq!(status(&server, "127.0.0.1", "POST", &same, b"{}"), 200, "the console, same origin");
        assert_eq!(
            status(&server, "127.0.0.1", "POST", &[("host", "127.0.0.1"), ("content-type", "text/plain")], b"{}"),
            415
        );
        assert_eq!(
            status(&server, "127.0.0.1", "POST", &[("host", "127.0.0.1"), ("sec-fetch-site", "cross-site")], b""),
            403
        );
        assert_eq!(status(&server, "10.1.2.3", "GET", &local, b""), 403);
    }

    #[test]
    fn a_token_opens_the_api_to_other_machines_and_names() {
        let server =
            ServerSection { admin_remote: true, admin_token: Some("s3cret".into()), ..ServerSection::default() };
        let host = ("host", "mock.internal:8080");
        assert_eq!(status(&server, "10.1.2.3", "GET", &[host], b""), 401, "no token");
        assert_eq!(status(&server, "10.1.2.3", "GET", &[host, ("authorization", "Bearer nope")], b""), 401);
        assert_eq!(status(&server, "10.1.2.3", "GET", &[host, ("authorization", "Bearer s3cret")], b""), 200);
        assert_eq!(status(&server, "127.0.0.1", "GET", &[host, ("x-nppa-admin-token", "s3cret")], b""), 200);
        let named = ServerSection { admin_hosts: vec!["mock.internal".into()], ..ServerSection::default() };
        assert_eq!(status(&named, "127.0.0.1", "GET", &[host], b""), 200);
    }

    #[test]
    fn keys_are_shown_to_the_token_and_to_loopback_only_when_asked() {
        assert_eq!(Admission::Token.secret_keys(RevealQuery::default()), SecretKeys::Shown);
        assert_eq!(Admission::Loopback.secret_keys(RevealQuery::default()), SecretKeys::Redacted);
        assert_eq!(Admission::Loopback.secret_keys(RevealQuery::KEYS), SecretKeys::Shown);
        assert_eq!(RevealQuery::parse(Some("reveal=keys")), Ok(RevealQuery::KEYS));
        assert!(RevealQuery::parse(Some("reveal=all")).is_err_and(|e| e.contains("?reveal=keys")));
        assert!(RevealQuery::parse(Some("show=1")).is_err());
        assert_eq!(RevealQuery::parse(None), Ok(RevealQuery::default()));
    }
}
