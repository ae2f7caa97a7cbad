//! Memory follows the clock even without requests: expired records are freed once a second.

use std::sync::Arc;
use std::time::Duration;

use crate::service::MockService;

/// Frees expired records once a second, until aborted.
pub(super) async fn every_second(service: Arc<MockService>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        service.store().sweep(service.clock().now_ms());
    }
}
