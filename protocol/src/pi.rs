//! R-PI: the 38-character player identifier — 6 characters of birth date `YYYYMMDD` in base 26
//! (digits `0-9a-p`) followed by a 32-character user code from `[0-9a-z]`.

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

/// Length of a pi.
pub const PI_LEN: usize = 38;
/// Length of the birth-date prefix.
pub const BIRTH_LEN: usize = 6;
const BASE26: &[u8; 26] = b"0123456789abcdefghijklmnop";
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Encodes a birth date as the 6-character base-26 prefix (`19010101` → `1fffbj`).
pub fn encode_birth_date(date: NaiveDate) -> String {
    birth_date_prefix(date).iter().map(|&b| char::from(b)).collect()
}

fn birth_date_prefix(date: NaiveDate) -> [u8; BIRTH_LEN] {
    // A year of at most 4 digits keeps YYYYMMDD below 26^6.
    let mut value = date.year().clamp(0, 9999) as u32 * 10_000 + date.month() * 100 + date.day();
    let mut out = [b'0'; BIRTH_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE26[(value % 26) as usize];
        value /= 26;
    }
    out
}

/// Decodes the 6-character base-26 prefix into a calendar date.
pub fn decode_birth_date(prefix: &str) -> Option<NaiveDate> {
    if prefix.len() != BIRTH_LEN {
        return None;
    }
    let mut value: u32 = 0;
    for b in prefix.bytes() {
        let digit = BASE26.iter().position(|&d| d == b)? as u32;
        value = value * 26 + digit;
    }
    // YYYYMMDD has eight digits: a larger number is not a birth date, even if chrono accepts its year.
    if value > 99_991_231 {
        return None;
    }
    let (year, month, day) = (value / 10_000, (value / 100) % 100, value % 100);
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// Why a string is not a well-formed pi.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PiError {
    #[error("a pi has 38 characters")]
    Length,
    #[error("the first 6 characters of a pi are not a base-26 birth date")]
    BirthDate,
    #[error("the last 32 characters of a pi are lower-case letters and digits")]
    UserCode,
}

/// A parsed, well-formed pi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pi {
    pub birth_date: NaiveDate,
    pub user_code: String,
}

/// Parses and validates a pi per R-PI.
pub fn parse(pi: &str) -> Result<Pi, PiError> {
    if pi.len() != PI_LEN || !pi.is_ascii() {
        return Err(PiError::Length);
    }
    let (prefix, code) = pi.split_at(BIRTH_LEN);
    let birth_date = decode_birth_date(prefix).ok_or(PiError::BirthDate)?;
    if !code.bytes().all(|b| BASE36.contains(&b)) {
        return Err(PiError::UserCode);
    }
    Ok(Pi { birth_date, user_code: code.to_owned() })
}

/// The pi of a person: the same idNum always gets the same pi under the same server secret,
/// whichever appId or game asks (FAQ 129, 150, 151, 206).
pub fn derive(server_secret: &[u8], id_num: &str, birth_date: NaiveDate) -> String {
    let hash = Sha256::new().chain_update(server_secret).chain_update(b"\0pi\0").chain_update(id_num).finalize();
    // Written once into its final size: a success answers with a pi on the mock's path.
    let mut pi = String::with_capacity(PI_LEN);
    let code = hash.iter().map(|&b| BASE36[usize::from(b) % 36]);
    pi.extend(birth_date_prefix(birth_date).into_iter().chain(code).map(char::from));
    pi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_examples_decode() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(decode_birth_date("1fffbj"), d(1901, 1, 1));
        assert_eq!(decode_birth_date("1hpfml"), d(2010, 1, 1));
        assert_eq!(parse("1hpfml09b57f3f8185f8cb5094ea3f26278efb").map(|p| p.birth_date).ok(), d(2010, 1, 1));
        assert_eq!(parse("1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99U"), Err(PiError::UserCode));
        assert_eq!(parse("1fffbzzos82bs9cnyj1dna7d6d29zg4esnh99u"), Err(PiError::BirthDate));
        assert_eq!(parse("1fffbj"), Err(PiError::Length));
        // Found by the validators fuzz target: "ff47bl" decodes past 99991231, a five-digit year.
        assert_eq!(parse("ff47blf892icollectionsfffblf892icollec"), Err(PiError::BirthDate));
    }
}
