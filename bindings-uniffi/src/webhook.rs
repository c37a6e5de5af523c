//! Completion events (Standard Webhooks), for an app's backend written in Kotlin or Swift (or an
//! app that checks an event it was handed): [`verify_webhook`], [`sign_webhook`] and the typed
//! [`WebhookEvent`]. Every rule is the core's ([`nox_authenticator::webhook`]); refusals are
//! [`WebhookError`], apart from the core's [`Error`](crate::Error) as in the core.

use nox_authenticator::webhook as core;

use nox_authenticator::{SessionKind, SessionState, WebhookEventType};

use crate::http::HttpHeader;

/// A verified completion event.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WebhookEvent {
    /// `webhook-id`: the same on every delivery attempt of the event; act on each id once.
    pub id: String,
    /// `webhook-timestamp`: when this attempt was signed, Unix seconds.
    pub signed_at: i64,
    /// The event's type.
    pub event_type: WebhookEventType,
    /// When the event happened (the body's `timestamp`), Unix seconds.
    pub timestamp: i64,
    /// Which endpoint created the session.
    pub kind: SessionKind,
    /// The session's state when the event happened: completed or expired.
    pub state: SessionState,
    /// The session's token.
    pub token: String,
    /// The caller's id for the end-user (`supplier_user_id` or `manufacturer_user_id`).
    pub user_id: String,
    /// The session's link URL.
    pub link_url: String,
    /// The session's expiry, Unix seconds.
    pub expires_at: i64,
    /// The session's completion time (none when not completed, and for v1 sessions, whose body
    /// has no such field).
    pub completed_at: Option<i64>,
    /// The session as its endpoint's documented body (for v1, the `data` object), as JSON text.
    pub session_json: String,
}

/// Why a completion event was refused, or a webhook secret not accepted. In Kotlin each case is
/// a subclass of `WebhookException`; `code()` is the stable rule code, `field()` the header or
/// body field concerned and `status()` what a receiver answers the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display, Eq)]
pub enum WebhookError {
    /// A required header is absent or empty. `missing_header`.
    #[error("{}", self.to_core())]
    MissingHeader {
        /// `webhook-id`, `webhook-timestamp` or `webhook-signature`.
        name: String,
    },
    /// `webhook-timestamp` is not a whole number of Unix seconds. `invalid_timestamp`.
    #[error("{}", self.to_core())]
    InvalidTimestamp,
    /// `webhook-timestamp` is more than 5 minutes before `now`. `timestamp_too_old`.
    #[error("{}", self.to_core())]
    TimestampTooOld {
        /// The header's time.
        timestamp: i64,
        /// The receiver's time.
        now: i64,
    },
    /// `webhook-timestamp` is more than 5 minutes after `now`. `timestamp_too_new`.
    #[error("{}", self.to_core())]
    TimestampTooNew {
        /// The header's time.
        timestamp: i64,
        /// The receiver's time.
        now: i64,
    },
    /// No `v1` signature matches under any of the secrets. `no_valid_signature`.
    #[error("{}", self.to_core())]
    NoValidSignature,
    /// The secret is not `whsec_` and the base64 of at least 24 bytes. `invalid_secret`.
    // The core's message template: its reasons are not kept as core values here (a test checks
    // the two agree).
    #[error("Invalid webhook secret: {reason}")]
    InvalidSecret {
        /// What is wrong with it (never the secret itself).
        reason: String,
    },
    /// The signature is valid but the body is not a completion event. `invalid_body`.
    #[error("Invalid event body: {}{reason}", field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
    InvalidBody {
        /// Where in the body (`type`, `data.session.link_token`…), or none for the whole.
        field: Option<String>,
        /// What is wrong there.
        reason: String,
    },
}

/// The core's static strings for a field or reason that came back from Kotlin or Swift.
fn known(text: &str, candidates: &[&'static str]) -> &'static str {
    candidates
        .iter()
        .copied()
        .find(|c| *c == text)
        .unwrap_or("")
}

const HEADERS: [&str; 3] = [
    core::HEADER_ID,
    core::HEADER_TIMESTAMP,
    core::HEADER_SIGNATURE,
];

impl WebhookError {
    /// The core error this mirrors, to answer its message, code, field and status (the
    /// reasons of `InvalidSecret` and `InvalidBody` are answered from the fields themselves).
    fn to_core(&self) -> core::WebhookError {
        match self {
            WebhookError::MissingHeader { name } => core::WebhookError::MissingHeader {
                name: known(name, &HEADERS),
            },
            WebhookError::InvalidTimestamp => core::WebhookError::InvalidTimestamp,
            WebhookError::TimestampTooOld { timestamp, now } => {
                core::WebhookError::TimestampTooOld {
                    timestamp: *timestamp,
                    now: *now,
                }
            }
            WebhookError::TimestampTooNew { timestamp, now } => {
                core::WebhookError::TimestampTooNew {
                    timestamp: *timestamp,
                    now: *now,
                }
            }
            WebhookError::NoValidSignature => core::WebhookError::NoValidSignature,
            WebhookError::InvalidSecret { .. } => core::WebhookError::InvalidSecret { reason: "" },
            WebhookError::InvalidBody { .. } => core::WebhookError::InvalidBody {
                field: None,
                reason: "",
            },
        }
    }
}

#[uniffi::export]
impl WebhookError {
    /// The stable rule code: `missing_header`, `invalid_timestamp`, `timestamp_too_old`,
    /// `timestamp_too_new`, `no_valid_signature`, `invalid_secret` or `invalid_body`.
    pub fn code(&self) -> String {
        self.to_core().code().to_owned()
    }

    /// The header or body field the refusal concerns, if one.
    pub fn field(&self) -> Option<String> {
        match self {
            WebhookError::InvalidBody { field, .. } => field.clone(),
            other => other.to_core().field().map(str::to_owned),
        }
    }

    /// What a receiver answers the sender: 400, or 500 for `invalid_secret`.
    pub fn status(&self) -> u16 {
        self.to_core().status()
    }
}

impl From<core::WebhookError> for WebhookError {
    fn from(error: core::WebhookError) -> WebhookError {
        match error {
            core::WebhookError::MissingHeader { name } => WebhookError::MissingHeader {
                name: name.to_owned(),
            },
            core::WebhookError::InvalidTimestamp => WebhookError::InvalidTimestamp,
            core::WebhookError::TimestampTooOld { timestamp, now } => {
                WebhookError::TimestampTooOld { timestamp, now }
            }
            core::WebhookError::TimestampTooNew { timestamp, now } => {
                WebhookError::TimestampTooNew { timestamp, now }
            }
            core::WebhookError::NoValidSignature => WebhookError::NoValidSignature,
            core::WebhookError::InvalidSecret { reason } => WebhookError::InvalidSecret {
                reason: reason.to_owned(),
            },
            core::WebhookError::InvalidBody { field, reason } => WebhookError::InvalidBody {
                field: field.map(str::to_owned),
                reason: reason.to_owned(),
            },
            // The core enum is `#[non_exhaustive]`; a later rule still refuses the event.
            _ => WebhookError::NoValidSignature,
        }
    }
}

/// Verifies a completion event as a receiver got it, at `now` (Unix seconds), against the
/// receiver's secrets (one, or the old and the new one during a rotation), and returns it.
#[uniffi::export]
pub fn verify_webhook(
    secrets: Vec<String>,
    headers: Vec<HttpHeader>,
    body: Vec<u8>,
    now: i64,
) -> Result<WebhookEvent, WebhookError> {
    let secrets = secrets
        .iter()
        .map(|text| core::WebhookSecret::parse(text))
        .collect::<Result<Vec<_>, _>>()?;
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|header| (header.name.as_str(), header.value.as_str()))
        .collect();
    let event = core::verify_webhook(&secrets, &pairs, &body, now)?;
    Ok(WebhookEvent {
        session_json: event.session.to_string(),
        id: event.id,
        signed_at: event.signed_at,
        event_type: event.event_type,
        timestamp: event.timestamp,
        kind: event.kind,
        state: event.state,
        token: event.token,
        user_id: event.user_id,
        link_url: event.link_url,
        expires_at: event.expires_at,
        completed_at: event.completed_at,
    })
}

/// The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">`, `timestamp` in Unix seconds.
#[uniffi::export]
pub fn sign_webhook(
    secret: String,
    id: String,
    timestamp: i64,
    body: Vec<u8>,
) -> Result<String, WebhookError> {
    let secret = core::WebhookSecret::parse(&secret)?;
    Ok(core::sign_webhook(&secret, &id, timestamp, &body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn messages_codes_and_fields_are_the_cores() {
        let cases = [
            core::WebhookError::MissingHeader {
                name: core::HEADER_SIGNATURE,
            },
            core::WebhookError::InvalidTimestamp,
            core::WebhookError::TimestampTooOld {
                timestamp: 1,
                now: 400,
            },
            core::WebhookError::TimestampTooNew {
                timestamp: 400,
                now: 1,
            },
            core::WebhookError::NoValidSignature,
            core::WebhookError::InvalidSecret {
                reason: "fewer than 24 bytes",
            },
            core::WebhookError::InvalidBody {
                field: Some("data.kind"),
                reason: "not an object",
            },
            core::WebhookError::InvalidBody {
                field: None,
                reason: "not JSON",
            },
        ];
        for error in cases {
            let mirrored = WebhookError::from(error.clone());
            assert_eq!(mirrored.to_string(), error.to_string());
            assert_eq!(mirrored.code(), error.code());
            assert_eq!(mirrored.field().as_deref(), error.field());
            assert_eq!(mirrored.status(), error.status());
        }
    }
}
