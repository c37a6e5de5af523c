//! The pending counts (migration 0002) as a write transaction sees them: read from the table
//! once per transaction and key, changed in memory, and written back once, just before the
//! transaction commits.
//!
//! Every insert reads its caller's count and the total and adds one to each, and every
//! completion takes one off: done in the table, that is a read and a two-row upsert per
//! write, on the same two rows for every write of a batch. The transaction holds the file's
//! write lock from its `BEGIN IMMEDIATE` to its `COMMIT`, so no other connection, in this
//! process or another, changes a count meanwhile: the value read once stays right for the
//! whole transaction, and the changes are written in one upsert per key when it commits.
//! A savepoint's changes are undone with it ([`Counts::mark`], [`Counts::undo_to`]); a
//! rolled-back transaction leaves none ([`Counts::clear`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Deref;

use nox_authenticator::Result;
use rusqlite::{Connection, params};

use super::fail;

/// A counter's key: `(caller_kind, owner_id)` (the total is `("total", "")`).
type Key = (String, String);

/// One counter in the open transaction.
#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    /// Its value in the table, once read in this transaction.
    stored: Option<i64>,
    /// What the transaction has added to it so far.
    delta: i64,
}

/// The counters the open transaction has read or changed.
#[derive(Debug, Default)]
pub(super) struct Counts {
    counters: HashMap<Key, Counter>,
    /// Every change in order, so that a savepoint's can be undone.
    changes: Vec<(Key, i64)>,
}

impl Counts {
    /// The counter of `(caller_kind, owner_id)` as the transaction sees it: the stored value
    /// (the sum of its shards; SQLite writes shard 0 only) and the changes so far.
    fn get(&mut self, connection: &Connection, caller_kind: &str, owner_id: &str) -> Result<i64> {
        let key = (caller_kind.to_owned(), owner_id.to_owned());
        let counter = self.counters.entry(key).or_default();
        let stored = match counter.stored {
            Some(stored) => stored,
            None => {
                let stored: i64 = connection
                    .prepare_cached(
                        "SELECT coalesce(sum(count), 0) FROM pending_counts \
                         WHERE caller_kind = ?1 AND owner_id = ?2",
                    )
                    .and_then(|mut s| s.query_row(params![caller_kind, owner_id], |r| r.get(0)))
                    .map_err(fail)?;
                counter.stored = Some(stored);
                stored
            }
        };
        Ok(stored.saturating_add(counter.delta))
    }

    /// Adds `delta` to the counter of `(caller_kind, owner_id)`.
    fn add(&mut self, caller_kind: &str, owner_id: &str, delta: i64) {
        let key = (caller_kind.to_owned(), owner_id.to_owned());
        let counter = self.counters.entry(key.clone()).or_default();
        counter.delta = counter.delta.saturating_add(delta);
        self.changes.push((key, delta));
    }

    /// Where a savepoint starts: [`Counts::undo_to`] takes back the changes made after it.
    pub(super) fn mark(&self) -> usize {
        self.changes.len()
    }

    /// Takes back the changes made since `mark` (the savepoint's rollback).
    pub(super) fn undo_to(&mut self, mark: usize) {
        for (key, delta) in self.changes.drain(mark..) {
            if let Some(counter) = self.counters.get_mut(&key) {
                counter.delta = counter.delta.saturating_sub(delta);
            }
        }
    }

    /// Forgets the transaction (after its commit or its rollback).
    pub(super) fn clear(&mut self) {
        self.counters.clear();
        self.changes.clear();
    }

    /// Writes the transaction's changes into the table, one upsert per changed counter;
    /// runs just before the commit.
    pub(super) fn write(&mut self, connection: &Connection) -> Result<()> {
        let mut upsert = None;
        for ((caller_kind, owner_id), counter) in &self.counters {
            if counter.delta == 0 {
                continue;
            }
            if upsert.is_none() {
                upsert = Some(
                    connection
                        .prepare_cached(
                            "INSERT INTO pending_counts (caller_kind, owner_id, shard, count) \
                             VALUES (?1, ?2, 0, ?3) ON CONFLICT (caller_kind, owner_id, shard) \
                             DO UPDATE SET count = count + excluded.count",
                        )
                        .map_err(fail)?,
                );
            }
            if let Some(statement) = upsert.as_mut() {
                statement
                    .execute(params![caller_kind, owner_id, counter.delta])
                    .map_err(fail)?;
            }
        }
        drop(upsert);
        self.clear();
        Ok(())
    }
}

/// The write connection, with the pending counts of its open transaction. It dereferences to
/// the connection, so a write runs its statements on it as on any connection, and changes
/// the counts through [`WriteConnection::add_count`].
pub(crate) struct WriteConnection {
    connection: Connection,
    counts: RefCell<Counts>,
}

impl WriteConnection {
    pub(super) fn new(connection: Connection) -> WriteConnection {
        WriteConnection {
            connection,
            counts: RefCell::new(Counts::default()),
        }
    }

    /// The counter of `(caller_kind, owner_id)` in the open transaction.
    pub(super) fn count(&self, caller_kind: &str, owner_id: &str) -> Result<i64> {
        self.counts
            .borrow_mut()
            .get(&self.connection, caller_kind, owner_id)
    }

    /// Adds `delta` to the counter of `(caller_kind, owner_id)` in the open transaction
    /// (written to the table when it commits).
    pub(super) fn add_count(&self, caller_kind: &str, owner_id: &str, delta: i64) {
        self.counts.borrow_mut().add(caller_kind, owner_id, delta);
    }

    /// The open transaction's counts (for the writer's savepoints and commits).
    pub(super) fn counts(&self) -> std::cell::RefMut<'_, Counts> {
        self.counts.borrow_mut()
    }
}

impl Deref for WriteConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.connection
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OptionalExtension;

    fn table() -> WriteConnection {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
            .unwrap();
        connection
            .execute_batch(include_str!(
                "../../migrations/sqlite/0002_pending_counts.sql"
            ))
            .unwrap();
        WriteConnection::new(connection)
    }

    fn stored(connection: &Connection, caller_kind: &str, owner_id: &str) -> Option<i64> {
        connection
            .query_row(
                "SELECT count FROM pending_counts WHERE caller_kind = ?1 AND owner_id = ?2",
                params![caller_kind, owner_id],
                |r| r.get(0),
            )
            .optional()
            .unwrap()
    }

    #[test]
    fn changes_reach_the_table_only_when_written() {
        let c = table();
        c.execute(
            "INSERT INTO pending_counts VALUES ('supplier', 's1', 0, 5)",
            [],
        )
        .unwrap();
        assert_eq!(c.count("supplier", "s1").unwrap(), 5);
        c.add_count("supplier", "s1", 1);
        c.add_count("supplier", "s1", 1);
        c.add_count("total", "", 2);
        assert_eq!(c.count("supplier", "s1").unwrap(), 7);
        assert_eq!(c.count("total", "").unwrap(), 2);
        assert_eq!(stored(&c, "supplier", "s1"), Some(5));
        assert_eq!(stored(&c, "total", ""), Some(0));
        c.counts().write(&c).unwrap();
        assert_eq!(stored(&c, "supplier", "s1"), Some(7));
        assert_eq!(stored(&c, "total", ""), Some(2));
        // A new transaction reads the table again.
        c.execute(
            "UPDATE pending_counts SET count = 40 WHERE caller_kind = 'total'",
            [],
        )
        .unwrap();
        assert_eq!(c.count("total", "").unwrap(), 40);
    }

    #[test]
    fn a_savepoint_rollback_takes_back_its_changes_only() {
        let c = table();
        c.add_count("supplier", "s1", 1);
        let mark = c.counts().mark();
        c.add_count("supplier", "s1", 1);
        c.add_count("manufacturer", "m1", 3);
        assert_eq!(c.count("supplier", "s1").unwrap(), 2);
        c.counts().undo_to(mark);
        assert_eq!(c.count("supplier", "s1").unwrap(), 1);
        assert_eq!(c.count("manufacturer", "m1").unwrap(), 0);
        c.counts().write(&c).unwrap();
        assert_eq!(stored(&c, "supplier", "s1"), Some(1));
        // An unchanged counter is not written.
        assert_eq!(stored(&c, "manufacturer", "m1"), None);
    }

    #[test]
    fn a_cleared_transaction_leaves_nothing() {
        let c = table();
        c.add_count("supplier", "s1", 4);
        c.counts().clear();
        assert_eq!(c.count("supplier", "s1").unwrap(), 0);
        c.counts().write(&c).unwrap();
        assert_eq!(stored(&c, "supplier", "s1"), None);
    }
}
