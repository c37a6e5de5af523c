//! The admin listener, health, environment variables and demo-mode rules (spec decisions 13
//! and 15), black-box against the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use common::{JSON, binary, request, start, start_with, temp_dir, write_config};

const ADMIN_CONFIG: &str = r#"{
  "suppliers": [{"id": "s1", "name": "Acme Energy", "api_key": "supplier-key",
                 "redirect_urls": ["https://acme.example/cb"]}],
  "manufacturers": [{"id": "m1", "name": "Acme Heat", "api_key": "manufacturer-key",
                     "redirect_urls": ["https://heat.acme.example/done"]}],
  "admin": {"api_key": "admin-key"}
}"#;

fn create(addr: &str, path: &str, key: &str, body: &str) -> String {
    let reply = request(
        addr,
        "POST",
        path,
        &[("x-api-key", key), JSON],
        body.as_bytes(),
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    let data = if body.get("data").is_some() {
        &body["data"]
    } else {
        &body
    };
    data["link_token"].as_str().unwrap().to_owned()
}

#[test]
fn admin_routes_look_up_and_complete_through_the_core_rules() {
    let dir = temp_dir("admin");
    let config = write_config(&dir, ADMIN_CONFIG);
    let server = start(&["--config", &config]);
    let (api, admin) = (&server.addr, &server.admin);
    let key = [("x-api-key", "admin-key")];

    let v2 = create(
        api,
        "/v2/supplier/link-sessions",
        "supplier-key",
        r#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "hp"}"#,
    );
    let manufacturer = create(
        api,
        "/v2/manufacturer/link-sessions",
        "manufacturer-key",
        r#"{"user_id": "m1", "redirect_url": "https://heat.acme.example/done"}"#,
    );
    let v1 = create(
        api,
        "/users/u9/link",
        "supplier-key",
        r#"{"redirect_uri": "https://acme.example/cb"}"#,
    );

    // Lookup: kind, state and the session as its endpoint's 201 body.
    for (token, kind) in [
        (&v2, "v2_supplier"),
        (&manufacturer, "v2_manufacturer"),
        (&v1, "v1_supplier"),
    ] {
        let reply = request(
            admin,
            "GET",
            &format!("/admin/link-sessions/{token}"),
            &key,
            b"",
        );
        assert_eq!(reply.status, 200);
        let body = reply.json();
        assert_eq!(body["kind"], kind);
        assert_eq!(body["state"], "pending");
        assert_eq!(body["session"]["link_token"], token.as_str());
    }
    let pending = request(
        admin,
        "GET",
        &format!("/admin/link-sessions/{v2}"),
        &key,
        b"",
    )
    .json();
    assert_eq!(pending["session"]["completed_at"], serde_json::Value::Null);

    // Complete once: 200 with completed_at, then 409.
    let path = format!("/admin/link-sessions/{v2}/complete");
    let done = request(admin, "POST", &path, &key, b"");
    assert_eq!(done.status, 200);
    let body = done.json();
    assert_eq!(body["state"], "completed");
    assert!(body["session"]["completed_at"].as_i64().unwrap() > 1_700_000_000);
    let again = request(admin, "POST", &path, &key, b"");
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["code"], "already_completed");
    let looked_up = request(
        admin,
        "GET",
        &format!("/admin/link-sessions/{v2}"),
        &key,
        b"",
    )
    .json();
    assert_eq!(looked_up["state"], "completed");
    assert_eq!(
        looked_up["session"]["completed_at"],
        body["session"]["completed_at"]
    );

    // Unknown tokens, including malformed ones: 404 not_found.
    for token in ["a".repeat(43), "x".into(), "%00".into()] {
        let reply = request(
            admin,
            "GET",
            &format!("/admin/link-sessions/{token}"),
            &key,
            b"",
        );
        assert_eq!(reply.status, 404, "{token}");
        assert_eq!(
            reply.json(),
            serde_json::json!({"error": "Link session not found", "code": "not_found"})
        );
        let reply = request(
            admin,
            "POST",
            &format!("/admin/link-sessions/{token}/complete"),
            &key,
            b"",
        );
        assert_eq!(
            (reply.status, reply.json()["code"].clone()),
            (404, "not_found".into())
        );
    }

    // The admin key: missing, wrong, right.
    let reply = request(
        admin,
        "GET",
        &format!("/admin/link-sessions/{v1}"),
        &[],
        b"",
    );
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": "Missing API key", "code": "missing_api_key"})
    );
    let reply = request(
        admin,
        "GET",
        &format!("/admin/link-sessions/{v1}"),
        &[("x-api-key", "supplier-key")],
        b"",
    );
    assert_eq!(
        (reply.status, reply.json()["code"].clone()),
        (401, "invalid_api_key".into())
    );
    let reply = request(
        admin,
        "POST",
        &format!("/admin/link-sessions/{v1}/complete"),
        &[("x-api-key", "wrong")],
        b"",
    );
    assert_eq!(reply.status, 401);
    // A refused completion changed nothing.
    let reply = request(
        admin,
        "GET",
        &format!("/admin/link-sessions/{v1}"),
        &key,
        b"",
    );
    assert_eq!(reply.json()["state"], "pending");

    // Methods and routes.
    let reply = request(
        admin,
        "POST",
        &format!("/admin/link-sessions/{v1}"),
        &key,
        b"",
    );
    assert_eq!((reply.status, reply.header("allow")), (405, Some("GET")));
    let reply = request(
        admin,
        "GET",
        &format!("/admin/link-sessions/{v1}/complete"),
        &key,
        b"",
    );
    assert_eq!((reply.status, reply.header("allow")), (405, Some("POST")));
    assert_eq!(request(admin, "GET", "/admin/nope", &key, b"").status, 404);
    // The admin routes are not on the public listener, and the API is not on the admin one.
    assert_eq!(
        request(api, "GET", &format!("/admin/link-sessions/{v1}"), &key, b"").status,
        404
    );
    let reply = request(
        admin,
        "POST",
        "/v2/supplier/link-sessions",
        &[("x-api-key", "supplier-key"), JSON],
        b"{}",
    );
    assert_eq!(reply.status, 404);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_expired_session_cannot_be_completed() {
    let dir = temp_dir("admin-expired");
    let config = write_config(&dir, ADMIN_CONFIG);
    // 600 s of session life pass in 0.6 s.
    let server = start(&["--config", &config, "--clock-speed", "1000"]);
    let token = create(
        &server.addr,
        "/v2/supplier/link-sessions",
        "supplier-key",
        r#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}"#,
    );
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let key = [("x-api-key", "admin-key")];
    let reply = request(
        &server.admin,
        "GET",
        &format!("/admin/link-sessions/{token}"),
        &key,
        b"",
    );
    assert_eq!(reply.json()["state"], "expired");
    let reply = request(
        &server.admin,
        "POST",
        &format!("/admin/link-sessions/{token}/complete"),
        &key,
        b"",
    );
    assert_eq!(reply.status, 410);
    assert_eq!(reply.json()["code"], "expired");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn health_is_served_on_both_listeners_without_a_key() {
    let dir = temp_dir("health");
    let config = write_config(&dir, ADMIN_CONFIG);
    let server = start(&["--config", &config]);
    for addr in [&server.addr, &server.admin] {
        for path in ["/health/alive", "/health/ready"] {
            let reply = request(addr, "GET", path, &[], b"");
            assert_eq!(reply.status, 200, "{addr}{path}");
            assert_eq!(reply.json(), serde_json::json!({"status": "ok"}));
        }
        assert_eq!(request(addr, "POST", "/health/alive", &[], b"").status, 405);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_admin_listener_needs_a_key_to_bind_a_non_loopback_address() {
    let output = binary()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "0.0.0.0:0",
            "--store",
            "memory",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("admin listener") && stderr.contains("admin key"),
        "{stderr}"
    );
    // With a key in the config, it binds.
    let dir = temp_dir("admin-bind");
    let config = write_config(&dir, ADMIN_CONFIG);
    let mut command = binary();
    command.env("NOX_ADMIN_LISTEN", "0.0.0.0:0");
    let server = common::start_env(
        command,
        &[
            "--config",
            &config,
            "--listen",
            "127.0.0.1:0",
            "--store",
            "memory",
        ],
    );
    assert!(server.admin.starts_with("0.0.0.0:"), "{}", server.admin);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_runs_only_on_loopback_unless_asked() {
    let output = binary()
        .args([
            "--listen",
            "0.0.0.0:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--store",
            "memory",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("demo configuration") && stderr.contains("--demo"),
        "{stderr}"
    );
    let mut command = binary();
    command
        .env("NOX_LISTEN", "0.0.0.0:0")
        .env("NOX_DEMO", "true")
        .env("NOX_STORE", "memory")
        .env("NOX_ADMIN_LISTEN", "127.0.0.1:0");
    let server = common::start_env(command, &[]);
    assert!(server.addr.starts_with("0.0.0.0:"), "{}", server.addr);
}

#[test]
fn every_option_reads_its_environment_variable_and_a_flag_wins() {
    let dir = temp_dir("env");
    let config = write_config(&dir, ADMIN_CONFIG);
    let db = dir.join("env.db");
    let mut command = binary();
    command
        .env("NOX_LISTEN", "127.0.0.1:0")
        .env("NOX_ADMIN_LISTEN", "127.0.0.1:0")
        .env("NOX_CONFIG", &config)
        .env("NOX_STORE", format!("sqlite:{}", db.display()))
        .env("NOX_CLOCK_SPEED", "1");
    let mut server = common::start_env(command, &[]);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut server.stdout, &mut line).unwrap();
    assert!(line.contains(&config) && line.contains("env.db"), "{line}");
    // The config from NOX_CONFIG is in force (its keys work), the store from NOX_STORE exists.
    create(
        &server.addr,
        "/v2/supplier/link-sessions",
        "supplier-key",
        r#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "hp"}"#,
    );
    assert!(db.exists());
    drop(server);
    // A flag wins over its variable.
    let mut command = binary();
    command.env("NOX_STORE", "sqlite:/nonexistent-dir/x.db");
    let server = start_with(command, &["--config", &config, "--store", "memory"]);
    let mut line = String::new();
    let mut server = server;
    std::io::BufRead::read_line(&mut server.stdout, &mut line).unwrap();
    assert!(line.contains("store: memory"), "{line}");
    // A bad variable is an error naming it.
    let output = binary().env("NOX_CLOCK_SPEED", "fast").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("NOX_CLOCK_SPEED")
            || String::from_utf8_lossy(&output.stderr).contains("clock-speed")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
