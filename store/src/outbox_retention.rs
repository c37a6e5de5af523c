//! Pruning the outbox of completion events (spec decision 20): delivered events leave once the
//! session retention has passed since their delivery, failed ones once the failed-delivery
//! retention (`webhooks.failed_retention_seconds`) has passed since they were given up. A host
//! calls [`OutboxRetention::prune_outbox`] in the background, batch by batch, never in a
//! request (the reference server's `maintenance` task).

use std::fmt;

use nox_authenticator::Result;

/// Deletes settled outbox rows in bounded batches.
pub trait OutboxRetention: Send + Sync + fmt::Debug {
    /// Deletes at most `limit` events delivered at least the store's session retention before
    /// `now`, or failed at or before `failed_by` (none when `None`: failed ones are kept);
    /// returns how many.
    fn prune_outbox(&self, now: i64, failed_by: Option<i64>, limit: usize) -> Result<usize>;
}

/// The memory store's: it drops delivered events itself, with its session eviction
/// (`SessionStore::evict_expired`), and keeps failed ones for the life of the process (which
/// keeps nothing across a restart anyway).
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryOutboxRetention;

impl OutboxRetention for MemoryOutboxRetention {
    fn prune_outbox(&self, _: i64, _: Option<i64>, _: usize) -> Result<usize> {
        Ok(0)
    }
}

/// The statements, with SQLite's `?n` parameters (PostgreSQL's use `$n`).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql {
    /// ?1 delivered by, ?2 limit.
    pub const DELIVERED: &str = "DELETE FROM webhook_outbox WHERE id IN \
         (SELECT id FROM webhook_outbox WHERE delivered_at <= ?1 LIMIT ?2)";
    /// ?1 failed by, ?2 limit.
    pub const FAILED: &str = "DELETE FROM webhook_outbox WHERE id IN \
         (SELECT id FROM webhook_outbox WHERE failed_at <= ?1 LIMIT ?2)";
}
