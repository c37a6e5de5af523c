//! Durable stores for `nox-authenticator` (spec decision 11), beside the pure core: each
//! implements the core's [`SessionStore`] and [`SubscriberStore`] traits.
//!
//! - `memory`: the core's in-memory stores, for tests and embedding;
//! - `sqlite:PATH`: one embedded SQLite file in WAL mode, the reference server's default;
//! - `postgres://…` (any libpq URL): PostgreSQL with a connection pool, for several instances.
//!
//! ```
//! let stores = nox_authenticator_store::open("memory", 3600)?;
//! assert!(!stores.blocking);
//! # Ok::<(), nox_authenticator_store::OpenError>(())
//! ```

use std::sync::Arc;

use nox_authenticator::{
    AuthenticatorBuilder, MemorySessionStore, MemorySubscriberStore, SessionStore,
    SubscriberStore,
};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use crate::postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use crate::sqlite::SqliteStore;

/// The newest schema version this program knows (the number of the last migration).
pub const SCHEMA_VERSION: i64 = 1;

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
            for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
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
    /// Whether calls into these stores block on I/O: an async host runs them on a blocking
    /// pool (`tokio::task::spawn_blocking`); the memory store never blocks.
    pub blocking: bool,
}

impl Stores {
    /// Puts both stores into an authenticator builder.
    pub fn apply(self, builder: AuthenticatorBuilder) -> AuthenticatorBuilder {
        builder.sessions(self.sessions).subscribers(self.subscribers)
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
        StoreUrl::Memory => Ok(Stores {
            sessions: Arc::new(MemorySessionStore::new(retention_seconds)),
            subscribers: Arc::new(MemorySubscriberStore::default()),
            blocking: false,
        }),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite { path, synchronous } => {
            let store = Arc::new(SqliteStore::open(&path, synchronous, retention_seconds)?);
            Ok(Stores {
                sessions: store.clone(),
                subscribers: store,
                blocking: true,
            })
        }
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres { url } => {
            let store = Arc::new(PostgresStore::open(&url, retention_seconds)?);
            Ok(Stores {
                sessions: store.clone(),
                subscribers: store,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            ("postgres://nox:pw@db/nox", "postgres://nox:***@db/nox"),
            ("postgres://nox@db/nox", "postgres://nox@db/nox"),
            ("postgresql://a:b:c@h1,h2:5433", "postgresql://a:***@h1,h2:5433"),
            (
                "postgres://nox@%2Ftmp%2Fpg:5433/postgres?password=x&connect_timeout=2",
                "postgres://nox@%2Ftmp%2Fpg:5433/postgres?password=***&connect_timeout=2",
            ),
            ("postgres:///nox?host=/run/pg&PASSWORD=y", "postgres:///nox?host=/run/pg&PASSWORD=***"),
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
            StoreUrl::Sqlite { synchronous: Synchronous::Normal, .. }
        ));
        assert!(matches!(
            parse("sqlite:a.db?synchronous=FULL").unwrap(),
            StoreUrl::Sqlite { synchronous: Synchronous::Full, .. }
        ));
        assert!(matches!(parse("sqlite:a.db?mode=ro"), Err(OpenError::BadSetting { .. })));
        assert!(matches!(parse("sqlite:"), Err(OpenError::BadSetting { .. })));
        assert!(matches!(parse("sqlite:?synchronous=full"), Err(OpenError::BadSetting { .. })));
        assert!(matches!(parse("mysql://x"), Err(OpenError::BadSetting { .. })));
    }
}
