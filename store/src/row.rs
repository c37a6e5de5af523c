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

/// The link URL split around the token: (head, tail), or (whole URL, `None`).
pub(crate) fn split_link_url(session: &LinkSession) -> (&str, Option<&str>) {
    let token = session.token.as_str();
    match session.link_url.find(token) {
        Some(at) => (
            session.link_url.get(..at).unwrap_or_default(),
            session.link_url.get(at + token.len()..),
        ),
        None => (session.link_url.as_str(), None),
    }
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
