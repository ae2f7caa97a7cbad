//! The sentences several formats share: the quota probe's finding and the burst's verdict.

use nppa_protocol::behaviour;

use crate::engine::BurstResult;
use crate::workloads::ProbeFinding;

pub(super) fn probe_sentence(p: &ProbeFinding) -> String {
    match (p.limit_found, p.rate_at_1006, p.highest_rate_without_1006) {
        (Some(limit), rate, _) => format!(
            "{}: the first 1006 came in second {} of the ramp, asked {} req/s; the server accepted {limit} requests in \
             that second: the limit is {limit} req/s.",
            p.interface,
            p.first_1006_second.unwrap_or(0),
            rate.map_or("?".into(), |r| format!("{r:.0}"))
        ),
        (None, _, Some(highest)) => {
            format!("{}: no 1006 up to {highest:.0} req/s; the limit is higher (ramp further).", p.interface)
        }
        _ => format!("{}: no 1006 seen.", p.interface),
    }
}

pub(super) fn burst_verdict(b: &BurstResult) -> String {
    let t = &b.totals;
    if t.lost_3005 == 0 && t.given_up == 0 {
        format!(
            "The burst made it: all {} records accepted in {:.1} s, the oldest {:.1} s old (limit {} s).",
            t.records,
            t.drain_ms as f64 / 1000.0,
            b.ages.max_ms / 1000.0,
            behaviour::WINDOW_S
        )
    } else {
        format!(
            "The burst did not make it: {} of {} records were older than {} s when they reached NPPA (3005){}.",
            t.lost_3005,
            t.records,
            behaviour::WINDOW_S,
            if t.given_up > 0 { format!(", {} more given up", t.given_up) } else { String::new() }
        )
    }
}
