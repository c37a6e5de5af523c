//! A store created by migration 0001 with data in it comes out of 0002 right: the sessions
//! pending at that moment are counted (per caller and in total), completed and expired ones
//! are not, and the caps hold on the counters from the first insert on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use common::{Backend, session};
use nox_authenticator::{Error, PendingCaps, SeededRandom, SessionKind};

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sessions as 0001 stored them: `(caller_kind, kind, owner_id, expires in, completed)`.
const ROWS: [(&str, &str, &str, i64, bool); 8] = [
    ("supplier", "v2_supplier", "a", 300, false),
    ("supplier", "v1_supplier", "a", 400, false),
    ("supplier", "v2_supplier", "a", 500, false),
    ("supplier", "v2_supplier", "a", 500, true),
    ("supplier", "v2_supplier", "a", -10, false),
    ("manufacturer", "v2_manufacturer", "a", 200, false),
    ("manufacturer", "v2_manufacturer", "a", 550, false),
    ("supplier", "v2_supplier", "b", -100, false),
];

fn rows_sql(digest: impl Fn(usize) -> String, now: i64) -> String {
    let values: Vec<String> = ROWS
        .iter()
        .enumerate()
        .map(|(i, (caller_kind, kind, owner, expires_in, completed))| {
            let expires_at = now + expires_in;
            let completed_at = if *completed {
                (now - 1).to_string()
            } else {
                "NULL".into()
            };
            format!(
                "({}, '{kind}', '{caller_kind}', '{owner}', 'O', 'u', 'https://a.example/', 'nl', \
                 'https://x/?token=', {}, {expires_at}, {completed_at})",
                digest(i),
                expires_at - 600
            )
        })
        .collect();
    format!(
        "INSERT INTO link_sessions (token_sha256, kind, caller_kind, owner_id, owner_name, user_id, \
         redirect_url, language, link_url_head, created_at, expires_at, completed_at) VALUES {}",
        values.join(", ")
    )
}

fn check(backend: &Backend, now: i64) {
    let stores = backend.open();
    let counters = backend.counters();
    let key = |kind: &str, owner: &str, n: i64| (kind.to_owned(), owner.to_owned(), n);
    assert_eq!(
        counters,
        [
            key("manufacturer", "a", 2),
            key("supplier", "a", 3),
            key("total", "", 5)
        ]
    );
    assert_eq!(backend.assert_counters_consistent(), Some(5));
    let counts = stores.sessions.count_by_state(now).unwrap();
    assert_eq!(
        (counts.pending, counts.completed, counts.expired),
        (5, 1, 2)
    );
    // The caps hold on the migrated counts: supplier "a" has 3 pending.
    let random = SeededRandom::new(31);
    let caps = |per_caller| PendingCaps {
        per_caller,
        total: 6,
    };
    match stores.sessions.insert(
        session(&random, SessionKind::V2Supplier, "a", now),
        caps(3),
        now,
    ) {
        // The oldest pending session expires 200 s after the migration.
        Err(Error::TooManySessions {
            retry_after_seconds,
        }) => assert!((195..=200).contains(&retry_after_seconds)),
        other => panic!("{other:?}"),
    }
    stores
        .sessions
        .insert(
            session(&random, SessionKind::V2Supplier, "a", now),
            caps(4),
            now,
        )
        .unwrap();
    assert_eq!(
        stores
            .sessions
            .insert(
                session(&random, SessionKind::V2Supplier, "b", now),
                caps(4),
                now
            )
            .unwrap_err()
            .code(),
        "too_many_sessions"
    );
    assert_eq!(backend.assert_counters_consistent(), Some(6));
    // Eviction settles the migrated sessions as they expire.
    stores.sessions.evict_expired(now + 10_000, 1000).unwrap();
    assert_eq!(backend.assert_counters_consistent(), Some(0));
    assert!(stores.sessions.is_empty().unwrap());
}

#[test]
fn sqlite_data_of_0001_is_counted_by_0002() {
    let backend = Backend::sqlite().unwrap();
    let Backend::Sqlite { path, .. } = &backend else {
        unreachable!()
    };
    let now = unix_now();
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(include_str!("../migrations/sqlite/0001_init.sql"))
        .unwrap();
    c.execute_batch(
        "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, \
         applied_at INTEGER NOT NULL DEFAULT (unixepoch())); \
         INSERT INTO schema_version (version) VALUES (1)",
    )
    .unwrap();
    c.execute_batch(&rows_sql(|_| "randomblob(32)".to_owned(), now))
        .unwrap();
    drop(c);
    check(&backend, now);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_data_of_0001_is_counted_by_0002() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let now = unix_now();
    backend.raw_sql(include_str!("../migrations/postgres/0001_init.sql"));
    backend.raw_sql(
        "CREATE TABLE schema_version (version bigint NOT NULL PRIMARY KEY, \
         applied_at timestamptz NOT NULL DEFAULT now()); \
         INSERT INTO schema_version (version) VALUES (1)",
    );
    backend.raw_sql(&rows_sql(
        |i| format!("sha256(convert_to('row{i}', 'UTF8'))"),
        now,
    ));
    check(&backend, now);
}
