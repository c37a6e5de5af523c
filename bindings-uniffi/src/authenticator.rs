//! The whole service for apps that embed the flow: the core's
//! [`Authenticator`](nox_authenticator::Authenticator) with its in-memory stores.

use std::sync::Arc;

use nox_authenticator as nox;

use crate::catalog::Catalog;
use crate::http::{HttpRequest, HttpResponse};
use crate::session::LinkSession;
use nox::Subscriber;
use nox::flow::{Connectors, FlowRules, FlowView, Progress, Step, page_language};
use nox::{
    ManufacturerLinkSessionInput, SupplierLinkSessionInput, V1ConnectInput, V1SupplierLinkInput,
};
use nox_authenticator::Error;

/// The NOX Authenticator: create, look up and complete link sessions, connect v1 subscribers,
/// and answer the four endpoints through `handleHttp`. Every operation takes the time (`now`,
/// Unix seconds). Safe to share between threads.
#[derive(Debug, uniffi::Object)]
pub struct Authenticator {
    inner: nox::Authenticator,
    /// The configuration's connectors, checked, for the hosted flow's view model.
    connectors: Connectors,
}

#[uniffi::export]
impl Authenticator {
    /// An authenticator from a JSON configuration (callers, keys, redirect URLs, link base
    /// URLs). `test_seed` makes tokens and ids deterministic: **tests only**, anyone who knows
    /// the seed knows every token. A bad configuration is `NoxException.InvalidConfig`.
    #[uniffi::constructor(default(test_seed = None))]
    pub fn new(config_json: String, test_seed: Option<u64>) -> Result<Authenticator, Error> {
        let config = nox::Config::from_json(&config_json)?;
        // The mobile library keeps its state in memory: it carries no database driver (the
        // store crate is left out to keep the app small). A shared store is the backend's.
        if config
            .store
            .as_deref()
            .is_some_and(|store| store.trim() != "memory")
        {
            return Err(nox::Error::InvalidConfig {
                field: "store".into(),
                reason:
                    "the mobile library keeps sessions in memory only: omit store or use \"memory\""
                        .into(),
            });
        }
        let connectors =
            Connectors::check(&config.connectors, config.default_connector.as_deref())?;
        let builder = nox::Authenticator::builder(config);
        let builder = match test_seed {
            Some(seed) => builder.random(Arc::new(nox::SeededRandom::new(seed))),
            None => builder,
        };
        Ok(Authenticator {
            inner: builder.build()?,
            connectors,
        })
    }

    /// The brand catalog in use.
    pub fn catalog(&self) -> Arc<Catalog> {
        Arc::new(Catalog {
            inner: self.inner.catalog(),
        })
    }

    /// Replaces the catalog (for example with a newer one loaded at run time). Sessions already
    /// created keep their brand.
    pub fn set_catalog(&self, catalog: Arc<Catalog>) {
        self.inner.set_catalog(catalog.inner.as_ref().clone());
    }

    /// `POST /v2/supplier/link-sessions`.
    pub fn create_supplier_link_session(
        &self,
        api_key: Option<String>,
        input: SupplierLinkSessionInput,
        now: i64,
    ) -> Result<Arc<LinkSession>, Error> {
        let now = checked_now(now)?;
        let session = self
            .inner
            .create_supplier_link_session(api_key.as_deref(), &input, now)?;
        Ok(LinkSession::shared(session))
    }

    /// `POST /v2/manufacturer/link-sessions`.
    pub fn create_manufacturer_link_session(
        &self,
        api_key: Option<String>,
        input: ManufacturerLinkSessionInput,
        now: i64,
    ) -> Result<Arc<LinkSession>, Error> {
        let now = checked_now(now)?;
        let session =
            self.inner
                .create_manufacturer_link_session(api_key.as_deref(), &input, now)?;
        Ok(LinkSession::shared(session))
    }

    /// `POST /users/{userId}/link` (deprecated v1).
    pub fn create_v1_supplier_link(
        &self,
        api_key: Option<String>,
        input: V1SupplierLinkInput,
        now: i64,
    ) -> Result<Arc<LinkSession>, Error> {
        let now = checked_now(now)?;
        let session = self
            .inner
            .create_v1_supplier_link(api_key.as_deref(), &input, now)?;
        Ok(LinkSession::shared(session))
    }

    /// `POST /manufacturers/nox` (deprecated v1): creates or updates the subscriber.
    pub fn connect_v1_manufacturer(
        &self,
        api_key: Option<String>,
        input: V1ConnectInput,
    ) -> Result<Subscriber, Error> {
        self.inner
            .connect_v1_manufacturer(api_key.as_deref(), &input)
    }

    /// The session with this token, in whatever state (`NoxException.SessionNotFound` if none).
    pub fn session(&self, token: String) -> Result<Arc<LinkSession>, Error> {
        Ok(LinkSession::shared(self.inner.session(&token)?))
    }

    /// Completes the session at `now`: once only, and only before it expires
    /// (`SessionAlreadyCompleted`, `SessionExpired`, `SessionNotFound` otherwise).
    pub fn complete_session(&self, token: String, now: i64) -> Result<Arc<LinkSession>, Error> {
        let now = checked_now(now)?;
        Ok(LinkSession::shared(
            self.inner.complete_session(&token, now)?,
        ))
    }

    /// Drops sessions whose retention after expiry has passed at `now`; returns how many.
    pub fn evict_expired(&self, now: i64) -> Result<u64, Error> {
        let evicted = self.inner.evict_expired(checked_now(now)?)?;
        Ok(u64::try_from(evicted).unwrap_or(u64::MAX))
    }

    /// How many sessions the store holds.
    pub fn session_count(&self) -> Result<u64, Error> {
        let count = self.inner.session_count()?;
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    /// The view model of the hosted flow's page for the session with this token at `now`
    /// (spec decision 19), for a host that renders its own page: the step (the next one for
    /// `progress` when `step` is none), what can be picked, the page language (`language`, the
    /// link's parameter, when it is one of ours, else the session's), the return URL.
    /// `NoxException.SessionNotFound` if no session has this token.
    #[uniffi::method(default(step = None, language = None))]
    pub fn flow_view(
        &self,
        token: String,
        progress: Progress,
        now: i64,
        step: Option<Step>,
        language: Option<String>,
    ) -> Result<FlowView, Error> {
        let now = checked_now(now)?;
        let session = self.inner.session(&token)?;
        let catalog = self.inner.catalog();
        let rules = FlowRules {
            connectors: &self.connectors,
            callers: self.inner.callers(),
            catalog: &catalog,
        };
        let step = step.unwrap_or_else(|| rules.next_step(&session, &progress, now));
        let language = page_language(language.as_deref(), Some(&session), None);
        Ok(rules.view(&session, &progress, step, language, now))
    }

    /// Answers one HTTP request of any of the four endpoints at `now`, exactly as the server
    /// would. Errors of the request are answered as their documented JSON bodies; only a `now`
    /// out of range throws (`NoxException.InvalidArgument`).
    pub fn handle_http(&self, request: HttpRequest, now: i64) -> Result<HttpResponse, Error> {
        let now = checked_now(now)?;
        Ok(request
            .with_core(|core_request| self.inner.handle_http(core_request, now))
            .into())
    }

    /// Answers one request of the admin API at `now` (`GET /admin/link-sessions/{token}`,
    /// `POST /admin/link-sessions/{token}/complete`: `{kind, state, session}` or `{error,
    /// code}`), for a JVM backend that serves its own admin side. Only a `now` out of range
    /// throws (`NoxException.InvalidArgument`).
    pub fn handle_admin_http(&self, request: HttpRequest, now: i64) -> Result<HttpResponse, Error> {
        let now = checked_now(now)?;
        Ok(request
            .with_core(|core_request| self.inner.handle_admin_http(core_request, now))
            .into())
    }
}

/// The one conversion point of `now`: the core's rule (spec decision 18, 0 to
/// 253402300799), or `NoxException.InvalidArgument` for `now`.
fn checked_now(now: i64) -> Result<i64, Error> {
    Ok(nox::check_now(now)?)
}
