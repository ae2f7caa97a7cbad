//! The system parameters' header names (SPEC §2), as a signed request spells them.

pub const APP_ID: &str = "appId";
pub const BIZ_ID: &str = "bizId";
pub const TIMESTAMPS: &str = "timestamps";
pub const SIGN: &str = "sign";
/// All four, for a client that maps them to its HTTP library's names once.
pub const ALL: [&str; 4] = [APP_ID, BIZ_ID, TIMESTAMPS, SIGN];
