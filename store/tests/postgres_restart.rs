//! The PostgreSQL server goes away while a store is in use, then comes back: calls fail with
//! `Error::Store` meanwhile (no panic), and succeed again afterwards without reopening.
//!
//! A test binary of its own, since it stops the cluster every other PostgreSQL test uses.

#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Backend, session};
use nox_authenticator::{Error, PendingCaps, SeededRandom, SessionKind};

fn pg(command: &str, dir: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh");
    let status = Command::new(script).args([command, dir]).status().unwrap();
    assert!(status.success(), "scripts/pg.sh {command} {dir} failed");
}

/// Starts the cluster again however the test ends, so later tests find it running.
struct Restart<'a>(&'a str);
impl Drop for Restart<'_> {
    fn drop(&mut self) {
        pg("start", self.0);
    }
}

#[test]
fn a_stopped_server_is_a_store_error_and_a_restarted_one_is_used_again() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let dir = std::env::var("NOX_TEST_POSTGRES_DIR").unwrap_or_else(|_| {
        panic!("NOX_TEST_POSTGRES_DIR is not set: this test stops and starts the cluster of `scripts/pg.sh start DIR`")
    });
    let Backend::Postgres { url } = &backend else {
        unreachable!()
    };
    let stores = nox_authenticator_store::open(&format!("{url}&connect_timeout=2"), 60).unwrap();
    let random = SeededRandom::new(11);
    let s = session(&random, SessionKind::V2Supplier, "s", 0);
    stores
        .sessions
        .insert(s.clone(), PendingCaps::NONE, 0)
        .unwrap();
    // Several pooled connections, so broken idle ones are met after the restart.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| stores.sessions.get(s.token.as_str()).unwrap().unwrap());
        }
    });

    let restart = Restart(&dir);
    pg("stop", &dir);
    for _ in 0..3 {
        let started = Instant::now();
        match stores.sessions.get(s.token.as_str()) {
            Err(Error::Store { reason }) => assert!(reason.contains("postgres"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
    let other = session(&random, SessionKind::V2Supplier, "s", 1);
    assert!(matches!(
        stores.sessions.insert(other.clone(), PendingCaps::NONE, 1),
        Err(Error::Store { .. })
    ));
    assert!(matches!(stores.sessions.ping(), Err(Error::Store { .. })));
    assert!(matches!(stores.subscribers.len(), Err(Error::Store { .. })));
    drop(restart);

    // Back: the same store answers, on new connections.
    assert_eq!(stores.sessions.get(s.token.as_str()).unwrap(), Some(s));
    stores.sessions.ping().unwrap();
    stores.sessions.insert(other, PendingCaps::NONE, 1).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| assert_eq!(stores.sessions.len().unwrap(), 2));
        }
    });
}
