//! # nox-authenticator
//!
//! The NOX Authenticator API as a pure Rust library: energy suppliers and heat-pump /
//! PV-inverter manufacturers create *link sessions*, short-lived tokens and URLs that send one
//! end-user through a hosted flow linking their energy contract to their device.
//!
//! The crate does no I/O and reads no clock: time comes in as `now` (Unix seconds), randomness
//! through a [`RandomSource`], and storage through the [`SessionStore`] and [`SubscriberStore`]
//! traits (with thread-safe in-memory implementations). It models all four endpoints (v2
//! supplier and manufacturer link sessions, deprecated v1 supplier link and v1 manufacturer
//! connect) down to their exact JSON, and serves them through a pure HTTP adapter
//! ([`Authenticator::handle_http`]).
//!
//! Where to find a rule: brands in [`catalog`], languages in [`language`], API keys and callers
//! in [`principal`], redirect URLs in [`redirect`], tokens in [`token`], expiry and completion in
//! [`session`], each endpoint's request in [`v2_supplier`], [`v2_manufacturer`],
//! [`v1_supplier`] and [`v1_connect`], the JSON bodies in [`wire`], routing in [`http`], signed
//! completion events (Standard Webhooks) in [`webhook`].
//!
//! ```
//! use nox_authenticator::{Authenticator, HttpRequest};
//!
//! let auth = Authenticator::from_json(r#"{
//!     "suppliers": [{"id": "supplier_123", "name": "Acme Energy", "api_key": "demo-key",
//!                    "redirect_urls": ["https://your-app.com/callback"]}]
//! }"#)?;
//! let response = auth.handle_http(&HttpRequest {
//!     method: "POST",
//!     target: "/v2/supplier/link-sessions",
//!     headers: &[("x-api-key", "demo-key"), ("content-type", "application/json")],
//!     body: br#"{"user_id": "u1", "redirect_url": "https://your-app.com/callback",
//!               "asset_type": "hp", "brand": "alpha innotec"}"#,
//! }, 1_703_123_456);
//! assert_eq!(response.status, 201);
//! let body: serde_json::Value = serde_json::from_slice(&response.body)?;
//! assert_eq!(body["brand"], "alpha-innotec");
//! assert_eq!(body["expires_at"], 1_703_124_056);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// The Rust examples of the repository's README, run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub mod admin;
pub mod authenticator;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod error;
pub mod flow;
pub mod http;
pub mod language;
pub mod link_url;
pub mod principal;
pub mod redirect;
mod request;
pub mod session;
pub mod store;
pub mod token;
pub mod v1_connect;
pub mod v1_supplier;
pub mod v2_manufacturer;
pub mod v2_supplier;
pub mod webhook;
pub mod wire;

// The uniffi scaffolding of the types that carry `uniffi` derives, and the few methods the
// mobile binding exports on them (feature `uniffi`, off by default).
#[cfg(feature = "uniffi")]
mod uniffi_exports;
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("nox_authenticator_core");

pub use authenticator::{Authenticator, AuthenticatorBuilder};
pub use catalog::{AssetType, Brand, Catalog, V1_BRANDS, normalize_spelling};
pub use clock::{MAX_NOW, NowOutOfRange, check_now, check_now_f64, system_now};
pub use config::{AdminConfig, Config, Limits, LinkBaseUrls, ManufacturerConfig, SupplierConfig};
pub use error::{ByteCount, Error, ErrorKind, FieldName, NoxError, Refusal, Result, Rule};
pub use http::{
    HttpHead, HttpRequest, HttpResponse, PendingInsert, PendingUpsert, Preflight, Staged,
};
pub use language::Language;
pub use link_url::{LinkUrlParts, parse_link_url};
pub use principal::{ApiKeyDigest, Manufacturer, Supplier, api_key_from_headers, title_case};
pub use redirect::{RedirectPolicy, RedirectRejection, check_shape};
pub use request::{MAX_DEVICE_IDS, MAX_ID_CHARS};
pub use session::{LINK_SESSION_TTL_SECONDS, LinkSession, SessionKind, SessionState};
pub use store::{
    Completion, InsertDone, MarkCompleted, MemorySessionStore, MemorySubscriberStore, PendingCaps,
    SessionCounts, SessionStore, Subscriber, SubscriberStore, SubscriberUpdate, UpsertDone,
};
pub use token::{LinkToken, RandomSource, SeededRandom, SystemRandom};
pub use v1_connect::{V1ConnectInput, V1ConnectRequest};
pub use v1_supplier::{V1SupplierLinkInput, V1SupplierLinkRequest};
pub use v2_manufacturer::{ManufacturerLinkSessionInput, ManufacturerLinkSessionRequest};
pub use v2_supplier::{SupplierLinkSessionInput, SupplierLinkSessionRequest};
pub use webhook::{
    CompletionEvent, WebhookError, WebhookEvent, WebhookEventType, WebhookSecret, sign_webhook,
    verify_webhook,
};
pub use wire::AdminSessionBody;
