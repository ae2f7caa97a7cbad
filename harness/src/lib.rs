//! The `nppa` command as a library: the reference client and the commands built on it.

pub mod admin_client;
pub mod admin_cmd;
pub mod certify;
pub mod client;
pub mod client_cmd;
pub mod load_cmd;
pub mod mock_cmd;
pub mod shadow_report;

/// The V2.1 spec's example credentials, served by the embedded default configuration.
pub const DEFAULT_APP_ID: &str = "fdc6688637bc468e9aea874654cbead2";
pub const DEFAULT_BIZ_ID: &str = "1101999999";
pub const DEFAULT_SECRET_KEY: &str = "b4c932250dbe59ff53b15ee993a9feb5";
/// Where `nppa mock` listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
