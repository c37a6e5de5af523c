//! Bytes of process memory per pending session in the in-memory store (issue 18): creates v2
//! supplier sessions through the HTTP adapter, each for its own end-user, and reads the
//! process's resident set (`/proc/self/statm`) at 100,000 and at 1,000,000 stored sessions. The
//! figure is the growth between the two divided by the 900,000 sessions in between, so the
//! program's own baseline does not count.
//!
//! `cargo run --release -p nox-authenticator-bench --example memory_per_session [-- N1 N2]`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use nox_authenticator::{Authenticator, Config, HttpRequest};
use nox_authenticator_bench::{NOW, SUPPLIER_KEY};

const CONFIG: &str = r#"{
  "limits": {"pending_sessions_per_caller": 10000000, "pending_sessions_total": 10000000},
  "suppliers": [{"id": "supplier_123", "name": "Acme Energy", "api_key": "supplier-key-acme",
                 "redirect_urls": ["https://your-app.com/callback"]}]}"#;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<u64>().expect("a count"));
    let first = args.next().unwrap_or(100_000);
    let second = args.next().unwrap_or(1_000_000);
    assert!(first < second, "the second count must be larger");
    let auth = Authenticator::new(Config::from_json(CONFIG).unwrap()).unwrap();
    let headers = [
        ("content-type", "application/json"),
        ("x-api-key", SUPPLIER_KEY),
    ];
    let mut created = 0u64;
    let mut create_until = |target: u64| {
        while created < target {
            // A realistic end-user id (the same length for every session) and a brand.
            let body = format!(
                r#"{{"user_id": "supplier-user-{created:010}", "redirect_url": "https://your-app.com/callback", "asset_type": "hp", "brand": "daikin", "language": "nl"}}"#
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
            assert_eq!(
                response.status,
                201,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
            created += 1;
        }
    };
    create_until(first);
    let at_first = resident_bytes();
    create_until(second);
    let at_second = resident_bytes();
    let per_session = (at_second - at_first) as f64 / (second - first) as f64;
    println!(
        "memory store: RSS {:.1} MiB at {first} sessions, {:.1} MiB at {second}: {per_session:.0} bytes per session",
        at_first as f64 / 1048576.0,
        at_second as f64 / 1048576.0,
    );
}
