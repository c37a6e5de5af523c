//! The hosted flow's pages are rate-limited per client address as well as per token (issue
//! 16, spec decision 12's rate): one address flooding the pages gets the 429 page with
//! `Retry-After`, while another address, and the API from the flooding address, are not
//! limited. The client addresses are two loopback addresses (127.0.0.2 and 127.0.0.1).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code: a failure should stop the test loudly

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{JSON, Reply, request, request_on, start, temp_dir, vectors_config, write_config};

const SUPPLIER: (&str, &str) = ("x-api-key", "supplier-key-acme");
const V2_BODY: &[u8] =
    br#"{"user_id": "u1", "redirect_url": "https://your-app.com/callback", "asset_type": "pv"}"#;

/// One request on a new connection from the local address `source`.
fn request_from(
    source: Ipv4Addr,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let target: SocketAddr = addr.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
        socket.connect(target).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    request_on(stream, addr, method, path, headers, body).unwrap()
}

#[test]
fn one_address_flooding_the_pages_is_limited_and_others_and_the_api_are_not() {
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors_config()).unwrap()).unwrap();
    config["limits"] = serde_json::json!({"requests_per_second_per_key": 1, "burst_per_key": 5});
    let path = write_config(&temp_dir("flow-address"), &config.to_string());
    let server = start(&["--config", &path]);
    let flooder = Ipv4Addr::new(127, 0, 0, 2);
    let other = Ipv4Addr::LOCALHOST;

    let created = request(
        &server.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[SUPPLIER, JSON],
        V2_BODY,
    );
    assert_eq!(created.status, 201);
    let token = created.json()["link_token"].as_str().unwrap().to_owned();

    // Unknown tokens (a token hunt) count too: 404 pages until the burst is used up.
    let flood: Vec<Reply> = (0..8)
        .map(|i| {
            request_from(
                flooder,
                &server.addr,
                "GET",
                &format!("/ui?token=guess{i}&language=fr"),
                &[],
                b"",
            )
        })
        .collect();
    let statuses: Vec<u16> = flood.iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..5], &[404; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|&s| s == 429), "{statuses:?}");
    // The 429 page: HTML in the asked language, Retry-After, the page headers of decision 19.
    let limited = &flood[7];
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(
        limited
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(limited.header("cache-control"), Some("no-store"));
    assert_eq!(limited.header("referrer-policy"), Some("no-referrer"));
    assert!(
        limited
            .header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = String::from_utf8_lossy(&limited.body);
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(html.contains("data-step=\"too_many\""), "{html}");
    // The flooding address is limited on a real session's page and on a POST as well.
    let page = format!("/ui?token={token}");
    assert_eq!(
        request_from(flooder, &server.addr, "GET", &page, &[], b"").status,
        429
    );
    let form = format!("token={token}&step=who_and_what&csrf=x");
    let post = request_from(
        flooder,
        &server.addr,
        "POST",
        "/ui",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "same-origin"),
        ],
        form.as_bytes(),
    );
    assert_eq!(post.status, 429);

    // Another address opens the same page.
    let reply = request_from(other, &server.addr, "GET", &page, &[], b"");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    // The API from the flooding address is limited per key only, not per address.
    let created = request_from(
        flooder,
        &server.addr,
        "POST",
        "/v2/supplier/link-sessions",
        &[SUPPLIER, JSON],
        V2_BODY,
    );
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    // After the wait, the flooding address may open pages again.
    std::thread::sleep(Duration::from_secs(retry));
    assert_eq!(
        request_from(flooder, &server.addr, "GET", &page, &[], b"").status,
        200
    );
}
