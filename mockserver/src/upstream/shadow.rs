//! Shadow mode's comparison: the upstream's answer against the mock's by meaning, as a client reads them (the
//! lenient `nppa_protocol::answer` reader): HTTP status, errcode, status, pi, rejected records, the shape of `data`.
//! The errmsg's wording, key order and spacing are not differences.

use nppa_protocol::answer::{self, ParsedAnswer};

use crate::journal::{Difference, DifferenceKind};

/// Where `upstream` differs from `mock`, in the order of the kinds; empty when they mean the same.
///
/// One difference is counted once, under the kind it starts from: an unreadable body under another HTTP status is
/// that status's, and an answer with another errcode differs in its status, pi, rejected records and `data` because of
/// it. A status of 1 or 2 has no pi (FAQ 149), so pi is compared only when the status agrees.
pub(super) fn differences(mock_http: u16, mock: &[u8], upstream_http: u16, upstream: &[u8]) -> Vec<Difference> {
    let mut found = Vec::new();
    let mut differ = |kind, mock: String, upstream: String| {
        let differs = mock != upstream;
        if differs {
            found.push(Difference { kind, mock, upstream });
        }
        differs
    };
    let other_status = differ(DifferenceKind::HttpStatus, mock_http.to_string(), upstream_http.to_string());
    let (mock, upstream) = match (answer::parse(mock), answer::parse(upstream)) {
        (Some(mock), Some(upstream)) => (mock, upstream),
        (None, None) => return found,
        (mock, upstream) => {
            if !other_status {
                let readable =
                    |a: &Option<ParsedAnswer>| if a.is_some() { "an answer" } else { "not an answer" }.to_owned();
                differ(DifferenceKind::Readable, readable(&mock), readable(&upstream));
            }
            return found;
        }
    };
    if differ(DifferenceKind::Errcode, mock.errcode.to_string(), upstream.errcode.to_string()) {
        return found;
    }
    let status = |a: &ParsedAnswer| a.status.map_or_else(|| "(none)".to_owned(), |s| u8::from(s).to_string());
    if !differ(DifferenceKind::Status, status(&mock), status(&upstream)) {
        let pi = |a: &ParsedAnswer| a.pi.clone().unwrap_or_else(|| "(none)".to_owned());
        differ(DifferenceKind::Pi, pi(&mock), pi(&upstream));
    }
    let rejected = |a: &ParsedAnswer| {
        let mut records: Vec<String> = a.rejected.iter().map(|r| format!("{}:{}", r.no, r.errcode)).collect();
        records.sort();
        records.join(" ")
    };
    differ(DifferenceKind::Rejected, rejected(&mock), rejected(&upstream));
    // `""`, `null` and absent are told apart: clients that decode `data` strictly fail on one and not another (SPEC §3).
    differ(DifferenceKind::DataShape, mock.data.to_string(), upstream.data.to_string());
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
        let found = differences(200, br#"{"errcode":0,"errmsg":"OK","data":""}"#, 200, br#"{"errcode":0,"data":null}"#);
        assert_eq!(
            found,
            [Difference { kind: DifferenceKind::DataShape, mock: r#""""#.into(), upstream: "null".into() }]
        );
    }

    fn kinds(mock: (u16, &[u8]), upstream: (u16, &[u8])) -> Vec<DifferenceKind> {
        differences(mock.0, mock.1, upstream.0, upstream.1).iter().map(|d| d.kind).collect()
    }

    #[test]
    fn one_difference_is_counted_once_under_the_kind_it_starts_from() {
        use DifferenceKind::*;
        let sys_error: &[u8] = br#"{"errcode":1001,"errmsg":"SYS ERROR"}"#;
        let accepted: &[u8] = br#"{"errcode":0,"errmsg":"OK","data":""}"#;
        let partial: &[u8] =
            br#"{"errcode":3001,"errmsg":"BUS COLL PARTIAL ERROR","data":{"results":[{"no":1,"errcode":3005}]}}"#;
        let passed: &[u8] = br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0,"pi":"1fffbj"}}}"#;
        let pending: &[u8] = br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":1}}}"#;
        assert_eq!(kinds((200, sys_error), (503, b"Service Unavailable")), [HttpStatus], "the page follows the status");
        assert_eq!(kinds((200, sys_error), (200, b"<html>")), [Readable], "same status, one body no answer");
        assert_eq!(kinds((200, b"a"), (200, b"b")), [], "neither is an answer: nothing to compare by meaning");
        assert_eq!(kinds((200, accepted), (200, partial)), [Errcode], "data and rejected follow the errcode");
        assert_eq!(kinds((200, passed), (200, pending)), [Status], "no pi under status 1 (FAQ 149)");
        assert_eq!(kinds((200, sys_error), (500, br#"{"errcode":1002,"errmsg":"x"}"#)), [HttpStatus, Errcode]);
    }
}
