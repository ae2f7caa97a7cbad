//! The NPPA anti-addiction real-name protocol (网络游戏防沉迷实名认证系统, interface spec V2.1), pure:
//! no I/O, no async. Rule ids (`R-…`) refer to `SPEC.md`.
//!
//! - [`envelope`]: AES-128-GCM + base64 bodies (R-ENC-1)
//! - [`sign`]: SHA-256 request signatures (R-SIG-1/2)
//! - [`StatusCode`]: every errcode and its errmsg (SPEC §4)
//! - [`idnum`], [`name`], [`ai`], [`pi`]: validators (R-ID, R-NAME, R-AI, R-PI)
//! - [`messages`]: typed plaintexts and answers
//! - [`interface`]: paths, methods, hosts (SPEC §1); [`quota`]: rate limits and the 1006 block (R-RL)
//! - [`timestamps`]: the header and its 5 s window (R-HDR-2, R-TS-1)
//! - [`behaviour`]: loginout batch validation and its limits (R-BEH-1, R-BEH-TIME, R-BEH-2)
//! - [`record`]: how long real-name records live (R-PEND-1/3, R-QRY-2); [`key_validity`]: key renewal (R-KEY-1)
//! - [`beijing`]: Beijing time and the 00:00–04:00 outage (R-PEND-2)
//! - [`request`]: building a signed request (the reference client); [`answer`]: reading an answer, leniently

pub mod ai;
pub mod answer;
pub mod behaviour;
pub mod beijing;
pub mod envelope;
pub mod idnum;
pub mod interface;
pub mod json;
pub mod key_validity;
pub mod messages;
pub mod name;
pub mod pi;
pub mod quota;
pub mod record;
pub mod request;
pub mod sign;
mod status;
pub mod system_headers;
pub mod timestamps;

pub use envelope::SecretKey;
pub use interface::{Interface, Permission};
pub use quota::{QuotaBlock, QuotaProfile};
pub use status::StatusCode;
