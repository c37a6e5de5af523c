//! One contract, three stores: memory (the reference semantics), a real SQLite file and a
//! real PostgreSQL database (`NOX_TEST_POSTGRES_URL`, see `tests/common`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Backend, RETENTION, session};
use nox_authenticator::store::{Attempt, AttemptOutcome, OutboxEvent, QueueStats};
use nox_authenticator::{
    Completion, Error, LinkSession, MarkCompleted, PendingCaps, SeededRandom, SessionCounts,
    SessionKind, Subscriber, SubscriberStore,
};
use nox_authenticator_store::OpenError;

const KINDS: [SessionKind; 3] = [
    SessionKind::V2Supplier,
    SessionKind::V2Manufacturer,
    SessionKind::V1Supplier,
];

fn round_trip_of_every_kind(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(1);
    let mut all = Vec::new();
    for kind in KINDS {
        let mut s = session(&random, kind, "acme", 1_700_000_000);
        if kind == SessionKind::V1Supplier {
            s.completed_at = Some(1_700_000_100);
        }
        stores
            .sessions
            .insert(s.clone(), PendingCaps::NONE, 1_700_000_000)
            .unwrap();
        all.push(s);
    }
    // A link URL that does not hold the token survives too.
    let mut odd = session(&random, SessionKind::V2Supplier, "acme", 1_700_000_001);
    odd.link_url = "https://elsewhere.example/".into();
    stores
        .sessions
        .insert(odd.clone(), PendingCaps::NONE, 1_700_000_001)
        .unwrap();
    all.push(odd);
    // Read back by another instance: every field equal.
    let other = backend.open();
    for s in &all {
        let got = other.sessions.get(s.token.as_str()).unwrap().unwrap();
        assert_eq!(got.token, s.token);
        assert_eq!(got.kind, s.kind);
        assert_eq!(got.owner_id, s.owner_id);
        assert_eq!(got.owner_name, s.owner_name);
        assert_eq!(got.user_id, s.user_id);
        assert_eq!(got.redirect_url, s.redirect_url);
        assert_eq!(got.language, s.language);
        assert_eq!(got.asset_type, s.asset_type);
        assert_eq!(got.brand, s.brand);
        assert_eq!(got.link_url, s.link_url);
        assert_eq!(got.created_at, s.created_at);
        assert_eq!(got.expires_at, s.expires_at);
        assert_eq!(got.completed_at, s.completed_at);
        assert_eq!(&got, s);
    }
    assert_eq!(other.sessions.len().unwrap(), 4);
    // Unknown and malformed tokens are simply not found.
    assert_eq!(other.sessions.get(&"b".repeat(43)).unwrap(), None);
    assert_eq!(other.sessions.get("short").unwrap(), None);
    let done = Completion {
        completed_at: 5,
        brand: None,
        event: None,
    };
    assert_eq!(
        other
            .sessions
            .mark_completed(&"b".repeat(43), done)
            .unwrap(),
        MarkCompleted::NotFound
    );
    assert_eq!(
        other.sessions.mark_completed("", done).unwrap(),
        MarkCompleted::NotFound
    );
}

fn completes_once_and_records_a_brand_only_if_none(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(2);
    let unbranded = session(&random, SessionKind::V2Supplier, "acme", 0);
    let branded = session(&random, SessionKind::V2Manufacturer, "nibe-id", 0);
    for s in [&unbranded, &branded] {
        stores
            .sessions
            .insert(s.clone(), PendingCaps::NONE, 0)
            .unwrap();
    }
    let pick = |completed_at| Completion {
        completed_at,
        brand: Some("daikin"),
        event: None,
    };
    match stores
        .sessions
        .mark_completed(unbranded.token.as_str(), pick(5))
        .unwrap()
    {
        MarkCompleted::Completed(s) => {
            assert_eq!(s.completed_at, Some(5));
            assert_eq!(s.brand.as_deref(), Some("daikin"));
            assert_eq!(s.link_url, unbranded.link_url);
        }
        other => panic!("{other:?}"),
    }
    match stores
        .sessions
        .mark_completed(
            unbranded.token.as_str(),
            Completion {
                completed_at: 6,
                brand: Some("nibe"),
                event: None,
            },
        )
        .unwrap()
    {
        MarkCompleted::AlreadyCompleted(s) => {
            assert_eq!(s.completed_at, Some(5));
            assert_eq!(s.brand.as_deref(), Some("daikin"));
        }
        other => panic!("{other:?}"),
    }
    match stores
        .sessions
        .mark_completed(branded.token.as_str(), pick(7))
        .unwrap()
    {
        MarkCompleted::Completed(s) => assert_eq!(s.brand.as_deref(), Some("Nibe")),
        other => panic!("{other:?}"),
    }
    let stored = backend
        .open()
        .sessions
        .get(unbranded.token.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.completed_at, stored.brand.as_deref()),
        (Some(5), Some("daikin"))
    );
}

fn pending_caps_hold_per_caller_and_in_total(backend: &Backend) {
    let stores = backend.open();
    let sessions = &stores.sessions;
    let random = SeededRandom::new(3);
    let caps = PendingCaps {
        per_caller: 2,
        total: 3,
    };
    let first = session(&random, SessionKind::V2Supplier, "s", 0);
    sessions.insert(first.clone(), caps, 0).unwrap();
    sessions
        .insert(session(&random, SessionKind::V1Supplier, "s", 10), caps, 10)
        .unwrap();
    // v2 and v1 supplier sessions count for one caller; the oldest expires at 600.
    let refused = sessions
        .insert(session(&random, SessionKind::V2Supplier, "s", 20), caps, 20)
        .unwrap_err();
    assert_eq!(
        refused,
        Error::TooManySessions {
            retry_after_seconds: 580
        }
    );
    // A manufacturer with the same id is another caller.
    sessions
        .insert(
            session(&random, SessionKind::V2Manufacturer, "s", 25),
            caps,
            25,
        )
        .unwrap();
    // Completing one makes room for the caller... up to the total.
    let done = Completion {
        completed_at: 30,
        brand: None,
        event: None,
    };
    assert!(matches!(
        sessions.mark_completed(first.token.as_str(), done).unwrap(),
        MarkCompleted::Completed(_)
    ));
    sessions
        .insert(session(&random, SessionKind::V2Supplier, "s", 30), caps, 30)
        .unwrap();
    let refused = sessions
        .insert(
            session(&random, SessionKind::V2Supplier, "other", 40),
            caps,
            40,
        )
        .unwrap_err();
    assert_eq!(refused.code(), "too_many_sessions");
    assert!(
        matches!(refused, Error::TooManySessions { retry_after_seconds } if (1..=600).contains(&retry_after_seconds))
    );
    // Nothing refused was stored: 4 sessions (one completed).
    assert_eq!(sessions.len().unwrap(), 4);
    // Expiry makes room: at 610 the session of 10 is expired, so there are 2 pending.
    sessions
        .insert(
            session(&random, SessionKind::V2Supplier, "other", 610),
            caps,
            610,
        )
        .unwrap();
    let refused = sessions
        .insert(
            session(&random, SessionKind::V2Supplier, "third", 611),
            caps,
            611,
        )
        .unwrap_err();
    // The oldest pending is the manufacturer's, created at 25.
    assert_eq!(
        refused,
        Error::TooManySessions {
            retry_after_seconds: 625 - 611
        }
    );
    // No caps: no counting at all.
    for t in 0..5 {
        sessions
            .insert(
                session(&random, SessionKind::V2Supplier, "s", 612 + t),
                PendingCaps::NONE,
                612 + t,
            )
            .unwrap();
    }
    assert_eq!(sessions.len().unwrap(), 10);
}

fn expiry_is_settled_by_insert_and_by_eviction(backend: &Backend) {
    let stores = backend.open();
    let sessions = &stores.sessions;
    let random = SeededRandom::new(21);
    let caps = PendingCaps {
        per_caller: 2,
        total: 100,
    };
    let durable = backend.is_durable();
    let total = |n: i64| durable.then_some(n);
    for t in [0, 1] {
        sessions
            .insert(session(&random, SessionKind::V2Supplier, "s", t), caps, t)
            .unwrap();
    }
    assert_eq!(backend.assert_counters_consistent(), total(2));
    // Both pending at 599 (the first expires at 600): refused, retry in a second.
    assert_eq!(
        sessions
            .insert(
                session(&random, SessionKind::V2Supplier, "s", 599),
                caps,
                599
            )
            .unwrap_err(),
        Error::TooManySessions {
            retry_after_seconds: 1
        }
    );
    // At 600 the first has expired: the insert settles it, and goes in.
    sessions
        .insert(
            session(&random, SessionKind::V2Supplier, "s", 600),
            caps,
            600,
        )
        .unwrap();
    assert_eq!(backend.assert_counters_consistent(), total(2));
    // Eviction settles too, without any insert (a limit of 0 deletes nothing).
    assert_eq!(sessions.evict_expired(2000, 0).unwrap(), 0);
    assert_eq!(backend.assert_counters_consistent(), total(0));
    assert_eq!(sessions.len().unwrap(), 3);
    assert_eq!(
        sessions.count_by_state(2000).unwrap(),
        SessionCounts {
            pending: 0,
            completed: 0,
            expired: 3
        }
    );
    // A session stored completed, or already expired, is not counted.
    let mut done = session(&random, SessionKind::V2Supplier, "s", 2000);
    done.completed_at = Some(2000);
    sessions.insert(done, caps, 2000).unwrap();
    sessions
        .insert(
            session(&random, SessionKind::V2Supplier, "s", 0),
            caps,
            2000,
        )
        .unwrap();
    assert_eq!(backend.assert_counters_consistent(), total(0));
    for _ in 0..2 {
        sessions
            .insert(
                session(&random, SessionKind::V1Supplier, "s", 2000),
                caps,
                2000,
            )
            .unwrap();
    }
    assert_eq!(
        sessions
            .insert(
                session(&random, SessionKind::V2Supplier, "s", 2001),
                caps,
                2001
            )
            .unwrap_err(),
        Error::TooManySessions {
            retry_after_seconds: 599
        }
    );
    assert_eq!(backend.assert_counters_consistent(), total(2));
}

fn completion_leaves_the_counts_once(backend: &Backend) {
    let stores = backend.open();
    let sessions = &stores.sessions;
    let random = SeededRandom::new(22);
    let caps = PendingCaps {
        per_caller: 1,
        total: 100,
    };
    let durable = backend.is_durable();
    let total = |n: i64| durable.then_some(n);
    let done = |completed_at| Completion {
        completed_at,
        brand: None,
        event: None,
    };
    let a = session(&random, SessionKind::V2Manufacturer, "m", 0);
    sessions.insert(a.clone(), caps, 0).unwrap();
    let b = session(&random, SessionKind::V2Manufacturer, "m", 2);
    assert_eq!(
        sessions.insert(b.clone(), caps, 1).unwrap_err().code(),
        "too_many_sessions"
    );
    assert!(matches!(
        sessions.mark_completed(a.token.as_str(), done(1)).unwrap(),
        MarkCompleted::Completed(_)
    ));
    assert_eq!(backend.assert_counters_consistent(), total(0));
    assert!(matches!(
        sessions.mark_completed(a.token.as_str(), done(2)).unwrap(),
        MarkCompleted::AlreadyCompleted(_)
    ));
    assert_eq!(backend.assert_counters_consistent(), total(0));
    sessions.insert(b.clone(), caps, 2).unwrap();
    assert_eq!(backend.assert_counters_consistent(), total(1));
    // Completing a session whose expiry was settled already does not count it out again.
    sessions.evict_expired(700, 0).unwrap();
    assert_eq!(backend.assert_counters_consistent(), total(0));
    assert!(matches!(
        sessions
            .mark_completed(b.token.as_str(), done(700))
            .unwrap(),
        MarkCompleted::Completed(_)
    ));
    assert_eq!(backend.assert_counters_consistent(), total(0));
    assert_eq!(
        sessions.count_by_state(700).unwrap(),
        SessionCounts {
            pending: 0,
            completed: 2,
            expired: 0
        }
    );
    sessions
        .insert(
            session(&random, SessionKind::V2Manufacturer, "m", 700),
            caps,
            700,
        )
        .unwrap();
    assert_eq!(backend.assert_counters_consistent(), total(1));
    assert_eq!(sessions.count_by_state(700).unwrap().pending, 1);
}

fn eviction_keeps_the_counts(backend: &Backend) {
    let stores = backend.open();
    let sessions = &stores.sessions;
    let random = SeededRandom::new(23);
    let caps = PendingCaps {
        per_caller: 1000,
        total: 1000,
    };
    let durable = backend.is_durable();
    let total = |n: i64| durable.then_some(n);
    let mut all = Vec::new();
    for t in 0..50 {
        let s = session(&random, SessionKind::V2Supplier, &format!("c{}", t % 5), t);
        sessions.insert(s.clone(), caps, t).unwrap();
        all.push(s);
    }
    for s in all.iter().step_by(5) {
        sessions
            .mark_completed(
                s.token.as_str(),
                Completion {
                    completed_at: 60,
                    brand: None,
                    event: None,
                },
            )
            .unwrap();
    }
    assert_eq!(backend.assert_counters_consistent(), total(40));
    assert_eq!(sessions.count_by_state(60).unwrap().pending, 40);
    // At 620 the sessions created before 20 have expired (none is past its retention yet).
    assert_eq!(sessions.evict_expired(620, 1000).unwrap(), 0);
    assert_eq!(backend.assert_counters_consistent(), total(24));
    assert_eq!(sessions.count_by_state(620).unwrap().pending, 24);
    assert_eq!(sessions.evict_expired(670, 1000).unwrap(), 11);
    assert_eq!(backend.assert_counters_consistent(), total(0));
    assert_eq!(sessions.evict_expired(10_000, 1000).unwrap(), 39);
    assert_eq!(backend.assert_counters_consistent(), total(0));
    assert_eq!(
        sessions.count_by_state(10_000).unwrap(),
        SessionCounts::default()
    );
    assert!(sessions.is_empty().unwrap());
}

fn concurrent_inserts_keep_the_caps(backend: &Backend) {
    let a = backend.open();
    let b = backend.open();
    let caps = PendingCaps {
        per_caller: 100,
        total: 1000,
    };
    let accepted = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for i in 0..8u64 {
            let store = if i % 2 == 0 { &a.sessions } else { &b.sessions };
            let accepted = &accepted;
            scope.spawn(move || {
                let random = SeededRandom::new(100 + i);
                for j in 0..40 {
                    let s = session(&random, SessionKind::V2Supplier, "s", 0);
                    match store.insert(s.clone(), caps, 0) {
                        Ok(()) => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            // Some are completed at once, which makes room.
                            if j % 10 == 0 {
                                let done = Completion {
                                    completed_at: 1,
                                    brand: None,
                                    event: None,
                                };
                                store.mark_completed(s.token.as_str(), done).unwrap();
                            }
                        }
                        Err(e) => assert_eq!(e.code(), "too_many_sessions", "{e:?}"),
                    }
                }
            });
        }
    });
    let counts = a.sessions.count_by_state(0).unwrap();
    let accepted = accepted.into_inner() as u64;
    assert_eq!(counts.pending + counts.completed, accepted);
    if backend.is_postgres() {
        // Counters read without a lock: passed by at most the inserts in flight.
        assert!((100..=100 + 64).contains(&counts.pending), "{counts:?}");
    } else {
        assert_eq!(counts.pending, 100, "{counts:?}");
    }
    if let Some(total) = backend.assert_counters_consistent() {
        assert_eq!(total as u64, counts.pending);
    }
}

fn a_failing_call_undoes_only_itself(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(24);
    let existing = session(&random, SessionKind::V2Supplier, "s", 0);
    stores
        .sessions
        .insert(existing.clone(), PendingCaps::NONE, 0)
        .unwrap();
    // Calls that succeed and calls that fail (an update refusing, a token collision), at
    // once: each gets its own outcome, and exactly the successful ones are stored.
    std::thread::scope(|scope| {
        for i in 0..16u64 {
            let stores = &stores;
            let existing = &existing;
            scope.spawn(move || {
                let random = SeededRandom::new(200 + i);
                for j in 0..20 {
                    let user = format!("u{i}");
                    match i % 4 {
                        0 => {
                            let refused = stores
                                .subscribers
                                .upsert("m", &user, &mut connect(&["x"], &user, 0))
                                .unwrap_err();
                            assert_eq!(refused.fields(), ["device_ids"]);
                        }
                        1 => {
                            let id = format!("d{j}");
                            stores
                                .subscribers
                                .upsert("m", &user, &mut connect(&[id.as_str()], &user, 1000))
                                .unwrap();
                        }
                        2 => stores
                            .sessions
                            .insert(
                                session(&random, SessionKind::V2Supplier, "s", 0),
                                PendingCaps::NONE,
                                0,
                            )
                            .unwrap(),
                        _ => {
                            let collision = stores
                                .sessions
                                .insert(existing.clone(), PendingCaps::NONE, 0)
                                .unwrap_err();
                            assert_eq!(collision.code(), "store_error", "{collision:?}");
                        }
                    }
                }
            });
        }
    });
    let other = backend.open();
    assert_eq!(other.subscribers.len().unwrap(), 4);
    for i in 0..16 {
        let stored = other.subscribers.get("m", &format!("u{i}")).unwrap();
        if i % 4 == 1 {
            assert_eq!(stored.unwrap().device_ids.len(), 20);
        } else {
            assert_eq!(stored, None);
        }
    }
    assert_eq!(other.sessions.len().unwrap(), 1 + 4 * 20);
    assert_eq!(
        other.sessions.get(existing.token.as_str()).unwrap(),
        Some(existing)
    );
    backend.assert_counters_consistent();
}

fn evicts_in_batches_after_retention(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(4);
    for t in 0..250 {
        stores
            .sessions
            .insert(
                session(&random, SessionKind::V2Supplier, "s", t),
                PendingCaps::NONE,
                t,
            )
            .unwrap();
    }
    assert_eq!(stores.sessions.len().unwrap(), 250);
    // Sessions created at c are evicted from c + 600 + 60 on.
    assert_eq!(stores.sessions.evict_expired(659, 1000).unwrap(), 0);
    assert_eq!(stores.sessions.evict_expired(700, 1000).unwrap(), 41);
    assert_eq!(stores.sessions.evict_expired(700, 1000).unwrap(), 0);
    assert_eq!(stores.sessions.evict_expired(10_000, 100).unwrap(), 100);
    assert_eq!(stores.sessions.evict_expired(10_000, 100).unwrap(), 100);
    assert_eq!(stores.sessions.evict_expired(10_000, 100).unwrap(), 9);
    assert_eq!(stores.sessions.evict_expired(10_000, 0).unwrap(), 0);
    assert!(stores.sessions.is_empty().unwrap());
    assert_eq!(RETENTION, 60);
}

fn connect(
    ids: &[&str],
    fresh: &str,
    cap: u64,
) -> impl FnMut(Option<Subscriber>) -> nox_authenticator::Result<Subscriber> + Send + 'static {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    let fresh = fresh.to_owned();
    move |existing| {
        let mut s = existing.unwrap_or_else(|| Subscriber {
            manufacturer_id: "m".into(),
            manufacturer_user_id: "u".into(),
            nox_user_id: fresh.clone(),
            device_ids: Vec::new(),
        });
        s.merge_device_ids(&ids, cap)?;
        Ok(s)
    }
}

/// How a test upserts: in the call, or queued for the store's threads and awaited.
#[derive(Debug, Clone, Copy)]
enum Via {
    Call,
    Queue,
}

impl Via {
    fn upsert(
        self,
        subs: &dyn SubscriberStore,
        manufacturer_id: &str,
        user_id: &str,
        mut update: impl FnMut(Option<Subscriber>) -> nox_authenticator::Result<Subscriber>
        + Send
        + 'static,
    ) -> nox_authenticator::Result<Subscriber> {
        match self {
            Via::Call => subs.upsert(manufacturer_id, user_id, &mut update),
            Via::Queue => {
                let (answered, answer) = std::sync::mpsc::channel();
                subs.upsert_queued(
                    manufacturer_id.to_owned(),
                    user_id.to_owned(),
                    Box::new(update),
                    Box::new(move |result| answered.send(result).unwrap()),
                );
                let result = answer.recv().unwrap();
                assert!(answer.recv().is_err(), "answered exactly once");
                result
            }
        }
    }
}

fn subscribers_keep_the_union_in_first_seen_order(backend: &Backend) {
    the_union_in_first_seen_order(backend, Via::Call);
}

fn queued_upserts_keep_the_union_in_first_seen_order(backend: &Backend) {
    the_union_in_first_seen_order(backend, Via::Queue);
}

fn the_union_in_first_seen_order(backend: &Backend, via: Via) {
    let stores = backend.open();
    let subs = &*stores.subscribers;
    assert_eq!(subs.get("m", "u").unwrap(), None);
    // Refused at the first connect: nothing stored.
    let refused = via
        .upsert(
            subs,
            "m",
            "u",
            connect(&["a", "b", "c", "d", "e"], "id-0", 4),
        )
        .unwrap_err();
    assert_eq!(refused.fields(), ["device_ids"]);
    assert_eq!(subs.get("m", "u").unwrap(), None);
    assert_eq!(subs.len().unwrap(), 0);
    let s = via
        .upsert(subs, "m", "u", connect(&["c", "a", "c"], "id-1", 4))
        .unwrap();
    assert_eq!(
        (s.nox_user_id.as_str(), s.device_ids.clone()),
        ("id-1", vec!["c".to_owned(), "a".into()])
    );
    // Known ids only: the stored subscriber, unchanged.
    let same = via
        .upsert(subs, "m", "u", connect(&["a"], "id-9", 4))
        .unwrap();
    assert_eq!(same, s);
    let s = via
        .upsert(subs, "m", "u", connect(&["b", "a", "ü\"{}"], "id-2", 4))
        .unwrap();
    assert_eq!(s.nox_user_id, "id-1");
    assert_eq!(s.device_ids, ["c", "a", "b", "ü\"{}"]);
    // Past the cap: refused whole, nothing changes.
    let refused = via
        .upsert(subs, "m", "u", connect(&["z"], "id-3", 4))
        .unwrap_err();
    assert_eq!(refused.fields(), ["device_ids"]);
    let other = backend.open();
    let stored = other.subscribers.get("m", "u").unwrap().unwrap();
    assert_eq!(stored, s);
    // Another key is another subscriber.
    via.upsert(&*other.subscribers, "m", "u2", connect(&[], "id-4", 4))
        .unwrap();
    assert_eq!(other.subscribers.get("m2", "u").unwrap(), None);
    assert_eq!(subs.len().unwrap(), 2);
    assert!(!subs.is_empty().unwrap());
}

fn len_and_ping(backend: &Backend) {
    let stores = backend.open();
    assert!(stores.sessions.is_empty().unwrap());
    assert!(stores.subscribers.is_empty().unwrap());
    stores.sessions.ping().unwrap();
    stores.subscribers.ping().unwrap();
    assert_eq!(stores.blocking, backend.is_durable());
}

fn migrations_are_idempotent(backend: &Backend) {
    let random = SeededRandom::new(5);
    let s = session(&random, SessionKind::V2Supplier, "s", 0);
    backend
        .open()
        .sessions
        .insert(s.clone(), PendingCaps::NONE, 0)
        .unwrap();
    // Opening again (and again, at once from several threads) keeps the data.
    let backend = Arc::new(backend);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| drop(backend.open()));
        }
    });
    assert_eq!(
        backend.open().sessions.get(s.token.as_str()).unwrap(),
        Some(s)
    );
}

fn a_newer_schema_is_refused(backend: &Backend) {
    if !backend.is_durable() {
        return;
    }
    backend.open();
    backend.raw_sql("INSERT INTO schema_version (version) VALUES (99)");
    match backend.try_open() {
        Err(
            e @ OpenError::SchemaTooNew {
                found: 99,
                known: nox_authenticator_store::SCHEMA_VERSION,
                ..
            },
        ) => {
            assert!(e.to_string().contains("upgrade the program"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

fn event(id: &str, at: i64) -> OutboxEvent {
    OutboxEvent {
        id: id.into(),
        caller: "supplier:acme".into(),
        event_type: "link_session.completed".into(),
        body: format!("{{\"id\":\"{id}\"}}").into_bytes(),
        created_at: at,
    }
}

fn the_event_is_written_with_the_completion_only(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(40);
    let s = session(&random, SessionKind::V2Supplier, "acme", 100);
    stores
        .sessions
        .insert(s.clone(), PendingCaps::NONE, 100)
        .unwrap();
    let first = event("msg_first", 110);
    let done = |e| Completion {
        completed_at: 110,
        brand: None,
        event: Some(e),
    };
    assert!(matches!(
        stores
            .sessions
            .mark_completed(s.token.as_str(), done(&first))
            .unwrap(),
        MarkCompleted::Completed(_)
    ));
    // A second completion does not apply, and writes no event.
    let second = event("msg_second", 111);
    assert!(matches!(
        stores
            .sessions
            .mark_completed(s.token.as_str(), done(&second))
            .unwrap(),
        MarkCompleted::AlreadyCompleted(_)
    ));
    let unknown = event("msg_unknown", 111);
    assert_eq!(
        stores
            .sessions
            .mark_completed(&"b".repeat(43), done(&unknown))
            .unwrap(),
        MarkCompleted::NotFound
    );
    let outbox = &backend.open().outbox;
    let stored = outbox.delivery("msg_first").unwrap().unwrap();
    assert_eq!(stored.event, first);
    assert_eq!((stored.attempts, stored.next_attempt_at), (0, 110));
    assert_eq!(outbox.delivery("msg_second").unwrap(), None);
    assert_eq!(outbox.delivery("msg_unknown").unwrap(), None);
    assert_eq!(
        outbox.queue_stats(10_000).unwrap(),
        QueueStats {
            depth: 1,
            oldest_created_at: Some(110)
        }
    );
}

/// Puts `n` completed sessions with events into the outbox; returns their ids.
fn fill_outbox(
    stores: &nox_authenticator_store::Stores,
    seed: u64,
    n: usize,
    at: i64,
) -> Vec<String> {
    let random = SeededRandom::new(seed);
    (0..n)
        .map(|i| {
            let s = session(&random, SessionKind::V2Supplier, "acme", at);
            stores
                .sessions
                .insert(s.clone(), PendingCaps::NONE, at)
                .unwrap();
            let e = event(&format!("msg_{seed}_{i}"), at);
            let done = Completion {
                completed_at: at,
                brand: None,
                event: Some(&e),
            };
            stores
                .sessions
                .mark_completed(s.token.as_str(), done)
                .unwrap();
            e.id
        })
        .collect()
}

fn claims_lease_each_event_to_one_instance(backend: &Backend) {
    let stores = backend.open();
    let ids = fill_outbox(&stores, 41, 5, 1000);
    let a = backend.open();
    let b = backend.open();
    let first = a.outbox.claim_due(1000, 3, 30, "a").unwrap();
    assert_eq!(first.len(), 3);
    let rest = b.outbox.claim_due(1000, 10, 30, "b").unwrap();
    assert_eq!(rest.len(), 2);
    let claimed: HashSet<String> = first
        .iter()
        .chain(&rest)
        .map(|d| d.event.id.clone())
        .collect();
    assert_eq!(claimed, ids.iter().cloned().collect::<HashSet<_>>());
    // Nothing is due while the leases hold.
    assert!(a.outbox.claim_due(1029, 10, 30, "a").unwrap().is_empty());
    // Only the holder records an attempt.
    let retry = Attempt {
        at: 1001,
        status: Some(500),
        error: Some("status 500"),
        outcome: AttemptOutcome::RetryAt(1005),
    };
    let id = &first[0].event.id;
    assert!(!b.outbox.record_attempt(id, "b", &retry).unwrap());
    assert!(a.outbox.record_attempt(id, "a", &retry).unwrap());
    let after = a.outbox.delivery(id).unwrap().unwrap();
    assert_eq!(after.attempts, 1);
    assert_eq!(after.next_attempt_at, 1005);
    assert_eq!(after.last_status, Some(500));
    assert_eq!(after.last_error.as_deref(), Some("status 500"));
    // The retried one is due at its time; the others come back once their lease ran out
    // (a crashed instance's events).
    assert!(b.outbox.claim_due(1004, 10, 30, "b").unwrap().is_empty());
    let again = b.outbox.claim_due(1005, 10, 30, "b").unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(&again[0].event.id, id);
    let expired = b.outbox.claim_due(1030, 10, 30, "b").unwrap();
    assert_eq!(expired.len(), 4);
    // The lease ran out and another instance took it: the first holder's record is refused.
    // A deferred event is given back, due at the given time.
    let busy = expired
        .iter()
        .map(|d| d.event.id.clone())
        .find(|id| *id != first[1].event.id)
        .unwrap();
    assert!(!a.outbox.defer(&busy, "a", 1040).unwrap());
    assert!(b.outbox.defer(&busy, "b", 1040).unwrap());
    assert!(
        b.outbox
            .claim_due(1039, 10, 30, "b")
            .unwrap()
            .iter()
            .all(|d| d.event.id != busy)
    );
    assert!(
        a.outbox
            .claim_due(1040, 10, 30, "a")
            .unwrap()
            .iter()
            .any(|d| d.event.id == busy)
    );
    let late = first[1].event.id.clone();
    let delivered = Attempt {
        at: 1031,
        status: Some(200),
        error: None,
        outcome: AttemptOutcome::Delivered,
    };
    assert!(!a.outbox.record_attempt(&late, "a", &delivered).unwrap());
    assert!(b.outbox.record_attempt(&late, "b", &delivered).unwrap());
    let d = b.outbox.delivery(&late).unwrap().unwrap();
    assert_eq!(d.delivered_at, Some(1031));
    // Delivered events are never due again.
    assert!(
        b.outbox
            .claim_due(10_000, 10, 30, "b")
            .unwrap()
            .iter()
            .all(|d| d.event.id != late)
    );
}

fn concurrent_claims_take_each_event_once(backend: &Backend) {
    let stores = backend.open();
    let ids = fill_outbox(&stores, 42, 40, 2000);
    let taken = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for t in 0..4 {
            let instance = backend.open();
            let taken = &taken;
            scope.spawn(move || {
                loop {
                    let got = instance
                        .outbox
                        .claim_due(2000, 3, 60, &format!("i{t}"))
                        .unwrap();
                    if got.is_empty() {
                        break;
                    }
                    taken
                        .lock()
                        .unwrap()
                        .extend(got.into_iter().map(|d| d.event.id));
                }
            });
        }
    });
    let mut taken = taken.into_inner().unwrap();
    taken.sort();
    let mut expected = ids;
    expected.sort();
    assert_eq!(taken, expected, "each event claimed exactly once");
}

fn failed_deliveries_are_listed_and_retried(backend: &Backend) {
    let stores = backend.open();
    let ids = fill_outbox(&stores, 43, 2, 3000);
    let claimed = stores.outbox.claim_due(3000, 10, 30, "a").unwrap();
    assert_eq!(claimed.len(), 2);
    let failed = Attempt {
        at: 3001,
        status: None,
        error: Some("connection refused"),
        outcome: AttemptOutcome::Failed,
    };
    assert!(stores.outbox.record_attempt(&ids[0], "a", &failed).unwrap());
    let list = stores.outbox.failed(10).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].event.id, ids[0]);
    assert_eq!(list[0].failed_at, Some(3001));
    assert_eq!(list[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(stores.outbox.queue_stats(10_000).unwrap().depth, 1);
    // A failed event is not due; a retry makes it due at once with a fresh schedule.
    assert!(
        stores
            .outbox
            .claim_due(9999, 10, 30, "a")
            .unwrap()
            .iter()
            .all(|d| d.event.id != ids[0])
    );
    assert!(stores.outbox.retry(&ids[0], 4000).unwrap());
    assert!(!stores.outbox.retry("msg_none", 4000).unwrap());
    assert!(stores.outbox.failed(10).unwrap().is_empty());
    // An event that has not failed is not retried: the second one is being attempted by "a"
    // (its lease runs to 3030), and a retry would have it attempted twice at once.
    assert!(!stores.outbox.retry(&ids[1], 3002).unwrap());
    assert!(
        stores
            .outbox
            .claim_due(3002, 10, 30, "b")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        stores.outbox.delivery(&ids[1]).unwrap().unwrap().attempts,
        0
    );
    let due = stores.outbox.claim_due(4000, 10, 30, "b").unwrap();
    assert!(due.iter().any(|d| d.event.id == ids[0] && d.attempts == 0));
}

fn expiry_events_are_due_at_expiry_and_dropped_by_a_completion(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(44);
    let a = session(&random, SessionKind::V2Supplier, "acme", 100);
    let b = session(&random, SessionKind::V2Supplier, "acme", 100);
    let expiry = |id: &str, at: i64| OutboxEvent {
        event_type: "link_session.expired".into(),
        ..event(id, at)
    };
    let (ea, eb) = (
        expiry("msg_exp_a", a.expires_at),
        expiry("msg_exp_b", b.expires_at),
    );
    stores
        .sessions
        .insert_with_event(a.clone(), PendingCaps::NONE, 100, Some(&ea))
        .unwrap();
    stores
        .sessions
        .insert_with_event(b.clone(), PendingCaps::NONE, 100, Some(&eb))
        .unwrap();
    // Not in the queue, nor due, before the expiry.
    assert_eq!(stores.outbox.queue_stats(100).unwrap().depth, 0);
    assert_eq!(stores.outbox.queue_stats(a.expires_at).unwrap().depth, 2);
    assert!(
        stores
            .outbox
            .claim_due(a.expires_at - 1, 10, 30, "x")
            .unwrap()
            .is_empty()
    );
    // Completing b means its expiry event is never sent (removed by the completion, or
    // skipped and removed by the claim).
    let done = Completion {
        completed_at: 200,
        brand: None,
        event: None,
    };
    stores
        .sessions
        .mark_completed(b.token.as_str(), done)
        .unwrap();
    let due = backend
        .open()
        .outbox
        .claim_due(a.expires_at, 10, 30, "x")
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].event, ea);
    assert_eq!(stores.outbox.delivery("msg_exp_b").unwrap(), None);
    assert_eq!(stores.outbox.queue_stats(a.expires_at).unwrap().depth, 1);
    let delivered = Attempt {
        at: a.expires_at + 1,
        status: Some(204),
        error: None,
        outcome: AttemptOutcome::Delivered,
    };
    assert!(
        stores
            .outbox
            .record_attempt("msg_exp_a", "x", &delivered)
            .unwrap()
    );
    // Exactly once: never due again, even after the eviction of the session; a delivered
    // event leaves the outbox with the eviction once the retention has passed.
    stores
        .sessions
        .evict_expired(a.expires_at + RETENTION, 100)
        .unwrap();
    assert!(stores.outbox.delivery("msg_exp_a").unwrap().is_some());
    stores.sessions.evict_expired(100_000, 100).unwrap();
    assert_eq!(stores.outbox.delivery("msg_exp_a").unwrap(), None);
    assert!(
        stores
            .outbox
            .claim_due(100_000, 10, 30, "x")
            .unwrap()
            .is_empty()
    );
    assert_eq!(stores.outbox.queue_stats(100_000).unwrap().depth, 0);
}

fn a_completed_sessions_expiry_event_is_never_sent_even_after_its_eviction(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(45);
    let s = session(&random, SessionKind::V2Supplier, "acme", 100);
    let expiry = OutboxEvent {
        event_type: "link_session.expired".into(),
        ..event("msg_exp_s", s.expires_at)
    };
    stores
        .sessions
        .insert_with_event(s.clone(), PendingCaps::NONE, 100, Some(&expiry))
        .unwrap();
    let done = Completion {
        completed_at: 200,
        brand: None,
        event: None,
    };
    stores
        .sessions
        .mark_completed(s.token.as_str(), done)
        .unwrap();
    // No claim ran before the session's retention passed (the dispatcher was off): its
    // eviction takes the expiry event with it, which is never claimed afterwards.
    let after = s.expires_at + RETENTION + 1;
    assert_eq!(stores.sessions.evict_expired(after, 100).unwrap(), 1);
    assert_eq!(stores.outbox.delivery("msg_exp_s").unwrap(), None);
    assert!(
        stores
            .outbox
            .claim_due(after, 10, 30, "x")
            .unwrap()
            .is_empty()
    );
    assert_eq!(stores.outbox.queue_stats(after).unwrap().depth, 0);
}

fn one_completion_wins_across_instances(backend: &Backend) {
    let a = backend.open();
    let b = backend.open();
    let random = SeededRandom::new(6);
    let s = session(&random, SessionKind::V2Supplier, "s", 0);
    a.sessions.insert(s.clone(), PendingCaps::NONE, 0).unwrap();
    let token = s.token.as_str();
    let outcomes: Vec<(usize, MarkCompleted)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let store = if i % 2 == 0 { &a.sessions } else { &b.sessions };
                scope.spawn(move || {
                    let brand = format!("brand-{i}");
                    let completion = Completion {
                        completed_at: 100 + i as i64,
                        brand: Some(&brand),
                        event: None,
                    };
                    (i, store.mark_completed(token, completion).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, MarkCompleted::Completed(_)))
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = winners[0].0;
    assert_eq!(
        outcomes
            .iter()
            .filter(|(_, o)| matches!(o, MarkCompleted::AlreadyCompleted(_)))
            .count(),
        63
    );
    let stored = b.sessions.get(token).unwrap().unwrap();
    assert_eq!(stored.completed_at, Some(100 + winner as i64));
    assert_eq!(stored.brand, Some(format!("brand-{winner}")));
}

fn concurrent_upserts_keep_every_device_id(backend: &Backend) {
    every_device_id_under_concurrency(backend, Via::Call);
}

fn concurrent_queued_upserts_keep_every_device_id(backend: &Backend) {
    every_device_id_under_concurrency(backend, Via::Queue);
}

/// 16 threads, half on each of two instances, each connecting one user five times with an id
/// of its own and one they share.
fn every_device_id_under_concurrency(backend: &Backend, via: Via) {
    let a = backend.open();
    let b = backend.open();
    std::thread::scope(|scope| {
        for i in 0..16 {
            let store = if i % 2 == 0 {
                &a.subscribers
            } else {
                &b.subscribers
            };
            scope.spawn(move || {
                for j in 0..5 {
                    let id = format!("t{i}-{j}");
                    let fresh = format!("nox-{i}-{j}");
                    via.upsert(
                        &**store,
                        "m",
                        "u",
                        connect(&[id.as_str(), "shared"], &fresh, 1000),
                    )
                    .unwrap();
                }
            });
        }
    });
    let s = a.subscribers.get("m", "u").unwrap().unwrap();
    assert_eq!(s.device_ids.len(), 81, "{:?}", s.device_ids);
    let unique: HashSet<&String> = s.device_ids.iter().collect();
    assert_eq!(unique.len(), 81);
    // Each thread's ids appear in the order it sent them.
    for i in 0..16 {
        let positions: Vec<usize> = (0..5)
            .map(|j| {
                s.device_ids
                    .iter()
                    .position(|id| *id == format!("t{i}-{j}"))
                    .unwrap()
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }
    assert_eq!(a.subscribers.len().unwrap(), 1);
}

/// Upserts queued at once without waiting (for a store that queues them, they share batches):
/// new and known users, a second and third connect of one user in the same batch, and
/// refusals, each answered once, on two instances.
fn queued_upserts_answer_each_as_alone(backend: &Backend) {
    let a = backend.open();
    let b = backend.open();
    // (instance, user, ids): users 0-9 new, then 0-4 again with ids of their own and one
    // shared with the first call, twice over, and user 9 with more ids than the cap of 6.
    let mut calls: Vec<(usize, String, Vec<String>)> = Vec::new();
    for u in 0..10 {
        calls.push((
            u % 2,
            format!("u{u}"),
            vec![format!("first-{u}"), "x".into()],
        ));
    }
    for round in 0..2 {
        for u in 0..5 {
            calls.push((
                (u + round + 1) % 2,
                format!("u{u}"),
                vec![format!("again-{round}-{u}"), "x".into()],
            ));
        }
    }
    calls.push((
        1,
        "u9".into(),
        (0..7).map(|i| format!("many-{i}")).collect(),
    ));
    let (answered, answers) = std::sync::mpsc::channel();
    for (i, (instance, user, ids)) in calls.iter().enumerate() {
        let store = if *instance == 0 { &a } else { &b };
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let answered = answered.clone();
        store.subscribers.upsert_queued(
            "m".into(),
            user.clone(),
            Box::new(connect(&ids, &format!("nox-{i}"), 6)),
            Box::new(move |result| answered.send((i, result)).unwrap()),
        );
    }
    drop(answered);
    let mut results: Vec<_> = answers.iter().collect();
    results.sort_by_key(|(i, _)| *i);
    assert_eq!(
        results.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..calls.len()).collect::<Vec<_>>(),
        "each upsert answered exactly once"
    );
    for ((_, user, ids), (_, result)) in calls.iter().zip(&results) {
        let stored = a.subscribers.get("m", user).unwrap().unwrap();
        if ids.len() > 6 {
            let e = result.as_ref().unwrap_err();
            assert_eq!(e.fields(), ["device_ids"], "{e:?}");
            continue;
        }
        let s = result.as_ref().unwrap();
        assert_eq!(s.nox_user_id, stored.nox_user_id, "one id per user");
        assert!(ids.iter().all(|id| s.device_ids.contains(id)), "{s:?}");
    }
    for u in 0..10 {
        let stored = b.subscribers.get("m", &format!("u{u}")).unwrap().unwrap();
        let mut expected: HashSet<String> = [format!("first-{u}"), "x".into()].into();
        if u < 5 {
            expected.extend((0..2).map(|round| format!("again-{round}-{u}")));
        }
        let got: HashSet<String> = stored.device_ids.iter().cloned().collect();
        assert_eq!(got, expected, "u{u}: the union, nothing of a refused call");
        assert_eq!(got.len(), stored.device_ids.len(), "no id twice");
    }
    assert_eq!(a.subscribers.len().unwrap(), 10);
}

fn queued_inserts_answer_as_inserts_do(backend: &Backend) {
    let stores = backend.open();
    let random = SeededRandom::new(31);
    let caps = PendingCaps {
        per_caller: 5,
        total: 1000,
    };
    // Twelve inserts queued without waiting for any (for a store that queues them, they may
    // share one transaction): each is answered once, five fit under the cap (see
    // `assert_accepted_under_cap` for PostgreSQL).
    let sessions: Vec<_> = (0..12)
        .map(|i| {
            (
                session(&random, SessionKind::V2Supplier, "q", 100 + i),
                100 + i,
                None,
            )
        })
        .collect();
    let tokens: Vec<_> = sessions.iter().map(|(s, _, _)| s.token.clone()).collect();
    let results = queue_all(&stores, caps, sessions);
    assert_accepted_under_cap(backend, &results, 5);
    for (token, result) in tokens.iter().zip(&results) {
        let stored = stores.sessions.get(token.as_str()).unwrap();
        match result {
            Ok(()) => assert!(stored.is_some(), "an accepted insert is stored"),
            Err(e) => {
                assert_eq!(e.code(), "too_many_sessions", "{e:?}");
                assert!(stored.is_none(), "a refused insert is not stored");
            }
        }
    }
    // With its expiry event, in the same transaction (a store without an outbox refuses it).
    let s = session(&random, SessionKind::V2Manufacturer, "q", 200);
    let (answered, answer) = std::sync::mpsc::channel();
    stores.sessions.insert_queued(
        s.clone(),
        PendingCaps::NONE,
        200,
        Some(event("evt_queued", 800)),
        Box::new(move |result| answered.send(result).unwrap()),
    );
    answer.recv().unwrap().unwrap();
    assert!(stores.sessions.get(s.token.as_str()).unwrap().is_some());
    assert!(stores.outbox.delivery("evt_queued").unwrap().is_some());
    // Eight with their events queued at once under a cap of three (PostgreSQL writes them in
    // one statement, refused ones alone): an event exactly for each stored session.
    let caps = PendingCaps {
        per_caller: 3,
        total: 1000,
    };
    let sessions: Vec<_> = (0..8)
        .map(|i| {
            let s = session(&random, SessionKind::V2Supplier, "e", 300);
            (s, 300, Some(event(&format!("evt_batch_{i}"), 900)))
        })
        .collect();
    let queued: Vec<_> = sessions
        .iter()
        .map(|(s, _, e)| (s.token.clone(), e.as_ref().unwrap().id.clone()))
        .collect();
    let results = queue_all(&stores, caps, sessions);
    assert_accepted_under_cap(backend, &results, 3);
    for ((token, id), result) in queued.iter().zip(&results) {
        let stored = stores.sessions.get(token.as_str()).unwrap().is_some();
        let event = stores.outbox.delivery(id).unwrap().is_some();
        assert_eq!(stored, result.is_ok(), "{result:?}");
        assert_eq!(
            event, stored,
            "the event {id} is stored with its session only"
        );
    }
}

/// Asserts how many of inserts queued at once under a caller's cap of `cap` were accepted:
/// exactly `cap` where the cap is exact; from `cap` to twice it for PostgreSQL, whose counters
/// are read without a lock by its two inserter threads (each sees its own commits, so each
/// accepts at most `cap`; the other's statement in flight may not have committed yet).
fn assert_accepted_under_cap(
    backend: &Backend,
    results: &[nox_authenticator::Result<()>],
    cap: usize,
) {
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    if backend.is_postgres() {
        assert!((cap..=2 * cap).contains(&accepted), "{results:?}");
    } else {
        assert_eq!(accepted, cap, "{results:?}");
    }
}

/// Queues every `(session, now, expiry event)` without waiting for any, then collects the
/// answers in the order queued, asserting that each came exactly once.
fn queue_all(
    stores: &nox_authenticator_store::Stores,
    caps: PendingCaps,
    sessions: Vec<(LinkSession, i64, Option<OutboxEvent>)>,
) -> Vec<nox_authenticator::Result<()>> {
    let n = sessions.len();
    let (answered, answers) = std::sync::mpsc::channel();
    for (i, (s, now, event)) in sessions.into_iter().enumerate() {
        let answered = answered.clone();
        stores.sessions.insert_queued(
            s,
            caps,
            now,
            event,
            Box::new(move |result| answered.send((i, result)).unwrap()),
        );
    }
    drop(answered);
    let mut results: Vec<_> = answers.iter().collect();
    results.sort_by_key(|(i, _)| *i);
    assert_eq!(results.len(), n, "each insert is answered exactly once");
    assert!(
        results.iter().enumerate().all(|(i, (j, _))| i == *j),
        "answered once each"
    );
    results.into_iter().map(|(_, result)| result).collect()
}

macro_rules! contract {
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

macro_rules! contracts {
    ($($backend:ident),*) => {
        $(
            contract!($backend:
                round_trip_of_every_kind,
                completes_once_and_records_a_brand_only_if_none,
                pending_caps_hold_per_caller_and_in_total,
                expiry_is_settled_by_insert_and_by_eviction,
                completion_leaves_the_counts_once,
                eviction_keeps_the_counts,
                concurrent_inserts_keep_the_caps,
                a_failing_call_undoes_only_itself,
                evicts_in_batches_after_retention,
                subscribers_keep_the_union_in_first_seen_order,
                len_and_ping,
                migrations_are_idempotent,
                a_newer_schema_is_refused,
                one_completion_wins_across_instances,
                concurrent_upserts_keep_every_device_id,
                queued_upserts_keep_the_union_in_first_seen_order,
                concurrent_queued_upserts_keep_every_device_id,
                queued_upserts_answer_each_as_alone,
                the_event_is_written_with_the_completion_only,
                claims_lease_each_event_to_one_instance,
                concurrent_claims_take_each_event_once,
                failed_deliveries_are_listed_and_retried,
                expiry_events_are_due_at_expiry_and_dropped_by_a_completion,
                a_completed_sessions_expiry_event_is_never_sent_even_after_its_eviction,
                queued_inserts_answer_as_inserts_do,
            );
        )*
    };
}

contracts!(memory, sqlite, postgres);
