//! The mock NPPA server: the production endpoints rule for rule (rule ids `R-…` refer to SPEC.md),
//! a controllable clock and an admin API.
//!
//! - [`service`]: the request pipeline in R-ORDER and the business rules, transport-free
//! - [`server`]: hyper transport, R-CONN-1, shutdown
//! - [`error`]: [`StartError`], why the mock did not start (and the source of it)
//! - [`store`], [`quota`], [`identity`], [`tenants`], [`whitelist`]: the state and rules behind it (loginout
//!   validation is `nppa_protocol::behaviour`)
//! - [`clock`], [`admin`]: the mock's own controls; [`admin_api`]: the admin API's request and answer types
//! - [`upstream`]: upstream mode, requests forwarded to the real NPPA and both sides journaled
//! - [`console`]: the live web console the admin API serves at `/__admin/console`; [`sign_diagnosis`]: why a
//!   journaled request's sign is wrong, for it
//! - [`rules`]: the catalogue of enforced rules (the README's table is checked against it); [`refusal`]: which rule
//!   refused a request and why, in one line (the journal entry's `rule` and `cause`)
//! - [`faults`]: misbehaving on purpose; [`variation`]: the varied answers of `nppa certify --profile fuzz`

pub mod admin;
pub mod admin_api;
pub mod admin_guard;
pub mod clock;
pub mod config;
pub mod console;
pub mod difference;
pub mod error;
pub mod faults;
pub mod header_names;
pub mod http_error;
pub mod identity;
pub mod journal;
pub mod keys;
pub mod metrics;
mod per_core;
pub mod private_file;
pub mod quota;
pub mod records;
pub mod refusal;
pub mod rules;
pub mod server;
pub mod service;
pub mod sign_diagnosis;
pub mod store;
pub mod tenants;
pub mod test_cases;
pub mod testsystem;
pub mod tls;
pub mod upstream;
pub mod variation;
pub mod whitelist;

pub use config::Config;
pub use error::StartError;
pub use server::{MockServer, RunningServer};
pub use service::MockService;
