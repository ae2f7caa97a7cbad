//! R-ID: the 18-character resident identity number (GB 11643, ISO 7064 MOD 11-2).

use chrono::NaiveDate;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Why an idNum fails R-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumError {
    #[error("an idNum has 18 characters")]
    Length,
    #[error("the first 17 characters of an idNum are digits")]
    NotDigits,
    #[error("characters 7-14 of an idNum are not a real calendar date")]
    BadDate,
    #[error("the birth date of the idNum is in the future")]
    FutureDate,
    #[error("the check character does not match (X must be upper case)")]
    CheckChar,
}

/// The check character for the first 17 digits (ASCII digits only).
pub fn check_char(first17: &[u8; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    char::from(CHECK_CHARS[(sum % 11) as usize])
}

/// The birth date in characters 7-14, if they form a calendar date.
pub fn birth_date(id_num: &str) -> Option<NaiveDate> {
    let digits = id_num.get(6..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = digits[0..4].parse().ok()?;
    let month = digits[4..6].parse().ok()?;
    let day = digits[6..8].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Validates an idNum per R-ID; `today` bounds the birth date (pass the mock clock's date).
pub fn validate(id_num: &str, today: NaiveDate) -> Result<NaiveDate, IdNumError> {
    let bytes = id_num.as_bytes();
    if bytes.len() != 18 {
        return Err(IdNumError::Length);
    }
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(&bytes[..17]);
    if !first17.iter().all(u8::is_ascii_digit) {
        return Err(IdNumError::NotDigits);
    }
    let born = birth_date(id_num).ok_or(IdNumError::BadDate)?;
    if born > today {
        return Err(IdNumError::FutureDate);
    }
    if char::from(bytes[17]) != check_char(&first17) {
        return Err(IdNumError::CheckChar);
    }
    Ok(born)
}

/// Packs a valid idNum into 8 bytes (17 digits × 11 + check value), for compact storage.
pub fn pack(id_num: &str) -> Option<u64> {
    let bytes = id_num.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits: u64 = id_num[..17].parse().ok()?;
    let check = CHECK_CHARS.iter().position(|&c| c == bytes[17])? as u64;
    Some(digits * 11 + check)
}

/// The idNum [`pack`] packed.
pub fn unpack(packed: u64) -> String {
    let check = CHECK_CHARS[(packed % 11) as usize];
    format!("{:017}{}", packed / 11, char::from(check))
}

/// Completes 17 digits with their check character (for generating test identities).
pub fn complete(first17: &str) -> Option<String> {
    let bytes: &[u8; 17] = first17.as_bytes().try_into().ok()?;
    if !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(format!("{first17}{}", check_char(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
    }

    #[test]
    fn pack_round_trips() {
        for id in ["110000190101010001", "11000019010101001X", "000000190101010001"] {
            assert_eq!(pack(id).map(unpack).as_deref(), Some(id));
        }
        assert_eq!(pack("11000019010101001x"), None);
    }

    #[test]
    fn presets_are_valid() {
        for id in ["110000190101010001", "11000019010101001X", "11000019020103000X"] {
            assert!(validate(id, today()).is_ok(), "{id}");
        }
    }

    #[test]
    fn each_failure_has_its_reason() {
        assert_eq!(validate("1100001901010100", today()), Err(IdNumError::Length));
        assert_eq!(validate("11000019010101001x", today()), Err(IdNumError::CheckChar));
        assert_eq!(validate("110000190101010002", today()), Err(IdNumError::CheckChar));
        assert_eq!(validate("11000019010231000X", today()), Err(IdNumError::BadDate));
        assert_eq!(validate("1100001901a1010001", today()), Err(IdNumError::NotDigits));
        let future = complete("11000020300101001").unwrap_or_default();
        assert_eq!(validate(&future, today()), Err(IdNumError::FutureDate));
    }

    #[test]
    fn the_v1_demo_id_has_a_wrong_check_digit() {
        // vectors/official.json: "The idNum in this demo has a wrong check digit".
        assert_eq!(validate("371321199012310912", today()), Err(IdNumError::CheckChar));
    }
}
