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

/// The latency of concurrent subscriber reads (v1 connects with known device ids) from
/// `NOX_MEASURE_THREADS` threads (default 32) for 5 s: p50, p99 and the maximum, to tell the
/// store's own tail from the server's (issue 10).
#[test]
#[ignore = "a measurement, run by hand"]
fn postgres_concurrent_reads() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let stores = std::sync::Arc::new(backend.open());
    for u in 0..1000 {
        stores
            .subscribers
            .upsert("m", &format!("u{u}"), &mut |_| {
                Ok(nox_authenticator::Subscriber {
                    manufacturer_id: "m".into(),
                    manufacturer_user_id: format!("u{u}"),
                    nox_user_id: "n".into(),
                    device_ids: vec!["d".into()],
                })
            })
            .unwrap();
    }
    let threads: usize = std::env::var("NOX_MEASURE_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let until = Instant::now() + std::time::Duration::from_secs(5);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let stores = std::sync::Arc::clone(&stores);
            std::thread::spawn(move || {
                let mut us = Vec::new();
                let mut i = t;
                while Instant::now() < until {
                    let started = Instant::now();
                    stores
                        .subscribers
                        .get("m", &format!("u{}", i % 1000))
                        .unwrap();
                    us.push(started.elapsed().as_secs_f64() * 1e6);
                    i += 7;
                }
                us
            })
        })
        .collect();
    let mut all: Vec<f64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_by(f64::total_cmp);
    let pct = |p: usize| all[(all.len() * p / 100).min(all.len() - 1)] / 1000.0;
    println!(
        "postgres subscriber reads from {threads} threads: {} in 5 s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms",
        all.len(),
        pct(50),
        pct(99),
        all[all.len() - 1] / 1000.0
    );
}
