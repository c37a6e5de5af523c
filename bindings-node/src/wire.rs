//! Results as JavaScript objects: the core's documented wire bodies, serialized by the core's
//! own `wire` structs and handed to V8's `JSON.parse`, so `JSON.stringify(result)` is exactly
//! the documented body, in its field order (one parse is cheaper than building the object
//! property by property through N-API). The create calls answer the JSON text, which
//! `adapter.js` parses; `session()` and `completeSession()` parse here and add the non-enumerable
//! [`SessionStatus`].
//!
//! Their TypeScript shapes (`V2SupplierLinkSession`, …) are the core's own types, declared by
//! `build.rs`; `SessionStatus` and `LinkSession` are in `dts-prelude.d.ts`.

use napi::bindgen_prelude::{Function, JsObjectValue, Object};
use napi::{Env, Property, PropertyAttributes};
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
