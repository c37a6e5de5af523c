//! Node.js binding of the NOX Authenticator core (napi-rs).
//!
//! Thin on purpose: every module converts JavaScript values to core types, calls the core and
//! converts back. Validation, defaults and messages all come from `nox-authenticator`; core
//! errors become JavaScript `Error`s in one place ([`error`]). Every exported function and
//! method is compiled with `catch_unwind`, so a panic surfaces as a thrown error instead of
//! aborting the Node process, and with `strict`, so an argument of the wrong type is refused
//! before it is converted (a number is never read as an empty option object). The session calls
//! have a JavaScript half ([`adapter`]) and check their options in `args.rs`.

pub mod adapter;
mod args;
pub mod authenticator;
pub mod catalog;
mod config;
mod enums;
pub mod error;
pub mod flow;
pub mod http;
pub mod language;
pub mod redirect;
pub mod webhook;
pub mod wire;

use napi_derive::napi;

/// How long a link session lives, in seconds (10 minutes).
#[napi]
pub const LINK_SESSION_TTL_SECONDS: i64 = nox_authenticator::LINK_SESSION_TTL_SECONDS;

/// The current Unix time in whole seconds, as the core reads it. Every operation that takes an
/// optional `now` uses this when it is omitted.
#[napi(catch_unwind, strict)]
pub fn system_now() -> i64 {
    nox_authenticator::system_now()
}

// The addon's own allocations (the core's session records and strings, the serialized bodies)
// go to mimalloc rather than the process's glibc malloc, which V8 and Node share: measured
// about 1.3 µs less per created session (docs/performance/node.md). JavaScript values are V8's
// and unaffected.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
