//! A request's plaintext, read once by its interface: a check is a [`CheckRequest`], a loginout its records read
//! leniently (a client's `"no":"1"` is a mistake to report, not a reason to stop reading), and anything else is
//! kept as sent with why it did not parse.

use std::fmt;

use nppa_protocol::messages::{BehaviourRecord, CheckRequest};
use nppa_protocol::Interface;
use serde::{Deserialize as _, Serialize};
use serde_json::{Map, Value};

/// What a request's plaintext said.
#[derive(Debug, Clone, PartialEq)]
pub enum Plaintext {
    /// A check's `{"ai","name","idNum"}`, every field a string (SPEC §5).
    Check(CheckRequest),
    /// A loginout's `collections` (SPEC §6), each record as sent.
    Loginout(Vec<Record>),
    /// Not JSON, or JSON of another shape than the interface's.
    Unparsed(Unparsed),
}

/// A plaintext that is not of its interface's shape: the text as decrypted, why, and the check fields it has.
#[derive(Debug, Clone, PartialEq)]
pub struct Unparsed {
    pub text: String,
    pub why: Unreadable,
    /// `ai`, `name` and `idNum`, those that are strings in a JSON object: a check of the wrong shape still
    /// submitted its ai, and its idNum can still be judged.
    pub fields: CheckFields,
}

/// Why a plaintext did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON at all (serde's reason).
    NotJson(String),
    /// JSON, but not a check plaintext (serde's reason).
    NotACheck(String),
    /// JSON, but no `collections` array.
    NoCollections,
    /// JSON on a path that takes no plaintext (a query, or no interface).
    Unexpected,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::NotJson(why) => write!(f, "not JSON: {why}"),
            Unreadable::NotACheck(why) => write!(f, "not a check plaintext {{\"ai\",\"name\",\"idNum\"}}: {why}"),
            Unreadable::NoCollections => f.write_str("a loginout plaintext without a `collections` array"),
            Unreadable::Unexpected => f.write_str("a plaintext where the interface takes none"),
        }
    }
}

/// The string fields of a check plaintext, each `None` when absent or not a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckFields {
    pub ai: Option<String>,
    pub name: Option<String>,
    pub id_num: Option<String>,
}

impl Plaintext {
    /// Reads a decrypted plaintext as the interface expects it.
    pub fn parse(text: &str, interface: Option<Interface>) -> Plaintext {
        let unparsed = |why, fields| Plaintext::Unparsed(Unparsed { text: text.to_owned(), why, fields });
        let value = match serde_json::from_str::<Value>(text) {
            Ok(value) => value,
            Err(e) => return unparsed(Unreadable::NotJson(e.to_string()), CheckFields::default()),
        };
        let object = value.as_object();
        let fields = object.map(CheckFields::of).unwrap_or_default();
        match interface {
            // Only an object: serde would also read a `CheckRequest` from an array.
            Some(Interface::Check) => match object.map(|_| CheckRequest::deserialize(&value)) {
                Some(Ok(check)) => Plaintext::Check(check),
                Some(Err(why)) => unparsed(Unreadable::NotACheck(why.to_string()), fields),
                None => unparsed(Unreadable::NotACheck("not a JSON object".into()), fields),
            },
            Some(Interface::Loginout) => match value.get("collections").and_then(Value::as_array) {
                Some(list) => Plaintext::Loginout(list.iter().map(Record::of).collect()),
                None => unparsed(Unreadable::NoCollections, fields),
            },
            Some(Interface::Query) | None => unparsed(Unreadable::Unexpected, fields),
        }
    }

    /// True when the plaintext is JSON (of the interface's shape or not).
    pub fn is_json(&self) -> bool {
        !matches!(self, Plaintext::Unparsed(Unparsed { why: Unreadable::NotJson(_), .. }))
    }

    /// The records of a loginout; none for another plaintext.
    pub fn records(&self) -> &[Record] {
        match self {
            Plaintext::Loginout(records) => records,
            _ => &[],
        }
    }

    /// The check's `ai`, when it is a string.
    pub fn ai(&self) -> Option<&str> {
        match self {
            Plaintext::Check(check) => Some(&check.ai),
            Plaintext::Unparsed(u) => u.fields.ai.as_deref(),
            Plaintext::Loginout(_) => None,
        }
    }

    /// The check's `idNum`, when it is a string.
    pub fn id_num(&self) -> Option<&str> {
        match self {
            Plaintext::Check(check) => Some(&check.id_num),
            Plaintext::Unparsed(u) => u.fields.id_num.as_deref(),
            Plaintext::Loginout(_) => None,
        }
    }

    /// Who a check is about: `name` and `idNum`, when both are strings.
    pub fn person(&self) -> Option<(&str, &str)> {
        match self {
            Plaintext::Check(check) => Some((&check.name, &check.id_num)),
            Plaintext::Unparsed(u) => Some((u.fields.name.as_deref()?, u.fields.id_num.as_deref()?)),
            Plaintext::Loginout(_) => None,
        }
    }
}

impl CheckFields {
    fn of(object: &Map<String, Value>) -> CheckFields {
        let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
        CheckFields { ai: text("ai"), name: text("name"), id_num: text("idNum") }
    }
}

/// A field of a record as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<T> {
    /// Absent, or `null`.
    Absent,
    /// Of the spec's type.
    Typed(T),
    /// Of another type: the JSON sent (`"1"` for a number sent as a string).
    Mistyped(String),
}

impl<T> Field<T> {
    /// The value, when it has the spec's type.
    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Typed(value) => Some(value),
            _ => None,
        }
    }
}

impl Field<i64> {
    /// The number, when it is an integer.
    pub fn value(&self) -> Option<i64> {
        self.get().copied()
    }
}

impl Field<String> {
    /// The text, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        self.get().map(String::as_str)
    }
}

/// As JSON: `null` when absent, the value sent otherwise (`"s"` with its quotes for a string).
impl<T: Serialize> fmt::Display for Field<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Absent => f.write_str("null"),
            Field::Typed(value) => f.write_str(&serde_json::to_string(value).map_err(|_| fmt::Error)?),
            Field::Mistyped(json) => f.write_str(json),
        }
    }
}

/// One record of a loginout as sent: each field typed when it has the spec's type, kept as sent when not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub no: Field<i64>,
    pub si: Field<String>,
    pub bt: Field<i64>,
    pub ot: Field<i64>,
    pub ct: Field<i64>,
    pub di: Field<String>,
    pub pi: Field<String>,
}

impl Record {
    /// Reads one element of `collections` (an element that is not an object has every field absent).
    fn of(value: &Value) -> Record {
        fn field<T>(value: &Value, name: &str, typed: fn(&Value) -> Option<T>) -> Field<T> {
            match value.get(name) {
                None | Some(Value::Null) => Field::Absent,
                Some(v) => typed(v).map_or_else(|| Field::Mistyped(v.to_string()), Field::Typed),
            }
        }
        let number = |name| field(value, name, Value::as_i64);
        let text = |name| field(value, name, |v| v.as_str().map(str::to_owned));
        Record {
            no: number("no"),
            si: text("si"),
            bt: number("bt"),
            ot: number("ot"),
            ct: number("ct"),
            di: text("di"),
            pi: text("pi"),
        }
    }

    /// The protocol's record, when every field has the spec's type (`di` and `pi` may be absent).
    pub fn strict(&self) -> Option<BehaviourRecord> {
        let optional = |field: &Field<String>| match field {
            Field::Absent => Some(None),
            Field::Typed(s) => Some(Some(s.clone())),
            Field::Mistyped(_) => None,
        };
        Some(BehaviourRecord {
            no: self.no.value()?,
            si: self.si.as_str()?.to_owned(),
            bt: self.bt.value()?,
            ot: self.ot.value()?,
            ct: self.ct.value()?,
            di: optional(&self.di)?,
            pi: optional(&self.pi)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<Record> {
        match Plaintext::parse(text, Some(Interface::Loginout)) {
            Plaintext::Loginout(records) => records,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn a_number_sent_as_a_string_is_kept_as_sent_and_the_rest_is_read() {
        let [record] = records(r#"{"collections":[{"no":"1","si":"s","bt":1,"ot":7,"ct":2,"di":"d"}]}"#)
            .try_into()
            .unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(record.no, Field::Mistyped("\"1\"".into()));
        assert_eq!(record.no.to_string(), "\"1\"");
        assert_eq!((record.si.as_str(), record.bt.value(), record.ct.value()), (Some("s"), Some(1), Some(2)));
        assert_eq!(record.pi, Field::Absent);
        assert_eq!(record.strict(), None);
    }

    #[test]
    fn a_record_of_the_spec_s_types_is_the_protocol_s_record() {
        let text = r#"{"collections":[{"no":1,"si":"s","bt":0,"ot":1,"ct":0,"pi":"p","di":null}]}"#;
        let strict = records(text).first().and_then(Record::strict);
        let expected = BehaviourRecord { no: 1, si: "s".into(), bt: 0, ot: 1, ct: 0, di: None, pi: Some("p".into()) };
        assert_eq!(strict, Some(expected));
    }

    #[test]
    fn fields_print_as_the_json_sent() {
        let [record] = records(r#"{"collections":[{"si":"a\"b","ot":1.5,"ct":null}]}"#)
            .try_into()
            .unwrap_or_else(|r| panic!("{r:?}"));
        assert_eq!(format!("{}|{}|{}|{}", record.si, record.bt, record.ot, record.ct), r#""a\"b"|null|1.5|null"#);
    }

    #[test]
    fn a_check_is_a_check_request_and_a_malformed_one_keeps_its_strings() {
        let ok = Plaintext::parse(r#"{"ai":"a","name":"n","idNum":"i"}"#, Some(Interface::Check));
        assert_eq!(ok, Plaintext::Check(CheckRequest { ai: "a".into(), name: "n".into(), id_num: "i".into() }));
        let bad = Plaintext::parse(r#"{"ai":"a","idNum":1}"#, Some(Interface::Check));
        assert!(matches!(&bad, Plaintext::Unparsed(Unparsed { why: Unreadable::NotACheck(_), .. })), "{bad:?}");
        assert_eq!((bad.ai(), bad.id_num(), bad.person()), (Some("a"), None, None));
        let array = Plaintext::parse(r#"["a","n","i"]"#, Some(Interface::Check));
        assert!(matches!(array, Plaintext::Unparsed(_)) && array.is_json() && array.ai().is_none());
    }

    #[test]
    fn text_that_is_not_json_is_kept_with_why() {
        let p = Plaintext::parse("{\"collections\":[", Some(Interface::Loginout));
        let Plaintext::Unparsed(u) = &p else { panic!("{p:?}") };
        assert_eq!(u.text, "{\"collections\":[");
        assert!(u.why.to_string().starts_with("not JSON"), "{}", u.why);
        assert!(!p.is_json() && p.records().is_empty());
        let none = Plaintext::parse(r#"{"records":[]}"#, Some(Interface::Loginout));
        assert!(none.is_json() && none.records().is_empty());
    }
}
