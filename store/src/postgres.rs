//! PostgreSQL through a pool of synchronous `postgres` clients, for several instances.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use ::postgres::config::SslMode;
use ::postgres::{Client, Config, NoTls, Row, Statement};
use nox_authenticator::token::token_digest;
use nox_authenticator::{
    Completion, Error, LinkSession, LinkToken, MarkCompleted, PendingCaps, Result, SessionCounts,
    SessionStore, Subscriber, SubscriberStore,
};

use crate::row::{SESSION_COLUMNS, SessionRow, caller_kind, cap, split_link_url};
use crate::{OpenError, SCHEMA_VERSION};

/// The migrations, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; 1] = [include_str!("../migrations/postgres/0001_init.sql")];

/// The advisory lock (one `bigint` key) held while migrating, so instances starting at once
/// apply each migration once.
const MIGRATION_LOCK: i64 = 0x6e6f_785f_6175_7468; // "nox_auth"

/// The first key of the per-caller advisory lock (the two-`int` form, a key space apart
/// from the migration lock) that serializes pending-cap checks for one caller.
const CALLER_LOCK: i32 = 0x6e6f_7863; // "noxc"

/// The connect time-out when the URL sets none.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per store at most (per process).
const POOL_SIZE: u32 = 16;

/// A [`SessionStore`] and [`SubscriberStore`] on PostgreSQL (see the crate docs).
///
/// Calls block on the network: an async host makes them from a blocking thread
/// (`tokio::task::spawn_blocking`), never on a runtime worker, because each pooled client
/// drives its socket with a small runtime of its own. A lost connection fails the call with
/// [`Error::Store`]; the pool replaces it on a later call once the server answers again.
pub struct PostgresStore {
    store: String,
    /// `None` only while dropping (see `Drop`).
    pool: Option<r2d2::Pool<Manager>>,
    retention: i64,
}

/// Creates pooled connections, each with the store's statements prepared.
#[derive(Debug)]
struct Manager {
    config: Config,
}

/// A pooled client and its prepared statements.
struct Connection {
    client: Client,
    statements: Statements,
}

macro_rules! statements {
    ($($name:ident = $sql:expr;)*) => {
        /// The statements every call uses, prepared once per connection.
        struct Statements {
            $($name: Statement,)*
        }

        impl Statements {
            fn prepare(client: &mut Client) -> std::result::Result<Statements, ::postgres::Error> {
                Ok(Statements {
                    $($name: client.prepare(&$sql)?,)*
                })
            }
        }
    };
}

statements! {
    lock_caller = "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))::text";
    count_caller = "SELECT count(*) FROM link_sessions WHERE caller_kind = $1 AND owner_id = $2 \
                    AND completed_at IS NULL AND expires_at > $3";
    oldest_caller = "SELECT min(expires_at) FROM link_sessions WHERE caller_kind = $1 AND owner_id = $2 \
                     AND completed_at IS NULL AND expires_at > $3";
    count_total = "SELECT count(*) FROM link_sessions WHERE completed_at IS NULL AND expires_at > $1";
    oldest_total = "SELECT min(expires_at) FROM link_sessions WHERE completed_at IS NULL AND expires_at > $1";
    insert_session = "INSERT INTO link_sessions (token_sha256, kind, caller_kind, owner_id, owner_name, \
                      user_id, redirect_url, language, asset_type, brand, link_url_head, link_url_tail, \
                      created_at, expires_at, completed_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                      ON CONFLICT (token_sha256) DO NOTHING";
    select_session = format!("SELECT {SESSION_COLUMNS} FROM link_sessions WHERE token_sha256 = $1");
    complete = format!("UPDATE link_sessions SET completed_at = $1, brand = coalesce(brand, $2) \
                        WHERE token_sha256 = $3 AND completed_at IS NULL RETURNING {SESSION_COLUMNS}");
    evict = "DELETE FROM link_sessions WHERE token_sha256 IN (SELECT token_sha256 FROM link_sessions \
             WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)";
    count_sessions = "SELECT count(*) FROM link_sessions";
    select_subscriber = "SELECT nox_user_id, device_ids FROM subscribers \
                         WHERE manufacturer_id = $1 AND manufacturer_user_id = $2";
    lock_subscriber = "SELECT nox_user_id, device_ids FROM subscribers \
                       WHERE manufacturer_id = $1 AND manufacturer_user_id = $2 FOR UPDATE";
    insert_subscriber = "INSERT INTO subscribers (manufacturer_id, manufacturer_user_id, nox_user_id, device_ids) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (manufacturer_id, manufacturer_user_id) DO NOTHING";
    update_subscriber = "UPDATE subscribers SET nox_user_id = $3, device_ids = $4 \
                         WHERE manufacturer_id = $1 AND manufacturer_user_id = $2";
    count_subscribers = "SELECT count(*) FROM subscribers";
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = ::postgres::Error;

    fn connect(&self) -> std::result::Result<Connection, ::postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        let statements = Statements::prepare(&mut client)?;
        Ok(Connection { client, statements })
    }

    fn is_valid(&self, connection: &mut Connection) -> std::result::Result<(), ::postgres::Error> {
        connection.client.simple_query("").map(drop)
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        connection.client.is_closed()
    }
}

fn fail(e: ::postgres::Error) -> Error {
    Error::store(format!("postgres: {e}"))
}

fn session_row(row: &Row) -> std::result::Result<SessionRow, ::postgres::Error> {
    Ok(SessionRow {
        kind: row.try_get(0)?,
        owner_id: row.try_get(1)?,
        owner_name: row.try_get(2)?,
        user_id: row.try_get(3)?,
        redirect_url: row.try_get(4)?,
        language: row.try_get(5)?,
        asset_type: row.try_get(6)?,
        brand: row.try_get(7)?,
        link_url_head: row.try_get(8)?,
        link_url_tail: row.try_get(9)?,
        created_at: row.try_get(10)?,
        expires_at: row.try_get(11)?,
        completed_at: row.try_get(12)?,
    })
}

fn to_session(row: Option<Row>, token: &str) -> Result<Option<LinkSession>> {
    row.map(|row| session_row(&row).map_err(fail)?.into_session(token))
        .transpose()
}

/// Why a URL cannot be used by this build: TLS is not compiled in.
fn refuse_tls(url: &str, config: Option<&Config>) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let asks_tls = lower.contains("sslmode=verify-")
        || config.is_some_and(|c| c.get_ssl_mode() == SslMode::Require);
    asks_tls.then(|| {
        "TLS is not supported in this build of nox-authenticator (no TLS library is compiled in): \
         use sslmode=disable or prefer, through a Unix socket, a private network or a TLS-terminating proxy"
            .to_owned()
    })
}

impl PostgresStore {
    /// Connects to the database a libpq URL names, applies the migrations (under an advisory
    /// lock, in one transaction) and sets up the pool. Sessions are kept `retention_seconds`
    /// after they expire. Without a `connect_timeout` in the URL, connecting gives up after
    /// 5 s; `sslmode=require` and `verify-*` are refused ([`OpenError::BadSetting`]): this
    /// build has no TLS.
    pub fn open(url: &str, retention_seconds: i64) -> Result<PostgresStore, OpenError> {
        // Connecting drives a runtime of the client's own, which cannot start inside another
        // (a host opening its store from async code): connect on a thread of our own.
        std::thread::scope(|scope| {
            scope
                .spawn(|| PostgresStore::open_here(url, retention_seconds))
                .join()
                .unwrap_or_else(|_| {
                    Err(OpenError::Unavailable {
                        store: crate::StoreUrl::Postgres {
                            url: url.to_owned(),
                        }
                        .redacted(),
                        reason: "connecting panicked".into(),
                    })
                })
        })
    }

    fn open_here(url: &str, retention_seconds: i64) -> Result<PostgresStore, OpenError> {
        let store = crate::StoreUrl::Postgres {
            url: url.to_owned(),
        }
        .redacted();
        if let Some(reason) = refuse_tls(url, None) {
            return Err(OpenError::BadSetting { reason });
        }
        let mut config = Config::from_str(url).map_err(|e| OpenError::BadSetting {
            reason: format!("{store}: {}", error_chain(&e)),
        })?;
        if let Some(reason) = refuse_tls(url, Some(&config)) {
            return Err(OpenError::BadSetting { reason });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("nox-authenticator");
        }
        let connect_timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let unavailable = |reason: String| OpenError::Unavailable {
            store: store.clone(),
            reason,
        };
        let mut client = config
            .connect(NoTls)
            .map_err(|e| unavailable(format!("cannot connect: {}", error_chain(&e))))?;
        match migrate(&mut client) {
            Ok(()) => {}
            Err(Migration::TooNew(found)) => {
                return Err(OpenError::SchemaTooNew {
                    store,
                    found,
                    known: SCHEMA_VERSION,
                });
            }
            Err(Migration::Postgres(e)) => {
                return Err(unavailable(format!(
                    "cannot apply the schema migrations: {}",
                    error_chain(&e)
                )));
            }
        }
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            // A call waits this long for a connection while the server is away, then fails.
            .connection_timeout(connect_timeout)
            .test_on_check_out(true)
            .build_unchecked(Manager { config });
        Ok(PostgresStore {
            store,
            pool: Some(pool),
            retention: retention_seconds.max(0),
        })
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| Error::store("postgres: the store is closed"))?;
        pool.get()
            .map_err(|e| Error::store(format!("postgres {}: {e}", self.store)))
    }
}

/// An error with its causes, for an operator.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

enum Migration {
    TooNew(i64),
    Postgres(::postgres::Error),
}

impl From<::postgres::Error> for Migration {
    fn from(e: ::postgres::Error) -> Self {
        Migration::Postgres(e)
    }
}

fn migrate(client: &mut Client) -> std::result::Result<(), Migration> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)::text", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    bigint      NOT NULL PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let current: i64 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])?
        .try_get(0)?;
    if current > SCHEMA_VERSION {
        return Err(Migration::TooNew(current));
    }
    for (version, sql) in (1i64..).zip(MIGRATIONS) {
        if version > current {
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&version],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("store", &self.store)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Each client closes its socket with a runtime of its own, which may not be done from
        // an async context (a host dropping its stores inside `block_on`): drop on a thread.
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

fn count(row: &Row) -> Result<i64> {
    row.try_get(0).map_err(fail)
}

impl SessionStore for PostgresStore {
    fn insert(&self, session: LinkSession, caps: PendingCaps, now: i64) -> Result<()> {
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let mut tx = client.transaction().map_err(fail)?;
        let caller = caller_kind(session.kind);
        let per_caller = cap(caps.per_caller);
        let total = cap(caps.total);
        if per_caller.is_some() || total.is_some() {
            // One count at a time per caller, so instances cannot overshoot a caller's cap
            // together (the total cap may still be passed by a few, one per racing caller).
            let key = format!("{caller}/{}", session.owner_id);
            tx.query(&statements.lock_caller, &[&CALLER_LOCK, &key])
                .map_err(fail)?;
        }
        if let Some(per_caller) = per_caller {
            let pending = count(
                &tx.query_one(
                    &statements.count_caller,
                    &[&caller, &session.owner_id, &now],
                )
                .map_err(fail)?,
            )?;
            if pending >= per_caller {
                let oldest: Option<i64> = tx
                    .query_one(
                        &statements.oldest_caller,
                        &[&caller, &session.owner_id, &now],
                    )
                    .and_then(|row| row.try_get(0))
                    .map_err(fail)?;
                return Err(PendingCaps::refusal(oldest, now));
            }
        }
        if let Some(total) = total {
            let pending = count(
                &tx.query_one(&statements.count_total, &[&now])
                    .map_err(fail)?,
            )?;
            if pending >= total {
                let oldest: Option<i64> = tx
                    .query_one(&statements.oldest_total, &[&now])
                    .and_then(|row| row.try_get(0))
                    .map_err(fail)?;
                return Err(PendingCaps::refusal(oldest, now));
            }
        }
        let digest = session.token.digest();
        let (head, tail) = split_link_url(&session);
        let inserted = tx
            .execute(
                &statements.insert_session,
                &[
                    &&digest[..],
                    &session.kind.as_str(),
                    &caller,
                    &session.owner_id,
                    &session.owner_name,
                    &session.user_id,
                    &session.redirect_url,
                    &session.language.as_str(),
                    &session.asset_type.map(|a| a.as_str()),
                    &session.brand,
                    &head,
                    &tail,
                    &session.created_at,
                    &session.expires_at,
                    &session.completed_at,
                ],
            )
            .map_err(fail)?;
        if inserted == 0 {
            // 256 random bits do not collide; if they ever do, refuse rather than overwrite.
            return Err(Error::store("token collision"));
        }
        tx.commit().map_err(fail)
    }

    fn get(&self, token: &str) -> Result<Option<LinkSession>> {
        if LinkToken::parse(token).is_none() {
            return Ok(None);
        }
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let digest = token_digest(token);
        let row = client
            .query_opt(&statements.select_session, &[&&digest[..]])
            .map_err(fail)?;
        to_session(row, token)
    }

    fn mark_completed(&self, token: &str, completion: Completion<'_>) -> Result<MarkCompleted> {
        if LinkToken::parse(token).is_none() {
            return Ok(MarkCompleted::NotFound);
        }
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let digest = token_digest(token);
        // One conditional statement: concurrent completions queue on the row's lock, and all
        // but the first then find `completed_at` set.
        let updated = client
            .query_opt(
                &statements.complete,
                &[&completion.completed_at, &completion.brand, &&digest[..]],
            )
            .map_err(fail)?;
        if let Some(session) = to_session(updated, token)? {
            return Ok(MarkCompleted::Completed(session));
        }
        let stored = client
            .query_opt(&statements.select_session, &[&&digest[..]])
            .map_err(fail)?;
        Ok(match to_session(stored, token)? {
            Some(session) => MarkCompleted::AlreadyCompleted(session),
            None => MarkCompleted::NotFound,
        })
    }

    fn evict_expired(&self, now: i64, limit: usize) -> Result<usize> {
        let Ok(limit) = i64::try_from(limit) else {
            return Err(Error::store("eviction batch too large"));
        };
        if limit == 0 {
            return Ok(0);
        }
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let deleted = client
            .execute(
                &statements.evict,
                &[&now.saturating_sub(self.retention), &limit],
            )
            .map_err(fail)?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    fn len(&self) -> Result<usize> {
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let n = count(
            &client
                .query_one(&statements.count_sessions, &[])
                .map_err(fail)?,
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn count_by_state(&self, now: i64) -> Result<SessionCounts> {
        let mut connection = self.connection()?;
        let row = connection
            .client
            .query_one(
                "SELECT \
                   count(*) FILTER (WHERE completed_at IS NULL AND expires_at > $1), \
                   count(*) FILTER (WHERE completed_at IS NOT NULL), \
                   count(*) FILTER (WHERE completed_at IS NULL AND expires_at <= $1) \
                 FROM link_sessions",
                &[&now],
            )
            .map_err(fail)?;
        let n = |i: usize| -> Result<u64> {
            let v: i64 = row.try_get(i).map_err(fail)?;
            Ok(u64::try_from(v).unwrap_or(0))
        };
        Ok(SessionCounts {
            pending: n(0)?,
            completed: n(1)?,
            expired: n(2)?,
        })
    }

    fn ping(&self) -> Result<()> {
        let mut connection = self.connection()?;
        connection
            .client
            .simple_query("SELECT 1")
            .map(drop)
            .map_err(fail)
    }
}

fn to_subscriber(
    row: Option<Row>,
    manufacturer_id: &str,
    manufacturer_user_id: &str,
) -> Result<Option<Subscriber>> {
    row.map(|row| {
        Ok(Subscriber {
            manufacturer_id: manufacturer_id.to_owned(),
            manufacturer_user_id: manufacturer_user_id.to_owned(),
            nox_user_id: row.try_get(0).map_err(fail)?,
            device_ids: row.try_get(1).map_err(fail)?,
        })
    })
    .transpose()
}

/// How often an upsert starts over when another instance created the same subscriber between
/// its read and its insert (once is enough: the row then exists and is locked on the re-read).
const UPSERT_ATTEMPTS: usize = 3;

impl SubscriberStore for PostgresStore {
    /// See [`SubscriberStore::upsert`]. If another instance creates the same subscriber at the
    /// same moment, the transaction starts over and `update` is called again with that row.
    fn upsert(
        &self,
        manufacturer_id: &str,
        manufacturer_user_id: &str,
        update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
    ) -> Result<Subscriber> {
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let key: [&(dyn ::postgres::types::ToSql + Sync); 2] =
            [&manufacturer_id, &manufacturer_user_id];
        for _ in 0..UPSERT_ATTEMPTS {
            let mut tx = client.transaction().map_err(fail)?;
            // The row lock holds other instances' upserts of this subscriber until commit.
            let row = tx
                .query_opt(&statements.lock_subscriber, &key)
                .map_err(fail)?;
            let existing = to_subscriber(row, manufacturer_id, manufacturer_user_id)?;
            let exists = existing.is_some();
            // On Err the transaction is dropped, which rolls it back: nothing is stored.
            let updated = update(existing)?;
            let values: [&(dyn ::postgres::types::ToSql + Sync); 4] = [
                &manufacturer_id,
                &manufacturer_user_id,
                &updated.nox_user_id,
                &updated.device_ids,
            ];
            let statement = if exists {
                &statements.update_subscriber
            } else {
                &statements.insert_subscriber
            };
            if tx.execute(statement, &values).map_err(fail)? == 1 {
                tx.commit().map_err(fail)?;
                return Ok(updated);
            }
            // Another instance inserted it first: read it (locked) and merge again.
            tx.rollback().map_err(fail)?;
        }
        Err(Error::store(
            "postgres: the subscriber kept changing under the upsert",
        ))
    }

    fn get(&self, manufacturer_id: &str, manufacturer_user_id: &str) -> Result<Option<Subscriber>> {
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let row = client
            .query_opt(
                &statements.select_subscriber,
                &[&manufacturer_id, &manufacturer_user_id],
            )
            .map_err(fail)?;
        to_subscriber(row, manufacturer_id, manufacturer_user_id)
    }

    fn len(&self) -> Result<usize> {
        let mut connection = self.connection()?;
        let Connection { client, statements } = &mut *connection;
        let n = count(
            &client
                .query_one(&statements.count_subscribers, &[])
                .map_err(fail)?,
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn ping(&self) -> Result<()> {
        SessionStore::ping(self)
    }
}
