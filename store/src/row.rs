//! How a [`LinkSession`] is laid out in a row, shared by the SQLite and PostgreSQL stores.
//!
//! The token is a bearer secret, so it is not stored: rows are keyed by its SHA-256 digest,
//! and the link URL (which carries the token) is stored as the text before and after it. A
//! lookup has the presented token in hand, and rebuilds both from it.

use nox_authenticator::{AssetType, Error, Language, LinkSession, LinkToken, Result, SessionKind};

/// The columns of a session row, in the order every `SELECT`/`RETURNING` lists them.
pub(crate) const SESSION_COLUMNS: &str = "kind, owner_id, owner_name, user_id, redirect_url, \
     language, asset_type, brand, link_url_head, link_url_tail, created_at, expires_at, completed_at";

/// A session as its row holds it.
pub(crate) struct SessionRow {
    pub kind: String,
    pub owner_id: String,
    pub owner_name: String,
    pub user_id: String,
    pub redirect_url: String,
    pub language: String,
    pub asset_type: Option<String>,
    pub brand: Option<String>,
    /// The link URL up to the token (the whole URL if it holds no token).
    pub link_url_head: String,
    /// The link URL after the token; `None` if the URL holds no token.
    pub link_url_tail: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
}

/// Parses the kind column.
pub(crate) fn parse_kind(text: &str) -> Result<SessionKind> {
    [
        SessionKind::V2Supplier,
        SessionKind::V2Manufacturer,
        SessionKind::V1Supplier,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == text)
    .ok_or_else(|| Error::store(format!("stored session has an unknown kind {text:?}")))
}

impl SessionRow {
    /// The session for the presented `token` (whose digest found this row).
    pub fn into_session(self, token: &str) -> Result<LinkSession> {
        let token = LinkToken::parse(token)
            .ok_or_else(|| Error::store("a malformed token matched a stored session"))?;
        let language = Language::parse(&self.language).ok_or_else(|| {
            Error::store(format!(
                "stored session has an unknown language {:?}",
                self.language
            ))
        })?;
        let asset_type = match self.asset_type.as_deref() {
            None => None,
            Some(text) => Some(AssetType::parse(text).ok_or_else(|| {
                Error::store(format!("stored session has an unknown asset type {text:?}"))
            })?),
        };
        let link_url = match self.link_url_tail {
            Some(tail) => format!("{}{}{}", self.link_url_head, token.as_str(), tail),
            None => self.link_url_head,
        };
        Ok(LinkSession {
            token,
            kind: parse_kind(&self.kind)?,
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            user_id: self.user_id,
            redirect_url: self.redirect_url,
            language,
            asset_type,
            brand: self.brand,
            link_url,
            created_at: self.created_at,
            expires_at: self.expires_at,
            completed_at: self.completed_at,
        })
    }
}

/// The pending-count key's caller kind: suppliers and manufacturers may share an id.
pub(crate) fn caller_kind(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::V2Manufacturer => "manufacturer",
        SessionKind::V2Supplier | SessionKind::V1Supplier => "supplier",
    }
}

/// A cap as a database integer (`u64::MAX` and anything past `i64::MAX` is "no cap").
pub(crate) fn cap(value: u64) -> Option<i64> {
    i64::try_from(value).ok().filter(|&v| v < i64::MAX)
}

/// The columns of an outbox row, in the order every `SELECT`/`RETURNING` lists them.
pub(crate) const OUTBOX_COLUMNS: &str = "id, caller, event_type, body, created_at, attempts, \
     next_attempt_at, last_status, last_error, delivered_at, failed_at";

/// An outbox row as read, before conversion.
pub(crate) struct OutboxRow {
    pub id: String,
    pub caller: String,
    pub event_type: String,
    pub body: Vec<u8>,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub failed_at: Option<i64>,
}

impl OutboxRow {
    pub(crate) fn into_delivery(self) -> nox_authenticator::store::Delivery {
        nox_authenticator::store::Delivery {
            event: nox_authenticator::store::OutboxEvent {
                id: self.id,
                caller: self.caller,
                event_type: self.event_type,
                body: self.body,
                created_at: self.created_at,
            },
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            next_attempt_at: self.next_attempt_at,
            last_status: self.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
            delivered_at: self.delivered_at,
            failed_at: self.failed_at,
        }
    }
}

/// What [`nox_authenticator::store::EventOutbox::record_attempt`] writes: delivered_at,
/// failed_at, next_attempt_at (each `None` to keep the stored value).
pub(crate) fn attempt_columns(
    attempt: &nox_authenticator::store::Attempt<'_>,
) -> (Option<i64>, Option<i64>, Option<i64>) {
    use nox_authenticator::store::AttemptOutcome;
    match attempt.outcome {
        AttemptOutcome::Delivered => (Some(attempt.at), None, None),
        AttemptOutcome::Failed => (None, Some(attempt.at), None),
        AttemptOutcome::RetryAt(at) => (None, None, Some(at)),
    }
}

/// The statements of the outbox, the same text on SQLite and PostgreSQL (`$n` parameters).
pub(crate) mod outbox_sql {
    /// $1 now, $2 limit, $3 instance, $4 lease seconds.
    pub const CLAIM: &str = "UPDATE webhook_outbox SET leased_by = $3, leased_until = $1 + $4 \
         WHERE leased_until <= $1 AND id IN (SELECT id FROM webhook_outbox \
           WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
           AND leased_until <= $1 ORDER BY next_attempt_at LIMIT $2 FOR_UPDATE) \
         RETURNING ";
    /// $1 id, $2 instance, $3 status, $4 error, $5 delivered_at, $6 failed_at, $7 next.
    pub const RECORD: &str = "UPDATE webhook_outbox SET attempts = attempts + 1, \
         last_status = $3, last_error = $4, leased_by = NULL, leased_until = 0, \
         delivered_at = coalesce($5, delivered_at), failed_at = coalesce($6, failed_at), \
         next_attempt_at = coalesce($7, next_attempt_at) \
         WHERE id = $1 AND leased_by = $2";
    /// $1 delivered by, $2 limit: delivered events leave after the session retention.
    pub const PRUNE: &str = "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox \
         WHERE delivered_at <= $1 LIMIT $2)";
    /// $1 id, $2 instance, $3 due at.
    pub const DEFER: &str = "UPDATE webhook_outbox SET leased_by = NULL, leased_until = 0, \
         next_attempt_at = $3 WHERE id = $1 AND leased_by = $2";
    /// $1 limit.
    pub const FAILED: &str =
        "FROM webhook_outbox WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id LIMIT $1";
    /// $1 id, $2 now.
    pub const RETRY: &str = "UPDATE webhook_outbox SET failed_at = NULL, attempts = 0, \
         next_attempt_at = $2, leased_by = NULL, leased_until = 0 \
         WHERE id = $1 AND failed_at IS NOT NULL AND delivered_at IS NULL";
    /// $1 id.
    pub const ONE: &str = "FROM webhook_outbox WHERE id = $1";
    /// $1 now.
    pub const STATS: &str = "SELECT count(*), min(created_at) FROM webhook_outbox \
         WHERE delivered_at IS NULL AND failed_at IS NULL AND created_at <= $1";
    /// $1 id, $2 caller, $3 type, $4 body, $5 created_at (the expiry), $6 session digest.
    pub const INSERT_EXPIRY: &str = "INSERT INTO webhook_outbox \
         (id, caller, event_type, body, created_at, next_attempt_at, session_sha256) \
         VALUES ($1, $2, $3, $4, $5, $5, $6)";
    /// $1 id, $2 caller, $3 type, $4 body, $5 created_at.
    pub const INSERT: &str = "INSERT INTO webhook_outbox \
         (id, caller, event_type, body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $5)";
}
