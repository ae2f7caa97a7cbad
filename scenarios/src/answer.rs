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

/// Parse an HTTP answer with the protocol's lenient reader. A body that is not a protocol answer is classed by
/// its HTTP status.
pub fn parse(http_status: u16, body: &[u8]) -> Answer {
    match answer::parse(body) {
        Some(parsed) => Answer {
            outcome: Outcome::Code(parsed.errcode),
            status: parsed.status,
            rejected: parsed.rejected.iter().map(|r| (r.no, r.errcode)).collect(),
        },
        None => Answer { outcome: Outcome::Http(http_status), status: None, rejected: Vec::new() },
    }
}

/// Read an HTTP response (goose's, or the simulation's) into an answer.
pub async fn read(response: Result<reqwest::Response, reqwest::Error>) -> Answer {
    let Ok(response) = response else { return Answer::transport() };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(body) => parse(status, &body),
        Err(_) => Answer::transport(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        let ok = parse(200, br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":1}}}"#);
        assert_eq!((ok.outcome, ok.status), (Outcome::Code(0), Some(AuthStatus::Pending)));
        let partial = parse(200, br#"{"errcode":3001,"errmsg":"x","data":{"results":[{"no":2,"errcode":3005}]}}"#);
        assert_eq!(partial.rejected, vec![(2, 3005)]);
        assert_eq!(parse(502, b"<html>").outcome, Outcome::Http(502));
        assert_eq!(parse(200, br#"{"errcode":"x"}"#).outcome, Outcome::Http(200));
        assert_eq!(parse(200, br#"{"errcode":0,"data":""}"#).errcode(), Some(0));
    }
}
