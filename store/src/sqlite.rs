//! One SQLite file in WAL mode, shared by every process that opens it.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nox_authenticator::token::token_digest;
use nox_authenticator::{
    Completion, Error, LinkSession, MarkCompleted, PendingCaps, Result, SessionCounts,
    SessionStore, Subscriber, SubscriberStore,
};
use rusqlite::{
    Connection, MAIN_DB, OpenFlags, OptionalExtension, Row, TransactionBehavior, params,
};

use crate::row::{
    OUTBOX_COLUMNS, OutboxRow, SESSION_COLUMNS, SessionRow, attempt_columns, caller_kind, cap,
    outbox_sql,
};
use crate::{OpenError, SCHEMA_VERSION, Synchronous};
use nox_authenticator::store::{
    Attempt, Delivery, EventOutbox, InsertDone, OutboxEvent, QueueStats,
};

mod counts;
mod writer;

use counts::WriteConnection;

/// The migrations, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; 7] = [
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_pending_counts.sql"),
    include_str!("../migrations/sqlite/0003_outbox.sql"),
    include_str!("../migrations/sqlite/0004_outbox_expiry.sql"),
    include_str!("../migrations/sqlite/0005_outbox_prune.sql"),
    include_str!("../migrations/sqlite/0006_oauth_states.sql"),
    include_str!("../migrations/sqlite/0007_lighter_writes.sql"),
];

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections per store; writes go through one connection of their own.
const READERS: usize = 4;

/// A [`SessionStore`] and [`SubscriberStore`] on one SQLite file (see the crate docs).
///
/// Writes go through one connection, owned by a writer thread that commits them in groups:
/// the writes queued while it commits are run together in its next transaction
/// (`BEGIN IMMEDIATE`, so writers in other processes wait for the file's write lock, up to
/// 5 s, instead of failing to upgrade a read lock), each in a savepoint of its own (a failing
/// call rolls back only its own changes); every call returns only once the transaction that
/// holds its write is committed (see `writer`). Reads use a few connections of their own and
/// never wait for a writer (WAL). Every call blocks on file I/O.
pub struct SqliteStore {
    path: PathBuf,
    writer: writer::Writer,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// The `now` of the last settle an insert ran (see `settle_due`), shared with the writes
    /// queued for the writer thread.
    last_settle: Arc<AtomicI64>,
    retention: i64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Operations run under the writer's lock catch panics and roll their savepoint back, and
    // a read leaves nothing half done, so a poisoned lock still guards a usable connection.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn fail(e: rusqlite::Error) -> Error {
    Error::store(format!("sqlite: {e}"))
}

fn session_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        kind: row.get(0)?,
        owner_id: row.get(1)?,
        owner_name: row.get(2)?,
        user_id: row.get(3)?,
        redirect_url: row.get(4)?,
        language: row.get(5)?,
        asset_type: row.get(6)?,
        brand: row.get(7)?,
        link_url_head: row.get(8)?,
        link_url_tail: row.get(9)?,
        created_at: row.get(10)?,
        expires_at: row.get(11)?,
        completed_at: row.get(12)?,
    })
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(connection)
}

impl SqliteStore {
    /// Opens (creating it if needed) the file at `path`, switches it to WAL mode and applies
    /// the migrations in a write transaction, which also proves the file writable. Sessions
    /// are kept `retention_seconds` after they expire.
    pub fn open(
        path: &Path,
        synchronous: Synchronous,
        retention_seconds: i64,
    ) -> Result<SqliteStore, OpenError> {
        let store = crate::StoreUrl::Sqlite {
            path: path.to_owned(),
            synchronous,
        }
        .redacted();
        let unavailable = |reason: String| OpenError::Unavailable {
            store: store.clone(),
            reason,
        };
        // SQLite says only "unable to open database file" for these: name them.
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            return Err(unavailable(format!(
                "the directory {} does not exist",
                parent.display()
            )));
        }
        if path.is_dir() {
            return Err(unavailable(format!(
                "{} is a directory, not a database file",
                path.display()
            )));
        }
        let sqlite = |what: &str, e: rusqlite::Error| unavailable(format!("{what}: {e}"));
        let mut writer = connect(path).map_err(|e| sqlite("cannot open the file", e))?;
        if writer.is_readonly(MAIN_DB).unwrap_or(false) {
            return Err(unavailable(
                "the file is read-only (the server needs to write it)".into(),
            ));
        }
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|e| sqlite("cannot switch to WAL mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(unavailable(format!(
                "the file stays in {mode} journal mode instead of WAL (read-only, or on a file system without shared memory?)"
            )));
        }
        let sync = match synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        writer
            .pragma_update(None, "synchronous", sync)
            .and_then(|()| writer.pragma_update(None, "foreign_keys", "ON"))
            .map_err(|e| sqlite("cannot configure the connection", e))?;
        migrate(&mut writer).map_err(|e| match e {
            Migration::TooNew(found) => OpenError::SchemaTooNew {
                store: store.clone(),
                found,
                known: SCHEMA_VERSION,
            },
            Migration::Sqlite(e) => sqlite("cannot apply the schema migrations", e),
        })?;
        let checkpointer = connect(path).map_err(|e| sqlite("cannot open a connection", e))?;
        let writer = writer::Writer::new(writer, checkpointer)
            .map_err(|e| sqlite("cannot configure the connection", e))?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = connect(path)
                .and_then(|c| c.pragma_update(None, "query_only", "ON").map(|()| c))
                .map_err(|e| sqlite("cannot open a read connection", e))?;
            readers.push(Mutex::new(reader));
        }
        Ok(SqliteStore {
            path: path.to_owned(),
            writer,
            readers,
            next_reader: AtomicUsize::new(0),
            last_settle: Arc::new(AtomicI64::new(i64::MIN)),
            retention: retention_seconds.max(0),
        })
    }

    /// An insert as a write for the writer thread: the session (under the caps) and its
    /// expiry event, if any, in one transaction.
    fn insert_op(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<OutboxEvent>,
    ) -> impl FnOnce(&WriteConnection) -> Result<()> + Send + 'static {
        let last_settle = Arc::clone(&self.last_settle);
        move |connection| {
            insert_in(connection, &session, caps, now, &last_settle)?;
            if let Some(event) = &expiry_event {
                connection
                    .prepare_cached(&sqlite_sql(outbox_sql::INSERT_EXPIRY))
                    .and_then(|mut s| {
                        s.execute(params![
                            event.id,
                            event.caller,
                            event.event_type,
                            event.body,
                            event.created_at,
                            &session.token.digest()[..]
                        ])
                    })
                    .map_err(fail)?;
            }
            Ok(())
        }
    }

    /// Runs `op` (which may borrow from the caller) on the writer connection in a transaction
    /// of its own, and returns its result once that is committed; the frequent writes
    /// (inserts, completions, connects) are queued for the writer thread instead
    /// ([`writer::Writer::submit`]), which commits them in groups.
    fn write<T>(&self, op: impl FnOnce(&WriteConnection) -> Result<T>) -> Result<T> {
        self.writer.write(op)
    }

    /// A free read connection if there is one, else the next in turn.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Some(Ok(guard)) = self.readers.get((start + i) % n).map(Mutex::try_lock) {
                return guard;
            }
        }
        // `open` makes READERS (> 0) of them.
        #[allow(clippy::indexing_slicing)]
        lock(&self.readers[start % n])
    }

    fn select_session(connection: &Connection, token: &str) -> Result<Option<LinkSession>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM link_sessions WHERE token_sha256 = ?1");
        let row = connection
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_row(params![&token_digest(token)[..]], session_row)
                    .optional()
            })
            .map_err(fail)?;
        row.map(|row| row.into_session(token)).transpose()
    }
}

enum Migration {
    TooNew(i64),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Migration {
    fn from(e: rusqlite::Error) -> Self {
        Migration::Sqlite(e)
    }
}

/// Applies the missing migrations in one `BEGIN IMMEDIATE` transaction, so two processes
/// opening a new file at once apply them once.
fn migrate(connection: &mut Connection) -> std::result::Result<(), Migration> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER NOT NULL PRIMARY KEY,
             applied_at INTEGER NOT NULL DEFAULT (unixepoch())
         )",
    )?;
    let current: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_version",
        [],
        |row| row.get(0),
    )?;
    if current > SCHEMA_VERSION {
        return Err(Migration::TooNew(current));
    }
    for (version, sql) in (1..).zip(MIGRATIONS) {
        if version > current {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                params![version],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// The pending-count key of the total (beside `supplier` and `manufacturer` callers).
const TOTAL: (&str, &str) = ("total", "");

/// How many counted sessions one settle statement takes out of the counts at most.
const SETTLE_BATCH: i64 = 1000;

/// How many settle batches an insert runs at most before deciding on a refusal (the
/// background eviction settles the rest).
const SETTLE_BATCHES_IN_INSERT: usize = 10;

/// The counter of `(caller_kind, owner_id)` and the total, in the writer's transaction.
fn read_counts(
    connection: &WriteConnection,
    caller_kind: &str,
    owner_id: &str,
) -> Result<(i64, i64)> {
    Ok((
        connection.count(caller_kind, owner_id)?,
        connection.count(TOTAL.0, TOTAL.1)?,
    ))
}

/// Adds `delta` to the counter of `(caller_kind, owner_id)` and to the total, in the writer's
/// transaction.
fn add_counts(connection: &WriteConnection, caller_kind: &str, owner_id: &str, delta: i64) {
    connection.add_count(caller_kind, owner_id, delta);
    connection.add_count(TOTAL.0, TOTAL.1, delta);
}

/// Takes up to `limit` counted sessions that expired by `now` out of the counts (one
/// decrement per caller); returns how many.
fn settle(connection: &WriteConnection, now: i64, limit: i64) -> Result<i64> {
    let mut per_caller: HashMap<(String, String), i64> = HashMap::new();
    connection
        .prepare_cached(
            "UPDATE link_sessions SET counted = 0 WHERE rowid IN \
             (SELECT rowid FROM link_sessions WHERE counted = 1 AND expires_at <= ?1 \
              ORDER BY expires_at LIMIT ?2) \
             RETURNING caller_kind, owner_id",
        )
        .and_then(|mut s| {
            let mut rows = s.query(params![now, limit])?;
            while let Some(row) = rows.next()? {
                *per_caller.entry((row.get(0)?, row.get(1)?)).or_default() += 1;
            }
            Ok(())
        })
        .map_err(fail)?;
    let settled: i64 = per_caller.values().sum();
    for ((caller_kind, owner_id), n) in &per_caller {
        add_counts(connection, caller_kind, owner_id, -n);
    }
    Ok(settled)
}

/// The earliest expiry of a session still pending at `now` (a refusal's retry-after).
fn oldest_pending(connection: &Connection, now: i64) -> Result<Option<i64>> {
    connection
        .prepare_cached(
            "SELECT min(expires_at) FROM link_sessions WHERE counted = 1 AND expires_at > ?1",
        )
        .and_then(|mut s| s.query_row(params![now], |r| r.get(0)))
        .map_err(fail)
}

/// Whether an insert about to be refused may settle first: once per second of `now` per
/// store instance (`last_settle`), so a full store does not settle on every refused insert.
fn settle_due(last_settle: &AtomicI64, now: i64) -> bool {
    let last = last_settle.load(Ordering::Relaxed);
    now > last
        && last_settle
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// The insert itself, inside the writer's transaction.
fn insert_in(
    connection: &WriteConnection,
    session: &LinkSession,
    caps: PendingCaps,
    now: i64,
    last_settle: &AtomicI64,
) -> Result<()> {
    let caller = caller_kind(session.kind);
    let per_caller = cap(caps.per_caller);
    let total = cap(caps.total);
    if per_caller.is_some() || total.is_some() {
        let full = || -> Result<bool> {
            let (caller_count, total_count) = read_counts(connection, caller, &session.owner_id)?;
            Ok(per_caller.is_some_and(|cap| caller_count >= cap)
                || total.is_some_and(|cap| total_count >= cap))
        };
        if full()? {
            // Sessions that expired since the last settle still count: settle, then look
            // again, so that a refusal is never caused by them.
            if settle_due(last_settle, now) {
                for _ in 0..SETTLE_BATCHES_IN_INSERT {
                    if settle(connection, now, SETTLE_BATCH)? < SETTLE_BATCH {
                        break;
                    }
                }
            }
            if full()? {
                return Err(PendingCaps::refusal(oldest_pending(connection, now)?, now));
            }
        }
    }
    let counted = session.completed_at.is_none() && session.expires_at > now;
    let (head, tail) = session.link_url_parts();
    let inserted = connection
        .prepare_cached(
            "INSERT INTO link_sessions (token_sha256, kind, caller_kind, owner_id, owner_name, \
                 user_id, redirect_url, language, asset_type, brand, link_url_head, link_url_tail, \
                 created_at, expires_at, completed_at, counted) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
                 ON CONFLICT (token_sha256) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                &session.token.digest()[..],
                session.kind.as_str(),
                caller,
                session.owner_id,
                session.owner_name,
                session.user_id,
                session.redirect_url,
                session.language.as_str(),
                session.asset_type.map(|a| a.as_str()),
                session.brand,
                head,
                tail,
                session.created_at,
                session.expires_at,
                session.completed_at,
                counted,
            ])
        })
        .map_err(fail)?;
    if inserted == 0 {
        // 256 random bits do not collide; if they ever do, refuse rather than overwrite.
        return Err(Error::store("token collision"));
    }
    if counted {
        add_counts(connection, caller, &session.owner_id, 1);
    }
    Ok(())
}

/// A completion, inside the writer's transaction: one conditional update (the compare-and-set,
/// against other processes too), leaving the counts and writing the event in the same
/// transaction. The session's pending `link_session.expired` event (if its caller has a
/// webhook) stays where it is: a claim never hands out the expiry event of a completed
/// session and deletes it instead ([`CLAIM`], [`DROP_STALE_EXPIRY`]), and migration 0007's
/// trigger deletes it with its session, so it is never sent, as if the completion had deleted
/// it, for one write fewer in the completion (spec decision 20).
fn complete_in(
    connection: &WriteConnection,
    token: &str,
    completion: Completion<'_>,
) -> Result<MarkCompleted> {
    let digest = token_digest(token);
    // A counted session is pending, so the completion below applies: leave the counts
    // in the same transaction.
    let uncounted: Option<(String, String)> = connection
        .prepare_cached(
            "UPDATE link_sessions SET counted = 0 WHERE token_sha256 = ?1 AND counted = 1 \
             RETURNING caller_kind, owner_id",
        )
        .and_then(|mut s| {
            s.query_row(params![&digest[..]], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(fail)?;
    if let Some((caller_kind, owner_id)) = uncounted {
        add_counts(connection, &caller_kind, &owner_id, -1);
    }
    // One conditional statement: the compare-and-set, against other processes too.
    let sql = format!(
        "UPDATE link_sessions SET completed_at = ?1, brand = coalesce(brand, ?2) \
         WHERE token_sha256 = ?3 AND completed_at IS NULL RETURNING {SESSION_COLUMNS}"
    );
    let updated = connection
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(
                params![completion.completed_at, completion.brand, &digest[..]],
                session_row,
            )
            .optional()
        })
        .map_err(fail)?;
    if let (Some(_), Some(event)) = (&updated, completion.event) {
        // The event, in the completion's transaction (spec decision 20).
        connection
            .prepare_cached(&sqlite_sql(outbox_sql::INSERT))
            .and_then(|mut s| {
                s.execute(params![
                    event.id,
                    event.caller,
                    event.event_type,
                    event.body,
                    event.created_at
                ])
            })
            .map_err(fail)?;
    }
    match updated {
        Some(row) => Ok(MarkCompleted::Completed(row.into_session(token)?)),
        None => Ok(match SqliteStore::select_session(connection, token)? {
            Some(session) => MarkCompleted::AlreadyCompleted(session),
            None => MarkCompleted::NotFound,
        }),
    }
}

impl SessionStore for SqliteStore {
    fn insert(&self, session: LinkSession, caps: PendingCaps, now: i64) -> Result<()> {
        self.insert_with_event(session, caps, now, None)
    }

    fn insert_with_event(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<&OutboxEvent>,
    ) -> Result<()> {
        self.writer
            .submit(self.insert_op(session, caps, now, expiry_event.cloned()))
    }

    fn queues_inserts(&self) -> bool {
        true
    }

    fn insert_queued(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<OutboxEvent>,
        done: InsertDone,
    ) {
        self.writer
            .queue(self.insert_op(session, caps, now, expiry_event), done);
    }

    fn get(&self, token: &str) -> Result<Option<LinkSession>> {
        if nox_authenticator::LinkToken::parse(token).is_none() {
            return Ok(None);
        }
        SqliteStore::select_session(&self.reader(), token)
    }

    fn mark_completed(&self, token: &str, completion: Completion<'_>) -> Result<MarkCompleted> {
        if nox_authenticator::LinkToken::parse(token).is_none() {
            return Ok(MarkCompleted::NotFound);
        }
        let token = token.to_owned();
        let completed_at = completion.completed_at;
        let brand = completion.brand.map(str::to_owned);
        let event = completion.event.cloned();
        self.writer.submit(move |connection| {
            let completion = Completion {
                completed_at,
                brand: brand.as_deref(),
                event: event.as_ref(),
            };
            complete_in(connection, &token, completion)
        })
    }

    /// Settles the sessions that expired by `now` (in batches of their own), then deletes at
    /// most `limit` whose retention has passed.
    fn evict_expired(&self, now: i64, limit: usize) -> Result<usize> {
        let Ok(limit) = i64::try_from(limit) else {
            return Err(Error::store("eviction batch too large"));
        };
        while self.write(|connection| settle(connection, now, SETTLE_BATCH))? >= SETTLE_BATCH {}
        let delivered_by = now.saturating_sub(self.retention);
        self.write(|connection| {
            connection
                .prepare_cached(&sqlite_sql(outbox_sql::PRUNE))
                .and_then(|mut s| s.execute(params![delivered_by, SETTLE_BATCH]))
                .map_err(fail)
        })?;
        if limit == 0 {
            return Ok(0);
        }
        self.write(|connection| {
            connection
                .prepare_cached(
                    "DELETE FROM link_sessions WHERE rowid IN \
                     (SELECT rowid FROM link_sessions WHERE expires_at <= ?1 AND counted = 0 \
                      ORDER BY expires_at LIMIT ?2)",
                )
                .and_then(|mut s| s.execute(params![now.saturating_sub(self.retention), limit]))
                .map_err(fail)
        })
    }

    fn len(&self) -> Result<usize> {
        let count: i64 = self
            .reader()
            .query_row("SELECT count(*) FROM link_sessions", [], |r| r.get(0))
            .map_err(fail)?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn count_by_state(&self, now: i64) -> Result<SessionCounts> {
        let (pending, completed, expired): (i64, i64, i64) = self
            .reader()
            .query_row(
                "SELECT \
                   coalesce(sum(completed_at IS NULL AND expires_at > ?1), 0), \
                   coalesce(sum(completed_at IS NOT NULL), 0), \
                   coalesce(sum(completed_at IS NULL AND expires_at <= ?1), 0) \
                 FROM link_sessions",
                [now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(fail)?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(SessionCounts {
            pending: n(pending),
            completed: n(completed),
            expired: n(expired),
        })
    }

    fn ping(&self) -> Result<()> {
        self.reader()
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .map(drop)
            .map_err(fail)
    }
}

/// The claim (`outbox_sql::CLAIM` with SQLite's parameters), skipping the expiry events of
/// sessions completed since they were written. $1 now, $2 limit, $3 instance, $4 lease seconds.
const CLAIM: &str = "UPDATE webhook_outbox SET leased_by = ?3, leased_until = ?1 + ?4 \
     WHERE leased_until <= ?1 AND id IN (SELECT o.id FROM webhook_outbox o \
       WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= ?1 \
       AND o.leased_until <= ?1 \
       AND NOT EXISTS (SELECT 1 FROM link_sessions s \
         WHERE s.token_sha256 = o.session_sha256 AND s.completed_at IS NOT NULL) \
       ORDER BY o.next_attempt_at LIMIT ?2) \
     RETURNING ";

/// Deletes up to $2 due expiry events of sessions completed since they were written (never to
/// be sent; see `complete_in`). $1 now.
const DROP_STALE_EXPIRY: &str = "DELETE FROM webhook_outbox WHERE id IN (SELECT o.id \
     FROM webhook_outbox o JOIN link_sessions s ON s.token_sha256 = o.session_sha256 \
     WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= ?1 \
       AND o.leased_until <= ?1 AND s.completed_at IS NOT NULL LIMIT ?2)";

/// The shared outbox SQL with SQLite's numbered parameters (`?1`) and no row locks (the
/// writer's transaction holds the only write lock).
fn sqlite_sql(sql: &str) -> String {
    sql.replace("FOR_UPDATE", "").replace('$', "?")
}

fn outbox_row(row: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: row.get(0)?,
        caller: row.get(1)?,
        event_type: row.get(2)?,
        body: row.get(3)?,
        created_at: row.get(4)?,
        attempts: row.get(5)?,
        next_attempt_at: row.get(6)?,
        last_status: row.get(7)?,
        last_error: row.get(8)?,
        delivered_at: row.get(9)?,
        failed_at: row.get(10)?,
    })
}

fn outbox_rows(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Delivery>> {
    let mut statement = connection.prepare_cached(&sqlite_sql(sql)).map_err(fail)?;
    let rows = statement
        .query_map(params, outbox_row)
        .map_err(fail)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(fail)?;
    Ok(rows.into_iter().map(OutboxRow::into_delivery).collect())
}

impl EventOutbox for SqliteStore {
    fn claim_due(
        &self,
        now: i64,
        limit: usize,
        lease_seconds: i64,
        instance: &str,
    ) -> Result<Vec<Delivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!("{CLAIM}{OUTBOX_COLUMNS}");
        let mut claimed = self.write(|connection| {
            connection
                .prepare_cached(DROP_STALE_EXPIRY)
                .and_then(|mut s| s.execute(params![now, SETTLE_BATCH]))
                .map_err(fail)?;
            outbox_rows(
                connection,
                &sql,
                params![now, limit, instance, lease_seconds],
            )
        })?;
        claimed.sort_by_key(|d| d.next_attempt_at);
        Ok(claimed)
    }

    fn record_attempt(&self, id: &str, instance: &str, attempt: &Attempt<'_>) -> Result<bool> {
        let (delivered, failed, next) = attempt_columns(attempt);
        let status = attempt.status.map(i64::from);
        let changed = self.write(|connection| {
            connection
                .prepare_cached(&sqlite_sql(outbox_sql::RECORD))
                .and_then(|mut s| {
                    s.execute(params![
                        id,
                        instance,
                        status,
                        attempt.error,
                        delivered,
                        failed,
                        next
                    ])
                })
                .map_err(fail)
        })?;
        Ok(changed > 0)
    }

    fn defer(&self, id: &str, instance: &str, due_at: i64) -> Result<bool> {
        let changed = self.write(|connection| {
            connection
                .prepare_cached(&sqlite_sql(outbox_sql::DEFER))
                .and_then(|mut s| s.execute(params![id, instance, due_at]))
                .map_err(fail)
        })?;
        Ok(changed > 0)
    }

    fn failed(&self, limit: usize) -> Result<Vec<Delivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!("SELECT {OUTBOX_COLUMNS} {}", outbox_sql::FAILED);
        outbox_rows(&self.reader(), &sql, params![limit])
    }

    fn retry(&self, id: &str, now: i64) -> Result<bool> {
        let changed = self.write(|connection| {
            connection
                .prepare_cached(&sqlite_sql(outbox_sql::RETRY))
                .and_then(|mut s| s.execute(params![id, now]))
                .map_err(fail)
        })?;
        Ok(changed > 0)
    }

    fn delivery(&self, id: &str) -> Result<Option<Delivery>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} {}", outbox_sql::ONE);
        Ok(outbox_rows(&self.reader(), &sql, params![id])?
            .into_iter()
            .next())
    }

    fn queue_stats(&self, now: i64) -> Result<QueueStats> {
        let (depth, oldest): (i64, Option<i64>) = self
            .reader()
            .query_row(&sqlite_sql(outbox_sql::STATS), [now], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(fail)?;
        Ok(QueueStats {
            depth: u64::try_from(depth).unwrap_or(0),
            oldest_created_at: oldest,
        })
    }
}

fn parse_device_ids(json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| {
        Error::store(format!(
            "stored device ids are not a JSON string array: {e}"
        ))
    })
}

fn select_subscriber(
    connection: &Connection,
    manufacturer_id: &str,
    manufacturer_user_id: &str,
) -> Result<Option<Subscriber>> {
    let row: Option<(String, String)> = connection
        .prepare_cached(
            "SELECT nox_user_id, device_ids FROM subscribers \
             WHERE manufacturer_id = ?1 AND manufacturer_user_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![manufacturer_id, manufacturer_user_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(fail)?;
    row.map(|(nox_user_id, device_ids)| {
        Ok(Subscriber {
            manufacturer_id: manufacturer_id.to_owned(),
            manufacturer_user_id: manufacturer_user_id.to_owned(),
            nox_user_id,
            device_ids: parse_device_ids(&device_ids)?,
        })
    })
    .transpose()
}

impl SubscriberStore for SqliteStore {
    /// See [`SubscriberStore::upsert`]. The subscriber is read without the write lock and
    /// `update` runs on what was read: if it changes nothing (a connect with known device ids),
    /// nothing is written and that read is the answer. Otherwise the writer thread writes the
    /// result in its transaction only if the row is still as read (a compare-and-set); if
    /// another call changed it meanwhile, `update` runs again on the row as it is now, so the
    /// device ids of concurrent calls (of any process) are united.
    fn upsert(
        &self,
        manufacturer_id: &str,
        manufacturer_user_id: &str,
        update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
    ) -> Result<Subscriber> {
        let mut seen = select_subscriber(&self.reader(), manufacturer_id, manufacturer_user_id)?;
        loop {
            let updated = update(seen.clone())?;
            if seen.as_ref() == Some(&updated) {
                return Ok(updated);
            }
            let device_ids = serde_json::to_string(&updated.device_ids).map_err(Error::store)?;
            let key = (manufacturer_id.to_owned(), manufacturer_user_id.to_owned());
            let nox_user_id = updated.nox_user_id.clone();
            let expected = seen;
            let swapped = self.writer.submit(move |connection| {
                let current = select_subscriber(connection, &key.0, &key.1)?;
                if current != expected {
                    return Ok(Err(current));
                }
                connection
                    .prepare_cached(
                        "INSERT INTO subscribers (manufacturer_id, manufacturer_user_id, nox_user_id, device_ids) \
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (manufacturer_id, manufacturer_user_id) \
                         DO UPDATE SET nox_user_id = excluded.nox_user_id, device_ids = excluded.device_ids",
                    )
                    .and_then(|mut s| s.execute(params![key.0, key.1, nox_user_id, device_ids]))
                    .map_err(fail)?;
                Ok(Ok(()))
            })?;
            match swapped {
                Ok(()) => return Ok(updated),
                Err(current) => seen = current,
            }
        }
    }

    fn get(&self, manufacturer_id: &str, manufacturer_user_id: &str) -> Result<Option<Subscriber>> {
        select_subscriber(&self.reader(), manufacturer_id, manufacturer_user_id)
    }

    fn len(&self) -> Result<usize> {
        let count: i64 = self
            .reader()
            .query_row("SELECT count(*) FROM subscribers", [], |r| r.get(0))
            .map_err(fail)?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn ping(&self) -> Result<()> {
        SessionStore::ping(self)
    }
}

impl crate::OAuthStateStore for SqliteStore {
    fn put(&self, id: &str, sealed: &[u8], expires_at: i64) -> Result<()> {
        self.write(|connection| {
            connection
                .prepare_cached(crate::oauth_states::sql::PUT)
                .and_then(|mut s| s.execute(params![id, sealed, expires_at]))
                .map(drop)
                .map_err(fail)
        })
    }

    fn take(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>> {
        let taken: Option<(Vec<u8>, i64)> = self.write(|connection| {
            connection
                .prepare_cached(crate::oauth_states::sql::TAKE)
                .and_then(|mut s| {
                    s.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(fail)
        })?;
        Ok(taken.and_then(|(sealed, expires_at)| (expires_at > now).then_some(sealed)))
    }

    fn prune(&self, now: i64, limit: usize) -> Result<usize> {
        let Ok(limit) = i64::try_from(limit) else {
            return Err(Error::store("prune batch too large"));
        };
        self.write(|connection| {
            connection
                .prepare_cached(crate::oauth_states::sql::PRUNE)
                .and_then(|mut s| s.execute(params![now, limit]))
                .map_err(fail)
        })
    }
}

impl crate::OutboxRetention for SqliteStore {
    fn prune_outbox(&self, now: i64, failed_by: Option<i64>, limit: usize) -> Result<usize> {
        let Ok(limit) = i64::try_from(limit) else {
            return Err(Error::store("prune batch too large"));
        };
        let delivered_by = now.saturating_sub(self.retention);
        self.write(|connection| {
            let mut deleted = connection
                .prepare_cached(crate::outbox_retention::sql::DELIVERED)
                .and_then(|mut s| s.execute(params![delivered_by, limit]))
                .map_err(fail)?;
            let left = limit.saturating_sub(i64::try_from(deleted).unwrap_or(limit));
            if let Some(failed_by) = failed_by
                && left > 0
            {
                deleted += connection
                    .prepare_cached(crate::outbox_retention::sql::FAILED)
                    .and_then(|mut s| s.execute(params![failed_by, left]))
                    .map_err(fail)?;
            }
            Ok(deleted)
        })
    }
}
