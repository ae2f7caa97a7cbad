//! A logout burst on the mock's controllable clock: the same driver as in real time, but instead of sleeping until
//! each sending slot it sets the mock's clock to the slot's time. Requests are real (HTTP, AES-GCM, signatures,
//! the mock's quota and 180 s rules); only the waiting is skipped. A million players take seconds, not minutes.

use std::sync::Arc;
use std::time::Instant;

use nppa_protocol::messages::LoginoutRequest;
use nppa_protocol::request::Credentials;
use tokio::task::JoinSet;

use crate::burst::{Burst, BurstPlan};
use crate::engine::{process_cpu_seconds, BurstResult, RunResult, StopReason};
use crate::recorder::{Recorder, Sample};
use crate::sender::Sender;
use crate::target::Signer;

/// Sets the mock's clock (in-process: `Clock::set_ms`; remote: `POST /__admin/clock`).
pub type SetClock = Arc<dyn Fn(u64) + Send + Sync>;

/// The mock to simulate against. Its clock must be frozen, so that it moves only when the simulation moves it.
#[derive(Clone)]
pub struct SimTarget {
    pub base_url: String,
    pub games: Vec<Credentials>,
    pub set_clock: SetClock,
}

/// A simulated run stops after this much simulated time, whatever happens.
const MAX_SIMULATED_MS: u64 = 24 * 3_600_000;

/// Drive `plan` to the end on the mock's clock.
pub async fn simulate(plan: BurstPlan, target: &SimTarget, recorder: Arc<Recorder>) -> anyhow::Result<RunResult> {
    anyhow::ensure!(
        plan.games as usize <= target.games.len(),
        "the plan has more games than the target has credentials"
    );
    let wall = Instant::now();
    let cpu_before = process_cpu_seconds();
    let burst = Burst::new(plan.clone());
    let signer = Signer::new();
    let sender = Arc::new(Sender::new(&target.base_url)?);
    let mut k = 0u64;
    let mut stop_reason = StopReason::BurstDrained;
    while !burst.finished() {
        let t = plan.slot_time(k);
        if t.saturating_sub(plan.start_ms) > MAX_SIMULATED_MS {
            stop_reason = StopReason::SimulatedTimeLimit { hours: MAX_SIMULATED_MS / 3_600_000 };
            break;
        }
        (target.set_clock)(t);
        let mut sends = JoinSet::new();
        for game in 0..plan.games {
            let Some(batch) = burst.take(game, t) else { continue };
            let body = LoginoutRequest::new(burst.records(&batch));
            let mut request = signer.loginout(&target.games[game as usize], &body, t);
            let sender = Arc::clone(&sender);
            sends.spawn(async move {
                let sent = sender.send(&mut request).await;
                (batch, sent)
            });
        }
        while let Some(joined) = sends.join_next().await {
            let Ok((batch, sent)) = joined else { continue };
            if let Err(failure) = &sent.http {
                recorder.transport_failure(failure);
            }
            let (answer, service_us) = (sent.answer, sent.service_us);
            let lost = burst.settle(&batch, &answer, t);
            recorder.record(Sample {
                interface: "loginout",
                outcome: answer.outcome,
                service_us,
                corrected_us: service_us,
                second: (t - plan.start_ms) / 1000,
                records: batch.players.len() as u32,
                records_3005: lost,
            });
        }
        recorder.set_gauges((t.saturating_sub(plan.start_ms)) / 1000, burst.gauges(t));
        k += 1;
    }
    let totals = burst.totals();
    Ok(RunResult {
        measured: recorder.summary(),
        wall_seconds: wall.elapsed().as_secs_f64(),
        cpu_seconds: process_cpu_seconds() - cpu_before,
        stop_reason,
        burst: Some(BurstResult { plan, totals, ages: burst.ages(), simulated: true }),
        probe: None,
        realname: None,
        report: None,
    })
}
