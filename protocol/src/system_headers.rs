//! The system parameters' header names (SPEC §2), as a signed request spells them.

pub const APP_ID: &str = "appId";
pub const BIZ_ID: &str = "bizId";
pub const TIMESTAMPS: &str = "timestamps";
pub const SIGN: &str = "sign";
/// All four, for a client that maps them to its HTTP library's names once.
pub const ALL: [&str; 4] = [APP_ID, BIZ_ID, TIMESTAMPS, SIGN];

/// The same names as HTTP libraries keep them: in lower case (header names are case-insensitive, RFC 9110 §5.1), so
/// that a client or server can make its own header-name values of them once, as constants.
pub mod lowercase {
    pub const APP_ID: &str = "appid";
    pub const BIZ_ID: &str = "bizid";
    pub const TIMESTAMPS: &str = "timestamps";
    pub const SIGN: &str = "sign";
    /// All four, in the order of [`super::ALL`].
    pub const ALL: [&str; 4] = [APP_ID, BIZ_ID, TIMESTAMPS, SIGN];
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lowercase_names_are_the_names_in_lower_case() {
        for (name, lower) in super::ALL.into_iter().zip(super::lowercase::ALL) {
            assert_eq!(name.to_ascii_lowercase(), lower);
        }
    }
}
