//! A lenient, typed reader of NPPA answers (SPEC §3) for clients: errcode, the check/query result and the
//! records a 3001 rejected. It reads whatever a server (or a fault) sends without failing on odd fields: a
//! field of an unexpected type is taken as absent, and the shape of `data` is reported, since clients differ in
//! how they cope with `"data":""`, `null` and a missing `data`.
//!
//! It reads in one pass, each field straight into its type (no intermediate JSON tree, no buffering of a value to
//! try it as several types), and [`parse_borrowed`] keeps the strings in the body: a load driver reads every
//! answer, so this is on its per-request path.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
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

impl DataShape {
    /// How a report names it: as JSON where it has one form (`null`, `""`), else in words.
    pub fn as_str(self) -> &'static str {
        match self {
            DataShape::Absent => "absent",
            DataShape::Null => "null",
            DataShape::EmptyString => "\"\"",
            DataShape::Text => "a string",
            DataShape::Object => "an object",
            DataShape::Other => "of another type",
        }
    }
}

impl std::fmt::Display for DataShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

/// What an answer says, its strings borrowed from the body when they hold no escapes: [`ParsedAnswer`] without
/// the copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRef<'a> {
    pub errcode: u16,
    pub errmsg: Option<Cow<'a, str>>,
    pub data: DataShape,
    pub status: Option<AuthStatus>,
    pub pi: Option<Cow<'a, str>>,
    pub rejected: Vec<Rejected>,
}

impl AnswerRef<'_> {
    /// The same answer, owning its strings.
    pub fn into_owned(self) -> ParsedAnswer {
        let AnswerRef { errcode, errmsg, data, status, pi, rejected } = self;
        ParsedAnswer {
            errcode,
            errmsg: errmsg.map(Cow::into_owned),
            data,
            status,
            pi: pi.map(Cow::into_owned),
            rejected,
        }
    }
}

/// Reads an answer body. `None` when it is not a JSON object with a numeric `errcode`: not a protocol answer
/// (an HTML error page, a truncated body, an empty one).
pub fn parse(body: &[u8]) -> Option<ParsedAnswer> {
    parse_borrowed(body).map(AnswerRef::into_owned)
}

/// [`parse`], borrowing the strings from `body`.
pub fn parse_borrowed(body: &[u8]) -> Option<AnswerRef<'_>> {
    read_canonical(body).or_else(|| read_any(body))
}

/// The answers a server sends nearly always, in the compact form of the V2.1 examples and in their field order:
/// `{"errcode":N,"errmsg":"…"}`, the same with `"data":""` or `"data":null`, and a check's or query's
/// `…"data":{"result":{"status":S}}` with or without `"pi":"…"`. Read without a parser, because a load driver reads one
/// per request and serde took 3 000 instructions for it. Anything else (spaces, other fields or order, escapes, a
/// 3001's results, a number serde would refuse) is `None`, and [`read_any`] reads it: a proptest holds the two to the
/// same result.
fn read_canonical(body: &[u8]) -> Option<AnswerRef<'_>> {
    let rest = body.strip_prefix(br#"{"errcode":"#)?;
    let (errcode, rest) = canonical_u16(rest)?;
    let rest = rest.strip_prefix(br#","errmsg":""#)?;
    let (errmsg, rest) = canonical_str(rest)?;
    let (data, status, pi) = match rest {
        b"}" => (DataShape::Absent, None, None),
        br#","data":""}"# => (DataShape::EmptyString, None, None),
        br#","data":null}"# => (DataShape::Null, None, None),
        _ => {
            let rest = rest.strip_prefix(br#","data":{"result":{"status":"#)?;
            let (&digit, rest) = rest.split_first()?;
            let status = AuthStatus::try_from(digit.checked_sub(b'0')?).ok()?;
            let pi = match rest {
                b"}}}" => None,
                _ => match canonical_str(rest.strip_prefix(br#","pi":""#)?)? {
                    (pi, b"}}}") => Some(pi),
                    _ => return None,
                },
            };
            (DataShape::Object, Some(status), pi)
        }
    };
    let errmsg = Some(Cow::Borrowed(errmsg));
    let pi = pi.map(Cow::Borrowed);
    Some(AnswerRef { errcode, errmsg, data, status, pi, rejected: Vec::new() })
}

/// A JSON number that is a `u16`, written as JSON writes it (no sign, no leading zero, no fraction), and what follows.
fn canonical_u16(bytes: &[u8]) -> Option<(u16, &[u8])> {
    let digits = bytes.iter().take(6).take_while(|b| b.is_ascii_digit()).count();
    let (number, rest) = bytes.split_at(digits);
    let leading_zero = number.len() > 1 && number[0] == b'0';
    if number.is_empty() || leading_zero || matches!(rest.first(), Some(b'0'..=b'9' | b'.' | b'e' | b'E')) {
        return None;
    }
    let value = number.iter().fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'));
    Some((u16::try_from(value).ok()?, rest))
}

/// A JSON string's text up to its closing quote, when it holds no escape and no control character, and what follows
/// the quote.
fn canonical_str(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let end = bytes.iter().position(|&b| crate::json::is_escaped_in_strings(b))?;
    if bytes[end] != b'"' {
        return None;
    }
    Some((std::str::from_utf8(&bytes[..end]).ok()?, &bytes[end + 1..]))
}

/// Any answer, through serde and the lenient types below.
fn read_any(body: &[u8]) -> Option<AnswerRef<'_>> {
    let Lenient(Some(Object(raw))) = crate::json::from_bytes::<Lenient<Object<RawAnswer<'_>>>>(body).ok()? else {
        return None;
    };
    let errcode = raw.errcode.0?;
    let (data, status, pi, rejected) = match raw.data {
        None => (DataShape::Absent, None, None, Vec::new()),
        Some(RawData::Null) => (DataShape::Null, None, None, Vec::new()),
        Some(RawData::Text(empty)) if empty => (DataShape::EmptyString, None, None, Vec::new()),
        Some(RawData::Text(_)) => (DataShape::Text, None, None, Vec::new()),
        Some(RawData::Other) => (DataShape::Other, None, None, Vec::new()),
        Some(RawData::Object(object)) => {
            let result = object.result.0.map(|Object(r)| r);
            let status = result.as_ref().and_then(|r| r.status.0).and_then(|s| AuthStatus::try_from(s).ok());
            let pi = result.and_then(|r| r.pi.0);
            let rejected = object
                .results
                .0
                .unwrap_or_default()
                .into_iter()
                .filter_map(|Lenient(record)| {
                    let Object(record) = record?;
                    Some(Rejected { no: record.no.0?, errcode: record.errcode.0? })
                })
                .collect();
            (DataShape::Object, status, pi, rejected)
        }
    };
    Some(AnswerRef { errcode, errmsg: raw.errmsg.0, data, status, pi, rejected })
}

/// A value of type `T`, or `None` for a JSON value of any other type (a field of the wrong type is taken as
/// absent). Read in one pass: the JSON type that arrives decides, nothing is buffered.
#[derive(Debug)]
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

/// What a [`Lenient`] value accepts: each method takes one JSON type; those left out give `None`.
trait FromJson<'de>: Sized {
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    fn from_str(_: Cow<'de, str>) -> Option<Self> {
        None
    }
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

macro_rules! integer_from_json {
    ($($t:ty),*) => {$(
        impl FromJson<'_> for $t {
            fn from_u64(v: u64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            fn from_i64(v: i64) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
        }
    )*};
}
integer_from_json!(u8, u16, i64);

impl<'de: 'a, 'a> FromJson<'de> for Cow<'a, str> {
    fn from_str(v: Cow<'de, str>) -> Option<Self> {
        Some(v)
    }
}

/// A `T` read from a JSON object only (serde would also read a struct from an array).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> FromJson<'de> for Object<T> {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Some(Object(t)))
    }
}

impl<'de, T: FromJson<'de>> FromJson<'de> for Vec<Lenient<T>> {
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Lenient<T>>()? {
            items.push(item);
        }
        Ok(Some(items))
    }
}

impl<'de, T: FromJson<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<T>(PhantomData<T>);
        impl<'de, T: FromJson<'de>> Visitor<'de> for LenientVisitor<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_u64(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_i64(v)))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_str(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_str(Cow::Owned(v.to_owned()))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::from_map(map).map(Lenient)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                T::from_seq(seq).map(Lenient)
            }
        }
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
}

#[derive(Deserialize)]
struct RawAnswer<'a> {
    #[serde(default)]
    errcode: Lenient<u16>,
    #[serde(default, borrow)]
    errmsg: Lenient<Cow<'a, str>>,
    /// `Some` whenever the field is present, `null` included.
    #[serde(default, borrow, deserialize_with = "present")]
    data: Option<RawData<'a>>,
}

fn present<'de: 'a, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Option<RawData<'a>>, D::Error> {
    RawData::deserialize(deserializer).map(Some)
}

/// `data`, by its JSON type; a string keeps only whether it was empty.
enum RawData<'a> {
    Null,
    Text(bool),
    Object(RawDataObject<'a>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawData<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DataVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for DataVisitor<'a> {
            type Value = RawData<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RawData::Null)
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawData::Text(v.is_empty()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawDataObject::deserialize(MapAccessDeserializer::new(map)).map(RawData::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawData::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawData::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawData::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawData::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawData::Other)
            }
        }
        deserializer.deserialize_any(DataVisitor(PhantomData))
    }
}

#[derive(Deserialize)]
struct RawDataObject<'a> {
    #[serde(default, borrow)]
    result: Lenient<Object<RawResult<'a>>>,
    #[serde(default)]
    results: Lenient<Vec<Lenient<Object<RawRecord>>>>,
}

#[derive(Deserialize)]
struct RawResult<'a> {
    #[serde(default)]
    status: Lenient<u8>,
    #[serde(default, borrow)]
    pi: Lenient<Cow<'a, str>>,
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
    use crate::messages::{self, AuthData, AuthResult};
    use proptest::prelude::*;

    /// Answers built from the canonical pieces and from pieces that break them (a number JSON refuses, escapes,
    /// spaces, another order or type), so that both readers meet both.
    fn answer_texts() -> impl Strategy<Value = String> {
        let errcode = prop_oneof![
            Just("0".to_owned()),
            Just("1001".to_owned()),
            Just("65536".to_owned()),
            Just("01".to_owned()),
            Just("-1".to_owned()),
            Just("1.0".to_owned()),
            Just("1e3".to_owned()),
            Just("\"0\"".to_owned()),
            "[0-9]{1,7}",
        ];
        let errmsg = prop_oneof![
            Just("\"OK\"".to_owned()),
            any::<String>().prop_map(|text| serde_json::to_string(&text).unwrap_or_default()),
            "\"[A-Za-z \\\\\"\u{1}é]{0,6}\"",
            Just("7".to_owned()),
            Just("null".to_owned()),
        ];
        let status = prop_oneof!["[0-3]", Just("12".to_owned()), Just("null".to_owned()), Just("0.0".to_owned())];
        let pi = prop_oneof![
            Just(String::new()),
            "[0-9a-z]{0,38}".prop_map(|pi| format!(r#","pi":"{pi}""#)),
            Just(r#","pi":null"#.to_owned()),
            Just(r#","pi":"a\u0062""#.to_owned()),
            Just(r#","pi":"a","x":1"#.to_owned()),
        ];
        let result = (status, pi).prop_map(|(status, pi)| format!(r#","data":{{"result":{{"status":{status}{pi}}}}}"#));
        let data = prop_oneof![
            Just(String::new()),
            Just(r#","data":"""#.to_owned()),
            Just(r#","data":null"#.to_owned()),
            Just(r#","data":"x""#.to_owned()),
            Just(r#","data":{"results":[{"no":1,"errcode":3005}]}"#.to_owned()),
            result,
        ];
        let open = prop_oneof![Just(r#"{"errcode":"#), Just(r#"{ "errcode":"#)];
        let close = prop_oneof![Just("}"), Just("} "), Just("}}"), Just("")];
        (open, errcode, errmsg, data, close).prop_map(|(open, errcode, errmsg, data, close)| {
            format!(r#"{open}{errcode},"errmsg":{errmsg}{data}{close}"#)
        })
    }

    proptest! {
        #[test]
        fn the_canonical_reading_is_what_the_full_reader_reads(text in answer_texts()) {
            prop_assert_eq!(parse_borrowed(text.as_bytes()), read_any(text.as_bytes()), "{}", text);
        }

        #[test]
        fn any_bytes_read_as_the_full_reader_reads_them(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            prop_assert_eq!(parse_borrowed(&bytes), read_any(&bytes));
        }

        #[test]
        fn what_the_mock_sends_takes_the_canonical_reading(status in 0u8..3, pi in proptest::option::of("[0-9a-z]{38}")) {
            let status = AuthStatus::try_from(status).unwrap_or(AuthStatus::Pending);
            let body = messages::auth_answer_json(&AuthResult { status, pi });
            prop_assert!(read_canonical(&body).is_some(), "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn errors_and_loginout_answers_take_the_canonical_reading() {
        for &code in StatusCode::ALL {
            let error = serde_json::to_vec(&messages::Answer::<AuthData>::status(code)).unwrap_or_default();
            assert_eq!(read_canonical(&error).map(|a| (a.errcode, a.data)), Some((code.code(), DataShape::Absent)));
        }
        let accepted = serde_json::to_vec(&messages::Answer::with_data(StatusCode::Ok, "")).unwrap_or_default();
        assert_eq!(read_canonical(&accepted).map(|a| a.data), Some(DataShape::EmptyString));
    }

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
    fn strings_are_borrowed_from_the_body_unless_escaped() {
        let body = br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0,"pi":"1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"}}}"#;
        let plain = parse_borrowed(body).unwrap_or_else(|| panic!("an answer"));
        assert!(matches!(plain.errmsg, Some(Cow::Borrowed("OK"))));
        assert!(matches!(plain.pi, Some(Cow::Borrowed("1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"))));
        let escaped = parse_borrowed(br#"{"errcode":0,"errmsg":"O\u004b","data":{"result":{"status":1}}}"#);
        let escaped = escaped.unwrap_or_else(|| panic!("an answer"));
        assert!(matches!(escaped.errmsg, Some(Cow::Owned(ref text)) if text == "OK"));
        assert_eq!(escaped.into_owned(), read(r#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":1}}}"#));
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
