//! Answers varied the way the real system or a network could vary them (`nppa certify --profile fuzz`): the same
//! answer with its keys in another order, spaced, its strings escaped, `errmsg` in lower case (the V2.1 examples
//! print `ok`, SPEC §3), `pi: null` on a pending or failed result, unknown fields, every record of a report
//! rejected (a 3001, FAQ 241); and sent another way: another content type, chunked, ended by the connection's close,
//! trickled, or cut off mid-body.
//!
//! A fault rule's `vary` action carries a set of [`Change`]s; [`vary`] applies the ones that fit the answer the
//! mock gave, and says which did: the rule is spent only on an answer they all fit (`pi: null` waits for a pending
//! result), so that a set of changes reaches the client whole.

use std::io;

use nppa_protocol::messages::{Answer, LoginoutResults, RecordResult};
use nppa_protocol::{Interface, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// One change to an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Every object's keys in reverse order (JSON objects are unordered).
    KeysReversed,
    /// Whitespace between every token: newlines, tabs, spaces around `:` and `,`.
    Spaced,
    /// Every character of every string, keys included, as a `\uXXXX` escape.
    EscapedStrings,
    /// `errmsg` in lower case: `ok`, as the V2.1 examples print it (SPEC §3).
    ErrmsgLowercase,
    /// `"pi": null` in a pending or failed result, where the mock leaves `pi` out (FAQ 149).
    PiNull,
    /// Fields no version of the spec names, at every level of the answer.
    ExtraFields,
    /// An accepted report answered 3001 with every record listed as rejected (3005, FAQ 241).
    EveryRecordRejected,
    /// `Content-Type: text/html` on the JSON answer.
    HtmlContentType,
    /// Chunked transfer encoding instead of `Content-Length`.
    Chunked,
    /// The body sent a few bytes at a time, over about a second (within the 5 s client timeout).
    Trickled,
    /// `Content-Length` of the whole answer, half of it sent, then the connection closed.
    CutMidBody,
    /// Neither `Content-Length` nor chunks: an HTTP/1.0 answer whose body ends when the connection closes.
    CloseDelimited,
}

impl Change {
    /// Every change, in the order of their words in a journal note.
    pub const ALL: [Change; 12] = [
        Change::KeysReversed,
        Change::Spaced,
        Change::EscapedStrings,
        Change::ErrmsgLowercase,
        Change::PiNull,
        Change::ExtraFields,
        Change::EveryRecordRejected,
        Change::HtmlContentType,
        Change::Chunked,
        Change::Trickled,
        Change::CutMidBody,
        Change::CloseDelimited,
    ];

    /// Its name in JSON and in journal notes.
    pub const fn word(self) -> &'static str {
        match self {
            Change::KeysReversed => "keys_reversed",
            Change::Spaced => "spaced",
            Change::EscapedStrings => "escaped_strings",
            Change::ErrmsgLowercase => "errmsg_lowercase",
            Change::PiNull => "pi_null",
            Change::ExtraFields => "extra_fields",
            Change::EveryRecordRejected => "every_record_rejected",
            Change::HtmlContentType => "html_content_type",
            Change::Chunked => "chunked",
            Change::Trickled => "trickled",
            Change::CutMidBody => "cut_mid_body",
            Change::CloseDelimited => "close_delimited",
        }
    }

    /// The change named `word`.
    pub fn from_word(word: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.word() == word)
    }

    /// True for changes of how the answer is sent rather than of what it says.
    pub const fn is_transport(self) -> bool {
        matches!(
            self,
            Change::HtmlContentType | Change::Chunked | Change::Trickled | Change::CutMidBody | Change::CloseDelimited
        )
    }

    /// True when a client cannot read the answer it makes: only a cut-off body.
    pub const fn leaves_no_answer(self) -> bool {
        matches!(self, Change::CutMidBody)
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of changes (a `Copy` value: the journal's fault note carries it). In JSON a list of words; in a note,
/// the words joined by `+`: `keys_reversed+chunked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Changes(u16);

impl Changes {
    /// No change.
    pub const NONE: Changes = Changes(0);

    /// These changes.
    pub fn of(changes: &[Change]) -> Changes {
        changes.iter().fold(Changes::NONE, |set, c| set.with(*c))
    }

    /// This set and `change`.
    pub const fn with(self, change: Change) -> Changes {
        Changes(self.0 | change.bit())
    }

    pub const fn contains(self, change: Change) -> bool {
        self.0 & change.bit() != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The changes, in [`Change::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Change> {
        Change::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// True when a client cannot read the answer these changes make (a body cut off).
    pub fn leave_no_answer(self) -> bool {
        self.iter().any(Change::leaves_no_answer)
    }
}

impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let words: Vec<&str> = self.iter().map(Change::word).collect();
        f.write_str(&words.join("+"))
    }
}

impl std::str::FromStr for Changes {
    type Err = String;

    fn from_str(text: &str) -> Result<Changes, String> {
        if text == "none" {
            return Ok(Changes::NONE);
        }
        text.split('+').try_fold(Changes::NONE, |set, word| {
            Change::from_word(word).map(|c| set.with(c)).ok_or_else(|| format!("{word:?} is not a change"))
        })
    }
}

impl Serialize for Changes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Changes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Changes::of(&Vec::<Change>::deserialize(deserializer)?))
    }
}

/// How the answer's bytes go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// With `Content-Length`, at once.
    #[default]
    Whole,
    /// Chunked, in a few chunks.
    Chunked,
    /// Chunked, a few bytes at a time.
    Trickled,
    /// `Content-Length` of the whole, half of it sent, then the connection closed.
    CutMidBody,
    /// HTTP/1.0, no length: the body ends when the connection closes.
    CloseDelimited,
}

/// The content type of [`Change::HtmlContentType`].
pub const HTML: &str = "text/html;charset=UTF-8";

/// An answer after [`vary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Varied {
    pub body: Vec<u8>,
    /// The errcode the body now says, when a change made it another (3001).
    pub code: Option<StatusCode>,
    /// Another content type than the protocol's JSON.
    pub content_type: Option<&'static str>,
    pub framing: Framing,
    /// The changes that applied; none when nothing fitted this answer.
    pub applied: Changes,
}

/// Applies the changes that fit this answer: `interface` and, for a report, the `no` of each record it carried.
pub fn vary(changes: Changes, interface: Option<Interface>, body: &[u8], record_numbers: &[i64]) -> Varied {
    let mut applied = Changes::NONE;
    let mut code = None;
    let mut body_out = body.to_vec();
    if let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) {
        // What the answer says first, then how it is spelled: the keys reversed are all of them.
        const ORDER: [Change; 7] = [
            Change::EveryRecordRejected,
            Change::PiNull,
            Change::ExtraFields,
            Change::ErrmsgLowercase,
            Change::KeysReversed,
            Change::Spaced,
            Change::EscapedStrings,
        ];
        for change in ORDER.into_iter().filter(|c| changes.contains(*c)) {
            let fitted = match change {
                Change::EveryRecordRejected => {
                    let fits = interface == Some(Interface::Loginout) && errcode(&answer) == Some(0);
                    if fits && !record_numbers.is_empty() {
                        answer = every_record_rejected(record_numbers);
                        code = Some(StatusCode::PartialError);
                        true
                    } else {
                        false
                    }
                }
                Change::PiNull => pi_null(&mut answer),
                Change::ExtraFields => extra_fields(&mut answer),
                Change::ErrmsgLowercase => errmsg_lowercase(&mut answer),
                Change::KeysReversed => reverse_keys(&mut answer),
                // Applied when written.
                Change::Spaced | Change::EscapedStrings => true,
                _ => false,
            };
            if fitted {
                applied = applied.with(change);
            }
        }
        let style =
            Style { spaced: changes.contains(Change::Spaced), escaped: changes.contains(Change::EscapedStrings) };
        if !applied.is_empty() {
            body_out = write(&Value::Object(answer), style).unwrap_or(body_out);
        }
    }
    let content_type = changes.contains(Change::HtmlContentType).then_some(HTML);
    let framing = if changes.contains(Change::CutMidBody) {
        Framing::CutMidBody
    } else if changes.contains(Change::Trickled) {
        Framing::Trickled
    } else if changes.contains(Change::CloseDelimited) {
        Framing::CloseDelimited
    } else if changes.contains(Change::Chunked) {
        Framing::Chunked
    } else {
        Framing::Whole
    };
    for change in changes.iter().filter(|c| c.is_transport()) {
        applied = applied.with(change);
    }
    Varied { body: body_out, code, content_type, framing, applied }
}

fn errcode(answer: &Map<String, Value>) -> Option<u64> {
    answer.get("errcode").and_then(Value::as_u64)
}

fn every_record_rejected(numbers: &[i64]) -> Map<String, Value> {
    // 3005 (behaviour time): a code the real system gives a well-formed record whose time it doubts.
    let results = numbers.iter().map(|no| RecordResult::new(*no, StatusCode::BehaviorTimeError)).collect();
    let answer = Answer::with_data(StatusCode::PartialError, LoginoutResults { results });
    match serde_json::to_value(answer) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The `data.result` object of a check or query answer.
fn result_of(answer: &mut Map<String, Value>) -> Option<&mut Map<String, Value>> {
    answer.get_mut("data")?.as_object_mut()?.get_mut("result")?.as_object_mut()
}

fn pi_null(answer: &mut Map<String, Value>) -> bool {
    let Some(result) = result_of(answer) else { return false };
    let pending_or_failed = result.get("status").and_then(Value::as_u64).is_some_and(|s| s != 0);
    if !pending_or_failed || result.contains_key("pi") {
        return false;
    }
    result.insert("pi".into(), Value::Null);
    true
}

fn extra_fields(answer: &mut Map<String, Value>) -> bool {
    answer.insert("traceId".into(), Value::String("0af7651916cd43dd8448eb211c80319c".into()));
    if let Some(Value::Object(data)) = answer.get_mut("data") {
        data.insert("extra".into(), Value::Object(Map::from_iter([("note".to_owned(), Value::String(String::new()))])));
    }
    if let Some(result) = result_of(answer) {
        result.insert("message".into(), Value::Null);
    }
    true
}

fn errmsg_lowercase(answer: &mut Map<String, Value>) -> bool {
    let Some(Value::String(errmsg)) = answer.get_mut("errmsg") else { return false };
    let lower = errmsg.to_lowercase();
    let changed = lower != *errmsg;
    *errmsg = lower;
    changed
}

/// Reverses the keys of this object and every object in it; true when some object had two keys or more.
fn reverse_keys(object: &mut Map<String, Value>) -> bool {
    let mut changed = object.len() > 1;
    let entries: Vec<(String, Value)> = std::mem::take(object).into_iter().rev().collect();
    for (key, mut value) in entries {
        changed |= reverse_in(&mut value);
        object.insert(key, value);
    }
    changed
}

fn reverse_in(value: &mut Value) -> bool {
    match value {
        Value::Object(object) => reverse_keys(object),
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| reverse_in(item) | changed),
        _ => false,
    }
}

/// How [`write`] spells the JSON.
#[derive(Debug, Clone, Copy)]
struct Style {
    spaced: bool,
    escaped: bool,
}

fn write(value: &Value, style: Style) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, style);
    value.serialize(&mut serializer)?;
    Ok(out)
}

impl serde_json::ser::Formatter for Style {
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        match (self.spaced, first) {
            (false, true) => Ok(()),
            (false, false) => writer.write_all(b","),
            (true, true) => writer.write_all(b"\r\n\t"),
            (true, false) => writer.write_all(b" ,\r\n\t"),
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.spaced { b" : " } else { b":" })
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.spaced { b"\r\n}" } else { b"}" })
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        match (self.spaced, first) {
            (false, true) => Ok(()),
            (false, false) => writer.write_all(b","),
            (true, true) => writer.write_all(b" "),
            (true, false) => writer.write_all(b" , "),
        }
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if !self.escaped {
            return writer.write_all(fragment.as_bytes());
        }
        let mut units = [0u16; 2];
        for c in fragment.chars() {
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nppa_protocol::answer;

    const PENDING: &[u8] = br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":1}}}"#;
    const SUCCESS: &[u8] =
        br#"{"errcode":0,"errmsg":"OK","data":{"result":{"status":0,"pi":"1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u"}}}"#;
    const ACCEPTED: &[u8] = br#"{"errcode":0,"errmsg":"OK","data":""}"#;

    fn varied(changes: &[Change], interface: Interface, body: &[u8]) -> Varied {
        vary(Changes::of(changes), Some(interface), body, &[1, 2])
    }

    #[test]
    fn every_body_change_keeps_the_answer_a_client_reads() {
        for change in Change::ALL.into_iter().filter(|c| !c.is_transport() && *c != Change::EveryRecordRejected) {
            for body in [PENDING, SUCCESS] {
                let out = varied(&[change], Interface::Query, body);
                let read = |body: &[u8]| answer::parse(body).map(|a| (a.errcode, a.data, a.status, a.pi, a.rejected));
                assert_eq!(read(&out.body), read(body), "{change:?} on {}", String::from_utf8_lossy(body));
                assert!(serde_json::from_slice::<Value>(&out.body).is_ok(), "{change:?}: still JSON");
            }
        }
    }

    #[test]
    fn the_bytes_of_each_change() {
        let out = varied(&[Change::KeysReversed], Interface::Query, PENDING);
        assert_eq!(out.body, br#"{"data":{"result":{"status":1}},"errmsg":"OK","errcode":0}"#);
        let out = varied(&[Change::EscapedStrings], Interface::Loginout, ACCEPTED);
        let errcode = r"\u0065\u0072\u0072\u0063\u006f\u0064\u0065";
        let errmsg = r"\u0065\u0072\u0072\u006d\u0073\u0067";
        let data = r"\u0064\u0061\u0074\u0061";
        let expected = format!(r#"{{"{errcode}":0,"{errmsg}":"\u004f\u004b","{data}":""}}"#);
        assert_eq!(String::from_utf8(out.body).unwrap(), expected);
        let out = varied(&[Change::ErrmsgLowercase, Change::PiNull], Interface::Query, PENDING);
        assert_eq!(out.body, br#"{"errcode":0,"errmsg":"ok","data":{"result":{"status":1,"pi":null}}}"#);
        let out = varied(&[Change::Spaced], Interface::Loginout, ACCEPTED);
        assert_eq!(out.body, b"{\r\n\t\"errcode\" : 0 ,\r\n\t\"errmsg\" : \"OK\" ,\r\n\t\"data\" : \"\"\r\n}");
        let out = varied(&[Change::EveryRecordRejected], Interface::Loginout, ACCEPTED);
        assert_eq!(out.code, Some(StatusCode::PartialError));
        let read = answer::parse(&out.body).unwrap();
        assert_eq!(
            (read.errcode, read.rejected.iter().map(|r| (r.no, r.errcode)).collect::<Vec<_>>()),
            (3001, vec![(1, 3005), (2, 3005)])
        );
    }

    #[test]
    fn a_change_that_does_not_fit_the_answer_is_not_applied() {
        let out = varied(&[Change::PiNull], Interface::Query, SUCCESS);
        assert!(out.applied.is_empty());
        assert_eq!(out.body, SUCCESS);
        let out = varied(&[Change::EveryRecordRejected, Change::Chunked], Interface::Check, PENDING);
        assert_eq!(out.applied, Changes::of(&[Change::Chunked]));
        assert_eq!((out.body.as_slice(), out.framing), (PENDING, Framing::Chunked));
    }

    #[test]
    fn a_set_of_changes_round_trips_as_words_and_as_json() {
        let set = Changes::of(&[Change::Chunked, Change::KeysReversed]);
        assert_eq!(set.to_string(), "keys_reversed+chunked");
        assert_eq!("keys_reversed+chunked".parse::<Changes>(), Ok(set));
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["keys_reversed","chunked"]"#);
        assert_eq!(serde_json::from_str::<Changes>(r#"["chunked","keys_reversed"]"#).unwrap(), set);
        assert!("keys+chunked".parse::<Changes>().is_err());
    }
}
