//! The hosted link flow's pure rules (spec decision 19), for a host that renders its own pages
//! and for a caller reading the return URL it receives: `Authenticator.flow_view(...)` (the
//! page's view model, [`nox_authenticator::flow::FlowRules::view`]) and `parse_link_callback`.
//! Every rule is the core's; a refused return URL becomes a `LinkCallbackError` carrying the
//! core's rule code and field.

use nox_authenticator::flow::{
    self, CallbackError, CallbackStatus, Choice, Counterpart, FlowView as CoreView, PickField, Step,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::convert::{self, repr_opt, repr_str};

/// `FlowStep(value)`, `PickField(value)`, `CallbackStatus(value)`.
pub(crate) fn step(py: Python<'_>, value: Step) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    convert::enum_member(py, &CLASS, "FlowStep", value.as_str())
}

fn pick_field(py: Python<'_>, value: PickField) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    convert::enum_member(py, &CLASS, "PickField", value.as_str())
}

fn callback_status(py: Python<'_>, value: CallbackStatus) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    convert::enum_member(py, &CLASS, "CallbackStatus", value.as_str())
}

/// A step given as `FlowStep` or its wire string, or a `ValueError` naming `step`.
pub(crate) fn step_arg(value: &Bound<'_, PyAny>) -> PyResult<Step> {
    let text = convert::str_arg(value, "step")?;
    Step::parse(&text).ok_or_else(|| {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        pyo3::exceptions::PyValueError::new_err(format!(
            "step must be one of {}, not {}",
            names.join(", "),
            repr_str(&text)
        ))
    })
}

/// One thing the pick step offers: a brand (value: its slug) or a supplier (value: its id).
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowChoice {
    inner: Choice,
}

#[pymethods]
impl FlowChoice {
    /// The form value: a brand slug or a supplier id.
    #[getter]
    fn value(&self) -> &str {
        &self.inner.value
    }
    /// What to show: the brand's display name or the supplier's name.
    #[getter]
    fn label(&self) -> &str {
        &self.inner.label
    }
    /// Whether a connector can sign in there (otherwise shown as not yet available).
    #[getter]
    fn available(&self) -> bool {
        self.inner.available
    }
    /// The connector's type when available (`sandbox`, `oauth2`), else `None`.
    #[getter]
    fn connector(&self) -> Option<&str> {
        self.inner.connector.as_deref()
    }
    fn __repr__(&self) -> String {
        format!(
            "FlowChoice(value={}, label={}, available={}, connector={})",
            repr_str(&self.inner.value),
            repr_str(&self.inner.label),
            if self.inner.available {
                "True"
            } else {
                "False"
            },
            repr_opt(self.inner.connector.as_deref())
        )
    }
}

/// The counterpart the end user signs in with: the brand (supplier sessions) or the supplier
/// (manufacturer sessions).
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowCounterpart {
    inner: Counterpart,
}

#[pymethods]
impl FlowCounterpart {
    /// Brand slug or supplier id.
    #[getter]
    fn value(&self) -> &str {
        &self.inner.value
    }
    /// Display name.
    #[getter]
    fn label(&self) -> &str {
        &self.inner.label
    }
    fn __repr__(&self) -> String {
        format!(
            "FlowCounterpart(value={}, label={})",
            repr_str(&self.inner.value),
            repr_str(&self.inner.label)
        )
    }
}

/// The view model of one page of the hosted flow: everything a host needs to render the step,
/// from the core's rules. Immutable; `to_dict()` is the core's serialised form.
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowView {
    pub(crate) inner: CoreView,
}

#[pymethods]
impl FlowView {
    /// The step this page shows.
    #[getter]
    fn step<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        step(py, self.inner.step)
    }
    /// The page's language.
    #[getter]
    fn language<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::language(py, self.inner.language)
    }
    /// Which endpoint created the session.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::session_kind(py, self.inner.kind)
    }
    /// The name of the caller (supplier or manufacturer) asking for the link.
    #[getter]
    fn caller_name(&self) -> &str {
        &self.inner.caller_name
    }
    /// What will be linked; `None` for a manufacturer's device.
    #[getter]
    fn asset_type<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .asset_type
            .map(|a| convert::asset_type(py, a))
            .transpose()
    }
    /// The device's brand once known (a manufacturer session: the manufacturer's brand).
    #[getter]
    fn device_brand(&self) -> Option<&str> {
        self.inner.device_brand.as_deref()
    }
    /// The form field of the pick step, or `None` when there is nothing to pick.
    #[getter]
    fn pick_field<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.pick_field.map(|f| pick_field(py, f)).transpose()
    }
    /// The choices of the pick step (empty on every other step).
    #[getter]
    fn choices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let choices = self
            .inner
            .choices
            .iter()
            .map(|c| FlowChoice { inner: c.clone() });
        PyTuple::new(py, choices)
    }
    /// The value picked so far, or `None`.
    #[getter]
    fn picked(&self) -> Option<&str> {
        self.inner.picked.as_deref()
    }
    /// The counterpart to sign in with, once known.
    #[getter]
    fn counterpart(&self) -> Option<FlowCounterpart> {
        self.inner
            .counterpart
            .clone()
            .map(|inner| FlowCounterpart { inner })
    }
    /// The counterpart's connector type once known (`sandbox`, `oauth2`), else `None`.
    #[getter]
    fn connector(&self) -> Option<&str> {
        self.inner.connector.as_deref()
    }
    /// Where "back" goes from this page: the session's redirect URL with `status` (`denied`
    /// before the end, `expired` or `completed`) and `link_token` added to its query.
    #[getter]
    fn return_url(&self) -> Option<&str> {
        self.inner.return_url.as_deref()
    }
    /// When the session expires (Unix seconds).
    #[getter]
    fn expires_at(&self) -> i64 {
        self.inner.expires_at
    }
    /// Seconds left before it does, at the `now` of the view.
    #[getter]
    fn seconds_left(&self) -> i64 {
        self.inner.seconds_left
    }
    /// The view model as plain Python objects (the core's serialised form, wire strings for
    /// the enums), for a template engine.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, &self.inner)?)
    }
    fn __repr__(&self) -> String {
        format!(
            "FlowView(step={}, language={}, kind={}, caller_name={}, picked={}, choices=<{}>)",
            repr_str(self.inner.step.as_str()),
            repr_str(self.inner.language.as_str()),
            repr_str(self.inner.kind.as_str()),
            repr_str(&self.inner.caller_name),
            repr_opt(self.inner.picked.as_deref()),
            self.inner.choices.len()
        )
    }
}

/// What a return URL says: the outcome and the session's token.
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkCallback {
    inner: flow::LinkCallback,
}

#[pymethods]
impl LinkCallback {
    /// `completed`, `denied` or `expired`.
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        callback_status(py, self.inner.status)
    }
    /// The session's token (a bearer secret: keep it out of logs).
    #[getter]
    fn token(&self) -> &str {
        &self.inner.token
    }
    fn __repr__(&self) -> String {
        format!(
            "LinkCallback(status={}, token={})",
            repr_str(self.inner.status.as_str()),
            repr_str(&format!(
                "{}…",
                self.inner.token.get(..6).unwrap_or_default()
            ))
        )
    }
}

/// `LinkCallbackError(message, status=400, code=, rule=, fields=, field=)`.
fn callback_error(py: Python<'_>, error: &CallbackError) -> PyErr {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("status", 400)?;
        kwargs.set_item("code", error.code())?;
        kwargs.set_item("rule", error.code())?;
        kwargs.set_item("fields", PyTuple::new(py, error.field())?)?;
        kwargs.set_item("field", error.field())?;
        let class = CLASS.import(py, "nox_authenticator.errors", "LinkCallbackError")?;
        let instance = class.call((error.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|failure| failure)
}

/// Reads the return URL a caller receives (its redirect URL, or an app's custom-scheme URL
/// handed back by ASWebAuthenticationSession / Custom Tabs): the status and the token. Raises
/// `LinkCallbackError` naming the rule (`not_a_url`, `missing_status`, `unknown_status`,
/// `missing_token`, `invalid_token`, `duplicate_parameter`) and the parameter.
#[pyfunction]
pub(crate) fn parse_link_callback(
    py: Python<'_>,
    url: &Bound<'_, PyAny>,
) -> PyResult<LinkCallback> {
    let url = convert::str_arg(url, "url")?;
    flow::parse_link_callback(&url)
        .map(|inner| LinkCallback { inner })
        .map_err(|error| callback_error(py, &error))
}
