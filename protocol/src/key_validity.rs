//! R-KEY-1: how long a secretKey is valid around its renewal (FAQ 117, 118, 123). Keys change in the portal;
//! there is no key API.

use crate::beijing::DAY_MS;

/// A replacement is issued this long before the current key expires; both are valid meanwhile (FAQ 117, 118).
pub const RENEW_BEFORE_MS: u64 = 15 * DAY_MS;
/// After a manual refresh the old key stays valid this long (FAQ 123).
pub const REFRESH_GRACE_MS: u64 = 3 * DAY_MS;
/// (choice) How long a newly issued key is valid when the configuration does not say.
pub const DEFAULT_VALIDITY_MS: u64 = 365 * DAY_MS;
