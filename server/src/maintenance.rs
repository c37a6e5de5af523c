//! Background upkeep of the store, in bounded batches, on the blocking pool, never inside a
//! request: expired sessions past their retention are deleted; so are the outbox's delivered
//! events once the session retention has passed since delivery, and its failed ones once
//! `webhooks.failed_retention_seconds` has passed since they were given up; and the hosted
//! flow's OAuth 2.0 sign-ins that expired without a callback.

use std::sync::Arc;
use std::time::Duration;

use crate::AppState;

/// How many rows one batch deletes.
const BATCH: usize = 1000;
/// How often the sweep runs (in real time).
const EVERY: Duration = Duration::from_secs(5);

/// Runs forever: every few seconds, each kind of expired row is deleted batch by batch.
pub async fn evict_expired_sessions(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let failed_retention = state.authenticator.webhooks().failed_retention_seconds;
    loop {
        ticker.tick().await;
        in_batches(&state, "evicting expired sessions", |state, now| {
            state.authenticator.evict_expired_batch(now, BATCH)
        })
        .await;
        in_batches(&state, "pruning the webhook outbox", move |state, now| {
            state.outbox_retention.prune_outbox(
                now,
                failed_retention.map(|keep| now.saturating_sub(keep)),
                BATCH,
            )
        })
        .await;
        in_batches(&state, "pruning expired oauth2 sign-ins", |state, now| {
            state.oauth_states.prune(now, BATCH)
        })
        .await;
    }
}

/// Runs `batch` on the blocking pool until it deletes less than [`BATCH`], pausing between
/// batches so that a large backlog never monopolises the store.
async fn in_batches(
    state: &Arc<AppState>,
    what: &'static str,
    batch: impl Fn(&AppState, i64) -> nox_authenticator::Result<usize> + Send + Sync + Copy + 'static,
) {
    loop {
        let state = Arc::clone(state);
        let deleted = tokio::task::spawn_blocking(move || batch(&state, state.clock.now())).await;
        match deleted {
            Ok(Ok(deleted)) if deleted >= BATCH => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(Ok(_)) => break,
            Ok(Err(error)) => {
                tracing::warn!(%error, "{what} failed");
                break;
            }
            Err(_) => break,
        }
    }
}
