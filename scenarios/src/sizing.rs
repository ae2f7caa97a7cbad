//! The sizing model of a logout burst (`nppa size`): closed formulas a performance engineer can check by hand.
//!
//! One game (bizId) has its own loginout quota (R-RL-1). A client that paces itself to that quota sends `q`
//! requests a second of at most `batch` records (R-BEH-1), first in, first out. Every record must reach NPPA less
//! than 180 s after its `ot` (R-BEH-TIME), or it is rejected with 3005. Players are spread evenly over the games
//! and their logouts evenly over the window `W`.

use nppa_protocol::behaviour;
use serde::Serialize;

/// R-BEH-TIME: a record older than this is refused with 3005.
pub const BEHAVIOUR_WINDOW_S: f64 = behaviour::WINDOW_S as f64;
/// R-BEH-1: records per loginout request.
pub const MAX_BATCH: u32 = behaviour::MAX_RECORDS as u32;

/// Sizing inputs that cannot be used, with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SizingInputError {
    #[error("players must be at least 1")]
    NoPlayers,
    #[error("games, quota and concurrency must be at least 1")]
    ZeroCapacity,
    #[error("batch must be 1–{MAX_BATCH} records (R-BEH-1), not {0}")]
    Batch(u32),
    #[error("window must be ≥ 0 s and rtt > 0 ms")]
    Times,
}

/// What the engineer knows about the burst and the client.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SizingInput {
    pub players: u64,
    /// Seconds over which the players log out (0 = all at once).
    pub window_s: f64,
    /// Loginout requests per second allowed per game (50 on V2.1, 10 on V1, or a raised quota).
    pub quota_qps: u32,
    pub games: u32,
    /// Records per request, at most 128.
    pub batch: u32,
    /// Requests a game's reporter keeps in flight at once.
    pub concurrency: u32,
    /// Round-trip time of one request, in milliseconds.
    pub rtt_ms: f64,
}

/// One line of the model: a name, its formula, the formula with the numbers put in, and the value.
#[derive(Debug, Clone, Serialize)]
pub struct Formula {
    pub name: &'static str,
    pub formula: &'static str,
    pub substituted: String,
    pub value: f64,
    pub unit: &'static str,
}

/// What the model predicts.
#[derive(Debug, Clone, Serialize)]
pub struct SizingResult {
    pub input: SizingInput,
    /// Requests per second one game's reporter can send: the quota, or less when concurrency / RTT limit it.
    pub requests_per_s_per_game: f64,
    /// Records per second one game can push (μ).
    pub capacity_records_per_s_per_game: f64,
    /// Records per second arriving per game (λ); infinite when W = 0.
    pub arrival_records_per_s_per_game: f64,
    /// Requests one game needs when batches are full.
    pub requests_per_game: u64,
    pub drain_time_s: f64,
    pub peak_requests_per_s: f64,
    pub records_per_s: f64,
    pub oldest_age_s: f64,
    pub predicted_losses: u64,
    pub loss_fraction: f64,
    /// Quota per game that would keep every record inside 180 s at this batch size and game count.
    pub required_qps_per_game: u32,
    /// Games (bizIds) that would keep every record inside 180 s at this quota and batch.
    pub required_games: u32,
    /// Requests in flight per game needed to reach the quota at this RTT.
    pub required_concurrency: u32,
    pub formulas: Vec<Formula>,
}

impl SizingInput {
    /// A quick check of the inputs, with the reason for the first one that cannot be used.
    pub fn validate(&self) -> Result<(), SizingInputError> {
        if self.players == 0 {
            return Err(SizingInputError::NoPlayers);
        }
        if self.games == 0 || self.quota_qps == 0 || self.concurrency == 0 {
            return Err(SizingInputError::ZeroCapacity);
        }
        if self.batch == 0 || self.batch > MAX_BATCH {
            return Err(SizingInputError::Batch(self.batch));
        }
        if !(self.window_s >= 0.0 && self.window_s.is_finite() && self.rtt_ms > 0.0 && self.rtt_ms.is_finite()) {
            return Err(SizingInputError::Times);
        }
        Ok(())
    }

    pub fn players_per_game(&self) -> f64 {
        self.players as f64 / f64::from(self.games)
    }

    /// Requests per second per game: `min(quota, concurrency × 1000 / rtt)`.
    pub fn effective_qps(&self) -> f64 {
        f64::from(self.quota_qps).min(f64::from(self.concurrency) * 1000.0 / self.rtt_ms)
    }
}

/// A model read back (from a load report's `model`) is the model of its stored `input`, evaluated again: the model is
/// a pure function of its input, the formulas' texts are `&'static str`, and an infinite λ (W = 0) was stored as
/// `null`. The other stored fields are not read.
impl<'de> serde::Deserialize<'de> for SizingResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<SizingResult, D::Error> {
        #[derive(serde::Deserialize)]
        struct Stored {
            input: SizingInput,
        }
        let stored = <Stored as serde::Deserialize>::deserialize(deserializer)?;
        Ok(model(&stored.input))
    }
}

/// Evaluate the model.
pub fn model(input: &SizingInput) -> SizingResult {
    let n_g = input.players_per_game();
    let q = input.effective_qps();
    let batch = f64::from(input.batch);
    let mu = q * batch;
    let w = input.window_s;
    let lambda = if w > 0.0 { n_g / w } else { f64::INFINITY };
    let requests = (n_g / batch).ceil();
    // Full batches when the backlog builds (λ > μ); otherwise the last record waits at most one slot.
    let drain = (requests / q).max(w + 1.0 / q);
    let oldest = if lambda > mu { drain - w } else { 1.0 / q };
    let a = BEHAVIOUR_WINDOW_S;
    // FIFO: a record arriving at t leaves at t·λ/μ, so its age is t·(λ/μ − 1); it is lost once that reaches 180 s.
    // Lost records are still sent (the server answers 3005), so they use quota like the others.
    let kept = if lambda.is_infinite() {
        a * mu
    } else if lambda > mu {
        a * mu * lambda / (lambda - mu)
    } else {
        f64::INFINITY
    };
    let lost_per_game = (n_g - kept).max(0.0);
    let games = f64::from(input.games);
    let lost = (lost_per_game * games).round() as u64;
    // Keeping every record: the backlog must drain within W + 180 s.
    let needed_records_per_s = n_g / (w + a);
    let required_qps = (needed_records_per_s / batch).ceil().max(1.0) as u32;
    let required_games = (input.players as f64 / ((w + a) * q * batch)).ceil().max(1.0) as u32;
    let required_concurrency = (f64::from(input.quota_qps) * input.rtt_ms / 1000.0).ceil().max(1.0) as u32;
    let peak_requests = games * q.min(lambda);
    let records_per_s = games * mu.min(lambda);

    let formulas = vec![
        Formula {
            name: "q",
            formula: "min(quota, concurrency × 1000 / rtt_ms)",
            substituted: format!("min({}, {} × 1000 / {})", input.quota_qps, input.concurrency, trim(input.rtt_ms)),
            value: q,
            unit: "requests/s per game",
        },
        Formula {
            name: "μ",
            formula: "q × batch",
            substituted: format!("{} × {}", trim(q), input.batch),
            value: mu,
            unit: "records/s per game",
        },
        Formula {
            name: "N_g",
            formula: "players / games",
            substituted: format!("{} / {}", input.players, input.games),
            value: n_g,
            unit: "players per game",
        },
        Formula {
            name: "λ",
            formula: "N_g / W",
            substituted: format!("{} / {}", trim(n_g), trim(w)),
            value: lambda,
            unit: "records/s per game",
        },
        Formula {
            name: "R",
            formula: "ceil(N_g / batch)",
            substituted: format!("ceil({} / {})", trim(n_g), input.batch),
            value: requests,
            unit: "requests per game (full batches)",
        },
        Formula {
            name: "T",
            formula: "max(R / q, W + 1 / q)",
            substituted: format!("max({} / {}, {} + 1 / {})", trim(requests), trim(q), trim(w), trim(q)),
            value: drain,
            unit: "s to drain",
        },
        Formula {
            name: "age_max",
            formula: "T − W if λ > μ, else 1 / q",
            substituted: if lambda > mu {
                format!("{} − {}", trim(drain), trim(w))
            } else {
                format!("1 / {}", trim(q))
            },
            value: oldest,
            unit: "s, oldest record when sent (limit 180 s)",
        },
        Formula {
            name: "lost",
            formula: "games × max(0, N_g − 180 × μ × λ / (λ − μ))   (λ = ∞: N_g − 180 × μ)",
            // The records kept: finite only when the backlog builds (λ > μ); otherwise every one is.
            substituted: match kept.is_finite() {
                true => format!("{} × max(0, {} − {})", input.games, trim(n_g), trim(kept)),
                false => format!("{} × 0   (λ ≤ μ: no backlog, every record is sent within its slot)", input.games),
            },
            value: lost as f64,
            unit: "records answered 3005",
        },
        Formula {
            name: "quota_ok",
            formula: "ceil(N_g / ((W + 180) × batch))",
            substituted: format!("ceil({} / (({} + {}) × {}))", trim(n_g), trim(w), behaviour::WINDOW_S, input.batch),
            value: f64::from(required_qps),
            unit: "requests/s per game keep every record",
        },
        Formula {
            name: "games_ok",
            formula: "ceil(players / ((W + 180) × q × batch))",
            substituted: format!(
                "ceil({} / (({} + {}) × {} × {}))",
                input.players,
                trim(w),
                behaviour::WINDOW_S,
                trim(q),
                input.batch
            ),
            value: f64::from(required_games),
            unit: "games (bizIds) at this quota keep every record",
        },
    ];
    SizingResult {
        input: input.clone(),
        requests_per_s_per_game: q,
        capacity_records_per_s_per_game: mu,
        arrival_records_per_s_per_game: lambda,
        requests_per_game: requests as u64,
        drain_time_s: drain,
        peak_requests_per_s: peak_requests,
        records_per_s,
        oldest_age_s: oldest,
        predicted_losses: lost,
        loss_fraction: lost as f64 / input.players as f64,
        required_qps_per_game: required_qps,
        required_games,
        required_concurrency,
        formulas,
    }
}

/// A number without trailing zeros, for formulas.
fn trim(value: f64) -> String {
    if value.is_infinite() {
        return "∞".into();
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The model as text, formulas included.
pub fn render(result: &SizingResult) -> String {
    let input = &result.input;
    let mut out = String::new();
    out += &format!(
        "Burst: {} players over {} s, {} game(s), quota {} req/s per game, batch {}, concurrency {}, rtt {} ms\n\n",
        input.players,
        trim(input.window_s),
        input.games,
        input.quota_qps,
        input.batch,
        input.concurrency,
        trim(input.rtt_ms)
    );
    for f in &result.formulas {
        out += &format!(
            "  {:<12} = {}\n  {:<12} = {} = {} {}\n",
            f.name,
            f.formula,
            "",
            f.substituted,
            trim(f.value),
            f.unit
        );
    }
    out += "\n";
    out += &format!(
        "  drain time            {:>12.1} s ({} whole seconds of quota)\n",
        result.drain_time_s,
        result.drain_time_s.ceil()
    );
    out += &format!("  peak request rate     {:>12.1} requests/s (all games)\n", result.peak_requests_per_s);
    out += &format!("  records/s             {:>12.0} (all games)\n", result.records_per_s);
    let margin = BEHAVIOUR_WINDOW_S - result.oldest_age_s;
    out += &format!(
        "  oldest record's age   {:>12.1} s (limit {} s: {})\n",
        result.oldest_age_s,
        BEHAVIOUR_WINDOW_S,
        if margin >= 0.0 { format!("{margin:.1} s to spare") } else { format!("{:.1} s too late", -margin) }
    );
    out += &format!(
        "  predicted 3005 losses {:>12} records ({:.1} %)\n",
        result.predicted_losses,
        result.loss_fraction * 100.0
    );
    out += "\n";
    if result.predicted_losses == 0 {
        out += "Verdict: every record reaches NPPA inside the 180 s window.\n";
    } else {
        out += &format!(
            "Verdict: {} records would be refused with 3005. To keep them all: a quota of {} req/s per game \
             (ask NPPA for a raise, FAQ 109), or spread the players over {} games (bizIds), each with its own quota.\n",
            result.predicted_losses, result.required_qps_per_game, result.required_games
        );
    }
    if result.requests_per_s_per_game < f64::from(input.quota_qps) {
        out += &format!(
            "Note: concurrency {} at {} ms round trip reaches only {:.1} req/s; {} in flight would reach the quota.\n",
            input.concurrency,
            trim(input.rtt_ms),
            result.requests_per_s_per_game,
            result.required_concurrency
        );
    }
    if input.batch < MAX_BATCH {
        out += &format!("Note: batches of {} records; the protocol allows {MAX_BATCH}.\n", input.batch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(players: u64, window_s: f64, quota_qps: u32) -> SizingInput {
        SizingInput { players, window_s, quota_qps, games: 1, batch: MAX_BATCH, concurrency: 64, rtt_ms: 20.0 }
    }

    #[test]
    fn a_million_logouts_take_157_s_on_v2_1() {
        // The arithmetic: 1 000 000 / (50 × 128) = 156.25 s, i.e. the 157th second of quota.
        let result = model(&burst(1_000_000, 0.0, 50));
        assert_eq!(result.requests_per_game, 7813);
        assert_eq!(result.drain_time_s.ceil(), 157.0);
        assert!(result.oldest_age_s < BEHAVIOUR_WINDOW_S);
        assert_eq!(result.predicted_losses, 0);
    }

    #[test]
    fn a_million_logouts_take_782_s_on_v1_and_most_are_lost() {
        let result = model(&burst(1_000_000, 0.0, 10));
        assert_eq!(result.drain_time_s.ceil(), 782.0);
        // Only 180 s × 1 280 records/s get through in time.
        assert_eq!(result.predicted_losses, 1_000_000 - 180 * 1280);
        assert!(result.loss_fraction > 0.5);
        // The remedies: 44 req/s on one game, or 5 games at 10 req/s.
        assert_eq!(result.required_qps_per_game, 44);
        assert_eq!(result.required_games, 5);
    }

    #[test]
    fn a_slow_burst_under_capacity_drains_with_the_window() {
        // 100 000 over 60 s is 1 667 records/s, under 6 400: no backlog, drain ≈ W.
        let result = model(&burst(100_000, 60.0, 50));
        assert!((result.drain_time_s - 60.02).abs() < 0.01, "{}", result.drain_time_s);
        assert_eq!(result.predicted_losses, 0);
        assert!(result.oldest_age_s <= 0.02 + 1e-9);
        assert!((result.records_per_s - 100_000.0 / 60.0).abs() < 1e-6);
    }

    #[test]
    fn a_window_longer_than_capacity_loses_the_tail() {
        // λ = 20 000/s, μ = 6 400/s over 100 s: age(t) = t × (λ/μ − 1) reaches 180 s at t = 84.7 s.
        let result = model(&burst(2_000_000, 100.0, 50));
        let t_star: f64 = 180.0 * 6400.0 / (20_000.0 - 6400.0);
        let expected = (20_000.0 * (100.0 - t_star)).round() as u64;
        assert!(result.predicted_losses.abs_diff(expected) <= 1, "{} vs {expected}", result.predicted_losses);
        assert!((result.oldest_age_s - (2_000_000.0 / 6400.0 - 100.0)).abs() < 0.1);
    }

    #[test]
    fn games_split_the_load_and_concurrency_can_be_the_limit() {
        let split = model(&SizingInput { games: 5, ..burst(1_000_000, 0.0, 10) });
        assert_eq!(split.predicted_losses, 0);
        assert!((split.peak_requests_per_s - 50.0).abs() < 1e-9);
        // 2 in flight at 100 ms is 20 req/s, under the 50 allowed.
        let slow = model(&SizingInput { concurrency: 2, rtt_ms: 100.0, ..burst(1_000_000, 0.0, 50) });
        assert!((slow.requests_per_s_per_game - 20.0).abs() < 1e-9);
        assert_eq!(slow.required_concurrency, 5);
        assert!(slow.predicted_losses > 0);
        assert!(render(&slow).contains("5 in flight"));
    }

    #[test]
    fn inputs_are_checked() {
        assert!(SizingInput { batch: 129, ..burst(1, 0.0, 50) }.validate().is_err());
        assert!(SizingInput { players: 0, ..burst(1, 0.0, 50) }.validate().is_err());
        assert!(burst(1, 0.0, 50).validate().is_ok());
    }

    #[test]
    fn the_rendering_shows_formulas_and_a_verdict() {
        let text = render(&model(&burst(1_000_000, 0.0, 10)));
        assert!(text.contains("ceil(N_g / batch)"));
        assert!(text.contains("would be refused with 3005"));
        assert!(text.contains("782") || text.contains("781.3"));
    }

    #[test]
    fn a_stored_model_reads_back_as_the_same_model() {
        // W = 0: λ is infinite, which JSON stores as null.
        for input in [burst(1_000_000, 0.0, 10), burst(100_000, 60.0, 50)] {
            let json = serde_json::to_string(&model(&input)).unwrap();
            let read: SizingResult = serde_json::from_str(&json).unwrap();
            assert_eq!(read.input, input);
            assert_eq!(serde_json::to_string(&read).unwrap(), json);
        }
    }
}
