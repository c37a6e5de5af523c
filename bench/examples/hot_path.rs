//! The core's hot path for instruction counts (issue 18): `COUNT` requests of one endpoint
//! through the HTTP adapter (bytes in, bytes out) on the in-memory store, at a fixed time.
//! `scripts/prove/callgrind.sh` runs it under `valgrind --tool=callgrind` at two counts and
//! reports the instructions per request (the difference, so start-up does not count).
//!
//! `hot_path ENDPOINT COUNT`, ENDPOINT one of v2_supplier, v2_manufacturer, v1_supplier,
//! v1_connect.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use nox_authenticator::HttpRequest;
use nox_authenticator_bench::{
    MANUFACTURER_KEY, NOW, SUPPLIER_KEY, V1_CONNECT_BODY, V1_SUPPLIER_BODY, V2_MANUFACTURER_BODY,
    V2_SUPPLIER_BODY, authenticator,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "v2_supplier".to_owned());
    let count: u64 = args.next().map_or(1000, |n| n.parse().expect("a count"));
    let (target, key, body) = match endpoint.as_str() {
        "v2_supplier" => ("/v2/supplier/link-sessions", SUPPLIER_KEY, V2_SUPPLIER_BODY),
        "v2_manufacturer" => (
            "/v2/manufacturer/link-sessions",
            MANUFACTURER_KEY,
            V2_MANUFACTURER_BODY,
        ),
        "v1_supplier" => ("/users/user_123/link", SUPPLIER_KEY, V1_SUPPLIER_BODY),
        "v1_connect" => ("/manufacturers/nox", MANUFACTURER_KEY, V1_CONNECT_BODY),
        other => panic!("unknown endpoint {other}"),
    };
    let auth = authenticator(1).unwrap();
    let headers = [("content-type", "application/json"), ("x-api-key", key)];
    let request = HttpRequest {
        method: "POST",
        target,
        headers: &headers,
        body: body.as_bytes(),
    };
    for i in 0..count {
        // Time moves 601 s per request, so each session is evicted by the next create (with
        // the fixtures' zero retention) and the store stays at one session: the figure is the
        // request's own cost, not the table's growth.
        let now = NOW + i64::try_from(i).unwrap() * 601;
        let response = auth.handle_http(black_box(&request), now);
        assert!(response.status < 300, "{}", response.status);
        black_box(response);
    }
}
