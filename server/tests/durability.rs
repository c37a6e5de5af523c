//! Nothing acknowledged is lost (spec decision 11): the server is killed with SIGKILL under a
//! steady load and restarted on the same store; every 201 it sent is still there. Several
//! instances on one PostgreSQL keep complete-once and the device-id union. Bad stores are
//! refused at start with exit status 2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use common::{JSON, Server, binary, postgres_url, request, start, temp_dir, try_request};

const CONFIG: &str = r#"{
  "suppliers": [{"id": "s1", "name": "Acme Energy", "api_key": "supplier-key",
                 "redirect_urls": ["https://acme.example/cb"]}],
  "manufacturers": [{"id": "m1", "name": "Acme Heat", "api_key": "manufacturer-key",
                     "redirect_urls": ["https://heat.acme.example/done"]}],
  "limits": {"requests_per_second_per_key": 0}
}"#;

/// What the load saw acknowledged.
#[derive(Default)]
struct Acknowledged {
    tokens: Vec<String>,
    /// user id -> (nox_user_id, device ids acknowledged)
    users: BTreeMap<String, (String, BTreeSet<String>)>,
}

fn start_on(config: &str, store: &str) -> Server {
    start(&["--config", config, "--store", store])
}

/// Runs creates and connects from 4 threads until `stop`; records every 201.
fn load(addr: String, run: &str, stop: Arc<AtomicBool>) -> Arc<Mutex<Acknowledged>> {
    let seen = Arc::new(Mutex::new(Acknowledged::default()));
    let handles: Vec<_> = (0..4)
        .map(|thread| {
            let (addr, stop, seen, run) = (addr.clone(), stop.clone(), seen.clone(), run.to_owned());
            std::thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let body = format!(r#"{{"user_id": "{run}-{thread}-{i}", "redirect_url": "https://acme.example/cb", "asset_type": "hp"}}"#);
                    let Ok(reply) = try_request(&addr, "POST", "/v2/supplier/link-sessions", &[("x-api-key", "supplier-key"), JSON], body.as_bytes()) else { break };
                    if reply.status == 201 {
                        let token = reply.json()["link_token"].as_str().unwrap().to_owned();
                        seen.lock().unwrap().tokens.push(token);
                    }
                    let user = format!("{run}-user-{thread}-{}", i % 7);
                    let device = format!("device-{thread}-{i}");
                    let body = format!(r#"{{"manufacturer_user_id": "{user}", "device_ids": ["{device}"]}}"#);
                    let Ok(reply) = try_request(&addr, "POST", "/manufacturers/nox", &[("x-api-key", "manufacturer-key"), JSON], body.as_bytes()) else { break };
                    if reply.status == 201 {
                        let data = reply.json()["data"].clone();
                        let nox = data["nox_user_id"].as_str().unwrap().to_owned();
                        let mut seen = seen.lock().unwrap();
                        let entry = seen.users.entry(user).or_insert_with(|| (nox.clone(), BTreeSet::new()));
                        assert_eq!(entry.0, nox, "one user, one nox_user_id");
                        entry.1.insert(device);
                    }
                }
            })
        })
        .collect();
    let seen_for_join = seen.clone();
    std::thread::spawn(move || {
        for handle in handles {
            let _ = handle.join();
        }
        drop(seen_for_join);
    });
    seen
}

fn crash_and_restart_keeps_every_201(store: &str, run: &str) {
    let dir = temp_dir("crash");
    let config = common::write_config(&dir, CONFIG);
    let server = start_on(&config, store);
    let stop = Arc::new(AtomicBool::new(false));
    let seen = load(server.addr.clone(), run, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    // SIGKILL in the middle of the load: no shutdown, no flush.
    server.kill();
    stop.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(200));
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        seen.tokens.len() > 20,
        "the load made too few sessions: {}",
        seen.tokens.len()
    );
    assert!(!seen.users.is_empty());

    let server = start_on(&config, store);
    for token in &seen.tokens {
        let path = format!("/admin/link-sessions/{token}");
        let reply = request(&server.admin, "GET", &path, &[], b"");
        assert_eq!(reply.status, 200, "session {token} acknowledged but lost");
        assert_eq!(reply.json()["state"], "pending");
        let complete = format!("{path}/complete");
        assert_eq!(
            request(&server.admin, "POST", &complete, &[], b"").status,
            200
        );
        assert_eq!(
            request(&server.admin, "POST", &complete, &[], b"").status,
            409
        );
    }
    for (user, (nox, devices)) in &seen.users {
        let body = format!(r#"{{"manufacturer_user_id": "{user}"}}"#);
        let reply = request(
            &server.addr,
            "POST",
            "/manufacturers/nox",
            &[("x-api-key", "manufacturer-key"), JSON],
            body.as_bytes(),
        );
        assert_eq!(reply.status, 201);
        let data = reply.json()["data"].clone();
        assert_eq!(
            data["nox_user_id"].as_str().unwrap(),
            nox,
            "{user} changed nox_user_id"
        );
        let stored: BTreeSet<String> = data["device_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect();
        assert!(
            devices.is_subset(&stored),
            "{user} lost device ids: {devices:?} vs {stored:?}"
        );
    }
    eprintln!(
        "{store}: {} sessions and {} subscribers acknowledged before SIGKILL, all found after restart",
        seen.tokens.len(),
        seen.users.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_under_load_loses_nothing_on_sqlite() {
    let dir = temp_dir("crash-sqlite");
    let store = format!("sqlite:{}", dir.join("nox.db").display());
    crash_and_restart_keeps_every_201(&store, "sqlite");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_under_load_loses_nothing_on_postgres() {
    let Some(url) = postgres_url() else { return };
    crash_and_restart_keeps_every_201(&url, &format!("pg{}", std::process::id()));
}

#[test]
fn two_instances_on_one_postgres_complete_once_and_keep_the_union() {
    let Some(url) = postgres_url() else { return };
    let dir = temp_dir("two-instances");
    let config = common::write_config(&dir, CONFIG);
    let a = start_on(&config, &url);
    let b = start_on(&config, &url);
    let reply = request(&a.addr, "POST", "/v2/supplier/link-sessions", &[("x-api-key", "supplier-key"), JSON],
        br#"{"user_id": "two-instances", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}"#);
    let token = reply.json()["link_token"].as_str().unwrap().to_owned();
    // Created on A, visible on B.
    assert_eq!(
        request(
            &b.admin,
            "GET",
            &format!("/admin/link-sessions/{token}"),
            &[],
            b""
        )
        .status,
        200
    );

    let barrier = Arc::new(Barrier::new(64));
    let outcomes: Vec<u16> = (0..64)
        .map(|i| {
            let admin = if i % 2 == 0 {
                a.admin.clone()
            } else {
                b.admin.clone()
            };
            let (barrier, path) = (
                barrier.clone(),
                format!("/admin/link-sessions/{token}/complete"),
            );
            std::thread::spawn(move || {
                barrier.wait();
                request(&admin, "POST", &path, &[], b"").status
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|&&s| s == 200).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|&&s| s == 409).count(),
        63,
        "{outcomes:?}"
    );

    let user = format!("union-{}", std::process::id());
    let barrier = Arc::new(Barrier::new(32));
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let addr = if i % 2 == 0 {
                a.addr.clone()
            } else {
                b.addr.clone()
            };
            let (barrier, user) = (barrier.clone(), user.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let body = format!(
                    r#"{{"manufacturer_user_id": "{user}", "device_ids": ["d{i}", "shared"]}}"#
                );
                let reply = request(
                    &addr,
                    "POST",
                    "/manufacturers/nox",
                    &[("x-api-key", "manufacturer-key"), JSON],
                    body.as_bytes(),
                );
                assert_eq!(reply.status, 201);
                reply.json()["data"]["nox_user_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect();
    let ids: BTreeSet<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(ids.len(), 1, "one user got several nox_user_ids: {ids:?}");
    let body = format!(r#"{{"manufacturer_user_id": "{user}"}}"#);
    let reply = request(
        &b.addr,
        "POST",
        "/manufacturers/nox",
        &[("x-api-key", "manufacturer-key"), JSON],
        body.as_bytes(),
    );
    let stored: BTreeSet<String> = reply.json()["data"]["device_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = (0..32)
        .map(|i| format!("d{i}"))
        .chain(["shared".to_owned()])
        .collect();
    assert_eq!(stored, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

fn refused_at_start(store: &str) -> String {
    let started = std::time::Instant::now();
    let output = binary()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--store",
            store,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{store}: {output:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{store}: took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_bad_store_is_refused_at_start_with_exit_status_2() {
    let dir = temp_dir("bad-store");
    let stderr = refused_at_start(&format!(
        "sqlite:{}",
        dir.join("missing/dir/nox.db").display()
    ));
    assert!(stderr.contains("missing/dir"), "{stderr}");
    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let stderr = refused_at_start(&format!("sqlite:{}", garbage.display()));
    assert!(stderr.contains("garbage.db"), "{stderr}");
    let stderr = refused_at_start(&format!("sqlite:{}", dir.display()));
    assert!(stderr.contains("cannot open store"), "{stderr}");
    let stderr =
        refused_at_start("postgres://nox:secret-password@127.0.0.1:1/postgres?connect_timeout=2");
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert!(
        !stderr.contains("secret-password"),
        "the password leaked: {stderr}"
    );
    let stderr = refused_at_start("redis://localhost");
    assert!(
        stderr.contains("memory, sqlite:PATH or a postgres:// URL"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
