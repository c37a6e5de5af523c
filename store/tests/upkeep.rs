//! The store's upkeep seams on every store: the hosted flow's OAuth 2.0 sign-ins (taken once
//! across instances, refused once expired, pruned in batches) and the pruning of the outbox's
//! delivered and failed events after their retentions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use nox_authenticator::store::{Attempt, AttemptOutcome, OutboxEvent};
use nox_authenticator::{Completion, PendingCaps, SeededRandom, SessionKind};
use nox_authenticator_store::Stores;

use common::{Backend, RETENTION, session};

fn oauth_states_are_taken_once_and_expire(backend: &Backend) {
    let a = backend.open();
    let b = backend.open();
    a.oauth_states.put("s1", b"sealed one", 1000).unwrap();
    a.oauth_states.put("s2", b"sealed two", 1000).unwrap();
    // Another instance takes it; then it is gone for both.
    assert_eq!(
        b.oauth_states.take("s1", 999).unwrap().as_deref(),
        Some(&b"sealed one"[..])
    );
    assert_eq!(a.oauth_states.take("s1", 999).unwrap(), None);
    assert_eq!(b.oauth_states.take("s1", 999).unwrap(), None);
    // An expired one is not handed out (and is used up by the attempt).
    assert_eq!(a.oauth_states.take("s2", 1000).unwrap(), None);
    assert_eq!(a.oauth_states.take("s2", 10).unwrap(), None);
    assert_eq!(a.oauth_states.take("unknown", 10).unwrap(), None);
    // Pruning deletes expired ones only, in batches.
    for i in 0..5 {
        a.oauth_states
            .put(&format!("old{i}"), b"x", 2000 + i)
            .unwrap();
    }
    a.oauth_states.put("fresh", b"kept", 9000).unwrap();
    assert_eq!(b.oauth_states.prune(3000, 3).unwrap(), 3);
    assert_eq!(b.oauth_states.prune(3000, 3).unwrap(), 2);
    assert_eq!(b.oauth_states.prune(3000, 3).unwrap(), 0);
    assert_eq!(
        a.oauth_states.take("fresh", 3000).unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}

fn oauth_states_taken_concurrently_go_to_one_taker(backend: &Backend) {
    let stores: Vec<Stores> = (0..4).map(|_| backend.open()).collect();
    stores[0].oauth_states.put("race", b"once", 1000).unwrap();
    let got: usize = std::thread::scope(|scope| {
        let takers: Vec<_> = stores
            .iter()
            .map(|s| scope.spawn(|| s.oauth_states.take("race", 10).unwrap().is_some()))
            .collect();
        takers
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum()
    });
    assert_eq!(got, 1);
}

/// `n` completed sessions at `at` with their events; returns the event ids.
fn completed_events(stores: &Stores, seed: u64, n: usize, at: i64) -> Vec<String> {
    let random = SeededRandom::new(seed);
    (0..n)
        .map(|i| {
            let s = session(&random, SessionKind::V2Supplier, "acme", at);
            stores
                .sessions
                .insert(s.clone(), PendingCaps::NONE, at)
                .unwrap();
            let event = OutboxEvent {
                id: format!("msg_{seed}_{i}"),
                caller: "supplier:acme".into(),
                event_type: "link_session.completed".into(),
                body: b"{}".to_vec(),
                created_at: at,
            };
            let done = Completion {
                completed_at: at,
                brand: None,
                event: Some(&event),
            };
            stores
                .sessions
                .mark_completed(s.token.as_str(), done)
                .unwrap();
            event.id
        })
        .collect()
}

/// Claims every due event at `at` and records `outcome` for each.
fn settle_all(stores: &Stores, at: i64, outcome: AttemptOutcome) {
    let claimed = stores.outbox.claim_due(at, 1000, 30, "i1").unwrap();
    assert!(!claimed.is_empty());
    for d in claimed {
        let attempt = Attempt {
            at,
            status: Some(500),
            error: None,
            outcome,
        };
        assert!(
            stores
                .outbox
                .record_attempt(&d.event.id, "i1", &attempt)
                .unwrap()
        );
    }
}

fn the_outbox_is_pruned_after_its_retentions(backend: &Backend) {
    let stores = backend.open();
    let delivered = completed_events(&stores, 1, 3, 100);
    settle_all(&stores, 100, AttemptOutcome::Delivered);
    let failed = completed_events(&stores, 2, 4, 200);
    settle_all(&stores, 200, AttemptOutcome::Failed);
    let waiting = completed_events(&stores, 3, 1, 300);
    let present = |id: &str| stores.outbox.delivery(id).unwrap().is_some();
    // Within both retentions nothing leaves.
    assert_eq!(
        stores
            .outbox_retention
            .prune_outbox(100 + RETENTION - 1, Some(199), 10)
            .unwrap(),
        0
    );
    // Failed ones are kept when their retention is off.
    assert_eq!(
        stores
            .outbox_retention
            .prune_outbox(100 + RETENTION, None, 10)
            .unwrap(),
        3
    );
    assert!(delivered.iter().all(|id| !present(id)));
    assert!(failed.iter().all(|id| present(id)));
    // Failed ones past theirs leave, in bounded batches; the waiting one stays.
    assert_eq!(
        stores
            .outbox_retention
            .prune_outbox(100 + RETENTION, Some(200), 3)
            .unwrap(),
        3
    );
    assert_eq!(
        stores
            .outbox_retention
            .prune_outbox(100 + RETENTION, Some(200), 3)
            .unwrap(),
        1
    );
    assert!(failed.iter().all(|id| !present(id)));
    assert!(present(&waiting[0]));
    assert_eq!(stores.outbox.failed(10).unwrap(), vec![]);
}

macro_rules! upkeep {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $test() {
                    if let Some(backend) = crate::common::Backend::$backend() {
                        super::$test(&backend);
                    }
                }
            )*
        }
    };
}

upkeep!(memory: oauth_states_are_taken_once_and_expire, oauth_states_taken_concurrently_go_to_one_taker);
upkeep!(sqlite: oauth_states_are_taken_once_and_expire, oauth_states_taken_concurrently_go_to_one_taker, the_outbox_is_pruned_after_its_retentions);
upkeep!(postgres: oauth_states_are_taken_once_and_expire, oauth_states_taken_concurrently_go_to_one_taker, the_outbox_is_pruned_after_its_retentions);

/// The write-ahead log stays bounded under a steady stream of commits: the checkpoint thread's
/// passive checkpoints never catch up with a busy writer, so past a bound one waits for it and
/// truncates the log (before, the log grew by every commit: 2.5 GB after 300,000 creates).
#[test]
fn the_sqlite_log_stays_bounded_under_steady_writes() {
    let Some(Backend::Sqlite { path, _dir }) = Backend::sqlite() else {
        unreachable!()
    };
    let stores = Backend::Sqlite {
        path: path.clone(),
        _dir,
    };
    let opened = stores.open();
    let random = SeededRandom::new(11);
    let wal = path.with_extension("db-wal");
    let mut largest = 0;
    // One commit per insert, as a caller that creates sessions one after the other makes:
    // each appends several pages to the log (about 40 KB), 4,000 of them well over the bound.
    for i in 0..4_000 {
        let s = session(&random, SessionKind::V2Supplier, "supplier_1", 1_000 + i);
        opened.sessions.insert(s, PendingCaps::NONE, 1_000).unwrap();
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    eprintln!("largest write-ahead log: {largest} bytes");
    assert!(
        largest < 48 * 1024 * 1024,
        "the write-ahead log grew to {largest} bytes"
    );
}
