//! Shadow mode's differences: one way the upstream's answer differs from the mock's, and the kinds of difference
//! (in the journal, `/metrics`, and `upstream.shadow_ignore`).

use serde::{Deserialize, Serialize};

/// One way the upstream's answer differs from the mock's (shadow mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub kind: DifferenceKind,
    /// The mock's value and the upstream's, as text (`"1001"`, `"1011"`; `"(none)"` when absent).
    pub mock: String,
    pub upstream: String,
}

/// What differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    HttpStatus,
    /// One answer is an NPPA answer (JSON with an errcode), the other is not.
    Readable,
    Errcode,
    /// check/query's `data.result.status`.
    Status,
    /// Whether a `pi` came, and which: the same person has the same pi everywhere (R-PI), but the mock's are its own.
    Pi,
    /// loginout's rejected records (`no` and errcode).
    Rejected,
    /// The shape of `data` (absent, null, "", an object…).
    DataShape,
}

impl DifferenceKind {
    pub const ALL: [DifferenceKind; 7] = [
        DifferenceKind::HttpStatus,
        DifferenceKind::Readable,
        DifferenceKind::Errcode,
        DifferenceKind::Status,
        DifferenceKind::Pi,
        DifferenceKind::Rejected,
        DifferenceKind::DataShape,
    ];

    /// The name in JSON and in `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::HttpStatus => "http_status",
            DifferenceKind::Readable => "readable",
            DifferenceKind::Errcode => "errcode",
            DifferenceKind::Status => "status",
            DifferenceKind::Pi => "pi",
            DifferenceKind::Rejected => "rejected",
            DifferenceKind::DataShape => "data_shape",
        }
    }
}

impl std::str::FromStr for DifferenceKind {
    type Err = String;

    /// By its name in JSON (`nppa mock --shadow-ignore pi`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DifferenceKind::ALL.into_iter().find(|kind| kind.as_str() == text).ok_or_else(|| {
            let names: Vec<&str> = DifferenceKind::ALL.into_iter().map(DifferenceKind::as_str).collect();
            format!("{text:?} is no kind of difference; the kinds are {}", names.join(", "))
        })
    }
}
