//! The NPPA anti-addiction real-name protocol (网络游戏防沉迷实名认证系统, interface spec V2.1), pure:
//! no I/O, no async. Rule ids (`R-…`) refer to `SPEC.md`.
//!
//! - [`envelope`]: AES-128-GCM + base64 bodies (R-ENC-1)
//! - [`sign`]: SHA-256 request signatures (R-SIG-1/2)
//! - [`StatusCode`]: every errcode and its errmsg (SPEC §4)
//! - [`idnum`], [`name`], [`ai`], [`pi`]: validators (R-ID, R-NAME, R-AI, R-PI)
//! - [`messages`]: typed plaintexts and answers
//! - [`interface`]: paths, methods and quotas (SPEC §1)
//! - [`request`]: building a signed request (the reference client)

pub mod ai;
pub mod envelope;
pub mod idnum;
pub mod interface;
pub mod messages;
pub mod name;
pub mod pi;
pub mod request;
pub mod sign;
mod status;

pub use envelope::SecretKey;
pub use interface::{Interface, Permission, QuotaProfile};
pub use status::StatusCode;
