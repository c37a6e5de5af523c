//! Link sessions: the record, its expiry and its completion (spec decision 7).
//!
//! A session is `pending` until it is completed or expires. It expires exactly
//! [`LINK_SESSION_TTL_SECONDS`] (600 s) after creation, inclusive: at `created_at + 600` it is
//! expired. It completes at most once; completing an expired or an already completed session is
//! an error that says which. Nothing else changes a session.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::AssetType;
use crate::error::{Error, Result};
use crate::language::Language;
use crate::token::LinkToken;

/// How long a link session lives: 10 minutes.
pub const LINK_SESSION_TTL_SECONDS: i64 = 600;

/// When a session created at `created_at` expires (saturating at the end of time).
pub fn expires_at(created_at: i64) -> i64 {
    created_at.saturating_add(LINK_SESSION_TTL_SECONDS)
}

/// Which endpoint created a session; it decides the link URL and the wire shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SessionKind {
    /// `POST /v2/supplier/link-sessions`.
    V2Supplier,
    /// `POST /v2/manufacturer/link-sessions`.
    V2Manufacturer,
    /// `POST /users/{userId}/link` (deprecated v1).
    V1Supplier,
}

impl SessionKind {
    /// Every kind, in documentation order.
    pub const ALL: [SessionKind; 3] = [
        SessionKind::V2Supplier,
        SessionKind::V2Manufacturer,
        SessionKind::V1Supplier,
    ];

    /// `v2_supplier`, `v2_manufacturer` or `v1_supplier`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::V2Supplier => "v2_supplier",
            SessionKind::V2Manufacturer => "v2_manufacturer",
            SessionKind::V1Supplier => "v1_supplier",
        }
    }
}

/// The state of a session at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SessionState {
    /// Neither completed nor expired.
    Pending,
    /// Completed by the end-user (this wins over expiry).
    Completed,
    /// Not completed, and `now >= expires_at`.
    Expired,
}

impl SessionState {
    /// Every state, in documentation order.
    pub const ALL: [SessionState; 3] = [
        SessionState::Pending,
        SessionState::Completed,
        SessionState::Expired,
    ];

    /// The state at `now` of a session that expires at `expires_at` and was completed at
    /// `completed_at` (if ever): completed wins, then expired from `expires_at` on (inclusive).
    /// For session data held elsewhere (an app's backend) without the session itself.
    pub fn at(expires_at: i64, completed_at: Option<i64>, now: i64) -> SessionState {
        if completed_at.is_some() {
            SessionState::Completed
        } else if now >= expires_at {
            SessionState::Expired
        } else {
            SessionState::Pending
        }
    }

    /// `pending`, `completed` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Pending => "pending",
            SessionState::Completed => "completed",
            SessionState::Expired => "expired",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One link session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSession {
    /// The session's token (a bearer secret).
    pub token: LinkToken,
    /// The endpoint that created it.
    pub kind: SessionKind,
    /// The id of the supplier or manufacturer that created it.
    pub owner_id: String,
    /// The name of the supplier or manufacturer that created it.
    pub owner_name: String,
    /// The caller's id for the end-user.
    pub user_id: String,
    /// Where the end-user goes after the flow.
    pub redirect_url: String,
    /// The UI language.
    pub language: Language,
    /// The device category (v2 supplier sessions only).
    pub asset_type: Option<AssetType>,
    /// The pre-selected brand slug (supplier sessions), or the manufacturer's title-cased brand
    /// name (v2 manufacturer sessions).
    pub brand: Option<String>,
    /// The URL to send the end-user to.
    pub link_url: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry time, `created_at + 600`.
    pub expires_at: i64,
    /// Completion time, if completed.
    pub completed_at: Option<i64>,
}

impl LinkSession {
    /// The state at `now`.
    pub fn state(&self, now: i64) -> SessionState {
        SessionState::at(self.expires_at, self.completed_at, now)
    }

    /// Whether the session is expired at `now` (and was not completed before).
    pub fn is_expired(&self, now: i64) -> bool {
        self.state(now) == SessionState::Expired
    }

    /// Seconds left before expiry at `now` (0 once expired).
    pub fn seconds_left(&self, now: i64) -> i64 {
        self.expires_at.saturating_sub(now).max(0)
    }

    /// The link URL split around the token: (before, after), or (the whole URL, `None`) when
    /// it does not hold the token. Stores keep these two parts and rebuild the URL from the
    /// presented token, so that no token is stored.
    pub fn link_url_parts(&self) -> (&str, Option<&str>) {
        let (url, token) = (self.link_url.as_bytes(), self.token.as_str().as_bytes());
        // A plain scan on the token's first byte: a link URL is short and holds the token once,
        // and this costs a fraction of `str::find`'s searcher set-up on every insert.
        let at = token.first().and_then(|&first| {
            url.iter()
                .enumerate()
                .filter(|&(_, &byte)| byte == first)
                .map(|(i, _)| i)
                .find(|&i| url.get(i..i + token.len()) == Some(token))
        });
        match at {
            Some(at) => (
                self.link_url.get(..at).unwrap_or_default(),
                self.link_url.get(at + token.len()..),
            ),
            None => (self.link_url.as_str(), None),
        }
    }

    /// Checks that the session may be completed at `now`: not completed, not expired.
    pub fn check_completable(&self, now: i64) -> Result<()> {
        match (self.completed_at, self.state(now)) {
            (Some(completed_at), _) => Err(Error::SessionAlreadyCompleted { completed_at }),
            (None, SessionState::Expired) => Err(Error::SessionExpired {
                expires_at: self.expires_at,
            }),
            _ => Ok(()),
        }
    }
}

/// A pending v2 supplier session for unit tests of this crate.
#[cfg(test)]
pub(crate) fn sample(token: LinkToken, created_at: i64) -> LinkSession {
    LinkSession {
        token,
        kind: SessionKind::V2Supplier,
        owner_id: "s".into(),
        owner_name: "S".into(),
        user_id: "u".into(),
        redirect_url: "https://a.example/".into(),
        language: Language::Nl,
        asset_type: Some(AssetType::HeatPump),
        brand: None,
        link_url: "https://auth.nox.energy/ui?token=x&language=nl".into(),
        created_at,
        expires_at: expires_at(created_at),
        completed_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn session(created_at: i64) -> LinkSession {
        sample(LinkToken::parse(&"a".repeat(43)).unwrap(), created_at)
    }

    #[test]
    fn expiry_is_inclusive_at_600_seconds() {
        let s = session(1_703_123_456);
        assert_eq!(s.expires_at, 1_703_124_056);
        assert_eq!(s.state(1_703_124_055), SessionState::Pending);
        assert_eq!(s.state(1_703_124_056), SessionState::Expired);
        assert_eq!(
            s.check_completable(1_703_124_056),
            Err(Error::SessionExpired {
                expires_at: 1_703_124_056
            })
        );
        assert_eq!(s.seconds_left(1_703_123_456), 600);
    }

    #[test]
    fn wire_json_keeps_the_documented_field_order() {
        let keys: Vec<String> = match session(0).to_wire_json() {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("{other}"),
        };
        assert_eq!(
            keys,
            [
                "link_url",
                "link_token",
                "brand",
                "language",
                "asset_type",
                "redirect_url",
                "supplier",
                "supplier_user_id",
                "completed_at",
                "created_at",
                "expires_at"
            ]
        );
    }

    #[test]
    fn completion_wins_over_expiry_and_happens_once() {
        let mut s = session(0);
        s.completed_at = Some(10);
        assert_eq!(s.state(10_000), SessionState::Completed);
        assert_eq!(
            s.check_completable(20),
            Err(Error::SessionAlreadyCompleted { completed_at: 10 })
        );
    }

    proptest! {
        #[test]
        fn expiry_arithmetic(created_at in -(1i64 << 40)..(1i64 << 40), offset in 0i64..2000) {
            let s = session(created_at);
            prop_assert_eq!(s.expires_at - s.created_at, 600);
            let now = created_at + offset;
            let expected = if offset >= 600 { SessionState::Expired } else { SessionState::Pending };
            prop_assert_eq!(s.state(now), expected);
            prop_assert_eq!(s.seconds_left(now), (600 - offset).max(0));
            prop_assert_eq!(SessionState::at(s.expires_at, None, now), expected);
            prop_assert_eq!(SessionState::at(s.expires_at, Some(created_at), now), SessionState::Completed);
        }

        #[test]
        fn expiry_saturates_instead_of_overflowing(created_at in (i64::MAX - 1000)..=i64::MAX) {
            prop_assert!(expires_at(created_at) >= created_at);
        }
    }
}
