//! Background upkeep of the store: expired sessions past their retention are deleted in
//! bounded batches, on the blocking pool, never inside a request.

use std::sync::Arc;
use std::time::Duration;

use crate::AppState;

/// How many sessions one batch deletes.
const BATCH: usize = 1000;
/// How often the sweep runs (in real time).
const EVERY: Duration = Duration::from_secs(5);

/// Runs forever: every few seconds, deletes expired sessions batch by batch, pausing between
/// batches so that a large backlog never monopolises the store.
pub async fn evict_expired_sessions(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        loop {
            let state = Arc::clone(&state);
            let batch = tokio::task::spawn_blocking(move || {
                state
                    .authenticator
                    .evict_expired_batch(state.clock.now(), BATCH)
            })
            .await;
            match batch {
                Ok(Ok(evicted)) if evicted == BATCH => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Ok(Ok(_)) => break,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "evicting expired sessions failed");
                    break;
                }
                Err(_) => break,
            }
        }
    }
}
