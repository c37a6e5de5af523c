//! What the fuzz targets share: one configuration with known keys, the documented response
//! shapes (strict: every documented field, nothing else), and an independent model of the
//! redirect rule ("byte-equal to a registered URL apart from a loopback port").

use std::sync::Arc;

use nox_authenticator::{Authenticator, Config, SeededRandom};
use serde::Deserialize;

/// The fuzzing configuration: the same callers and keys as `tests/vectors/config.json`, plus an
/// `[::1]` loopback entry, and no retention so memory stays flat over millions of runs.
pub const CONFIG_JSON: &str = r#"{
  "link_base_urls": {"v2": "https://auth.nox.energy/ui", "v1": "https://link.nox.com/connect"},
  "max_body_bytes": 4096,
  "session_retention_seconds": 0,
  "suppliers": [
    {"id": "supplier_123", "name": "Acme Energy", "api_key": "supplier-key-acme",
     "redirect_urls": ["https://your-app.com/callback", "https://your-app.com/callback?source=nox",
                       "http://127.0.0.1/callback", "http://[::1]:8080/cb"]},
    {"id": "supplier_empty", "name": "Empty Energy", "api_key": "supplier-key-empty",
     "redirect_urls": []}
  ],
  "manufacturers": [
    {"id": "manufacturer_acme", "name": "Acme Manufacturing", "brand": "acme heat-pumps",
     "enabled": true, "api_key": "manufacturer-key-acme",
     "redirect_urls": ["https://heat.acme.example/nox/done", "http://127.0.0.1:9/m"]},
    {"id": "manufacturer_hashed", "name": "Hashed Inverters",
     "api_key_sha256": "116e3ca0ccad9cc89325d08bf72ad1470e059f215962b01816cc4dcb6e92c5e5",
     "redirect_urls": ["https://inverters.example/callback"]},
    {"id": "manufacturer_sleepy", "name": "Sleepy Solar", "brand": "sleepy solar",
     "enabled": false, "api_key": "manufacturer-key-disabled",
     "redirect_urls": ["https://sleepy.example/callback"]}
  ]
}"#;

/// The keys of [`CONFIG_JSON`] in clear (the hashed manufacturer's key is unknown here).
pub const KEYS: [&str; 4] = [
    "supplier-key-acme",
    "supplier-key-empty",
    "manufacturer-key-acme",
    "manufacturer-key-disabled",
];

/// The parsed fuzzing configuration.
pub fn config() -> Config {
    match Config::from_json(CONFIG_JSON) {
        Ok(config) => config,
        Err(e) => panic!("the fuzzing configuration is invalid: {e}"),
    }
}

/// A fresh authenticator with seeded randomness, so a crashing input reproduces exactly.
pub fn authenticator(config: &Config) -> Authenticator {
    match Authenticator::builder(config.clone())
        .random(Arc::new(SeededRandom::new(7)))
        .build()
    {
        Ok(auth) => auth,
        Err(e) => panic!("cannot build the authenticator: {e}"),
    }
}

/// `CreateSupplierLinkSessionResponse` (v2): the documented fields, nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2SupplierBody {
    pub link_url: String,
    pub link_token: String,
    pub brand: Option<String>,
    pub language: String,
    pub asset_type: String,
    pub redirect_url: String,
    pub supplier: String,
    pub supplier_user_id: String,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// `CreateManufacturerLinkSessionResponse` (v2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2ManufacturerBody {
    pub link_url: String,
    pub link_token: String,
    #[serde(default)]
    pub brand: Option<String>,
    pub language: String,
    pub redirect_url: String,
    pub manufacturer: String,
    pub manufacturer_user_id: String,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The v1 success envelope.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1Envelope<T> {
    pub success: bool,
    pub timestamp: i64,
    pub data: T,
}

/// The `data` of `LinkSessionResponse` (v1).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1SupplierData {
    pub link_token: String,
    pub link_url: String,
    pub expires_at: i64,
    pub supplier_id: String,
    pub supplier_user_id: String,
    #[serde(default)]
    pub brand: Option<String>,
}

/// The `data` of `NoxConnectionResponse` (v1).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1ConnectData {
    pub manufacturer_user_id: String,
    pub nox_user_id: String,
    pub device_ids: Vec<String>,
}

/// The v2 error body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2Error {
    pub error: String,
}

/// The v1 error body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1Error {
    pub success: bool,
    pub timestamp: i64,
    pub error: String,
    pub error_code: String,
    pub message: String,
}

/// A link token as documented by the decisions: 43 URL-safe base64 characters (256 bits).
pub fn is_token(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Lower-case hyphenated UUID v4.
pub fn is_uuid_v4(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
        && b.get(14) == Some(&b'4')
        && matches!(b.get(19), Some(b'8' | b'9' | b'a' | b'b'))
}

const LOOPBACK_PREFIXES: [&str; 4] = [
    "http://127.0.0.1",
    "https://127.0.0.1",
    "http://[::1]",
    "https://[::1]",
];

/// For a URL that starts with a loopback IP authority, the text with a `:digits` port right
/// after the host removed; `None` for any other URL. Independent of the `url` crate on purpose.
pub fn loopback_without_port(text: &str) -> Option<String> {
    let prefix = LOOPBACK_PREFIXES
        .iter()
        .find(|p| text.starts_with(**p))?;
    let rest = text.get(prefix.len()..)?;
    let rest = match rest.strip_prefix(':') {
        Some(after) => after.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    if !(rest.is_empty() || rest.starts_with(['/', '?'])) {
        return None;
    }
    Some(format!("{prefix}{rest}"))
}

/// The redirect property: `accepted` is byte-equal to one of `registered`, or both are loopback
/// IP URLs equal once their ports are removed.
pub fn redirect_matches<'a>(accepted: &str, registered: impl IntoIterator<Item = &'a str>) -> bool {
    let accepted_portless = loopback_without_port(accepted);
    registered.into_iter().any(|r| {
        r == accepted
            || (accepted_portless.is_some() && loopback_without_port(r) == accepted_portless)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_strips_only_loopback_ports() {
        assert_eq!(
            loopback_without_port("http://127.0.0.1:8080/cb").as_deref(),
            Some("http://127.0.0.1/cb")
        );
        assert_eq!(loopback_without_port("http://127.0.0.10/cb"), None);
        assert!(redirect_matches("http://[::1]:1/cb", ["http://[::1]:8080/cb"]));
        assert!(!redirect_matches("http://[::1]:1/cb2", ["http://[::1]:8080/cb"]));
        assert!(!redirect_matches("https://a.example:1/cb", ["https://a.example/cb"]));
        assert!(is_uuid_v4("550e8400-e29b-41d4-a716-446655440000"));
    }
}

pub mod input;
