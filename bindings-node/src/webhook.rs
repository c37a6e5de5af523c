//! Completion events (Standard Webhooks): `verifyWebhook`, `signWebhook` and the typed
//! `WebhookEvent`. Every rule is the core's ([`nox_authenticator::webhook`]); a refusal is
//! thrown as a `WebhookVerificationError` ([`crate::error::webhook_to_js`]).

use napi::bindgen_prelude::{Buffer, Either, FromNapiValue, JsValue, Null, Object, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;
use nox_authenticator::webhook::{self, WebhookSecret};

use crate::args::Args;
use crate::error::webhook_to_js;
use crate::wire::parse_json;

/// A verified completion event.
#[napi(object, object_from_js = false)]
pub struct WebhookEvent<'env> {
    /// `webhook-id`: the same on every delivery attempt of the event; act on each id once.
    pub id: String,
    /// `webhook-timestamp`: when this attempt was signed, Unix seconds.
    pub signed_at: i64,
    /// The event's type.
    #[napi(js_name = "type", ts_type = "WebhookEventType")]
    pub event_type: String,
    /// When the event happened (the body's `timestamp`), Unix seconds.
    pub timestamp: i64,
    /// Which endpoint created the session.
    #[napi(ts_type = "SessionKind")]
    pub kind: String,
    /// The session's state when the event happened: completed or expired.
    #[napi(ts_type = "SessionState")]
    pub state: String,
    /// The session's token.
    pub token: String,
    /// The caller's id for the end-user (`supplier_user_id` or `manufacturer_user_id`).
    pub user_id: String,
    /// The session's link URL.
    pub link_url: String,
    /// The session's expiry, Unix seconds.
    pub expires_at: i64,
    /// The session's completion time, or `null` (not completed, or a v1 session, whose body
    /// has no such field).
    #[napi(ts_type = "number | null")]
    pub completed_at: Either<i64, Null>,
    /// The session as its endpoint's documented body (for v1, the `data` object).
    #[napi(ts_type = "V2SupplierLinkSession | V2ManufacturerLinkSession | V1SupplierLink")]
    pub session: Object<'env>,
}

/// The body: a `Buffer` as is, or a string as its UTF-8 bytes.
fn body_bytes(args: &Args<'_>, body: Unknown) -> napi::Result<Vec<u8>> {
    match body.get_type()? {
        ValueType::String => Ok(args.required_string(body, "body")?.into_bytes()),
        ValueType::Object if body.is_buffer()? => Ok(Buffer::from_unknown(body)?.to_vec()),
        other => Err(args.type_error("body", "a Buffer or a string", other)),
    }
}

/// One secret (a string) or several (an array of strings).
fn secret_texts(args: &Args<'_>, secret: Unknown) -> napi::Result<Vec<String>> {
    match secret.get_type()? {
        ValueType::String => Ok(vec![args.required_string(secret, "secret")?]),
        ValueType::Object if secret.is_array()? => {
            Ok(args.strings(secret, "secret")?.unwrap_or_default())
        }
        other => Err(args.type_error("secret", "a string or an array of strings", other)),
    }
}

/// Verifies a completion event as a receiver got it and returns it: `secret` is the
/// `whsec_…` secret, or several during a rotation; `headers` as `req.headers` of `node:http`
/// (or `[name, value]` pairs); `body` the raw bytes (or the text) exactly as received. Throws a
/// `WebhookVerificationError` whose `code` names the rule (`NO_VALID_SIGNATURE`,
/// `TIMESTAMP_TOO_OLD`, `MISSING_HEADER`, …) and whose `status` is the answer to send.
#[napi(catch_unwind, strict)]
pub fn verify_webhook<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "string | string[]")] secret: Unknown,
    #[napi(
        ts_arg_type = "Record<string, string | string[] | undefined> | Array<[string, string]>"
    )]
    headers: Unknown,
    #[napi(ts_arg_type = "Buffer | string")] body: Unknown,
    #[napi(ts_arg_type = "NowOptions | undefined | null")] options: Option<Unknown>,
) -> napi::Result<WebhookEvent<'env>> {
    let args = Args::new(env, "verifyWebhook");
    let now = args.now_options(options)?;
    let body = body_bytes(&args, body)?;
    let secrets = secret_texts(&args, secret)?
        .iter()
        .map(|text| WebhookSecret::parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| webhook_to_js(env, &e))?;
    let pairs = args.headers(headers, "headers")?;
    let headers: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let event = webhook::verify_webhook(&secrets, &headers, &body, now)
        .map_err(|e| webhook_to_js(env, &e))?;
    Ok(WebhookEvent {
        session: parse_json(env, &event.session)?,
        id: event.id,
        signed_at: event.signed_at,
        event_type: event.event_type.as_str().to_owned(),
        timestamp: event.timestamp,
        kind: event.kind.as_str().to_owned(),
        state: event.state.as_str().to_owned(),
        token: event.token,
        user_id: event.user_id,
        link_url: event.link_url,
        expires_at: event.expires_at,
        completed_at: match event.completed_at {
            Some(at) => Either::A(at),
            None => Either::B(Null),
        },
    })
}

/// The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">`; `timestamp` in Unix seconds. Throws `INVALID_SECRET` for a secret that
/// is not `whsec_` and the base64 of at least 24 bytes.
#[napi(catch_unwind, strict)]
pub fn sign_webhook(
    env: Env,
    #[napi(ts_arg_type = "string")] secret: Unknown,
    #[napi(ts_arg_type = "string")] id: Unknown,
    #[napi(ts_arg_type = "number")] timestamp: Unknown,
    #[napi(ts_arg_type = "Buffer | string")] body: Unknown,
) -> napi::Result<String> {
    let args = Args::new(&env, "signWebhook");
    let secret = args.required_string(secret, "secret")?;
    let id = args.required_string(id, "id")?;
    let timestamp = args.now(timestamp, "timestamp")?;
    let body = body_bytes(&args, body)?;
    let secret = WebhookSecret::parse(&secret).map_err(|e| webhook_to_js(&env, &e))?;
    Ok(webhook::sign_webhook(&secret, &id, timestamp, &body))
}
