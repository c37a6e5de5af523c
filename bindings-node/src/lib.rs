//! Node.js binding of the NOX Authenticator core (napi-rs).
//!
//! Thin on purpose: every module converts JavaScript values to core types, calls the core and
//! converts back. Validation, defaults and messages all come from `nox-authenticator`; core
//! errors become JavaScript `Error`s in one place ([`error`]). Every exported function and
//! method is compiled with `catch_unwind`, so a panic surfaces as a thrown error instead of
//! aborting the Node process.

pub mod authenticator;
pub mod catalog;
pub mod error;
pub mod http;
pub mod language;
pub mod redirect;
pub mod wire;

use napi_derive::napi;

/// How long a link session lives, in seconds (10 minutes).
#[napi]
pub const LINK_SESSION_TTL_SECONDS: i64 = nox_authenticator::LINK_SESSION_TTL_SECONDS;

/// The current Unix time in whole seconds, as the core reads it. Every operation that takes an
/// optional `now` uses this when it is omitted.
#[napi(catch_unwind)]
pub fn system_now() -> i64 {
    nox_authenticator::system_now()
}

/// `now` as given, or the system clock when omitted.
pub(crate) fn now_or_system(now: Option<i64>) -> i64 {
    now.unwrap_or_else(nox_authenticator::system_now)
}
