//! The life of a real-name record on the server (SPEC §5): how long a pending result may take, how long it
//! stays queryable, and when a final result is deleted.

use crate::beijing::HOUR_MS;

/// R-PEND-1: every pending result resolves within 48 h ("实名认证结果会在48个小时之内获得", FAQ 262).
pub const MAX_PENDING_DELAY_MS: u64 = 48 * HOUR_MS;
/// R-PEND-3 (choice, the default): a pending record not queried for this long is deleted (FAQ 201).
pub const PENDING_TTL_MS: u64 = 48 * HOUR_MS;
/// R-QRY-2: a record is deleted this long after the first query that returned its final result (FAQ 115, 200).
pub const DELETE_AFTER_FINAL_QUERY_MS: u64 = 300_000;
