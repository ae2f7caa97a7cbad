//! proptest properties of the pure protocol (R-PI, R-ID, R-ENC-1, R-SIG-1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use nppa_protocol::{idnum, pi, sign, SecretKey};
use proptest::prelude::*;

fn any_date() -> impl Strategy<Value = NaiveDate> {
    (1000i32..=9999, 1u32..=12, 1u32..=31)
        .prop_filter_map("calendar date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
}

proptest! {
    #[test]
    fn pi_birth_date_round_trips(date in any_date()) {
        let prefix = pi::encode_birth_date(date);
        prop_assert_eq!(prefix.len(), 6);
        prop_assert_eq!(pi::decode_birth_date(&prefix), Some(date));
    }

    #[test]
    fn derived_pi_is_well_formed_and_stable(secret in proptest::collection::vec(any::<u8>(), 0..32),
                                            digits in "[0-9]{6}", date in any_date()) {
        let first17 = format!("{digits}{}{}", date.format("%Y%m%d"), "123");
        let id = idnum::complete(&first17).expect("17 digits");
        let a = pi::derive(&secret, &id, date);
        prop_assert_eq!(&a, &pi::derive(&secret, &id, date));
        let parsed = pi::parse(&a).expect("derived pi parses");
        prop_assert_eq!(parsed.birth_date, date);
    }

    #[test]
    fn completed_idnum_validates_and_any_other_check_char_fails(
        digits in "[0-9]{6}", date in any_date(), seq in "[0-9]{3}", wrong in "[0-9X]") {
        let today = NaiveDate::from_ymd_opt(9999, 12, 31).expect("date");
        let first17 = format!("{digits}{}{seq}", date.format("%Y%m%d"));
        let id = idnum::complete(&first17).expect("17 digits");
        prop_assert_eq!(idnum::validate(&id, today), Ok(date));
        let other = format!("{first17}{wrong}");
        if other != id {
            prop_assert_eq!(idnum::validate(&other, today), Err(idnum::IdNumError::CheckChar));
        }
    }

    #[test]
    fn any_single_digit_change_breaks_the_check_char(digits in "[0-9]{6}", date in any_date(),
                                                     seq in "[0-9]{3}", pos in 0usize..17, delta in 1u8..10) {
        let today = NaiveDate::from_ymd_opt(9999, 12, 31).expect("date");
        let id = idnum::complete(&format!("{digits}{}{seq}", date.format("%Y%m%d"))).expect("17 digits");
        let mut bytes = id.into_bytes();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).expect("ascii");
        prop_assert!(idnum::validate(&changed, today).is_err());
    }

    #[test]
    fn seal_open_round_trips(key in "[0-9a-f]{32}", plaintext in proptest::collection::vec(any::<u8>(), 0..512),
                             iv in any::<[u8; 12]>()) {
        let key = SecretKey::from_hex(&key).expect("hex key");
        let sealed = key.seal(&plaintext, iv);
        prop_assert_eq!(key.open(&sealed), Ok(plaintext));
    }

    #[test]
    fn signature_changes_with_any_param_change(value in "[a-z0-9]{1,20}", other in "[a-z0-9]{1,20}") {
        prop_assume!(value != other);
        let a = sign::sign("k", &[("appId", &value)], b"");
        let b = sign::sign("k", &[("appId", &other)], b"");
        prop_assert_ne!(a, b);
    }
}

proptest! {
    #[test]
    fn any_changed_byte_of_a_sealed_body_is_detected(plaintext in proptest::collection::vec(any::<u8>(), 1..256),
                                                     index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        use base64::Engine as _;
        let key = SecretKey::from_hex("b4c932250dbe59ff53b15ee993a9feb5").expect("key");
        let sealed = key.seal(&plaintext, [5; 12]);
        let mut raw = base64::engine::general_purpose::STANDARD.decode(&sealed).expect("base64");
        let at = index.index(raw.len());
        raw[at] ^= flip;
        let tampered = base64::engine::general_purpose::STANDARD.encode(&raw);
        prop_assert!(key.open(&tampered).is_err());
    }

    #[test]
    fn the_sign_changes_with_any_byte_of_the_body(body in proptest::collection::vec(any::<u8>(), 1..256),
                                                  index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let params = [("appId", "a"), ("bizId", "b"), ("timestamps", "1")];
        let before = sign::sign("k", &params, &body);
        let mut changed = body.clone();
        let at = index.index(changed.len());
        changed[at] ^= flip;
        prop_assert_ne!(before, sign::sign("k", &params, &changed));
    }
}
