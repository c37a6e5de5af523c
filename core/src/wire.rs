//! The documented JSON bodies: the 2xx response of each endpoint, the v1 `{success, timestamp,
//! data}` envelope, and the v1 and v2 error bodies. Field order follows the OpenAPI documents.

use serde::Serialize;

mod json;
pub(crate) use json::to_vec as to_json_vec;

use crate::catalog::AssetType;
use crate::error::Error;
use crate::language::Language;
use crate::session::{LinkSession, SessionKind, SessionState};
use crate::store::Subscriber;

/// `CreateSupplierLinkSessionResponse` (v2).
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "V2SupplierLinkSession")
)]
pub struct V2SupplierSessionBody<'a> {
    link_url: &'a str,
    link_token: &'a str,
    brand: Option<&'a str>,
    language: Language,
    asset_type: Option<AssetType>,
    redirect_url: &'a str,
    supplier: &'a str,
    supplier_user_id: &'a str,
    completed_at: Option<i64>,
    created_at: i64,
    expires_at: i64,
}

/// `CreateManufacturerLinkSessionResponse` (v2).
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "V2ManufacturerLinkSession")
)]
pub struct V2ManufacturerSessionBody<'a> {
    link_url: &'a str,
    link_token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    brand: Option<&'a str>,
    language: Language,
    redirect_url: &'a str,
    manufacturer: &'a str,
    manufacturer_user_id: &'a str,
    completed_at: Option<i64>,
    created_at: i64,
    expires_at: i64,
}

/// The `data` of `LinkSessionResponse` (v1).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "V1SupplierLink"))]
pub struct V1SupplierSessionData<'a> {
    link_token: &'a str,
    link_url: &'a str,
    expires_at: i64,
    supplier_id: &'a str,
    supplier_user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    brand: Option<&'a str>,
}

/// The `data` of `NoxConnectionResponse` (v1).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "V1Subscriber"))]
pub struct V1ConnectData<'a> {
    manufacturer_user_id: &'a str,
    nox_user_id: &'a str,
    device_ids: &'a [String],
}

impl<'a> V1ConnectData<'a> {
    /// The body for a subscriber.
    pub fn new(subscriber: &'a Subscriber) -> Self {
        V1ConnectData {
            manufacturer_user_id: &subscriber.manufacturer_user_id,
            nox_user_id: &subscriber.nox_user_id,
            device_ids: &subscriber.device_ids,
        }
    }
}

/// A session's documented body, whichever endpoint created it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SessionBody<'a> {
    /// v2 supplier.
    V2Supplier(V2SupplierSessionBody<'a>),
    /// v2 manufacturer.
    V2Manufacturer(V2ManufacturerSessionBody<'a>),
    /// v1 supplier (the `data` object).
    V1Supplier(V1SupplierSessionData<'a>),
}

impl<'a> SessionBody<'a> {
    /// The body for a session.
    pub fn new(s: &'a LinkSession) -> Self {
        match s.kind {
            SessionKind::V2Supplier => SessionBody::V2Supplier(V2SupplierSessionBody {
                link_url: &s.link_url,
                link_token: s.token.as_str(),
                brand: s.brand.as_deref(),
                language: s.language,
                asset_type: s.asset_type,
                redirect_url: &s.redirect_url,
                supplier: &s.owner_name,
                supplier_user_id: &s.user_id,
                completed_at: s.completed_at,
                created_at: s.created_at,
                expires_at: s.expires_at,
            }),
            SessionKind::V2Manufacturer => SessionBody::V2Manufacturer(V2ManufacturerSessionBody {
                link_url: &s.link_url,
                link_token: s.token.as_str(),
                brand: s.brand.as_deref(),
                language: s.language,
                redirect_url: &s.redirect_url,
                manufacturer: &s.owner_name,
                manufacturer_user_id: &s.user_id,
                completed_at: s.completed_at,
                created_at: s.created_at,
                expires_at: s.expires_at,
            }),
            SessionKind::V1Supplier => SessionBody::V1Supplier(V1SupplierSessionData {
                link_token: s.token.as_str(),
                link_url: &s.link_url,
                expires_at: s.expires_at,
                supplier_id: &s.owner_id,
                supplier_user_id: &s.user_id,
                brand: s.brand.as_deref(),
            }),
        }
    }
}

// The JSON forms of the domain's values live here, beside the bodies they are made of, so that
// the domain modules never depend on this one.
impl LinkSession {
    /// The session as its endpoint's documented response body (for v1, the `data` object
    /// without the envelope), fields in the documented order.
    pub fn to_wire_json(&self) -> serde_json::Value {
        serde_json::to_value(SessionBody::new(self)).unwrap_or_default()
    }

    /// The session in the admin lookup's shape at `now`: `{"kind", "state", "session"}`.
    pub fn to_admin_json(&self, now: i64) -> serde_json::Value {
        serde_json::to_value(AdminSessionBody::new(self, now)).unwrap_or_default()
    }
}

impl Subscriber {
    /// The subscriber as the documented `data` of a v1 connect response.
    pub fn to_wire_json(&self) -> serde_json::Value {
        serde_json::to_value(V1ConnectData::new(self)).unwrap_or_default()
    }
}

/// The admin lookup's body: `{"kind", "state", "session"}` (spec decision 13). Completion
/// events carry the same shape as their `data` (decision 20).
#[derive(Debug, Serialize)]
pub struct AdminSessionBody<'a> {
    kind: SessionKind,
    state: SessionState,
    session: SessionBody<'a>,
}

impl<'a> AdminSessionBody<'a> {
    /// The body for a session at `now`.
    pub fn new(session: &'a LinkSession, now: i64) -> Self {
        AdminSessionBody {
            kind: session.kind,
            state: session.state(now),
            session: SessionBody::new(session),
        }
    }
}

/// The v1 success envelope `{success: true, timestamp, data}`.
#[derive(Debug, Serialize)]
pub struct V1Envelope<T> {
    success: bool,
    timestamp: i64,
    data: T,
}

impl<T> V1Envelope<T> {
    /// Wraps `data`, stamped with `now`.
    pub fn new(data: T, now: i64) -> Self {
        V1Envelope {
            success: true,
            timestamp: now,
            data,
        }
    }
}

/// The v1 error body `{success: false, timestamp, error, error_code, message}`.
#[derive(Debug, Serialize)]
pub struct V1ErrorBody {
    success: bool,
    timestamp: i64,
    error: String,
    error_code: &'static str,
    message: String,
}

impl V1ErrorBody {
    /// The body for an error, stamped with `now`.
    pub fn new(error: &Error, now: i64) -> Self {
        let message = error.public_message();
        V1ErrorBody {
            success: false,
            timestamp: now,
            error: message.clone(),
            error_code: error.code(),
            message,
        }
    }
}

/// The v2 error body `{error}`.
#[derive(Debug, Serialize)]
pub struct V2ErrorBody {
    error: String,
}

impl V2ErrorBody {
    /// The body for an error.
    pub fn new(error: &Error) -> Self {
        V2ErrorBody {
            error: error.public_message(),
        }
    }
}
