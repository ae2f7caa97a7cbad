//! Synthetic players: valid names, idNums, pis and ais, the same for the same number, unique up to 10 M.

use chrono::{Datelike, Duration, NaiveDate};
use nppa_protocol::messages::CheckRequest;
use nppa_protocol::{idnum, pi};

/// Secret the load driver derives its players' pis from; any well-formed pi is accepted unless the mock runs
/// with `strict_pi` (R-BEH-2).
const PI_SECRET: &[u8] = b"nppa-load players";

/// Given names drawn from for synthetic players (R-NAME: Chinese characters).
const GIVEN: [&str; 16] =
    ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超"];
const FAMILY: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵"];

/// Player number `n` as (name, idNum): born between 1970 and 1999, so always an adult.
pub fn person(n: u64) -> (String, String) {
    let day = (n / 1000) % 10_950;
    let birth = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() + Duration::days(day as i64);
    let area = 110_101 + (n / 10_950_000) % 8;
    // Digit by digit into a fixed buffer: `format!` and chrono's `format("%Y%m%d")` cost 3 500 instructions for
    // every check the driver sends.
    let mut id_num = [0u8; 18];
    put_digits(&mut id_num[..6], area);
    put_digits(&mut id_num[6..10], u64::try_from(birth.year()).unwrap_or_default());
    put_digits(&mut id_num[10..12], u64::from(birth.month()));
    put_digits(&mut id_num[12..14], u64::from(birth.day()));
    put_digits(&mut id_num[14..17], n % 1000);
    if let Ok(first17) = <&[u8; 17]>::try_from(&id_num[..17]) {
        id_num[17] = u8::try_from(idnum::check_char(first17)).unwrap_or(b'X');
    }
    // n read in mixed radix: family (8), then two given characters (16 each).
    let (family, given) = (FAMILY.len() as u64, GIVEN.len() as u64);
    let parts = [
        FAMILY[(n % family) as usize],
        GIVEN[((n / family) % given) as usize],
        GIVEN[((n / family / given) % given) as usize],
    ];
    (parts.concat(), ascii(&id_num))
}

/// The last `out.len()` decimal digits of `value`, zero-padded, into `out`.
fn put_digits(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn ascii(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap_or_default()
}

/// A check of a new player: the `n`-th of a run tagged `run`, so that runs against the same mock use other people
/// and other ais (R-CHK-3).
pub fn new_check(run: u32, n: u64) -> CheckRequest {
    let (name, id_num) = person(u64::from(run % 1000) * 10_000_000 + n);
    CheckRequest { ai: ai(run, n), name, id_num }
}

/// The pi the load driver reports for player `n`.
pub fn player_pi(n: u64) -> String {
    let (_, id_num) = person(n);
    let birth = idnum::birth_date(&id_num).unwrap_or_default();
    pi::derive(PI_SECRET, &id_num, birth)
}

/// A 32-character ai, unique per (run, n) (R-AI: 32 characters, unique).
pub fn ai(run_tag: u32, n: u64) -> String {
    // "ld", the run tag in 8 hex digits, n in 22 decimal digits; written into place (see `person`).
    let mut ai = [0u8; 32];
    ai[..2].copy_from_slice(b"ld");
    let _ = hex::encode_to_slice(run_tag.to_be_bytes(), &mut ai[2..10]);
    put_digits(&mut ai[10..], n);
    ascii(&ai)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nppa_protocol::name::{self, NameRule};

    #[test]
    fn players_are_valid_and_distinct() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut seen = std::collections::HashSet::new();
        for n in (0..2_000_000).step_by(997) {
            let (name, id_num) = person(n);
            assert!(idnum::validate(&id_num, today).is_ok(), "{id_num}");
            assert!(name::is_valid(&name, NameRule::Cjk), "{name}");
            assert!(seen.insert(id_num));
        }
        assert!(pi::parse(&player_pi(42)).is_ok());
        assert!(nppa_protocol::ai::is_valid(&ai(0xdead_beef, 123_456_789)));
    }

    #[test]
    fn the_same_number_is_the_same_person() {
        assert_eq!(person(0), ("王伟伟".to_owned(), idnum::complete("11010119700101000").unwrap()));
        let n = 10_950_000 * 3 + 1000 * 400 + 17;
        assert_eq!(person(n).1, idnum::complete("11010419710205017").unwrap());
        assert_eq!(person(18).1, "11010119700101018X", "a check character X");
        assert_eq!(ai(0xdead_beef, 123_456_789), format!("ld{:08x}{:022}", 0xdead_beef_u32, 123_456_789));
        assert_eq!(ai(7, u64::MAX), format!("ld{:08x}{:022}", 7, u64::MAX));
    }
}
