//! PostgreSQL specifics: refusals at open, URL forms, calls from a Tokio blocking pool.
//! (Stopping the server mid-run is `tests/postgres_restart.rs`, a test binary of its own.)

#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::time::{Duration, Instant};

use common::{Backend, session};
use nox_authenticator::{Completion, MarkCompleted, PendingCaps, SeededRandom, SessionKind};
use nox_authenticator_store::{OpenError, open};

#[test]
fn an_unreachable_server_fails_fast_at_open() {
    for url in [
        "postgres://nox@127.0.0.1:1/postgres",
        "postgres://nox@%2Fnonexistent%2Fdir:5432/postgres",
        "postgresql://nox@127.0.0.1:1/postgres?connect_timeout=1",
    ] {
        let started = Instant::now();
        let result = open(url, 60);
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{url} took {:?}",
            started.elapsed()
        );
        match result {
            Err(e @ OpenError::Unavailable { .. }) => {
                assert!(e.to_string().contains("cannot connect"), "{e}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[test]
fn tls_and_bad_urls_are_refused_as_settings() {
    for url in [
        "postgres://nox@db/nox?sslmode=require",
        "postgres://nox@db/nox?sslmode=verify-full",
        "postgres://nox@db/nox?sslmode=verify-ca",
    ] {
        match open(url, 60) {
            Err(e @ OpenError::BadSetting { .. }) => {
                assert!(e.to_string().contains("TLS is not supported"), "{e}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    match open("postgres://nox:s3cret@db/nox?no_such_option=1", 60) {
        Err(e @ OpenError::BadSetting { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("no_such_option") && !text.contains("s3cret"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn socket_urls_in_both_forms_work() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let Some(dir) = std::env::var("NOX_TEST_POSTGRES_DIR").ok() else {
        eprintln!("skipped the host= form: NOX_TEST_POSTGRES_DIR is not set");
        return;
    };
    let port = url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    open(&url, 60).unwrap().sessions.ping().unwrap();
    let query_form = format!("postgres://nox@/postgres?host={dir}&port={port}");
    open(&query_form, 60).unwrap().sessions.ping().unwrap();
}

#[test]
fn calls_work_from_a_tokio_blocking_pool_and_drop_in_async_code() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let stores = backend.open();
        let random = SeededRandom::new(9);
        let s = session(&random, SessionKind::V2Supplier, "s", 0);
        let token = s.token.as_str().to_owned();
        let sessions = stores.sessions.clone();
        let inserted = s.clone();
        tokio::task::spawn_blocking(move || sessions.insert(inserted, PendingCaps::NONE, 0))
            .await
            .unwrap()
            .unwrap();
        let mut handles = Vec::new();
        for i in 0..8 {
            let sessions = stores.sessions.clone();
            let token = token.clone();
            handles.push(tokio::task::spawn_blocking(move || {
                sessions.mark_completed(
                    &token,
                    Completion {
                        completed_at: i,
                        brand: None,
                        event: None,
                    },
                )
            }));
        }
        let mut completed = 0;
        for handle in handles {
            if let MarkCompleted::Completed(_) = handle.await.unwrap().unwrap() {
                completed += 1;
            }
        }
        assert_eq!(completed, 1);
        let sessions = stores.sessions.clone();
        let got = tokio::task::spawn_blocking(move || sessions.get(&token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.map(|g| g.user_id), Some(s.user_id));
        // The last handle to the pool goes away inside async code, as a host's shutdown does.
        drop(stores);
    });
}

#[test]
fn settling_and_refusals_use_the_counted_expiry_index() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let Backend::Postgres { url } = &backend else {
        unreachable!()
    };
    drop(backend.open());
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    // 3000 sessions of 30 callers, a third of them counted.
    client
        .batch_execute(
            "INSERT INTO link_sessions (token_sha256, kind, caller_kind, owner_id, owner_name, user_id, \
             redirect_url, language, link_url_head, created_at, expires_at, completed_at, counted) \
             SELECT sha256(convert_to(i::text, 'UTF8')), 'v2_supplier', 'supplier', 's' || (i % 30), 'S', 'u', \
             'https://a.example/', 'nl', 'https://x/?token=', i, i + 600, CASE WHEN i % 3 <> 0 THEN i END, \
             i % 3 = 0 FROM generate_series(1, 3000) AS i",
        )
        .unwrap();
    client
        .batch_execute("VACUUM ANALYZE link_sessions")
        .unwrap();
    for query in [
        "SELECT token_sha256 FROM link_sessions WHERE counted AND expires_at <= 700 \
         ORDER BY expires_at LIMIT 1000",
        "SELECT min(expires_at) FROM link_sessions WHERE counted AND expires_at > 0",
    ] {
        let plan: Vec<String> = client
            .query(&format!("EXPLAIN {query}"), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains("link_sessions_by_counted_expiry"),
            "{query}: {plan}"
        );
    }
}
