//! What the admin API shows of the real-name store (`GET /__admin/records…`, the console's Records view): an ai's
//! live records with their life on the mock clock, and the live records per game. Read through
//! [`RealNameStore::peek`](crate::store::RealNameStore::peek): reading starts no deletion and moves no deadline.

use std::borrow::Cow;

use crate::admin_api::{GameRecords, RecordCounts, RecordEnd, RecordView, RecordsOfAi};
use crate::service::MockService;
use crate::store::RecordPeek;
use nppa_protocol::messages::AuthStatus;

/// `GET /__admin/records/{ai}`.
pub fn of_ai(service: &MockService, ai: &str) -> RecordsOfAi {
    let now_ms = service.clock().now_ms();
    let tenants = service.tenants();
    // One key in the global namespace (the same for every game), one per game in the per-game one.
    let mut keys: Vec<Cow<'_, str>> = tenants.games().iter().map(|game| service.record_key(&game.biz_id, ai)).collect();
    keys.dedup();
    let records = keys
        .iter()
        .filter_map(|key| service.store().peek(key, now_ms))
        .map(|peek| {
            let biz_id = tenants.games().get(peek.game).map(|g| g.biz_id.clone()).unwrap_or_default();
            let app_id = tenants.enterprises().get(peek.owner).map(|e| e.app_id.clone()).unwrap_or_default();
            view(service, peek, now_ms, biz_id, app_id)
        })
        .collect();
    RecordsOfAi { now_ms, ai: ai.to_owned(), records }
}

/// The record's times, read back from its one deadline: before the first final query it is the check's TTL after
/// the check, after it the query's 300 s after that query (`MockService::check`, `RealNameStore::query`).
fn view(service: &MockService, peek: RecordPeek, now_ms: u64, biz_id: String, app_id: String) -> RecordView {
    let rules = &service.config().rules;
    let (checked_ms, first_final_query_ms, deleted_by) = if peek.final_queried {
        let delete_after_ms = rules.query_delete_after_s.saturating_mul(1000);
        (None, Some(peek.deadline_ms.saturating_sub(delete_after_ms)), RecordEnd::FinalQuery)
    } else {
        let ttl_ms = rules.pending_ttl_s.saturating_mul(1000);
        (Some(peek.deadline_ms.saturating_sub(ttl_ms)), None, RecordEnd::PendingTtl)
    };
    RecordView {
        biz_id,
        app_id,
        status: peek.status(now_ms),
        resolves_to: if peek.then_success { AuthStatus::Success } else { AuthStatus::Failure },
        checked_ms,
        resolves_at_ms: peek.resolves_at_ms,
        first_final_query_ms,
        deleted_at_ms: peek.deadline_ms,
        deleted_by,
    }
}

/// `GET /__admin/records`.
pub fn per_game(service: &MockService) -> RecordCounts {
    let tenants = service.tenants();
    let games = tenants
        .games()
        .iter()
        .enumerate()
        .map(|(index, game)| GameRecords {
            biz_id: game.biz_id.clone(),
            name: game.name.clone(),
            live: service.store().live_in_game(index),
        })
        .collect();
    RecordCounts { now_ms: service.clock().now_ms(), cap: service.config().rules.live_record_cap, games }
}
