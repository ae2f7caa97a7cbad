//! idNum, pi, name and ai validators: any string is judged without panicking; pi and idNum round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nppa_protocol::{ai, idnum, name, pi};

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default();
    if let Ok(born) = idnum::validate(&text, today) {
        let packed = idnum::pack(&text).unwrap_or_else(|| panic!("a valid idNum packs: {text}"));
        assert_eq!(idnum::unpack(packed), text);
        let derived = pi::derive(b"secret", &text, born);
        assert_eq!(pi::parse(&derived).map(|p| p.birth_date), Ok(born));
    }
    if let Ok(parsed) = pi::parse(&text) {
        assert_eq!(pi::encode_birth_date(parsed.birth_date), text[..6]);
    }
    let _ = name::is_valid(&text, name::NameRule::Cjk);
    let _ = name::is_valid(&text, name::NameRule::AnyScript);
    let _ = ai::is_valid(&text);
    let _ = idnum::birth_date(&text);
});
