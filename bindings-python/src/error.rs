//! The one place where a core [`Error`] becomes a Python exception.
//!
//! The exception classes are plain Python classes (`nox_authenticator/errors.py`) so that they
//! can subclass both the package's base class and `ValueError` / `LookupError`; this module
//! picks the class for each core variant and passes the core's status, code, message and fields.

use nox_authenticator::{Error, RedirectRejection};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

const ERRORS_MODULE: &str = "nox_authenticator.errors";

/// The exception class for a core error, by name in `nox_authenticator.errors`.
fn class_name(error: &Error) -> &'static str {
    match error {
        Error::Validation(_) => "ValidationError",
        Error::MissingApiKey | Error::InvalidApiKey | Error::ManufacturerNotEnabled => {
            "AuthenticationError"
        }
        Error::SessionNotFound => "SessionNotFoundError",
        Error::SessionExpired { .. } => "SessionExpiredError",
        Error::SessionAlreadyCompleted { .. } => "SessionAlreadyCompletedError",
        Error::InvalidConfig { .. } => "ConfigError",
        Error::InvalidCatalog { .. } => "CatalogError",
        Error::RouteNotFound
        | Error::MethodNotAllowed
        | Error::PayloadTooLarge { .. }
        | Error::UnsupportedMediaType => "ProtocolError",
        Error::Store { .. } | Error::Randomness => "InternalError",
        // An argument error never reaches this conversion from a call (Python raises its own
        // ValueError / TypeError for a bad argument first); the core enum is also
        // `#[non_exhaustive]`: a variant added later still gets the base class with its status
        // and code.
        _ => "NoxAuthenticatorError",
    }
}

fn exception_class<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyType>> {
    // The classes are looked up once; each name gets its own cache slot.
    static BASE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static VALIDATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static REDIRECT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static AUTHENTICATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static NOT_FOUND: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static EXPIRED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static COMPLETED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static CONFIG: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static CATALOG: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static PROTOCOL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static INTERNAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let cell = match name {
        "ValidationError" => &VALIDATION,
        "RedirectRejectedError" => &REDIRECT,
        "AuthenticationError" => &AUTHENTICATION,
        "SessionNotFoundError" => &NOT_FOUND,
        "SessionExpiredError" => &EXPIRED,
        "SessionAlreadyCompletedError" => &COMPLETED,
        "ConfigError" => &CONFIG,
        "CatalogError" => &CATALOG,
        "ProtocolError" => &PROTOCOL,
        "InternalError" => &INTERNAL,
        _ => &BASE,
    };
    cell.import(py, ERRORS_MODULE, name).cloned()
}

/// The variant-specific attributes (`expires_at`, `field`, `limit`, …).
fn details<'py>(py: Python<'py>, error: &Error) -> PyResult<Bound<'py, PyDict>> {
    let details = PyDict::new(py);
    match error {
        Error::SessionExpired { expires_at } => details.set_item("expires_at", expires_at)?,
        Error::SessionAlreadyCompleted { completed_at } => {
            details.set_item("completed_at", completed_at)?
        }
        Error::InvalidConfig { field, reason } | Error::InvalidCatalog { field, reason } => {
            details.set_item("field", field)?;
            details.set_item("reason", reason)?;
        }
        Error::PayloadTooLarge { limit } => details.set_item("limit", limit)?,
        Error::Store { reason } => details.set_item("reason", reason)?,
        _ => {}
    }
    Ok(details)
}

fn build(
    py: Python<'_>,
    class: &'static str,
    error: &Error,
    extra: Option<Bound<'_, PyDict>>,
) -> PyResult<PyErr> {
    let kwargs = details(py, error)?;
    if let Some(extra) = extra {
        kwargs.update(extra.as_mapping())?;
    }
    kwargs.set_item("status", error.status())?;
    kwargs.set_item("code", error.code())?;
    kwargs.set_item("fields", PyTuple::new(py, error.fields())?)?;
    if error.refusal().is_some() {
        kwargs.set_item("rule", error.rule())?;
        kwargs.set_item("field", error.field())?;
        kwargs.set_item("did_you_mean", error.did_you_mean())?;
    }
    kwargs.set_item("public_message", error.public_message())?;
    let instance = exception_class(py, class)?.call((error.message(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

/// Converts a core error into the matching exception of `nox_authenticator.errors`.
pub(crate) fn core_error(py: Python<'_>, error: &Error) -> PyErr {
    build(py, class_name(error), error, None).unwrap_or_else(|failure| failure)
}

/// A refused redirect URL (from [`nox_authenticator::RedirectPolicy`], which reports a
/// [`RedirectRejection`] rather than an [`Error`]) as a `RedirectRejectedError`: the core's
/// validation error for it, plus the rejection `reason` code, the `canonical` spelling (for
/// `not_canonical`) and the `index` of the refused URL (when registering several).
pub(crate) fn redirect_rejection(
    py: Python<'_>,
    rejection: &RedirectRejection,
    index: Option<usize>,
) -> PyErr {
    let error = Error::Validation(nox_authenticator::Refusal::body(
        rejection.rule(),
        rejection,
    ));
    let result = (|| {
        let extra = PyDict::new(py);
        extra.set_item("reason", rejection.code())?;
        let canonical = match rejection {
            RedirectRejection::NotCanonical { canonical } => Some(canonical.as_str()),
            _ => None,
        };
        extra.set_item("canonical", canonical)?;
        extra.set_item("index", index)?;
        build(py, "RedirectRejectedError", &error, Some(extra))
    })();
    result.unwrap_or_else(|failure| failure)
}

/// Extension to map a core `Result` with the interpreter at hand.
pub(crate) trait IntoPyResult<T> {
    /// Maps the error with [`core_error`].
    fn into_py_result(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn into_py_result(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|error| core_error(py, &error))
    }
}

/// Test hook: the exception a core error of this code becomes, so that the suite can check the
/// conversion of variants no public call can produce (store and randomness failures, HTTP
/// protocol errors). Not part of the API.
#[pyfunction]
#[pyo3(name = "_core_error_for_code")]
pub(crate) fn core_error_for_code(py: Python<'_>, code: &str) -> PyResult<PyErr> {
    let error = match code {
        "missing_api_key" => Error::MissingApiKey,
        "invalid_api_key" => Error::InvalidApiKey,
        "manufacturer_not_enabled" => Error::ManufacturerNotEnabled,
        "validation_error" => Error::Validation(nox_authenticator::Refusal {
            rule: nox_authenticator::Rule::MissingField,
            message: "Missing required fields: user_id, redirect_url".to_owned(),
            fields: vec!["user_id", "redirect_url"],
            did_you_mean: None,
        }),
        "not_found" => Error::SessionNotFound,
        "expired" => Error::SessionExpired { expires_at: 600 },
        "already_completed" => Error::SessionAlreadyCompleted { completed_at: 60 },
        "route_not_found" => Error::RouteNotFound,
        "method_not_allowed" => Error::MethodNotAllowed,
        "payload_too_large" => Error::PayloadTooLarge { limit: 4096 },
        "unsupported_media_type" => Error::UnsupportedMediaType,
        "invalid_config" => Error::InvalidConfig {
            field: "suppliers[0].api_key".to_owned(),
            reason: "must not be empty".to_owned(),
        },
        "invalid_catalog" => Error::InvalidCatalog {
            field: "version".to_owned(),
            reason: "must not be empty".to_owned(),
        },
        "store_error" => Error::Store {
            reason: "database unreachable".to_owned(),
        },
        "internal_error" => Error::Randomness,
        "invalid_argument" => Error::from(nox_authenticator::NowOutOfRange(-5.0)),
        _ => return Err(pyo3::exceptions::PyKeyError::new_err(code.to_owned())),
    };
    Ok(core_error(py, &error))
}
