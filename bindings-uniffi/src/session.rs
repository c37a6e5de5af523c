//! Link sessions: the record, its state and expiry at a given time (spec decision 7), from the
//! core's [`LinkSession`](nox_authenticator::LinkSession). Time is always passed in (`now`, Unix
//! seconds), so tests control it; `systemNow()` reads the device clock.

use std::sync::Arc;

use nox_authenticator as nox;

use nox::{AssetType, Language, SessionKind, SessionState};

use nox_authenticator::Error;

/// The state at `now` of a session known only by its `expires_at` and `completed_at` (for
/// example as an app's own backend reported them): completed wins, then expired from
/// `expires_at` on, inclusive.
#[uniffi::export]
pub fn session_state_at(expires_at: i64, completed_at: Option<i64>, now: i64) -> SessionState {
    SessionState::at(expires_at, completed_at, now)
}

/// One link session. Its token is a bearer secret: keep it out of logs (`toString()` leaves it
/// out). Equal sessions have equal hash codes.
#[derive(Debug, PartialEq, Eq, uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct LinkSession {
    inner: nox::LinkSession,
}

impl std::hash::Hash for LinkSession {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal sessions have equal tokens; the token is what identifies a session.
        self.inner.token.as_str().hash(state);
    }
}

impl std::fmt::Display for LinkSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.inner;
        write!(
            f,
            "LinkSession(kind={}, owner={:?}, user_id={:?}, language={}, brand={:?}, \
             created_at={}, expires_at={}, completed_at={:?}, token=<redacted>)",
            s.kind.as_str(),
            s.owner_id,
            s.user_id,
            s.language.as_str(),
            s.brand,
            s.created_at,
            s.expires_at,
            s.completed_at
        )
    }
}

impl LinkSession {
    /// Wraps a core session for the foreign side.
    pub(crate) fn shared(inner: nox::LinkSession) -> Arc<LinkSession> {
        Arc::new(LinkSession { inner })
    }
}

#[uniffi::export]
impl LinkSession {
    /// The session's token.
    pub fn token(&self) -> String {
        self.inner.token.as_str().to_owned()
    }
    /// The endpoint that created it.
    pub fn kind(&self) -> SessionKind {
        self.inner.kind
    }
    /// The id of the supplier or manufacturer that created it.
    pub fn owner_id(&self) -> String {
        self.inner.owner_id.clone()
    }
    /// The name of the supplier or manufacturer that created it.
    pub fn owner_name(&self) -> String {
        self.inner.owner_name.clone()
    }
    /// The caller's id for the end-user.
    pub fn user_id(&self) -> String {
        self.inner.user_id.clone()
    }
    /// Where the end-user goes after the flow.
    pub fn redirect_url(&self) -> String {
        self.inner.redirect_url.clone()
    }
    /// The UI language.
    pub fn language(&self) -> Language {
        self.inner.language
    }
    /// The device category (v2 supplier sessions only).
    pub fn asset_type(&self) -> Option<AssetType> {
        self.inner.asset_type
    }
    /// The brand slug (supplier sessions) or the manufacturer's title-cased brand name.
    pub fn brand(&self) -> Option<String> {
        self.inner.brand.clone()
    }
    /// The URL to send the end-user to.
    pub fn link_url(&self) -> String {
        self.inner.link_url.clone()
    }
    /// Creation time, Unix seconds.
    pub fn created_at(&self) -> i64 {
        self.inner.created_at
    }
    /// Expiry time, `created_at + 600`.
    pub fn expires_at(&self) -> i64 {
        self.inner.expires_at
    }
    /// Completion time, if completed.
    pub fn completed_at(&self) -> Option<i64> {
        self.inner.completed_at
    }
    /// The state at `now`.
    pub fn state(&self, now: i64) -> SessionState {
        self.inner.state(now)
    }
    /// Whether the session is expired at `now` (expiry is inclusive: at `expires_at` it is).
    pub fn is_expired(&self, now: i64) -> bool {
        self.inner.is_expired(now)
    }
    /// Seconds left before expiry at `now` (0 once expired).
    pub fn seconds_left(&self, now: i64) -> i64 {
        self.inner.seconds_left(now)
    }
    /// Checks that the session may be completed at `now`: `SessionAlreadyCompleted` or
    /// `SessionExpired` otherwise.
    pub fn check_completable(&self, now: i64) -> Result<(), Error> {
        self.inner.check_completable(now)
    }
    /// The session as its endpoint's documented JSON response body (for v1, the `data` object).
    pub fn to_wire_json(&self) -> String {
        self.inner.to_wire_json().to_string()
    }
}

/// How long a link session lives, in seconds (600).
#[uniffi::export]
pub fn link_session_ttl_seconds() -> i64 {
    nox::LINK_SESSION_TTL_SECONDS
}

/// The device's current Unix time in whole seconds, for the `now` arguments.
#[uniffi::export]
pub fn system_now() -> i64 {
    nox::system_now()
}
