//! What the load drivers keep of an NPPA answer: errcode or HTTP status, the check/query status, and the records
//! a 3001 rejected (SPEC §3), read by `nppa_protocol::answer`.

use nppa_protocol::answer;
use nppa_protocol::messages::AuthStatus;

use crate::recorder::Outcome;

/// What the drivers need from one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    /// `data.result.status` of a check or query.
    pub status: Option<AuthStatus>,
    /// `(no, errcode)` of each record a 3001 rejected.
    pub rejected: Vec<(i64, u16)>,
}

impl Answer {
    pub fn transport() -> Answer {
        Answer { outcome: Outcome::Transport, status: None, rejected: Vec::new() }
    }

    pub fn errcode(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Code(code) => Some(code),
            _ => None,
        }
    }
}

/// Parse an HTTP answer with the protocol's lenient reader, in one pass and without copying its strings (this runs
/// for every request a driver sends). A body that is not a protocol answer is classed by its HTTP status.
pub fn parse(http_status: u16, body: &[u8]) -> Answer {
    match answer::parse_borrowed(body) {
        Some(parsed) => Answer {
            outcome: Outcome::Code(parsed.errcode),
            status: parsed.status,
            rejected: parsed.rejected.iter().map(|r| (r.no, r.errcode)).collect(),
        },
        None => Answer { outcome: Outcome::Http(http_status), status: None, rejected: Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nppa_protocol::messages::{self, AuthData, AuthResult, LoginoutResults, RecordResult};
    use nppa_protocol::StatusCode;

    /// The pis of `vectors/official.json`: every success answer the driver may read carries one of this form.
    fn vector_pis() -> Vec<String> {
        let text = include_str!("../../vectors/official.json");
        let vectors: serde_json::Value = serde_json::from_str(text).unwrap();
        vectors["pi"].as_array().unwrap().iter().map(|v| v["pi"].as_str().unwrap().to_owned()).collect()
    }

    /// What the mock sends: the protocol's own answer types, serialised.
    fn sent<T: serde::Serialize>(answer: &messages::Answer<T>) -> Vec<u8> {
        serde_json::to_vec(answer).unwrap()
    }

    fn auth(status: AuthStatus, pi: Option<String>) -> Vec<u8> {
        sent(&messages::Answer::with_data(StatusCode::Ok, AuthData { result: AuthResult { status, pi } }))
    }

    #[test]
    fn check_and_query_answers_give_their_status_with_pi_present_absent_or_null() {
        for pi in vector_pis() {
            let ok = parse(200, &auth(AuthStatus::Success, Some(pi.clone())));
            assert_eq!((ok.outcome, ok.status, ok.rejected.len()), (Outcome::Code(0), Some(AuthStatus::Success), 0));
        }
        for status in [AuthStatus::Pending, AuthStatus::Failure] {
            assert_eq!(parse(200, &auth(status, None)).status, Some(status), "pi absent");
        }
        // As the SPEC prints them (errmsg "ok" in the V2.1 examples), and with "pi":null.
        let spec = br#"{"errcode":0,"errmsg":"ok","data":{"result":{"status":0,"pi":"1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"}}}"#;
        assert_eq!(parse(200, spec).status, Some(AuthStatus::Success));
        let null_pi = br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":1,"pi":null}}}"#;
        assert_eq!(parse(200, null_pi).status, Some(AuthStatus::Pending));
        let escaped = br#"{"errcode":0,"errmsg":"O\u004b","data":{"result":{"status":2,"pi":"\u0031x"}}}"#;
        assert_eq!(parse(200, escaped).status, Some(AuthStatus::Failure));
    }

    #[test]
    fn loginout_answers_are_ok_whatever_the_shape_of_data() {
        // The mock's answer, as the V2.1 example prints it: "data":"".
        let accepted = sent(&messages::Answer::with_data(StatusCode::Ok, ""));
        assert_eq!(accepted, br#"{"errcode":0,"errmsg":"OK","data":""}"#);
        for body in [
            &accepted[..],
            br#"{"errcode":0,"errmsg":"OK","data":null}"#,
            br#"{"errcode":0,"errmsg":"OK"}"#,
            br#"{"errcode":0,"errmsg":"OK","data":{}}"#,
            br#"{"errcode":0,"errmsg":"OK","data":{"results":[]}}"#,
        ] {
            let read = parse(200, body);
            assert_eq!((read.outcome, read.status, read.rejected), (Outcome::Code(0), None, vec![]), "{body:?}");
        }
    }

    #[test]
    fn a_3001_names_each_rejected_record_and_its_code() {
        let results = vec![
            RecordResult::new(2, StatusCode::from_code(3005).unwrap()),
            RecordResult::new(7, StatusCode::from_code(3010).unwrap()),
        ];
        let body = sent(&messages::Answer::with_data(StatusCode::PartialError, LoginoutResults { results }));
        let read = parse(200, &body);
        assert_eq!((read.outcome, read.rejected), (Outcome::Code(3001), vec![(2, 3005), (7, 3010)]));
        // A record without a numeric no or errcode cannot be named; the others still are.
        let odd = br#"{"errcode":3001,"errmsg":"x","data":{"results":[{"no":"1","errcode":3005},{"no":3,"errcode":3004},5]}}"#;
        assert_eq!(parse(200, odd).rejected, vec![(3, 3004)]);
    }

    #[test]
    fn errors_carry_their_code_and_no_status() {
        for code in [1001, 1006, 1011, 2004, 9999] {
            let body = format!(r#"{{"errcode":{code},"errmsg":"whatever"}}"#);
            let read = parse(200, body.as_bytes());
            assert_eq!((read.errcode(), read.status), (Some(code), None));
        }
    }

    #[test]
    fn what_is_not_a_protocol_answer_is_classed_by_its_http_status() {
        for (status, body) in [
            (502, &b"<html>bad gateway</html>"[..]),
            (200, br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0"#),
            (200, b""),
            (200, br#"{"errcode":"0"}"#),
            (200, br#"[{"errcode":0}]"#),
            (503, br#"{"errmsg":"OK"}"#),
        ] {
            let read = parse(status, body);
            assert_eq!((read.outcome, read.errcode()), (Outcome::Http(status), None), "{body:?}");
        }
        assert_eq!(Answer::transport().outcome, Outcome::Transport);
    }
}
