//! Where sessions and v1 subscribers live: small traits a host can implement on its own
//! database, and thread-safe in-memory implementations.
//!
//! [`SessionStore::mark_completed`] is a compare-and-set (set `completed_at` only while it is
//! still unset), so a store on PostgreSQL (`UPDATE … SET completed_at = $1 WHERE token_sha256 =
//! $2 AND completed_at IS NULL`) or Redis keeps the complete-once rule across many server
//! instances. The rules themselves (expiry, merging device ids) stay in the core.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::catalog::AssetType;
use crate::error::{Error, Result};
use crate::language::Language;
use crate::session::{LINK_SESSION_TTL_SECONDS, LinkSession, SessionKind};
use crate::token::{LinkToken, token_digest};

/// The default time the in-memory store keeps a session after it expires, so that a late
/// completion is told `expired` rather than `not found`.
pub const DEFAULT_SESSION_RETENTION_SECONDS: i64 = 3600;

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

/// What a completion writes: the time, and the brand the end-user picked when the session had
/// none (the hosted flow's pick step). Stores apply it in one conditional update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion<'a> {
    /// When the session was completed (Unix seconds).
    pub completed_at: i64,
    /// The brand slug picked during the flow; stored only if the session has no brand yet.
    pub brand: Option<&'a str>,
    /// The completion event to put in the outbox in the same transaction (spec decision 20),
    /// when the session's caller has a webhook; written only if the completion applies.
    pub event: Option<&'a OutboxEvent>,
}

/// An event waiting in the outbox for delivery to its caller's webhook (spec decision 20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The `webhook-id`, the same on every attempt (`msg_` and 32 hex digits).
    pub id: String,
    /// The caller it goes to ([`crate::config::webhook_caller_key`]).
    pub caller: String,
    /// `link_session.completed` or `link_session.expired`.
    pub event_type: String,
    /// The signed body, sent byte for byte on every attempt.
    pub body: Vec<u8>,
    /// When it was written (Unix seconds).
    pub created_at: i64,
}

/// An outbox event with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The event.
    pub event: OutboxEvent,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (Unix seconds).
    pub next_attempt_at: i64,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, if it did (no response body, ever).
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
    /// When it was given up after the last attempt of the schedule.
    pub failed_at: Option<i64>,
}

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx answer: done.
    Delivered,
    /// Failed; try again at this time.
    RetryAt(i64),
    /// Failed, and the schedule is used up: marked failed.
    Failed,
}

/// One attempt's result, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'a> {
    /// When it ended.
    pub at: i64,
    /// The answer's status, if any.
    pub status: Option<u16>,
    /// Why it failed (a time-out, a refused connection or address, a non-2xx status).
    pub error: Option<&'a str>,
    /// What comes next.
    pub outcome: AttemptOutcome,
}

/// The outbox's size for metrics: events not yet delivered nor failed, and the oldest one's
/// creation time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events waiting (due or scheduled for a retry).
    pub depth: u64,
    /// When the oldest waiting event was written.
    pub oldest_created_at: Option<i64>,
}

/// The outbox of completion events, in the same store as the sessions (the events are
/// written by [`SessionStore::mark_completed`], in the completion's transaction).
///
/// Claiming takes a lease: an event claimed by one instance is not claimed again until its
/// lease runs out (a crashed instance's events come back then) or the attempt is recorded.
pub trait EventOutbox: Send + Sync + fmt::Debug {
    /// Claims at most `limit` events due at `now` (not delivered, not failed, next attempt
    /// due, no live lease), leasing them to `instance` for `lease_seconds`; oldest due first.
    fn claim_due(
        &self,
        now: i64,
        limit: usize,
        lease_seconds: i64,
        instance: &str,
    ) -> Result<Vec<Delivery>>;
    /// Records an attempt on an event `instance` holds the lease of, and releases the lease;
    /// `false` if it does not hold it any more (nothing is written then).
    fn record_attempt(&self, id: &str, instance: &str, attempt: &Attempt<'_>) -> Result<bool>;
    /// Gives back an event `instance` holds the lease of without attempting it, due again at
    /// `due_at` (its endpoint is busy: other callers' events go first); `false` if it does not
    /// hold the lease.
    fn defer(&self, id: &str, instance: &str, due_at: i64) -> Result<bool>;
    /// At most `limit` failed deliveries, the most recently failed first.
    fn failed(&self, limit: usize) -> Result<Vec<Delivery>>;
    /// Makes a failed event due again at `now`, with a fresh schedule; `false` if there is no
    /// such event or it has not failed (it is waiting, being attempted or delivered: a retry
    /// would make an attempt in flight twice, or a pending session's expiry event due now).
    fn retry(&self, id: &str, now: i64) -> Result<bool>;
    /// The delivery state of one event.
    fn delivery(&self, id: &str) -> Result<Option<Delivery>>;
    /// The queue's depth and oldest event at `now` (for metrics): events written by `now`
    /// and neither delivered nor failed (a pending session's expiry event is written for its
    /// expiry time, and counts from then).
    fn queue_stats(&self, now: i64) -> Result<QueueStats>;
}

/// The caps on pending sessions a store enforces as it inserts (spec decision 12). A session
/// is *pending* while it is neither completed nor expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingCaps {
    /// At most this many pending sessions per caller (supplier or manufacturer).
    pub per_caller: u64,
    /// At most this many pending sessions in the store as a whole.
    pub total: u64,
}

impl PendingCaps {
    /// No cap at all (for tests and hosts that bound sessions some other way).
    pub const NONE: PendingCaps = PendingCaps {
        per_caller: u64::MAX,
        total: u64::MAX,
    };

    /// The refusal for a full store: retry once the oldest pending session has expired, which
    /// is at most [`crate::LINK_SESSION_TTL_SECONDS`] away.
    pub fn refusal(oldest_pending_expires_at: Option<i64>, now: i64) -> Error {
        let wait = oldest_pending_expires_at
            .map_or(LINK_SESSION_TTL_SECONDS, |at| at.saturating_sub(now))
            .clamp(1, LINK_SESSION_TTL_SECONDS);
        Error::TooManySessions {
            retry_after_seconds: u64::try_from(wait).unwrap_or(1),
        }
    }
}

/// Receives the outcome of a queued insert ([`SessionStore::insert_queued`]).
pub type InsertDone = Box<dyn FnOnce(Result<()>) + Send>;

/// What a v1 connect makes of the stored subscriber (none for a new one): the core's merge
/// rule, which a queued upsert ([`SubscriberStore::upsert_queued`]) runs on the store's thread.
pub type SubscriberUpdate = Box<dyn FnMut(Option<Subscriber>) -> Result<Subscriber> + Send>;

/// Receives the outcome of a queued upsert ([`SubscriberStore::upsert_queued`]).
pub type UpsertDone = Box<dyn FnOnce(Result<Subscriber>) + Send>;

/// Storage for link sessions, keyed by token.
///
/// Implementations keep the rules of the core (which computes expiry and decides what may be
/// completed) and make two things atomic: the pending caps on insert, and complete-once.
/// Failures are [`Error::Store`] (answered 503; the reason is for the log only).
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Stores a new session, unless the caller or the store already holds as many pending
    /// sessions as `caps` allow ([`Error::TooManySessions`], see [`PendingCaps::refusal`]).
    /// Returns only once the session is durable: a host answers 201 after this.
    fn insert(&self, session: LinkSession, caps: PendingCaps, now: i64) -> Result<()>;
    /// As [`insert`](Self::insert), and in the same transaction puts `expiry_event` (the
    /// session's `link_session.expired` event, due at its expiry) into the outbox; a completion
    /// of the session removes that event in its own transaction, so it is sent only for a
    /// session that reached its expiry still pending (spec decision 20). Without an event it
    /// is [`insert`](Self::insert). Stores without an outbox refuse an event.
    fn insert_with_event(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<&OutboxEvent>,
    ) -> Result<()> {
        match expiry_event {
            None => self.insert(session, caps, now),
            Some(_) => Err(Error::store(
                "this store has no outbox for completion events",
            )),
        }
    }
    /// Whether [`insert_queued`](Self::insert_queued) returns at once and leaves the write to
    /// a thread of the store's own: a host on an async runtime may then call it there, and
    /// await `done` instead of holding a thread for the write. (The default runs the insert in
    /// the call, which blocks for as long as the store takes.)
    fn queues_inserts(&self) -> bool {
        false
    }
    /// As [`insert_with_event`](Self::insert_with_event), answered through `done` with the
    /// same result once the session is durable (or refused): on the store's own thread for a
    /// store that [queues inserts](Self::queues_inserts), else before this returns. `done` is
    /// called exactly once.
    fn insert_queued(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<OutboxEvent>,
        done: InsertDone,
    ) {
        done(self.insert_with_event(session, caps, now, expiry_event.as_ref()));
    }
    /// The session with this token, if any.
    fn get(&self, token: &str) -> Result<Option<LinkSession>>;
    /// Atomically sets `completed_at` (and the picked brand, if the session has none) if
    /// `completed_at` is unset: a compare-and-set, so complete-once holds across processes.
    fn mark_completed(&self, token: &str, completion: Completion<'_>) -> Result<MarkCompleted>;
    /// Deletes at most `limit` sessions whose retention after expiry has passed at `now`;
    /// returns how many. Hosts call it in the background until it returns less than `limit`.
    fn evict_expired(&self, now: i64, limit: usize) -> Result<usize>;
    /// How many sessions are stored (pending, completed and expired ones within retention).
    fn len(&self) -> Result<usize>;
    /// Whether no session is stored.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Whether the store answers (for readiness checks); `Err` says why not.
    fn ping(&self) -> Result<()> {
        Ok(())
    }
    /// How many stored sessions are pending, completed and expired at `now` (for metrics).
    fn count_by_state(&self, now: i64) -> Result<SessionCounts> {
        let _ = now;
        Err(Error::store("this store cannot count sessions by state"))
    }
}

/// Stored sessions by state at some moment (expired ones are those kept for the retention).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    /// Neither completed nor expired.
    pub pending: u64,
    /// Completed.
    pub completed: u64,
    /// Expired without being completed, and not yet evicted.
    pub expired: u64,
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
    /// Boxed, so that growing the table moves 40-byte entries, not whole sessions: the
    /// rehash under the lock stays short at any size (no latency cliff).
    by_digest: HashMap<[u8; 32], Box<Stored>, FastHash>,
    /// (expires_at, digest) in insertion order, which is expiry order while time moves forward:
    /// the front is evicted once its retention has passed.
    expiry_queue: VecDeque<(i64, [u8; 32])>,
    /// How many entries at the front of `expiry_queue` have expired and left the pending
    /// counts; the first entry after them is the oldest session that may still be pending.
    settled: usize,
    /// The strings many sessions share (caller ids and names, registered redirect URLs, brand
    /// slugs, the link URL's text around the token), held once.
    shared: Interner,
    /// Pending sessions per caller, and in total.
    pending_by_caller: HashMap<CallerKey, u64, FastHash>,
    pending_total: u64,
    /// Completed sessions still stored.
    completed_stored: u64,
    /// The outbox, by event id, with each event's lease (holder, until).
    outbox: HashMap<String, (Delivery, Option<(String, i64)>)>,
    /// The expiry event of each session that has one, by session digest.
    expiry_events: HashMap<[u8; 32], String>,
}

/// A caller as the pending count knows it: suppliers and manufacturers may share an id.
type CallerKey = (bool, Arc<str>);

/// The memory store's hash: its keys are digests of random tokens and strings from the
/// configuration and the catalog, none of them chosen by a client, so the keyed SipHash of
/// `std` would only cost time (foldhash is seeded per process, and what hashbrown uses).
type FastHash = foldhash::fast::RandomState;

/// A session as the memory store holds it, about a third of a [`LinkSession`]'s size: the
/// token is not kept (the table's key is its digest, and every lookup brings the token), the
/// link URL is kept as the shared text around the token, and the strings that many sessions
/// have in common are shared.
struct Stored {
    kind: SessionKind,
    language: Language,
    asset_type: Option<AssetType>,
    /// Whether the session is still counted in `pending_by_caller` and `pending_total`.
    counted: bool,
    owner_id: Arc<str>,
    owner_name: Arc<str>,
    user_id: Box<str>,
    redirect_url: Arc<str>,
    brand: Option<Arc<str>>,
    /// The link URL before the token (the whole URL when it holds no token).
    link_head: Arc<str>,
    /// The link URL after the token; `None` when it holds no token.
    link_tail: Option<Arc<str>>,
    created_at: i64,
    expires_at: i64,
    completed_at: Option<i64>,
}

impl Stored {
    fn new(session: &LinkSession, shared: &mut Interner, counted: bool) -> Stored {
        let (head, tail) = session.link_url_parts();
        Stored {
            kind: session.kind,
            language: session.language,
            asset_type: session.asset_type,
            counted,
            owner_id: shared.get(&session.owner_id),
            owner_name: shared.get(&session.owner_name),
            user_id: session.user_id.as_str().into(),
            redirect_url: shared.get(&session.redirect_url),
            brand: session.brand.as_deref().map(|brand| shared.get(brand)),
            link_head: shared.get(head),
            link_tail: tail.map(|tail| shared.get(tail)),
            created_at: session.created_at,
            expires_at: session.expires_at,
            completed_at: session.completed_at,
        }
    }

    /// The session, for the presented token whose digest found it.
    fn session(&self, token: &str) -> Result<LinkSession> {
        let token = LinkToken::parse(token)
            .ok_or_else(|| Error::store("a malformed token matched a stored session"))?;
        let link_url = match &self.link_tail {
            Some(tail) => [&*self.link_head, token.as_str(), tail].concat(),
            None => self.link_head.to_string(),
        };
        Ok(LinkSession {
            token,
            kind: self.kind,
            owner_id: self.owner_id.to_string(),
            owner_name: self.owner_name.to_string(),
            user_id: self.user_id.to_string(),
            redirect_url: self.redirect_url.to_string(),
            language: self.language,
            asset_type: self.asset_type,
            brand: self.brand.as_deref().map(str::to_owned),
            link_url,
            created_at: self.created_at,
            expires_at: self.expires_at,
            completed_at: self.completed_at,
        })
    }

    fn caller_key(&self) -> CallerKey {
        (
            self.kind == SessionKind::V2Manufacturer,
            self.owner_id.clone(),
        )
    }
}

/// Holds each shared string once. The strings come from the configuration and the catalog
/// (caller ids and names, registered redirect URLs, brands, link bases), so there are few; past
/// [`Interner::LIMIT`] distinct strings, new ones are no longer shared (a bound, not a leak).
#[derive(Default)]
struct Interner(HashSet<Arc<str>, FastHash>);

impl Interner {
    const LIMIT: usize = 4096;

    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        if self.0.len() < Interner::LIMIT {
            self.0.insert(shared.clone());
        }
        shared
    }
}

impl SessionTable {
    fn uncount(&mut self, digest: &[u8; 32]) {
        let Some(stored) = self.by_digest.get_mut(digest) else {
            return;
        };
        if !std::mem::replace(&mut stored.counted, false) {
            return;
        }
        let key = stored.caller_key();
        self.pending_total = self.pending_total.saturating_sub(1);
        if let Entry::Occupied(mut count) = self.pending_by_caller.entry(key) {
            *count.get_mut() = count.get().saturating_sub(1);
            if *count.get() == 0 {
                count.remove();
            }
        }
    }

    /// Takes the sessions that expired by `now` out of the pending counts.
    fn settle_pending(&mut self, now: i64) {
        while let Some(&(expires_at, digest)) = self.expiry_queue.get(self.settled) {
            if expires_at > now {
                break;
            }
            self.settled += 1;
            self.uncount(&digest);
        }
    }

    /// The expiry of the oldest session that may still be pending.
    fn oldest_pending(&self) -> Option<i64> {
        self.expiry_queue.get(self.settled).map(|&(at, _)| at)
    }

    /// Drops up to `limit` sessions at the front of the expiry queue whose retention passed.
    fn evict_front(&mut self, retention: i64, now: i64, limit: usize) -> usize {
        let mut evicted = 0;
        while evicted < limit {
            match self.expiry_queue.front() {
                Some(&(expires_at, digest)) if expires_at.saturating_add(retention) <= now => {
                    self.expiry_queue.pop_front();
                    self.settled = self.settled.saturating_sub(1);
                    self.uncount(&digest);
                    self.expiry_events.remove(&digest);
                    if let Some(stored) = self.by_digest.remove(&digest) {
                        if stored.completed_at.is_some() {
                            self.completed_stored = self.completed_stored.saturating_sub(1);
                        }
                        evicted += 1;
                    }
                }
                _ => break,
            }
        }
        evicted
    }
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
}

impl Default for MemorySessionStore {
    fn default() -> Self {
        MemorySessionStore::new(DEFAULT_SESSION_RETENTION_SECONDS)
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

impl MemorySessionStore {
    fn insert_locked(
        &self,
        table: &mut SessionTable,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
    ) -> Result<()> {
        let digest = session.token.digest();
        let expires_at = session.expires_at;
        // Amortised eviction: drop a few stale sessions at the front of the queue.
        table.evict_front(self.retention, now, 2);
        table.settle_pending(now);
        let key: CallerKey = (
            session.kind == SessionKind::V2Manufacturer,
            table.shared.get(&session.owner_id),
        );
        let for_caller = table.pending_by_caller.get(&key).copied().unwrap_or(0);
        if for_caller >= caps.per_caller || table.pending_total >= caps.total {
            return Err(PendingCaps::refusal(table.oldest_pending(), now));
        }
        let table = &mut *table;
        let Entry::Vacant(slot) = table.by_digest.entry(digest) else {
            // 256 random bits do not collide; if they ever do, refuse rather than overwrite.
            return Err(Error::store("token collision"));
        };
        let pending = session.completed_at.is_none() && expires_at > now;
        slot.insert(Box::new(Stored::new(&session, &mut table.shared, pending)));
        if session.completed_at.is_some() {
            table.completed_stored += 1;
        }
        if pending {
            *table.pending_by_caller.entry(key).or_insert(0) += 1;
            table.pending_total += 1;
        }
        table.expiry_queue.push_back((expires_at, digest));
        Ok(())
    }
}

impl SessionStore for MemorySessionStore {
    fn insert(&self, session: LinkSession, caps: PendingCaps, now: i64) -> Result<()> {
        self.insert_locked(&mut self.table(), session, caps, now)
    }

    fn insert_with_event(
        &self,
        session: LinkSession,
        caps: PendingCaps,
        now: i64,
        expiry_event: Option<&OutboxEvent>,
    ) -> Result<()> {
        let Some(event) = expiry_event else {
            return self.insert(session, caps, now);
        };
        let digest = session.token.digest();
        let mut table = self.table();
        self.insert_locked(&mut table, session, caps, now)?;
        table
            .outbox
            .insert(event.id.clone(), (new_delivery(event), None));
        table.expiry_events.insert(digest, event.id.clone());
        Ok(())
    }

    fn get(&self, token: &str) -> Result<Option<LinkSession>> {
        let digest = token_digest(token);
        let table = self.table();
        table
            .by_digest
            .get(&digest)
            .map(|stored| stored.session(token))
            .transpose()
    }

    fn mark_completed(&self, token: &str, completion: Completion<'_>) -> Result<MarkCompleted> {
        let digest = token_digest(token);
        let mut table = self.table();
        let table = &mut *table;
        let outcome = match table.by_digest.get_mut(&digest) {
            Some(stored) => {
                if stored.completed_at.is_some() {
                    return Ok(MarkCompleted::AlreadyCompleted(stored.session(token)?));
                }
                stored.completed_at = Some(completion.completed_at);
                if stored.brand.is_none() {
                    stored.brand = completion.brand.map(|brand| table.shared.get(brand));
                }
                MarkCompleted::Completed(stored.session(token)?)
            }
            None => return Ok(MarkCompleted::NotFound),
        };
        if let Some(event) = completion.event {
            table
                .outbox
                .insert(event.id.clone(), (new_delivery(event), None));
        }
        if let Some(id) = table.expiry_events.remove(&digest) {
            table.outbox.remove(&id);
        }
        table.uncount(&digest);
        table.completed_stored += 1;
        Ok(outcome)
    }

    fn evict_expired(&self, now: i64, limit: usize) -> Result<usize> {
        let mut table = self.table();
        // Delivered events leave after the retention (failed ones stay, for the admin list).
        let delivered_by = now.saturating_sub(self.retention);
        table
            .outbox
            .retain(|_, (d, _)| d.delivered_at.is_none_or(|at| at > delivered_by));
        table.settle_pending(now);
        // The queue is in insertion order, which is expiry order while time moves forward; a
        // session inserted out of order leaves with the ones around it.
        Ok(table.evict_front(self.retention, now, limit))
    }

    fn len(&self) -> Result<usize> {
        Ok(self.table().by_digest.len())
    }

    fn count_by_state(&self, now: i64) -> Result<SessionCounts> {
        let mut table = self.table();
        table.settle_pending(now);
        let stored = u64::try_from(table.by_digest.len()).unwrap_or(u64::MAX);
        let pending = table.pending_total;
        let completed = table.completed_stored;
        Ok(SessionCounts {
            pending,
            completed,
            expired: stored.saturating_sub(pending).saturating_sub(completed),
        })
    }
}

/// A new event's delivery state: due at once, no attempt yet.
pub fn new_delivery(event: &OutboxEvent) -> Delivery {
    Delivery {
        event: event.clone(),
        attempts: 0,
        next_attempt_at: event.created_at,
        last_status: None,
        last_error: None,
        delivered_at: None,
        failed_at: None,
    }
}

fn waiting(d: &Delivery) -> bool {
    d.delivered_at.is_none() && d.failed_at.is_none()
}

impl EventOutbox for MemorySessionStore {
    fn claim_due(
        &self,
        now: i64,
        limit: usize,
        lease_seconds: i64,
        instance: &str,
    ) -> Result<Vec<Delivery>> {
        let mut table = self.table();
        let mut due: Vec<(&String, i64)> = table
            .outbox
            .iter()
            .filter(|(_, (d, lease))| {
                waiting(d)
                    && d.next_attempt_at <= now
                    && lease.as_ref().is_none_or(|(_, until)| *until <= now)
            })
            .map(|(id, (d, _))| (id, d.next_attempt_at))
            .collect();
        due.sort_by_key(|&(_, at)| at);
        let ids: Vec<String> = due
            .into_iter()
            .take(limit)
            .map(|(id, _)| id.clone())
            .collect();
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some((d, lease)) = table.outbox.get_mut(&id) {
                *lease = Some((instance.to_owned(), now.saturating_add(lease_seconds)));
                claimed.push(d.clone());
            }
        }
        Ok(claimed)
    }

    fn record_attempt(&self, id: &str, instance: &str, attempt: &Attempt<'_>) -> Result<bool> {
        let mut table = self.table();
        let Some((d, lease)) = table.outbox.get_mut(id) else {
            return Ok(false);
        };
        if lease.as_ref().is_none_or(|(holder, _)| holder != instance) {
            return Ok(false);
        }
        *lease = None;
        apply_attempt(d, attempt);
        Ok(true)
    }

    fn defer(&self, id: &str, instance: &str, due_at: i64) -> Result<bool> {
        let mut table = self.table();
        match table.outbox.get_mut(id) {
            Some((d, lease)) if lease.as_ref().is_some_and(|(holder, _)| holder == instance) => {
                *lease = None;
                d.next_attempt_at = due_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn failed(&self, limit: usize) -> Result<Vec<Delivery>> {
        let table = self.table();
        let mut failed: Vec<Delivery> = table
            .outbox
            .values()
            .filter(|(d, _)| d.failed_at.is_some())
            .map(|(d, _)| d.clone())
            .collect();
        failed.sort_by(|a, b| {
            b.failed_at
                .cmp(&a.failed_at)
                .then(a.event.id.cmp(&b.event.id))
        });
        failed.truncate(limit);
        Ok(failed)
    }

    fn retry(&self, id: &str, now: i64) -> Result<bool> {
        let mut table = self.table();
        match table.outbox.get_mut(id) {
            Some((d, lease)) if d.delivered_at.is_none() && d.failed_at.is_some() => {
                d.failed_at = None;
                d.attempts = 0;
                d.next_attempt_at = now;
                *lease = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn delivery(&self, id: &str) -> Result<Option<Delivery>> {
        Ok(self.table().outbox.get(id).map(|(d, _)| d.clone()))
    }

    fn queue_stats(&self, now: i64) -> Result<QueueStats> {
        let table = self.table();
        let mut stats = QueueStats::default();
        for (d, _) in table
            .outbox
            .values()
            .filter(|(d, _)| waiting(d) && d.event.created_at <= now)
        {
            stats.depth += 1;
            let at = d.event.created_at;
            stats.oldest_created_at = Some(stats.oldest_created_at.map_or(at, |o| o.min(at)));
        }
        Ok(stats)
    }
}

/// Applies an attempt to a delivery state (what every store writes).
pub fn apply_attempt(d: &mut Delivery, attempt: &Attempt<'_>) {
    d.attempts = d.attempts.saturating_add(1);
    d.last_status = attempt.status;
    d.last_error = attempt.error.map(str::to_owned);
    match attempt.outcome {
        AttemptOutcome::Delivered => d.delivered_at = Some(attempt.at),
        AttemptOutcome::RetryAt(at) => d.next_attempt_at = at,
        AttemptOutcome::Failed => d.failed_at = Some(attempt.at),
    }
}

/// A v1 subscriber: one manufacturer's user connected to NOX (spec decision 8).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
    /// Adds the device ids not yet associated, keeping first-seen order; never removes any
    /// (spec decision 8). If the union would hold more than `cap` ids, nothing is added and the
    /// connect is refused as a whole, naming `device_ids` (spec decision 12).
    pub fn merge_device_ids(&mut self, device_ids: &[String], cap: u64) -> Result<()> {
        let new = crate::v1_connect::new_device_ids(&self.device_ids, device_ids);
        let total = self.device_ids.len().saturating_add(new.len());
        if u64::try_from(total).unwrap_or(u64::MAX) > cap {
            return Err(Error::refuse(
                crate::error::Rule::TooManyDeviceIds,
                "device_ids",
                format!("device_ids would exceed the limit of {cap} device ids per user"),
            ));
        }
        let new: Vec<String> = new.into_iter().cloned().collect();
        self.device_ids.extend(new);
        Ok(())
    }
}

/// Storage for v1 subscribers, keyed by (manufacturer id, manufacturer user id).
pub trait SubscriberStore: Send + Sync + fmt::Debug {
    /// Atomically (one transaction, against other processes too) reads the subscriber for the
    /// key (if any), passes it to `update`, and stores and returns what `update` gives back. If
    /// `update` fails, nothing is stored and its error is returned.
    fn upsert(
        &self,
        manufacturer_id: &str,
        manufacturer_user_id: &str,
        update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
    ) -> Result<Subscriber>;
    /// Whether [`upsert_queued`](Self::upsert_queued) returns at once and leaves the read
    /// and the write to a thread of the store's own: a host on an async runtime may then call
    /// it there, and await `done` instead of holding a thread for the round trips. (The
    /// default runs the upsert in the call, which blocks for as long as the store takes.)
    fn queues_upserts(&self) -> bool {
        false
    }
    /// As [`upsert`](Self::upsert), answered through `done` with the same result: on the
    /// store's own thread for a store that [queues upserts](Self::queues_upserts), else before
    /// this returns. `update` is called as by `upsert` (again if the subscriber changed under
    /// it); `done` is called exactly once.
    fn upsert_queued(
        &self,
        manufacturer_id: String,
        manufacturer_user_id: String,
        mut update: SubscriberUpdate,
        done: UpsertDone,
    ) {
        done(self.upsert(&manufacturer_id, &manufacturer_user_id, &mut *update));
    }
    /// The subscriber for the key, if any.
    fn get(&self, manufacturer_id: &str, manufacturer_user_id: &str) -> Result<Option<Subscriber>>;
    /// How many subscribers are stored.
    fn len(&self) -> Result<usize>;
    /// Whether no subscriber is stored.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Whether the store answers (for readiness checks); `Err` says why not.
    fn ping(&self) -> Result<()> {
        Ok(())
    }
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
        update: &mut dyn FnMut(Option<Subscriber>) -> Result<Subscriber>,
    ) -> Result<Subscriber> {
        let mut table = self.table();
        let key = (manufacturer_id.to_owned(), manufacturer_user_id.to_owned());
        let updated = update(table.get(&key).cloned())?;
        table.insert(key, updated.clone());
        Ok(updated)
    }

    fn get(&self, manufacturer_id: &str, manufacturer_user_id: &str) -> Result<Option<Subscriber>> {
        let key = (manufacturer_id.to_owned(), manufacturer_user_id.to_owned());
        Ok(self.table().get(&key).cloned())
    }

    fn len(&self) -> Result<usize> {
        Ok(self.table().len())
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
    fn sessions_come_back_exactly_as_stored() {
        let random = SeededRandom::new(7);
        let store = MemorySessionStore::default();
        let mut sessions = Vec::new();
        // More distinct shared strings than the interner keeps, so both paths are taken.
        for i in 0..(Interner::LIMIT + 50) {
            let mut s = session(&random, 1_000);
            s.owner_id = format!("owner-{}", i % 3);
            s.owner_name = format!("Owner {i}");
            s.user_id = format!("user-{i}");
            s.brand = (i % 2 == 0).then(|| "daikin".to_owned());
            s.kind = [SessionKind::V2Supplier, SessionKind::V1Supplier][i % 2];
            s.link_url = match i % 3 {
                0 => format!("https://auth.example/ui?token={}&language=nl", s.token),
                1 => format!("https://link.example/connect/{}", s.token),
                _ => "https://link.example/without-the-token".to_owned(),
            };
            s.completed_at = (i % 5 == 0).then_some(1_001);
            store.insert(s.clone(), PendingCaps::NONE, 1_000).unwrap();
            sessions.push(s);
        }
        for s in &sessions {
            assert_eq!(store.get(s.token.as_str()).unwrap().as_ref(), Some(s));
        }
        let pending = sessions
            .iter()
            .find(|s| s.completed_at.is_none() && s.brand.is_none());
        let mut expected = pending.unwrap().clone();
        let completion = Completion {
            completed_at: 1_002,
            brand: Some("vaillant"),
            event: None,
        };
        let done = store
            .mark_completed(expected.token.as_str(), completion)
            .unwrap();
        expected.completed_at = Some(1_002);
        expected.brand = Some("vaillant".to_owned());
        assert_eq!(done, MarkCompleted::Completed(expected.clone()));
        assert_eq!(store.get(expected.token.as_str()).unwrap(), Some(expected));
    }

    #[test]
    fn completion_is_a_compare_and_set() {
        let store = MemorySessionStore::new(60);
        let random = SeededRandom::new(1);
        let s = session(&random, 0);
        let token = s.token.as_str().to_owned();
        store.insert(s, PendingCaps::NONE, 0).unwrap();
        let at = |completed_at| Completion {
            completed_at,
            brand: Some("nibe"),
            event: None,
        };
        assert!(
            matches!(store.mark_completed(&token, at(5)).unwrap(), MarkCompleted::Completed(s) if s.completed_at == Some(5) && s.brand.as_deref() == Some("nibe"))
        );
        assert!(
            matches!(store.mark_completed(&token, at(6)).unwrap(), MarkCompleted::AlreadyCompleted(s) if s.completed_at == Some(5))
        );
        assert_eq!(
            store.mark_completed(&"b".repeat(43), at(6)).unwrap(),
            MarkCompleted::NotFound
        );
        assert_eq!(store.get(&token).unwrap().unwrap().completed_at, Some(5));
    }

    #[test]
    fn stale_sessions_are_evicted_as_new_ones_arrive() {
        let store = MemorySessionStore::new(60);
        let random = SeededRandom::new(2);
        for t in 0..1000 {
            store
                .insert(session(&random, t), PendingCaps::NONE, t)
                .unwrap();
        }
        // At t = 999, sessions created before 999 - 600 - 60 = 339 are gone.
        assert_eq!(store.len().unwrap(), 1000 - 340);
        assert_eq!(store.evict_expired(10_000, 100).unwrap(), 100);
        assert_eq!(store.evict_expired(10_000, 1000).unwrap(), 560);
        assert!(store.is_empty().unwrap());
    }

    #[test]
    fn pending_caps_count_per_caller_and_in_total_until_expiry_or_completion() {
        let store = MemorySessionStore::new(60);
        let random = SeededRandom::new(3);
        let caps = PendingCaps {
            per_caller: 2,
            total: 3,
        };
        let first = session(&random, 0);
        let first_token = first.token.as_str().to_owned();
        store.insert(first, caps, 0).unwrap();
        store.insert(session(&random, 10), caps, 10).unwrap();
        let refused = store.insert(session(&random, 20), caps, 20).unwrap_err();
        // The oldest pending session expires at 600: retry after 580 s.
        assert_eq!(
            refused,
            Error::TooManySessions {
                retry_after_seconds: 580
            }
        );
        // Completing one makes room for the caller.
        let done = Completion {
            completed_at: 30,
            brand: None,
            event: None,
        };
        store.mark_completed(&first_token, done).unwrap();
        store.insert(session(&random, 30), caps, 30).unwrap();
        // Another caller is held by the total cap only.
        let mut other = session(&random, 40);
        other.owner_id = "other".into();
        store.insert(other.clone(), caps, 40).unwrap();
        other.token = LinkToken::generate(&random).unwrap();
        assert_eq!(
            store.insert(other.clone(), caps, 41).unwrap_err().code(),
            "too_many_sessions"
        );
        // Expiry makes room too.
        other.token = LinkToken::generate(&random).unwrap();
        store.insert(other, caps, 610).unwrap();
        // At 610: the sessions of 0 (completed), 10 (expired), 30 (pending until 630), 40
        // (pending) and 610 (pending).
        assert_eq!(
            store.count_by_state(610).unwrap(),
            SessionCounts {
                pending: 3,
                completed: 1,
                expired: 1
            }
        );
        assert_eq!(store.evict_expired(10_000, 100).unwrap(), 5);
        assert_eq!(
            store.count_by_state(10_000).unwrap(),
            SessionCounts::default()
        );
    }

    #[test]
    fn subscribers_merge_device_ids_in_first_seen_order() {
        let mut s = Subscriber {
            manufacturer_id: "m".into(),
            manufacturer_user_id: "u".into(),
            nox_user_id: "id".into(),
            device_ids: vec!["a".into(), "b".into()],
        };
        s.merge_device_ids(&["c".into(), "a".into(), "c".into(), "d".into()], 4)
            .unwrap();
        assert_eq!(s.device_ids, ["a", "b", "c", "d"]);
        s.merge_device_ids(&[], 4).unwrap();
        s.merge_device_ids(&["a".into(), "d".into()], 4).unwrap();
        assert_eq!(s.device_ids, ["a", "b", "c", "d"]);
        // Past the cap, nothing is added.
        let refused = s
            .merge_device_ids(&["a".into(), "e".into()], 4)
            .unwrap_err();
        assert_eq!(refused.fields(), ["device_ids"]);
        assert_eq!(s.device_ids, ["a", "b", "c", "d"]);
    }
}
