//! Durable stores for `nox-authenticator` (spec decision 11), beside the pure core: each
//! implements the core's [`SessionStore`] and [`SubscriberStore`] traits, and [`open`] picks
//! one from a setting:
//!
//! - `memory`: the core's in-memory stores, for tests and embedding;
//! - `sqlite:PATH` ([`SqliteStore`]): one embedded SQLite file in WAL mode, the reference
//!   server's default, shared by every process that opens it (Python or Node workers);
//! - `postgres://…` or `postgresql://…` ([`PostgresStore`], any libpq URL): PostgreSQL with a
//!   connection pool, for several instances. A Unix socket is a percent-encoded host,
//!   `postgres://nox@%2Frun%2Fpostgresql:5432/nox`, or `postgres://nox@/nox?host=/run/postgresql`.
//!
//! ```
//! let stores = nox_authenticator_store::open("memory", 3600)?;
//! assert!(!stores.blocking);
//! # Ok::<(), nox_authenticator_store::OpenError>(())
//! ```
//!
//! # Calling them
//!
//! Every call into an SQLite or PostgreSQL store blocks on I/O ([`Stores::blocking`]): an async
//! host makes it from a blocking pool (`tokio::task::spawn_blocking`). For PostgreSQL this is a
//! must, not only a courtesy: each pooled client drives its socket with a small runtime of its
//! own, which cannot run on an async worker thread. ([`open`] and dropping a store are safe
//! anywhere.) The exceptions are an insert and, on PostgreSQL, a v1 connect's upsert: both
//! stores [queue inserts](nox_authenticator::SessionStore::queues_inserts), so
//! `SessionStore::insert_queued` returns at once on any thread and answers from a thread of
//! the store's own (the SQLite writer, a PostgreSQL inserter) once the row is committed, and
//! PostgreSQL [queues upserts](nox_authenticator::SubscriberStore::queues_upserts), so
//! `SubscriberStore::upsert_queued` does the same from an upserter thread. (On SQLite an
//! upsert's read runs on the calling thread, with no round trip to wait for; it is not
//! queued.)
//! Failures while serving are [`nox_authenticator::Error::Store`] (a 503); a PostgreSQL
//! connection lost meanwhile is replaced by the pool on a later call, once the
//! server answers again, without reopening.
//!
//! # Durability
//!
//! A call that writes returns once its transaction is committed, so a host answers 201 only
//! for what a killed process would keep.
//!
//! - SQLite, `synchronous=NORMAL` (the default, `sqlite:PATH` or `sqlite:PATH?synchronous=normal`):
//!   a commit is in the write-ahead log, in the operating system's hands, before it returns. It
//!   survives the process being killed at any moment, which is what decision 11 asks; a power
//!   loss or kernel crash may lose the last commits (the file stays consistent). Each write costs
//!   a `write(2)`, no disk flush.
//! - SQLite, `sqlite:PATH?synchronous=full`: each commit also waits for an `fsync` of the log,
//!   so it survives power loss too, at one disk flush per write (from well under a millisecond
//!   on an SSD with a power-loss-protected cache, to several milliseconds elsewhere); the
//!   writes queued meanwhile share one commit (see "Concurrency"), so the flush bounds the
//!   transactions per second, not the writes.
//! - PostgreSQL: whatever the server's `synchronous_commit` says (by default a commit is
//!   flushed to the server's WAL before it is acknowledged). A URL may set it for the store's
//!   connections (`?options=-csynchronous_commit%3Doff`, a libpq option): a server crash may
//!   then lose the writes acknowledged in the last moments (up to three times
//!   `wal_writer_delay`, 600 ms by default), which decision 11 does not allow; leave it on.
//!
//! # Concurrency
//!
//! - SQLite: `journal_mode=WAL`, `busy_timeout` 5 s, foreign keys on. In a process, writes go
//!   through one connection, owned by a writer thread that commits them in groups: the
//!   inserts, completions and connects queued while it commits are run together in its next
//!   `BEGIN IMMEDIATE` transaction (so writers in other processes queue for the file's write
//!   lock instead of failing to upgrade a read lock), each in a savepoint of its own (a
//!   refused insert, a token collision or a failing upsert `update` rolls back only itself);
//!   no call returns before the commit that holds its write did. A connect reads the
//!   subscriber on a read connection and runs `update` there; the writer stores the result
//!   only if the row is still as read, else `update` runs again on the row as it is (a
//!   compare-and-set, so concurrent connects of any process unite their device ids). Reads go
//!   through a few other connections. Checkpoints (copying the log back into the file) run on
//!   a thread of their own, never inside a commit.
//! - PostgreSQL: inserts are written in batches: the sessions queued at one moment go into
//!   one statement on one connection (`INSERT … SELECT FROM unnest(…)` with typed array
//!   parameters: read the counters, insert the rows within the caps, count them), and each
//!   caller is answered once it has committed; a session the batch did not insert (refused,
//!   a collision) is inserted alone by one statement (check the counters, insert, count it),
//!   which decides its own outcome. A session's expiry event goes into the outbox in the
//!   batch's statement too (a data-modifying `WITH`, one implicit transaction), and alone in
//!   one transaction with its session. Two inserter threads write the batches: fewer, larger
//!   batches cost PostgreSQL less CPU per row than many small ones. A completion is one
//!   conditional statement (`… WHERE completed_at IS NULL`, leaving the counts in the same
//!   statement). An upsert reads the subscriber, and writes only if
//!   `update` changed it, with a compare-and-set on the row as read; if another call changed it
//!   meanwhile, it starts over in a transaction holding the row's lock (`SELECT … FOR UPDATE`,
//!   starting over if another instance inserted it first), so the device ids of two instances'
//!   calls are united. Queued upserts run the same way in batches, on two upserter threads:
//!   one statement reads the subscribers of every upsert queued at that moment, those that
//!   change nothing are answered with that read, and one more statement writes the others
//!   (insert a new subscriber unless it exists by then; update a changed one only if its row
//!   is still as read); an upsert that statement did not write, and a second upsert of one
//!   subscriber in one batch, run alone afterwards holding the row's lock.
//! - A PostgreSQL URL may not ask for TLS (`sslmode=require`, `verify-ca`, `verify-full` are
//!   refused at open with [`OpenError::BadSetting`]): this build has no TLS library. Reach the
//!   server through a Unix socket, a private network or a TLS-terminating proxy. Without a
//!   `connect_timeout` in the URL, connecting gives up after 5 s, which is also how long a call
//!   waits for a connection while the server is away.
//!
//! # Pending caps
//!
//! The pending sessions per caller and in total (spec decision 12) are counters in the store
//! (`pending_counts`), so they hold across processes and instances, and an insert reads them in
//! O(1) instead of counting sessions. A session is *counted* (`counted`) from its insert, if it
//! is then pending, until it is completed (in the completion's transaction) or *settled*: once
//! it has expired, a settle step takes it out of the counts, in batches of 1000, grouped per
//! caller. [`SessionStore::evict_expired`] settles everything expired before it evicts (the
//! reference server calls it every 5 s), and an insert about to be refused settles first (at
//! most once per second of its `now` per store instance), so a refusal is never caused by
//! sessions that had expired already. With caps of `u64::MAX` an insert reads no counter (it
//! still counts the session, for other instances and for later caps).
//!
//! - Early, never late: a session that expired since the last settle still counts until the
//!   next one, so between settles a cap may refuse up to one second early (never admit too
//!   many). A refusal's retry-after is the expiry of the oldest pending session in the store
//!   (as the memory store has it), whichever cap refused.
//! - SQLite: exact, across processes too (the check and the insert are one write transaction).
//! - PostgreSQL: the counters are read without a lock, so inserts racing on several
//!   connections may each see room for one more: a cap may be passed by at most as many
//!   sessions as there are inserts in flight at that moment (a batch's rows count as in
//!   flight together). A counter is split in 64 shards (by the token digest's
//!   first byte), so that concurrent inserts rarely wait for each other's commit on one row;
//!   every statement locks counter rows in key order, so they never deadlock.
//!
//! # Schema
//!
//! Migrations (`store/migrations/{sqlite,postgres}/NNNN_*.sql`) are applied at open in one
//! transaction (on PostgreSQL under `pg_advisory_xact_lock`, so instances starting together
//! apply them once), and recorded in `schema_version`; a version newer than [`SCHEMA_VERSION`]
//! is refused ([`OpenError::SchemaTooNew`]).
//!
//! - `link_sessions` is keyed by `token_sha256`, the SHA-256 digest of the token
//!   ([`nox_authenticator::LinkToken::digest`]). The token, a bearer secret, is not stored: the
//!   link URL is kept as the text before and after it (`link_url_head`, `link_url_tail`), and a
//!   lookup, which holds the token, rebuilds both. Every other field of a
//!   [`nox_authenticator::LinkSession`] has a column (`kind`, `language` and `asset_type` as
//!   their wire codes), plus `caller_kind` (`supplier` or `manufacturer`, whose pending cap a
//!   session counts against) and `counted` (see "Pending caps"). A partial index on
//!   `(expires_at) WHERE counted` serves the settle step and a refusal's oldest pending expiry;
//!   an index on `expires_at` serves eviction, which deletes a bounded batch per call (of
//!   sessions no longer counted).
//! - `pending_counts` is keyed by `(caller_kind, owner_id, shard)`, the total as `('total',
//!   '')`; a counter is the sum of its shards. Migration 0002 created it, counting the sessions
//!   pending at that moment.
//! - `subscribers` is keyed by `(manufacturer_id, manufacturer_user_id)`, with `nox_user_id` and
//!   `device_ids` in first-seen order (a JSON array on SQLite, `text[]` on PostgreSQL).
//! - `oauth_states` (migration 0006) holds the hosted flow's pending OAuth 2.0 sign-ins
//!   ([`OAuthStateStore`]): an opaque sealed value by an id derived from the `state`, with its
//!   expiry (indexed, for the background prune); a callback takes it with one
//!   `DELETE … RETURNING`, so it is used at most once across instances.

use std::sync::Arc;

use nox_authenticator::{
    AuthenticatorBuilder, MemorySessionStore, MemorySubscriberStore, SessionStore, SubscriberStore,
};

mod oauth_states;
mod outbox_retention;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod threads;

pub use crate::oauth_states::{MemoryOAuthStates, OAuthStateStore};
pub use crate::outbox_retention::{MemoryOutboxRetention, OutboxRetention};
#[cfg(feature = "postgres")]
pub use crate::postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use crate::sqlite::SqliteStore;

/// The newest schema version this program knows (the number of the last migration).
pub const SCHEMA_VERSION: i64 = 7;

/// A store location, parsed from `memory`, `sqlite:PATH[?synchronous=normal|full]` or
/// `postgres://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// Process memory.
    Memory,
    /// An SQLite file (`sqlite:PATH`, optionally `?synchronous=normal` or `?synchronous=full`).
    Sqlite {
        /// The file's path.
        path: std::path::PathBuf,
        /// When a commit waits for the disk (see the crate docs, "Durability").
        synchronous: Synchronous,
    },
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres {
        /// The URL as given (it may hold a password: log [`StoreUrl::redacted`] instead).
        url: String,
    },
}

/// SQLite's `synchronous` setting for a WAL file: what a commit waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `NORMAL` (the default): a commit is in the write-ahead log, in the operating system's
    /// hands, before it returns. It survives the process being killed at any moment; a power
    /// loss or kernel crash may lose the last commits (never corrupts the file).
    #[default]
    Normal,
    /// `FULL`: every commit also waits for an `fsync` of the log, so it survives power loss
    /// too, at the price of one disk flush per write (milliseconds on most disks).
    Full,
}

impl Synchronous {
    /// `normal` or `full`, as in the setting.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
        }
    }
}

impl StoreUrl {
    /// Parses a store setting.
    ///
    /// ```
    /// use nox_authenticator_store::{StoreUrl, Synchronous};
    /// let url = StoreUrl::parse("sqlite:/var/lib/nox/state.db?synchronous=full")?;
    /// assert_eq!(url, StoreUrl::Sqlite { path: "/var/lib/nox/state.db".into(), synchronous: Synchronous::Full });
    /// # Ok::<(), nox_authenticator_store::OpenError>(())
    /// ```
    pub fn parse(setting: &str) -> Result<StoreUrl, OpenError> {
        let setting = setting.trim();
        if setting == "memory" {
            Ok(StoreUrl::Memory)
        } else if let Some(rest) = setting.strip_prefix("sqlite:") {
            let (path, query) = match rest.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (rest, None),
            };
            if path.is_empty() {
                return Err(OpenError::BadSetting {
                    reason: "sqlite: needs a path, as in sqlite:nox-authenticator.db".into(),
                });
            }
            let mut synchronous = Synchronous::default();
            for pair in query
                .into_iter()
                .flat_map(|q| q.split('&'))
                .filter(|p| !p.is_empty())
            {
                match pair.split_once('=') {
                    Some(("synchronous", value)) if value.eq_ignore_ascii_case("normal") => {
                        synchronous = Synchronous::Normal;
                    }
                    Some(("synchronous", value)) if value.eq_ignore_ascii_case("full") => {
                        synchronous = Synchronous::Full;
                    }
                    _ => {
                        return Err(OpenError::BadSetting {
                            reason: format!(
                                "unknown sqlite option {pair:?}: the only one is synchronous=normal|full"
                            ),
                        });
                    }
                }
            }
            Ok(StoreUrl::Sqlite {
                path: path.into(),
                synchronous,
            })
        } else if setting.starts_with("postgres://") || setting.starts_with("postgresql://") {
            Ok(StoreUrl::Postgres {
                url: setting.to_owned(),
            })
        } else {
            Err(OpenError::BadSetting {
                reason: "must be memory, sqlite:PATH or a postgres:// URL".into(),
            })
        }
    }

    /// The setting without any password, for logs: a PostgreSQL URL's password (in the user
    /// part or as a `password=` query parameter) becomes `***`.
    ///
    /// ```
    /// use nox_authenticator_store::StoreUrl;
    /// let url = StoreUrl::parse("postgres://nox:s3cret@db:5432/nox?password=s3cret&sslmode=disable")?;
    /// assert_eq!(url.redacted(), "postgres://nox:***@db:5432/nox?password=***&sslmode=disable");
    /// # Ok::<(), nox_authenticator_store::OpenError>(())
    /// ```
    pub fn redacted(&self) -> String {
        match self {
            StoreUrl::Memory => "memory".into(),
            StoreUrl::Sqlite { path, synchronous } => match synchronous {
                Synchronous::Normal => format!("sqlite:{}", path.display()),
                Synchronous::Full => format!("sqlite:{}?synchronous=full", path.display()),
            },
            StoreUrl::Postgres { url } => redact_postgres_url(url),
        }
    }
}

/// Replaces the password of a `postgres://` URL, in the user information and in `password=`
/// query parameters, by `***`.
fn redact_postgres_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    // The authority ends at the first `/`; its user information ends at its last `@`.
    let (authority, path) = match before_query.find('/') {
        Some(at) => before_query.split_at(at),
        None => (before_query, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{hosts}"),
            None => format!("{userinfo}@{hosts}"),
        },
        None => authority.to_owned(),
    };
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Opened stores, ready for [`nox_authenticator::Authenticator::builder`].
#[derive(Debug, Clone)]
pub struct Stores {
    /// Link sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// v1 subscribers.
    pub subscribers: Arc<dyn SubscriberStore>,
    /// The outbox of completion events (spec decision 20), in the sessions' store.
    pub outbox: Arc<dyn nox_authenticator::store::EventOutbox>,
    /// The hosted flow's pending OAuth 2.0 sign-ins, in the sessions' store.
    pub oauth_states: Arc<dyn OAuthStateStore>,
    /// Pruning of the outbox's delivered and failed events, in the sessions' store.
    pub outbox_retention: Arc<dyn OutboxRetention>,
    /// Whether calls into these stores block on I/O: an async host runs them on a blocking
    /// pool (`tokio::task::spawn_blocking`); the memory store never blocks.
    pub blocking: bool,
}

impl Stores {
    /// Puts both stores into an authenticator builder.
    pub fn apply(self, builder: AuthenticatorBuilder) -> AuthenticatorBuilder {
        builder
            .sessions(self.sessions)
            .subscribers(self.subscribers)
    }
}

/// Why a store could not be opened; each names the problem for an operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The setting is not `memory`, `sqlite:PATH` or a `postgres://` URL.
    #[error("invalid store setting: {reason}")]
    BadSetting {
        /// What is wrong.
        reason: String,
    },
    /// The store was found but cannot be used (unreachable, unreadable, read-only, corrupt…).
    #[error("cannot open store {store}: {reason}")]
    Unavailable {
        /// The store, without password.
        store: String,
        /// What went wrong.
        reason: String,
    },
    /// The store's schema is newer than this program knows.
    #[error(
        "store {store} has schema version {found}, newer than {known}, the newest this program knows; upgrade the program"
    )]
    SchemaTooNew {
        /// The store, without password.
        store: String,
        /// The version found.
        found: i64,
        /// The newest version this program knows.
        known: i64,
    },
}

/// Opens the store a setting names, applying migrations. `retention_seconds` is how long an
/// expired session is kept (the configuration's `session_retention_seconds`).
///
/// Opening SQLite or PostgreSQL does I/O (and waits up to the connect time-out for an
/// unreachable server); an async host calls it before its runtime starts, or on a blocking
/// thread.
pub fn open(setting: &str, retention_seconds: i64) -> Result<Stores, OpenError> {
    match StoreUrl::parse(setting)? {
        StoreUrl::Memory => {
            let sessions = Arc::new(MemorySessionStore::new(retention_seconds));
            Ok(Stores {
                sessions: sessions.clone(),
                subscribers: Arc::new(MemorySubscriberStore::default()),
                outbox: sessions,
                oauth_states: Arc::new(MemoryOAuthStates::default()),
                outbox_retention: Arc::new(MemoryOutboxRetention),
                blocking: false,
            })
        }
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite { path, synchronous } => {
            let store = Arc::new(SqliteStore::open(&path, synchronous, retention_seconds)?);
            Ok(Stores {
                sessions: store.clone(),
                subscribers: store.clone(),
                outbox: store.clone(),
                oauth_states: store.clone(),
                outbox_retention: store,
                blocking: true,
            })
        }
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres { url } => {
            let store = Arc::new(PostgresStore::open(&url, retention_seconds)?);
            Ok(Stores {
                sessions: store.clone(),
                subscribers: store.clone(),
                outbox: store.clone(),
                oauth_states: store.clone(),
                outbox_retention: store,
                blocking: true,
            })
        }
        #[allow(unreachable_patterns)]
        other => Err(OpenError::Unavailable {
            store: other.redacted(),
            reason: "this build has no support for this kind of store (cargo feature off)".into(),
        }),
    }
}

/// An authenticator builder for `config` on the store its `store` field names (memory when it
/// names none), for hosts that take their store from the configuration (the Python and Node
/// bindings). A store that cannot be opened is a configuration error naming `store`.
pub fn builder_for(
    config: nox_authenticator::Config,
) -> Result<AuthenticatorBuilder, nox_authenticator::Error> {
    let stores =
        match &config.store {
            Some(setting) => Some(open(setting, config.session_retention_seconds).map_err(
                |e| nox_authenticator::Error::InvalidConfig {
                    field: "store".into(),
                    reason: e.to_string(),
                },
            )?),
            None => None,
        };
    let builder = nox_authenticator::Authenticator::builder(config);
    Ok(match stores {
        Some(stores) => stores.apply(builder),
        None => builder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            ("postgres://nox:pw@db/nox", "postgres://nox:***@db/nox"),
            ("postgres://nox@db/nox", "postgres://nox@db/nox"),
            (
                "postgresql://a:b:c@h1,h2:5433",
                "postgresql://a:***@h1,h2:5433",
            ),
            (
                "postgres://nox@%2Ftmp%2Fpg:5433/postgres?password=x&connect_timeout=2",
                "postgres://nox@%2Ftmp%2Fpg:5433/postgres?password=***&connect_timeout=2",
            ),
            (
                "postgres:///nox?host=/run/pg&PASSWORD=y",
                "postgres:///nox?host=/run/pg&PASSWORD=***",
            ),
            ("postgres://u:p%40ss@h/d", "postgres://u:***@h/d"),
        ];
        for (url, redacted) in cases {
            let parsed = StoreUrl::parse(url).unwrap();
            assert_eq!(parsed.redacted(), redacted, "{url}");
        }
    }

    #[test]
    fn sqlite_settings_parse() {
        let parse = |s: &str| StoreUrl::parse(s);
        assert!(matches!(
            parse("sqlite:a.db").unwrap(),
            StoreUrl::Sqlite {
                synchronous: Synchronous::Normal,
                ..
            }
        ));
        assert!(matches!(
            parse("sqlite:a.db?synchronous=FULL").unwrap(),
            StoreUrl::Sqlite {
                synchronous: Synchronous::Full,
                ..
            }
        ));
        assert!(matches!(
            parse("sqlite:a.db?mode=ro"),
            Err(OpenError::BadSetting { .. })
        ));
        assert!(matches!(
            parse("sqlite:"),
            Err(OpenError::BadSetting { .. })
        ));
        assert!(matches!(
            parse("sqlite:?synchronous=full"),
            Err(OpenError::BadSetting { .. })
        ));
        assert!(matches!(
            parse("mysql://x"),
            Err(OpenError::BadSetting { .. })
        ));
    }
}
