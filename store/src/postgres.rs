//! PostgreSQL through a pool of synchronous `postgres` clients, for several instances.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use ::postgres::config::SslMode;
use ::postgres::{Client, Config, NoTls, Row, Statement};
use nox_authenticator::token::token_digest;
use nox_authenticator::{
    Completion, Error, LinkSession, LinkToken, MarkCompleted, PendingCaps, Result, SessionCounts,
    SessionStore, Subscriber, SubscriberStore,
};

use crate::row::{
    OUTBOX_COLUMNS, OutboxRow, SESSION_COLUMNS, SessionRow, attempt_columns, caller_kind, cap,
    outbox_sql,
};
use crate::{OpenError, SCHEMA_VERSION};
use nox_authenticator::store::{
    Attempt, Delivery, EventOutbox, InsertDone, QueueStats, SubscriberUpdate, UpsertDone,
};

mod batch;
mod queue;
mod upsert;

/// The migrations, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; 7] = [
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_pending_counts.sql"),
    include_str!("../migrations/postgres/0003_outbox.sql"),
    include_str!("../migrations/postgres/0004_outbox_expiry.sql"),
    include_str!("../migrations/postgres/0005_outbox_prune.sql"),
    include_str!("../migrations/postgres/0006_oauth_states.sql"),
    include_str!("../migrations/postgres/0007_lighter_writes.sql"),
];

/// The advisory lock (one `bigint` key) held while migrating, so instances starting at once
/// apply each migration once.
const MIGRATION_LOCK: i64 = 0x6e6f_785f_6175_7468; // "nox_auth"

/// How many shards a pending counter has: a session counts in shard `digest[0] % SHARDS`,
/// so that concurrent inserts of one caller rarely wait for the same counter row (whose lock
/// is held until their commit is flushed): with 64 shards and 32 inserts in flight, about one
/// in four waits for another's commit. Only the sum of a counter's shards means anything, so
/// the number may change between versions (migration 0002 spread existing rows over 16).
const SHARDS: u8 = 64;

/// How many counted sessions one settle statement takes out of the counts at most.
const SETTLE_BATCH: i64 = 1000;

/// How many settle batches an insert runs at most before deciding on a refusal (the
/// background eviction settles the rest).
const SETTLE_BATCHES_IN_INSERT: usize = 10;

/// A pooled connection returned this recently is handed out again without a round trip to
/// check it (a connection broken meanwhile fails its call, and is then dropped).
const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// The connect time-out when the URL sets none.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections per store at most (per process). A commit waits for the server's WAL flush,
/// which the commits in flight share: more connections than cores keep more of them in flight.
const POOL_SIZE: u32 = 32;

/// A [`SessionStore`] and [`SubscriberStore`] on PostgreSQL (see the crate docs).
///
/// Calls block on the network: an async host makes them from a blocking thread
/// (`tokio::task::spawn_blocking`), never on a runtime worker, because each pooled client
/// drives its socket with a small runtime of its own; only `insert_queued` and
/// `upsert_queued` return at once anywhere (the inserter and upserter threads answer them),
/// so an async host calls those on its runtime and awaits their answer. A lost connection fails the call with
/// [`Error::Store`]; the pool replaces it on a later call once the server answers again.
pub struct PostgresStore {
    store: String,
    /// `None` only while dropping (see `Drop`).
    pool: Option<r2d2::Pool<Manager>>,
    /// Inserts (with their expiry events), written in batches (see `batch`); `None` only
    /// while dropping.
    inserter: Option<batch::Inserter>,
    /// v1 connects, read and written in batches (see `upsert`); `None` only while dropping.
    upserter: Option<upsert::Upserter>,
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
    /// When it was last returned to the pool intact.
    returned_at: Option<Instant>,
}

/// The insert: one statement (one round trip, one implicit transaction) that reads the
/// caller's and the total counters (if `capped`), inserts the session unless either is at its
/// cap (`$18`, `$19`), and adds it to both counters in shard `$17` if it is counted (`$16`).
/// Counter rows are locked in key order, as by every statement that changes them, so that
/// concurrent statements never deadlock. Returns (inserted, caller's count, total count).
fn insert_sql(capped: bool) -> String {
    let counts = if capped {
        "SELECT coalesce(sum(count) FILTER (WHERE caller_kind = $3), 0)::bigint AS caller, \
                coalesce(sum(count) FILTER (WHERE caller_kind = 'total'), 0)::bigint AS total \
         FROM pending_counts \
         WHERE (caller_kind = $3::text AND owner_id = $4::text) OR (caller_kind = 'total' AND owner_id = '')"
    } else {
        "SELECT 0::bigint AS caller, 0::bigint AS total"
    };
    let room = if capped {
        "WHERE counts.caller < $18::bigint AND counts.total < $19::bigint"
    } else {
        ""
    };
    format!(
        "WITH counts AS ({counts}), \
         ins AS ( \
           INSERT INTO link_sessions (token_sha256, kind, caller_kind, owner_id, owner_name, \
             user_id, redirect_url, language, asset_type, brand, link_url_head, link_url_tail, \
             created_at, expires_at, completed_at, counted) \
           SELECT $1::bytea, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, \
             $9::text, $10::text, $11::text, $12::text, $13::bigint, $14::bigint, $15::bigint, $16::boolean \
           FROM counts {room} \
           ON CONFLICT (token_sha256) DO NOTHING \
           RETURNING counted), \
         inc AS ( \
           INSERT INTO pending_counts AS p (caller_kind, owner_id, shard, count) \
           SELECT k.caller_kind, k.owner_id, $17::int, 1 \
           FROM ins, (VALUES ($3::text, $4::text), ('total', '')) AS k (caller_kind, owner_id) \
           WHERE ins.counted ORDER BY k.caller_kind, k.owner_id \
           ON CONFLICT (caller_kind, owner_id, shard) DO UPDATE SET count = p.count + 1) \
         SELECT (SELECT count(*) FROM ins), caller, total FROM counts"
    )
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
    insert_capped = insert_sql(true);
    insert_uncapped = insert_sql(false);
    insert_batch = batch::INSERT_BATCH;
    oldest_pending = "SELECT min(expires_at) FROM link_sessions WHERE counted AND expires_at > $1";
    // Takes up to $2 counted sessions expired by $1 out of the counts (skipping those another
    // call holds, a completion's), decrementing each counter once per shard.
    settle = format!("WITH settled AS ( \
                UPDATE link_sessions s SET counted = false \
                WHERE s.counted AND s.token_sha256 IN (SELECT token_sha256 FROM link_sessions \
                  WHERE counted AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
                RETURNING s.caller_kind, s.owner_id, get_byte(s.token_sha256, 0) % {SHARDS} AS shard), \
              keys AS ( \
                SELECT caller_kind, owner_id, shard, count(*) AS n FROM settled GROUP BY 1, 2, 3 \
                UNION ALL \
                SELECT 'total', '', shard, count(*) FROM settled GROUP BY 3), \
              dec AS ( \
                INSERT INTO pending_counts AS p (caller_kind, owner_id, shard, count) \
                SELECT caller_kind, owner_id, shard, -n FROM keys ORDER BY 1, 2, 3 \
                ON CONFLICT (caller_kind, owner_id, shard) DO UPDATE SET count = p.count + excluded.count) \
              SELECT count(*) FROM settled");
    select_session = format!("SELECT {SESSION_COLUMNS} FROM link_sessions WHERE token_sha256 = $1");
    // The compare-and-set, leaving the counts in the same statement if the session was counted.
    complete = format!("WITH old AS ( \
                          SELECT token_sha256, counted FROM link_sessions \
                          WHERE token_sha256 = $3 AND completed_at IS NULL FOR UPDATE), \
                        done AS ( \
                          UPDATE link_sessions s SET completed_at = $1, brand = coalesce(s.brand, $2), counted = false \
                          FROM old WHERE s.token_sha256 = old.token_sha256 AND s.completed_at IS NULL \
                          RETURNING {SESSION_COLUMNS}, caller_kind, old.counted AS was_counted), \
                        dec AS ( \
                          INSERT INTO pending_counts AS p (caller_kind, owner_id, shard, count) \
                          SELECT k.caller_kind, k.owner_id, get_byte($3, 0) % {SHARDS}, -1 \
                          FROM done, LATERAL (VALUES (done.caller_kind, done.owner_id), ('total', '')) \
                            AS k (caller_kind, owner_id) \
                          WHERE done.was_counted ORDER BY 1, 2 \
                          ON CONFLICT (caller_kind, owner_id, shard) DO UPDATE SET count = p.count - 1), \
                        ev AS ( \
                          INSERT INTO webhook_outbox (id, caller, event_type, body, created_at, next_attempt_at) \
                          SELECT $4::text, $5::text, $6::text, $7::bytea, $8::bigint, $8::bigint \
                          FROM done WHERE $4::text IS NOT NULL), \
                        unexpired AS ( \
                          DELETE FROM webhook_outbox o USING done \
                          WHERE o.session_sha256 = $3 AND o.event_type = 'link_session.expired') \
                        SELECT {SESSION_COLUMNS} FROM done");
    evict = "DELETE FROM link_sessions WHERE token_sha256 IN (SELECT token_sha256 FROM link_sessions \
             WHERE expires_at <= $1 AND NOT counted ORDER BY expires_at LIMIT $2)";
    count_sessions = "SELECT count(*) FROM link_sessions";
    select_subscriber = "SELECT nox_user_id, device_ids FROM subscribers \
                         WHERE manufacturer_id = $1 AND manufacturer_user_id = $2";
    lock_subscriber = "SELECT nox_user_id, device_ids FROM subscribers \
                       WHERE manufacturer_id = $1 AND manufacturer_user_id = $2 FOR UPDATE";
    insert_subscriber = "INSERT INTO subscribers (manufacturer_id, manufacturer_user_id, nox_user_id, device_ids) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (manufacturer_id, manufacturer_user_id) DO NOTHING";
    update_subscriber = "UPDATE subscribers SET nox_user_id = $3, device_ids = $4 \
                         WHERE manufacturer_id = $1 AND manufacturer_user_id = $2";
    // The compare-and-set of an upsert's first attempt: only if the row is still as read.
    swap_subscriber = "UPDATE subscribers SET nox_user_id = $3, device_ids = $4 \
                       WHERE manufacturer_id = $1 AND manufacturer_user_id = $2 \
                       AND nox_user_id = $5 AND device_ids = $6";
    count_subscribers = "SELECT count(*) FROM subscribers";
    select_subscribers_batch = upsert::SELECT_BATCH;
    write_subscribers_batch = upsert::WRITE_BATCH;
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = ::postgres::Error;

    fn connect(&self) -> std::result::Result<Connection, ::postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        let statements = Statements::prepare(&mut client)?;
        Ok(Connection {
            client,
            statements,
            returned_at: None,
        })
    }

    /// A round trip, unless the connection was returned intact less than [`TRUSTED_FOR`] ago
    /// (under load every connection is, and the check would double the round trips).
    fn is_valid(&self, connection: &mut Connection) -> std::result::Result<(), ::postgres::Error> {
        if connection
            .returned_at
            .is_some_and(|at| at.elapsed() < TRUSTED_FOR)
        {
            return Ok(());
        }
        connection.client.simple_query("").map(drop)
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        let broken = connection.client.is_closed();
        connection.returned_at = (!broken).then(Instant::now);
        broken
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
            inserter: Some(batch::Inserter::new(pool.clone())),
            upserter: Some(upsert::Upserter::new(pool.clone())),
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
        // an async context (a host dropping its stores inside `block_on`): drop on a thread,
        // once the inserter threads (which hold the pool too) have stopped.
        drop(self.inserter.take());
        drop(self.upserter.take());
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

fn count(row: &Row) -> Result<i64> {
    row.try_get(0).map_err(fail)
}

/// Whether an insert about to be refused may settle first: once per second of `now` per
/// store instance (`last_settle` is its clock), so a full store does not settle on every
/// refused insert.
fn settle_due(last_settle: &AtomicI64, now: i64) -> bool {
    let last = last_settle.load(Ordering::Relaxed);
    now > last
        && last_settle
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// Takes up to [`SETTLE_BATCH`] counted sessions that expired by `now` out of the counts
/// (one autocommitted statement); returns how many.
fn settle(connection: &mut Connection, now: i64) -> Result<i64> {
    let Connection {
        client, statements, ..
    } = connection;
    count(
        &client
            .query_one(&statements.settle, &[&now, &SETTLE_BATCH])
            .map_err(fail)?,
    )
}

impl SessionStore for PostgresStore {
    /// See [`SessionStore::insert`]: queued for the next batch (see `batch`), each batch one
    /// statement; a session the batch did not insert (refused, a collision) is inserted alone
    /// (see `insert_sql`), which decides its outcome. The counters are read without a lock,
    /// so inserts racing on several connections may each see room: a cap may be passed by at
    /// most the inserts in flight at that moment (of every instance).
    fn insert(&self, session: LinkSession, caps: PendingCaps, now: i64) -> Result<()> {
        self.insert_with_event(session, caps, now, None)
    }

    /// As `insert`, with the session's expiry event in the same statement (alone: in the
    /// same transaction).
    fn insert_with_event(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<&nox_authenticator::store::OutboxEvent>,
    ) -> Result<()> {
        let Some(inserter) = &self.inserter else {
            return Err(Error::store("postgres: the store is closed"));
        };
        inserter.insert(session, caps, now, expiry_event.cloned())
    }

    /// Inserts go to the inserter threads' queue: an async host awaits `done`.
    fn queues_inserts(&self) -> bool {
        true
    }

    fn insert_queued(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<nox_authenticator::store::OutboxEvent>,
        done: InsertDone,
    ) {
        match &self.inserter {
            Some(inserter) => inserter.queue(session, caps, now, expiry_event, done),
            None => done(Err(Error::store("postgres: the store is closed"))),
        }
    }

    fn get(&self, token: &str) -> Result<Option<LinkSession>> {
        if LinkToken::parse(token).is_none() {
            return Ok(None);
        }
        let mut connection = self.connection()?;
        let Connection {
            client, statements, ..
        } = &mut *connection;
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
        let Connection {
            client, statements, ..
        } = &mut *connection;
        let digest = token_digest(token);
        // One conditional statement: concurrent completions queue on the row's lock, and all
        // but the first then find `completed_at` set. The event goes into the outbox in the
        // same statement, only if the completion applied (spec decision 20).
        let event = completion.event;
        let updated = client
            .query_opt(
                &statements.complete,
                &[
                    &completion.completed_at,
                    &completion.brand,
                    &&digest[..],
                    &event.map(|e| e.id.as_str()),
                    &event.map(|e| e.caller.as_str()),
                    &event.map(|e| e.event_type.as_str()),
                    &event.map(|e| e.body.as_slice()),
                    &event.map(|e| e.created_at),
                ],
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
        let mut connection = self.connection()?;
        while settle(&mut connection, now)? >= SETTLE_BATCH {}
        connection
            .client
            .execute(
                outbox_sql::PRUNE,
                &[&now.saturating_sub(self.retention), &SETTLE_BATCH],
            )
            .map_err(fail)?;
        if limit == 0 {
            return Ok(0);
        }
        let Connection {
            client, statements, ..
        } = &mut *connection;
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
        let Connection {
            client, statements, ..
        } = &mut *connection;
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

/// The single-row insert (see `insert_sql`) on `connection`, settling first if the session
/// would be refused and a settle is due (`last_settle`, see `settle_due`).
fn insert_on(
    connection: &mut Connection,
    last_settle: &AtomicI64,
    session: LinkSession,
    caps: PendingCaps,
    now: i64,
) -> Result<()> {
    let caller = caller_kind(session.kind);
    let per_caller = cap(caps.per_caller);
    let total = cap(caps.total);
    let capped = per_caller.is_some() || total.is_some();
    let digest = session.token.digest();
    let digest_bytes = &digest[..];
    let shard = i32::from(digest.first().copied().unwrap_or(0) % SHARDS);
    let counted = session.completed_at.is_none() && session.expires_at > now;
    let (head, tail) = session.link_url_parts();
    let per_caller_cap = per_caller.unwrap_or(i64::MAX);
    let total_cap = total.unwrap_or(i64::MAX);
    let kind = session.kind.as_str();
    let language = session.language.as_str();
    let asset_type = session.asset_type.map(|a| a.as_str());
    let mut params: Vec<&(dyn ::postgres::types::ToSql + Sync)> = vec![
        &digest_bytes,
        &kind,
        &caller,
        &session.owner_id,
        &session.owner_name,
        &session.user_id,
        &session.redirect_url,
        &language,
        &asset_type,
        &session.brand,
        &head,
        &tail,
        &session.created_at,
        &session.expires_at,
        &session.completed_at,
        &counted,
        &shard,
    ];
    if capped {
        params.push(&per_caller_cap);
        params.push(&total_cap);
    }
    let run = |connection: &mut Connection| -> Result<(i64, i64, i64)> {
        let Connection {
            client, statements, ..
        } = connection;
        let statement = if capped {
            &statements.insert_capped
        } else {
            &statements.insert_uncapped
        };
        let row = client.query_one(statement, &params).map_err(fail)?;
        let get = |i: usize| -> Result<i64> { row.try_get(i).map_err(fail) };
        Ok((get(0)?, get(1)?, get(2)?))
    };
    let full = |(_, mine, all): (i64, i64, i64)| mine >= per_caller_cap || all >= total_cap;
    let mut outcome = run(connection)?;
    if outcome.0 == 0 && full(outcome) && settle_due(last_settle, now) {
        // Sessions that expired since the last settle still count: settle, then try
        // again, so that a refusal is never caused by them.
        for _ in 0..SETTLE_BATCHES_IN_INSERT {
            if settle(connection, now)? < SETTLE_BATCH {
                break;
            }
        }
        outcome = run(connection)?;
    }
    if outcome.0 == 1 {
        return Ok(());
    }
    if full(outcome) {
        let Connection {
            client, statements, ..
        } = &mut *connection;
        let oldest: Option<i64> = client
            .query_one(&statements.oldest_pending, &[&now])
            .and_then(|row| row.try_get(0))
            .map_err(fail)?;
        return Err(PendingCaps::refusal(oldest, now));
    }
    // 256 random bits do not collide; if they ever do, refuse rather than overwrite.
    Err(Error::store("token collision"))
}

/// As [`insert_on`], with the session's expiry event, in one transaction on `connection`.
fn insert_with_event_on(
    connection: &mut Connection,
    last_settle: &AtomicI64,
    session: LinkSession,
    caps: PendingCaps,
    now: i64,
    event: &nox_authenticator::store::OutboxEvent,
) -> Result<()> {
    let digest = session.token.digest();
    connection.client.batch_execute("BEGIN").map_err(fail)?;
    let outcome = insert_on(connection, last_settle, session, caps, now).and_then(|()| {
        connection
            .client
            .execute(
                outbox_sql::INSERT_EXPIRY,
                &[
                    &event.id,
                    &event.caller,
                    &event.event_type,
                    &event.body,
                    &event.created_at,
                    &&digest[..],
                ],
            )
            .map(drop)
            .map_err(fail)
    });
    let end = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = connection.client.batch_execute(end).map_err(fail);
    outcome.and(ended)
}

fn pg_sql(sql: &str) -> String {
    sql.replace("FOR_UPDATE", "FOR UPDATE SKIP LOCKED")
}

fn outbox_row(row: &Row) -> std::result::Result<OutboxRow, ::postgres::Error> {
    Ok(OutboxRow {
        id: row.try_get(0)?,
        caller: row.try_get(1)?,
        event_type: row.try_get(2)?,
        body: row.try_get(3)?,
        created_at: row.try_get(4)?,
        attempts: i64::from(row.try_get::<_, i32>(5)?),
        next_attempt_at: row.try_get(6)?,
        last_status: row.try_get::<_, Option<i32>>(7)?.map(i64::from),
        last_error: row.try_get(8)?,
        delivered_at: row.try_get(9)?,
        failed_at: row.try_get(10)?,
    })
}

fn outbox_rows(rows: Vec<Row>) -> Result<Vec<Delivery>> {
    rows.iter()
        .map(|row| outbox_row(row).map(OutboxRow::into_delivery).map_err(fail))
        .collect()
}

impl EventOutbox for PostgresStore {
    fn claim_due(
        &self,
        now: i64,
        limit: usize,
        lease_seconds: i64,
        instance: &str,
    ) -> Result<Vec<Delivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!("{}{OUTBOX_COLUMNS}", pg_sql(outbox_sql::CLAIM));
        let mut connection = self.connection()?;
        let rows = connection
            .client
            .query(&sql, &[&now, &limit, &instance, &lease_seconds])
            .map_err(fail)?;
        let mut claimed = outbox_rows(rows)?;
        claimed.sort_by_key(|d| d.next_attempt_at);
        Ok(claimed)
    }

    fn record_attempt(&self, id: &str, instance: &str, attempt: &Attempt<'_>) -> Result<bool> {
        let (delivered, failed, next) = attempt_columns(attempt);
        let status = attempt.status.map(i32::from);
        let mut connection = self.connection()?;
        let changed = connection
            .client
            .execute(
                outbox_sql::RECORD,
                &[
                    &id,
                    &instance,
                    &status,
                    &attempt.error,
                    &delivered,
                    &failed,
                    &next,
                ],
            )
            .map_err(fail)?;
        Ok(changed > 0)
    }

    fn defer(&self, id: &str, instance: &str, due_at: i64) -> Result<bool> {
        let mut connection = self.connection()?;
        let changed = connection
            .client
            .execute(outbox_sql::DEFER, &[&id, &instance, &due_at])
            .map_err(fail)?;
        Ok(changed > 0)
    }

    fn failed(&self, limit: usize) -> Result<Vec<Delivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!("SELECT {OUTBOX_COLUMNS} {}", outbox_sql::FAILED);
        let mut connection = self.connection()?;
        outbox_rows(connection.client.query(&sql, &[&limit]).map_err(fail)?)
    }

    fn retry(&self, id: &str, now: i64) -> Result<bool> {
        let mut connection = self.connection()?;
        let changed = connection
            .client
            .execute(outbox_sql::RETRY, &[&id, &now])
            .map_err(fail)?;
        Ok(changed > 0)
    }

    fn delivery(&self, id: &str) -> Result<Option<Delivery>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} {}", outbox_sql::ONE);
        let mut connection = self.connection()?;
        Ok(
            outbox_rows(connection.client.query(&sql, &[&id]).map_err(fail)?)?
                .into_iter()
                .next(),
        )
    }

    fn queue_stats(&self, now: i64) -> Result<QueueStats> {
        let mut connection = self.connection()?;
        let row = connection
            .client
            .query_one(outbox_sql::STATS, &[&now])
            .map_err(fail)?;
        let depth: i64 = row.try_get(0).map_err(fail)?;
        let oldest: Option<i64> = row.try_get(1).map_err(fail)?;
        Ok(QueueStats {
            depth: u64::try_from(depth).unwrap_or(0),
            oldest_created_at: oldest,
        })
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

/// The subscriber for the key, read on `connection` without a lock.
fn select_subscriber(
    connection: &mut Connection,
    manufacturer_id: &str,
    manufacturer_user_id: &str,
) -> Result<Option<Subscriber>> {
    let Connection {
        client, statements, ..
    } = connection;
    let row = client
        .query_opt(
            &statements.select_subscriber,
            &[&manufacturer_id, &manufacturer_user_id],
        )
        .map_err(fail)?;
    to_subscriber(row, manufacturer_id, manufacturer_user_id)
}

/// An upsert on `connection` (see [`PostgresStore::upsert`]): the subscriber is read first
/// without a lock, then written as [`write_upsert`] does.
fn upsert_on(
    connection: &mut Connection,
    manufacturer_id: &str,
    manufacturer_user_id: &str,
    update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
) -> Result<Subscriber> {
    let existing = select_subscriber(connection, manufacturer_id, manufacturer_user_id)?;
    let updated = update(existing.clone())?;
    write_upsert(
        connection,
        manufacturer_id,
        manufacturer_user_id,
        existing,
        updated,
        update,
    )
}

/// The rest of an upsert once `update` made `updated` of `existing` (read without a lock):
/// nothing is written if they are equal; otherwise `updated` is written only if the row is
/// still `existing` (one conditional statement), and if it is not, the upsert runs again
/// holding the row's lock ([`upsert_locked`]).
fn write_upsert(
    connection: &mut Connection,
    manufacturer_id: &str,
    manufacturer_user_id: &str,
    existing: Option<Subscriber>,
    updated: Subscriber,
    update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
) -> Result<Subscriber> {
    let Connection {
        client, statements, ..
    } = &mut *connection;
    let written = match &existing {
        Some(existing) if *existing == updated => return Ok(updated),
        Some(existing) => client.execute(
            &statements.swap_subscriber,
            &[
                &manufacturer_id,
                &manufacturer_user_id,
                &updated.nox_user_id,
                &updated.device_ids,
                &existing.nox_user_id,
                &existing.device_ids,
            ],
        ),
        None => client.execute(
            &statements.insert_subscriber,
            &[
                &manufacturer_id,
                &manufacturer_user_id,
                &updated.nox_user_id,
                &updated.device_ids,
            ],
        ),
    }
    .map_err(fail)?;
    if written == 1 {
        return Ok(updated);
    }
    upsert_locked(connection, manufacturer_id, manufacturer_user_id, update)
}

/// An upsert in a transaction holding the row's lock, for when another call changed the
/// subscriber after it was read: the read, the call to `update` and the write run again; if
/// another instance creates the same subscriber at the same moment, the transaction starts
/// over and `update` is called again with that row.
fn upsert_locked(
    connection: &mut Connection,
    manufacturer_id: &str,
    manufacturer_user_id: &str,
    update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
) -> Result<Subscriber> {
    let Connection {
        client, statements, ..
    } = connection;
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

impl SubscriberStore for PostgresStore {
    /// See [`SubscriberStore::upsert`]. The subscriber is read first without a lock: if
    /// `update` changes nothing (a connect with known device ids), nothing is written and that
    /// read is the answer; otherwise the result is written only if the row is still what was
    /// read (one conditional statement). If another call changed it meanwhile, the read, the
    /// call to `update` and the write run again in a transaction holding the row's lock; if
    /// another instance creates the same subscriber at the same moment, that transaction
    /// starts over and `update` is called again with that row.
    fn upsert(
        &self,
        manufacturer_id: &str,
        manufacturer_user_id: &str,
        update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
    ) -> Result<Subscriber> {
        upsert_on(
            &mut *self.connection()?,
            manufacturer_id,
            manufacturer_user_id,
            update,
        )
    }

    /// Upserts go to the upserter threads' queue, which read (and write) them in batches:
    /// an async host awaits `done`.
    fn queues_upserts(&self) -> bool {
        true
    }

    fn upsert_queued(
        &self,
        manufacturer_id: String,
        manufacturer_user_id: String,
        update: SubscriberUpdate,
        done: UpsertDone,
    ) {
        match &self.upserter {
            Some(upserter) => upserter.queue(manufacturer_id, manufacturer_user_id, update, done),
            None => done(Err(Error::store("postgres: the store is closed"))),
        }
    }

    fn get(&self, manufacturer_id: &str, manufacturer_user_id: &str) -> Result<Option<Subscriber>> {
        select_subscriber(
            &mut *self.connection()?,
            manufacturer_id,
            manufacturer_user_id,
        )
    }

    fn len(&self) -> Result<usize> {
        let mut connection = self.connection()?;
        let Connection {
            client, statements, ..
        } = &mut *connection;
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

impl crate::OAuthStateStore for PostgresStore {
    fn put(&self, id: &str, sealed: &[u8], expires_at: i64) -> Result<()> {
        let sql = crate::oauth_states::sql::postgres(crate::oauth_states::sql::PUT);
        self.connection()?
            .client
            .execute(&sql, &[&id, &sealed, &expires_at])
            .map(drop)
            .map_err(fail)
    }

    fn take(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>> {
        let sql = crate::oauth_states::sql::postgres(crate::oauth_states::sql::TAKE);
        let row = self
            .connection()?
            .client
            .query_opt(&sql, &[&id])
            .map_err(fail)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: Vec<u8> = row.try_get(0).map_err(fail)?;
        let expires_at: i64 = row.try_get(1).map_err(fail)?;
        Ok((expires_at > now).then_some(sealed))
    }

    fn prune(&self, now: i64, limit: usize) -> Result<usize> {
        let Ok(limit) = i64::try_from(limit) else {
            return Err(Error::store("prune batch too large"));
        };
        let sql = crate::oauth_states::sql::postgres(crate::oauth_states::sql::PRUNE);
        let deleted = self
            .connection()?
            .client
            .execute(&sql, &[&now, &limit])
            .map_err(fail)?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}

impl crate::OutboxRetention for PostgresStore {
    fn prune_outbox(&self, now: i64, failed_by: Option<i64>, limit: usize) -> Result<usize> {
        let Ok(limit) = i64::try_from(limit) else {
            return Err(Error::store("prune batch too large"));
        };
        let delivered_by = now.saturating_sub(self.retention);
        let mut connection = self.connection()?;
        let delivered = crate::oauth_states::sql::postgres(crate::outbox_retention::sql::DELIVERED);
        let mut deleted = connection
            .client
            .execute(&delivered, &[&delivered_by, &limit])
            .map_err(fail)?;
        let left = limit.saturating_sub(i64::try_from(deleted).unwrap_or(limit));
        if let Some(failed_by) = failed_by
            && left > 0
        {
            let failed = crate::oauth_states::sql::postgres(crate::outbox_retention::sql::FAILED);
            deleted += connection
                .client
                .execute(&failed, &[&failed_by, &left])
                .map_err(fail)?;
        }
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }
}
