//! Who is who (R-CHK-1): the official presets, fixtures, and a deterministic rule for everyone else;
//! and what pi each person gets (R-PI).

// Looked up on every check by idNum: foldhash, randomly seeded.
use foldhash::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use nppa_protocol::{idnum, pi};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{Config, FixtureConfig, FixtureOutcome};
use crate::error::StartError;

/// A pending share the "hot/cold data" switch refuses: with the failure share, more than everyone.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("fraction must be between 0 and {} (1 − failure_fraction {failure_fraction})", 1.0 - .failure_fraction)]
pub struct PendingFractionError {
    /// The share asked for.
    pub fraction: f64,
    /// `identities.failure_fraction`, which the two shares must not exceed 1 with.
    pub failure_fraction: f64,
}

/// What a check decides for a valid (name, idNum), before the outage rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Status 0 at once.
    Success,
    /// Status 2 at once.
    Failure,
    /// Status 1; resolves after `delay_ms` to success or failure.
    Pending { delay_ms: u64, then_success: bool },
}

#[derive(Debug, Clone)]
struct Known {
    name: String,
    verdict: Verdict,
    /// A fixed pi (the presets carry theirs).
    pi: Option<String>,
}

/// The identity source.
#[derive(Debug)]
pub struct IdentityBook {
    known: HashMap<String, Known>,
    pi_secret: Vec<u8>,
    failure_fraction: f64,
    /// f64 bits: the "hot/cold data" switch changes it at run time.
    pending_fraction: AtomicU64,
    delay_min_ms: u64,
    delay_max_ms: u64,
}

/// `vectors/test-system-presets.json`, the official test system's data (SPEC §8).
pub const PRESETS_JSON: &str = include_str!("../../vectors/test-system-presets.json");

/// The parts of the presets file the mock uses.
#[derive(Debug, Deserialize)]
pub struct Presets {
    pub check_success: Vec<PresetPerson>,
    pub check_pending: Vec<PresetPerson>,
    pub query_success_ai: Vec<String>,
    pub query_pending_ai: Vec<String>,
    pub query_failure_ai: Vec<String>,
    pub loginout_pi: Vec<String>,
}

/// A preset person with the ai the test system expects.
#[derive(Debug, Clone, Deserialize)]
pub struct PresetPerson {
    pub ai: String,
    pub name: String,
    #[serde(rename = "idNum")]
    pub id_num: String,
}

impl Presets {
    /// The embedded presets.
    pub fn embedded() -> Presets {
        // Embedded at build time and checked by a test.
        serde_json::from_str(PRESETS_JSON).unwrap_or_else(|e| panic!("vectors/test-system-presets.json: {e}"))
    }
}

#[derive(Debug, Deserialize)]
struct FixtureRow {
    name: String,
    id_num: String,
    outcome: FixtureOutcome,
    #[serde(default)]
    delay_s: Option<f64>,
    #[serde(default)]
    then: Option<FixtureOutcome>,
}

fn read_fixture_file(path: &Path) -> Result<Vec<FixtureConfig>, StartError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|source| StartError::FixturesFile { path: path.to_owned(), source })?;
    let mut fixtures = Vec::new();
    for (line, row) in reader.deserialize::<FixtureRow>().enumerate() {
        let row = row.map_err(|source| StartError::FixtureRow { path: path.to_owned(), row: line + 1, source })?;
        fixtures.push(FixtureConfig {
            name: row.name,
            id_num: row.id_num,
            outcome: row.outcome,
            delay_s: row.delay_s,
            then: row.then,
        });
    }
    Ok(fixtures)
}

impl IdentityBook {
    /// Builds the book: presets, then fixture file, then inline fixtures (later ones win).
    pub fn from_config(config: &Config) -> Result<IdentityBook, StartError> {
        let ids = &config.identities;
        let delay_min_ms = (ids.pending_delay_min_s * 1000.0) as u64;
        let delay_max_ms = (ids.pending_delay_max_s * 1000.0) as u64;
        let default_pending = Verdict::Pending { delay_ms: delay_min_ms, then_success: true };
        let mut known = HashMap::default();
        let presets = Presets::embedded();
        for (i, person) in presets.check_success.iter().enumerate() {
            let pi = presets.loginout_pi.get(i).cloned();
            known.insert(person.id_num.clone(), Known { name: person.name.clone(), verdict: Verdict::Success, pi });
        }
        for person in &presets.check_pending {
            known
                .insert(person.id_num.clone(), Known { name: person.name.clone(), verdict: default_pending, pi: None });
        }
        let mut fixtures = match &ids.fixtures_file {
            Some(path) => read_fixture_file(path)?,
            None => Vec::new(),
        };
        fixtures.extend(ids.fixtures.iter().cloned());
        for f in fixtures {
            // A fixture nobody can reach (its idNum fails R-ID) is a mistake in the file: say so at start.
            if let Err(source) = idnum::validate(&f.id_num, chrono::NaiveDate::MAX) {
                return Err(StartError::Fixture { name: f.name, id_num: f.id_num, source });
            }
            let verdict = match f.outcome {
                FixtureOutcome::Success => Verdict::Success,
                FixtureOutcome::Failure => Verdict::Failure,
                FixtureOutcome::Pending => Verdict::Pending {
                    delay_ms: f.delay_s.map(|s| (s * 1000.0) as u64).unwrap_or(delay_min_ms),
                    then_success: f.then != Some(FixtureOutcome::Failure),
                },
            };
            known.insert(f.id_num, Known { name: f.name, verdict, pi: None });
        }
        let pi_secret = match &ids.pi_secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        Ok(IdentityBook {
            known,
            pi_secret,
            failure_fraction: ids.failure_fraction,
            pending_fraction: AtomicU64::new(ids.pending_fraction.to_bits()),
            delay_min_ms,
            delay_max_ms,
        })
    }

    /// R-CHK-1: the verdict for a (name, idNum) that passed R-ID and R-NAME.
    pub fn verdict(&self, name: &str, id_num: &str) -> Verdict {
        if let Some(person) = self.known.get(id_num) {
            // A known idNum under another name is a mismatch: the check fails.
            return if person.name == name { person.verdict } else { Verdict::Failure };
        }
        let hash = Sha256::new()
            .chain_update(b"nppa-identity\0")
            .chain_update(name)
            .chain_update(b"\0")
            .chain_update(id_num)
            .finalize();
        let fraction = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&hash[i * 8..i * 8 + 8]);
            (u64::from_be_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
        };
        let (draw, then_draw, delay_draw) = (fraction(0), fraction(1), fraction(2));
        if draw < self.failure_fraction {
            Verdict::Failure
        } else if draw < self.failure_fraction + self.pending_fraction() {
            let span = self.delay_max_ms - self.delay_min_ms;
            Verdict::Pending {
                delay_ms: self.delay_min_ms + (delay_draw * span as f64) as u64,
                then_success: then_draw >= self.failure_fraction,
            }
        } else {
            Verdict::Success
        }
    }

    /// The share of unknown people whose check pends.
    pub fn pending_fraction(&self) -> f64 {
        f64::from_bits(self.pending_fraction.load(Ordering::Relaxed))
    }

    /// Scenario switch "hot/cold data" (SPEC §9): a new pending share for unknown people.
    pub fn set_pending_fraction(&self, fraction: f64) -> Result<(), PendingFractionError> {
        if !(0.0..=1.0).contains(&fraction) || fraction + self.failure_fraction > 1.0 {
            return Err(PendingFractionError { fraction, failure_fraction: self.failure_fraction });
        }
        self.pending_fraction.store(fraction.to_bits(), Ordering::Relaxed);
        Ok(())
    }

    /// R-PI: the pi of a person who passed (a preset's own, or derived from idNum and the server secret).
    pub fn pi(&self, id_num: &str, birth_date: chrono::NaiveDate) -> String {
        if let Some(fixed) = self.known.get(id_num).and_then(|p| p.pi.clone()) {
            return fixed;
        }
        pi::derive(&self.pi_secret, id_num, birth_date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(pending: f64, failure: f64) -> IdentityBook {
        let mut config = Config::embedded_default();
        config.identities.pending_fraction = pending;
        config.identities.failure_fraction = failure;
        IdentityBook::from_config(&config).expect("book")
    }

    #[test]
    fn presets_keep_their_pi_and_everyone_else_succeeds_by_default() {
        let book = book(0.0, 0.0);
        assert_eq!(book.verdict("某一一", "110000190101010001"), Verdict::Success);
        let date = chrono::NaiveDate::from_ymd_opt(1901, 1, 1).expect("date");
        assert_eq!(book.pi("110000190101010001", date), "1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u");
        assert!(matches!(book.verdict("某二一", "110000190201010009"), Verdict::Pending { .. }));
        assert_eq!(book.verdict("某某", "110000190101010001"), Verdict::Failure);
        assert_eq!(book.verdict("张三", "11010519491231002X"), Verdict::Success);
    }

    #[test]
    fn a_fixture_file_is_read_relative_to_the_config() {
        let dir = std::env::temp_dir().join(format!("nppa-fixtures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("people.csv"),
            "# name,id_num,outcome,delay_s,then\nname,id_num,outcome,delay_s,then\n张三,11010519491231002X,pending,600,failure\n李四,110105199001010010,failure,,\n王五,110105199001010011,success,,\n",
        )
        .expect("write csv");
        let text = format!(
            "{}\n",
            crate::config::DEFAULT_TOML.replace("# fixtures_file = \"people.csv\"", "fixtures_file = \"people.csv\"")
        );
        let config = Config::from_toml(&text, "test", Some(&dir)).expect("config");
        let err = IdentityBook::from_config(&config).expect_err("王五's idNum has a wrong check digit");
        assert!(
            matches!(&err, StartError::Fixture { name, id_num, source: idnum::IdNumError::CheckChar }
                if name == "王五" && id_num == "110105199001010011"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "identities fixture 王五 110105199001010011: no check can reach this person");
        let csv = std::fs::read_to_string(dir.join("people.csv")).expect("csv");
        std::fs::write(dir.join("people.csv"), csv.replace("王五,110105199001010011,success,,\n", "")).expect("write");
        let book = IdentityBook::from_config(&config).expect("book");
        assert_eq!(
            book.verdict("张三", "11010519491231002X"),
            Verdict::Pending { delay_ms: 600_000, then_success: false }
        );
        assert_eq!(book.verdict("李四", "110105199001010010"), Verdict::Failure);
        let _ = std::fs::remove_dir_all(&dir);

        let missing = Config::from_toml(&text, "test", Some(Path::new("/nonexistent"))).expect("config parses");
        let err = IdentityBook::from_config(&missing).expect_err("missing file");
        assert!(matches!(&err, StartError::FixturesFile { path, .. } if path.starts_with("/nonexistent")), "{err:?}");
        assert!(err.to_string().starts_with("cannot read identities.fixtures_file /nonexistent"), "{err}");
    }

    #[test]
    fn fractions_split_a_population_deterministically() {
        let book = book(0.3, 0.2);
        let mut counts = [0usize; 3];
        for i in 0..2000 {
            let id =
                nppa_protocol::idnum::complete(&format!("110105199001{:02}{:03}", 1 + i / 1000, i % 1000)).expect("id");
            let name = if i % 2 == 0 { "张三" } else { "李四" };
            let v = book.verdict(name, &id);
            assert_eq!(v, book.verdict(name, &id), "deterministic");
            counts[match v {
                Verdict::Success => 0,
                Verdict::Pending { .. } => 1,
                Verdict::Failure => 2,
            }] += 1;
        }
        let share = |n: usize| n as f64 / 2000.0;
        assert!((share(counts[1]) - 0.3).abs() < 0.05, "{counts:?}");
        assert!((share(counts[2]) - 0.2).abs() < 0.05, "{counts:?}");
    }
}
