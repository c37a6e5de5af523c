//! Pending OAuth 2.0 sign-ins of the hosted flow (issue 16, spec decision 11): what the
//! callback needs (the session it belongs to, the PKCE verifier…), kept in the store so that
//! the callback may reach any instance, or the same one after a restart.
//!
//! The store sees opaque values: a host seals what it keeps (the reference server encrypts
//! it under a key derived from the flow secret and the `state`, so that the session's token,
//! a bearer secret, is not readable from the store) and names it by an id derived from the
//! `state`. A value is taken once: [`OAuthStateStore::take`] deletes it in the statement that
//! reads it, so two callbacks with one `state`, on any instances, get it at most once.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use nox_authenticator::{Error, Result};

/// Where pending sign-ins wait for their callback.
pub trait OAuthStateStore: Send + Sync + fmt::Debug {
    /// Keeps `sealed` under `id` until `expires_at` (Unix seconds); returns once durable.
    fn put(&self, id: &str, sealed: &[u8], expires_at: i64) -> Result<()>;
    /// Takes the value of `id` (deletes it, in one statement, whether it is still valid or
    /// not): `Some` only if it had not expired at `now`; a second take finds nothing.
    fn take(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>>;
    /// Deletes at most `limit` values expired at `now`; returns how many. Hosts call it in
    /// the background until it returns less than `limit`.
    fn prune(&self, now: i64, limit: usize) -> Result<usize>;
}

/// At most this many sign-ins wait in the memory store; beyond, a new one is refused until
/// the background prune has removed expired ones.
const MEMORY_CAP: usize = 100_000;

/// Pending sign-ins in process memory (the `memory` store: one process, lost on restart).
#[derive(Debug, Default)]
pub struct MemoryOAuthStates {
    values: Mutex<HashMap<String, (Vec<u8>, i64)>>,
}

impl MemoryOAuthStates {
    fn values(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<u8>, i64)>> {
        self.values.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OAuthStateStore for MemoryOAuthStates {
    fn put(&self, id: &str, sealed: &[u8], expires_at: i64) -> Result<()> {
        let mut values = self.values();
        if values.len() >= MEMORY_CAP && !values.contains_key(id) {
            // Expired ones leave with the background prune.
            return Err(Error::store("too many OAuth 2.0 sign-ins in flight"));
        }
        values.insert(id.to_owned(), (sealed.to_vec(), expires_at));
        Ok(())
    }

    fn take(&self, id: &str, now: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .values()
            .remove(id)
            .and_then(|(sealed, expires_at)| (expires_at > now).then_some(sealed)))
    }

    fn prune(&self, now: i64, limit: usize) -> Result<usize> {
        let mut values = self.values();
        let expired: Vec<String> = values
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(id, _)| id.clone())
            .take(limit)
            .collect();
        for id in &expired {
            values.remove(id);
        }
        Ok(expired.len())
    }
}

/// The statements, with SQLite's `?n` parameters (PostgreSQL's use `$n`).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql {
    /// ?1 id, ?2 sealed, ?3 expires_at.
    pub const PUT: &str = "INSERT INTO oauth_states (id, sealed, expires_at) VALUES (?1, ?2, ?3)";
    /// ?1 id: the value and its expiry, deleted in the same statement (single use).
    pub const TAKE: &str = "DELETE FROM oauth_states WHERE id = ?1 RETURNING sealed, expires_at";
    /// ?1 now, ?2 limit.
    pub const PRUNE: &str = "DELETE FROM oauth_states WHERE id IN \
         (SELECT id FROM oauth_states WHERE expires_at <= ?1 LIMIT ?2)";

    /// The statement with PostgreSQL's `$n` parameters.
    #[cfg(feature = "postgres")]
    pub fn postgres(sql: &str) -> String {
        sql.replace('?', "$")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_taken_once_and_only_before_it_expires() {
        let store = MemoryOAuthStates::default();
        store.put("a", b"one", 100).unwrap();
        store.put("b", b"two", 100).unwrap();
        assert_eq!(store.take("a", 99).unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(store.take("a", 99).unwrap(), None);
        assert_eq!(store.take("b", 100).unwrap(), None, "expired at 100");
        assert_eq!(
            store.take("b", 50).unwrap(),
            None,
            "an expired take deleted it"
        );
        store.put("c", b"three", 10).unwrap();
        store.put("d", b"four", 20).unwrap();
        assert_eq!(store.prune(15, 10).unwrap(), 1);
        assert_eq!(store.take("d", 15).unwrap().as_deref(), Some(&b"four"[..]));
    }
}
