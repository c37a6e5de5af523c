//! The store's share of a completion's cost with and without its caller's webhook event
//! (issue 17, "Completion events" in docs/performance.md): `mark_completed` on SQLite and
//! PostgreSQL, alternating sessions without an event and with one, no HTTP and no dispatcher.
//! Printed, not asserted: `cargo test [--release] -p nox-authenticator-store --test
//! completion_cost -- --ignored --nocapture --test-threads 1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::time::Instant;

use common::{Backend, session};
use nox_authenticator::store::OutboxEvent;
use nox_authenticator::{Completion, PendingCaps, SeededRandom, SessionKind};

const NOW: i64 = 1_000_000;

fn compare(name: &str, backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(7);
    let n = 2000;
    let sessions: Vec<_> = (0..n)
        .map(|_| session(&random, SessionKind::V2Supplier, "s", NOW))
        .collect();
    for (i, s) in sessions.iter().enumerate() {
        let expiry = OutboxEvent {
            id: format!("msg_exp_{i:032}"),
            caller: "supplier:s".into(),
            event_type: "link_session.expired".into(),
            body: vec![b'x'; 700],
            created_at: s.expires_at,
        };
        // Every other session's caller has a webhook: its expiry event goes in with it.
        let event = (i % 2 == 1).then_some(&expiry);
        stores
            .sessions
            .insert_with_event(s.clone(), PendingCaps::NONE, NOW, event)
            .unwrap();
    }
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for (i, s) in sessions.iter().enumerate() {
        let event = OutboxEvent {
            id: format!("msg_done_{i:032}"),
            caller: "supplier:s".into(),
            event_type: "link_session.completed".into(),
            body: vec![b'x'; 700],
            created_at: NOW + 1,
        };
        let has_webhook = i % 2 == 1;
        let completion = Completion {
            completed_at: NOW + 1,
            brand: None,
            event: has_webhook.then_some(&event),
        };
        let started = Instant::now();
        stores
            .sessions
            .mark_completed(s.token.as_str(), completion)
            .unwrap();
        let us = started.elapsed().as_secs_f64() * 1e6;
        if has_webhook {
            with.push(us)
        } else {
            without.push(us)
        }
    }
    for v in [&mut without, &mut with] {
        v.sort_by(f64::total_cmp);
    }
    let pct = |v: &[f64], p: usize| v[(v.len() * p / 100).min(v.len() - 1)];
    println!(
        "{name} mark_completed ({} each, interleaved): without event p50 {:.0} µs p99 {:.0} µs; with event p50 {:.0} µs p99 {:.0} µs ({:+.0}% at p50)",
        n / 2,
        pct(&without, 50),
        pct(&without, 99),
        pct(&with, 50),
        pct(&with, 99),
        (pct(&with, 50) / pct(&without, 50) - 1.0) * 100.0
    );
}

#[test]
#[ignore = "a measurement, run by hand"]
fn sqlite_completion_with_and_without_an_event() {
    compare("sqlite", &Backend::sqlite().unwrap());
}

#[test]
#[ignore = "a measurement, run by hand"]
fn postgres_completion_with_and_without_an_event() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    compare("postgres", &backend);
}
