//! A model test of loginout validation (R-BEH-1, R-BEH-TIME, R-BEH-2): a plain model of the rules, written from
//! SPEC.md §6 and the README's choices, against `behaviour::validate` on generated batches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use nppa_protocol::behaviour;
use nppa_protocol::messages::BehaviourRecord;
use nppa_protocol::StatusCode;
use proptest::prelude::*;

const TS: u64 = 1_768_449_600_500;
const GOOD_PI: &str = "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u";

fn any_id(good: &'static str) -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), Just(Some(String::new())), Just(Some(good.to_owned())), Just(Some("bad".to_owned()))]
}

fn any_record() -> impl Strategy<Value = BehaviourRecord> {
    (-2i64..132, -1i64..3, -1i64..4, -200i64..5, any_id(GOOD_PI), any_id("device")).prop_map(
        |(no, bt, ct, offset_s, pi, di)| BehaviourRecord {
            no,
            si: "s".into(),
            bt,
            ot: (TS / 1000) as i64 + offset_s,
            ct,
            di,
            pi,
        },
    )
}

/// The model: the first rule a record breaks, in the documented order.
fn model_code(record: &BehaviourRecord, repeated: bool) -> Option<u16> {
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if !(1..=128).contains(&record.no) || repeated {
        return Some(3004);
    }
    if record.bt != 0 && record.bt != 1 {
        return Some(3007);
    }
    match record.ct {
        0 if !present(&record.pi) => return Some(3008),
        0 if record.pi.as_deref() != Some(GOOD_PI) => return Some(3010),
        2 if !present(&record.di) => return Some(3009),
        0 | 2 => {}
        _ => return Some(3006),
    }
    let ot_ms = record.ot * 1000;
    let ts = TS as i64;
    if ts - ot_ms >= 180_000 || ot_ms >= ts {
        return Some(3005);
    }
    None
}

proptest! {
    #[test]
    fn validation_matches_the_model(records in proptest::collection::vec(any_record(), 0..140)) {
        let result = behaviour::validate(&records, TS, false, |_| true);
        if records.is_empty() {
            prop_assert_eq!(result.map_err(behaviour::BatchError::code), Err(StatusCode::BehaviorNull));
            return Ok(());
        }
        if records.len() > 128 {
            prop_assert_eq!(result.map_err(behaviour::BatchError::code), Err(StatusCode::OverLimitCount));
            return Ok(());
        }
        let mut seen = HashSet::new();
        let expected: Vec<(i64, u16)> = records
            .iter()
            .filter_map(|r| {
                let repeated = !seen.insert(r.no);
                model_code(r, repeated).map(|code| (r.no, code))
            })
            .collect();
        let actual: Vec<(i64, u16)> = result.unwrap().iter().map(|r| (r.no, r.errcode.code())).collect();
        prop_assert_eq!(actual, expected);
    }
}
