//! The service: callers, catalog, stores and randomness together, with one method per
//! operation. Every method takes the time (`now`, Unix seconds) instead of reading a clock.
//!
//! ```
//! use nox_authenticator::{Authenticator, Config, SeededRandom, SupplierLinkSessionInput};
//! use std::sync::Arc;
//!
//! let config = Config::from_json(r#"{"suppliers": [{"id": "s1", "name": "Acme Energy",
//!     "api_key": "k1", "redirect_urls": ["https://acme.example/cb"]}]}"#).unwrap();
//! let auth = Authenticator::builder(config).random(Arc::new(SeededRandom::new(1))).build().unwrap();
//! let input = SupplierLinkSessionInput {
//!     user_id: Some("user-1".into()),
//!     redirect_url: Some("https://acme.example/cb".into()),
//!     asset_type: Some("hp".into()),
//!     brand: Some("alpha innotec".into()),
//!     ..Default::default()
//! };
//! let session = auth.create_supplier_link_session(Some("k1"), &input, 1_703_123_456).unwrap();
//! assert_eq!(session.brand.as_deref(), Some("alpha-innotec"));
//! assert_eq!(session.expires_at, 1_703_124_056);
//! auth.complete_session(session.token.as_str(), 1_703_123_500).unwrap();
//! ```

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use crate::catalog::{AssetType, Catalog};
use crate::config::{
    CheckedConfig, Config, Limits, LinkBaseUrls, WebhookSettings, webhook_caller_key,
};
use crate::error::{Error, Result};
use crate::language::Language;
use crate::principal::{ApiKeyDigest, Callers, Manufacturer, Supplier};
use crate::redirect::RedirectField;
use crate::session::{LinkSession, SessionKind, expires_at};
use crate::store::OutboxEvent;
use crate::store::{
    Completion, InsertDone, MarkCompleted, MemorySessionStore, MemorySubscriberStore, PendingCaps,
    SessionCounts, SessionStore, Subscriber, SubscriberStore, SubscriberUpdate, UpsertDone,
};
use crate::token::{LinkToken, RandomSource, SystemRandom};
use crate::webhook::{CompletionEvent, WebhookEventType};

/// How many sessions [`Authenticator::evict_expired`] deletes per store call.
const EVICTION_BATCH: usize = 1000;

/// What a validated request contributes to a new session.
struct Draft {
    user_id: String,
    redirect_url: String,
    language: Language,
    asset_type: Option<AssetType>,
    brand: Option<String>,
}
use crate::v1_connect::V1ConnectInput;
use crate::v1_supplier::V1SupplierLinkInput;
use crate::v2_manufacturer::ManufacturerLinkSessionInput;
use crate::v2_supplier::SupplierLinkSessionInput;

/// The NOX Authenticator: create, look up and complete link sessions, connect v1 subscribers,
/// and serve all four endpoints through [`Authenticator::handle_http`]. Share it between
/// threads freely (it is `Send + Sync`).
#[derive(Debug)]
pub struct Authenticator {
    callers: Callers,
    link_base_urls: LinkBaseUrls,
    pub(crate) max_body_bytes: usize,
    limits: Limits,
    admin_keys: Vec<ApiKeyDigest>,
    webhooks: WebhookSettings,
    catalog: RwLock<Arc<Catalog>>,
    sessions: Arc<dyn SessionStore>,
    subscribers: Arc<dyn SubscriberStore>,
    random: Arc<dyn RandomSource>,
}

/// A new session with what its insert takes ([`Authenticator::new_session_write`]).
#[derive(Debug)]
pub(crate) struct NewSessionWrite {
    session: LinkSession,
    caps: PendingCaps,
    event: Option<OutboxEvent>,
    now: i64,
}

impl NewSessionWrite {
    /// Runs the insert in the call.
    pub(crate) fn run(self, store: &dyn SessionStore) -> Result<()> {
        store.insert_with_event(self.session, self.caps, self.now, self.event.as_ref())
    }

    /// Hands the insert to the store, which answers through `done` ([`SessionStore::insert_queued`]).
    pub(crate) fn queue(self, store: &dyn SessionStore, done: InsertDone) {
        store.insert_queued(self.session, self.caps, self.now, self.event, done);
    }
}

/// A v1 connect's upsert with what it takes ([`Authenticator::subscriber_write`]).
pub(crate) struct SubscriberWrite {
    manufacturer_id: String,
    manufacturer_user_id: String,
    update: SubscriberUpdate,
}

impl fmt::Debug for SubscriberWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriberWrite")
            .field("manufacturer_id", &self.manufacturer_id)
            .field("manufacturer_user_id", &self.manufacturer_user_id)
            .finish_non_exhaustive()
    }
}

impl SubscriberWrite {
    /// Runs the upsert in the call.
    pub(crate) fn run(mut self, store: &dyn SubscriberStore) -> Result<Subscriber> {
        store.upsert(
            &self.manufacturer_id,
            &self.manufacturer_user_id,
            &mut *self.update,
        )
    }

    /// Hands the upsert to the store, which answers through `done`
    /// ([`SubscriberStore::upsert_queued`]).
    pub(crate) fn queue(self, store: &dyn SubscriberStore, done: UpsertDone) {
        store.upsert_queued(
            self.manufacturer_id,
            self.manufacturer_user_id,
            self.update,
            done,
        );
    }
}

/// Builds an [`Authenticator`] with other stores, catalog or randomness than the defaults
/// (in-memory stores, the builtin catalog, the system CSPRNG).
#[derive(Debug)]
pub struct AuthenticatorBuilder {
    config: Config,
    catalog: Option<Catalog>,
    sessions: Option<Arc<dyn SessionStore>>,
    subscribers: Option<Arc<dyn SubscriberStore>>,
    random: Option<Arc<dyn RandomSource>>,
}

impl AuthenticatorBuilder {
    /// Uses this catalog instead of the builtin one.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }
    /// Keeps sessions in this store.
    pub fn sessions(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(store);
        self
    }
    /// Keeps v1 subscribers in this store.
    pub fn subscribers(mut self, store: Arc<dyn SubscriberStore>) -> Self {
        self.subscribers = Some(store);
        self
    }
    /// Draws tokens and ids from this source (for example [`crate::SeededRandom`] in tests).
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = Some(random);
        self
    }
    /// Checks the configuration and builds.
    pub fn build(self) -> Result<Authenticator> {
        let CheckedConfig {
            callers,
            link_base_urls,
            max_body_bytes,
            session_retention_seconds,
            limits,
            admin_keys,
            webhooks,
        } = self.config.check()?;
        Ok(Authenticator {
            callers,
            link_base_urls,
            max_body_bytes,
            limits,
            admin_keys,
            webhooks,
            catalog: RwLock::new(Arc::new(
                self.catalog.unwrap_or_else(|| Catalog::builtin().clone()),
            )),
            sessions: self
                .sessions
                .unwrap_or_else(|| Arc::new(MemorySessionStore::new(session_retention_seconds))),
            subscribers: self
                .subscribers
                .unwrap_or_else(|| Arc::new(MemorySubscriberStore::default())),
            random: self.random.unwrap_or_else(|| Arc::new(SystemRandom)),
        })
    }
}

impl Authenticator {
    /// An authenticator with the default stores, catalog and randomness.
    pub fn new(config: Config) -> Result<Authenticator> {
        Authenticator::builder(config).build()
    }

    /// An authenticator from a JSON configuration (see [`Config`]).
    pub fn from_json(json: &str) -> Result<Authenticator> {
        Authenticator::new(Config::from_json(json)?)
    }

    /// A builder, to replace the stores, catalog or randomness.
    pub fn builder(config: Config) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            config,
            catalog: None,
            sessions: None,
            subscribers: None,
            random: None,
        }
    }

    /// The largest request body [`Authenticator::handle_http`] reads, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The configured callers.
    pub fn callers(&self) -> &Callers {
        &self.callers
    }

    /// The catalog in use.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the catalog (for example with a newer one loaded at run time); returns the
    /// previous one. Sessions already created keep their brand.
    pub fn set_catalog(&self, catalog: Catalog) -> Arc<Catalog> {
        let mut current = self.catalog.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, Arc::new(catalog))
    }

    /// `POST /v2/supplier/link-sessions`.
    pub fn create_supplier_link_session(
        &self,
        api_key: Option<&str>,
        input: &SupplierLinkSessionInput,
        now: i64,
    ) -> Result<LinkSession> {
        let supplier = self.callers.authenticate_supplier(api_key)?;
        let session = self.new_supplier_link_session(supplier, input, now)?;
        self.store_new_session(session.clone(), now)?;
        Ok(session)
    }

    /// A validated, not yet stored v2 supplier session.
    pub(crate) fn new_supplier_link_session(
        &self,
        supplier: &Supplier,
        input: &SupplierLinkSessionInput,
        now: i64,
    ) -> Result<LinkSession> {
        let request = input.validate_for(&self.catalog(), Some(&supplier.redirects))?;
        RedirectField::V2_SUPPLIER.check_registered(&supplier.redirects, &request.redirect_url)?;
        self.new_session(
            SessionKind::V2Supplier,
            (&supplier.id, &supplier.name),
            Draft {
                user_id: request.user_id,
                redirect_url: request.redirect_url,
                language: request.language,
                asset_type: Some(request.asset_type),
                brand: request.brand,
            },
            now,
        )
    }

    /// `POST /v2/manufacturer/link-sessions`.
    pub fn create_manufacturer_link_session(
        &self,
        api_key: Option<&str>,
        input: &ManufacturerLinkSessionInput,
        now: i64,
    ) -> Result<LinkSession> {
        let manufacturer = self.callers.authenticate_manufacturer(api_key)?;
        let session = self.new_manufacturer_link_session(manufacturer, input, now)?;
        self.store_new_session(session.clone(), now)?;
        Ok(session)
    }

    /// A validated, not yet stored v2 manufacturer session.
    pub(crate) fn new_manufacturer_link_session(
        &self,
        manufacturer: &Manufacturer,
        input: &ManufacturerLinkSessionInput,
        now: i64,
    ) -> Result<LinkSession> {
        let request = input.validate_for(Some(&manufacturer.redirects))?;
        RedirectField::V2_MANUFACTURER
            .check_registered(&manufacturer.redirects, &request.redirect_url)?;
        self.new_session(
            SessionKind::V2Manufacturer,
            (&manufacturer.id, &manufacturer.name),
            Draft {
                user_id: request.user_id,
                redirect_url: request.redirect_url,
                language: request.language,
                asset_type: None,
                brand: Some(manufacturer.brand_title()),
            },
            now,
        )
    }

    /// `POST /users/{userId}/link` (deprecated v1).
    pub fn create_v1_supplier_link(
        &self,
        api_key: Option<&str>,
        input: &V1SupplierLinkInput,
        now: i64,
    ) -> Result<LinkSession> {
        let supplier = self.callers.authenticate_supplier(api_key)?;
        let session = self.new_v1_supplier_link(supplier, input, now)?;
        self.store_new_session(session.clone(), now)?;
        Ok(session)
    }

    /// A validated, not yet stored v1 supplier session.
    pub(crate) fn new_v1_supplier_link(
        &self,
        supplier: &Supplier,
        input: &V1SupplierLinkInput,
        now: i64,
    ) -> Result<LinkSession> {
        let request = input.validate_for(&self.catalog(), Some(&supplier.redirects))?;
        RedirectField::V1_SUPPLIER.check_registered(&supplier.redirects, &request.redirect_uri)?;
        self.new_session(
            SessionKind::V1Supplier,
            (&supplier.id, &supplier.name),
            Draft {
                user_id: request.user_id,
                redirect_url: request.redirect_uri,
                language: request.language,
                asset_type: None,
                brand: request.brand,
            },
            now,
        )
    }

    /// `POST /manufacturers/nox` (deprecated v1): creates or updates the subscriber.
    pub fn connect_v1_manufacturer(
        &self,
        api_key: Option<&str>,
        input: &V1ConnectInput,
    ) -> Result<Subscriber> {
        let manufacturer = self.callers.authenticate_manufacturer(api_key)?;
        self.v1_connect_for(manufacturer, input)
    }

    pub(crate) fn v1_connect_for(
        &self,
        manufacturer: &Manufacturer,
        input: &V1ConnectInput,
    ) -> Result<Subscriber> {
        self.subscriber_write(manufacturer, input)?
            .run(self.subscribers.as_ref())
    }

    /// The upsert a v1 connect makes: the key and the merge of its device ids into the stored
    /// subscriber (a new one, with a fresh `nox_user_id`, if there is none).
    pub(crate) fn subscriber_write(
        &self,
        manufacturer: &Manufacturer,
        input: &V1ConnectInput,
    ) -> Result<SubscriberWrite> {
        let request = input.validate()?;
        // Drawn before the upsert so that the atomic section cannot fail; unused on updates.
        let fresh_id = self.new_uuid()?;
        let manufacturer_id = manufacturer.id.clone();
        let user_id = request.manufacturer_user_id;
        let cap = self.limits.device_ids_per_subscriber;
        let device_ids = request.device_ids;
        let update = {
            let (manufacturer_id, user_id) = (manufacturer_id.clone(), user_id.clone());
            move |existing: Option<Subscriber>| {
                let mut subscriber = existing.unwrap_or_else(|| Subscriber {
                    manufacturer_id: manufacturer_id.clone(),
                    manufacturer_user_id: user_id.clone(),
                    nox_user_id: fresh_id.clone(),
                    device_ids: Vec::new(),
                });
                subscriber.merge_device_ids(&device_ids, cap)?;
                Ok(subscriber)
            }
        };
        Ok(SubscriberWrite {
            manufacturer_id,
            manufacturer_user_id: user_id,
            update: Box::new(update),
        })
    }

    /// The subscriber store.
    pub(crate) fn subscriber_store(&self) -> &dyn SubscriberStore {
        self.subscribers.as_ref()
    }

    /// Whether the subscriber store queues upserts for a thread of its own
    /// ([`SubscriberStore::queues_upserts`]): then [`Authenticator::upsert_queued`] never
    /// waits for the store, and a host on an async runtime may call it there.
    pub fn queues_upserts(&self) -> bool {
        self.subscribers.queues_upserts()
    }

    /// The session with this token, in whatever state (`Error::SessionNotFound` if there is
    /// none, or it was evicted).
    pub fn session(&self, token: &str) -> Result<LinkSession> {
        if LinkToken::parse(token).is_none() {
            return Err(Error::SessionNotFound);
        }
        self.sessions.get(token)?.ok_or(Error::SessionNotFound)
    }

    /// Completes the session at `now`: once only, and only before it expires.
    pub fn complete_session(&self, token: &str, now: i64) -> Result<LinkSession> {
        self.complete_session_with(token, None, now)
    }

    /// Completes the session at `now`, recording the brand the end-user picked if the session
    /// had none (the hosted flow's pick step). Once only, and only before it expires.
    pub fn complete_session_with(
        &self,
        token: &str,
        picked_brand: Option<&str>,
        now: i64,
    ) -> Result<LinkSession> {
        let mut session = self.session(token)?;
        session.check_completable(now)?;
        // The event the completion writes into the outbox in its transaction (decision 20),
        // built from the session as the completion leaves it.
        let event = if self.has_webhook(&session) {
            session.completed_at = Some(now);
            if session.brand.is_none() {
                session.brand = picked_brand.map(str::to_owned);
            }
            Some(self.outbox_event(&session, WebhookEventType::LinkSessionCompleted, now)?)
        } else {
            None
        };
        let completion = Completion {
            completed_at: now,
            brand: picked_brand,
            event: event.as_ref(),
        };
        match self.sessions.mark_completed(token, completion)? {
            MarkCompleted::Completed(session) => Ok(session),
            MarkCompleted::AlreadyCompleted(session) => Err(Error::SessionAlreadyCompleted {
                completed_at: session.completed_at.unwrap_or(now),
            }),
            MarkCompleted::NotFound => Err(Error::SessionNotFound),
        }
    }

    /// The checked webhook settings: schedule, time-out and each caller's endpoint.
    pub fn webhooks(&self) -> &WebhookSettings {
        &self.webhooks
    }

    /// Whether the caller that owns `session` has a webhook (no lookup, and no key built, when
    /// no caller has one).
    fn has_webhook(&self, session: &LinkSession) -> bool {
        !self.webhooks.endpoints.is_empty()
            && self.webhooks.endpoints.contains_key(&webhook_caller_key(
                session.kind == SessionKind::V2Manufacturer,
                &session.owner_id,
            ))
    }

    /// The outbox event of type `event_type` for `session` at `now`, with a fresh id, for its
    /// caller (spec decision 20).
    pub fn outbox_event(
        &self,
        session: &LinkSession,
        event_type: WebhookEventType,
        now: i64,
    ) -> Result<OutboxEvent> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes)?;
        Ok(OutboxEvent {
            id: crate::webhook::event_id(&bytes),
            caller: webhook_caller_key(
                session.kind == crate::session::SessionKind::V2Manufacturer,
                &session.owner_id,
            ),
            event_type: event_type.as_str().to_owned(),
            body: CompletionEvent::new(session, event_type, now).to_body(),
            created_at: now,
        })
    }

    /// Drops sessions whose retention after expiry has passed at `now`; returns how many.
    pub fn evict_expired(&self, now: i64) -> Result<usize> {
        let mut total = 0;
        loop {
            let evicted = self.sessions.evict_expired(now, EVICTION_BATCH)?;
            total += evicted;
            if evicted < EVICTION_BATCH {
                return Ok(total);
            }
        }
    }

    /// Drops at most `limit` sessions whose retention after expiry has passed at `now`; a
    /// host's background task calls it in a loop, so no request waits for a large sweep.
    pub fn evict_expired_batch(&self, now: i64, limit: usize) -> Result<usize> {
        self.sessions.evict_expired(now, limit)
    }

    /// How many sessions the store holds.
    pub fn session_count(&self) -> Result<usize> {
        self.sessions.len()
    }

    /// Stored sessions by state at `now` (for metrics).
    pub fn session_counts(&self, now: i64) -> Result<SessionCounts> {
        self.sessions.count_by_state(now)
    }

    /// How many v1 subscribers the store holds.
    pub fn subscriber_count(&self) -> Result<usize> {
        self.subscribers.len()
    }

    /// Whether both stores answer (for a readiness check); `Err` says which does not and why.
    pub fn ping_stores(&self) -> Result<()> {
        self.sessions.ping()?;
        self.subscribers.ping()
    }

    /// The limits in force (spec decision 12).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The digests of the admin keys (spec decision 13); empty when the configuration has
    /// none (several during a rotation).
    pub fn admin_keys(&self) -> &[ApiKeyDigest] {
        &self.admin_keys
    }

    /// Stores a new session under the pending caps; the host may answer 201 once this returns.
    pub(crate) fn store_new_session(&self, session: LinkSession, now: i64) -> Result<()> {
        self.new_session_write(session, now)?
            .run(self.sessions.as_ref())
    }

    /// The write that stores a new session: the session, the pending caps, and the session's
    /// `link_session.expired` event if its caller has a webhook (spec decision 20: written
    /// with the session, due at its expiry; a completion removes it).
    pub(crate) fn new_session_write(
        &self,
        session: LinkSession,
        now: i64,
    ) -> Result<NewSessionWrite> {
        let caps = PendingCaps {
            per_caller: self.limits.pending_sessions_per_caller,
            total: self.limits.pending_sessions_total,
        };
        let event = if self.has_webhook(&session)
            && session.completed_at.is_none()
            && session.expires_at > now
        {
            Some(self.outbox_event(
                &session,
                WebhookEventType::LinkSessionExpired,
                session.expires_at,
            )?)
        } else {
            None
        };
        Ok(NewSessionWrite {
            session,
            caps,
            event,
            now,
        })
    }

    /// The session store.
    pub(crate) fn session_store(&self) -> &dyn SessionStore {
        self.sessions.as_ref()
    }

    /// Whether the session store queues inserts for a thread of its own
    /// ([`SessionStore::queues_inserts`]): then [`Authenticator::insert_queued`] never waits
    /// for the store, and a host on an async runtime may call it there.
    pub fn queues_inserts(&self) -> bool {
        self.sessions.queues_inserts()
    }

    /// A new session for a validated request: a fresh token, its link URL and its expiry.
    fn new_session(
        &self,
        kind: SessionKind,
        (owner_id, owner_name): (&str, &str),
        draft: Draft,
        now: i64,
    ) -> Result<LinkSession> {
        let token = LinkToken::generate(self.random.as_ref())?;
        // `BASE?token=TOKEN` (v1) or `BASE?token=TOKEN&language=LANG` (v2), in one allocation.
        let (base, language) = match kind {
            SessionKind::V1Supplier => (self.link_base_urls.v1.as_str(), None),
            _ => (
                self.link_base_urls.v2.as_str(),
                Some(draft.language.as_str()),
            ),
        };
        let mut link_url = String::with_capacity(base.len() + 64);
        link_url.push_str(base);
        link_url.push_str("?token=");
        link_url.push_str(token.as_str());
        if let Some(language) = language {
            link_url.push_str("&language=");
            link_url.push_str(language);
        }
        Ok(LinkSession {
            token,
            kind,
            owner_id: owner_id.to_owned(),
            owner_name: owner_name.to_owned(),
            user_id: draft.user_id,
            redirect_url: draft.redirect_url,
            language: draft.language,
            asset_type: draft.asset_type,
            brand: draft.brand,
            link_url,
            created_at: now,
            expires_at: expires_at(now),
            completed_at: None,
        })
    }

    fn new_uuid(&self) -> Result<String> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes)?;
        Ok(uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string())
    }
}
