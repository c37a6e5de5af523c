//! Spec decision 12 against the real binary: the head decided before the body, 400 for a body
//! that never arrives, the 429 shapes (rate limit and pending caps, v1 and v2), the device-id
//! cap, the connection time-outs and the shutdown grace period.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{JSON, Reply, Server, request, start, temp_dir, vectors_config, write_config};

const SUPPLIER: (&str, &str) = ("x-api-key", "supplier-key-acme");
const MANUFACTURER: (&str, &str) = ("x-api-key", "manufacturer-key-acme");
const V2_BODY: &[u8] =
    br#"{"user_id": "u1", "redirect_url": "https://your-app.com/callback", "asset_type": "pv"}"#;
const V1_BODY: &[u8] = br#"{"redirect_uri": "https://your-app.com/callback"}"#;

/// The vectors' configuration with `limits` (a JSON object) added.
fn start_with_limits(name: &str, limits: &str) -> Server {
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_config()).unwrap()).unwrap();
    config["limits"] = serde_json::from_str(limits).unwrap();
    let path = write_config(&temp_dir(name), &config.to_string());
    start(&["--config", &path])
}

/// Sends `raw` on a new connection and returns what arrives before the server closes it or
/// `wait` passes.
fn exchange(addr: &str, raw: &[u8], wait: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(raw).unwrap();
    read_for(&mut stream, wait)
}

fn read_for(stream: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let until = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
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
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn head(path: &str, headers: &[(&str, &str)]) -> String {
    let mut head = format!("POST {path} HTTP/1.1\r\nhost: test\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head + "\r\n"
}

/// Whether the server closed `stream` (EOF or reset) within `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

#[test]
fn a_wrong_key_with_expect_100_continue_is_401_and_never_100_continue() {
    let server = start(&["--config", &vectors_config()]);
    for path in ["/v2/supplier/link-sessions", "/users/u1/link"] {
        let raw = head(
            path,
            &[
                ("x-api-key", "wrong"),
                JSON,
                ("content-length", "1000"),
                ("expect", "100-continue"),
            ],
        );
        let got = exchange(&server.addr, raw.as_bytes(), Duration::from_secs(2));
        let text = String::from_utf8_lossy(&got);
        assert!(!text.contains("100 Continue"), "{text}");
        let reply = parse(&got);
        assert_eq!(reply.status, 401, "{text}");
        assert_eq!(reply.header("connection"), Some("close"), "{text}");
    }
    // With the right key, 100 Continue comes, then the answer.
    let raw = head(
        "/v2/supplier/link-sessions",
        &[
            SUPPLIER,
            JSON,
            ("content-length", &V2_BODY.len().to_string()),
            ("expect", "100-continue"),
        ],
    );
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let first = read_for(&mut stream, Duration::from_millis(500));
    assert!(String::from_utf8_lossy(&first).starts_with("HTTP/1.1 100 Continue"));
    stream.write_all(V2_BODY).unwrap();
    let rest = read_for(&mut stream, Duration::from_millis(500));
    assert_eq!(parse(&rest).status, 201);
}

#[test]
fn the_head_decides_404_405_415_and_a_declared_413_before_any_body() {
    let server = start(&["--config", &vectors_config()]);
    let huge = ("content-length", "100000000");
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: [Case<'_>; 4] = [
        ("/nowhere", vec![SUPPLIER, JSON, huge], 404),
        ("/v2/supplier/link-sessions", vec![SUPPLIER, huge], 415),
        (
            "/v2/supplier/link-sessions",
            vec![SUPPLIER, JSON, huge],
            413,
        ),
        ("/users/u1/link", vec![SUPPLIER, JSON, huge], 413),
    ];
    for (path, headers, status) in cases {
        // No body byte is sent: the answer comes from the head alone.
        let got = exchange(
            &server.addr,
            head(path, &headers).as_bytes(),
            Duration::from_secs(2),
        );
        let reply = parse(&got);
        assert_eq!(reply.status, status, "{path}");
    }
    let got = exchange(
        &server.addr,
        b"GET /v2/supplier/link-sessions HTTP/1.1\r\nhost: t\r\ncontent-length: 100000000\r\n\r\n",
        Duration::from_secs(2),
    );
    assert_eq!(parse(&got).status, 405);
}

#[test]
fn a_truncated_or_bad_body_is_400_invalid_request_body() {
    let server = start(&["--config", &vectors_config()]);
    // The client announces 100 bytes, sends 10 and goes away (half-close).
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let raw = head(
        "/v2/supplier/link-sessions",
        &[SUPPLIER, JSON, ("content-length", "100")],
    );
    stream.write_all(raw.as_bytes()).unwrap();
    stream.write_all(b"{\"user_id\"").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let reply = parse(&read_for(&mut stream, Duration::from_secs(2)));
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": "Invalid request body"})
    );
    // Bad chunking, on a v1 path: the v1 envelope.
    let raw = head(
        "/users/u1/link",
        &[SUPPLIER, JSON, ("transfer-encoding", "chunked")],
    ) + "zz\r\nnot hex\r\n";
    let reply = parse(&exchange(
        &server.addr,
        raw.as_bytes(),
        Duration::from_secs(2),
    ));
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(body["success"], false);
    assert_eq!(body["error_code"], "validation_error");
    assert_eq!(body["message"], "Invalid request body");
    // A chunked body over the limit (4096) is still 413 once read that far.
    let chunk = "x".repeat(5000);
    let raw = head(
        "/v2/supplier/link-sessions",
        &[SUPPLIER, JSON, ("transfer-encoding", "chunked")],
    ) + &format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    let reply = parse(&exchange(
        &server.addr,
        raw.as_bytes(),
        Duration::from_secs(2),
    ));
    assert_eq!(reply.status, 413);
}

#[test]
fn the_rate_limit_is_429_with_retry_after_in_each_shape() {
    let server = start_with_limits(
        "rate",
        r#"{"requests_per_second_per_key": 1, "burst_per_key": 2}"#,
    );
    let v2 = |_| {
        request(
            &server.addr,
            "POST",
            "/v2/supplier/link-sessions",
            &[SUPPLIER, JSON],
            V2_BODY,
        )
    };
    let replies: Vec<Reply> = (0..3).map(v2).collect();
    assert_eq!(replies[0].status, 201);
    assert_eq!(replies[1].status, 201);
    assert_eq!(replies[2].status, 429);
    assert_eq!(
        replies[2].json(),
        serde_json::json!({"error": "Rate limit exceeded"})
    );
    let retry: u64 = replies[2].header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // The same key on a v1 path shares the budget; the answer is the v1 envelope.
    let reply = request(
        &server.addr,
        "POST",
        "/users/u1/link",
        &[SUPPLIER, JSON],
        V1_BODY,
    );
    assert_eq!(reply.status, 429);
    let body = reply.json();
    assert_eq!(body["success"], false);
    assert_eq!(body["error_code"], "rate_limited");
    assert_eq!(body["message"], "Rate limit exceeded");
    assert!(reply.header("retry-after").is_some());
    // Another key has its own budget; a wrong key is 401, never 429.
    let reply = request(
        &server.addr,
        "POST",
        "/v2/manufacturer/link-sessions",
        &[MANUFACTURER, JSON],
        br#"{"user_id": "u1", "redirect_url": "https://heat.acme.example/nox/done"}"#,
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    for _ in 0..5 {
        let reply = request(
            &server.addr,
            "POST",
            "/v2/supplier/link-sessions",
            &[("x-api-key", "wrong"), JSON],
            V2_BODY,
        );
        assert_eq!(reply.status, 401);
    }
    // After the wait, the key may send again.
    std::thread::sleep(Duration::from_secs(retry));
    assert_eq!(v2(0).status, 201);
}

#[test]
fn the_pending_caps_are_429_with_retry_after_in_each_shape() {
    pending_caps_are_429_with_retry_after_in_each_shape(None);
}

/// On SQLite, whose creates are staged on the runtime and their inserts queued for the
/// writer thread (the refusal comes back through the queue).
#[test]
fn the_pending_caps_are_429_with_retry_after_in_each_shape_on_sqlite() {
    let db = temp_dir("caps-sqlite").join("caps.db");
    pending_caps_are_429_with_retry_after_in_each_shape(Some(&format!("sqlite:{}", db.display())));
}

fn pending_caps_are_429_with_retry_after_in_each_shape(store: Option<&str>) {
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_config()).unwrap()).unwrap();
    config["limits"] =
        serde_json::json!({"pending_sessions_per_caller": 2, "requests_per_second_per_key": 0});
    let dir = temp_dir(if store.is_some() {
        "caps-on-a-store"
    } else {
        "caps"
    });
    let path = write_config(&dir, &config.to_string());
    let mut args = vec!["--config", path.as_str()];
    if let Some(store) = store {
        args.extend(["--store", store]);
    }
    let server = start(&args);
    for _ in 0..2 {
        let reply = request(
            &server.addr,
            "POST",
            "/v2/supplier/link-sessions",
            &[SUPPLIER, JSON],
            V2_BODY,
        );
        assert_eq!(reply.status, 201);
    }
    let reply = request(
        &server.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[SUPPLIER, JSON],
        V2_BODY,
    );
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": "Too many pending link sessions"})
    );
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    let reply = request(
        &server.addr,
        "POST",
        "/users/u1/link",
        &[SUPPLIER, JSON],
        V1_BODY,
    );
    assert_eq!(reply.status, 429);
    let body = reply.json();
    assert_eq!(body["error_code"], "too_many_sessions");
    assert_eq!(body["message"], "Too many pending link sessions");
    assert!(reply.header("retry-after").is_some());
}

#[test]
fn the_device_id_cap_refuses_the_whole_connect_and_stores_nothing() {
    let server = start_with_limits("devices", r#"{"device_ids_per_subscriber": 3}"#);
    let connect = |ids: &[&str]| {
        let body = serde_json::json!({"manufacturer_user_id": "m1", "device_ids": ids});
        request(
            &server.addr,
            "POST",
            "/manufacturers/nox",
            &[MANUFACTURER, JSON],
            body.to_string().as_bytes(),
        )
    };
    assert_eq!(connect(&["a", "b"]).status, 201);
    let reply = connect(&["c", "d"]);
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(body["error_code"], "validation_error");
    assert!(
        body["message"].as_str().unwrap().contains("device_ids"),
        "{body}"
    );
    let reply = connect(&["c"]);
    assert_eq!(reply.status, 201);
    assert_eq!(
        reply.json()["data"]["device_ids"],
        serde_json::json!(["a", "b", "c"])
    );
}

#[test]
fn slow_heads_slow_bodies_and_idle_connections_are_closed_in_time() {
    let server = start_with_limits(
        "timeouts",
        r#"{"header_timeout_seconds": 1, "request_timeout_seconds": 2, "idle_timeout_seconds": 2}"#,
    );
    // A head that never ends: closed about 1 s after its first byte.
    let started = Instant::now();
    let mut slow_head = TcpStream::connect(&server.addr).unwrap();
    slow_head
        .write_all(b"POST /v2/supplier/link-sessions HTTP/1.1\r\nx-a: ")
        .unwrap();
    assert!(closed_within(&mut slow_head, Duration::from_secs(4)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // A body that never ends: 400 at the request time-out, then closed.
    let started = Instant::now();
    let mut slow_body = TcpStream::connect(&server.addr).unwrap();
    let raw = head(
        "/v2/supplier/link-sessions",
        &[SUPPLIER, JSON, ("content-length", "100")],
    );
    slow_body.write_all(raw.as_bytes()).unwrap();
    slow_body.write_all(b"{").unwrap();
    let got = read_for(&mut slow_body, Duration::from_secs(5));
    let took = started.elapsed();
    let reply = parse(&got);
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": "Invalid request body"})
    );
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(4000),
        "{took:?}"
    );
    // A connection that sends nothing: closed after the idle time-out.
    let started = Instant::now();
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_millis(3500),
        "{took:?}"
    );
    // A kept-alive connection idles after its answer: closed after the idle time-out too.
    let mut kept = TcpStream::connect(&server.addr).unwrap();
    kept.write_all(b"GET /health/alive HTTP/1.1\r\nhost: t\r\n\r\n")
        .unwrap();
    let answer = read_for(&mut kept, Duration::from_millis(300));
    assert_eq!(parse(&answer).status, 200);
    let started = Instant::now();
    assert!(closed_within(&mut kept, Duration::from_secs(5)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_millis(3500),
        "{took:?}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_ends_the_process_within_the_grace_period_despite_a_stuck_request() {
    let mut server = start_with_limits(
        "grace",
        r#"{"shutdown_grace_seconds": 1, "request_timeout_seconds": 60, "header_timeout_seconds": 60}"#,
    );
    // A request stuck in its body, and an idle connection.
    let mut stuck = TcpStream::connect(&server.addr).unwrap();
    let raw = head(
        "/v2/supplier/link-sessions",
        &[SUPPLIER, JSON, ("content-length", "100")],
    );
    stuck.write_all(raw.as_bytes()).unwrap();
    stuck.write_all(b"{").unwrap();
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The idle connection closes at once; the process ends after the grace period.
    assert!(closed_within(&mut idle, Duration::from_millis(800)));
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "still running after grace + 2 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(closed_within(&mut stuck, Duration::from_secs(1)));
}
