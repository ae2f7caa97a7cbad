//! The request journal: every request with its bytes, decrypted plaintext, sign check and answer.
//! Entries are kept as they arrived ([`Kept`]) and rendered to JSON's [`JournalEntry`] only when read.
//! A bounded in-memory ring (the oldest entries make room, counted), an optional JSONL file written by its own
//! thread (entries it cannot keep up with are counted, never silently lost), and a live stream.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use nppa_protocol::Interface;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt as _};

mod chunks;
mod entry;
mod kept;

pub use crate::difference::{Difference, DifferenceKind};
use chunks::CoreChunks;
pub use chunks::CHUNK_BYTES;
pub use entry::{JournalEntry, UpstreamExchange};
pub use kept::{Exchange, ExchangeBytes, ExchangeParts, Kept, Record, Unusual};

/// Counts that say what the journal could not keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalStats {
    /// Entries recorded since start.
    pub recorded: u64,
    /// Entries in the ring now.
    pub in_ring: u64,
    /// Entries pushed out of the ring by newer ones (read the JSONL file or the stream to keep everything).
    pub evicted: u64,
    /// Entries the JSONL writer could not take (queue full) or failed to write.
    pub file_dropped: u64,
    /// Entries a slow stream subscriber missed.
    pub stream_lagged: u64,
}

/// Filters of `GET /__admin/journal`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<u16>,
    /// Entries at or after this mock-clock time (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// Entries with a larger id (to page through, or to poll for new ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_id: Option<u64>,
    /// Entries whose `sign` header is this (a client finding the entry of its own request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<String>,
    /// At most this many, the oldest first (default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// The journal.
#[derive(Debug)]
pub struct Journal {
    enabled: bool,
    capacity: usize,
    /// The entries themselves, not each behind an `Arc`: an entry costs no allocation of its own, whether the ring
    /// is filling or full (its bytes go into a shared chunk).
    ring: Mutex<VecDeque<Kept>>,
    next_id: AtomicU64,
    evicted: AtomicU64,
    file_dropped: Arc<AtomicU64>,
    stream_lagged: AtomicU64,
    stream: broadcast::Sender<Arc<Kept>>,
    /// [`Subscription`]s alive: read on every entry, where the channel's own count is behind its lock.
    subscribers: Arc<AtomicUsize>,
    file: Option<SyncSender<Arc<Kept>>>,
    /// Where new entries' bytes are written ([`ExchangeBytes::new_in`]): slices of chunks, each used again once
    /// its entries have left the ring; each core its own.
    chunks: CoreChunks,
}

/// How many entries may wait for the JSONL writer before new ones are counted as dropped.
const FILE_QUEUE: usize = 65_536;
/// How many entries a stream subscriber may fall behind before it misses some.
const STREAM_QUEUE: usize = 16_384;

impl Journal {
    /// A journal keeping `capacity` entries in memory, and every entry in `file` (JSONL) when given.
    pub fn new(enabled: bool, capacity: usize, file: Option<&Path>) -> std::io::Result<Journal> {
        let file_dropped = Arc::new(AtomicU64::new(0));
        let file = match file.filter(|_| enabled) {
            Some(path) => Some(spawn_writer(path, Arc::clone(&file_dropped))?),
            None => None,
        };
        Ok(Journal {
            enabled,
            capacity: capacity.max(1),
            ring: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(1),
            evicted: AtomicU64::new(0),
            file_dropped,
            stream_lagged: AtomicU64::new(0),
            stream: broadcast::channel(STREAM_QUEUE).0,
            subscribers: Arc::new(AtomicUsize::new(0)),
            file,
            chunks: CoreChunks::for_ring(capacity.max(1)),
        })
    }

    /// True when requests are recorded.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records a request and gives it its id. The id is taken under the ring's lock, so that ids increase in the
    /// order entries enter the ring, the file and the stream: paging by `after_id` misses nothing and repeats
    /// nothing, however many connections write at once. (When each request arrived is `arrived_ms`.)
    pub fn record(&self, record: Record) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let kept = Kept::new(self.next_id.fetch_add(1, Ordering::Relaxed), record);
        let evicted = (ring.len() >= self.capacity).then(|| ring.pop_front());
        if evicted.is_some() {
            self.evicted.fetch_add(1, Ordering::Relaxed);
        } else if ring.len() == ring.capacity() {
            grow_up_to(&mut ring, self.capacity);
        }
        // Shared only with a file or a subscriber to hand it to: an entry is a few hundred bytes and its bytes a
        // counted slice, so the copy is cheap, and the ring alone allocates nothing per entry.
        let receivers = self.subscribers.load(Ordering::Relaxed);
        if self.file.is_some() || receivers > 0 {
            let shared = Arc::new(kept.clone());
            if let Some(file) = &self.file {
                if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = file.try_send(Arc::clone(&shared)) {
                    self.file_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            if receivers > 0 {
                let _ = self.stream.send(shared);
            }
        }
        ring.push_back(kept);
        drop(ring);
        // The evicted entry's bytes only lower their chunk's count; dropped outside the lock all the same.
        drop(evicted);
    }

    /// A new entry's bytes, written into this core's current chunk.
    pub fn keep_bytes(&self, parts: &ExchangeParts<'_>) -> ExchangeBytes {
        ExchangeBytes::new_in(&self.chunks, parts)
    }

    /// Entries matching the filters, oldest first.
    pub fn query(&self, filter: &JournalQuery) -> Vec<JournalEntry> {
        let limit = filter.limit.unwrap_or(1000);
        // Rendered outside the lock: requests being recorded do not wait for a reader.
        let found: Vec<Kept> = {
            let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
            ring.iter()
                .filter(|e| filter.after_id.is_none_or(|id| e.id() > id))
                .filter(|e| filter.since.is_none_or(|t| e.time_ms() >= t))
                .filter(|e| filter.interface.is_none_or(|i| e.interface() == Some(i)))
                .filter(|e| filter.errcode.is_none_or(|c| e.errcode() == Some(c)))
                .filter(|e| filter.sign.as_deref().is_none_or(|sign| e.signed(sign)))
                .take(limit)
                .cloned()
                .collect()
        };
        found.iter().map(|kept| kept.render()).collect()
    }

    /// Empties the ring (ids keep increasing), and lets its chunks go.
    pub fn clear(&self) {
        self.ring.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.chunks.release();
    }

    /// A live feed of new entries, from now.
    pub fn subscribe(&self) -> Subscription {
        // Counted before it listens: an entry recorded meanwhile is sent (and not yet received) rather than missed.
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        let listening = Listening(Arc::clone(&self.subscribers));
        Subscription { entries: self.stream.subscribe(), listening }
    }

    /// Counts a subscriber's missed entries.
    pub fn note_lagged(&self, missed: u64) {
        self.stream_lagged.fetch_add(missed, Ordering::Relaxed);
    }

    /// What was recorded and what could not be kept.
    pub fn stats(&self) -> JournalStats {
        let in_ring = self.ring.lock().unwrap_or_else(|p| p.into_inner()).len() as u64;
        JournalStats {
            recorded: self.next_id.load(Ordering::Relaxed) - 1,
            in_ring,
            evicted: self.evicted.load(Ordering::Relaxed),
            file_dropped: self.file_dropped.load(Ordering::Relaxed),
            stream_lagged: self.stream_lagged.load(Ordering::Relaxed),
        }
    }
}

/// Doubles the ring's room, never past `capacity`: once full, the room is exactly `capacity`, so that the entry
/// pushed out and the one pushed in share a slot. A room larger than the ring put them in two slots, both cold (the
/// ring is some 13 MB): twice the cache misses of recording an entry.
fn grow_up_to(ring: &mut VecDeque<Kept>, capacity: usize) {
    let room = (ring.capacity() * 2).max(64).min(capacity);
    ring.reserve_exact(room - ring.len());
}

/// A live feed of the journal's new entries ([`Journal::subscribe`]).
#[derive(Debug)]
pub struct Subscription {
    entries: broadcast::Receiver<Arc<Kept>>,
    listening: Listening,
}

impl Subscription {
    /// The entries as they are recorded; an `Err` says how many a subscriber that fell behind missed.
    pub fn into_stream(self) -> impl Stream<Item = Result<Arc<Kept>, BroadcastStreamRecvError>> + Send {
        let Subscription { entries, listening } = self;
        // The count goes down when the stream is dropped, not when its receiver is taken out of it.
        BroadcastStream::new(entries).map(move |entry| {
            let _listening = &listening;
            entry
        })
    }
}

/// Counts one subscription while it lives.
#[derive(Debug)]
struct Listening(Arc<AtomicUsize>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The JSONL writer: its own thread, so that file I/O never blocks the runtime.
fn spawn_writer(path: &Path, dropped: Arc<AtomicU64>) -> std::io::Result<SyncSender<Arc<Kept>>> {
    // It holds names and ID numbers in clear.
    let file = crate::private_file::append(path)?;
    let (sender, receiver) = sync_channel::<Arc<Kept>>(FILE_QUEUE);
    std::thread::Builder::new().name("nppa-journal".into()).spawn(move || {
        let mut out = std::io::BufWriter::new(file);
        let write = |out: &mut std::io::BufWriter<std::fs::File>, entry: &Kept| {
            serde_json::to_writer(&mut *out, &entry.render()).is_ok() && out.write_all(b"\n").is_ok()
        };
        while let Ok(entry) = receiver.recv() {
            // Write what is queued, then flush, so that a reader of the file sees entries promptly.
            let (mut batch, mut failed) = (1u64, u64::from(!write(&mut out, &entry)));
            while let Ok(next) = receiver.try_recv() {
                batch += 1;
                failed += u64::from(!write(&mut out, &next));
            }
            if out.flush().is_err() {
                failed = batch;
            }
            dropped.fetch_add(failed, Ordering::Relaxed);
        }
    })?;
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_error::{HttpError, HttpErrorKind};

    fn entry() -> JournalEntry {
        let error = HttpError { kind: HttpErrorKind::Malformed, detail: "invalid HTTP header parsed".into() };
        JournalEntry::http_error("127.0.0.1".into(), 1, error, 400, b"")
    }

    fn exchange(journal: &Journal, path: &str, body: &[u8]) -> Record {
        let headers = hyper::HeaderMap::new();
        let parts = ExchangeParts {
            method: "POST",
            path,
            query: None,
            authority: None,
            headers: &headers,
            body: Some(body),
            plaintext: None,
            answer: b"{}",
        };
        Record::Exchange(Exchange {
            arrived_ms: 1,
            time_ms: 1,
            latency_us: 1,
            peer: "127.0.0.1".parse().expect("ip"),
            scheme: "http",
            interface: None,
            sign_ok: None,
            http_status: 200,
            errcode: None,
            connection_reset: false,
            unusual: None,
            bytes: journal.keep_bytes(&parts),
        })
    }

    #[test]
    fn every_entry_reads_back_its_own_bytes_across_chunks_and_evictions() {
        let journal = Journal::new(true, 3, None).expect("journal");
        // Bodies of every size up to one larger than a quarter chunk (a buffer of its own), so that entries share
        // chunks, fill them and start new ones while older entries are evicted.
        let body = |n: usize| ((n * 37) % 251).to_string().repeat(n * 600 % (CHUNK_BYTES / 3));
        for n in 0..400 {
            journal.record(exchange(&journal, &format!("/{n}"), body(n).as_bytes()));
            let kept = journal.query(&JournalQuery::default());
            let read: Vec<(u64, String, Option<String>)> =
                kept.iter().map(|e| (e.id, e.path.clone(), e.body.clone())).collect();
            let expected: Vec<(u64, String, Option<String>)> =
                (n.saturating_sub(2)..=n).map(|m| (m as u64 + 1, format!("/{m}"), Some(body(m)))).collect();
            assert_eq!(read, expected, "after entry {n}");
        }
        assert_eq!(journal.stats().evicted, 397);
    }

    #[test]
    fn a_full_ring_has_room_for_exactly_its_entries_so_an_entry_takes_the_slot_of_the_one_it_pushes_out() {
        for capacity in [1, 3, 64, 100, 1_000] {
            let journal = Journal::new(true, capacity, None).expect("journal");
            for n in 0..capacity + 3 {
                journal.record(exchange(&journal, &format!("/{n}"), b"x"));
            }
            assert_eq!(journal.ring.lock().expect("ring").capacity(), capacity, "a ring of {capacity}");
            assert_eq!(journal.stats().evicted, 3);
        }
    }

    #[test]
    fn entries_share_a_chunk_and_a_large_one_has_its_own() {
        let journal = Journal::new(true, 10, None).expect("journal");
        let (small, _) = journal.keep_bytes(&parts(b"small")).placed();
        let (next, _) = journal.keep_bytes(&parts(b"next")).placed();
        assert_eq!(small.end, next.start, "one after the other in one chunk");
        let large = vec![b'x'; CHUNK_BYTES / 2];
        let own = journal.keep_bytes(&parts(&large));
        let (after, _) = journal.keep_bytes(&parts(b"after")).placed();
        assert_eq!(next.end, after.start, "the large entry left the chunk alone");
        assert_eq!(own.placed().1, Some(&large[..]));
        // An entry made outside the journal (upstream mode's were, through `new`) holds only its own size.
        let outside = ExchangeBytes::new(&parts(b"outside")).allocation();
        assert!(outside.is_some_and(|bytes| bytes < 256), "{outside:?}");
        // Emptying the ring lets the filled chunks go.
        for _ in 0..200 {
            journal.record(exchange(&journal, "/filler", &[b'f'; 2000]));
        }
        assert!(journal.chunks.kept() > 0);
        journal.clear();
        assert_eq!(journal.chunks.kept(), 0);
    }

    #[test]
    fn an_entry_that_does_not_fit_in_what_is_left_of_a_chunk_starts_the_next_and_the_full_one_is_kept_for_reuse() {
        // Entries of a little less than a tenth of a chunk: the eleventh does not fit in the room the first ten left.
        // Written there anyway, it would make the chunk grow into a new allocation, the old one never used again (not
        // kept).
        let journal = Journal::new(true, 100, None).expect("journal");
        let body = vec![b'b'; CHUNK_BYTES / 10 - 16];
        // Kept alive, as the ring would.
        let entries: Vec<ExchangeBytes> = (0..11).map(|_| journal.keep_bytes(&parts(&body))).collect();
        for (n, pair) in entries[..10].windows(2).enumerate() {
            assert_eq!(pair[1].placed().0.start, pair[0].placed().0.end, "entry {} right after the one before", n + 1);
        }
        let (next, read) = entries[10].placed();
        assert_eq!(read, Some(&body[..]));
        assert_ne!(next.start, entries[9].placed().0.end, "the eleventh entry went past the end of the first chunk");
        assert_eq!(journal.chunks.kept(), 1, "the first chunk is kept, to be used again once its entries are gone");
        assert!(entries.iter().all(|entry| entry.placed().1 == Some(&body[..])), "every entry reads back its body");
    }

    fn parts(body: &[u8]) -> ExchangeParts<'_> {
        static NO_HEADERS: std::sync::LazyLock<hyper::HeaderMap> = std::sync::LazyLock::new(hyper::HeaderMap::new);
        ExchangeParts {
            method: "POST",
            path: "/p",
            query: None,
            authority: None,
            headers: &NO_HEADERS,
            body: Some(body),
            plaintext: None,
            answer: b"{}",
        }
    }

    #[test]
    fn entries_recorded_by_many_threads_at_once_keep_their_own_bytes_while_read() {
        let journal = Journal::new(true, 50, None).expect("journal");
        let body = |thread: usize, n: usize| format!("{thread}:{n}:").repeat(1 + (n * 7 + thread) % 300);
        // Every entry read, while others are written and evicted, has the body its path names.
        let check = |entries: &[JournalEntry]| {
            for entry in entries {
                let (thread, n) = entry.path[1..].split_once('/').expect("path");
                let expected = body(thread.parse().expect("thread"), n.parse().expect("n"));
                assert_eq!(entry.body.as_deref(), Some(expected.as_str()), "entry {}", entry.id);
            }
        };
        std::thread::scope(|scope| {
            for thread in 0..6 {
                let journal = &journal;
                scope.spawn(move || {
                    for n in 0..3_000 {
                        journal.record(exchange(journal, &format!("/{thread}/{n}"), body(thread, n).as_bytes()));
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..300 {
                    check(&journal.query(&JournalQuery::default()));
                }
            });
        });
        let left = journal.query(&JournalQuery::default());
        assert_eq!(left.len(), 50);
        check(&left);
        assert_eq!(journal.stats().recorded, 18_000);
    }

    #[tokio::test]
    async fn a_subscription_receives_what_is_recorded_while_it_lives_and_is_counted_until_dropped() {
        let journal = Journal::new(true, 10, None).expect("journal");
        journal.record(exchange(&journal, "/before", b"x"));
        let mut first = Box::pin(journal.subscribe().into_stream());
        let second = journal.subscribe();
        assert_eq!(journal.subscribers.load(Ordering::Relaxed), 2);
        journal.record(exchange(&journal, "/during", b"y"));
        let received = first.next().await.expect("an entry").expect("not lagged");
        assert_eq!((received.id(), received.render().path.as_str()), (2, "/during"), "from subscribing on");
        // A subscription never turned into a stream, and one dropped as a stream, both stop counting.
        drop(second);
        assert_eq!(journal.subscribers.load(Ordering::Relaxed), 1);
        drop(first);
        assert_eq!(journal.subscribers.load(Ordering::Relaxed), 0);
        // With nobody listening, entries are not handed to the channel.
        let mut late = journal.stream.subscribe();
        journal.record(exchange(&journal, "/after", b"z"));
        assert!(late.try_recv().is_err(), "sent although no subscription was alive");
    }

    #[test]
    fn ids_increase_in_ring_order_however_many_threads_record_at_once() {
        let journal = Arc::new(Journal::new(true, 1_000_000, None).expect("journal"));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let journal = Arc::clone(&journal);
                std::thread::spawn(move || (0..5_000).for_each(|_| journal.record(Record::Entry(Arc::new(entry())))))
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        let all = journal.query(&JournalQuery { limit: Some(usize::MAX), ..JournalQuery::default() });
        let ids: Vec<u64> = all.iter().map(|e| e.id).collect();
        assert_eq!(ids, (1..=40_000).collect::<Vec<u64>>(), "paging by after_id would skip or repeat entries");
    }
}
