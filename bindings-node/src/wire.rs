//! Results as JavaScript objects: the core's documented wire bodies, serialized by the core's
//! own `wire` structs and handed to V8's `JSON.parse`, so `JSON.stringify(result)` is exactly
//! the documented body, in its field order (one parse is cheaper than building the object
//! property by property through N-API). The create calls answer the JSON text, which
//! `adapter.js` parses; `session()` and `completeSession()` parse here and add the non-enumerable
//! [`SessionStatus`].
//!
//! The `#[napi(object)]` structs and string enums below only declare the TypeScript shapes of
//! those bodies in `index.d.ts`; values are never built from them.

use napi::bindgen_prelude::{Function, JsObjectValue, Object};
use napi::{Env, Property, PropertyAttributes};
use napi_derive::napi;
use nox_authenticator::LinkSession;
use nox_authenticator::wire::SessionBody;

/// A session as its endpoint's documented body, with the non-enumerable [`SessionStatus`]:
/// `state` (at `now`), `kind` and `completedAt`.
pub(crate) fn session_to_js<'env>(
    env: &'env Env,
    session: &LinkSession,
    now: i64,
) -> napi::Result<Object<'env>> {
    let mut object = parse_json(env, &SessionBody::new(session))?;
    let hidden = PropertyAttributes::empty();
    object.define_properties(&[
        Property::new()
            .with_utf8_name("state")?
            .with_napi_value(env, session.state(now).as_str())?
            .with_property_attributes(hidden),
        Property::new()
            .with_utf8_name("kind")?
            .with_napi_value(env, session.kind.as_str())?
            .with_property_attributes(hidden),
        Property::new()
            .with_utf8_name("completedAt")?
            .with_napi_value(env, session.completed_at)?
            .with_property_attributes(hidden),
    ])?;
    Ok(object)
}

/// A body as JSON text (the create calls answer it so, and `adapter.js` parses it).
pub(crate) fn to_json(body: &impl serde::Serialize) -> napi::Result<String> {
    serde_json::to_string(body)
        .map_err(|e| napi::Error::new(napi::Status::GenericFailure, e.to_string()))
}

/// `JSON.parse` of the serialized body.
pub(crate) fn parse_json<'env>(
    env: &'env Env,
    body: &impl serde::Serialize,
) -> napi::Result<Object<'env>> {
    let text = to_json(body)?;
    let json: Object<'env> = env.get_global()?.get_named_property("JSON")?;
    let parse: Function<'env, String, Object<'env>> = json.get_named_property("parse")?;
    parse.call(text)
}

/// A device category: `hp` (heat pump) or `pv` (PV solar inverter).
#[napi(string_enum)]
pub enum AssetType {
    /// Heat pump.
    #[napi(value = "hp")]
    HeatPump,
    /// PV solar inverter.
    #[napi(value = "pv")]
    PvInverter,
}

/// A language of the Authenticator UI.
#[napi(string_enum)]
pub enum Language {
    /// Dutch.
    #[napi(value = "nl")]
    Nl,
    /// English.
    #[napi(value = "en")]
    En,
    /// French.
    #[napi(value = "fr")]
    Fr,
    /// Spanish.
    #[napi(value = "es")]
    Es,
}

/// The state of a link session at some moment.
#[napi(string_enum)]
pub enum SessionState {
    /// Neither completed nor expired.
    #[napi(value = "pending")]
    Pending,
    /// Completed (this wins over expiry).
    #[napi(value = "completed")]
    Completed,
    /// Not completed, and `now >= expires_at`.
    #[napi(value = "expired")]
    Expired,
}

/// Which endpoint created a link session.
#[napi(string_enum)]
pub enum SessionKind {
    /// `POST /v2/supplier/link-sessions`.
    #[napi(value = "v2_supplier")]
    V2Supplier,
    /// `POST /v2/manufacturer/link-sessions`.
    #[napi(value = "v2_manufacturer")]
    V2Manufacturer,
    /// `POST /users/{userId}/link` (deprecated v1).
    #[napi(value = "v1_supplier")]
    V1Supplier,
}

/// The body of `POST /v2/supplier/link-sessions` (201).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct V2SupplierLinkSession {
    /// The URL to send the end-user to.
    #[napi(js_name = "link_url")]
    pub link_url: String,
    /// The session token (a bearer secret).
    #[napi(js_name = "link_token")]
    pub link_token: String,
    /// The canonical brand slug, `null` when none was pre-selected.
    #[napi(ts_type = "string | null")]
    pub brand: String,
    /// The UI language.
    #[napi(ts_type = "Language")]
    pub language: String,
    /// The device category.
    #[napi(js_name = "asset_type", ts_type = "AssetType")]
    pub asset_type: String,
    /// Where the end-user goes after the flow.
    #[napi(js_name = "redirect_url")]
    pub redirect_url: String,
    /// The supplier's name.
    pub supplier: String,
    /// The supplier's id for the end-user.
    #[napi(js_name = "supplier_user_id")]
    pub supplier_user_id: String,
    /// Completion time (Unix seconds), `null` until completed.
    #[napi(js_name = "completed_at", ts_type = "number | null")]
    pub completed_at: i64,
    /// Creation time (Unix seconds).
    #[napi(js_name = "created_at")]
    pub created_at: i64,
    /// Expiry time: `created_at + 600`.
    #[napi(js_name = "expires_at")]
    pub expires_at: i64,
}

/// The body of `POST /v2/manufacturer/link-sessions` (201).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct V2ManufacturerLinkSession {
    /// The URL to send the end-user to.
    #[napi(js_name = "link_url")]
    pub link_url: String,
    /// The session token (a bearer secret).
    #[napi(js_name = "link_token")]
    pub link_token: String,
    /// The manufacturer's brand name, title-cased.
    pub brand: Option<String>,
    /// The UI language.
    #[napi(ts_type = "Language")]
    pub language: String,
    /// Where the end-user goes after the flow.
    #[napi(js_name = "redirect_url")]
    pub redirect_url: String,
    /// The manufacturer's name.
    pub manufacturer: String,
    /// The manufacturer's id for the end-user.
    #[napi(js_name = "manufacturer_user_id")]
    pub manufacturer_user_id: String,
    /// Completion time (Unix seconds), `null` until completed.
    #[napi(js_name = "completed_at", ts_type = "number | null")]
    pub completed_at: i64,
    /// Creation time (Unix seconds).
    #[napi(js_name = "created_at")]
    pub created_at: i64,
    /// Expiry time: `created_at + 600`.
    #[napi(js_name = "expires_at")]
    pub expires_at: i64,
}

/// The `data` of a `POST /users/{userId}/link` response (deprecated v1).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct V1SupplierLink {
    /// The session token (a bearer secret).
    #[napi(js_name = "link_token")]
    pub link_token: String,
    /// The URL to send the end-user to.
    #[napi(js_name = "link_url")]
    pub link_url: String,
    /// Expiry time: creation + 600 (Unix seconds).
    #[napi(js_name = "expires_at")]
    pub expires_at: i64,
    /// The supplier's id.
    #[napi(js_name = "supplier_id")]
    pub supplier_id: String,
    /// The supplier's id for the end-user.
    #[napi(js_name = "supplier_user_id")]
    pub supplier_user_id: String,
    /// The canonical brand slug, if one was pre-selected.
    pub brand: Option<String>,
}

/// What `session()` and `completeSession()` add to a session's body: non-enumerable, so
/// `JSON.stringify` still gives exactly the documented body.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct SessionStatus {
    /// The state at the `now` of the call.
    #[napi(readonly, ts_type = "SessionState")]
    pub state: String,
    /// Which endpoint created the session.
    #[napi(readonly, ts_type = "SessionKind")]
    pub kind: String,
    /// Completion time (Unix seconds), `null` until completed.
    #[napi(readonly, js_name = "completedAt", ts_type = "number | null")]
    pub completed_at: i64,
}

/// The `data` of a `POST /manufacturers/nox` response (deprecated v1).
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct V1Subscriber {
    /// The manufacturer's id for the user.
    #[napi(js_name = "manufacturer_user_id")]
    pub manufacturer_user_id: String,
    /// The NOX user id (a UUID), fixed at the first connect.
    #[napi(js_name = "nox_user_id")]
    pub nox_user_id: String,
    /// Every device id ever associated, in first-seen order.
    #[napi(js_name = "device_ids")]
    pub device_ids: Vec<String>,
}
