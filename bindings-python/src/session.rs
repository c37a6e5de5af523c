//! `LinkSession` and `Subscriber`: immutable results whose `to_dict()` is the wire JSON.

use nox_authenticator::wire::{SessionBody, V1ConnectData};
use nox_authenticator::{
    AssetType, Language, LinkSession as CoreSession, SessionKind, Subscriber as CoreSubscriber,
};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::convert::{self, repr_opt, repr_str};

/// The keys of a v2 supplier session's body, in the order of the core's `wire::SessionBody`.
const V2_SUPPLIER_KEYS: [&str; 11] = [
    "link_url",
    "link_token",
    "brand",
    "language",
    "asset_type",
    "redirect_url",
    "supplier",
    "supplier_user_id",
    "completed_at",
    "created_at",
    "expires_at",
];

/// A language's wire code as an interned string (one object per code, not one per call).
fn language_str(py: Python<'_>, language: Language) -> &Bound<'_, PyString> {
    match language {
        Language::Nl => intern!(py, "nl"),
        Language::En => intern!(py, "en"),
        Language::Fr => intern!(py, "fr"),
        Language::Es => intern!(py, "es"),
    }
}

/// An asset type's wire value as an interned string.
fn asset_type_str(py: Python<'_>, asset_type: AssetType) -> &Bound<'_, PyString> {
    match asset_type {
        AssetType::HeatPump => intern!(py, "hp"),
        AssetType::PvInverter => intern!(py, "pv"),
    }
}

/// One link session, as created or looked up. Immutable: look it up again to see a later
/// state. `to_dict()` is the endpoint's documented response body (for v1, the `data` object).
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkSession {
    pub(crate) inner: CoreSession,
}

#[pymethods]
impl LinkSession {
    /// The session's token (a bearer secret: keep it out of logs).
    #[getter]
    fn token(&self) -> &str {
        self.inner.token.as_str()
    }
    /// Which endpoint created the session.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::session_kind(py, self.inner.kind)
    }
    /// The id of the supplier or manufacturer that created it.
    #[getter]
    fn owner_id(&self) -> &str {
        &self.inner.owner_id
    }
    /// The name of the supplier or manufacturer that created it.
    #[getter]
    fn owner_name(&self) -> &str {
        &self.inner.owner_name
    }
    /// The caller's id for the end-user.
    #[getter]
    fn user_id(&self) -> &str {
        &self.inner.user_id
    }
    /// Where the end-user goes after the flow.
    #[getter]
    fn redirect_url(&self) -> &str {
        &self.inner.redirect_url
    }
    /// The UI language.
    #[getter]
    fn language<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::language(py, self.inner.language)
    }
    /// The device category (v2 supplier sessions only).
    #[getter]
    fn asset_type<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .asset_type
            .map(|a| convert::asset_type(py, a))
            .transpose()
    }
    /// The brand slug (supplier sessions) or the manufacturer's brand name (v2 manufacturer).
    #[getter]
    fn brand(&self) -> Option<&str> {
        self.inner.brand.as_deref()
    }
    /// The URL to send the end-user to.
    #[getter]
    fn link_url(&self) -> &str {
        &self.inner.link_url
    }
    /// Creation time, Unix seconds.
    #[getter]
    fn created_at(&self) -> i64 {
        self.inner.created_at
    }
    /// Expiry time, Unix seconds.
    #[getter]
    fn expires_at(&self) -> i64 {
        self.inner.expires_at
    }
    /// Completion time, Unix seconds, or `None`.
    #[getter]
    fn completed_at(&self) -> Option<i64> {
        self.inner.completed_at
    }

    /// The state at `now` (Unix seconds; `None` for the system clock).
    #[pyo3(signature = (now=None))]
    fn state<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        convert::session_state(py, self.inner.state(convert::now_or_system(now)?))
    }

    /// Whether the session is expired at `now` (and was not completed before).
    #[pyo3(signature = (now=None))]
    fn is_expired(&self, now: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        Ok(self.inner.is_expired(convert::now_or_system(now)?))
    }

    /// Seconds left before expiry at `now` (0 once expired).
    #[pyo3(signature = (now=None))]
    fn seconds_left(&self, now: Option<&Bound<'_, PyAny>>) -> PyResult<i64> {
        Ok(self.inner.seconds_left(convert::now_or_system(now)?))
    }

    /// The documented response body, as plain Python objects (keys in the documented order).
    ///
    /// Built directly with interned keys, in the order of the core's `wire::SessionBody` (which
    /// `to_json` serialises; the tests check that both agree): about 13,000 instructions by
    /// `pythonize` through serde, a few thousand this way.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.inner;
        let d = match s.kind {
            SessionKind::V2Supplier => {
                // A copy of a private dict of the eleven keys (never handed out, so never
                // changed) has its full size at once: no resize while the values are set.
                static KEYS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
                let keys = KEYS.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
                    let keys = PyDict::new(py);
                    for key in V2_SUPPLIER_KEYS {
                        keys.set_item(PyString::intern(py, key), py.None())?;
                    }
                    Ok(keys.unbind())
                })?;
                let d = keys.bind(py).copy()?;
                d.set_item(intern!(py, "link_url"), &s.link_url)?;
                d.set_item(intern!(py, "link_token"), s.token.as_str())?;
                d.set_item(intern!(py, "brand"), s.brand.as_deref())?;
                d.set_item(intern!(py, "language"), language_str(py, s.language))?;
                d.set_item(
                    intern!(py, "asset_type"),
                    s.asset_type.map(|a| asset_type_str(py, a)),
                )?;
                d.set_item(intern!(py, "redirect_url"), &s.redirect_url)?;
                d.set_item(intern!(py, "supplier"), &s.owner_name)?;
                d.set_item(intern!(py, "supplier_user_id"), &s.user_id)?;
                d.set_item(intern!(py, "completed_at"), s.completed_at)?;
                d.set_item(intern!(py, "created_at"), s.created_at)?;
                d.set_item(intern!(py, "expires_at"), s.expires_at)?;
                d
            }
            SessionKind::V2Manufacturer => {
                let d = PyDict::new(py);
                d.set_item(intern!(py, "link_url"), &s.link_url)?;
                d.set_item(intern!(py, "link_token"), s.token.as_str())?;
                if let Some(brand) = s.brand.as_deref() {
                    d.set_item(intern!(py, "brand"), brand)?;
                }
                d.set_item(intern!(py, "language"), language_str(py, s.language))?;
                d.set_item(intern!(py, "redirect_url"), &s.redirect_url)?;
                d.set_item(intern!(py, "manufacturer"), &s.owner_name)?;
                d.set_item(intern!(py, "manufacturer_user_id"), &s.user_id)?;
                d.set_item(intern!(py, "completed_at"), s.completed_at)?;
                d.set_item(intern!(py, "created_at"), s.created_at)?;
                d.set_item(intern!(py, "expires_at"), s.expires_at)?;
                d
            }
            SessionKind::V1Supplier => {
                let d = PyDict::new(py);
                d.set_item(intern!(py, "link_token"), s.token.as_str())?;
                d.set_item(intern!(py, "link_url"), &s.link_url)?;
                d.set_item(intern!(py, "expires_at"), s.expires_at)?;
                d.set_item(intern!(py, "supplier_id"), &s.owner_id)?;
                d.set_item(intern!(py, "supplier_user_id"), &s.user_id)?;
                if let Some(brand) = s.brand.as_deref() {
                    d.set_item(intern!(py, "brand"), brand)?;
                }
                d
            }
        };
        Ok(d)
    }

    /// The documented response body, as JSON text (keys in the documented order).
    fn to_json(&self) -> String {
        serde_json::to_string(&SessionBody::new(&self.inner)).unwrap_or_default()
    }

    fn __repr__(&self) -> String {
        let s = &self.inner;
        // The token is a bearer secret: show only its start, as the core's Debug does.
        let token_start = format!("{}…", s.token.as_str().get(..6).unwrap_or_default());
        format!(
            "LinkSession(kind={}, token={}, owner_id={}, user_id={}, language={}, \
             asset_type={}, brand={}, created_at={}, expires_at={}, completed_at={})",
            repr_str(s.kind.as_str()),
            repr_str(&token_start),
            repr_str(&s.owner_id),
            repr_str(&s.user_id),
            repr_str(s.language.as_str()),
            repr_opt(s.asset_type.map(|a| a.as_str())),
            repr_opt(s.brand.as_deref()),
            s.created_at,
            s.expires_at,
            s.completed_at
                .map_or_else(|| "None".to_owned(), |t| t.to_string()),
        )
    }
}

/// A v1 subscriber: one manufacturer's user connected to NOX. `to_dict()` is the documented
/// `data` of the v1 connect response.
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscriber {
    pub(crate) inner: CoreSubscriber,
}

#[pymethods]
impl Subscriber {
    /// The manufacturer's id.
    #[getter]
    fn manufacturer_id(&self) -> &str {
        &self.inner.manufacturer_id
    }
    /// The manufacturer's id for the user.
    #[getter]
    fn manufacturer_user_id(&self) -> &str {
        &self.inner.manufacturer_user_id
    }
    /// The NOX user id (a UUID), fixed at the first connect.
    #[getter]
    fn nox_user_id(&self) -> &str {
        &self.inner.nox_user_id
    }
    /// Every device id ever associated, in first-seen order.
    #[getter]
    fn device_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.device_ids)
    }
    /// The documented v1 `data` object, as plain Python objects (keys in the documented order).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        // The order of the core's `wire::V1ConnectData`, built directly (see `LinkSession`).
        let s = &self.inner;
        let d = PyDict::new(py);
        d.set_item(intern!(py, "manufacturer_user_id"), &s.manufacturer_user_id)?;
        d.set_item(intern!(py, "nox_user_id"), &s.nox_user_id)?;
        d.set_item(intern!(py, "device_ids"), PyList::new(py, &s.device_ids)?)?;
        Ok(d)
    }
    /// The documented v1 `data` object, as JSON text (keys in the documented order).
    fn to_json(&self) -> String {
        serde_json::to_string(&V1ConnectData::new(&self.inner)).unwrap_or_default()
    }
    fn __repr__(&self) -> String {
        let device_ids: Vec<String> = self.inner.device_ids.iter().map(|d| repr_str(d)).collect();
        format!(
            "Subscriber(manufacturer_id={}, manufacturer_user_id={}, nox_user_id={}, \
             device_ids=({}{}))",
            repr_str(&self.inner.manufacturer_id),
            repr_str(&self.inner.manufacturer_user_id),
            repr_str(&self.inner.nox_user_id),
            device_ids.join(", "),
            if device_ids.len() == 1 { "," } else { "" }
        )
    }
}
