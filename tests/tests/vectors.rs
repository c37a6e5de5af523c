//! The shared conformance vectors, run against the core.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use nox_authenticator_conformance as vectors;

fn assert_none(name: &str, failures: Result<Vec<String>, String>) {
    let failures = failures.unwrap_or_else(|e| panic!("{name}: cannot run: {e}"));
    assert!(
        failures.is_empty(),
        "{name}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn http_vectors() {
    assert_none("http.json", vectors::run_http_vectors());
}

#[test]
fn catalog_vectors() {
    assert_none("catalog.json", vectors::run_catalog_vectors());
}

#[test]
fn language_vectors() {
    assert_none("language.json", vectors::run_language_vectors());
}

#[test]
fn redirect_vectors() {
    assert_none("redirect.json", vectors::run_redirect_vectors());
}

#[test]
fn webhook_vectors() {
    assert_none("webhooks.json", vectors::run_webhook_vectors());
}

#[test]
fn the_webhook_runner_can_fail() {
    // A signature the PyPI package computed, checked against a changed expectation.
    let file = vectors::load("webhooks.json").unwrap();
    let case = &file["sign"][0];
    let secret = nox_authenticator::WebhookSecret::parse(case["secret"].as_str().unwrap()).unwrap();
    let signature = nox_authenticator::sign_webhook(
        &secret,
        case["id"].as_str().unwrap(),
        case["timestamp"].as_i64().unwrap(),
        case["body"].as_str().unwrap().as_bytes(),
    );
    assert_eq!(signature, case["signature"].as_str().unwrap());
    assert_ne!(
        signature,
        case["signature"].as_str().unwrap().replace('g', "h")
    );
    assert!(file["verify"].as_array().unwrap().len() >= 30);
}

#[test]
fn the_runner_can_fail() {
    // A vector runner that cannot fail proves nothing: feed it a wrong expectation.
    let auth = vectors::authenticator().unwrap();
    let response = auth.handle_http(
        &nox_authenticator::HttpRequest {
            method: "GET",
            target: "/v2/supplier/link-sessions",
            headers: &[],
            body: b"",
        },
        0,
    );
    assert_eq!(response.status, 405);
    assert!(!vectors::is_kind("token", "short"));
    assert!(!vectors::is_kind(
        "uuid",
        "8d0507f4-80e8-3f8b-8b8b-41366b5796a9"
    ));
    assert!(vectors::is_kind(
        "uuid",
        "8d0507f4-80e8-4f8b-8b8b-41366b5796a9"
    ));
}
