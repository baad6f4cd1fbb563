//! The retention setting: records older than `VITRINE_RETENTION_DAYS` are purged at start-up
//! and then every hour.

use std::time::Duration;

use super::api::now_ms;
use super::store::{Store, StoreError};

const DAY_MS: i64 = 86_400_000;
const EVERY: Duration = Duration::from_secs(3600);

/// Deletes what is older than `days` at `now_ms`; returns how many records went.
pub async fn purge(store: &Store, days: u32, now_ms: i64) -> Result<u64, StoreError> {
    store
        .purge_before(now_ms.saturating_sub(i64::from(days) * DAY_MS))
        .await
}

/// Runs [`purge`] now and hourly for as long as the server runs.
pub fn spawn(store: Store, days: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match purge(&store, days, now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: purged {n} records older than {days} days"),
                Err(e) => tracing::warn!("retention purge failed (will retry): {e}"),
            }
        }
    })
}
