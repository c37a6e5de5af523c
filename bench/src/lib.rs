//! Fixtures shared by the criterion benchmarks (`benches/core.rs`) and the concurrency test
//! (`tests/complete_once.rs`): a configuration with known keys, the request bodies of the four
//! endpoints, and generated catalogs and redirect lists of a chosen size.

use nox_authenticator::{AssetType, Authenticator, Brand, Catalog, Config, Result};

/// The time every benchmark runs at (Unix seconds).
pub const NOW: i64 = 1_703_123_456;
/// The supplier's key in [`config_json`].
pub const SUPPLIER_KEY: &str = "supplier-key-acme";
/// The manufacturer's key in [`config_json`].
pub const MANUFACTURER_KEY: &str = "manufacturer-key-acme";
/// The registered redirect URL the request bodies use.
pub const REDIRECT_URL: &str = "https://your-app.com/callback";

/// A configuration with one supplier and one manufacturer, each with `redirects` registered
/// URLs of which [`REDIRECT_URL`] is the last (the worst case for a linear scan).
pub fn config_json(redirects: usize) -> String {
    let mut urls: Vec<String> = (1..redirects)
        .map(|i| format!("\"https://app{i}.example.com/callback\""))
        .collect();
    urls.push(format!("\"{REDIRECT_URL}\""));
    let urls = urls.join(", ");
    format!(
        r#"{{"session_retention_seconds": 0,
  "suppliers": [{{"id": "supplier_123", "name": "Acme Energy", "api_key": "{SUPPLIER_KEY}",
                  "redirect_urls": [{urls}]}}],
  "manufacturers": [{{"id": "manufacturer_acme", "name": "Acme Manufacturing",
                      "brand": "acme heat-pumps", "api_key": "{MANUFACTURER_KEY}",
                      "redirect_urls": [{urls}]}}]}}"#
    )
}

/// An authenticator on [`config_json`].
pub fn authenticator(redirects: usize) -> Result<Authenticator> {
    Authenticator::new(Config::from_json(&config_json(redirects))?)
}

/// `POST /v2/supplier/link-sessions`: every field, a brand in an alternative spelling.
pub const V2_SUPPLIER_BODY: &str = r#"{"user_id": "supplier_user_id_123", "redirect_url": "https://your-app.com/callback", "asset_type": "hp", "brand": "alpha innotec", "language": "fr"}"#;
/// `POST /v2/manufacturer/link-sessions`.
pub const V2_MANUFACTURER_BODY: &str = r#"{"user_id": "manufacturer_user_id_123", "redirect_url": "https://your-app.com/callback", "language": "en"}"#;
/// `POST /users/user_123/link`.
pub const V1_SUPPLIER_BODY: &str =
    r#"{"redirect_uri": "https://your-app.com/callback", "language": "en", "brand": "daikin"}"#;
/// `POST /manufacturers/nox`.
pub const V1_CONNECT_BODY: &str =
    r#"{"manufacturer_user_id": "mfr_user_123", "device_ids": ["device_001", "device_002"]}"#;

/// The builtin catalog plus generated heat-pump brands up to `total` brands.
pub fn catalog_of(total: usize) -> Result<Catalog> {
    let mut brands: Vec<Brand> = Catalog::builtin().all_brands().to_vec();
    let mut i = 0;
    while brands.len() < total {
        brands.push(Brand::new(
            format!("generated-brand-{i}"),
            format!("Generated Brand {i}"),
            if i % 2 == 0 {
                AssetType::HeatPump
            } else {
                AssetType::PvInverter
            },
            vec![format!("gen brand {i}")],
        ));
        i += 1;
    }
    Catalog::new(format!("generated-{total}"), brands)
}
