//! The core's string enums as JavaScript value objects (`AssetType.HeatPump` is `'hp'`): one
//! table, read by the addon when it loads (the runtime objects) and by `build.rs` (their
//! declarations in `index.d.ts`), so a value added in the core appears in both.

use nox_authenticator::{AssetType, Language, SessionKind, SessionState, WebhookEventType};

/// Each enum's name and its `(variant name, wire value)` pairs, in the core's order.
pub(crate) fn tables() -> Vec<(&'static str, Vec<(String, String)>)> {
    vec![
        ("AssetType", table(&AssetType::ALL)),
        ("Language", table(&Language::ALL)),
        ("SessionKind", table(&SessionKind::ALL)),
        ("SessionState", table(&SessionState::ALL)),
        ("WebhookEventType", table(&WebhookEventType::ALL)),
    ]
}

/// The Rust variant name (its `Debug` form) and the serde wire value of each variant.
fn table<T: std::fmt::Debug + serde::Serialize>(all: &[T]) -> Vec<(String, String)> {
    all.iter()
        .map(|value| {
            let wire = match serde_json::to_value(value) {
                Ok(serde_json::Value::String(wire)) => wire,
                _ => String::new(),
            };
            (format!("{value:?}"), wire)
        })
        .collect()
}
