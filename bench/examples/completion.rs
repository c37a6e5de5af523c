//! A completion's own cost in the core, for a caller with a webhook and one without (issue
//! 17): `COUNT` sessions are created first, then completed one after the other through the
//! admin adapter (`POST /admin/link-sessions/{token}/complete`, bytes in, bytes out) on the
//! in-memory store. Only [`complete_all`] is the measured part: run it under callgrind with
//! `--collect-atstart=no --toggle-collect=completion::complete_all` and compare the two
//! callers' instruction counts (inclusive costs per function with `callgrind_annotate
//! --inclusive=yes`). Without valgrind it prints the wall-clock time per completion.
//!
//! `completion with|without COUNT`
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Instant;

use nox_authenticator::{Authenticator, Config, HttpRequest};
use nox_authenticator_bench::{NOW, REDIRECT_URL};

/// Two suppliers, the first with a webhook.
fn config() -> String {
    format!(
        r#"{{"suppliers": [
  {{"id": "s1", "name": "Acme Energy", "api_key": "k-with", "redirect_urls": ["{REDIRECT_URL}"],
    "webhook": {{"url": "http://127.0.0.1:9/hook",
                 "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}}},
  {{"id": "s2", "name": "Other Energy", "api_key": "k-without",
    "redirect_urls": ["{REDIRECT_URL}"]}}]}}"#
    )
}

fn create(auth: &Authenticator, key: &str) -> String {
    let headers = [("content-type", "application/json"), ("x-api-key", key)];
    let body = format!(
        r#"{{"user_id": "supplier_user_id_123", "redirect_url": "{REDIRECT_URL}", "asset_type": "hp", "brand": "alpha innotec", "language": "fr"}}"#
    );
    let response = auth.handle_http(
        &HttpRequest {
            method: "POST",
            target: "/v2/supplier/link-sessions",
            headers: &headers,
            body: body.as_bytes(),
        },
        NOW,
    );
    assert_eq!(response.status, 201);
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    json["link_token"].as_str().unwrap().to_owned()
}

/// The measured part: every path completed once, each answer checked to be a 200.
#[inline(never)]
fn complete_all(auth: &Authenticator, paths: &[String]) {
    for path in paths {
        let response = auth.handle_admin_http(
            black_box(&HttpRequest {
                method: "POST",
                target: path,
                headers: &[],
                body: b"",
            }),
            NOW + 1,
        );
        assert_eq!(response.status, 200);
        black_box(response);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let key = match args.next().as_deref() {
        Some("with") => "k-with",
        Some("without") => "k-without",
        other => panic!("with or without, not {other:?}"),
    };
    let count: usize = args.next().map_or(1000, |n| n.parse().expect("a count"));
    let auth = Authenticator::new(Config::from_json(&config()).unwrap()).unwrap();
    let paths: Vec<String> = (0..count)
        .map(|_| format!("/admin/link-sessions/{}/complete", create(&auth, key)))
        .collect();
    let started = Instant::now();
    complete_all(&auth, &paths);
    let each = started.elapsed().as_secs_f64() * 1e9 / count as f64;
    println!("{count} completions ({key}): {each:.0} ns each");
}
