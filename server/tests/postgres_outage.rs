//! A database that goes away while serving (spec decision 11, issue 10 point 7): every
//! endpoint answers 503 in its documented error shape (the detail only in the log), readiness
//! says unavailable, and the server recovers by itself when the database is back. Runs on a
//! private throwaway cluster (`scripts/pg.sh`), so stopping it disturbs no other test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{JSON, postgres_url, request, start, temp_dir, write_config};

const CONFIG: &str = r#"{
  "suppliers": [{"id": "s1", "name": "Acme Energy", "api_key": "supplier-key",
                 "redirect_urls": ["https://acme.example/cb"]}],
  "manufacturers": [{"id": "m1", "name": "Acme Heat", "api_key": "manufacturer-key",
                     "redirect_urls": ["https://heat.acme.example/done"]}]
}"#;

fn pg(command: &str, dir: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh");
    let output = Command::new(script)
        .args([command, dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pg.sh {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn post(addr: &str, path: &str, key: &str, body: &str) -> common::Reply {
    request(
        addr,
        "POST",
        path,
        &[("x-api-key", key), JSON],
        body.as_bytes(),
    )
}

fn all_four(addr: &str) -> Vec<common::Reply> {
    vec![
        post(
            addr,
            "/v2/supplier/link-sessions",
            "supplier-key",
            r#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "hp"}"#,
        ),
        post(
            addr,
            "/v2/manufacturer/link-sessions",
            "manufacturer-key",
            r#"{"user_id": "m1", "redirect_url": "https://heat.acme.example/done"}"#,
        ),
        post(
            addr,
            "/users/u1/link",
            "supplier-key",
            r#"{"redirect_uri": "https://acme.example/cb"}"#,
        ),
        post(
            addr,
            "/manufacturers/nox",
            "manufacturer-key",
            r#"{"manufacturer_user_id": "x", "device_ids": ["d"]}"#,
        ),
    ]
}

#[test]
fn a_database_that_goes_away_gives_503_and_the_server_recovers() {
    // Opt-outs are honoured the same way as for the shared cluster.
    if postgres_url().is_none() {
        return;
    }
    let dir = temp_dir("pg-outage");
    let url = pg("start", &dir.join("pg"));
    let config = write_config(&dir, CONFIG);
    let server = start(&["--config", &config, "--store", &url]);
    for reply in all_four(&server.addr) {
        assert_eq!(reply.status, 201);
    }

    pg("stop", &dir.join("pg"));
    let replies = all_four(&server.addr);
    for reply in &replies[..2] {
        assert_eq!(reply.status, 503);
        assert_eq!(
            reply.json(),
            serde_json::json!({"error": "Service unavailable"})
        );
    }
    for reply in &replies[2..] {
        assert_eq!(reply.status, 503);
        let body = reply.json();
        assert_eq!(body["success"], false);
        assert_eq!(body["error"], "Service unavailable");
        assert_eq!(body["message"], "Service unavailable");
        assert_eq!(body["error_code"], "store_error");
    }
    for addr in [&server.addr, &server.admin] {
        let reply = request(addr, "GET", "/health/ready", &[], b"");
        assert_eq!(
            (reply.status, reply.json()),
            (503, serde_json::json!({"status": "unavailable"}))
        );
        assert_eq!(request(addr, "GET", "/health/alive", &[], b"").status, 200);
    }

    pg("start", &dir.join("pg"));
    // Back by itself: no restart of the server.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let statuses: Vec<u16> = all_four(&server.addr).iter().map(|r| r.status).collect();
        if statuses == [201, 201, 201, 201] {
            break;
        }
        assert!(Instant::now() < deadline, "not recovered: {statuses:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(
        request(&server.admin, "GET", "/health/ready", &[], b"").status,
        200
    );

    // The detail went to the log, not on the wire.
    let log = server.log();
    // Each 503 has its reason in its own log line.
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("status=503") && l.contains("link"))
        .collect();
    assert!(!refused.is_empty(), "no 503 was logged: {log}");
    for line in refused {
        assert!(
            line.contains("failure=") && line.contains("store unavailable"),
            "{line}"
        );
    }
    pg("stop", &dir.join("pg"));
    let _ = std::fs::remove_dir_all(&dir);
}
