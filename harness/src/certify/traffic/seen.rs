//! What a client got from one request, as a careful library reads it: NPPA's answer only over HTTP 200, whole, in
//! time. The judge's survival, re-send and outcome rules all ask this one question.

use nppa_mockserver::faults::FaultEffect;
use nppa_mockserver::journal::JournalEntry;
use nppa_protocol::answer::{self, ParsedAnswer};
use nppa_protocol::interface::CLIENT_TIMEOUT_MS;

/// What one request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A protocol answer over HTTP 200, within the client timeout.
    Answer(ParsedAnswer),
    /// No answer a library may take as NPPA's: another HTTP status, a reset, a body that is not an answer, or an
    /// answer later than the 5 s client timeout.
    Failure(String),
}

impl Seen {
    /// What the client of this journal entry got.
    pub fn of(entry: &JournalEntry) -> Seen {
        Seen::with(entry, answer::parse(entry.answer.as_bytes()).as_ref())
    }

    /// [`Seen::of`], given the entry's answer already read (`answer::parse` of its body).
    pub fn with(entry: &JournalEntry, parsed: Option<&ParsedAnswer>) -> Seen {
        if entry.connection_reset {
            return Seen::Failure("the connection reset without an answer".into());
        }
        if let Some(FaultEffect::Vary(changes)) = entry.fault.and_then(|note| note.effect) {
            if changes.leave_no_answer() {
                return Seen::Failure("an answer cut off mid-body".into());
            }
        }
        if entry.http_status != 200 {
            return Seen::Failure(format!("HTTP {}", entry.http_status));
        }
        if past_client_timeout(entry) {
            return Seen::Failure(format!(
                "an answer after {} ms, past the 5 s client timeout",
                entry.latency_us / 1000
            ));
        }
        match parsed {
            Some(answer) => Seen::Answer(answer.clone()),
            None => Seen::Failure("a body that is not an NPPA answer".into()),
        }
    }

    /// A protocol answer over HTTP 200 that came after the 5 s client timeout: what a library with a longer timeout
    /// read.
    pub fn late_answer(entry: &JournalEntry) -> Option<ParsedAnswer> {
        let late = !entry.connection_reset && entry.http_status == 200 && past_client_timeout(entry);
        late.then(|| answer::parse(entry.answer.as_bytes())).flatten()
    }

    /// The answer, when there was one a client could read.
    pub fn answer(&self) -> Option<&ParsedAnswer> {
        match self {
            Seen::Answer(answer) => Some(answer),
            Seen::Failure(_) => None,
        }
    }

    /// Errcode 0, read in time.
    pub fn is_success(&self) -> bool {
        self.answer().is_some_and(ParsedAnswer::is_ok)
    }

    /// In a few words: `errcode 0, status 1`, `HTTP 503`.
    pub fn describe(&self) -> String {
        match self {
            Seen::Answer(a) => {
                let mut text = format!("errcode {}", a.errcode);
                if let Some(status) = a.status {
                    text += &format!(", status {}", u8::from(status));
                }
                text
            }
            Seen::Failure(why) => why.clone(),
        }
    }
}

/// Answered later than the spec's 5 s client timeout.
fn past_client_timeout(entry: &JournalEntry) -> bool {
    entry.latency_us > CLIENT_TIMEOUT_MS * 1000
}
