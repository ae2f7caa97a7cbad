//! Reading an NPPA answer: errcode, the check/query status, and the records a 3001 rejected (SPEC §3).

use serde_json::Value;

use crate::recorder::Outcome;

/// What the drivers need from one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    /// `data.result.status` of a check or query (0 success, 1 pending, 2 failure).
    pub status: Option<u64>,
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

/// Parse an HTTP answer. A body that is not a protocol answer is classed by its HTTP status.
pub fn parse(http_status: u16, body: &[u8]) -> Answer {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Answer { outcome: Outcome::Http(http_status), status: None, rejected: Vec::new() };
    };
    let Some(code) = json.get("errcode").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok()) else {
        return Answer { outcome: Outcome::Http(http_status), status: None, rejected: Vec::new() };
    };
    let status = json.pointer("/data/result/status").and_then(Value::as_u64);
    let rejected = json
        .pointer("/data/results")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| Some((r.get("no")?.as_i64()?, u16::try_from(r.get("errcode")?.as_u64()?).ok()?)))
                .collect()
        })
        .unwrap_or_default();
    Answer { outcome: Outcome::Code(code), status, rejected }
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
        assert_eq!((ok.outcome, ok.status), (Outcome::Code(0), Some(1)));
        let partial = parse(200, br#"{"errcode":3001,"errmsg":"x","data":{"results":[{"no":2,"errcode":3005}]}}"#);
        assert_eq!(partial.rejected, vec![(2, 3005)]);
        assert_eq!(parse(502, b"<html>").outcome, Outcome::Http(502));
        assert_eq!(parse(200, br#"{"errcode":"x"}"#).outcome, Outcome::Http(200));
        assert_eq!(parse(200, br#"{"errcode":0,"data":""}"#).errcode(), Some(0));
    }
}
