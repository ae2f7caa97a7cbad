//! Behaviour-report validation (R-BEH-1, R-BEH-TIME, R-BEH-2): whole-batch errors, then per-record codes.
//! The mock answers with it; certify and the load drivers read its limits.

use std::collections::HashSet;

use crate::messages::{bt, ct, BehaviourRecord, RecordResult};
use crate::{pi, StatusCode};

/// R-BEH-1: most records one request may carry; `no` runs 1..=this.
pub const MAX_RECORDS: usize = 128;
/// R-BEH-TIME: the earliest `ot` must be less than this before the request's `timestamps`.
pub const WINDOW_MS: u64 = 180_000;
/// R-BEH-TIME in seconds, for people and formulas.
pub const WINDOW_S: u64 = WINDOW_MS / 1000;
/// Longest si and di, in characters (SPEC §6).
pub const MAX_ID_CHARS: usize = 32;

/// R-BEH-TIME, compared in ms (choice): `timestamps − 180 s < ot < timestamps`, `ot` in Unix seconds.
pub fn ot_in_window(ot_s: i64, timestamps_ms: u64) -> bool {
    let ot_ms = i128::from(ot_s) * 1000;
    let ts = i128::from(timestamps_ms);
    ts - ot_ms < i128::from(WINDOW_MS) && ot_ms < ts
}

/// R-BEH-2: is `no` a valid record number (1..=128)?
pub fn valid_no(no: i64) -> bool {
    (1..=MAX_RECORDS as i64).contains(&no)
}

/// Why a whole batch is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// 3002.
    #[error("`collections` is empty")]
    Empty,
    /// 3003.
    #[error("{0} records, more than 128 in one report")]
    OverLimit(usize),
    /// 1012 (choice): si is required, 1–32 characters.
    #[error("record no {no}: `si` has {chars} characters (1–32)")]
    Si { no: i64, chars: usize },
    /// 1012 (choice): di at most 32 characters.
    #[error("record no {no}: `di` has {chars} characters (at most 32)")]
    Di { no: i64, chars: usize },
}

impl BatchError {
    /// The errcode it answers.
    pub const fn code(self) -> StatusCode {
        match self {
            BatchError::Empty => StatusCode::BehaviorNull,
            BatchError::OverLimit(_) => StatusCode::OverLimitCount,
            BatchError::Si { .. } | BatchError::Di { .. } => StatusCode::ParamCheckError,
        }
    }
}

/// Validates a batch. `Err` is a whole-request refusal (3002, 3003, 1012); `Ok` holds the rejected records
/// (empty: all accepted, answer 0; otherwise answer 3001 with them). `issued` tells whether the server issued a
/// pi (only consulted in strict mode).
pub fn validate(
    records: &[BehaviourRecord],
    timestamps_ms: u64,
    strict_pi: bool,
    issued: impl Fn(&str) -> bool,
) -> Result<Vec<RecordResult>, BatchError> {
    if records.is_empty() {
        return Err(BatchError::Empty);
    }
    if records.len() > MAX_RECORDS {
        return Err(BatchError::OverLimit(records.len()));
    }
    // Shape (1012, choice): si required 1..=32 characters, di at most 32.
    for record in records {
        let si = record.si.chars().count();
        if si == 0 || si > MAX_ID_CHARS {
            return Err(BatchError::Si { no: record.no, chars: si });
        }
        let di = record.device_id().map_or(0, |di| di.chars().count());
        if di > MAX_ID_CHARS {
            return Err(BatchError::Di { no: record.no, chars: di });
        }
    }
    let mut seen = HashSet::with_capacity(records.len());
    let rejected = records
        .iter()
        .filter_map(|record| {
            let fresh_no = seen.insert(record.no);
            record_code(record, fresh_no, timestamps_ms, strict_pi, &issued)
                .map(|code| RecordResult::new(record.no, code))
        })
        .collect();
    Ok(rejected)
}

/// The first rule a record breaks, in this order: 3004, 3007, 3006, 3008/3009, 3010, 3005.
fn record_code(
    record: &BehaviourRecord,
    fresh_no: bool,
    timestamps_ms: u64,
    strict_pi: bool,
    issued: &impl Fn(&str) -> bool,
) -> Option<StatusCode> {
    if !valid_no(record.no) || !fresh_no {
        return Some(StatusCode::NoInvalid);
    }
    if record.bt != bt::LOGOUT && record.bt != bt::LOGIN {
        return Some(StatusCode::BehaviorModeInvalid);
    }
    match record.ct {
        ct::VERIFIED => match record.player_id() {
            None => return Some(StatusCode::PlayerIdMiss),
            Some(p) if pi::parse(p).is_err() || (strict_pi && !issued(p)) => return Some(StatusCode::PlayerIdInvalid),
            Some(_) => {}
        },
        ct::GUEST => {
            if record.device_id().is_none() {
                return Some(StatusCode::DeviceIdMiss);
            }
        }
        _ => return Some(StatusCode::PlayerModeInvalid),
    }
    (!ot_in_window(record.ot, timestamps_ms)).then_some(StatusCode::BehaviorTimeError)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PI: &str = "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u";
    const TS: u64 = 1_700_000_000_500;

    fn record(no: i64, ct: i64, ot: i64) -> BehaviourRecord {
        BehaviourRecord { no, si: "s".into(), bt: 1, ot, ct, di: Some("d".into()), pi: Some(PI.into()) }
    }

    fn codes(records: &[BehaviourRecord]) -> Vec<(i64, u16)> {
        validate(records, TS, false, |_| true).expect("batch").iter().map(|r| (r.no, r.errcode.code())).collect()
    }

    #[test]
    fn r_beh_time_the_window_is_strict_at_both_ends() {
        let now_s = (TS / 1000) as i64; // 1_700_000_000, 500 ms before TS
        assert!(codes(&[record(1, 0, now_s)]).is_empty());
        assert_eq!(codes(&[record(1, 0, now_s + 1)]), vec![(1, 3005)]);
        assert!(codes(&[record(1, 0, now_s - 179)]).is_empty());
        assert_eq!(codes(&[record(1, 0, now_s - 180)]), vec![(1, 3005)]);
        assert!(!ot_in_window(i64::MIN, TS) && !ot_in_window(i64::MAX, TS), "extremes do not overflow");
    }

    #[test]
    fn r_beh_1_r_beh_2_per_record_codes_and_whole_batch_codes() {
        let now_s = (TS / 1000) as i64;
        let mut bad_bt = record(3, 0, now_s);
        bad_bt.bt = 2;
        let mut no_pi = record(4, 0, now_s);
        no_pi.pi = Some(String::new());
        let mut no_di = record(5, 2, now_s);
        no_di.di = None;
        let mut bad_pi = record(6, 0, now_s);
        bad_pi.pi = Some("x".into());
        let batch = [
            record(1, 0, now_s),
            record(1, 2, now_s),
            bad_bt,
            no_pi,
            no_di,
            bad_pi,
            record(7, 1, now_s),
            record(0, 0, now_s),
        ];
        assert_eq!(codes(&batch), vec![(1, 3004), (3, 3007), (4, 3008), (5, 3009), (6, 3010), (7, 3006), (0, 3004)]);
        assert_eq!(validate(&[], TS, false, |_| true), Err(BatchError::Empty));
        let many: Vec<_> = (1..=MAX_RECORDS as i64 + 1).map(|n| record(n, 0, now_s)).collect();
        assert_eq!(validate(&many, TS, false, |_| true), Err(BatchError::OverLimit(129)));
        assert!(validate(&many[..MAX_RECORDS], TS, false, |_| true).is_ok_and(|r| r.is_empty()));
    }
}
