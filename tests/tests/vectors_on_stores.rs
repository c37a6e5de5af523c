//! The shared HTTP vectors on every store (issue 10): each case on a fresh SQLite file and on a
//! fresh PostgreSQL schema, through the same core, must give the same answers as on memory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use nox_authenticator::{Authenticator, Config};
use nox_authenticator_conformance as vectors;

fn on_store(setting: &str) -> Result<Authenticator, String> {
    let config = Config::from_json(&vectors::config_json()?).map_err(|e| e.to_string())?;
    let stores = nox_authenticator_store::open(setting, config.session_retention_seconds)
        .map_err(|e| e.to_string())?;
    stores
        .apply(Authenticator::builder(config))
        .build()
        .map_err(|e| e.to_string())
}

fn assert_none(name: &str, failures: Result<Vec<String>, String>) {
    let failures = failures.unwrap_or_else(|e| panic!("{name}: cannot run: {e}"));
    assert!(
        failures.is_empty(),
        "{name}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn http_vectors_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    assert_none(
        "http.json on SQLite",
        vectors::run_http_vectors_with(|case| {
            on_store(&format!(
                "sqlite:{}",
                dir.path().join(format!("case-{case}.db")).display()
            ))
        }),
    );
}

#[test]
fn http_vectors_on_postgres() {
    let url = match std::env::var("NOX_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var("NOX_TEST_POSTGRES").as_deref() == Ok("skip") => return,
        _ => panic!(
            "NOX_TEST_POSTGRES_URL is not set: run through scripts/test (which starts a \
             throwaway PostgreSQL), or set NOX_TEST_POSTGRES=skip"
        ),
    };
    // One schema per case, so that no case sees another's sessions or subscribers.
    let admin = std::cell::RefCell::new(postgres::Client::connect(&url, postgres::NoTls).unwrap());
    let run = format!("vectors_{}", std::process::id());
    let separator = if url.contains('?') { '&' } else { '?' };
    let failures = vectors::run_http_vectors_with(|case| {
        let schema = format!("{run}_{case}");
        admin
            .borrow_mut()
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .map_err(|e| e.to_string())?;
        on_store(&format!("{url}{separator}options=-csearch_path%3D{schema}"))
    });
    for case in 0..200 {
        let _ = admin
            .borrow_mut()
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {run}_{case} CASCADE"));
    }
    assert_none("http.json on PostgreSQL", failures);
}
