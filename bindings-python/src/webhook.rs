//! Completion events (Standard Webhooks): `verify_webhook`, `sign_webhook` and the typed
//! `WebhookEvent`. Every rule is the core's ([`nox_authenticator::webhook`]); a refusal becomes a
//! `WebhookVerificationError` carrying the core's `code`, `field` and `status`.

use nox_authenticator::webhook::{self, WebhookError, WebhookSecret};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::convert::{self, repr_str};

/// `WebhookVerificationError(message, status=, code=, fields=, field=)`.
fn verification_error(py: Python<'_>, error: &WebhookError) -> PyErr {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("status", error.status())?;
        kwargs.set_item("code", error.code())?;
        kwargs.set_item("fields", PyTuple::new(py, error.field())?)?;
        kwargs.set_item("field", error.field())?;
        let class = CLASS.import(py, "nox_authenticator.errors", "WebhookVerificationError")?;
        let instance = class.call((error.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|failure| failure)
}

/// One secret (`str`) or several (an iterable of `str`), each parsed by the core.
fn secrets(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<WebhookSecret>> {
    let texts: Vec<String> = if let Ok(text) = value.cast::<PyString>() {
        vec![text.to_cow()?.into_owned()]
    } else {
        let items = value
            .try_iter()
            .map_err(|_| PyTypeError::new_err("secret must be a str or an iterable of str"))?;
        items
            .map(|item| item?.extract::<String>())
            .collect::<PyResult<_>>()
            .map_err(|_| PyTypeError::new_err("secret must be a str or an iterable of str"))?
    };
    texts
        .iter()
        .map(|text| WebhookSecret::parse(text).map_err(|e| verification_error(py, &e)))
        .collect()
}

/// A verified completion event. `session` is the session as its endpoint's documented body
/// (for v1, the `data` object), as plain Python objects.
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WebhookEvent {
    inner: webhook::WebhookEvent,
}

#[pymethods]
impl WebhookEvent {
    /// `webhook-id`: the same on every delivery attempt of the event; act on each id once.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    /// `webhook-timestamp`: when this attempt was signed, Unix seconds.
    #[getter]
    fn signed_at(&self) -> i64 {
        self.inner.signed_at
    }
    /// The event's type.
    #[getter]
    fn r#type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        CLASS
            .import(py, "nox_authenticator._types", "WebhookEventType")?
            .call1((self.inner.event_type.as_str(),))
    }
    /// When the event happened (the body's `timestamp`), Unix seconds.
    #[getter]
    fn timestamp(&self) -> i64 {
        self.inner.timestamp
    }
    /// Which endpoint created the session.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::session_kind(py, self.inner.kind)
    }
    /// The session's state when the event happened: completed or expired.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::session_state(py, self.inner.state)
    }
    /// The session's token.
    #[getter]
    fn token(&self) -> &str {
        &self.inner.token
    }
    /// The caller's id for the end-user (`supplier_user_id` or `manufacturer_user_id`).
    #[getter]
    fn user_id(&self) -> &str {
        &self.inner.user_id
    }
    /// The session's link URL.
    #[getter]
    fn link_url(&self) -> &str {
        &self.inner.link_url
    }
    /// The session's expiry, Unix seconds.
    #[getter]
    fn expires_at(&self) -> i64 {
        self.inner.expires_at
    }
    /// The session's completion time, or `None` (not completed, or a v1 session, whose body
    /// has no such field).
    #[getter]
    fn completed_at(&self) -> Option<i64> {
        self.inner.completed_at
    }
    /// The session as its endpoint's documented body.
    #[getter]
    fn session<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.inner.session)?)
    }

    fn __repr__(&self) -> String {
        let e = &self.inner;
        let token_start = format!("{}…", e.token.get(..6).unwrap_or_default());
        format!(
            "WebhookEvent(id={}, type={}, timestamp={}, kind={}, state={}, token={}, \
             user_id={}, completed_at={})",
            repr_str(&e.id),
            repr_str(e.event_type.as_str()),
            e.timestamp,
            repr_str(e.kind.as_str()),
            repr_str(e.state.as_str()),
            repr_str(&token_start),
            repr_str(&e.user_id),
            e.completed_at
                .map_or_else(|| "None".to_owned(), |t| t.to_string()),
        )
    }
}

/// Verifies a completion event at `now` (Unix seconds; `None` for the system clock) against one
/// secret or several (during a rotation) and returns it; raises `WebhookVerificationError`.
#[pyfunction]
#[pyo3(signature = (secret, headers, body, *, now=None))]
pub(crate) fn verify_webhook(
    py: Python<'_>,
    secret: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<WebhookEvent> {
    let secrets = secrets(py, secret)?;
    let headers = convert::headers(Some(headers))?;
    let body = convert::body(Some(body))?;
    let now = convert::now_or_system(now)?;
    let pairs = headers.pairs();
    webhook::verify_webhook(&secrets, &pairs, &body, now)
        .map(|inner| WebhookEvent { inner })
        .map_err(|e| verification_error(py, &e))
}

/// The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256>`.
#[pyfunction]
#[pyo3(signature = (secret, id, timestamp, body))]
pub(crate) fn sign_webhook(
    py: Python<'_>,
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let secret = WebhookSecret::parse(secret).map_err(|e| verification_error(py, &e))?;
    let body = convert::body(Some(body))?;
    Ok(webhook::sign_webhook(&secret, id, timestamp, &body))
}
