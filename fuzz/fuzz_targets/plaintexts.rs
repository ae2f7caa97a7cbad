//! The plaintext parsers of each interface: any bytes parse or fail; whatever parses serialises and parses back
//! to the same value; behaviour validation answers every batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nppa_protocol::messages::{CheckRequest, LoginoutRequest};

fuzz_target!(|input: &[u8]| {
    if let Ok(check) = serde_json::from_slice::<CheckRequest>(input) {
        let again: CheckRequest = serde_json::from_slice(&serde_json::to_vec(&check).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, check);
    }
    if let Ok(report) = serde_json::from_slice::<LoginoutRequest>(input) {
        let again: LoginoutRequest = serde_json::from_slice(&serde_json::to_vec(&report).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, report);
        if let Some(records) = &report.collections {
            let _ = nppa_protocol::behaviour::validate(records, 1_768_449_600_000, true, |pi| pi.len() % 2 == 0);
        }
    }
});
