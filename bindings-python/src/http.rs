//! `HttpResponse`: what `Authenticator.handle_http` answers, ready for any web framework.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::convert;

/// The response to send: `status`, `headers` (a list of `(name, value)` pairs, lower-case
/// names) and `body` (JSON bytes).
#[pyclass(frozen, eq, module = "nox_authenticator")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpResponse {
    pub(crate) inner: nox_authenticator::HttpResponse,
}

#[pymethods]
impl HttpResponse {
    /// The status code.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }

    /// The headers, as a new list of `(name, value)` pairs.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let pairs = self
            .inner
            .headers
            .iter()
            .map(|(name, value)| PyTuple::new(py, [*name, value.as_str()]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, pairs)
    }

    /// The body bytes (JSON).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.body)
    }

    /// For a 400, the code of the rule the request broke (`missing_field`, `brand_unknown`,
    /// ...: the same as `ValidationError.rule`), or `None`. Never on the wire.
    #[getter]
    fn rule(&self) -> Option<&'static str> {
        self.inner.rule()
    }

    /// For a 400, the request field concerned, or `None`.
    #[getter]
    fn field(&self) -> Option<&'static str> {
        self.inner.field()
    }

    /// For a 400 about an unknown brand, the slug of a brand whose spelling is close, or `None`.
    #[getter]
    fn did_you_mean(&self) -> Option<&str> {
        self.inner.did_you_mean()
    }

    /// The value of a header, by name in any case, or `None`.
    fn header(&self, name: &str) -> Option<&str> {
        self.inner.header(name)
    }

    /// The body parsed as JSON (plain Python objects, keys in the order sent).
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::json_loads(py, &String::from_utf8_lossy(&self.inner.body))
    }

    fn __repr__(&self) -> String {
        let headers: Vec<String> = self
            .inner
            .headers
            .iter()
            .map(|(n, v)| format!("({}, {})", convert::repr_str(n), convert::repr_str(v)))
            .collect();
        format!(
            "HttpResponse(status={}, headers=[{}], body=<{} bytes>)",
            self.inner.status,
            headers.join(", "),
            self.inner.body.len()
        )
    }
}
