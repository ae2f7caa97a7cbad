//! Shadow mode's comparison: the upstream's answer against the mock's by meaning, as a client reads them (the
//! lenient `nppa_protocol::answer` reader): HTTP status, errcode, status, pi, rejected records, the shape of `data`.
//! The errmsg's wording, key order and spacing are not differences.

use nppa_protocol::answer::{self, ParsedAnswer};

use crate::journal::{Difference, DifferenceKind};

/// Where `upstream` differs from `mock`, in the order of the kinds; empty when they mean the same.
pub(super) fn differences(mock_http: u16, mock: &[u8], upstream_http: u16, upstream: &[u8]) -> Vec<Difference> {
    let mut found = Vec::new();
    let mut differ = |kind, mock: String, upstream: String| {
        if mock != upstream {
            found.push(Difference { kind, mock, upstream });
        }
    };
    differ(DifferenceKind::HttpStatus, mock_http.to_string(), upstream_http.to_string());
    let (mock, upstream) = match (answer::parse(mock), answer::parse(upstream)) {
        (Some(mock), Some(upstream)) => (mock, upstream),
        (mock, upstream) => {
            let readable =
                |a: &Option<ParsedAnswer>| if a.is_some() { "an answer" } else { "not an answer" }.to_owned();
            differ(DifferenceKind::Readable, readable(&mock), readable(&upstream));
            return found;
        }
    };
    differ(DifferenceKind::Errcode, mock.errcode.to_string(), upstream.errcode.to_string());
    let status = |a: &ParsedAnswer| a.status.map_or_else(|| "(none)".to_owned(), |s| u8::from(s).to_string());
    differ(DifferenceKind::Status, status(&mock), status(&upstream));
    let pi = |a: &ParsedAnswer| a.pi.clone().unwrap_or_else(|| "(none)".to_owned());
    differ(DifferenceKind::Pi, pi(&mock), pi(&upstream));
    let rejected = |a: &ParsedAnswer| {
        let mut records: Vec<String> = a.rejected.iter().map(|r| format!("{}:{}", r.no, r.errcode)).collect();
        records.sort();
        records.join(" ")
    };
    differ(DifferenceKind::Rejected, rejected(&mock), rejected(&upstream));
    differ(DifferenceKind::DataShape, format!("{:?}", mock.data), format!("{:?}", upstream.data));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_key_order_and_spacing_are_not_differences() {
        let mock = br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0,"pi":"1fffbj"}}}"#;
        let upstream = br#"{ "data": {"result": {"pi": "1fffbj", "status": 0}}, "errmsg": "ok", "errcode": 0 }"#;
        assert_eq!(differences(200, mock, 200, upstream), []);
    }

    #[test]
    fn each_difference_names_its_kind_and_both_values() {
        let mock = br#"{"errcode":3001,"errmsg":"BUS COLL PARTIAL ERROR","data":{"results":[{"no":2,"errcode":3005,"errmsg":"x"}]}}"#;
        let upstream = br#"{"errcode":3001,"errmsg":"BUS COLL PARTIAL ERROR","data":{"results":[{"no":2,"errcode":3010,"errmsg":"x"}]}}"#;
        let found = differences(200, mock, 200, upstream);
        assert_eq!(
            found,
            [Difference { kind: DifferenceKind::Rejected, mock: "2:3005".into(), upstream: "2:3010".into() }]
        );
        let found = differences(200, br#"{"errcode":1001,"errmsg":"SYS ERROR"}"#, 502, b"bad gateway");
        let kinds: Vec<DifferenceKind> = found.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DifferenceKind::HttpStatus, DifferenceKind::Readable]);
    }
}
