//! Where sessions and v1 subscribers live: small traits a host can implement on its own
//! database, and thread-safe in-memory implementations.
//!
//! [`SessionStore::mark_completed`] is a compare-and-set (set `completed_at` only while it is
//! still unset), so a store on PostgreSQL (`UPDATE … SET completed_at = $1 WHERE token_sha256 =
//! $2 AND completed_at IS NULL`) or Redis keeps the complete-once rule across many server
//! instances. The rules themselves (expiry, merging device ids) stay in the core.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};
use crate::session::LinkSession;
use crate::token::token_digest;

/// The outcome of [`SessionStore::mark_completed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkCompleted {
    /// `completed_at` was unset and is now set; the updated session.
    Completed(LinkSession),
    /// `completed_at` was already set; the session as stored.
    AlreadyCompleted(LinkSession),
    /// No session has this token.
    NotFound,
}

/// Storage for link sessions, keyed by token.
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Stores a new session. `now` lets the store drop sessions that are long expired.
    fn insert(&self, session: LinkSession, now: i64) -> Result<()>;
    /// The session with this token, if any.
    fn get(&self, token: &str) -> Result<Option<LinkSession>>;
    /// Atomically sets `completed_at` if it is unset.
    fn mark_completed(&self, token: &str, completed_at: i64) -> Result<MarkCompleted>;
    /// Drops every session whose retention after expiry has passed at `now`; returns how many.
    fn evict_expired(&self, now: i64) -> Result<usize>;
    /// How many sessions are stored.
    fn len(&self) -> Result<usize>;
    /// Whether no session is stored.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// An in-memory [`SessionStore`]. Sessions are indexed by the SHA-256 of their token and kept
/// for `retention` seconds after they expire (so a late completion is told `expired`, not
/// `not found`), then evicted as new sessions come in: memory stays flat under a steady load.
pub struct MemorySessionStore {
    inner: Mutex<SessionTable>,
    retention: i64,
}

#[derive(Default)]
struct SessionTable {
    by_digest: HashMap<[u8; 32], LinkSession>,
    /// (expires_at, digest) in insertion order, which is expiry order while time moves forward.
    expiry_queue: VecDeque<(i64, [u8; 32])>,
}

impl MemorySessionStore {
    /// A store that keeps sessions `retention_seconds` after they expire.
    pub fn new(retention_seconds: i64) -> MemorySessionStore {
        MemorySessionStore {
            inner: Mutex::new(SessionTable::default()),
            retention: retention_seconds.max(0),
        }
    }

    fn table(&self) -> MutexGuard<'_, SessionTable> {
        // The table is consistent after every statement, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_stale(&self, expires_at: i64, now: i64) -> bool {
        expires_at.saturating_add(self.retention) <= now
    }
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        MemorySessionStore::new(crate::config::DEFAULT_SESSION_RETENTION_SECONDS)
    }
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("sessions", &self.table().by_digest.len())
            .field("retention", &self.retention)
            .finish()
    }
}

impl SessionStore for MemorySessionStore {
    fn insert(&self, session: LinkSession, now: i64) -> Result<()> {
        let digest = session.token.digest();
        let expires_at = session.expires_at;
        let mut table = self.table();
        // Amortised eviction: drop the stale sessions at the front of the queue.
        while let Some(&(front_expiry, front_digest)) = table.expiry_queue.front() {
            if !self.is_stale(front_expiry, now) {
                break;
            }
            table.expiry_queue.pop_front();
            table.by_digest.remove(&front_digest);
        }
        match table.by_digest.entry(digest) {
            // 256 random bits do not collide; if they ever do, refuse rather than overwrite.
            Entry::Occupied(_) => Err(Error::Store {
                reason: "token collision".into(),
            }),
            Entry::Vacant(slot) => {
                slot.insert(session);
                table.expiry_queue.push_back((expires_at, digest));
                Ok(())
            }
        }
    }

    fn get(&self, token: &str) -> Result<Option<LinkSession>> {
        let digest = token_digest(token);
        let table = self.table();
        Ok(table
            .by_digest
            .get(&digest)
            .filter(|s| s.token.ct_eq(token))
            .cloned())
    }

    fn mark_completed(&self, token: &str, completed_at: i64) -> Result<MarkCompleted> {
        let digest = token_digest(token);
        let mut table = self.table();
        Ok(match table.by_digest.get_mut(&digest) {
            Some(session) if session.token.ct_eq(token) => {
                if session.completed_at.is_some() {
                    MarkCompleted::AlreadyCompleted(session.clone())
                } else {
                    session.completed_at = Some(completed_at);
                    MarkCompleted::Completed(session.clone())
                }
            }
            _ => MarkCompleted::NotFound,
        })
    }

    fn evict_expired(&self, now: i64) -> Result<usize> {
        let mut table = self.table();
        let before = table.by_digest.len();
        let retention = self.retention;
        table
            .by_digest
            .retain(|_, s| s.expires_at.saturating_add(retention) > now);
        table
            .expiry_queue
            .retain(|(expires_at, _)| expires_at.saturating_add(retention) > now);
        Ok(before - table.by_digest.len())
    }

    fn len(&self) -> Result<usize> {
        Ok(self.table().by_digest.len())
    }
}

/// A v1 subscriber: one manufacturer's user connected to NOX (spec decision 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The manufacturer's id.
    pub manufacturer_id: String,
    /// The manufacturer's id for the user.
    pub manufacturer_user_id: String,
    /// The NOX user id (a UUID), fixed at the first connect.
    pub nox_user_id: String,
    /// Every device id ever associated, in first-seen order.
    pub device_ids: Vec<String>,
}

impl Subscriber {
    /// The subscriber as the documented `data` of a v1 connect response.
    pub fn to_wire_json(&self) -> serde_json::Value {
        serde_json::to_value(crate::wire::V1ConnectData::new(self)).unwrap_or_default()
    }

    /// Adds device ids not yet associated, keeping first-seen order; never removes any.
    pub fn merge_device_ids(&mut self, device_ids: &[String]) {
        let mut seen: std::collections::HashSet<String> = self.device_ids.iter().cloned().collect();
        for id in device_ids {
            if seen.insert(id.clone()) {
                self.device_ids.push(id.clone());
            }
        }
    }
}

/// Storage for v1 subscribers, keyed by (manufacturer id, manufacturer user id).
pub trait SubscriberStore: Send + Sync + fmt::Debug {
    /// Atomically reads the subscriber for the key (if any), passes it to `update`, and stores
    /// and returns what `update` gives back.
    fn upsert(
        &self,
        manufacturer_id: &str,
        manufacturer_user_id: &str,
        update: &mut dyn FnMut(Option<Subscriber>) -> Subscriber,
    ) -> Result<Subscriber>;
    /// The subscriber for the key, if any.
    fn get(&self, manufacturer_id: &str, manufacturer_user_id: &str) -> Result<Option<Subscriber>>;
}

/// An in-memory [`SubscriberStore`].
#[derive(Default)]
pub struct MemorySubscriberStore {
    inner: Mutex<HashMap<(String, String), Subscriber>>,
}

impl MemorySubscriberStore {
    fn table(&self) -> MutexGuard<'_, HashMap<(String, String), Subscriber>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemorySubscriberStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySubscriberStore")
            .field("subscribers", &self.table().len())
            .finish()
    }
}

impl SubscriberStore for MemorySubscriberStore {
    fn upsert(
        &self,
        manufacturer_id: &str,
        manufacturer_user_id: &str,
        update: &mut dyn FnMut(Option<Subscriber>) -> Subscriber,
    ) -> Result<Subscriber> {
        let mut table = self.table();
        let key = (manufacturer_id.to_owned(), manufacturer_user_id.to_owned());
        let updated = update(table.get(&key).cloned());
        table.insert(key, updated.clone());
        Ok(updated)
    }

    fn get(&self, manufacturer_id: &str, manufacturer_user_id: &str) -> Result<Option<Subscriber>> {
        let key = (manufacturer_id.to_owned(), manufacturer_user_id.to_owned());
        Ok(self.table().get(&key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{LinkToken, SeededRandom};

    fn session(random: &SeededRandom, created_at: i64) -> LinkSession {
        crate::session::sample(LinkToken::generate(random).unwrap(), created_at)
    }

    #[test]
    fn completion_is_a_compare_and_set() {
        let store = MemorySessionStore::new(60);
        let random = SeededRandom::new(1);
        let s = session(&random, 0);
        let token = s.token.as_str().to_owned();
        store.insert(s, 0).unwrap();
        assert!(
            matches!(store.mark_completed(&token, 5).unwrap(), MarkCompleted::Completed(s) if s.completed_at == Some(5))
        );
        assert!(
            matches!(store.mark_completed(&token, 6).unwrap(), MarkCompleted::AlreadyCompleted(s) if s.completed_at == Some(5))
        );
        assert_eq!(
            store.mark_completed(&"b".repeat(43), 6).unwrap(),
            MarkCompleted::NotFound
        );
        assert_eq!(store.get(&token).unwrap().unwrap().completed_at, Some(5));
    }

    #[test]
    fn stale_sessions_are_evicted_as_new_ones_arrive() {
        let store = MemorySessionStore::new(60);
        let random = SeededRandom::new(2);
        for t in 0..1000 {
            store.insert(session(&random, t), t).unwrap();
        }
        // At t = 999, sessions created before 999 - 600 - 60 = 339 are gone.
        assert_eq!(store.len().unwrap(), 1000 - 340);
        assert_eq!(store.evict_expired(10_000).unwrap(), 660);
        assert!(store.is_empty().unwrap());
    }

    #[test]
    fn subscribers_merge_device_ids_in_first_seen_order() {
        let mut s = Subscriber {
            manufacturer_id: "m".into(),
            manufacturer_user_id: "u".into(),
            nox_user_id: "id".into(),
            device_ids: vec!["a".into(), "b".into()],
        };
        s.merge_device_ids(&["c".into(), "a".into(), "c".into(), "d".into()]);
        assert_eq!(s.device_ids, ["a", "b", "c", "d"]);
        s.merge_device_ids(&[]);
        assert_eq!(s.device_ids, ["a", "b", "c", "d"]);
    }
}
