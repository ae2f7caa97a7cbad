//! Beijing time (UTC+8) and the daily 00:00–04:00 outage of the Ministry of Public Security (R-PEND-2).
//! Times are Unix milliseconds; the caller supplies them.

/// Milliseconds in an hour.
pub const HOUR_MS: u64 = 3_600_000;
/// Milliseconds in a day.
pub const DAY_MS: u64 = 24 * HOUR_MS;
/// Beijing time is UTC+8, all year (no daylight saving).
pub const OFFSET_MS: u64 = 8 * HOUR_MS;
/// The outage ends at 04:00 Beijing time (V2.1, query 备注 3).
pub const OUTAGE_END_HOUR: u64 = 4;

/// Beijing's offset from UTC, for formatting times.
pub const OFFSET: chrono::FixedOffset = match chrono::FixedOffset::east_opt((OFFSET_MS / 1000) as i32) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// `t_ms` as an RFC 3339 time in Beijing (`2026-01-15T12:00:00+08:00`); empty if out of chrono's range.
pub fn rfc3339(t_ms: u64) -> String {
    i64::try_from(t_ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.with_timezone(&OFFSET).to_rfc3339())
        .unwrap_or_default()
}

/// `t_ms` as Beijing wall-clock time in a chrono `strftime` pattern (`"%H:%M:%S"`); empty if out of range.
pub fn format(t_ms: u64, pattern: &str) -> String {
    i64::try_from(t_ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.with_timezone(&OFFSET).format(pattern).to_string())
        .unwrap_or_default()
}

/// Milliseconds since 00:00 Beijing time of the Beijing day containing `t_ms`.
pub fn time_of_day_ms(t_ms: u64) -> u64 {
    t_ms.saturating_add(OFFSET_MS) % DAY_MS
}

/// R-PEND-2: true during the daily 00:00–04:00 Beijing-time outage.
pub fn in_mps_outage(t_ms: u64) -> bool {
    time_of_day_ms(t_ms) < OUTAGE_END_HOUR * HOUR_MS
}

/// R-PEND-2: 04:00 Beijing time of the Beijing day containing `t_ms`.
pub fn outage_end_ms(t_ms: u64) -> u64 {
    let day_start = t_ms.saturating_sub(time_of_day_ms(t_ms));
    day_start.saturating_add(OUTAGE_END_HOUR * HOUR_MS)
}

/// The Beijing calendar date of `t_ms` (R-ID: a birth date may not be in the future).
pub fn date(t_ms: u64) -> chrono::NaiveDate {
    let secs = (t_ms.saturating_add(OFFSET_MS) / 1000).min(i64::MAX as u64) as i64;
    chrono::DateTime::from_timestamp(secs, 0).map(|d| d.date_naive()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-01-15T00:00:00+08:00 = 2026-01-14T16:00:00Z
    const MIDNIGHT_BEIJING: u64 = 1_768_406_400_000;

    #[test]
    fn r_pend_2_outage_is_midnight_to_four_beijing_time() {
        assert!(in_mps_outage(MIDNIGHT_BEIJING));
        assert!(in_mps_outage(MIDNIGHT_BEIJING + 4 * HOUR_MS - 1));
        assert!(!in_mps_outage(MIDNIGHT_BEIJING + 4 * HOUR_MS));
        assert!(!in_mps_outage(MIDNIGHT_BEIJING - 1));
        assert_eq!(outage_end_ms(MIDNIGHT_BEIJING + 3 * HOUR_MS), MIDNIGHT_BEIJING + 4 * HOUR_MS);
        // After 04:00 the end named is today's (already past), never tomorrow's.
        assert_eq!(outage_end_ms(MIDNIGHT_BEIJING + 13 * HOUR_MS), MIDNIGHT_BEIJING + 4 * HOUR_MS);
    }

    #[test]
    fn dates_and_formats_are_beijing_time() {
        assert_eq!(date(MIDNIGHT_BEIJING).to_string(), "2026-01-15");
        assert_eq!(date(MIDNIGHT_BEIJING - 1).to_string(), "2026-01-14");
        assert_eq!(rfc3339(MIDNIGHT_BEIJING), "2026-01-15T00:00:00+08:00");
        assert_eq!(format(MIDNIGHT_BEIJING + 12 * HOUR_MS, "%Y-%m-%d %H:%M"), "2026-01-15 12:00");
        assert_eq!(OFFSET.local_minus_utc(), 8 * 3600);
    }

    #[test]
    fn extreme_times_do_not_panic() {
        for t in [0, u64::MAX, i64::MAX as u64] {
            let _ = (in_mps_outage(t), outage_end_ms(t), date(t), rfc3339(t), format(t, "%H"));
        }
    }
}
