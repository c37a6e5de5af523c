//! The whole HTTP adapter: arbitrary method, path, headers and body. Properties: no panic;
//! only documented or decided statuses (never 5xx); JSON with the right content type; errors in
//! the v1 or v2 error shape by path; every 201 body parses back into its endpoint's documented
//! shape with consistent values; an accepted redirect URL is a registered one (loopback port
//! aside).
#![no_main]

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nox_authenticator::{
    AssetType, Authenticator, Catalog, Config, HttpRequest, V1_BRANDS, title_case,
};
use nox_authenticator_fuzz::input::{Body, Text, body_fields};
use nox_authenticator_fuzz::{
    V1ConnectData, V1Envelope, V1Error, V1SupplierData, V2Error, V2ManufacturerBody,
    V2SupplierBody, authenticator, config, is_token, is_uuid_v4, redirect_matches,
};
use serde_json::Value;

const NOW: i64 = 1_703_123_456;
const SUPPLIER_URLS: [&str; 4] = [
    "https://your-app.com/callback",
    "https://your-app.com/callback?source=nox",
    "http://127.0.0.1/callback",
    "http://[::1]:8080/cb",
];
const MANUFACTURER_URLS: [&str; 2] = ["https://heat.acme.example/nox/done", "http://127.0.0.1:9/m"];

#[derive(Debug, Arbitrary)]
enum Method {
    Post,
    Get,
    Put,
    LowerPost,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Path {
    V2Supplier,
    V2Manufacturer,
    V1Link(Text),
    V1Connect,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Header {
    ApiKey(Text),
    Authorization(Text),
    ContentType(ContentType),
    Raw(String, String),
}

#[derive(Debug, Arbitrary)]
enum ContentType {
    Json,
    JsonCharset,
    Upper,
    Text,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: Method,
    path: Path,
    query: Option<String>,
    headers: Vec<Header>,
    body: Body,
    seconds: u16,
}

/// Runs between fresh authenticators. Building one per input (config check, catalog clone)
/// would cost more than the request itself; sharing one across a few thousand inputs keeps
/// memory bounded (no retention: every session is evicted by the next one, since each input
/// runs 1000 s after the previous) while state-dependent bugs stay reproducible in a short
/// replay of the run.
const RUNS_PER_AUTHENTICATOR: u64 = 4096;

thread_local! {
    static AUTH: RefCell<Option<Authenticator>> = const { RefCell::new(None) };
    static RUNS: Cell<u64> = const { Cell::new(0) };
}

fuzz_target!(|input: Input| {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    let runs = RUNS.with(|r| {
        r.set(r.get() + 1);
        r.get()
    });
    AUTH.with(|cell| {
        let mut slot = cell.borrow_mut();
        if runs % RUNS_PER_AUTHENTICATOR == 1 || slot.is_none() {
            *slot = Some(authenticator(CONFIG.get_or_init(config)));
        }
        if let Some(auth) = slot.as_ref() {
            run(auth, &input, NOW + (runs % RUNS_PER_AUTHENTICATOR) as i64 * 1000);
        }
    });
});

fn run(auth: &Authenticator, input: &Input, base: i64) {
    let now = base + i64::from(input.seconds % 600);

    let method = match &input.method {
        Method::Post => "POST".to_owned(),
        Method::Get => "GET".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::LowerPost => "post".to_owned(),
        Method::Raw(m) => m.clone(),
    };
    let mut target = match &input.path {
        Path::V2Supplier => "/v2/supplier/link-sessions".to_owned(),
        Path::V2Manufacturer => "/v2/manufacturer/link-sessions".to_owned(),
        Path::V1Link(user) => format!("/users/{}/link", user.get()),
        Path::V1Connect => "/manufacturers/nox".to_owned(),
        Path::Raw(p) => p.clone(),
    };
    if let Some(query) = &input.query {
        target.push('?');
        target.push_str(query);
    }
    let owned: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|h| match h {
            Header::ApiKey(k) => ("x-api-key".to_owned(), k.get()),
            Header::Authorization(k) => ("Authorization".to_owned(), format!("ApiKey {}", k.get())),
            Header::ContentType(c) => (
                "content-type".to_owned(),
                match c {
                    ContentType::Json => "application/json".to_owned(),
                    ContentType::JsonCharset => "application/json; charset=utf-8".to_owned(),
                    ContentType::Upper => "APPLICATION/JSON".to_owned(),
                    ContentType::Text => "text/plain".to_owned(),
                    ContentType::Raw(s) => s.clone(),
                },
            ),
            Header::Raw(n, v) => (n.clone(), v.clone()),
        })
        .collect();
    let headers: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let body = input.body.to_bytes();

    let response = auth.handle_http(
        &HttpRequest { method: &method, target: &target, headers: &headers, body: &body },
        now,
    );

    let status = response.status;
    assert!(
        matches!(status, 201 | 400 | 401 | 404 | 405 | 413 | 415),
        "undocumented status {status} for {method} {target}"
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    if status == 405 {
        assert_eq!(response.header("allow"), Some("POST"));
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let v2 = path == "/v2" || path.starts_with("/v2/");

    if status != 201 {
        if v2 {
            let e: V2Error = serde_json::from_slice(&response.body).unwrap();
            assert!(!e.error.is_empty());
        } else {
            let e: V1Error = serde_json::from_slice(&response.body).unwrap();
            assert!(!e.success);
            assert_eq!(e.timestamp, now);
            assert_eq!(e.error, e.message);
            assert!(
                matches!(
                    e.error_code.as_str(),
                    "missing_api_key"
                        | "invalid_api_key"
                        | "manufacturer_not_enabled"
                        | "validation_error"
                        | "route_not_found"
                        | "method_not_allowed"
                        | "payload_too_large"
                        | "unsupported_media_type"
                ),
                "unexpected error_code {}",
                e.error_code
            );
        }
        return;
    }

    // A success: only for POST, with a body that is a JSON object.
    assert_eq!(method, "POST");
    let fields = body_fields(&body).expect("a 201 for a body that is not a JSON object");
    let field = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let catalog = Catalog::builtin();
    match path {
        "/v2/supplier/link-sessions" => {
            let b: V2SupplierBody = serde_json::from_slice(&response.body).unwrap();
            assert!(is_token(&b.link_token));
            assert_eq!(
                b.link_url,
                format!("https://auth.nox.energy/ui?token={}&language={}", b.link_token, b.language)
            );
            assert!(matches!(b.language.as_str(), "nl" | "en" | "fr" | "es"));
            let asset_type: AssetType = b.asset_type.parse().unwrap();
            if let Some(brand) = &b.brand {
                assert!(catalog.brands(asset_type).any(|x| x.slug() == brand), "{brand}");
            }
            assert_eq!(b.supplier, "Acme Energy");
            assert_eq!(Some(&b.supplier_user_id), field("user_id").as_ref());
            assert_eq!(Some(&b.redirect_url), field("redirect_url").as_ref());
            assert!(redirect_matches(&b.redirect_url, SUPPLIER_URLS), "{}", b.redirect_url);
            assert_eq!(b.completed_at, None);
            assert_eq!((b.created_at, b.expires_at), (now, now + 600));
        }
        "/v2/manufacturer/link-sessions" => {
            let b: V2ManufacturerBody = serde_json::from_slice(&response.body).unwrap();
            assert!(is_token(&b.link_token));
            assert_eq!(
                b.link_url,
                format!("https://auth.nox.energy/ui?token={}&language={}", b.link_token, b.language)
            );
            assert!(matches!(b.language.as_str(), "nl" | "en" | "fr" | "es"));
            assert_eq!(b.manufacturer, "Acme Manufacturing");
            assert_eq!(b.brand.as_deref(), Some(title_case("acme heat-pumps").as_str()));
            assert_eq!(Some(&b.manufacturer_user_id), field("user_id").as_ref());
            assert_eq!(Some(&b.redirect_url), field("redirect_url").as_ref());
            assert!(redirect_matches(&b.redirect_url, MANUFACTURER_URLS), "{}", b.redirect_url);
            assert_eq!(b.completed_at, None);
            assert_eq!((b.created_at, b.expires_at), (now, now + 600));
        }
        "/manufacturers/nox" => {
            let e: V1Envelope<V1ConnectData> = serde_json::from_slice(&response.body).unwrap();
            assert!(e.success);
            assert_eq!(e.timestamp, now);
            assert!(is_uuid_v4(&e.data.nox_user_id), "{}", e.data.nox_user_id);
            assert_eq!(Some(&e.data.manufacturer_user_id), field("manufacturer_user_id").as_ref());
            let mut seen = std::collections::HashSet::new();
            assert!(e.data.device_ids.iter().all(|d| seen.insert(d)), "duplicate device ids");
        }
        _ => {
            assert!(path.starts_with("/users/") && path.ends_with("/link"), "201 on {path}");
            let e: V1Envelope<V1SupplierData> = serde_json::from_slice(&response.body).unwrap();
            assert!(e.success);
            assert_eq!(e.timestamp, now);
            assert!(is_token(&e.data.link_token));
            assert_eq!(
                e.data.link_url,
                format!("https://link.nox.com/connect?token={}", e.data.link_token)
            );
            assert_eq!(e.data.expires_at, now + 600);
            assert_eq!(e.data.supplier_id, "supplier_123");
            assert!(!e.data.supplier_user_id.is_empty());
            if let Some(brand) = &e.data.brand {
                assert!(V1_BRANDS.contains(&brand.as_str()), "{brand}");
            }
            let redirect = field("redirect_uri").expect("201 without redirect_uri");
            assert!(redirect_matches(&redirect, SUPPLIER_URLS), "{redirect}");
        }
    }
}
