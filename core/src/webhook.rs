//! Completion events as signed webhooks, per the [Standard Webhooks] specification (spec
//! decision 20): the signing the server does and the verification a receiver does, pure like
//! the rest of the crate (the time is passed in as `now`).
//!
//! - **Secret**: `whsec_` followed by standard base64 (with padding) of at least
//!   [`MIN_SECRET_BYTES`] (24) bytes; [`WebhookSecret::parse`].
//! - **Headers**: `webhook-id` (the same on every attempt of one event: receivers dedupe on it),
//!   `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`.
//! - **Signature**: `v1,` and the standard base64 of HMAC-SHA256, keyed with the secret's
//!   bytes, of `"{id}.{timestamp}.{body}"`. The header may hold several signatures separated by
//!   spaces (a sender rotating its secret signs with both); the event passes when any one of
//!   them is valid for any one of the receiver's secrets. Entries of another version (`v1a,…`)
//!   or that do not parse are ignored, as the specification says.
//! - **Tolerance**: the timestamp may be at most [`TIMESTAMP_TOLERANCE_SECONDS`] (5 minutes)
//!   before or after `now`, inclusive, so a captured event cannot be replayed later.
//! - **Comparison** of signatures is in constant time ([`subtle::ConstantTimeEq`]).
//! - **Body**: `{"type", "timestamp", "data"}`: the type is `link_session.completed` or
//!   `link_session.expired` ([`WebhookEventType`]), the timestamp RFC 3339 in UTC
//!   (`2026-12-01T22:51:17Z`), and `data` the admin lookup's shape `{"kind", "state",
//!   "session"}` (decision 13, [`AdminSessionBody`]). [`CompletionEvent`] writes it;
//!   [`verify_webhook`] reads it back as a typed [`WebhookEvent`] after the signature passed
//!   (an unauthenticated body is never parsed).
//!
//! Every refusal is a [`WebhookError`] with a stable rule code ([`WebhookError::code`]):
//! `missing_header`, `invalid_timestamp`, `timestamp_too_old`, `timestamp_too_new`,
//! `no_valid_signature`, `invalid_secret`, `invalid_body`. It is a separate type from the
//! request-refusal [`Error`](crate::Error): a receiver's verdict on an incoming event is neither
//! a refusal of an API request nor an HTTP protocol error (decision 17 keeps the kinds apart).
//!
//! ## Why `hmac` + `sha2` + `base64`, not the `standardwebhooks` crate
//!
//! The scheme is one HMAC and one base64 call; the RustCrypto `hmac` crate (0.13, on the same
//! `digest` 0.11 as the `sha2` the crate already uses for API keys) and `base64` are the
//! well-kept pieces. The `standardwebhooks` crate (1.0.1) would cost more than it saves: its
//! `verify` reads the system clock (the core never does; tests and the conformance vectors need
//! a `now`), takes an `http::HeaderMap` (a dependency the core does not otherwise need), holds
//! one secret (no rotation on the receiving side), accepts secrets of any length, says only
//! "signature invalid" or "timestamp too old" without the header concerned, and brings
//! `base64` 0.21, `time` and `hmac-sha256` beside the versions already here. Independence is
//! proven instead by the shared vectors (`tests/vectors/webhooks.json`), whose signatures the
//! PyPI `standardwebhooks` package computed, and by cross-verification with the PyPI and npm
//! packages in the Python and Node suites.
//!
//! ## Example: the server signs, a receiver verifies
//!
//! ```
//! use nox_authenticator::webhook::{
//!     WebhookError, WebhookEventType, WebhookSecret, sign_webhook, verify_webhook,
//! };
//! use nox_authenticator::{SessionKind, SessionState};
//!
//! let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
//! let body = br#"{"type":"link_session.completed","timestamp":"2026-12-01T22:51:17Z",
//!   "data":{"kind":"v1_supplier","state":"completed","session":{
//!   "link_token":"tok","link_url":"https://auth.nox.energy/link?token=tok","expires_at":1796165900,
//!   "supplier_id":"supplier_123","supplier_user_id":"u1"}}}"#;
//! let signature = sign_webhook(&secret, "msg_1", 1_796_165_477, body);
//! assert!(signature.starts_with("v1,"));
//!
//! let headers = [
//!     ("webhook-id", "msg_1"),
//!     ("webhook-timestamp", "1796165477"),
//!     ("webhook-signature", signature.as_str()),
//! ];
//! let event = verify_webhook(&secret, &headers, body, 1_796_165_480)?;
//! assert_eq!(event.id, "msg_1");
//! assert_eq!(event.event_type, WebhookEventType::LinkSessionCompleted);
//! assert_eq!((event.kind, event.state), (SessionKind::V1Supplier, SessionState::Completed));
//! assert_eq!(event.user_id, "u1");
//! assert_eq!(event.session["supplier_id"], "supplier_123");
//!
//! // Ten minutes later the same request is a replay.
//! let late = verify_webhook(&secret, &headers, body, 1_796_166_077).unwrap_err();
//! assert_eq!(late.code(), "timestamp_too_old");
//! // A changed body fails the signature.
//! let changed = verify_webhook(&secret, &headers, b"{}", 1_796_165_480).unwrap_err();
//! assert_eq!(changed, WebhookError::NoValidSignature);
//! # Ok::<(), WebhookError>(())
//! ```
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::session::{LinkSession, SessionKind, SessionState};
use crate::wire::AdminSessionBody;

/// The prefix of a webhook secret's text form.
pub const SECRET_PREFIX: &str = "whsec_";
/// The fewest bytes a webhook secret may have (192 bits, the specification's lower bound).
pub const MIN_SECRET_BYTES: usize = 24;
/// How far `webhook-timestamp` may be from `now`, either way, inclusive: 5 minutes.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 300;
/// The event id header: the same on every delivery attempt of one event.
pub const HEADER_ID: &str = "webhook-id";
/// The attempt's time header, in Unix seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The signature header: `v1,<base64>`, several separated by spaces.
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// The latest time [`format_rfc3339`] writes as itself (the end of year 9999, decision 18).
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

const SIGNATURE_VERSION: &str = "v1";

/// Why a webhook was refused, or a secret was not accepted. Each variant has a stable rule code
/// ([`code`](Self::code)) and, where one is concerned, the header or body field
/// ([`field`](Self::field)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent or empty. `missing_header`.
    #[error("Missing {name} header")]
    MissingHeader {
        /// Which: `webhook-id`, `webhook-timestamp` or `webhook-signature`.
        name: &'static str,
    },
    /// `webhook-timestamp` is not a whole, non-negative number of Unix seconds in decimal
    /// without leading zeros. `invalid_timestamp`.
    #[error("Invalid webhook-timestamp header: not a whole number of Unix seconds")]
    InvalidTimestamp,
    /// `webhook-timestamp` is more than 5 minutes before `now` (a replay, or a very late
    /// delivery: the sender signs each attempt anew). `timestamp_too_old`.
    #[error("Webhook timestamp too old: {timestamp} is more than 300 s before {now}")]
    TimestampTooOld {
        /// The header's time.
        timestamp: i64,
        /// The receiver's time.
        now: i64,
    },
    /// `webhook-timestamp` is more than 5 minutes after `now` (a clock far off, or a forged
    /// time). `timestamp_too_new`.
    #[error("Webhook timestamp too new: {timestamp} is more than 300 s after {now}")]
    TimestampTooNew {
        /// The header's time.
        timestamp: i64,
        /// The receiver's time.
        now: i64,
    },
    /// No `v1` signature in `webhook-signature` matches the id, timestamp and body under any of
    /// the secrets: the body, id or timestamp was changed, the secret is another, or the header
    /// is malformed. `no_valid_signature`.
    #[error("No valid signature in the webhook-signature header")]
    NoValidSignature,
    /// The secret is not `whsec_` and the base64 of at least 24 bytes (or no secret was given).
    /// The secret itself is never part of the message. `invalid_secret`.
    #[error("Invalid webhook secret: {reason}")]
    InvalidSecret {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signature is valid but the body is not a completion event of the documented shape.
    /// `invalid_body`.
    #[error("Invalid event body: {}{reason}", field.map(|f| format!("{f}: ")).unwrap_or_default())]
    InvalidBody {
        /// Where in the body (`type`, `data.session.link_token`…), or `None` for the whole.
        field: Option<&'static str>,
        /// What is wrong there.
        reason: &'static str,
    },
}

impl WebhookError {
    /// The stable rule code: `missing_header`, `invalid_timestamp`, `timestamp_too_old`,
    /// `timestamp_too_new`, `no_valid_signature`, `invalid_secret` or `invalid_body`.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MissingHeader { .. } => "missing_header",
            WebhookError::InvalidTimestamp => "invalid_timestamp",
            WebhookError::TimestampTooOld { .. } => "timestamp_too_old",
            WebhookError::TimestampTooNew { .. } => "timestamp_too_new",
            WebhookError::NoValidSignature => "no_valid_signature",
            WebhookError::InvalidSecret { .. } => "invalid_secret",
            WebhookError::InvalidBody { .. } => "invalid_body",
        }
    }

    /// The HTTP status a receiver answers the sender with: 400 for a refused message (the
    /// sender retries, and a retry is signed anew), 500 for `invalid_secret` (the receiver's own
    /// configuration is wrong; once it is fixed, the sender's retries pass).
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::InvalidSecret { .. } => 500,
            _ => 400,
        }
    }

    /// The header (`webhook-id`, `webhook-timestamp`, `webhook-signature`) or body field
    /// (`type`, `timestamp`, `data.kind`, `data.session.link_token`…) the refusal concerns, if
    /// one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            WebhookError::MissingHeader { name } => Some(name),
            WebhookError::InvalidTimestamp
            | WebhookError::TimestampTooOld { .. }
            | WebhookError::TimestampTooNew { .. } => Some(HEADER_TIMESTAMP),
            WebhookError::NoValidSignature => Some(HEADER_SIGNATURE),
            WebhookError::InvalidSecret { .. } => None,
            WebhookError::InvalidBody { field, .. } => *field,
        }
    }
}

/// A webhook signing secret: the bytes behind `whsec_<base64>`. Its `Debug` form shows only
/// its length.
///
/// One secret also serves where several are accepted ([`verify_webhook`] takes anything that
/// is `AsRef<[WebhookSecret]>`: one secret, an array, a `Vec` or a slice).
///
/// ```
/// use nox_authenticator::webhook::WebhookSecret;
///
/// let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?;
/// assert_eq!(secret.len(), 24);
/// for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="] {
///     assert_eq!(WebhookSecret::parse(bad).unwrap_err().code(), "invalid_secret");
/// }
/// # Ok::<(), nox_authenticator::webhook::WebhookError>(())
/// ```
#[derive(Clone)]
pub struct WebhookSecret {
    /// HMAC-SHA256 keyed with the secret (the key schedule is done once).
    mac: Hmac<Sha256>,
    len: usize,
}

impl WebhookSecret {
    /// Parses `whsec_` followed by the standard base64 (padded where the length needs it) of at
    /// least 24 bytes.
    pub fn parse(text: &str) -> Result<WebhookSecret, WebhookError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookError::InvalidSecret {
                reason: "must start with whsec_",
            })?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::InvalidSecret {
                reason: "not standard base64 after whsec_",
            })?;
        WebhookSecret::from_bytes(&key)
    }

    /// A secret from its raw bytes (at least 24).
    pub fn from_bytes(key: &[u8]) -> Result<WebhookSecret, WebhookError> {
        if key.len() < MIN_SECRET_BYTES {
            return Err(WebhookError::InvalidSecret {
                reason: "fewer than 24 bytes",
            });
        }
        // HMAC takes keys of any length; the error arm cannot happen but is not unwrapped.
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| WebhookError::InvalidSecret {
            reason: "not a usable HMAC key",
        })?;
        Ok(WebhookSecret {
            mac,
            len: key.len(),
        })
    }

    /// How many bytes the secret has.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a secret has at least 24 bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `webhook-signature` value for one message under this secret: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!(
            "{SIGNATURE_VERSION},{}",
            STANDARD.encode(self.tag(id, &timestamp.to_string(), body))
        )
    }

    /// HMAC-SHA256 of `"{id}.{timestamp}.{body}"`.
    fn tag(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecret(<{} bytes>)", self.len)
    }
}

impl FromStr for WebhookSecret {
    type Err = WebhookError;
    fn from_str(text: &str) -> Result<WebhookSecret, WebhookError> {
        WebhookSecret::parse(text)
    }
}

impl AsRef<[WebhookSecret]> for WebhookSecret {
    fn as_ref(&self) -> &[WebhookSecret] {
        std::slice::from_ref(self)
    }
}

/// The `webhook-signature` header value for one message: `v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}">`. `timestamp` is the attempt's time in Unix seconds, sent as
/// `webhook-timestamp`; the body is signed byte for byte as it is sent.
///
/// ```
/// use nox_authenticator::webhook::{WebhookSecret, sign_webhook};
///
/// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// assert_eq!(
///     sign_webhook(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#),
///     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
/// );
/// # Ok::<(), nox_authenticator::webhook::WebhookError>(())
/// ```
pub fn sign_webhook(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    secret.sign(id, timestamp, body)
}

/// The three headers of one delivery attempt, names in lower case: `webhook-id`,
/// `webhook-timestamp` and `webhook-signature`.
pub fn webhook_headers(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    [
        (HEADER_ID, id.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_SIGNATURE, secret.sign(id, timestamp, body)),
    ]
}

/// The headers of a message whose signature passed [`verify_webhook_signature`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHeaders {
    /// `webhook-id`: the event's id, the same on every attempt (dedupe on it).
    pub id: String,
    /// `webhook-timestamp`: when this attempt was signed, Unix seconds.
    pub timestamp: i64,
}

/// Checks the headers and signature of a message, without reading its body: the three headers
/// are present, the timestamp is within 5 minutes of `now`, and a `v1` signature in
/// `webhook-signature` is valid for one of `secrets`. Header names are matched in any case; the
/// first of a repeated header is used. [`verify_webhook`] does this and then reads the event.
pub fn verify_webhook_signature<S>(
    secrets: &S,
    headers: &[(&str, &str)],
    body: &[u8],
    now: i64,
) -> Result<VerifiedHeaders, WebhookError>
where
    S: AsRef<[WebhookSecret]> + ?Sized,
{
    let secrets = secrets.as_ref();
    if secrets.is_empty() {
        return Err(WebhookError::InvalidSecret {
            reason: "no secret given",
        });
    }
    let id = header(headers, HEADER_ID)?;
    let timestamp_text = header(headers, HEADER_TIMESTAMP)?;
    let signatures = header(headers, HEADER_SIGNATURE)?;
    let timestamp = parse_unix_seconds(timestamp_text).ok_or(WebhookError::InvalidTimestamp)?;
    if timestamp < now.saturating_sub(TIMESTAMP_TOLERANCE_SECONDS) {
        return Err(WebhookError::TimestampTooOld { timestamp, now });
    }
    if timestamp > now.saturating_add(TIMESTAMP_TOLERANCE_SECONDS) {
        return Err(WebhookError::TimestampTooNew { timestamp, now });
    }
    // The header text is canonical decimal (checked above), so it is what the sender signed.
    let expected: Vec<[u8; 32]> = secrets
        .iter()
        .map(|secret| secret.tag(id, timestamp_text, body))
        .collect();
    let mut valid = subtle::Choice::from(0);
    for entry in signatures.split(' ') {
        let Some((SIGNATURE_VERSION, encoded)) = entry.split_once(',') else {
            continue; // another version, or not `version,signature`: ignored
        };
        let Ok(given) = STANDARD.decode(encoded) else {
            continue;
        };
        for tag in &expected {
            // Constant time in the bytes; a length mismatch is simply unequal.
            valid |= tag.as_slice().ct_eq(&given);
        }
    }
    if bool::from(valid) {
        Ok(VerifiedHeaders {
            id: id.to_owned(),
            timestamp,
        })
    } else {
        Err(WebhookError::NoValidSignature)
    }
}

/// Verifies a completion event as a receiver gets it: the headers and signature as
/// [`verify_webhook_signature`] checks them at `now` (Unix seconds), then the body as a
/// [`WebhookEvent`]. `secrets` is one [`WebhookSecret`] or several (during a rotation, the old
/// and the new one); any one that signed the message passes it.
///
/// Answer the sender with a 2xx only when this succeeds; deliveries are at least once, so a
/// receiver acts on each [`WebhookEvent::id`] once.
pub fn verify_webhook<S>(
    secrets: &S,
    headers: &[(&str, &str)],
    body: &[u8],
    now: i64,
) -> Result<WebhookEvent, WebhookError>
where
    S: AsRef<[WebhookSecret]> + ?Sized,
{
    let verified = verify_webhook_signature(secrets, headers, body, now)?;
    WebhookEvent::from_verified(verified, body)
}

fn header<'a>(headers: &[(&str, &'a str)], name: &'static str) -> Result<&'a str, WebhookError> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| *value)
        .filter(|value| !value.is_empty())
        .ok_or(WebhookError::MissingHeader { name })
}

/// Canonical decimal digits (no sign, no leading zero, no spaces) that fit an `i64`.
fn parse_unix_seconds(text: &str) -> Option<i64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// The type of a completion event (decision 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum WebhookEventType {
    /// `link_session.completed`: the session was completed.
    #[serde(rename = "link_session.completed")]
    LinkSessionCompleted,
    /// `link_session.expired`: the session reached its expiry still pending (sent once).
    #[serde(rename = "link_session.expired")]
    LinkSessionExpired,
}

impl WebhookEventType {
    /// Every event type, in documentation order.
    pub const ALL: [WebhookEventType; 2] = [
        WebhookEventType::LinkSessionCompleted,
        WebhookEventType::LinkSessionExpired,
    ];

    /// `link_session.completed` or `link_session.expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::LinkSessionCompleted => "link_session.completed",
            WebhookEventType::LinkSessionExpired => "link_session.expired",
        }
    }

    /// The type for its wire name, if it is one.
    pub fn parse(text: &str) -> Option<WebhookEventType> {
        WebhookEventType::ALL
            .into_iter()
            .find(|event_type| event_type.as_str() == text)
    }

    /// The event a session in this state reports: completed or expired (none for pending).
    pub fn for_state(state: SessionState) -> Option<WebhookEventType> {
        match state {
            SessionState::Completed => Some(WebhookEventType::LinkSessionCompleted),
            SessionState::Expired => Some(WebhookEventType::LinkSessionExpired),
            SessionState::Pending => None,
        }
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of a completion event, as the server writes it into its outbox:
/// `{"type", "timestamp", "data": {"kind", "state", "session"}}`. Written once per event, so
/// every attempt sends the same bytes (only `webhook-timestamp` and the signature change).
///
/// ```
/// use nox_authenticator::{Authenticator, HttpRequest};
/// use nox_authenticator::webhook::{CompletionEvent, WebhookEventType};
///
/// let auth = Authenticator::from_json(r#"{"suppliers": [{"id": "s1", "name": "Acme Energy",
///     "api_key": "k1", "redirect_urls": ["https://acme.example/cb"]}]}"#).unwrap();
/// let created = auth.handle_http(&HttpRequest {
///     method: "POST",
///     target: "/v2/supplier/link-sessions",
///     headers: &[("x-api-key", "k1"), ("content-type", "application/json")],
///     body: br#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}"#,
/// }, 1_796_165_400);
/// let token = serde_json::from_slice::<serde_json::Value>(&created.body).unwrap()["link_token"]
///     .as_str().unwrap().to_owned();
/// let session = auth.complete_session(&token, 1_796_165_477).unwrap();
///
/// let body = CompletionEvent::new(&session, WebhookEventType::LinkSessionCompleted, 1_796_165_477)
///     .to_body();
/// let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(json["type"], "link_session.completed");
/// assert_eq!(json["timestamp"], "2026-12-01T22:51:17Z");
/// assert_eq!(json["data"]["kind"], "v2_supplier");
/// assert_eq!(json["data"]["state"], "completed");
/// assert_eq!(json["data"]["session"]["completed_at"], 1_796_165_477);
/// assert_eq!(json["data"], session.to_admin_json(1_796_165_477));
/// ```
#[derive(Debug, Serialize)]
pub struct CompletionEvent<'a> {
    #[serde(rename = "type")]
    event_type: WebhookEventType,
    timestamp: Rfc3339,
    data: AdminSessionBody<'a>,
}

/// An RFC 3339 UTC date-time as its 20 ASCII bytes (`2026-12-01T22:51:17Z`), written without
/// the formatting machinery and serialized as a JSON string.
#[derive(Debug, Clone, Copy)]
struct Rfc3339([u8; 20]);

impl Rfc3339 {
    fn of(unix: i64) -> Rfc3339 {
        let unix = unix.clamp(0, MAX_TIMESTAMP);
        let (days, seconds) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let mut text = *b"0000-00-00T00:00:00Z";
        let fields = [
            (0..4, year),
            (5..7, month),
            (8..10, day),
            (11..13, seconds / 3600),
            (14..16, seconds / 60 % 60),
            (17..19, seconds % 60),
        ];
        for (range, value) in fields {
            let mut value = value;
            for digit in text.get_mut(range).into_iter().flatten().rev() {
                *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
                value /= 10;
            }
        }
        Rfc3339(text)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'a> CompletionEvent<'a> {
    /// The event of type `event_type` for `session` at `now` (Unix seconds): the session's
    /// state and body as the admin lookup shows them at `now`, and `now` as the RFC 3339
    /// timestamp. Build it when the event happens (in the completing transaction, or when the
    /// expiry task finds the session expired) and store [`to_body`](Self::to_body).
    pub fn new(session: &'a LinkSession, event_type: WebhookEventType, now: i64) -> Self {
        CompletionEvent {
            event_type,
            timestamp: Rfc3339::of(now),
            data: AdminSessionBody::new(session, now),
        }
    }

    /// The event's type.
    pub fn event_type(&self) -> WebhookEventType {
        self.event_type
    }

    /// The body as JSON bytes, compact, keys in the documented order.
    pub fn to_body(&self) -> Vec<u8> {
        // The response bodies' writer: the same bytes as `serde_json`, faster on the strings.
        crate::wire::to_json_vec(self)
    }
}

/// The `webhook-id` of a new event: `msg_` and the 32 lower-case hex digits of 16 random
/// bytes (one draw from the host's random source), in one allocation.
///
/// ```
/// use nox_authenticator::webhook::event_id;
///
/// let id = event_id(&[0xab; 16]);
/// assert_eq!(id, format!("msg_{}", "ab".repeat(16)));
/// ```
pub fn event_id(random: &[u8; 16]) -> String {
    let mut id = String::with_capacity(EVENT_ID_PREFIX.len() + 32);
    id.push_str(EVENT_ID_PREFIX);
    for byte in random {
        for nibble in [byte >> 4, byte & 0x0f] {
            id.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    id
}

/// The prefix of every event id ([`event_id`]).
pub const EVENT_ID_PREFIX: &str = "msg_";

/// A verified completion event, as [`verify_webhook`] returns it: the delivery's id and time,
/// the event's type and time, and the session as the admin lookup shows it (`kind`, `state`,
/// the typed fields every kind has, and the whole wire `session` object).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// `webhook-id`: the event's id, the same on every attempt. Act on each id once.
    pub id: String,
    /// `webhook-timestamp`: when this attempt was signed, Unix seconds.
    pub signed_at: i64,
    /// The body's `type`.
    pub event_type: WebhookEventType,
    /// The body's `timestamp` (when the event happened), Unix seconds.
    pub timestamp: i64,
    /// `data.kind`: which endpoint created the session.
    pub kind: SessionKind,
    /// `data.state`: `completed` for a completion, `expired` for an expiry.
    pub state: SessionState,
    /// `data.session.link_token`: the session's token.
    pub token: String,
    /// The caller's id for the end-user: `data.session.supplier_user_id` (supplier sessions)
    /// or `data.session.manufacturer_user_id` (manufacturer sessions).
    pub user_id: String,
    /// `data.session.link_url`.
    pub link_url: String,
    /// `data.session.expires_at`, Unix seconds.
    pub expires_at: i64,
    /// `data.session.completed_at`, Unix seconds (`None` when not completed, and for v1
    /// sessions, whose documented body has no such field: use `timestamp`).
    pub completed_at: Option<i64>,
    /// `data.session`: the session as its endpoint's 201 body (for v1, the `data` object).
    pub session: Value,
}

fn invalid_body(field: Option<&'static str>, reason: &'static str) -> WebhookError {
    WebhookError::InvalidBody { field, reason }
}

fn member<'v>(
    object: &'v Value,
    key: &str,
    field: &'static str,
) -> Result<&'v Value, WebhookError> {
    object.get(key).ok_or(invalid_body(Some(field), "missing"))
}

fn string_member(object: &Value, key: &str, field: &'static str) -> Result<String, WebhookError> {
    member(object, key, field)?
        .as_str()
        .map(str::to_owned)
        .ok_or(invalid_body(Some(field), "not a string"))
}

fn integer_member(object: &Value, key: &str, field: &'static str) -> Result<i64, WebhookError> {
    member(object, key, field)?
        .as_i64()
        .ok_or(invalid_body(Some(field), "not an integer"))
}

impl WebhookEvent {
    fn from_verified(verified: VerifiedHeaders, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let json: Value =
            serde_json::from_slice(body).map_err(|_| invalid_body(None, "not JSON"))?;
        if !json.is_object() {
            return Err(invalid_body(None, "not a JSON object"));
        }
        let event_type =
            WebhookEventType::parse(&string_member(&json, "type", "type")?).ok_or(invalid_body(
                Some("type"),
                "not link_session.completed or link_session.expired",
            ))?;
        let timestamp = parse_rfc3339(&string_member(&json, "timestamp", "timestamp")?)
            .ok_or(invalid_body(Some("timestamp"), "not an RFC 3339 date-time"))?;
        let data = member(&json, "data", "data")?;
        if !data.is_object() {
            return Err(invalid_body(Some("data"), "not an object"));
        }
        let kind = SessionKind::deserialize(member(data, "kind", "data.kind")?).map_err(|_| {
            invalid_body(
                Some("data.kind"),
                "not v2_supplier, v2_manufacturer or v1_supplier",
            )
        })?;
        let state = SessionState::deserialize(member(data, "state", "data.state")?)
            .map_err(|_| invalid_body(Some("data.state"), "not pending, completed or expired"))?;
        let session = member(data, "session", "data.session")?;
        if !session.is_object() {
            return Err(invalid_body(Some("data.session"), "not an object"));
        }
        let (user_key, user_field) = match kind {
            SessionKind::V2Manufacturer => {
                ("manufacturer_user_id", "data.session.manufacturer_user_id")
            }
            SessionKind::V2Supplier | SessionKind::V1Supplier => {
                ("supplier_user_id", "data.session.supplier_user_id")
            }
        };
        let completed_at = match session.get("completed_at") {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.as_i64().ok_or(invalid_body(
                Some("data.session.completed_at"),
                "not an integer or null",
            ))?),
        };
        Ok(WebhookEvent {
            id: verified.id,
            signed_at: verified.timestamp,
            event_type,
            timestamp,
            kind,
            state,
            token: string_member(session, "link_token", "data.session.link_token")?,
            user_id: string_member(session, user_key, user_field)?,
            link_url: string_member(session, "link_url", "data.session.link_url")?,
            expires_at: integer_member(session, "expires_at", "data.session.expires_at")?,
            completed_at,
            session: session.clone(),
        })
    }
}

/// `unix` (seconds) as an RFC 3339 UTC date-time, `2026-12-01T22:51:17Z`. Times outside
/// 1970-01-01 to 9999-12-31 are clamped to those ends (RFC 3339 has four-digit years).
///
/// ```
/// use nox_authenticator::webhook::{format_rfc3339, parse_rfc3339};
///
/// assert_eq!(format_rfc3339(1_796_165_477), "2026-12-01T22:51:17Z");
/// assert_eq!(parse_rfc3339("2026-12-02T00:51:17.5+02:00"), Some(1_796_165_477));
/// ```
pub fn format_rfc3339(unix: i64) -> String {
    Rfc3339::of(unix).as_str().to_owned()
}

/// An RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS`, optional fraction, `Z` or `±HH:MM`) as Unix
/// seconds (the fraction is dropped), or `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let digits = |from: usize, to: usize| -> Option<i64> {
        let part = bytes.get(from..to)?;
        part.iter().try_fold(0_i64, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    };
    let at = |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|b| allowed.contains(b));
    let separators = at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":");
    if !separators {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    let mut rest = bytes.get(19..)?;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let length = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if length == 0 {
            return None;
        }
        rest = fraction.get(length..)?;
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (hours, minutes) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let month_ok = (1..=12).contains(&month);
    if !month_ok || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // Unix time has no leap seconds; `:60` is refused like most parsers do.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::LinkToken;
    use proptest::prelude::*;

    // The Standard Webhooks specification's own example (also the PyPI and npm packages' test).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SPEC_SECRET).unwrap()
    }

    fn completed_session(now: i64) -> LinkSession {
        let mut session = crate::session::sample(LinkToken::parse(&"a".repeat(43)).unwrap(), now);
        session.completed_at = Some(now + 5);
        session
    }

    fn signed(secret: &WebhookSecret, id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
        webhook_headers(secret, id, ts, body)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    fn refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
        headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn signs_the_specification_example() {
        assert_eq!(
            sign_webhook(&secret(), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
        let headers = [
            ("Webhook-Id", SPEC_ID),
            ("Webhook-Timestamp", "1614265330"),
            ("Webhook-Signature", SPEC_SIGNATURE),
        ];
        let verified =
            verify_webhook_signature(&secret(), &headers, SPEC_BODY, SPEC_TIMESTAMP).unwrap();
        assert_eq!(verified.id, SPEC_ID);
        // The signature is right but the body is not an event.
        assert_eq!(
            verify_webhook(&secret(), &headers, SPEC_BODY, SPEC_TIMESTAMP).unwrap_err(),
            invalid_body(Some("type"), "missing")
        );
    }

    #[test]
    fn secrets_are_whsec_base64_of_24_bytes_or_more() {
        assert_eq!(secret().len(), 24);
        assert_eq!(format!("{:?}", secret()), "WebhookSecret(<24 bytes>)");
        let long = format!("whsec_{}", STANDARD.encode([7_u8; 64]));
        assert_eq!(WebhookSecret::parse(&long).unwrap().len(), 64);
        let short = format!("whsec_{}", STANDARD.encode([7_u8; 23]));
        for (text, reason) in [
            ("", "must start with whsec_"),
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_"),
            (
                "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "must start with whsec_",
            ),
            ("whsec_", "fewer than 24 bytes"),
            (short.as_str(), "fewer than 24 bytes"),
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
                "not standard base64 after whsec_",
            ),
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ",
                "not standard base64 after whsec_",
            ),
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-_",
                "not standard base64 after whsec_",
            ),
        ] {
            let error = WebhookSecret::parse(text).unwrap_err();
            assert_eq!(error, WebhookError::InvalidSecret { reason }, "{text:?}");
            assert_eq!((error.code(), error.status()), ("invalid_secret", 500));
            // The message never carries the secret.
            assert!(!error.to_string().contains("MfKQ"), "{error}");
        }
        assert!(WebhookSecret::from_bytes(&[1; 23]).is_err());
    }

    #[test]
    fn a_completion_event_round_trips() {
        let now = 1_796_165_477;
        let session = completed_session(now - 5);
        let body =
            CompletionEvent::new(&session, WebhookEventType::LinkSessionCompleted, now).to_body();
        let headers = signed(&secret(), "msg_1", now, &body);
        let event = verify_webhook(&secret(), &refs(&headers), &body, now + 300).unwrap();
        assert_eq!(
            event,
            WebhookEvent {
                id: "msg_1".into(),
                signed_at: now,
                event_type: WebhookEventType::LinkSessionCompleted,
                timestamp: now,
                kind: SessionKind::V2Supplier,
                state: SessionState::Completed,
                token: "a".repeat(43),
                user_id: "u".into(),
                link_url: session.link_url.clone(),
                expires_at: session.expires_at,
                completed_at: Some(now),
                session: session.to_wire_json(),
            }
        );
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.starts_with(
                r#"{"type":"link_session.completed","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v2_supplier","state":"completed","session":{"#
            ),
            "{text}"
        );
    }

    #[test]
    fn a_body_is_the_envelope_around_the_admin_lookup_byte_for_byte() {
        let now = 1_796_165_477;
        let session = completed_session(now - 5);
        for event_type in [
            WebhookEventType::LinkSessionCompleted,
            WebhookEventType::LinkSessionExpired,
        ] {
            let body = CompletionEvent::new(&session, event_type, now).to_body();
            let data = serde_json::to_string(&AdminSessionBody::new(&session, now)).unwrap();
            let expected = format!(
                r#"{{"type":"{event_type}","timestamp":"2026-12-01T22:51:17Z","data":{data}}}"#
            );
            assert_eq!(String::from_utf8(body).unwrap(), expected);
        }
    }

    #[test]
    fn event_ids_are_msg_and_the_random_bytes_in_hex() {
        assert_eq!(event_id(&[0; 16]), format!("msg_{}", "0".repeat(32)));
        let bytes: [u8; 16] = std::array::from_fn(|i| u8::try_from(i * 17).unwrap());
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(event_id(&bytes), format!("msg_{expected}"));
        assert_eq!(event_id(&[0xff; 16]).len(), 36);
    }

    #[test]
    fn manufacturer_and_v1_sessions_give_their_user_id() {
        let now = 1_796_165_477;
        for (kind, completed_at) in [
            (SessionKind::V2Manufacturer, Some(now)),
            (SessionKind::V1Supplier, None),
        ] {
            let mut session = completed_session(now - 5);
            session.kind = kind;
            session.user_id = "user-9".into();
            let body = CompletionEvent::new(&session, WebhookEventType::LinkSessionCompleted, now)
                .to_body();
            let headers = signed(&secret(), "msg_2", now, &body);
            let event = verify_webhook(&secret(), &refs(&headers), &body, now).unwrap();
            assert_eq!((event.kind, event.user_id.as_str()), (kind, "user-9"));
            assert_eq!(event.completed_at, completed_at, "{kind:?}");
        }
    }

    #[test]
    fn an_expired_event_reports_the_expired_state() {
        let session = crate::session::sample(LinkToken::parse(&"b".repeat(43)).unwrap(), 1_000);
        let now = session.expires_at + 30;
        let event = CompletionEvent::new(&session, WebhookEventType::LinkSessionExpired, now);
        assert_eq!(event.event_type(), WebhookEventType::LinkSessionExpired);
        let json: Value = serde_json::from_slice(&event.to_body()).unwrap();
        assert_eq!(json["data"]["state"], "expired");
        assert_eq!(json["timestamp"], "1970-01-01T00:27:10Z");
        assert_eq!(
            WebhookEventType::for_state(SessionState::Expired),
            Some(WebhookEventType::LinkSessionExpired)
        );
        assert_eq!(WebhookEventType::for_state(SessionState::Pending), None);
    }

    #[test]
    fn refusals_name_their_rule() {
        let now = 1_796_165_477;
        let secret = secret();
        let body = CompletionEvent::new(
            &completed_session(now - 10),
            WebhookEventType::LinkSessionCompleted,
            now,
        )
        .to_body();
        let good = signed(&secret, "msg_1", now, &body);
        let check = |headers: &[(String, String)], body: &[u8], now: i64| {
            verify_webhook(&secret, &refs(headers), body, now).map(|_| ())
        };
        assert_eq!(check(&good, &body, now), Ok(()));
        assert_eq!(check(&good, &body, now - 300), Ok(()));
        assert_eq!(check(&good, &body, now + 300), Ok(()));
        assert_eq!(
            check(&good, &body, now + 301),
            Err(WebhookError::TimestampTooOld {
                timestamp: now,
                now: now + 301
            })
        );
        assert_eq!(
            check(&good, &body, now - 301).unwrap_err().code(),
            "timestamp_too_new"
        );
        let mut changed = body.clone();
        changed.push(b' ');
        assert_eq!(
            check(&good, &changed, now),
            Err(WebhookError::NoValidSignature)
        );
        for name in [HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE] {
            let without: Vec<_> = good.iter().filter(|(k, _)| k != name).cloned().collect();
            assert_eq!(
                check(&without, &body, now),
                Err(WebhookError::MissingHeader { name })
            );
            let empty: Vec<_> = good
                .iter()
                .map(|(k, v)| (k.clone(), if k == name { String::new() } else { v.clone() }))
                .collect();
            let error = check(&empty, &body, now).unwrap_err();
            assert_eq!(
                (error.code(), error.field()),
                ("missing_header", Some(name))
            );
            assert_eq!(error.status(), 400);
        }
        for bad in [
            "",
            " 1796165477",
            "+1796165477",
            "01796165477",
            "-5",
            "1.5",
            "9".repeat(20).as_str(),
        ] {
            let headers: Vec<_> = good
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if k == HEADER_TIMESTAMP {
                            bad.to_owned()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect();
            let error = check(&headers, &body, now).unwrap_err();
            let expected = if bad.is_empty() {
                "missing_header"
            } else {
                "invalid_timestamp"
            };
            assert_eq!(error.code(), expected, "{bad:?}");
        }
        let no_secrets: [WebhookSecret; 0] = [];
        assert_eq!(
            verify_webhook(&no_secrets, &refs(&good), &body, now)
                .unwrap_err()
                .code(),
            "invalid_secret"
        );
    }

    #[test]
    fn any_valid_signature_under_any_secret_passes() {
        let now = 1_796_165_477;
        let old = secret();
        let new = WebhookSecret::from_bytes(&[9; 32]).unwrap();
        let body = br#"{"x":1}"#;
        let old_sig = old.sign("msg_r", now, body);
        let new_sig = new.sign("msg_r", now, body);
        let ts = now.to_string();
        let verify = |secrets: &[WebhookSecret], signature: &str| {
            let headers = [
                (HEADER_ID, "msg_r"),
                (HEADER_TIMESTAMP, ts.as_str()),
                (HEADER_SIGNATURE, signature),
            ];
            verify_webhook_signature(secrets, &headers, body, now).is_ok()
        };
        let both = format!("{old_sig} {new_sig}");
        assert!(verify(std::slice::from_ref(&old), &both));
        assert!(verify(std::slice::from_ref(&new), &both));
        assert!(verify(&[new.clone(), old.clone()], &old_sig));
        assert!(!verify(std::slice::from_ref(&new), &old_sig));
        // Unknown versions, malformed entries and extra spaces are skipped, not fatal.
        let noisy = format!("v2,{} garbage v1,%%% v1 ,  {new_sig}", &new_sig[3..]);
        assert!(verify(std::slice::from_ref(&new), &noisy));
        // The same signature under another version is not accepted.
        assert!(!verify(
            std::slice::from_ref(&new),
            &new_sig.replacen("v1,", "v1a,", 1)
        ));
        assert!(!verify(std::slice::from_ref(&new), "v1,"));
        assert!(!verify(std::slice::from_ref(&new), &new_sig[3..]));
    }

    #[test]
    fn bodies_of_another_shape_are_invalid_bodies() {
        let now = 1_796_165_477;
        let secret = secret();
        let cases: &[(&str, Option<&str>)] = &[
            ("not json", None),
            ("[1]", None),
            (
                r#"{"type":"link_session.created","timestamp":"2026-12-01T22:51:17Z","data":{}}"#,
                Some("type"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"yesterday","data":{}}"#,
                Some("timestamp"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z"}"#,
                Some("data"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v3","state":"expired","session":{}}}"#,
                Some("data.kind"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v1_supplier","state":"gone","session":{}}}"#,
                Some("data.state"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v1_supplier","state":"expired","session":[]}}"#,
                Some("data.session"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v1_supplier","state":"expired","session":{"link_url":"u","expires_at":1,"supplier_user_id":"x"}}}"#,
                Some("data.session.link_token"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v2_manufacturer","state":"expired","session":{"link_token":"t","link_url":"u","expires_at":1,"supplier_user_id":"x"}}}"#,
                Some("data.session.manufacturer_user_id"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v1_supplier","state":"expired","session":{"link_token":"t","link_url":"u","expires_at":"1","supplier_user_id":"x"}}}"#,
                Some("data.session.expires_at"),
            ),
            (
                r#"{"type":"link_session.expired","timestamp":"2026-12-01T22:51:17Z","data":{"kind":"v2_supplier","state":"expired","session":{"link_token":"t","link_url":"u","expires_at":1,"supplier_user_id":"x","completed_at":"no"}}}"#,
                Some("data.session.completed_at"),
            ),
        ];
        for (body, field) in cases {
            let headers = signed(&secret, "msg_b", now, body.as_bytes());
            let error = verify_webhook(&secret, &refs(&headers), body.as_bytes(), now).unwrap_err();
            assert_eq!(
                (error.code(), error.field()),
                ("invalid_body", *field),
                "{body}"
            );
        }
    }

    #[test]
    fn rfc3339_known_values() {
        for (unix, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_703_123_456, "2023-12-21T01:50:56Z"),
            (1_796_165_477, "2026-12-01T22:51:17Z"),
            (MAX_TIMESTAMP, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(format_rfc3339(unix), text);
            assert_eq!(parse_rfc3339(text), Some(unix));
        }
        assert_eq!(format_rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(
            parse_rfc3339("2026-12-01t22:51:17.123456z"),
            Some(1_796_165_477)
        );
        assert_eq!(
            parse_rfc3339("2026-12-01T22:51:17-02:00"),
            Some(1_796_165_477 + 2 * 3600)
        );
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01T22:51:17",
            "2026-12-01 22:51:17Z",
            "2026-13-01T22:51:17Z",
            "2026-02-29T22:51:17Z",
            "2026-12-00T22:51:17Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T22:60:17Z",
            "2026-12-01T22:51:60Z",
            "2026-12-01T22:51:17.Z",
            "2026-12-01T22:51:17+0200",
            "2026-12-01T22:51:17+24:00",
            "2026-12-01T22:51:17Zjunk",
            "+026-12-01T22:51:17Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(unix in 0..=MAX_TIMESTAMP) {
            prop_assert_eq!(parse_rfc3339(&format_rfc3339(unix)), Some(unix));
        }

        #[test]
        fn any_change_to_a_signed_message_is_refused(
            id in "[a-z_0-9]{1,20}",
            body in proptest::collection::vec(any::<u8>(), 0..64),
            flip in any::<usize>(),
        ) {
            let secret = secret();
            let now = 1_796_165_477;
            let signature = secret.sign(&id, now, &body);
            let ts = now.to_string();
            let headers = [(HEADER_ID, id.as_str()), (HEADER_TIMESTAMP, ts.as_str()),
                (HEADER_SIGNATURE, signature.as_str())];
            prop_assert!(verify_webhook_signature(&secret, &headers, &body, now).is_ok());
            let mut changed = body.clone();
            if changed.is_empty() { changed.push(0) } else {
                let i = flip % changed.len();
                changed[i] ^= 1;
            }
            prop_assert_eq!(verify_webhook_signature(&secret, &headers, &changed, now),
                Err(WebhookError::NoValidSignature));
        }
    }
}
