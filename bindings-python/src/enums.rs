//! The one table of the package's enumerations: for each `enum.Enum` of
//! `nox_authenticator._types`, its members as `(NAME, wire value)` pairs, taken from the core's
//! own lists (`AssetType::ALL`, ...). `_types.py` builds the classes from it at import, so a
//! value added to the core reaches Python without a Python edit (the stub `_types.pyi` gains one
//! line, which the suite checks against this table).

use std::fmt::Debug;

use nox_authenticator::flow::{CallbackStatus, PickField, Step};
use nox_authenticator::{AssetType, Language, SessionKind, SessionState, WebhookEventType};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// `HeatPump` → `HEAT_PUMP`, `V2Supplier` → `V2_SUPPLIER`: a Rust variant name as a Python
/// member name.
fn member_name(variant: &str) -> String {
    let mut out = String::with_capacity(variant.len() + 4);
    let mut previous: Option<char> = None;
    for c in variant.chars() {
        if c.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
        previous = Some(c);
    }
    out
}

fn members<T: Copy + Debug>(all: &[T], wire: fn(T) -> &'static str) -> Vec<(String, &'static str)> {
    all.iter()
        .map(|&value| (member_name(&format!("{value:?}")), wire(value)))
        .collect()
}

/// `{class name: [(member name, wire value), ...]}`, members in the core's order.
pub(crate) fn table(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let table = PyDict::new(py);
    table.set_item("AssetType", members(&AssetType::ALL, AssetType::as_str))?;
    table.set_item("Language", members(&Language::ALL, Language::as_str))?;
    table.set_item(
        "SessionState",
        members(&SessionState::ALL, SessionState::as_str),
    )?;
    table.set_item(
        "SessionKind",
        members(&SessionKind::ALL, SessionKind::as_str),
    )?;
    table.set_item(
        "WebhookEventType",
        members(&WebhookEventType::ALL, WebhookEventType::as_str),
    )?;
    table.set_item("FlowStep", members(&Step::ALL, Step::as_str))?;
    table.set_item("PickField", members(&PickField::ALL, PickField::as_str))?;
    table.set_item(
        "CallbackStatus",
        members(&CallbackStatus::ALL, CallbackStatus::as_str),
    )?;
    Ok(table)
}
