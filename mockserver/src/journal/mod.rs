//! The request journal: every request with its bytes, decrypted plaintext, sign check and answer.
//! Entries are kept as they arrived ([`Kept`]) and rendered to JSON's [`JournalEntry`] only when read.
//! A bounded in-memory ring (the oldest entries make room, counted), an optional JSONL file written by its own
//! thread (entries it cannot keep up with are counted, never silently lost), and a live stream.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use nppa_protocol::Interface;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

mod entry;
mod kept;

pub use crate::difference::{Difference, DifferenceKind};
pub use entry::{JournalEntry, UpstreamExchange};
pub use kept::{Exchange, ExchangeBytes, ExchangeParts, Kept, Record};

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
    ring: Mutex<VecDeque<Arc<Kept>>>,
    next_id: AtomicU64,
    evicted: AtomicU64,
    file_dropped: Arc<AtomicU64>,
    stream_lagged: AtomicU64,
    stream: broadcast::Sender<Arc<Kept>>,
    file: Option<SyncSender<Arc<Kept>>>,
    /// Byte buffers of evicted entries nothing else held, for the next entries' bytes: once the ring is full, a
    /// request's entry costs no allocation (its `Arc` is the evicted one's, its buffer one of these).
    spare: Mutex<Vec<Vec<u8>>>,
}

/// How many entries may wait for the JSONL writer before new ones are counted as dropped.
const FILE_QUEUE: usize = 65_536;
/// How many entries a stream subscriber may fall behind before it misses some.
const STREAM_QUEUE: usize = 16_384;
/// Spare buffers kept at most (one per request recorded at the same moment is enough).
const SPARES: usize = 8;
/// A buffer larger than this (a large body's) is freed rather than passed on, so that it does not stay in the ring.
const SPARE_MAX_BYTES: usize = 4096;

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
            file,
            spare: Mutex::new(Vec::new()),
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
        let mut evicted = None;
        if ring.len() >= self.capacity {
            evicted = ring.pop_front();
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        let (entry, replaced) = in_place_of(evicted, kept);
        if let Some(file) = &self.file {
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = file.try_send(Arc::clone(&entry)) {
                self.file_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if self.stream.receiver_count() > 0 {
            let _ = self.stream.send(Arc::clone(&entry));
        }
        ring.push_back(entry);
        drop(ring);
        if let Some(buffer) = replaced.and_then(Kept::into_buffer).filter(|b| b.capacity() <= SPARE_MAX_BYTES) {
            let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
            if spare.len() < SPARES {
                spare.push(buffer);
            }
        }
    }

    /// An empty buffer for a new entry's bytes ([`ExchangeBytes::new_in`]): an evicted entry's when there is one.
    pub fn spare_buffer(&self) -> Vec<u8> {
        self.spare.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default()
    }

    /// Entries matching the filters, oldest first.
    pub fn query(&self, filter: &JournalQuery) -> Vec<JournalEntry> {
        let limit = filter.limit.unwrap_or(1000);
        // Rendered outside the lock: requests being recorded do not wait for a reader.
        let found: Vec<Arc<Kept>> = {
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

    /// Empties the ring (ids keep increasing).
    pub fn clear(&self) {
        self.ring.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// A live feed of new entries.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Kept>> {
        self.stream.subscribe()
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

/// `kept` in the evicted entry's allocation, unless a reader, the file or the stream still holds it (then in a new
/// one), and what the evicted entry held.
fn in_place_of(evicted: Option<Arc<Kept>>, kept: Kept) -> (Arc<Kept>, Option<Kept>) {
    if let Some(mut evicted) = evicted {
        if let Some(slot) = Arc::get_mut(&mut evicted) {
            let replaced = std::mem::replace(slot, kept);
            return (evicted, Some(replaced));
        }
    }
    (Arc::new(kept), None)
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
            method: "POST".into(),
            scheme: "http",
            interface: None,
            sign_ok: None,
            http_status: 200,
            errcode: None,
            connection_reset: false,
            fault: None,
            refusal: None,
            body_timeout_s: None,
            upstream: None,
            bytes: ExchangeBytes::new_in(journal.spare_buffer(), &parts),
        })
    }

    #[test]
    fn a_full_ring_passes_evicted_buffers_on_and_every_entry_reads_back_its_own_bytes() {
        let journal = Journal::new(true, 3, None).expect("journal");
        for n in 0..10 {
            // Shorter and shorter bodies: a buffer used again must not show an earlier entry's bytes.
            let body = "x".repeat(20 - n);
            journal.record(exchange(&journal, &format!("/{n}"), body.as_bytes()));
        }
        let kept = journal.query(&JournalQuery::default());
        let read: Vec<(u64, String, Option<String>)> =
            kept.iter().map(|e| (e.id, e.path.clone(), e.body.clone())).collect();
        let expected: Vec<(u64, String, Option<String>)> =
            (7..10).map(|n| (n + 1, format!("/{n}"), Some("x".repeat(20 - n as usize)))).collect();
        assert_eq!(read, expected);
        assert_eq!(journal.stats().evicted, 7);
        // An evicted entry's buffer waits for the next one: empty, its allocation kept.
        let spare = journal.spare_buffer();
        assert!(spare.is_empty() && spare.capacity() > 0, "{spare:?}");
    }

    #[test]
    fn ids_increase_in_ring_order_however_many_threads_record_at_once() {
        let journal = Arc::new(Journal::new(true, 1_000_000, None).expect("journal"));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let journal = Arc::clone(&journal);
                std::thread::spawn(move || (0..5_000).for_each(|_| journal.record(Record::Entry(Box::new(entry())))))
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
