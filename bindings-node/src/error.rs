//! The one place where core errors become JavaScript errors.
//!
//! A core [`nox_authenticator::Error`] becomes an `Error` whose `message` is the core's message
//! and which carries:
//! - `code`: the core's stable code upper-cased (`MISSING_API_KEY`, `NOT_FOUND`, …);
//! - `errorCode`: the core's code as is, which for the v1 API is the wire `error_code`;
//! - `status`: the HTTP status the core answers this error with;
//! - `fields`: the offending request fields, in the wire's names (`user_id`, …);
//! - for a request refusal (`VALIDATION_ERROR`, `name` `ValidationError`): `rule`, the stable
//!   code of the rule it broke (`missing_field`, `brand_unknown`, … spec decision 17), `field`
//!   (the first field concerned, or `null`) and `didYouMean` (for `brand_unknown`, the slug of
//!   a close brand, or `null`);
//! - the variant's own data where it has any: `field` and `reason` (`INVALID_CONFIG`,
//!   `INVALID_CATALOG`), `expiresAt` (`EXPIRED`), `completedAt` (`ALREADY_COMPLETED`), `limit`
//!   (`PAYLOAD_TOO_LARGE`).
//!
//! A refused completion event (webhook) becomes an `Error` named `WebhookVerificationError`
//! with `code` the rule upper-cased (`NO_VALID_SIGNATURE`, `TIMESTAMP_TOO_OLD`,
//! `MISSING_HEADER`, …), `errorCode` the rule as is, `status` (what a receiver answers: 400,
//! or 500 for `INVALID_SECRET`), `field` (the header or body field, or `null`) and `fields`.
//!
//! A return URL that `parseLinkCallback` cannot read becomes an `Error` named `CallbackError`
//! with `code` `INVALID_LINK_CALLBACK`, `rule` the core's rule code (`missing_status`, …) and
//! `field` (`status`, `link_token` or `null`).
//!
//! A redirect URL refused at registration becomes an `Error` with `code` the rejection's code
//! upper-cased (`NOT_CANONICAL`, …), `reason` the code as is, `index` and `canonical`.

use napi::bindgen_prelude::{JsObjectValue, JsValue, Object};
use napi::{Env, Status};
use nox_authenticator::flow::CallbackError;
use nox_authenticator::{Error, RedirectRejection, WebhookError};

/// Converts a core error into a thrown JavaScript error.
pub(crate) fn to_js(env: &Env, error: Error) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = new_error(env, error.message())?;
        object.set_named_property("code", error.code().to_ascii_uppercase())?;
        object.set_named_property("errorCode", error.code())?;
        object.set_named_property("status", u32::from(error.status()))?;
        object.set_named_property("fields", error.fields().to_vec())?;
        match &error {
            Error::InvalidConfig { field, reason } | Error::InvalidCatalog { field, reason } => {
                object.set_named_property("field", field.as_str())?;
                object.set_named_property("reason", reason.as_str())?;
            }
            Error::SessionExpired { expires_at } => {
                object.set_named_property("expiresAt", *expires_at)?;
            }
            Error::SessionAlreadyCompleted { completed_at } => {
                object.set_named_property("completedAt", *completed_at)?;
            }
            Error::PayloadTooLarge { limit } => {
                object.set_named_property("limit", u32::try_from(*limit).unwrap_or(u32::MAX))?;
            }
            Error::Validation(refusal) => {
                object.set_named_property("name", "ValidationError")?;
                object.set_named_property("rule", refusal.rule.as_str())?;
                object.set_named_property("field", refusal.field())?;
                object.set_named_property("didYouMean", refusal.did_you_mean.as_deref())?;
            }
            _ => {}
        }
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|failure| failure)
}

/// Converts a refused redirect registration (the index of the URL and why) into a thrown error.
pub(crate) fn rejection_to_js(
    env: &Env,
    index: usize,
    rejection: &RedirectRejection,
) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = new_error(env, rejection.to_string())?;
        object.set_named_property("code", rejection.code().to_ascii_uppercase())?;
        object.set_named_property("reason", rejection.code())?;
        object.set_named_property("index", u32::try_from(index).unwrap_or(u32::MAX))?;
        if let RedirectRejection::NotCanonical { canonical } = rejection {
            object.set_named_property("canonical", canonical.as_str())?;
        }
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|failure| failure)
}

/// Converts a webhook refusal into a thrown `WebhookVerificationError`.
pub(crate) fn webhook_to_js(env: &Env, error: &WebhookError) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = new_error(env, error.to_string())?;
        object.set_named_property("name", "WebhookVerificationError")?;
        object.set_named_property("code", error.code().to_ascii_uppercase())?;
        object.set_named_property("errorCode", error.code())?;
        object.set_named_property("status", u32::from(error.status()))?;
        object.set_named_property("field", error.field())?;
        object.set_named_property("fields", error.field().into_iter().collect::<Vec<_>>())?;
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|failure| failure)
}

/// Converts an unreadable return URL into a thrown `CallbackError` (`code`
/// `INVALID_LINK_CALLBACK`, `rule` the core's rule code, `field` the parameter or `null`).
pub(crate) fn callback_to_js(env: &Env, error: &CallbackError) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = new_error(env, error.to_string())?;
        object.set_named_property("name", "CallbackError")?;
        object.set_named_property("code", "INVALID_LINK_CALLBACK")?;
        object.set_named_property("rule", error.code())?;
        object.set_named_property("field", error.field())?;
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|failure| failure)
}

/// The rule codes of request refusals (spec decision 17), in the core's order: what
/// `err.rule` and `HttpResponse.rule` may be (the `RuleCode` type of index.d.ts).
#[napi_derive::napi(ts_return_type = "RuleCode[]")]
pub fn rule_codes() -> Vec<&'static str> {
    nox_authenticator::Rule::ALL
        .iter()
        .map(|rule| rule.as_str())
        .collect()
}

fn new_error(env: &Env, message: String) -> napi::Result<Object<'_>> {
    env.create_error(napi::Error::new(Status::GenericFailure, message))
}

/// Extension to convert core results at the call site: `core_call().or_throw(&env)?`.
pub(crate) trait OrThrow<T> {
    /// The value, or the core error converted by [`to_js`].
    fn or_throw(self, env: &Env) -> napi::Result<T>;
}

impl<T> OrThrow<T> for Result<T, Error> {
    fn or_throw(self, env: &Env) -> napi::Result<T> {
        self.map_err(|error| to_js(env, error))
    }
}
