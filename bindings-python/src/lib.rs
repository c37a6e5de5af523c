//! The Python binding of the NOX Authenticator (`nox_authenticator._native`).
//!
//! A thin layer: each wrapper converts Python values to core types, calls the core (with the
//! GIL released where no Python object is touched) and converts back. Errors become Python
//! exceptions in one place ([`error`]). The package `nox_authenticator` (python/) re-exports
//! this module and defines the `enum.Enum`s and exception classes it returns.

use nox_authenticator::{LINK_SESSION_TTL_SECONDS, Language};
use pyo3::prelude::*;

mod authenticator;
mod catalog;
mod convert;
mod enums;
mod error;
mod flow;
mod http;
mod redirect;
mod session;
mod webhook;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<authenticator::Authenticator>()?;
    m.add_class::<catalog::Brand>()?;
    m.add_class::<catalog::Catalog>()?;
    m.add_class::<session::LinkSession>()?;
    m.add_class::<session::Subscriber>()?;
    m.add_class::<http::HttpResponse>()?;
    m.add_class::<redirect::RedirectPolicy>()?;
    m.add_class::<redirect::LinkUrlParts>()?;
    m.add_function(wrap_pyfunction!(redirect::parse_link_url, m)?)?;
    m.add_function(wrap_pyfunction!(redirect::parse_language, m)?)?;
    m.add_function(wrap_pyfunction!(redirect::language_from_locale, m)?)?;
    m.add_function(wrap_pyfunction!(redirect::negotiate_language, m)?)?;
    m.add_class::<flow::FlowView>()?;
    m.add_class::<flow::FlowChoice>()?;
    m.add_class::<flow::FlowCounterpart>()?;
    m.add_class::<flow::LinkCallback>()?;
    m.add_function(wrap_pyfunction!(flow::parse_link_callback, m)?)?;
    m.add_class::<webhook::WebhookEvent>()?;
    m.add_function(wrap_pyfunction!(webhook::verify_webhook, m)?)?;
    m.add_function(wrap_pyfunction!(webhook::sign_webhook, m)?)?;
    m.add_function(wrap_pyfunction!(error::core_error_for_code, m)?)?;
    m.add("LINK_SESSION_TTL_SECONDS", LINK_SESSION_TTL_SECONDS)?;
    m.add("MAX_ID_CHARS", nox_authenticator::MAX_ID_CHARS)?;
    m.add("MAX_DEVICE_IDS", nox_authenticator::MAX_DEVICE_IDS)?;
    m.add(
        "MAX_REDIRECT_URL_LEN",
        nox_authenticator::redirect::MAX_REDIRECT_URL_LEN,
    )?;
    m.add("V1_BRANDS", nox_authenticator::V1_BRANDS.to_vec())?;
    m.add("V2_DEFAULT_LANGUAGE", Language::V2_DEFAULT.as_str())?;
    m.add("V1_DEFAULT_LANGUAGE", Language::V1_DEFAULT.as_str())?;
    // The enumerations, from the core's own lists (`_types.py` builds the classes).
    m.add("_ENUMS", enums::table(m.py())?)?;
    // The refusal rule codes (spec decision 17), so the suite can check the documented list.
    m.add(
        "_RULES",
        nox_authenticator::Rule::ALL
            .map(nox_authenticator::Rule::as_str)
            .to_vec(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

// The extension's own allocations (the core's session records and strings) go to mimalloc
// rather than glibc's malloc, which the interpreter shares (docs/performance/python.md).
// Python objects are CPython's and unaffected.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
