//! Test helpers: the three stores behind one face, and sessions of every kind.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use nox_authenticator::{
    AssetType, Language, LinkSession, LinkToken, SeededRandom, SessionKind, session::expires_at,
};
use nox_authenticator_store::{OpenError, Stores, open};

/// Retention after expiry in every test store.
pub const RETENTION: i64 = 60;

/// One store's data, which can be opened again as a separate instance.
pub enum Backend {
    /// The memory store: "another instance" is the same one.
    Memory(Stores),
    /// A file in a temporary directory.
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    /// A schema of its own in the test cluster.
    Postgres { url: String },
}

impl Backend {
    pub fn memory() -> Option<Backend> {
        Some(Backend::Memory(open("memory", RETENTION).unwrap()))
    }

    pub fn sqlite() -> Option<Backend> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nox.db");
        Some(Backend::Sqlite { _dir: dir, path })
    }

    #[cfg(feature = "postgres")]
    pub fn postgres() -> Option<Backend> {
        let base = postgres_url()?;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let schema = format!(
            "nox_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut client = postgres::Client::connect(&base, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to NOX_TEST_POSTGRES_URL={base}: {e}"));
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(Backend::Postgres {
            url: format!("{base}{sep}options=-csearch_path%3D{schema}"),
        })
    }

    /// Without the `postgres` feature there is no PostgreSQL store to test.
    #[cfg(not(feature = "postgres"))]
    pub fn postgres() -> Option<Backend> {
        eprintln!("skipped: built without the postgres feature");
        None
    }

    /// The store setting for `open`.
    pub fn setting(&self) -> String {
        match self {
            Backend::Memory(_) => "memory".into(),
            Backend::Sqlite { path, .. } => format!("sqlite:{}", path.display()),
            Backend::Postgres { url } => url.clone(),
        }
    }

    /// Opens the store (again): a new, separate instance on the same data.
    pub fn open(&self) -> Stores {
        self.try_open().unwrap()
    }

    pub fn try_open(&self) -> Result<Stores, OpenError> {
        match self {
            Backend::Memory(stores) => Ok(stores.clone()),
            _ => open(&self.setting(), RETENTION),
        }
    }

    /// Whether the store is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres { .. })
    }

    /// Whether the store is durable (a database with a schema).
    pub fn is_durable(&self) -> bool {
        !matches!(self, Backend::Memory(_))
    }

    /// Runs SQL on the store's database, behind the store's back.
    pub fn raw_sql(&self, sql: &str) {
        match self {
            Backend::Memory(_) => {}
            Backend::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
                c.execute_batch(sql).unwrap();
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres { url } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.batch_execute(sql).unwrap();
            }
            #[cfg(not(feature = "postgres"))]
            Backend::Postgres { .. } => unreachable!(),
        }
    }
}

impl Backend {
    /// Rows of (text, text, integer) from a query on the store's database (none for memory).
    pub fn raw_rows(&self, sql: &str) -> Vec<(String, String, i64)> {
        match self {
            Backend::Memory(_) => Vec::new(),
            Backend::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).unwrap();
                let mut s = c.prepare(sql).unwrap();
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres { url } => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                c.query(sql, &[])
                    .unwrap()
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect()
            }
            #[cfg(not(feature = "postgres"))]
            Backend::Postgres { .. } => unreachable!(),
        }
    }

    /// The pending counters (the sum of their shards, zeros left out), by key.
    pub fn counters(&self) -> Vec<(String, String, i64)> {
        self.raw_rows(
            "SELECT caller_kind, owner_id, CAST(sum(count) AS bigint) FROM pending_counts \
             GROUP BY caller_kind, owner_id HAVING sum(count) <> 0 ORDER BY 1, 2",
        )
    }

    /// Checks that the counters hold exactly the counted sessions, per caller and in total,
    /// and returns the total (`None` for memory).
    pub fn assert_counters_consistent(&self) -> Option<i64> {
        if !self.is_durable() {
            return None;
        }
        let counted = self.raw_rows(
            "SELECT caller_kind, owner_id, CAST(count(*) AS bigint) FROM link_sessions \
             WHERE counted IS TRUE GROUP BY caller_kind, owner_id \
             UNION ALL SELECT 'total', '', CAST(count(*) AS bigint) FROM link_sessions \
             WHERE counted IS TRUE HAVING count(*) > 0 ORDER BY 1, 2",
        );
        let counters = self.counters();
        assert_eq!(counters, counted, "counters vs counted sessions");
        // A counted session is never completed.
        let wrong = self.raw_rows(
            "SELECT 'x', 'x', CAST(count(*) AS bigint) FROM link_sessions \
             WHERE counted IS TRUE AND completed_at IS NOT NULL",
        );
        assert_eq!(wrong[0].2, 0, "completed sessions still counted");
        Some(
            counters
                .iter()
                .find(|(kind, _, _)| kind == "total")
                .map_or(0, |row| row.2),
        )
    }
}

/// The test cluster's URL, from `NOX_TEST_POSTGRES_URL`. Without it the test fails, unless
/// `NOX_TEST_POSTGRES=skip` says to skip PostgreSQL tests (then `None`).
pub fn postgres_url() -> Option<String> {
    match std::env::var("NOX_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("NOX_TEST_POSTGRES").as_deref() == Ok("skip") => {
            eprintln!("skipped: NOX_TEST_POSTGRES=skip and no NOX_TEST_POSTGRES_URL");
            None
        }
        _ => panic!(
            "NOX_TEST_POSTGRES_URL is not set: start a cluster with `scripts/pg.sh start DIR` and \
             export NOX_TEST_POSTGRES_URL=<the URL it prints> (and NOX_TEST_POSTGRES_DIR=DIR), \
             or set NOX_TEST_POSTGRES=skip to skip the PostgreSQL tests"
        ),
    }
}

/// A session of `kind` owned by `owner`, created at `created_at`, with a fresh token.
pub fn session(
    random: &SeededRandom,
    kind: SessionKind,
    owner: &str,
    created_at: i64,
) -> LinkSession {
    let token = LinkToken::generate(random).unwrap();
    let (language, asset_type, brand, link_url) = match kind {
        SessionKind::V2Supplier => (
            Language::Nl,
            Some(AssetType::HeatPump),
            None,
            format!("https://auth.nox.energy/ui?token={token}&language=nl"),
        ),
        SessionKind::V2Manufacturer => (
            Language::En,
            None,
            Some("Nibe".to_owned()),
            format!("https://auth.nox.energy/m/{token}/start?language=en"),
        ),
        SessionKind::V1Supplier => (
            Language::Fr,
            Some(AssetType::PvInverter),
            Some("solaredge".to_owned()),
            format!("https://auth.nox.energy/link?token={token}"),
        ),
    };
    LinkSession {
        token,
        kind,
        owner_id: owner.to_owned(),
        owner_name: format!("{owner} B.V. — “ünïcode”"),
        user_id: format!("user-{created_at}"),
        redirect_url: "https://app.example/cb?x=1&y=%20".into(),
        language,
        asset_type,
        brand,
        link_url,
        created_at,
        expires_at: expires_at(created_at),
        completed_at: None,
    }
}
