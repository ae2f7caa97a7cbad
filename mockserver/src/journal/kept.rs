//! What the ring keeps of one request: the bytes as they arrived and the pipeline's typed results, the bytes
//! copied into one slice of a large shared chunk. Text and JSON ([`JournalEntry`]) are made only when the journal is
//! read, streamed or written to its file, so that recording costs a copy, not a dozen owned strings.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use hyper::HeaderMap;
use nppa_protocol::Interface;

use super::chunks::{CoreChunks, CHUNK_BYTES};
use super::entry::{JournalEntry, UpstreamExchange};
use crate::faults::FaultNote;
use crate::http_error::{HttpError, HttpErrorKind};
use crate::refusal::Refusal;

/// One journaled request, numbered. Cloned cheaply: its bytes are a counted slice.
#[derive(Debug, Clone)]
pub struct Kept {
    id: u64,
    what: Record,
}

/// What the journal records.
#[derive(Debug, Clone)]
// The ring holds these inline: boxing the common variant would cost an allocation per request.
pub enum Record {
    /// A request that reached the protocol (the pipeline or a fault answered it).
    Exchange(Exchange),
    /// A request the HTTP layer ended (rare: made as an entry already; shared, so that a reader's copy is cheap).
    Entry(Arc<JournalEntry>),
}

impl Kept {
    pub(super) fn new(id: u64, what: Record) -> Kept {
        Kept { id, what }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Mock-clock time of the answer (Unix ms).
    pub fn time_ms(&self) -> u64 {
        match &self.what {
            Record::Exchange(exchange) => exchange.time_ms,
            Record::Entry(entry) => entry.time_ms,
        }
    }

    pub fn interface(&self) -> Option<Interface> {
        match &self.what {
            Record::Exchange(exchange) => exchange.interface,
            Record::Entry(entry) => entry.interface,
        }
    }

    pub fn errcode(&self) -> Option<u16> {
        match &self.what {
            Record::Exchange(exchange) => exchange.errcode,
            Record::Entry(entry) => entry.errcode,
        }
    }

    /// True when the request's `sign` header is exactly `sign`.
    pub fn signed(&self, sign: &str) -> bool {
        match &self.what {
            Record::Exchange(exchange) => exchange.bytes.header("sign") == Some(sign.as_bytes()),
            Record::Entry(entry) => entry.header("sign") == Some(sign),
        }
    }

    /// The entry as people and tools read it.
    pub fn render(&self) -> JournalEntry {
        match &self.what {
            Record::Exchange(exchange) => exchange.render(self.id),
            Record::Entry(entry) => JournalEntry { id: self.id, ..(**entry).clone() },
        }
    }
}

/// One protocol exchange as it happened. Small (the ring's slots are cold memory, written and read once a round of
/// the ring): what most exchanges do not have is behind one pointer ([`Unusual`]), the method is in the bytes.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub arrived_ms: u64,
    pub time_ms: u64,
    pub latency_us: u64,
    pub peer: IpAddr,
    /// The scheme the client addressed (its host is in the bytes), for `target`.
    pub scheme: &'static str,
    pub interface: Option<Interface>,
    pub sign_ok: Option<bool>,
    pub http_status: u16,
    pub errcode: Option<u16>,
    pub connection_reset: bool,
    /// A fault, a refusal, a body that did not arrive, an upstream; `None` when none of them.
    pub unusual: Option<Arc<Unusual>>,
    pub bytes: ExchangeBytes,
}

/// What an exchange has when it was not an accepted request answered in the usual way.
#[derive(Debug, Clone)]
pub struct Unusual {
    pub fault: Option<FaultNote>,
    /// Why the pipeline refused: `rule` and `cause` are written from it when read.
    pub refusal: Option<Refusal>,
    /// The body did not arrive within this many seconds.
    pub body_timeout_s: Option<f64>,
    /// Upstream mode: what the upstream did.
    pub upstream: Option<UpstreamExchange>,
}

impl Unusual {
    /// What is unusual about an exchange, shared; `None`, with nothing built or allocated, when nothing is.
    #[inline]
    pub fn of(
        fault: Option<FaultNote>,
        refusal: Option<&Refusal>,
        body_timeout_s: Option<f64>,
        upstream: Option<UpstreamExchange>,
    ) -> Option<Arc<Unusual>> {
        if fault.is_none() && refusal.is_none() && body_timeout_s.is_none() && upstream.is_none() {
            return None;
        }
        Some(Arc::new(Unusual { fault, refusal: refusal.cloned(), body_timeout_s, upstream }))
    }
}

impl Exchange {
    fn render(&self, id: u64) -> JournalEntry {
        let bytes = &self.bytes;
        let text = |part| bytes.part(part).map(|b| String::from_utf8_lossy(b).into_owned());
        let mut entry = JournalEntry {
            id,
            arrived_ms: self.arrived_ms,
            time_ms: self.time_ms,
            peer: self.peer.to_string(),
            method: text(Part::Method).unwrap_or_default(),
            target: text(Part::Authority).map(|authority| format!("{}://{authority}", self.scheme)),
            path: text(Part::Path).unwrap_or_default(),
            query: text(Part::Query),
            headers: bytes
                .headers()
                .map(|(name, value)| {
                    (String::from_utf8_lossy(name).into_owned(), String::from_utf8_lossy(value).into_owned())
                })
                .collect(),
            body: None,
            body_base64: None,
            plaintext: text(Part::Plaintext),
            interface: self.interface,
            sign_ok: self.sign_ok,
            http_status: self.http_status,
            errcode: self.errcode,
            answer: text(Part::Answer).unwrap_or_default(),
            fault: None,
            rule: None,
            cause: None,
            connection_reset: self.connection_reset,
            latency_us: self.latency_us,
            http_error: None,
            raw: None,
            raw_base64: None,
            upstream: None,
        };
        if let Some(body) = bytes.part(Part::Body) {
            entry.set_body(body);
        }
        let Some(unusual) = self.unusual.as_deref() else { return entry };
        entry.fault = unusual.fault;
        entry.upstream = unusual.upstream.clone();
        let injected = unusual.fault.and_then(|f| f.effect.map(|effect| (f.rule, effect)));
        match (injected, &unusual.refusal) {
            (Some((rule, effect)), _) => entry.cause = Some(format!("injected by fault rule #{rule}: {effect}")),
            (None, Some(refusal)) => {
                entry.rule = Some(refusal.rule().id.to_owned());
                entry.cause = Some(refusal.to_string());
            }
            (None, None) => {}
        }
        if let Some(seconds) = unusual.body_timeout_s {
            let detail = format!("request body not received within {seconds} s");
            entry.http_error = Some(HttpError { kind: HttpErrorKind::BodyTimeout, detail });
        }
        entry
    }
}

/// The variable-length parts of a request and its answer, as they are given to [`ExchangeBytes::new`].
#[derive(Debug, Clone, Copy)]
pub struct ExchangeParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// The host the client addressed (absolute-form target or `Host` header).
    pub authority: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// Absent when the body could not be read.
    pub body: Option<&'a [u8]>,
    pub plaintext: Option<&'a [u8]>,
    pub answer: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Method,
    Path,
    Query,
    Authority,
    Headers,
    Body,
    Plaintext,
    Answer,
}

const PARTS: usize = 8;

/// [`ExchangeParts`] copied one after the other; headers as name, NUL, value, NUL (neither a header name nor a
/// `HeaderValue` can hold a NUL: `http` refuses control characters in both).
#[derive(Debug, Clone)]
pub struct ExchangeBytes {
    /// A slice of a chunk shared with the entries recorded before and after it (or its own, for a large entry).
    buffer: Bytes,
    /// Where each part ends in `buffer`.
    ends: [u32; PARTS],
    /// Bit `part` set when the part is present (a present part may be empty).
    present: u8,
}

/// The parts in the order they are written (the headers, walked as they are copied, stand in as `None`).
fn given<'a>(parts: &ExchangeParts<'a>) -> [Option<&'a [u8]>; PARTS] {
    [
        Some(parts.method.as_bytes()),
        Some(parts.path.as_bytes()),
        parts.query.map(str::as_bytes),
        parts.authority.map(str::as_bytes),
        None,
        parts.body,
        parts.plaintext,
        Some(parts.answer),
    ]
}

/// The room the parts take, exactly: what an entry that did not fit in the current chunk asks of the next (less would
/// make that chunk move).
fn room(parts: &ExchangeParts<'_>, given: &[Option<&[u8]>; PARTS]) -> usize {
    let headers: usize = parts.headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 2).sum();
    headers + given.iter().flatten().map(|part| part.len()).sum::<usize>()
}

/// An entry that takes more than this has a buffer of its own, so that it does not leave most of a chunk unused.
const OWN_BUFFER_PAST: usize = CHUNK_BYTES / 4;

impl ExchangeBytes {
    /// The parts in a buffer of their own, of the size they need.
    pub fn new(parts: &ExchangeParts<'_>) -> ExchangeBytes {
        let given = given(parts);
        ExchangeBytes::write_whole(&mut BytesMut::with_capacity(room(parts, &given)), parts, &given)
    }

    /// The parts copied into a chunk of this core's ([`Journal`](super::Journal)'s), then split off it.
    ///
    /// The usual entry fits in what is left of the chunk being written: it is written there in one walk of its
    /// headers, which gives up at the first part that would not fit (so the chunk never grows, which would move it
    /// into a new allocation and leave the old one unused). Only then is the entry measured: into a new chunk, or,
    /// if larger than a quarter of a chunk, into a buffer of its own (made without the lock).
    pub fn new_in(chunks: &CoreChunks, parts: &ExchangeParts<'_>) -> ExchangeBytes {
        let given = given(parts);
        let written = chunks.write_in_current(|chunk, left| {
            let limit = left.min(OWN_BUFFER_PAST);
            ExchangeBytes::write(chunk, parts, &given, |end| if end <= limit { Ok(()) } else { Err(()) }).ok()
        });
        if let Some(bytes) = written {
            return bytes;
        }
        let room = room(parts, &given);
        if room > OWN_BUFFER_PAST {
            return ExchangeBytes::write_whole(&mut BytesMut::with_capacity(room), parts, &given);
        }
        chunks.write(room, |chunk| ExchangeBytes::write_whole(chunk, parts, &given))
    }

    /// [`write`](Self::write) into a buffer with room for every part.
    fn write_whole(buffer: &mut BytesMut, parts: &ExchangeParts<'_>, given: &[Option<&[u8]>; PARTS]) -> ExchangeBytes {
        let Ok(bytes) = ExchangeBytes::write(buffer, parts, given, |_| Ok::<(), Infallible>(()));
        bytes
    }

    /// The parts written into `buffer` (emptied first: whatever a write that did not finish left there is dropped),
    /// then split off it. Before each part is written, `fits` is asked whether the buffer may grow to that length;
    /// when it may not, the buffer is emptied again and its answer returned.
    fn write<E>(
        buffer: &mut BytesMut,
        parts: &ExchangeParts<'_>,
        given: &[Option<&[u8]>; PARTS],
        fits: impl Fn(usize) -> Result<(), E>,
    ) -> Result<ExchangeBytes, E> {
        buffer.clear();
        let (mut ends, mut present) = ([0u32; PARTS], 0u8);
        for (index, part) in given.iter().enumerate() {
            if index == Part::Headers as usize {
                for (name, value) in parts.headers {
                    let (name, value) = (name.as_str().as_bytes(), value.as_bytes());
                    if let Err(no_room) = fits(buffer.len() + name.len() + value.len() + 2) {
                        buffer.clear();
                        return Err(no_room);
                    }
                    buffer.extend_from_slice(name);
                    buffer.extend_from_slice(&[0]);
                    buffer.extend_from_slice(value);
                    buffer.extend_from_slice(&[0]);
                }
                present |= 1 << index;
            } else if let Some(part) = part {
                if let Err(no_room) = fits(buffer.len() + part.len()) {
                    buffer.clear();
                    return Err(no_room);
                }
                buffer.extend_from_slice(part);
                present |= 1 << index;
            }
            // Bodies are bounded by `server.max_body_bytes` and heads by hyper: far below 4 GiB.
            ends[index] = buffer.len() as u32;
        }
        Ok(ExchangeBytes { buffer: buffer.split().freeze(), ends, present })
    }

    fn part(&self, part: Part) -> Option<&[u8]> {
        let index = part as usize;
        if self.present & (1 << index) == 0 {
            return None;
        }
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        self.buffer.get(start..self.ends[index] as usize)
    }

    /// Where its bytes lie, and its body (tests of where entries are written).
    #[cfg(test)]
    pub(super) fn placed(&self) -> (std::ops::Range<*const u8>, Option<&[u8]>) {
        (self.buffer.as_ptr_range(), self.part(Part::Body))
    }

    /// The size of the allocation its bytes keep alive, when nothing else shares it.
    #[cfg(test)]
    pub(super) fn allocation(self) -> Option<usize> {
        self.buffer.try_into_mut().ok().map(|own| own.capacity())
    }

    /// The headers, in the order they arrived.
    fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut fields = self.part(Part::Headers).unwrap_or_default().split(|&b| b == 0);
        std::iter::from_fn(move || Some((fields.next()?, fields.next()?)))
    }

    /// The value of a header by its lower-case name.
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers().find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let value = HeaderValue::from_bytes(value).expect("value");
            map.append(HeaderName::from_bytes(name.as_bytes()).expect("name"), value);
        }
        map
    }

    #[test]
    fn every_part_reads_back_as_given_and_absent_parts_stay_absent() {
        let map = headers(&[("appid", b"a1"), ("sign", b"ff"), ("x-twice", b"1"), ("x-twice", b"2"), ("e", b"")]);
        let parts = ExchangeParts {
            method: "POST",
            path: "/idcard/authentication/check",
            query: None,
            authority: Some("api.wlc.nppa.gov.cn"),
            headers: &map,
            body: Some(b""),
            plaintext: None,
            answer: br#"{"errcode":0}"#,
        };
        let bytes = ExchangeBytes::new(&parts);
        assert_eq!(bytes.part(Part::Method), Some(&b"POST"[..]));
        assert_eq!(bytes.part(Part::Path), Some(&b"/idcard/authentication/check"[..]));
        assert_eq!(bytes.part(Part::Query), None);
        assert_eq!(bytes.part(Part::Authority), Some(&b"api.wlc.nppa.gov.cn"[..]));
        assert_eq!(bytes.part(Part::Body), Some(&b""[..]), "an empty body is present, not absent");
        assert_eq!(bytes.part(Part::Plaintext), None);
        assert_eq!(bytes.part(Part::Answer), Some(&br#"{"errcode":0}"#[..]));
        let read: Vec<(&[u8], &[u8])> = bytes.headers().collect();
        let expected: Vec<(&[u8], &[u8])> =
            vec![(b"appid", b"a1"), (b"sign", b"ff"), (b"x-twice", b"1"), (b"x-twice", b"2"), (b"e", b"")];
        assert_eq!(read, expected);
        assert_eq!(bytes.header("SIGN"), Some(&b"ff"[..]));
        assert_eq!(bytes.header("bizid"), None);
    }

    #[test]
    fn the_room_asked_of_a_chunk_is_what_the_entry_takes_however_long_its_headers() {
        // Less would make the chunk move (a new allocation; the old chunk never used again), as a guess of 48 bytes a
        // header did for long values.
        for length in [0, 1, 40, 47, 48, 150, 2_000] {
            let value = vec![b'v'; length];
            let map = headers(&[("sign", &value), ("x-long-header-name", &value), ("appid", b"a")]);
            let parts = ExchangeParts {
                method: "POST",
                path: "/idcard/authentication/check",
                query: Some("ai=1"),
                authority: Some("127.0.0.1:8080"),
                headers: &map,
                body: Some(b"{\"data\":\"x\"}"),
                plaintext: Some(b"{}"),
                answer: b"{\"errcode\":0}",
            };
            let written = ExchangeBytes::new(&parts).buffer.len();
            assert_eq!(room(&parts, &given(&parts)), written, "headers of {length} bytes");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_survive_to_the_entry() {
        let map = headers(&[("x-raw", &[0xff, 0x41])]);
        let exchange = Exchange {
            arrived_ms: 1,
            time_ms: 2,
            latency_us: 3,
            peer: "127.0.0.1".parse().expect("ip"),
            scheme: "http",
            interface: Some(Interface::Check),
            sign_ok: Some(false),
            http_status: 200,
            errcode: Some(1011),
            connection_reset: false,
            unusual: Unusual::of(None, Some(&Refusal::UnknownPath), None, None),
            bytes: ExchangeBytes::new(&ExchangeParts {
                method: "PUT",
                path: "/p",
                query: Some("ai=1"),
                authority: None,
                headers: &map,
                body: Some(&[0x80, 0x81]),
                plaintext: Some(b"{}"),
                answer: b"{}",
            }),
        };
        let entry = Kept::new(7, Record::Exchange(exchange)).render();
        assert_eq!(entry.id, 7);
        assert_eq!(entry.body, None);
        assert_eq!(entry.body_base64.as_deref(), Some("gIE="));
        assert_eq!(entry.header("x-raw"), Some("\u{fffd}A"), "header values are shown lossily, as before");
        assert_eq!(entry.query.as_deref(), Some("ai=1"));
        assert_eq!(entry.target, None, "no Host, no target");
        assert_eq!(entry.rule.as_deref(), Some(Refusal::UnknownPath.rule().id));
        assert_eq!(entry.method, "PUT");
    }

    #[test]
    fn an_entry_in_the_ring_takes_at_most_two_and_a_half_cache_lines() {
        // Each entry recorded writes a slot of the ring last touched a whole ring ago (cache misses, the journal's
        // largest cost under load); what is rare is behind a pointer. 264 bytes before that.
        assert!(size_of::<Kept>() <= 160, "{} bytes", size_of::<Kept>());
    }
}
