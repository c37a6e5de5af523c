//! Type conversions shared by the wrappers: core enums to the package's `enum.Enum` classes,
//! JSON values to Python objects, `now=None` to the system clock, and the inputs that Python
//! may give in several shapes (headers as a dict or pairs, a body as bytes or str).

use nox_authenticator::{AssetType, Language, MAX_NOW, SessionKind, SessionState, check_now};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyInt, PyString, PyType};

const TYPES_MODULE: &str = "nox_authenticator._types";

pub(crate) fn enum_member<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    class: &str,
    value: &str,
) -> PyResult<Bound<'py, PyAny>> {
    cell.import(py, TYPES_MODULE, class)?.call1((value,))
}

/// `AssetType(value)`.
pub(crate) fn asset_type(py: Python<'_>, value: AssetType) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    enum_member(py, &CLASS, "AssetType", value.as_str())
}

/// `Language(value)`.
pub(crate) fn language(py: Python<'_>, value: Language) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    enum_member(py, &CLASS, "Language", value.as_str())
}

/// `SessionState(value)`.
pub(crate) fn session_state(py: Python<'_>, value: SessionState) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    enum_member(py, &CLASS, "SessionState", value.as_str())
}

/// `SessionKind(value)`.
pub(crate) fn session_kind(py: Python<'_>, value: SessionKind) -> PyResult<Bound<'_, PyAny>> {
    static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    enum_member(py, &CLASS, "SessionKind", value.as_str())
}

/// The given time, or the system clock's (`now=None`): the one conversion point of `now` (spec
/// decision 18). An `int` from 0 to 253402300799; `ValueError` naming `now` outside that range,
/// `TypeError` for anything but an `int` (a `bool` or a `float` included).
pub(crate) fn now_or_system(now: Option<&Bound<'_, PyAny>>) -> PyResult<i64> {
    let Some(now) = now.filter(|v| !v.is_none()) else {
        return Ok(nox_authenticator::system_now());
    };
    if now.is_instance_of::<PyBool>() || !now.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "now must be int, not {}",
            now.get_type().name()?
        )));
    }
    let value: Option<i64> = now.extract().ok();
    match value.map(check_now) {
        Some(Ok(now)) => Ok(now),
        _ => Err(PyValueError::new_err(format!(
            "now must be a whole number of seconds from 0 to {MAX_NOW}, got {}",
            now.repr()?
        ))),
    }
}

/// A `str` argument, or a `TypeError` naming it: `user_id must be str, not int`.
pub(crate) fn str_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(text) => Ok(text.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{name} must be str, not {}",
            value.get_type().name()?
        ))),
    }
}

/// An optional `str` argument (`None` for absent), or a `TypeError` naming it.
pub(crate) fn opt_str_arg(
    value: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<Option<String>> {
    match value.filter(|v| !v.is_none()) {
        None => Ok(None),
        Some(value) => str_arg(value, name).map(Some),
    }
}

/// An optional list of `str` (any iterable but a `str` itself), or a `TypeError` naming the
/// argument or the item: `device_ids[1] must be str, not int`.
pub(crate) fn opt_str_list_arg(
    value: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<Option<Vec<String>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let not_list = || -> PyResult<PyErr> {
        Ok(PyTypeError::new_err(format!(
            "{name} must be a list of str, not {}",
            value.get_type().name()?
        )))
    };
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return Err(not_list()?);
    }
    let Ok(items) = value.try_iter() else {
        return Err(not_list()?);
    };
    let mut out = Vec::new();
    for (index, item) in items.enumerate() {
        out.push(str_arg(&item?, &format!("{name}[{index}]"))?);
    }
    Ok(Some(out))
}

/// JSON text as plain Python objects, by the standard library (which keeps key order).
pub(crate) fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOADS.import(py, "json", "loads")?.call1((text,))
}

/// A `str` argument borrowed rather than copied (the interpreter's UTF-8 form, kept alive by the
/// value), or a `TypeError` naming it. For arguments handed to the core as `&str`.
pub(crate) fn backed_str_arg(value: &Bound<'_, PyAny>, name: &str) -> PyResult<PyBackedStr> {
    match value.cast::<PyString>() {
        Ok(text) => PyBackedStr::try_from(text.clone()),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{name} must be str, not {}",
            value.get_type().name()?
        ))),
    }
}

/// Request headers, borrowed from the Python strings: `(name, value)` pairs of `str`.
pub(crate) struct Headers(Vec<(PyBackedStr, PyBackedStr)>);

impl Headers {
    /// The pairs as the core takes them.
    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        self.0.iter().map(|(n, v)| (&**n, &**v)).collect()
    }
}

const HEADERS_SHAPE: &str = "headers must be a mapping or an iterable of (name, value) pairs";

fn header_pair(
    name: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<(PyBackedStr, PyBackedStr)> {
    let pair_error = || PyTypeError::new_err("each header must be a (name, value) pair of str");
    let name = name.cast::<PyString>().map_err(|_| pair_error())?;
    let value = value.cast::<PyString>().map_err(|_| pair_error())?;
    Ok((
        PyBackedStr::try_from(name.clone())?,
        PyBackedStr::try_from(value.clone())?,
    ))
}

/// Request headers given as a mapping (`dict`, any object with `items()`) or as an iterable of
/// `(name, value)` pairs of `str`. A `dict` is read directly, without `items()`.
pub(crate) fn headers(value: Option<&Bound<'_, PyAny>>) -> PyResult<Headers> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Headers(Vec::new()));
    };
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut headers = Vec::with_capacity(dict.len());
        for (name, value) in dict.iter() {
            headers.push(header_pair(&name, &value)?);
        }
        return Ok(Headers(headers));
    }
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(HEADERS_SHAPE));
    }
    let pairs = if value.hasattr("items")? {
        value.call_method0("items")?
    } else {
        value.clone()
    };
    let mut headers = Vec::new();
    for pair in pairs
        .try_iter()
        .map_err(|_| PyTypeError::new_err(HEADERS_SHAPE))?
    {
        let pair = pair?;
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair
            .extract()
            .map_err(|_| PyTypeError::new_err("each header must be a (name, value) pair of str"))?;
        headers.push(header_pair(&name, &value)?);
    }
    Ok(Headers(headers))
}

/// A request body, borrowed where Python allows it: `bytes` and `str` (its UTF-8 form) without a
/// copy, a `bytearray` or buffer copied once.
pub(crate) enum Body {
    Empty,
    Bytes(PyBackedBytes),
    Text(PyBackedStr),
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Body::Empty => &[],
            Body::Bytes(bytes) => bytes,
            Body::Text(text) => text.as_bytes(),
        }
    }
}

/// A request body given as `bytes`, `bytearray`, `memoryview`-like buffer or `str` (sent as
/// UTF-8), or `None` for no body.
pub(crate) fn body(value: Option<&Bound<'_, PyAny>>) -> PyResult<Body> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Body::Empty);
    };
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Body::Bytes(PyBackedBytes::from(bytes.clone())));
    }
    if let Ok(array) = value.cast::<PyByteArray>() {
        return Ok(Body::Bytes(PyBackedBytes::from(array.clone())));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Body::Text(PyBackedStr::try_from(text.clone())?));
    }
    // A memoryview (or any buffer-like object with `tobytes`).
    if value.hasattr("tobytes")?
        && let Ok(bytes) = value.call_method0("tobytes")?.cast_into::<PyBytes>()
    {
        return Ok(Body::Bytes(PyBackedBytes::from(bytes)));
    }
    Err(PyTypeError::new_err(format!(
        "body must be bytes, bytearray, memoryview or str, not {}",
        value.get_type().name()?
    )))
}

/// A string as Python's `repr` writes it (single quotes, escapes), for `__repr__`s.
pub(crate) fn repr_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An optional string as Python's `repr` writes it (`None` or a quoted string).
pub(crate) fn repr_opt(text: Option<&str>) -> String {
    text.map_or_else(|| "None".to_owned(), repr_str)
}
