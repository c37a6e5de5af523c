//! Type conversions shared by the wrappers: core enums to the package's `enum.Enum` classes,
//! JSON values to Python objects, `now=None` to the system clock, and the inputs that Python
//! may give in several shapes (headers as a dict or pairs, a body as bytes or str).

use nox_authenticator::{AssetType, Language, MAX_NOW, SessionKind, SessionState, check_now};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyInt, PyString, PyType};

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
/// A JSON value as plain Python objects (`dict` keeps the value's key order), built directly
/// rather than through JSON text and `json.loads`.
pub(crate) fn json_to_py<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::types::{PyDict, PyList};
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

pub(crate) fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOADS.import(py, "json", "loads")?.call1((text,))
}

/// Request headers given as a mapping (`dict`, any object with `items()`) or as an iterable of
/// `(name, value)` pairs of `str`.
pub(crate) fn headers(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "headers must be a mapping or an iterable of (name, value) pairs",
        ));
    }
    let pairs = if value.hasattr("items")? {
        value.call_method0("items")?
    } else {
        value.clone()
    };
    let mut headers = Vec::new();
    for pair in pairs.try_iter().map_err(|_| {
        PyTypeError::new_err("headers must be a mapping or an iterable of (name, value) pairs")
    })? {
        let (name, value): (String, String) = pair?
            .extract()
            .map_err(|_| PyTypeError::new_err("each header must be a (name, value) pair of str"))?;
        headers.push((name, value));
    }
    Ok(headers)
}

/// A request body given as `bytes`, `bytearray`, `memoryview`-like buffer or `str` (sent as
/// UTF-8), or `None` for no body.
pub(crate) fn body(value: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u8>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(array) = value.cast::<PyByteArray>() {
        return Ok(array.to_vec());
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(text.to_cow()?.as_bytes().to_vec());
    }
    // A memoryview (or any buffer-like object with `tobytes`).
    if value.hasattr("tobytes")?
        && let Ok(bytes) = value.call_method0("tobytes")?.cast_into::<PyBytes>()
    {
        return Ok(bytes.as_bytes().to_vec());
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
