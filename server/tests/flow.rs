//! The hosted link flow over plain HTTP (spec decision 19), on the memory store and on SQLite
//! (completion on the blocking pool): the sandbox walk, the return URL, the headers, the
//! refusals and the per-token rate limit. The browser suite (server/tests/browser) walks the
//! same pages in Chromium.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use common::{JSON, Reply, request, start, temp_dir};

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn step(reply: &Reply) -> String {
    let html = String::from_utf8_lossy(&reply.body);
    let start = html.find("data-step=\"").expect("a flow page") + 11;
    html[start..].split('"').next().unwrap().to_owned()
}

fn post(addr: &str, path: &str, form: &[(&str, &str)]) -> Reply {
    let body = url_encode(form);
    request(
        addr,
        "POST",
        path,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "same-origin"),
            ("origin", "null"),
        ],
        body.as_bytes(),
    )
}

fn url_encode(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn assert_headers(reply: &Reply, redirect_origin: bool) {
    let csp = reply.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        !redirect_origin || csp.contains("form-action 'self' http://127.0.0.1:9;"),
        "{csp}"
    );
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
}

fn walk(store_args: &[&str]) {
    let server = start(store_args);
    let created = request(
        &server.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[("x-api-key", "demo-supplier-key"), JSON],
        br#"{"user_id": "u1", "redirect_url": "http://127.0.0.1:9/callback", "asset_type": "hp", "language": "fr"}"#,
    )
    .json();
    let token = created["link_token"].as_str().unwrap().to_owned();
    assert!(
        created["link_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:8080/ui?token=")
    );

    let first = request(&server.addr, "GET", &format!("/ui?token={token}"), &[], b"");
    assert_eq!(first.status, 200);
    assert_headers(&first, true);
    assert_eq!(step(&first), "who_and_what");
    let html = String::from_utf8_lossy(&first.body).into_owned();
    assert!(
        html.contains("<html lang=\"fr\">"),
        "the session's language"
    );
    assert!(
        html.contains("Acme Energy souhaite relier votre pompe à chaleur"),
        "{html}"
    );

    let csrf = field(&html, "csrf");
    let pick = post(
        &server.addr,
        "/ui",
        &[("token", &token), ("step", "who_and_what"), ("csrf", &csrf)],
    );
    assert_eq!(step(&pick), "pick");
    let csrf = field(&String::from_utf8_lossy(&pick.body), "csrf");
    let consent = post(
        &server.addr,
        "/ui",
        &[
            ("token", &token),
            ("step", "pick"),
            ("csrf", &csrf),
            ("brand", "daikin"),
        ],
    );
    assert_eq!(step(&consent), "consent");
    let csrf = field(&String::from_utf8_lossy(&consent.body), "csrf");
    let sign_in = post(
        &server.addr,
        "/ui",
        &[
            ("token", &token),
            ("step", "consent"),
            ("csrf", &csrf),
            ("brand", "daikin"),
            ("decision", "allow"),
        ],
    );
    assert_eq!(step(&sign_in), "sign_in");
    let csrf = field(&String::from_utf8_lossy(&sign_in.body), "csrf");
    let wrong = post(
        &server.addr,
        "/ui",
        &[
            ("token", &token),
            ("step", "sign_in"),
            ("csrf", &csrf),
            ("brand", "daikin"),
            ("username", "jan"),
            ("password", "nope"),
        ],
    );
    assert_eq!((wrong.status, step(&wrong)), (400, "sign_in".to_owned()));
    assert!(String::from_utf8_lossy(&wrong.body).contains("href=\"#password\""));
    let lookup = |server: &common::Server| {
        request(
            &server.admin,
            "GET",
            &format!("/admin/link-sessions/{token}"),
            &[],
            b"",
        )
        .json()
    };
    assert_eq!(lookup(&server)["state"], "pending");
    // A cross-site POST of the right form: refused, nothing changes.
    let cross = request(
        &server.addr,
        "POST",
        "/ui",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "cross-site"),
        ],
        url_encode(&[
            ("token", &token),
            ("step", "sign_in"),
            ("csrf", &csrf),
            ("brand", "daikin"),
            ("username", "jan"),
            ("password", "pass_good"),
        ])
        .as_bytes(),
    );
    assert_eq!(cross.status, 403);
    assert_headers(&cross, false);
    assert_eq!(lookup(&server)["state"], "pending");
    let done = post(
        &server.addr,
        "/ui",
        &[
            ("token", &token),
            ("step", "sign_in"),
            ("csrf", &csrf),
            ("brand", "daikin"),
            ("username", "jan"),
            ("password", "pass_good"),
        ],
    );
    assert_eq!(done.status, 303);
    assert_eq!(
        done.header("location"),
        Some(format!("http://127.0.0.1:9/callback?status=completed&link_token={token}").as_str())
    );
    let stored = lookup(&server);
    assert_eq!(stored["state"], "completed");
    assert_eq!(stored["session"]["brand"], "daikin");
    assert!(stored["session"]["completed_at"].is_i64());
    // The same form again: the session is already completed.
    let again = post(
        &server.addr,
        "/ui",
        &[
            ("token", &token),
            ("step", "sign_in"),
            ("csrf", &csrf),
            ("brand", "daikin"),
            ("username", "jan"),
            ("password", "pass_good"),
        ],
    );
    assert_eq!(step(&again), "already_completed");
    let unknown = request(
        &server.addr,
        "GET",
        &format!("/ui?token={}", "x".repeat(43)),
        &[("accept-language", "es")],
        b"",
    );
    assert_eq!(unknown.status, 404);
    assert!(String::from_utf8_lossy(&unknown.body).contains("lang=\"es\""));
    let css = request(&server.addr, "GET", "/static/flow.css", &[], b"");
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let log = server.log();
    assert!(log.contains("/ui"), "{log}");
    assert!(!log.contains(&token), "no token in the log: {log}");
}

#[test]
fn the_sandbox_flow_on_the_memory_store() {
    walk(&[]);
}

#[test]
fn the_sandbox_flow_on_sqlite_completes_on_the_blocking_pool() {
    let dir = temp_dir("flow-sqlite");
    let store = format!("sqlite:{}", dir.join("flow.db").display());
    walk(&["--store", &store]);
}

#[test]
fn pages_are_rate_limited_per_token() {
    let server = start(&[]);
    let created = request(
        &server.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[("x-api-key", "demo-supplier-key"), JSON],
        br#"{"user_id": "u1", "redirect_url": "http://127.0.0.1/callback", "asset_type": "hp"}"#,
    )
    .json();
    let path = format!("/ui?token={}", created["link_token"].as_str().unwrap());
    let statuses: Vec<u16> = (0..260)
        .map(|_| request(&server.addr, "GET", &path, &[], b"").status)
        .collect();
    assert!(statuses.contains(&429), "the burst of 200 is exceeded");
    assert_eq!(statuses[0], 200);
}
