//! Why the mock did not start: one [`StartError`] for the whole start-up path (configuration, tenants,
//! identities, test system, journal file, fault rules, local CA, socket). Each variant says what failed and
//! where; the underlying error, when there is one, is its `source()` (printed by `{:#}` with anyhow).

use std::net::SocketAddr;
use std::path::PathBuf;

use nppa_protocol::envelope::KeyError;
use nppa_protocol::idnum::IdNumError;

use crate::config::ConfigError;
use crate::faults::FaultRuleError;
use crate::whitelist::WhitelistError;

/// The mock cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid (which field, and why).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An enterprise's (or test account's) secretKey is not a key.
    #[error("enterprise {app_id}: secret_key")]
    SecretKey {
        app_id: String,
        #[source]
        source: KeyError,
    },
    /// An enterprise's (or test account's) whitelist has an entry that is not an address or range, or more entries
    /// than R-IP-1 allows.
    #[error("enterprise {app_id}: ip_whitelist")]
    Whitelist {
        app_id: String,
        #[source]
        source: WhitelistError,
    },
    /// A game names an owner or channel that is no `[[enterprise]]`.
    #[error("game {biz_id}: no [[enterprise]] has app_id {app_id}")]
    UnknownEnterprise { biz_id: String, app_id: String },
    /// `identities.fixtures_file` cannot be opened.
    #[error("cannot read identities.fixtures_file {}", .path.display())]
    FixturesFile {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    /// A row of `identities.fixtures_file` is not `name,id_num,outcome,delay_s,then`.
    #[error("identities.fixtures_file {} row {row}", .path.display())]
    FixtureRow {
        path: PathBuf,
        /// Counted from 1, after the header.
        row: usize,
        #[source]
        source: csv::Error,
    },
    /// A fixture's idNum fails R-ID, so that no check could ever reach it.
    #[error("identities fixture {name} {id_num}: no check can reach this person")]
    Fixture {
        name: String,
        id_num: String,
        #[source]
        source: IdNumError,
    },
    /// `journal.file` cannot be opened for appending (or its writer thread not started).
    #[error("cannot open journal.file {}", .path.display())]
    JournalFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Upstream mode's HTTPS client cannot be set up: `upstream.ca_file` unreadable, or no certificate roots.
    #[error("[upstream]: {reason}")]
    Upstream { reason: String },
    /// A `[[faults.rule]]` of the configuration is refused.
    #[error("faults.rule")]
    FaultRule(#[source] FaultRuleError),
    /// A file of the local CA (`server.tls_dir`) cannot be read.
    #[error("cannot read the local CA file {}", .path.display())]
    TlsRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The local CA cannot be written to `server.tls_dir`.
    #[error("cannot write the local CA to {}", .path.display())]
    TlsWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file of the local CA is not a certificate or key this mock can use.
    #[error("{} is not a usable local CA file (delete server.tls_dir and the mock makes a new CA)", .path.display())]
    TlsParse {
        path: PathBuf,
        #[source]
        source: rcgen::Error,
    },
    /// `ca.pem` is not the certificate of a CA this mock made with `ca-key.pem`.
    #[error("{} cannot be used: {why} (delete server.tls_dir and the mock makes a new CA)", .path.display())]
    TlsForeignCa { path: PathBuf, why: &'static str },
    /// Making the local CA failed.
    #[error("cannot make the local CA")]
    TlsGenerate(#[source] rcgen::Error),
    /// rustls refused the server configuration.
    #[error("cannot set up TLS")]
    TlsConfig(#[source] rustls::Error),
    /// The listening socket.
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;
    use crate::{Config, MockServer};

    #[test]
    fn a_journal_file_that_cannot_be_opened_names_the_file_and_keeps_the_io_error() {
        let mut config = Config::embedded_default();
        config.journal.file = Some(PathBuf::from("/nonexistent/dir/journal.jsonl"));
        let err = MockServer::new(config).expect_err("no such directory");
        assert_eq!(err.to_string(), "cannot open journal.file /nonexistent/dir/journal.jsonl");
        let io = err.source().and_then(|s| s.downcast_ref::<std::io::Error>()).expect("the io::Error as source");
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn a_config_error_reads_as_itself() {
        let mut config = Config::embedded_default();
        config.server.max_connections_per_ip = 0;
        let err = MockServer::new(config).expect_err("invalid");
        assert!(matches!(err, StartError::Config(ConfigError::Field { .. })), "{err:?}");
        assert_eq!(err.to_string(), "server.max_connections_per_ip: must be at least 1");
    }

    #[test]
    fn an_unusable_ca_file_names_the_file() {
        let dir = std::env::temp_dir().join(format!("nppa-bad-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("ca.pem"), "not a certificate").expect("write");
        std::fs::write(dir.join("ca-key.pem"), "not a key").expect("write");
        let err = crate::tls::LocalCa::load_or_create(&dir).expect_err("garbage");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(&err, StartError::TlsParse { path, .. } if path == &dir.join("ca-key.pem")), "{err:?}");
        assert!(err.source().is_some());
        assert!(err.to_string().ends_with("delete server.tls_dir and the mock makes a new CA)"), "{err}");
    }

    #[test]
    fn a_ca_made_elsewhere_or_with_another_key_is_refused_and_our_own_is_reused() {
        let dir = std::env::temp_dir().join(format!("nppa-own-ca-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let made = crate::tls::LocalCa::load_or_create(&dir).expect("a new CA");
        drop(made);
        let own_pem = std::fs::read_to_string(dir.join("ca.pem")).expect("ca.pem");
        crate::tls::LocalCa::load_or_create(&dir).expect("the CA it made is reused");
        assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).expect("ca.pem"), own_pem, "reused, not replaced");

        // Another key beside our certificate.
        let other_key = rcgen::KeyPair::generate().expect("key");
        let own_key = std::fs::read_to_string(dir.join("ca-key.pem")).expect("key");
        std::fs::write(dir.join("ca-key.pem"), other_key.serialize_pem()).expect("write");
        let err = crate::tls::LocalCa::load_or_create(&dir).expect_err("wrong key");
        assert!(err.to_string().contains("ca-key.pem is not its key"), "{err}");

        // A CA some other tool made.
        std::fs::write(dir.join("ca-key.pem"), own_key).expect("write");
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name.push(rcgen::DnType::CommonName, "Some Other CA");
        let foreign = params.self_signed(&other_key).expect("cert");
        std::fs::write(dir.join("ca.pem"), foreign.pem()).expect("write");
        let err = crate::tls::LocalCa::load_or_create(&dir).expect_err("foreign");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(&err, StartError::TlsForeignCa { path, .. } if path == &dir.join("ca.pem")), "{err:?}");
        assert!(err.to_string().contains("it was not made by nppa mock"), "{err}");
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_bind_error_with_the_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let addr = taken.local_addr().expect("addr");
        let server = MockServer::new(Config::embedded_default()).expect("default config");
        let err = server.bind(addr).await.expect_err("in use");
        assert!(matches!(&err, StartError::Bind { addr: a, .. } if *a == addr), "{err:?}");
        assert_eq!(err.to_string(), format!("cannot listen on {addr}"));
    }
}
