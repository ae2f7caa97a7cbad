//! The `timestamps` header: Unix milliseconds as decimal digits (R-HDR-1, R-HDR-2), within 5 s of the server's
//! clock (R-TS-1).

/// R-TS-1: `timestamps` more than this far from server time, either way, is answered 1007.
pub const WINDOW_MS: u64 = 5_000;

/// R-HDR-2: the header's value, when it is decimal digits only that fit a `u64`; otherwise it is malformed (1011).
pub fn parse(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// R-TS-1: is `sent_ms` within `window_ms` of `server_ms`, either way?
pub const fn is_fresh(sent_ms: u64, server_ms: u64, window_ms: u64) -> bool {
    sent_ms.abs_diff(server_ms) <= window_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_hdr_2_only_decimal_digits_are_timestamps() {
        assert_eq!(parse("1705975247808"), Some(1_705_975_247_808));
        for bad in ["", "-1", "+1", "1.5", "0x10", " 1", "99999999999999999999999"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn r_ts_1_five_seconds_either_way_is_fresh() {
        let now = 1_705_975_247_808;
        assert!(is_fresh(now - WINDOW_MS, now, WINDOW_MS));
        assert!(is_fresh(now + WINDOW_MS, now, WINDOW_MS));
        assert!(!is_fresh(now - WINDOW_MS - 1, now, WINDOW_MS));
        assert!(!is_fresh(now / 1000, now, WINDOW_MS), "seconds instead of ms");
    }
}
