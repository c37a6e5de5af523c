//! Completion events delivered from the outbox (spec decision 20), against the real binary and a
//! tiny loopback receiver: retries on the schedule with one `webhook-id`, signatures that
//! verify, failed deliveries listed and retried through the admin listener, the address check,
//! no slowdown of API requests by a dead endpoint, nothing lost across `kill -9`, and one
//! delivery per attempt with two instances on one PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{JSON, Server, binary, postgres_url, request, start, temp_dir, write_config};
use nox_authenticator::webhook::{WebhookSecret, verify_webhook};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// How the receiver answers: scripted statuses (then `then` forever), or never.
struct Script {
    statuses: VecDeque<u16>,
    then: u16,
    silent: bool,
    /// A `location` header sent with every answer (a redirect, with a 3xx status).
    location: Option<String>,
}

/// A loopback HTTP receiver on a thread: records requests, answers as scripted.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl Receiver {
    fn start(statuses: &[u16], then: u16) -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap(), statuses, then)
    }

    fn on(listener: TcpListener, statuses: &[u16], then: u16) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Script {
            statuses: statuses.iter().copied().collect(),
            then,
            silent: false,
            location: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s, st) = (Arc::clone(&got), Arc::clone(&script), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (g, s) = (Arc::clone(&g), Arc::clone(&s));
                std::thread::spawn(move || serve(stream, &g, &s));
            }
        });
        Receiver {
            port,
            got,
            script,
            stop,
        }
    }

    fn silent() -> Receiver {
        let r = Receiver::start(&[], 200);
        r.script.lock().unwrap().silent = true;
        r
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn answer(&self, status: u16) {
        let mut script = self.script.lock().unwrap();
        script.statuses.clear();
        script.then = status;
    }

    /// Waits until `done` holds for what was received, or panics after `limit`.
    fn wait_for(
        &self,
        limit: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "timed out waiting for {what}; got {}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(mut stream: TcpStream, got: &Mutex<Vec<Received>>, script: &Mutex<Script>) {
    if script.lock().unwrap().silent {
        // Never answer: hold the connection open until the sender gives up.
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut headers = Vec::new();
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_lowercase(), v.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (status, location) = {
        let mut script = script.lock().unwrap();
        let then = script.then;
        let location = script
            .location
            .as_ref()
            .map(|l| format!("location: {l}\r\n"))
            .unwrap_or_default();
        (script.statuses.pop_front().unwrap_or(then), location)
    };
    got.lock().unwrap().push(Received {
        at: Instant::now(),
        headers,
        body,
    });
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 {status} X\r\n{location}content-length: 2\r\nconnection: close\r\n\r\nok"
        )
        .as_bytes(),
    );
}

fn config(url: &str, schedule: &[u64], timeout: u64) -> String {
    serde_json::json!({
        "suppliers": [{
            "id": "s1", "name": "Acme Energy", "api_key": "k1",
            "redirect_urls": ["https://acme.example/cb"],
            "webhook": {"url": url, "secret": SECRET}
        }, {
            "id": "s2", "name": "Other Energy", "api_key": "k2",
            "redirect_urls": ["https://acme.example/cb"]
        }],
        "webhooks": {"retry_schedule_seconds": schedule, "timeout_seconds": timeout},
        "limits": {"requests_per_second_per_key": 10000, "burst_per_key": 10000}
    })
    .to_string()
}

fn start_on(json: &str, name: &str, store: Option<&str>) -> Server {
    let dir = temp_dir(name);
    let path = write_config(&dir, json);
    match store {
        Some(store) => start(&["--config", &path, "--store", store]),
        None => start(&["--config", &path]),
    }
}

/// As [`start_on`], with the server binary named by `NOX_BENCH_BINARY` when it is set (to
/// compare two builds in interleaved runs of the benchmark).
fn start_bench(json: &str, name: &str, store: Option<&str>) -> Server {
    let Some(path) = std::env::var_os("NOX_BENCH_BINARY") else {
        return start_on(json, name, store);
    };
    let dir = temp_dir(name);
    let config = write_config(&dir, json);
    let mut args = vec!["--config", config.as_str()];
    if let Some(store) = store {
        args.extend(["--store", store]);
    }
    common::start_with(std::process::Command::new(path), &args)
}

fn create(server: &Server, key: &str) -> String {
    let reply = request(
        &server.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[("x-api-key", key), JSON],
        br#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}"#,
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["link_token"].as_str().unwrap().to_owned()
}

fn complete(server: &Server, token: &str) {
    let reply = request(
        &server.admin,
        "POST",
        &format!("/admin/link-sessions/{token}/complete"),
        &[],
        b"",
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

fn now() -> i64 {
    nox_authenticator::system_now()
}

#[test]
fn five_hundred_twice_then_two_hundred_is_three_signed_attempts_with_one_id_on_the_schedule() {
    let receiver = Receiver::start(&[500, 500], 200);
    let server = start_on(&config(&receiver.url(), &[1, 2], 2), "wh-retry", None);
    let token = create(&server, "k1");
    complete(&server, &token);
    let got = receiver.wait_for(Duration::from_secs(20), "three attempts", |g| g.len() >= 3);
    std::thread::sleep(Duration::from_millis(1500));
    let got_after = receiver.got();
    assert_eq!(got_after.len(), 3, "no attempt after the 2xx");
    let id = got[0].header("webhook-id");
    assert!(id.starts_with("msg_"), "{id}");
    assert!(
        got.iter().all(|r| r.header("webhook-id") == id),
        "one webhook-id"
    );
    let gaps: Vec<f64> = got
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64())
        .collect();
    println!("attempt gaps (schedule [1, 2]): {gaps:?}");
    // Times are whole seconds in the store and the outbox is polled: allow a second's slack.
    assert!(gaps[0] >= 0.5 && gaps[0] < 2.8, "{gaps:?}");
    assert!(gaps[1] >= 1.5 && gaps[1] < 3.8, "{gaps:?}");
    let secret = WebhookSecret::parse(SECRET).unwrap();
    for attempt in &got {
        let headers: Vec<(&str, &str)> = attempt
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let event = verify_webhook(&secret, &headers, &attempt.body, now()).unwrap();
        assert_eq!(event.id, id);
        assert_eq!(event.event_type.as_str(), "link_session.completed");
        assert_eq!(event.user_id, "u1");
    }
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["type"], "link_session.completed");
    assert_eq!(body["data"]["state"], "completed");
    assert_eq!(body["data"]["kind"], "v2_supplier");
    assert_eq!(body["data"]["session"]["link_token"], token.as_str());
    // A caller without a webhook gets nothing.
    let other = create(&server, "k2");
    complete(&server, &other);
    // One log line per attempt, with the id, host and status; never the body or the secret.
    let log = server.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("webhook attempt"))
        .collect();
    assert_eq!(lines.len(), 3, "{log}");
    for (line, status) in lines.iter().zip(["500", "500", "200"]) {
        assert!(
            line.contains(&format!("event_id={id}"))
                && line.contains("host=127.0.0.1")
                && line.contains(&format!("status={status}"))
                && line.contains("latency_ms="),
            "{line}"
        );
    }
    assert!(
        !log.contains(SECRET) && !log.contains("link_session.completed"),
        "{log}"
    );
    let metrics = request(&server.admin, "GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("nox_webhook_attempts_total{outcome=\"retry\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("nox_webhook_attempts_total{outcome=\"delivered\"} 1"),
        "{text}"
    );
    assert!(text.contains("nox_webhook_queue_depth 0"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}

#[test]
fn after_the_last_attempt_the_delivery_is_listed_failed_and_a_retry_delivers_it() {
    let receiver = Receiver::start(&[], 503);
    // A retry 3 s after the first attempt (2-3 s, on the clock's whole seconds), so that the
    // event is still waiting when the admin route is asked to retry it early.
    let server = start_on(&config(&receiver.url(), &[3], 2), "wh-failed", None);
    let token = create(&server, "k1");
    complete(&server, &token);
    // Not failed yet (due, being attempted, or waiting a second for its retry): the admin
    // route does not retry it, which would make an attempt in flight twice.
    let first = receiver.wait_for(Duration::from_secs(15), "the first attempt", |g| {
        !g.is_empty()
    });
    let id = first[0].header("webhook-id").to_owned();
    let early = request(
        &server.admin,
        "POST",
        &format!("/admin/webhook-deliveries/{id}/retry"),
        &[],
        b"",
    );
    assert_eq!(
        early.status,
        409,
        "{}",
        String::from_utf8_lossy(&early.body)
    );
    assert_eq!(early.json()["code"], "not_failed");
    // Meanwhile the metrics show it waiting, and its age (the retry is at least 2 s after the
    // first attempt).
    std::thread::sleep(Duration::from_millis(1200));
    let metrics = request(&server.admin, "GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(text.contains("nox_webhook_queue_depth 1"), "{text}");
    let age: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("nox_webhook_queue_oldest_age_seconds "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1.0);
    assert!((1.0..=10.0).contains(&age), "oldest age {age}: {text}");
    receiver.wait_for(Duration::from_secs(15), "two attempts", |g| g.len() >= 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let reply = request(
            &server.admin,
            "GET",
            "/admin/webhook-deliveries?status=failed",
            &[],
            b"",
        );
        assert_eq!(reply.status, 200);
        let list = reply.json()["deliveries"].as_array().unwrap().clone();
        if !list.is_empty() || Instant::now() > deadline {
            break list;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(listed.len(), 1, "{listed:?}");
    let failed = &listed[0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 2);
    assert_eq!(failed["last_status"], 503);
    assert_eq!(failed["last_error"], "answered 503");
    assert_eq!(failed["type"], "link_session.completed");
    let id = failed["id"].as_str().unwrap().to_owned();
    assert_eq!(receiver.got().len(), 2);
    // Other statuses are not listed here, and unknown ids are 404.
    assert_eq!(
        request(&server.admin, "GET", "/admin/webhook-deliveries", &[], b"").status,
        400
    );
    assert_eq!(
        request(
            &server.admin,
            "POST",
            "/admin/webhook-deliveries/msg_none/retry",
            &[],
            b""
        )
        .status,
        404
    );
    receiver.answer(200);
    let retried = request(
        &server.admin,
        "POST",
        &format!("/admin/webhook-deliveries/{id}/retry"),
        &[],
        b"",
    );
    assert_eq!(
        retried.status,
        200,
        "{}",
        String::from_utf8_lossy(&retried.body)
    );
    assert_eq!(retried.json()["status"], "pending");
    let got = receiver.wait_for(Duration::from_secs(10), "the retried delivery", |g| {
        g.len() >= 3
    });
    assert_eq!(got[2].header("webhook-id"), id);
    std::thread::sleep(Duration::from_millis(500));
    let reply = request(
        &server.admin,
        "GET",
        "/admin/webhook-deliveries?status=failed",
        &[],
        b"",
    );
    assert_eq!(reply.json()["deliveries"].as_array().unwrap().len(), 0);
}

#[test]
fn a_host_name_resolving_to_loopback_is_refused_at_delivery_and_recorded_failed() {
    let receiver = Receiver::start(&[], 200);
    let url = format!("https://localhost:{}/hook", receiver.port);
    // With a schedule of retries: a refused address is failed at once, not retried (decision
    // 20 retries a non-2xx answer, a time-out and a refused connection).
    let server = start_on(&config(&url, &[1, 1, 1], 2), "wh-address", None);
    let token = create(&server, "k1");
    complete(&server, &token);
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let reply = request(
            &server.admin,
            "GET",
            "/admin/webhook-deliveries?status=failed",
            &[],
            b"",
        );
        let list = reply.json()["deliveries"].as_array().unwrap().clone();
        if !list.is_empty() || Instant::now() > deadline {
            break list;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["attempts"], 1, "{listed:?}");
    let reason = listed[0]["last_error"].as_str().unwrap();
    println!("refused: {reason}");
    assert!(
        reason.contains("localhost resolves to") && reason.contains("loopback"),
        "{reason}"
    );
    assert!(receiver.got().is_empty(), "nothing reached the receiver");
}

/// The failed deliveries the admin listener lists, once there are `n` (or after 15 s).
fn wait_for_failed(server: &Server, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = request(
            &server.admin,
            "GET",
            "/admin/webhook-deliveries?status=failed",
            &[],
            b"",
        );
        let list = reply.json()["deliveries"].as_array().unwrap().clone();
        if list.len() >= n || Instant::now() > deadline {
            return list;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_redirect_is_not_followed_and_is_retried_as_a_failure() {
    let target = Receiver::start(&[], 200);
    let redirecting = Receiver::start(&[], 307);
    redirecting.script.lock().unwrap().location = Some(target.url());
    let server = start_on(&config(&redirecting.url(), &[1], 2), "wh-redirect", None);
    let token = create(&server, "k1");
    complete(&server, &token);
    let listed = wait_for_failed(&server, 1);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["attempts"], 2, "retried once on the schedule");
    assert_eq!(listed[0]["last_status"], 307);
    assert_eq!(redirecting.got().len(), 2);
    assert!(
        target.got().is_empty(),
        "the redirect's target was never posted to"
    );
}

#[test]
fn an_http_webhook_url_not_on_a_loopback_ip_literal_is_a_config_error_naming_the_field() {
    for (url, secret) in [
        ("http://hooks.example/x", SECRET),
        ("http://localhost:9/x", SECRET),
        ("https://hooks.example/x", "whsec_c2hvcnQ="),
    ] {
        let dir = temp_dir("wh-config");
        let json = config(url, &[1], 2).replace(SECRET, secret);
        let path = write_config(&dir, &json);
        let out = binary()
            .args([
                "--config",
                &path,
                "--store",
                "memory",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let field = if secret == SECRET {
            "suppliers[0].webhook.url"
        } else {
            "suppliers[0].webhook.secret"
        };
        assert!(stderr.contains(field), "{url}: {stderr}");
    }
}

#[test]
fn a_session_left_pending_is_reported_expired_exactly_once() {
    let receiver = Receiver::start(&[], 200);
    let dir = temp_dir("wh-expiry");
    let path = write_config(&dir, &config(&receiver.url(), &[1], 2));
    // 60 times real time: a session expires after 10 real seconds.
    let server = start(&["--config", &path, "--clock-speed", "60"]);
    let created = Instant::now();
    let left = create(&server, "k1");
    let completed = create(&server, "k1");
    complete(&server, &completed);
    let got = receiver.wait_for(Duration::from_secs(30), "the expired event", |g| {
        g.len() >= 2
    });
    std::thread::sleep(Duration::from_secs(4));
    let got = receiver.got().len().max(got.len());
    let events: Vec<serde_json::Value> = receiver
        .got()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(got, 2, "{events:?}");
    let expired: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["type"] == "link_session.expired")
        .collect();
    assert_eq!(expired.len(), 1, "{events:?}");
    // Sent once the session expired, within 60 s of it (1 s of real time at 60 times real
    // time; the bound allows 1 s more for a busy machine): 10-12 real seconds after creation.
    let arrived = receiver
        .got()
        .iter()
        .find(|r| {
            r.body
                .windows(22)
                .any(|w| w == b"link_session.expired\",".as_slice())
        })
        .map(|r| r.at.duration_since(created).as_secs_f64())
        .unwrap();
    assert!(
        (9.9..=12.0).contains(&arrived),
        "the expired event arrived {arrived:.2} s after the creation (expiry at 10 s)"
    );
    assert_eq!(expired[0]["data"]["state"], "expired");
    assert_eq!(expired[0]["data"]["session"]["link_token"], left.as_str());
    let done: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["type"] == "link_session.completed")
        .collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["data"]["session"]["link_token"], completed.as_str());
    let secret = WebhookSecret::parse(SECRET).unwrap();
    for r in receiver.got() {
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        verify_webhook(&secret, &headers, &r.body, now()).unwrap();
    }
}

#[test]
fn dead_endpoints_do_not_hold_up_another_callers_events() {
    // Nine callers whose endpoints never answer, each with more events than may be in flight
    // to one endpoint: before their first time-outs, they would take every attempt in flight
    // (9 x 8 > 64) without the attempts kept for callers with none in flight.
    let dead: Vec<Receiver> = (0..9).map(|_| Receiver::silent()).collect();
    let healthy = Receiver::start(&[], 200);
    let mut suppliers: Vec<serde_json::Value> = dead
        .iter()
        .enumerate()
        .map(|(i, receiver)| {
            serde_json::json!({
                "id": format!("dead{i}"), "name": "Dead Energy", "api_key": format!("d{i}"),
                "redirect_urls": ["https://acme.example/cb"],
                "webhook": {"url": receiver.url(), "secret": SECRET}
            })
        })
        .collect();
    suppliers.push(serde_json::json!({
        "id": "s2", "name": "Other Energy", "api_key": "k2",
        "redirect_urls": ["https://acme.example/cb"],
        "webhook": {"url": healthy.url(), "secret": SECRET}
    }));
    let json = serde_json::json!({
        "suppliers": suppliers,
        "webhooks": {"retry_schedule_seconds": [1, 1, 1], "timeout_seconds": 5},
        "limits": {"requests_per_second_per_key": 10000, "burst_per_key": 10000}
    })
    .to_string();
    let server = start_on(&json, "wh-fair", None);
    for i in 0..dead.len() {
        for _ in 0..24 {
            let token = create(&server, &format!("d{i}"));
            complete(&server, &token);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let token = create(&server, "k2");
    complete(&server, &token);
    healthy.wait_for(Duration::from_secs(4), "the other caller's event", |g| {
        !g.is_empty()
    });
    println!(
        "the other caller's event arrived after {:.2} s, with {} events of nine dead endpoints queued",
        started.elapsed().as_secs_f64(),
        dead.len() * 24
    );
}

fn timed_create(server: &Server, key: &str) -> f64 {
    let started = Instant::now();
    let token = create(server, key);
    let took = started.elapsed().as_secs_f64() * 1000.0;
    complete(server, &token);
    took
}

fn p99(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[(times.len() * 99 / 100).min(times.len() - 1)]
}

/// Writes a figure a test measured to the test's output and to `nox-figures.txt` in the
/// target's temporary directory, which the test command prints after the Rust tests (a
/// passing test's output is not shown).
fn report(line: &str) {
    println!("{line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("nox-figures.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}

/// The p99 of creates (each followed by its completion) on `store`, without and with a
/// receiver that never answers: two servers run at once and the creates alternate, so that
/// the machine's other load falls on both samples alike. Up to three rounds: the first that
/// meets the goal (with at most 1.5x without) passes; each round is reported.
fn a_dead_receiver_does_not_slow_creates_on(store: &str) {
    let n = 400;
    let healthy = Receiver::start(&[], 200);
    let dead = Receiver::silent();
    let dir = temp_dir(&format!("wh-p99-{store}"));
    let on = |name: &str| match store {
        "sqlite" => Some(format!(
            "sqlite:{}",
            dir.join(format!("{name}.db")).display()
        )),
        _ => None,
    };
    let quiet_store = on("quiet");
    let dead_store = on("dead");
    let quiet = start_on(
        &config(&healthy.url(), &[1], 2),
        "wh-quiet",
        quiet_store.as_deref(),
    );
    let server = start_on(
        &config(&dead.url(), &[1, 1, 1], 2),
        "wh-dead",
        dead_store.as_deref(),
    );
    let mut rounds = Vec::new();
    for round in 1..=3 {
        let (mut without, mut with) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            without.push(timed_create(&quiet, "k1"));
            with.push(timed_create(&server, "k1"));
        }
        let (without, with) = (p99(without), p99(with));
        report(&format!(
            "p99 of creates during a dead webhook receiver ({store}, round {round}, {n} creates each followed by its completion, interleaved): healthy receiver {without:.2} ms, receiver that never answers {with:.2} ms = {:.2}x (goal: at most 1.5x)",
            with / without
        ));
        rounds.push((without, with));
        if with <= without * 1.5 {
            break;
        }
    }
    assert!(
        rounds.iter().any(|(without, with)| *with <= without * 1.5),
        "p99 with a dead receiver more than 1.5x of without in every round (without ms, with ms): {rounds:?}"
    );
    drop((quiet, server));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_receiver_that_never_answers_does_not_slow_api_requests() {
    a_dead_receiver_does_not_slow_creates_on("memory");
}

#[test]
fn a_receiver_that_never_answers_does_not_slow_api_requests_on_sqlite() {
    a_dead_receiver_does_not_slow_creates_on("sqlite");
}

fn crash_then_restart_delivers_every_completion(store: &str, name: &str) {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let json = config(&url, &[1; 30], 2);
    let first = start_on(&json, name, Some(store));
    let mut tokens = Vec::new();
    for _ in 0..10 {
        let token = create(&first, "k1");
        complete(&first, &token);
        tokens.push(token);
    }
    std::thread::sleep(Duration::from_millis(1500));
    first.kill();
    let second = start_on(&json, name, Some(store));
    let receiver = Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap(), &[], 200);
    receiver.wait_for(Duration::from_secs(60), "every completion", |g| {
        let tokens_seen: std::collections::HashSet<String> = g
            .iter()
            .map(|r| {
                serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["data"]["session"]
                        ["link_token"]
                        .as_str()
                        .unwrap()
                        .to_owned()
            })
            .collect();
        tokens.iter().all(|t| tokens_seen.contains(t))
    });
    std::thread::sleep(Duration::from_secs(3));
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in receiver.got() {
        *per_id.entry(r.header("webhook-id").to_owned()).or_default() += 1;
    }
    assert!(
        per_id.values().all(|&n| n == 1),
        "none twice in one run: {per_id:?}"
    );
    assert_eq!(per_id.len(), 10);
    drop(second);
}

#[test]
fn kill_9_with_the_receiver_down_then_restart_delivers_every_completion_on_sqlite() {
    let dir = temp_dir("wh-crash-sqlite");
    let store = format!("sqlite:{}", dir.join("nox.db").display());
    crash_then_restart_delivers_every_completion(&store, "wh-crash-sqlite");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh database on the test cluster, so that no other test's server claims these events.
fn fresh_postgres(url: &str, name: &str) -> String {
    let db = format!("{name}_{}_{}", std::process::id(), now());
    let out = std::process::Command::new("psql")
        .args([url, "-q", "-c", &format!("CREATE DATABASE {db}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let at = base.rfind('/').unwrap();
    let mut fresh = format!("{}/{db}", &base[..at]);
    if let Some(q) = query {
        fresh.push('?');
        fresh.push_str(q);
    }
    fresh
}

#[test]
fn kill_9_with_the_receiver_down_then_restart_delivers_every_completion_on_postgres() {
    let Some(url) = postgres_url() else { return };
    let url = fresh_postgres(&url, "wh_crash");
    crash_then_restart_delivers_every_completion(&url, "wh-crash-pg");
}

#[test]
fn two_servers_on_one_postgres_deliver_each_event_once() {
    let Some(url) = postgres_url() else { return };
    let url = fresh_postgres(&url, "wh_two");
    let receiver = Receiver::start(&[], 200);
    let json = config(&receiver.url(), &[1], 2);
    let a = start_on(&json, "wh-two-a", Some(&url));
    let b = start_on(&json, "wh-two-b", Some(&url));
    let n = 40;
    for i in 0..n {
        let on = if i % 2 == 0 { &a } else { &b };
        let token = create(on, "k1");
        complete(on, &token);
    }
    receiver.wait_for(Duration::from_secs(30), "every event", |g| g.len() >= n);
    std::thread::sleep(Duration::from_secs(2));
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in receiver.got() {
        *per_id.entry(r.header("webhook-id").to_owned()).or_default() += 1;
    }
    assert_eq!(per_id.len(), n);
    assert!(per_id.values().all(|&c| c == 1), "{per_id:?}");
    let attempts =
        a.log().matches("webhook attempt").count() + b.log().matches("webhook attempt").count();
    assert_eq!(attempts, n);
    println!(
        "two instances: {} attempts by A, {} by B",
        a.log().matches("webhook attempt").count(),
        b.log().matches("webhook attempt").count()
    );
}

/// Completion latency over HTTP (`POST /admin/link-sessions/{token}/complete`) of a caller
/// without a webhook and of one with, on one server: `pairs` sessions of each, created first
/// and then completed alternately (the order within a pair alternates too, so neither caller
/// always follows the other), in milliseconds, sorted.
fn completion_latencies(server: &Server, pairs: usize) -> (Vec<f64>, Vec<f64>) {
    let tokens: Vec<(String, String)> = (0..pairs)
        .map(|_| (create(server, "k2"), create(server, "k1")))
        .collect();
    let timed = |token: &str| {
        let started = Instant::now();
        complete(server, token);
        started.elapsed().as_secs_f64() * 1000.0
    };
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for (i, (plain, hooked)) in tokens.iter().enumerate() {
        if i % 2 == 0 {
            without.push(timed(plain));
            with.push(timed(hooked));
        } else {
            with.push(timed(hooked));
            without.push(timed(plain));
        }
    }
    for v in [&mut without, &mut with] {
        v.sort_by(f64::total_cmp);
    }
    (without, with)
}

fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// One line of the goal's figure: p50 and p99 without and with a webhook, and with/without.
fn report_completion(store: &str, round: usize, without: &[f64], with: &[f64]) {
    let (p50, p99) = (
        (percentile(without, 50), percentile(with, 50)),
        (percentile(without, 99), percentile(with, 99)),
    );
    println!(
        "completion latency ({store}, round {round}, {} each): p50 {:.3} vs {:.3} ms = {:.2}x, p99 {:.2} vs {:.2} ms = {:.2}x (without vs with a webhook; goal: at most 1.10x)",
        without.len(),
        p50.0,
        p50.1,
        p50.1 / p50.0,
        p99.0,
        p99.1,
        p99.1 / p99.0,
    );
}

/// The completion latency goal of issue 17 (with a webhook within 10% of without), reported
/// for the memory store (the core and the server alone) and SQLite (with the store's outbox
/// row), and events delivered per second to a loopback receiver (a benchmark; run with
/// `--ignored`; `NOX_BENCH_ROUNDS` rounds of 1000 pairs, 3 by default; `NOX_BENCH_BINARY` runs
/// another build of the server).
#[test]
#[ignore = "benchmark: cargo test --release -p nox-authenticator-server --test webhooks -- --ignored --nocapture"]
fn events_per_second_to_a_loopback_receiver() {
    let receiver = Receiver::start(&[], 200);
    let dir = temp_dir("wh-bench");
    let store = format!("sqlite:{}", dir.join("nox.db").display());
    let rounds: usize = std::env::var("NOX_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let pairs = 1000;
    let memory = start_bench(&config(&receiver.url(), &[1], 2), "wh-bench-m", None);
    let quiet = start_bench(
        &config(&receiver.url(), &[1], 2),
        "wh-bench-q",
        Some(&store),
    );
    let mut delivered = 0;
    let mut drain = 0.0;
    for round in 1..=rounds {
        for (name, server) in [("memory", &memory), ("SQLite", &quiet)] {
            let (without, with) = completion_latencies(server, pairs);
            report_completion(name, round, &without, &with);
            delivered += pairs;
            let started = Instant::now();
            receiver.wait_for(Duration::from_secs(120), "every event", |g| {
                g.len() >= delivered
            });
            drain = started.elapsed().as_secs_f64();
        }
    }
    drop(memory);
    // Throughput: a backlog, written while the receiver was down, delivered once it is up.
    drop(quiet);
    let backlog = 2000;
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let json = config(&format!("http://127.0.0.1:{port}/hook"), &[1; 100], 2);
    let dir2 = temp_dir("wh-bench2");
    let store2 = format!("sqlite:{}", dir2.join("nox.db").display());
    let server = start_on(&json, "wh-bench-drain", Some(&store2));
    for _ in 0..backlog {
        let t = create(&server, "k1");
        complete(&server, &t);
    }
    let receiver2 = Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap(), &[], 200);
    let started = Instant::now();
    receiver2.wait_for(Duration::from_secs(300), "the backlog", |g| {
        g.len() >= backlog
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "delivered a backlog of {backlog} events in {secs:.2} s once the receiver was up: {:.0} events/s (the last of the latency rounds' {delivered} events arrived {drain:.2} s after the last completion)",
        backlog as f64 / secs,
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}
