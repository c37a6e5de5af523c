//! The oauth2 connector's pending sign-ins live in the store (issue 16, spec decision 11): the
//! end user leaves from instance A and the counterpart's callback reaches instance B (two
//! servers on one SQLite file, and on one PostgreSQL database, with one `flow.secret`): B
//! exchanges the code with A's PKCE verifier and completes the session; the `state` is then
//! used up on every instance, and a tampered one leads to no completion. The counterpart's
//! token endpoint is a small loopback server here (the browser suite runs the whole flow
//! against oidc-provider).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use common::{JSON, Reply, Server, postgres_url, request, start, temp_dir, write_config};

const SUPPLIER_KEY: &str = "oauth-instances-supplier-key";

/// A token endpoint on loopback: answers every `POST` with an access token and keeps the
/// form bodies it got.
struct TokenEndpoint {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl TokenEndpoint {
    fn start() -> TokenEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let answer = r#"{"access_token":"counterpart-access-token","token_type":"bearer","expires_in":3600}"#;
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        TokenEndpoint { port, bodies }
    }
}

fn config(token_endpoint: u16) -> String {
    serde_json::json!({
        "link_base_urls": {"v2": "http://127.0.0.1:1/ui", "v1": "http://127.0.0.1:1/connect"},
        "default_connector": "sandbox",
        "connectors": {
            "vaillant": {
                "type": "oauth2",
                "authorization_url": "http://127.0.0.1:2/auth",
                "token_url": format!("http://127.0.0.1:{token_endpoint}/token"),
                "client_id": "nox-flow",
                "client_secret": "nox-flow-secret",
                "scopes": ["openid"]
            }
        },
        "flow": {"secret": "oauth-instances-flow-secret-0123456789abcdef"},
        "suppliers": [{
            "id": "supplier_123", "name": "Acme Energy", "api_key": SUPPLIER_KEY,
            "redirect_urls": ["http://127.0.0.1/callback"]
        }]
    })
    .to_string()
}

fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn post(addr: &str, form: &[(&str, &str)]) -> Reply {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    request(
        addr,
        "POST",
        "/ui",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "same-origin"),
        ],
        body.as_bytes(),
    )
}

fn query_value(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

/// Creates a session on `a`, walks it to the counterpart's sign-in there, and returns the
/// token and the authorization URL the browser is sent to.
fn leave_from(a: &Server) -> (String, String) {
    let created = request(
        &a.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[("x-api-key", SUPPLIER_KEY), JSON],
        br#"{"user_id": "u1", "redirect_url": "http://127.0.0.1/callback", "asset_type": "hp", "brand": "vaillant"}"#,
    );
    assert_eq!(created.status, 201);
    let token = created.json()["link_token"].as_str().unwrap().to_owned();
    let first = request(&a.addr, "GET", &format!("/ui?token={token}"), &[], b"");
    let csrf = field(&String::from_utf8_lossy(&first.body), "csrf");
    let consent = post(
        &a.addr,
        &[("token", &token), ("step", "who_and_what"), ("csrf", &csrf)],
    );
    let csrf = field(&String::from_utf8_lossy(&consent.body), "csrf");
    let out = post(
        &a.addr,
        &[
            ("token", &token),
            ("step", "consent"),
            ("csrf", &csrf),
            ("decision", "allow"),
        ],
    );
    assert_eq!(out.status, 303, "{}", String::from_utf8_lossy(&out.body));
    let location = out.header("location").unwrap().to_owned();
    assert!(
        location.starts_with("http://127.0.0.1:2/auth?"),
        "{location}"
    );
    (token, location)
}

fn state_of_session(server: &Server, token: &str) -> serde_json::Value {
    request(
        &server.admin,
        "GET",
        &format!("/admin/link-sessions/{token}"),
        &[],
        b"",
    )
    .json()
}

fn callback_reaches_another_instance(store: &str, name: &str) {
    let endpoint = TokenEndpoint::start();
    let path = write_config(&temp_dir(name), &config(endpoint.port));
    let a = start(&["--config", &path, "--store", store]);
    let b = start(&["--config", &path, "--store", store]);

    let (token, location) = leave_from(&a);
    let state = query_value(&location, "state");
    let challenge = query_value(&location, "code_challenge");
    assert_eq!(query_value(&location, "code_challenge_method"), "S256");

    // A tampered state is refused and completes nothing.
    let tampered = format!("{}x", &state[..state.len() - 1]);
    let refused = request(
        &b.addr,
        "GET",
        &format!("/ui/callback?code=c1&state={tampered}"),
        &[],
        b"",
    );
    assert_eq!(refused.status, 400);
    assert!(String::from_utf8_lossy(&refused.body).contains("data-step=\"oauth_error\""));
    assert!(endpoint.bodies.lock().unwrap().is_empty(), "no exchange");

    // The callback reaches B: the code is exchanged with A's verifier, the session completed.
    let back = request(
        &b.addr,
        "GET",
        &format!("/ui/callback?code=c1&state={state}"),
        &[],
        b"",
    );
    assert_eq!(back.status, 303, "{}", String::from_utf8_lossy(&back.body));
    let back_to = back.header("location").unwrap();
    assert!(
        back_to.starts_with("http://127.0.0.1/callback?status=completed&link_token="),
        "{back_to}"
    );
    let bodies = endpoint.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "the code is exchanged once");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(bodies[0].as_bytes())
        .into_owned()
        .collect();
    let sent = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} in {form:?}"))
    };
    assert_eq!(sent("code"), "c1");
    let verifier = sent("code_verifier");
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()),
        challenge,
        "the verifier A made matches the challenge A sent"
    );
    let looked_up = state_of_session(&a, &token);
    assert_eq!(looked_up["state"], "completed", "{looked_up}");

    // The state is used up, on both instances.
    for server in [&a, &b] {
        let again = request(
            &server.addr,
            "GET",
            &format!("/ui/callback?code=c1&state={state}"),
            &[],
            b"",
        );
        assert_eq!(again.status, 400);
    }
    assert_eq!(endpoint.bodies.lock().unwrap().len(), 1);
    // Neither the token nor the state is in a log line.
    for server in [&a, &b] {
        let log = server.log();
        assert!(!log.contains(&token) && !log.contains(&state), "{log}");
    }
}

#[test]
fn the_callback_completes_on_another_instance_on_sqlite() {
    let dir = temp_dir("oauth-sqlite");
    let store = format!("sqlite:{}", dir.join("nox.db").display());
    callback_reaches_another_instance(&store, "oauth-sqlite");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_callback_completes_on_another_instance_on_postgres() {
    let Some(url) = postgres_url() else { return };
    callback_reaches_another_instance(&url, "oauth-pg");
}
