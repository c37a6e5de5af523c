//! One SQLite file in WAL mode, shared by every process that opens it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nox_authenticator::token::token_digest;
use nox_authenticator::{
    Completion, Error, LinkSession, MarkCompleted, PendingCaps, Result, SessionCounts,
    SessionStore, Subscriber, SubscriberStore,
};
use rusqlite::{
    Connection, MAIN_DB, OpenFlags, OptionalExtension, Row, TransactionBehavior, params,
};

use crate::row::{SESSION_COLUMNS, SessionRow, caller_kind, cap, split_link_url};
use crate::{OpenError, SCHEMA_VERSION, Synchronous};

/// The migrations, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; 1] = [include_str!("../migrations/sqlite/0001_init.sql")];

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections per store; writes go through one connection of their own.
const READERS: usize = 4;

/// A [`SessionStore`] and [`SubscriberStore`] on one SQLite file (see the crate docs).
///
/// Writes are serialized through one connection; read-modify-write transactions start with
/// `BEGIN IMMEDIATE`, so writers in other processes wait for the file's write lock (up to 5 s)
/// instead of failing to upgrade a read lock. Reads use a few connections of their own and
/// never wait for a writer (WAL). Every call blocks on file I/O.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    retention: i64,
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while a connection was held rolled its transaction back (rusqlite's Transaction
    // rolls back on drop), so the connection is still usable.
    connection.lock().unwrap_or_else(PoisonError::into_inner)
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
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = connect(path)
                .and_then(|c| c.pragma_update(None, "query_only", "ON").map(|()| c))
                .map_err(|e| sqlite("cannot open a read connection", e))?;
            readers.push(Mutex::new(reader));
        }
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            retention: retention_seconds.max(0),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        lock(&self.writer)
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
        match self.readers.get(start % n.max(1)) {
            Some(reader) => lock(reader),
            None => self.writer(),
        }
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

/// Pending sessions, for a count's and a refusal's `WHERE` (the partial indexes' condition).
const PENDING: &str = "completed_at IS NULL AND expires_at > ?1";

impl SessionStore for SqliteStore {
    fn insert(&self, session: LinkSession, caps: PendingCaps, now: i64) -> Result<()> {
        let mut connection = self.writer();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let caller = caller_kind(session.kind);
        // The counts run on the partial indexes alone (a plain count(*) is about twice as fast
        // as one stopped at the cap by a LIMIT subquery).
        if let Some(per_caller) = cap(caps.per_caller) {
            let count: i64 = tx
                .prepare_cached(&format!(
                    "SELECT count(*) FROM link_sessions WHERE caller_kind = ?2 AND owner_id = ?3 AND {PENDING}"
                ))
                .and_then(|mut s| {
                    s.query_row(params![now, caller, session.owner_id], |r| r.get(0))
                })
                .map_err(fail)?;
            if count >= per_caller {
                let oldest: Option<i64> = tx
                    .prepare_cached(&format!(
                        "SELECT min(expires_at) FROM link_sessions WHERE caller_kind = ?2 AND owner_id = ?3 AND {PENDING}"
                    ))
                    .and_then(|mut s| {
                        s.query_row(params![now, caller, session.owner_id], |r| r.get(0))
                    })
                    .map_err(fail)?;
                return Err(PendingCaps::refusal(oldest, now));
            }
        }
        if let Some(total) = cap(caps.total) {
            let count: i64 = tx
                .prepare_cached(&format!(
                    "SELECT count(*) FROM link_sessions WHERE {PENDING}"
                ))
                .and_then(|mut s| s.query_row(params![now], |r| r.get(0)))
                .map_err(fail)?;
            if count >= total {
                let oldest: Option<i64> = tx
                    .prepare_cached(&format!(
                        "SELECT min(expires_at) FROM link_sessions WHERE {PENDING}"
                    ))
                    .and_then(|mut s| s.query_row(params![now], |r| r.get(0)))
                    .map_err(fail)?;
                return Err(PendingCaps::refusal(oldest, now));
            }
        }
        let (head, tail) = split_link_url(&session);
        let inserted = tx
            .prepare_cached(
                "INSERT INTO link_sessions (token_sha256, kind, caller_kind, owner_id, owner_name, \
                 user_id, redirect_url, language, asset_type, brand, link_url_head, link_url_tail, \
                 created_at, expires_at, completed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
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
                ])
            })
            .map_err(fail)?;
        if inserted == 0 {
            // 256 random bits do not collide; if they ever do, refuse rather than overwrite.
            return Err(Error::store("token collision"));
        }
        tx.commit().map_err(fail)
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
        let connection = self.writer();
        // One conditional statement: the compare-and-set, against other processes too.
        let sql = format!(
            "UPDATE link_sessions SET completed_at = ?1, brand = coalesce(brand, ?2) \
             WHERE token_sha256 = ?3 AND completed_at IS NULL RETURNING {SESSION_COLUMNS}"
        );
        let updated = connection
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_row(
                    params![
                        completion.completed_at,
                        completion.brand,
                        &token_digest(token)[..]
                    ],
                    session_row,
                )
                .optional()
            })
            .map_err(fail)?;
        match updated {
            Some(row) => Ok(MarkCompleted::Completed(row.into_session(token)?)),
            None => Ok(match SqliteStore::select_session(&connection, token)? {
                Some(session) => MarkCompleted::AlreadyCompleted(session),
                None => MarkCompleted::NotFound,
            }),
        }
    }

    fn evict_expired(&self, now: i64, limit: usize) -> Result<usize> {
        let Ok(limit) = i64::try_from(limit) else {
            return Err(Error::store("eviction batch too large"));
        };
        if limit == 0 {
            return Ok(0);
        }
        let connection = self.writer();
        connection
            .prepare_cached(
                "DELETE FROM link_sessions WHERE token_sha256 IN \
                 (SELECT token_sha256 FROM link_sessions WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
            )
            .and_then(|mut s| s.execute(params![now.saturating_sub(self.retention), limit]))
            .map_err(fail)
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
    fn upsert(
        &self,
        manufacturer_id: &str,
        manufacturer_user_id: &str,
        update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
    ) -> Result<Subscriber> {
        let mut connection = self.writer();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let existing = select_subscriber(&tx, manufacturer_id, manufacturer_user_id)?;
        // On Err the transaction is dropped, which rolls it back: nothing is stored.
        let updated = update(existing)?;
        let device_ids = serde_json::to_string(&updated.device_ids).map_err(Error::store)?;
        tx.prepare_cached(
            "INSERT INTO subscribers (manufacturer_id, manufacturer_user_id, nox_user_id, device_ids) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (manufacturer_id, manufacturer_user_id) \
             DO UPDATE SET nox_user_id = excluded.nox_user_id, device_ids = excluded.device_ids",
        )
        .and_then(|mut s| {
            s.execute(params![
                manufacturer_id,
                manufacturer_user_id,
                updated.nox_user_id,
                device_ids
            ])
        })
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(updated)
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
