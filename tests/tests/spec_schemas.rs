//! Every response the HTTP adapter gives for the shared vectors, validated against the schemas
//! of the published OpenAPI documents in `../shared/spec/` (parsed here, not copied), and a check
//! that every documented status code of all four endpoints was seen.
//!
//! The validator covers the OpenAPI 3.0 subset these documents use: `$ref`, `type`, `required`,
//! `properties`, `enum`, `nullable` (also beside a `$ref`, as the documents intend), `items` and
//! `format: uri`. It is strict where the documents are silent: a response may carry no property
//! its schema does not declare, so "the documented shape" means exactly that.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use nox_authenticator::HttpRequest;
use nox_authenticator_conformance as vectors;
use serde_json::Value;

struct Document {
    file: String,
    spec: Value,
    /// (full path template, e.g. `/v2/supplier/link-sessions`, operation)
    operations: Vec<(String, Value)>,
}

/// The published documents, vendored verbatim in `spec/` so that CI has them.
fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

#[test]
fn the_vendored_documents_are_the_published_ones() {
    // Where the team's shared copy is present (a developer machine), the vendored one must match.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let vendored = std::fs::read(spec_dir().join(name)).unwrap_or_default();
        assert_eq!(
            vendored,
            std::fs::read(&path).unwrap(),
            "spec/{} differs from the published copy",
            name.to_string_lossy()
        );
    }
}

fn documents() -> Vec<Document> {
    let mut docs = Vec::new();
    for file in [
        "v2-supplier-link-sessions.openapi.yaml",
        "v2-manufacturer-link-sessions.openapi.yaml",
        "v1-supplier-link.openapi.yaml",
        "v1-manufacturer-connect.openapi.yaml",
    ] {
        let text = std::fs::read_to_string(spec_dir().join(file)).expect(file);
        let spec: Value = serde_norway::from_str(&text).expect(file);
        let server = spec["servers"][0]["url"].as_str().expect("server url");
        let base = url::Url::parse(server)
            .expect("server url")
            .path()
            .trim_end_matches('/')
            .to_owned();
        let operations = spec["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .map(|(path, item)| (format!("{base}{path}"), item["post"].clone()))
            .collect();
        docs.push(Document {
            file: file.to_owned(),
            spec,
            operations,
        });
    }
    docs
}

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}')) || t == p)
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(
                spec,
                spec.pointer(pointer)
                    .unwrap_or_else(|| panic!("{reference}")),
            )
        }
        None => schema,
    }
}

fn validate(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let nullable = schema
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let schema = resolve(spec, schema);
    let nullable = nullable
        || schema
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    if value.is_null() {
        if !nullable {
            errors.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("any");
    let type_ok = match ty {
        "object" => value.is_object(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{at}: {value} is not of type {ty}"));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of the enum"));
    }
    if schema.get("format").and_then(Value::as_str) == Some("uri")
        && let Some(text) = value.as_str()
        && url::Url::parse(text).is_err()
    {
        errors.push(format!("{at}: {text:?} is not a URI"));
    }
    if let (Some(object), Some(properties)) = (
        value.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                errors.push(format!("{at}: required property {name} missing"));
            }
        }
        for (name, item) in object {
            match properties.get(name) {
                Some(property) => validate(spec, property, item, &format!("{at}.{name}"), errors),
                None => errors.push(format!("{at}: undocumented property {name}")),
            }
        }
    }
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(spec, item_schema, item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// Sends every `http` step of the vectors (without `${…}` substitution where it is not
/// needed, which changes no status) and validates each response.
#[test]
fn every_response_conforms_to_the_published_schemas() {
    let docs = documents();
    let file = vectors::load("http.json").unwrap();
    let mut seen: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut errors = Vec::new();
    let mut validated = 0;
    for case in file["cases"].as_array().unwrap() {
        let auth = vectors::authenticator().unwrap();
        for step in case["steps"].as_array().unwrap() {
            let Some(http) = step.get("http") else {
                continue;
            };
            let headers: Vec<(&str, &str)> = http["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
                .collect();
            let body: Vec<u8> = if let Some(json) = http.get("json") {
                serde_json::to_vec(json).unwrap()
            } else if let Some(text) = http.get("text") {
                text.as_str().unwrap().as_bytes().to_vec()
            } else if let Some(hex) = http.get("hex") {
                hex::decode(hex.as_str().unwrap()).unwrap()
            } else {
                Vec::new()
            };
            let target = http["path"].as_str().unwrap();
            let response = auth.handle_http(
                &HttpRequest {
                    method: http["method"].as_str().unwrap(),
                    target,
                    headers: &headers,
                    body: &body,
                },
                step["now"].as_i64().unwrap(),
            );
            assert_eq!(response.header("content-type"), Some("application/json"));
            let value: Value = serde_json::from_slice(&response.body).unwrap();
            let path = target.split('?').next().unwrap();
            let status = response.status.to_string();
            let name = case["name"].as_str().unwrap();
            // The document whose path matches, else the one of the same API version (for 404s).
            let doc = docs
                .iter()
                .find(|d| d.operations.iter().any(|(t, _)| template_matches(t, path)))
                .or_else(|| {
                    let v2 = path.starts_with("/v2/");
                    docs.iter().find(|d| {
                        d.file
                            .starts_with(if v2 { "v2-supplier" } else { "v1-supplier" })
                    })
                })
                .unwrap();
            let operation = doc
                .operations
                .iter()
                .find(|(t, _)| template_matches(t, path))
                .map(|(_, op)| op.clone());
            let documented = operation
                .as_ref()
                .and_then(|op| op["responses"].get(&status))
                .map(|r| r["content"]["application/json"]["schema"].clone());
            let schema = match documented {
                Some(schema) => {
                    seen.entry(doc.file.clone())
                        .or_default()
                        .insert(status.clone());
                    schema
                }
                // Statuses the documents do not list (404, 405, 413, 415) use the version's
                // error schema (see docs/conformance.md).
                None => {
                    assert!(
                        response.status >= 400,
                        "{name}: undocumented success {status}"
                    );
                    serde_json::json!({"$ref": "#/components/schemas/ErrorResponse"})
                }
            };
            let before = errors.len();
            validate(&doc.spec, &schema, &value, "$", &mut errors);
            for e in &mut errors[before..] {
                *e = format!("{name} ({} {status}): {e}", doc.file);
            }
            // v1 error bodies: the schema lists no required fields, so pin the envelope here.
            if doc.file.starts_with("v1") && response.status >= 400 {
                for key in ["success", "timestamp", "error", "error_code", "message"] {
                    if value.get(key).is_none() {
                        errors.push(format!("{name}: v1 error without {key}"));
                    }
                }
            }
            if doc.file.starts_with("v1") && response.status < 300 {
                assert_eq!(value["success"], true, "{name}");
                assert!(value["data"].is_object(), "{name}");
            }
            validated += 1;
        }
    }
    assert!(
        errors.is_empty(),
        "{} schema violations:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(validated > 100, "only {validated} responses validated");
    // Every documented status code of every endpoint was exercised.
    for doc in &docs {
        for (_, operation) in &doc.operations {
            for status in operation["responses"].as_object().unwrap().keys() {
                assert!(
                    seen.get(&doc.file).is_some_and(|s| s.contains(status)),
                    "{}: documented status {status} never seen",
                    doc.file
                );
            }
        }
    }
}

#[test]
fn the_validator_rejects_what_the_documents_forbid() {
    let docs = documents();
    let doc = &docs[0];
    let schema =
        serde_json::json!({"$ref": "#/components/schemas/CreateSupplierLinkSessionResponse"});
    let mut errors = Vec::new();
    let bad = serde_json::json!({"link_url": "not a uri", "link_token": 5, "brand": "acme", "language": "de",
        "asset_type": "ev", "redirect_url": "https://a.example/", "supplier": "S", "supplier_user_id": "u",
        "created_at": 1, "expires_at": null, "surprise": true});
    validate(&doc.spec, &schema, &bad, "$", &mut errors);
    for expected in [
        "$.link_url",
        "$.link_token",
        "$.brand",
        "$.language",
        "$.asset_type",
        "$.expires_at",
        "undocumented property surprise",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected} not caught: {errors:?}"
        );
    }
    let mut errors = Vec::new();
    validate(&doc.spec, &schema, &serde_json::json!({}), "$", &mut errors);
    assert_eq!(errors.len(), 9, "{errors:?}");
}

#[test]
fn the_builtin_catalog_is_the_documented_brand_enum() {
    let docs = documents();
    let documented: BTreeSet<&str> = docs[0].spec["components"]["schemas"]["Brand"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: BTreeSet<&str> = nox_authenticator::Catalog::builtin()
        .all_brands()
        .iter()
        .map(|b| b.slug())
        .collect();
    assert_eq!(ours, documented);
    let v1: BTreeSet<&str> =
        docs[2].spec["components"]["schemas"]["LinkSessionRequest"]["properties"]["brand"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
    assert_eq!(v1, nox_authenticator::V1_BRANDS.into_iter().collect());
    let languages: Vec<&str> = docs[0].spec["components"]["schemas"]["Language"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: Vec<&str> = nox_authenticator::Language::ALL
        .iter()
        .map(|l| l.as_str())
        .collect();
    assert_eq!(ours, languages);
}
