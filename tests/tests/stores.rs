//! Host-provided stores: the traits are enough to plug in another storage, failures become
//! 503s that leak nothing, and the in-memory store evicts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nox_authenticator::{
    Authenticator, Completion, Config, Error, HttpRequest, LinkSession, MarkCompleted,
    MemorySessionStore, PendingCaps, SeededRandom, SessionStore,
};

/// A store that delegates to the in-memory one and can be switched to fail, as a database
/// that goes away would.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemorySessionStore,
    down: AtomicBool,
}

impl FlakyStore {
    fn check(&self) -> nox_authenticator::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(Error::Store {
                reason: "connection refused (db.internal:5432)".into(),
            })
        } else {
            Ok(())
        }
    }
}

impl SessionStore for FlakyStore {
    fn insert(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
    ) -> nox_authenticator::Result<()> {
        self.check()?;
        self.inner.insert(session, caps, now)
    }
    fn get(&self, token: &str) -> nox_authenticator::Result<Option<LinkSession>> {
        self.check()?;
        self.inner.get(token)
    }
    fn mark_completed(
        &self,
        token: &str,
        completion: Completion<'_>,
    ) -> nox_authenticator::Result<MarkCompleted> {
        self.check()?;
        self.inner.mark_completed(token, completion)
    }
    fn evict_expired(&self, now: i64, limit: usize) -> nox_authenticator::Result<usize> {
        self.check()?;
        self.inner.evict_expired(now, limit)
    }
    fn len(&self) -> nox_authenticator::Result<usize> {
        self.inner.len()
    }
}

const CONFIG: &str = r#"{"suppliers": [{"id": "s", "name": "S", "api_key": "k", "redirect_urls": ["https://a.example/cb"]}],
    "session_retention_seconds": 60}"#;
const BODY: &[u8] =
    br#"{"user_id": "u", "redirect_url": "https://a.example/cb", "asset_type": "hp"}"#;

fn post(auth: &Authenticator, now: i64) -> nox_authenticator::HttpResponse {
    auth.handle_http(
        &HttpRequest {
            method: "POST",
            target: "/v2/supplier/link-sessions",
            headers: &[("x-api-key", "k"), ("content-type", "application/json")],
            body: BODY,
        },
        now,
    )
}

#[test]
fn a_failing_host_store_is_a_503_that_leaks_nothing() {
    let store = Arc::new(FlakyStore::default());
    let auth = Authenticator::builder(Config::from_json(CONFIG).unwrap())
        .sessions(store.clone())
        .build()
        .unwrap();
    assert_eq!(post(&auth, 0).status, 201);
    store.down.store(true, Ordering::SeqCst);
    let response = post(&auth, 0);
    assert_eq!(response.status, 503);
    assert_eq!(response.body, br#"{"error":"Service unavailable"}"#);
    let err = auth.complete_session(&"a".repeat(43), 0).unwrap_err();
    assert_eq!((err.code(), err.status()), ("store_error", 503));
}

#[test]
fn seeded_randomness_makes_sessions_reproducible() {
    let make = || {
        Authenticator::builder(Config::from_json(CONFIG).unwrap())
            .random(Arc::new(SeededRandom::new(42)))
            .build()
            .unwrap()
    };
    assert_eq!(post(&make(), 7).body, post(&make(), 7).body);
}

#[test]
fn expired_sessions_are_kept_for_the_retention_then_evicted() {
    let auth = Authenticator::from_json(CONFIG).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&post(&auth, 0).body).unwrap();
    let token = body["link_token"].as_str().unwrap().to_owned();
    // Expired at 600, kept until 600 + 60: a late completion is told "expired".
    assert_eq!(
        auth.complete_session(&token, 630).unwrap_err().code(),
        "expired"
    );
    assert_eq!(auth.evict_expired(659).unwrap(), 0);
    assert_eq!(auth.evict_expired(660).unwrap(), 1);
    assert_eq!(
        auth.complete_session(&token, 661).unwrap_err().code(),
        "not_found"
    );
    // A steady stream of sessions keeps the store bounded without explicit sweeps.
    for now in 0..10_000 {
        assert_eq!(post(&auth, now).status, 201);
    }
    assert_eq!(auth.session_count().unwrap(), 660);
}
