//! A lenient, typed reader of NPPA answers (SPEC §3) for clients: errcode, the check/query result and the
//! records a 3001 rejected. It reads whatever a server (or a fault) sends without failing on odd fields: a
//! field of an unexpected type is taken as absent, and the shape of `data` is reported, since clients differ in
//! how they cope with `"data":""`, `null` and a missing `data`.

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use crate::messages::AuthStatus;
use crate::StatusCode;

/// What an answer says, read leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAnswer {
    /// `errcode`, as sent (it may be a number SPEC §4 does not list).
    pub errcode: u16,
    /// `errmsg`, when it is a string.
    pub errmsg: Option<String>,
    /// What `data` was.
    pub data: DataShape,
    /// `data.result.status` of a check or query, when it is 0, 1 or 2.
    pub status: Option<AuthStatus>,
    /// `data.result.pi`, when it is a string.
    pub pi: Option<String>,
    /// The records a 3001 rejected (`data.results`), those that have a numeric `no` and `errcode`.
    pub rejected: Vec<Rejected>,
}

/// One rejected record of a 3001 answer (FAQ 241).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejected {
    pub no: i64,
    pub errcode: u16,
}

/// The shape of `data` in an answer (SPEC §3: the loginout success is `"data":""`; other shapes are seen in the
/// wild).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataShape {
    /// No `data` field.
    Absent,
    /// `"data":null`.
    Null,
    /// `"data":""`.
    EmptyString,
    /// A non-empty string.
    Text,
    /// An object (`{"result":…}`, `{"results":[…]}`, `{}`).
    Object,
    /// A number, a boolean or an array.
    Other,
}

impl ParsedAnswer {
    /// The status code, when `errcode` is one SPEC §4 lists.
    pub fn code(&self) -> Option<StatusCode> {
        StatusCode::from_code(self.errcode)
    }

    /// True for errcode 0.
    pub fn is_ok(&self) -> bool {
        self.errcode == 0
    }
}

/// Reads an answer body. `None` when it is not a JSON object with a numeric `errcode`: not a protocol answer
/// (an HTML error page, a truncated body, an empty one).
pub fn parse(body: &[u8]) -> Option<ParsedAnswer> {
    let MapOnly(raw) = serde_json::from_slice::<MapOnly<RawAnswer>>(body).ok()?;
    let errcode = raw.errcode.0?;
    let (data, status, pi, rejected) = match raw.data {
        None => (DataShape::Absent, None, None, Vec::new()),
        Some(RawData::Null(())) => (DataShape::Null, None, None, Vec::new()),
        Some(RawData::Text(text)) if text.is_empty() => (DataShape::EmptyString, None, None, Vec::new()),
        Some(RawData::Text(_)) => (DataShape::Text, None, None, Vec::new()),
        Some(RawData::Other(IgnoredAny)) => (DataShape::Other, None, None, Vec::new()),
        Some(RawData::Object(MapOnly(object))) => {
            let result = object.result.0.map(|MapOnly(r)| r);
            let status = result.as_ref().and_then(|r| r.status.0).and_then(|s| AuthStatus::try_from(s).ok());
            let pi = result.and_then(|r| r.pi.0);
            let rejected = object
                .results
                .0
                .unwrap_or_default()
                .into_iter()
                .filter_map(|record| {
                    let MapOnly(record) = record.0?;
                    Some(Rejected { no: record.no.0?, errcode: record.errcode.0? })
                })
                .collect();
            (DataShape::Object, status, pi, rejected)
        }
    };
    Some(ParsedAnswer { errcode, errmsg: raw.errmsg.0, data, status, pi, rejected })
}

/// A value of type `T`, or `None` for anything else (a field of the wrong type is taken as absent).
#[derive(Debug)]
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<T> {
            Value(T),
            Other(IgnoredAny),
        }
        Ok(Lenient(match Either::deserialize(deserializer)? {
            Either::Value(value) => Some(value),
            Either::Other(IgnoredAny) => None,
        }))
    }
}

/// A `T` read from a JSON object only (serde would also read a struct from an array).
struct MapOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MapOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = MapOnly<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(MapOnly)
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct RawAnswer {
    #[serde(default)]
    errcode: Lenient<u16>,
    #[serde(default)]
    errmsg: Lenient<String>,
    /// `Some` whenever the field is present, `null` included.
    #[serde(default, deserialize_with = "present")]
    data: Option<RawData>,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<RawData>, D::Error> {
    RawData::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawData {
    Null(()),
    Text(String),
    Object(MapOnly<RawDataObject>),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct RawDataObject {
    #[serde(default)]
    result: Lenient<MapOnly<RawResult>>,
    #[serde(default)]
    results: Lenient<Vec<Lenient<MapOnly<RawRecord>>>>,
}

#[derive(Deserialize)]
struct RawResult {
    #[serde(default)]
    status: Lenient<u8>,
    #[serde(default)]
    pi: Lenient<String>,
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default)]
    no: Lenient<i64>,
    #[serde(default)]
    errcode: Lenient<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> ParsedAnswer {
        parse(text.as_bytes()).unwrap_or_else(|| panic!("{text} is an answer"))
    }

    #[test]
    fn check_and_query_results_are_read() {
        let ok = read(
            r#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0,"pi":"1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"}}}"#,
        );
        assert_eq!(
            (ok.code(), ok.status, ok.data),
            (Some(StatusCode::Ok), Some(AuthStatus::Success), DataShape::Object)
        );
        assert_eq!(ok.pi.as_deref(), Some("1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"));
        let pending = read(r#"{"errcode":0,"errmsg":"ok","data":{"result":{"status":1}}}"#);
        assert_eq!((pending.status, pending.pi), (Some(AuthStatus::Pending), None));
    }

    #[test]
    fn a_3001_names_its_rejected_records() {
        let partial = read(
            r#"{"errcode":3001,"errmsg":"BUS COLL PARTIAL ERROR","data":{"results":[{"no":2,"errcode":3005,"errmsg":"x"},{"no":"3"}]}}"#,
        );
        assert_eq!(partial.rejected, vec![Rejected { no: 2, errcode: 3005 }]);
    }

    #[test]
    fn every_data_shape_is_told_apart() {
        for (text, shape) in [
            (r#"{"errcode":0,"errmsg":"OK","data":""}"#, DataShape::EmptyString),
            (r#"{"errcode":0,"errmsg":"OK","data":null}"#, DataShape::Null),
            (r#"{"errcode":0,"errmsg":"OK"}"#, DataShape::Absent),
            (r#"{"errcode":0,"errmsg":"OK","data":{}}"#, DataShape::Object),
            (r#"{"errcode":0,"errmsg":"OK","data":{"results":[]}}"#, DataShape::Object),
            (r#"{"errcode":0,"errmsg":"OK","data":"x"}"#, DataShape::Text),
            (r#"{"errcode":0,"errmsg":"OK","data":[1]}"#, DataShape::Other),
        ] {
            assert_eq!(read(text).data, shape, "{text}");
        }
    }

    #[test]
    fn odd_fields_are_taken_as_absent_and_non_answers_are_none() {
        let odd = read(r#"{"errcode":1011,"errmsg":7,"data":{"result":{"status":9,"pi":null}},"extra":[1,2]}"#);
        assert_eq!((odd.errcode, odd.errmsg, odd.status, odd.pi), (1011, None, None, None));
        assert_eq!(read(r#"{"errcode":9999}"#).code(), None, "an unknown code is kept, not a StatusCode");
        for body in [&b"<html>"[..], b"", br#"{"errcode":"0"}"#, br#"{"errmsg":"OK"}"#, b"[0]", br#"{"errcode":0,"#] {
            assert_eq!(parse(body), None, "{}", String::from_utf8_lossy(body));
        }
    }
}
