//! Starts the real server binary on port 0 and talks HTTP/1.1 to it over TCP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    addr: String,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nox-authenticator-server"));
    command.args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);
    if !args.contains(&"--store") {
        command.args(["--store", "memory"]);
    }
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let mut admin_line = String::new();
    stdout.read_line(&mut admin_line).unwrap();
    assert!(
        admin_line.starts_with("admin listening on http://"),
        "{admin_line}"
    );
    Server {
        child,
        addr,
        stdout,
    }
}

/// Sends one request and returns (status, headers in lower case, body).
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

fn vectors_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/config.json")
        .display()
        .to_string()
}

#[test]
fn serves_all_four_endpoints_over_real_http() {
    let server = start(&["--config", &vectors_config()]);
    let a = &server.addr;
    let json_h = ("content-type", "application/json");

    let (status, headers, body) = request(a, "POST", "/v2/supplier/link-sessions", &[("x-api-key", "supplier-key-acme"), json_h],
        br#"{"user_id": "u1", "redirect_url": "https://your-app.com/callback", "asset_type": "hp", "brand": "alpha innotec"}"#);
    assert_eq!(status, 201);
    assert!(headers.contains(&("cache-control".into(), "no-store".into())));
    let body = json(&body);
    assert_eq!(body["brand"], "alpha-innotec");
    assert_eq!(
        body["expires_at"].as_i64().unwrap() - body["created_at"].as_i64().unwrap(),
        600
    );

    let (status, _, body) = request(
        a,
        "POST",
        "/v2/manufacturer/link-sessions",
        &[("x-api-key", "manufacturer-key-acme"), json_h],
        br#"{"user_id": "m1", "redirect_url": "https://heat.acme.example/nox/done"}"#,
    );
    assert_eq!(status, 201);
    assert_eq!(json(&body)["brand"], "Acme Heat-Pumps");

    let (status, _, body) = request(
        a,
        "POST",
        "/users/user_123/link",
        &[("Authorization", "ApiKey supplier-key-acme"), json_h],
        br#"{"redirect_uri": "https://your-app.com/callback"}"#,
    );
    assert_eq!(status, 201);
    assert_eq!(json(&body)["data"]["supplier_id"], "supplier_123");

    let (status, _, body) = request(
        a,
        "POST",
        "/manufacturers/nox",
        &[("x-api-key", "manufacturer-key-acme"), json_h],
        br#"{"manufacturer_user_id": "mfr_user_123", "device_ids": ["device_001"]}"#,
    );
    assert_eq!(status, 201);
    assert_eq!(
        json(&body)["data"]["device_ids"],
        serde_json::json!(["device_001"])
    );

    let (status, _, body) = request(a, "POST", "/v2/supplier/link-sessions", &[json_h], b"{}");
    assert_eq!(
        (status, json(&body)),
        (401, serde_json::json!({"error": "Missing API key"}))
    );

    let (status, headers, _) = request(a, "GET", "/manufacturers/nox", &[], b"");
    assert_eq!(status, 405);
    assert!(headers.contains(&("allow".into(), "POST".into())));

    let (status, _, _) = request(a, "POST", "/nope", &[], b"");
    assert_eq!(status, 404);
}

#[test]
fn a_body_over_the_limit_is_413_in_the_documented_error_shape() {
    let server = start(&["--config", &vectors_config()]);
    let big = vec![b' '; 100_000];
    let (status, _, body) = request(
        &server.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[
            ("x-api-key", "supplier-key-acme"),
            ("content-type", "application/json"),
        ],
        &big,
    );
    assert_eq!(status, 413);
    assert_eq!(
        json(&body),
        serde_json::json!({"error": "Request body too large (limit 4096 bytes)"})
    );
}

#[test]
fn demo_mode_prints_its_keys_and_they_work() {
    let mut server = start(&[]);
    let mut printed = String::new();
    for _ in 0..4 {
        server.stdout.read_line(&mut printed).unwrap();
    }
    assert!(printed.contains("demo-supplier-key"), "{printed}");
    let (status, _, _) = request(&server.addr, "POST", "/v2/supplier/link-sessions",
        &[("x-api-key", "demo-supplier-key"), ("content-type", "application/json")],
        br#"{"user_id": "u1", "redirect_url": "https://your-app.com/callback", "asset_type": "pv"}"#);
    assert_eq!(status, 201);
}

#[test]
fn a_bad_config_names_the_field_and_exits_non_zero() {
    let dir = std::env::temp_dir().join(format!("nox-bad-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.json");
    std::fs::write(&path, r#"{"suppliers": [{"id": "s", "name": "n", "api_key": "k", "redirect_urls": ["http://example.com/cb"]}]}"#).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_nox-authenticator-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--config",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("suppliers[0].redirect_urls[0]"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_nox-authenticator-server"))
        .args(["--config", dir.join("missing.json").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
    let _ = std::fs::remove_dir_all(&dir);
}
