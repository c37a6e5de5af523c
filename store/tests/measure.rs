//! Costs per call, printed (not asserted): `cargo test --release -p nox-authenticator-store
//! --test measure -- --ignored --nocapture --test-threads 1` (with `NOX_TEST_POSTGRES_URL`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::time::Instant;

use common::{Backend, session};
use nox_authenticator::{Completion, PendingCaps, SeededRandom, SessionKind};

/// The defaults of spec decision 12.
const CAPS: PendingCaps = PendingCaps {
    per_caller: 100_000,
    total: 1_000_000,
};
const NOW: i64 = 1_000_000;

fn per_op(label: &str, n: usize, f: impl FnMut(usize)) {
    let started = Instant::now();
    (0..n).for_each(f);
    let us = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{label}: {us:.0} µs per call ({n} calls)");
}

fn measure(name: &str, backend: &Backend, bulk_sql: &str, after_bulk: &[&str]) {
    let stores = backend.open();
    let random = SeededRandom::new(1);
    let n = 1000;
    let sessions: Vec<_> = (0..n)
        .map(|_| session(&random, SessionKind::V2Supplier, "s", NOW))
        .collect();
    per_op(&format!("{name} insert (caps on, few pending)"), n, |i| {
        stores
            .sessions
            .insert(sessions[i].clone(), CAPS, NOW)
            .unwrap()
    });
    per_op(&format!("{name} insert (no caps)"), n, |_| {
        stores
            .sessions
            .insert(
                session(&random, SessionKind::V2Supplier, "t", NOW),
                PendingCaps::NONE,
                NOW,
            )
            .unwrap()
    });
    per_op(&format!("{name} get"), n, |i| {
        stores
            .sessions
            .get(sessions[i].token.as_str())
            .unwrap()
            .unwrap();
    });
    per_op(&format!("{name} mark_completed"), n, |i| {
        let c = Completion {
            completed_at: NOW + 1,
            brand: Some("nibe"),
            event: None,
        };
        stores
            .sessions
            .mark_completed(sessions[i].token.as_str(), c)
            .unwrap();
    });
    // 100,000 pending sessions of one caller.
    let started = Instant::now();
    backend.raw_sql(bulk_sql);
    for sql in after_bulk {
        backend.raw_sql(sql);
    }
    println!(
        "{name}: 100k pending sessions bulk-loaded in {:?}",
        started.elapsed()
    );
    let wide = PendingCaps {
        per_caller: 1_000_000,
        total: 10_000_000,
    };
    per_op(
        &format!("{name} insert at 100k pending for the caller (both counts over 100k)"),
        50,
        |_| {
            stores
                .sessions
                .insert(
                    session(&random, SessionKind::V2Supplier, "big", NOW),
                    wide,
                    NOW,
                )
                .unwrap()
        },
    );
    per_op(
        &format!("{name} insert at 100k pending, another caller (total count over 100k)"),
        50,
        |_| {
            stores
                .sessions
                .insert(
                    session(&random, SessionKind::V2Supplier, "small", NOW),
                    wide,
                    NOW,
                )
                .unwrap()
        },
    );
    per_op(
        &format!("{name} insert refused at the 100k cap"),
        50,
        |_| {
            assert!(
                stores
                    .sessions
                    .insert(
                        session(&random, SessionKind::V2Supplier, "big", NOW),
                        CAPS,
                        NOW
                    )
                    .is_err()
            )
        },
    );
    per_op(&format!("{name} evict_expired batch of 1000"), 10, |_| {
        stores.sessions.evict_expired(NOW + 10_000, 1000).unwrap();
    });
}

const COLUMNS: &str = "token_sha256, kind, caller_kind, owner_id, owner_name, user_id, redirect_url, \
                       language, link_url_head, created_at, expires_at, counted";

/// The counters recomputed after a bulk load behind the store's back.
const RECOUNT: &str = "DELETE FROM pending_counts; \
     INSERT INTO pending_counts SELECT caller_kind, owner_id, 0, count(*) FROM link_sessions \
     WHERE counted IS TRUE GROUP BY 1, 2; \
     INSERT INTO pending_counts SELECT 'total', '', 0, count(*) FROM link_sessions WHERE counted IS TRUE";

#[test]
#[ignore = "a measurement, run by hand"]
fn sqlite_costs() {
    let backend = Backend::sqlite().unwrap();
    let bulk = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO link_sessions ({COLUMNS}) SELECT randomblob(32), 'v2_supplier', 'supplier', 'big', \
         'S', 'u', 'https://a.example/', 'nl', 'https://x/?token=', {NOW}, {NOW} + 600, 1 FROM n"
    );
    measure("sqlite", &backend, &bulk, &[RECOUNT, "ANALYZE"]);
}

#[test]
#[ignore = "a measurement, run by hand"]
fn postgres_costs() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let bulk = format!(
        "INSERT INTO link_sessions ({COLUMNS}) SELECT sha256(convert_to('bulk' || i, 'UTF8')), 'v2_supplier', \
         'supplier', 'big', 'S', 'u', 'https://a.example/', 'nl', 'https://x/?token=', {NOW}, {NOW} + 600, \
         true FROM generate_series(1, 100000) AS i"
    );
    measure(
        "postgres",
        &backend,
        &bulk,
        &[RECOUNT, "VACUUM ANALYZE link_sessions"],
    );
}
