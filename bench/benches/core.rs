//! criterion benchmarks of the core, each next to a floor measured in the same run: serde_json
//! parsing the same request body (into `serde_json::Value`) and serialising the same response
//! body (from a `Value`). `scripts/prove/bench.sh` runs them and writes the ratios to
//! docs/performance/core.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nox_authenticator::{
    AssetType, Authenticator, HttpRequest, HttpResponse, LinkToken, RedirectPolicy, SystemRandom,
};
use nox_authenticator_bench::{
    MANUFACTURER_KEY, NOW, REDIRECT_URL, SUPPLIER_KEY, V1_CONNECT_BODY, V1_SUPPLIER_BODY,
    V2_MANUFACTURER_BODY, V2_SUPPLIER_BODY, authenticator, catalog_of,
};
use serde_json::Value;

struct Endpoint {
    name: &'static str,
    target: &'static str,
    key: &'static str,
    body: &'static str,
}

const ENDPOINTS: [Endpoint; 4] = [
    Endpoint {
        name: "v2_supplier",
        target: "/v2/supplier/link-sessions",
        key: SUPPLIER_KEY,
        body: V2_SUPPLIER_BODY,
    },
    Endpoint {
        name: "v2_manufacturer",
        target: "/v2/manufacturer/link-sessions",
        key: MANUFACTURER_KEY,
        body: V2_MANUFACTURER_BODY,
    },
    Endpoint {
        name: "v1_supplier",
        target: "/users/user_123/link",
        key: SUPPLIER_KEY,
        body: V1_SUPPLIER_BODY,
    },
    Endpoint {
        name: "v1_connect",
        target: "/manufacturers/nox",
        key: MANUFACTURER_KEY,
        body: V1_CONNECT_BODY,
    },
];

/// Drives one endpoint at a steady state of about `stored` sessions: time advances so that
/// `stored / 600` sessions are created per (simulated) second, and with no retention each
/// session is evicted 600 s after it was created. `stored == 0` moves 601 s per request, so
/// the store never holds more than one.
struct Steady<'a> {
    auth: Authenticator,
    endpoint: &'a Endpoint,
    per_second: u64,
    runs: Cell<u64>,
}

impl<'a> Steady<'a> {
    fn new(auth: Authenticator, endpoint: &'a Endpoint, stored: u64) -> Steady<'a> {
        let steady = Steady {
            auth,
            endpoint,
            per_second: stored / 600,
            runs: Cell::new(0),
        };
        // Fill the store to its steady state before measuring.
        for _ in 0..stored {
            steady.call();
        }
        steady
    }

    fn now(&self) -> i64 {
        let runs = self.runs.get();
        self.runs.set(runs + 1);
        let seconds = runs.checked_div(self.per_second).unwrap_or(runs * 601);
        NOW + seconds as i64
    }

    fn call(&self) -> HttpResponse {
        let headers = [
            ("x-api-key", self.endpoint.key),
            ("content-type", "application/json"),
        ];
        let response = self.auth.handle_http(
            &HttpRequest {
                method: "POST",
                target: self.endpoint.target,
                headers: &headers,
                body: self.endpoint.body.as_bytes(),
            },
            self.now(),
        );
        debug_assert_eq!(response.status, 201);
        response
    }
}

fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("endpoint");
    for endpoint in &ENDPOINTS {
        let steady = Steady::new(authenticator(1).unwrap(), endpoint, 0);
        let sample = steady.call();
        assert_eq!(
            sample.status,
            201,
            "{}",
            String::from_utf8_lossy(&sample.body)
        );
        let response: Value = serde_json::from_slice(&sample.body).unwrap();
        group.bench_function(BenchmarkId::new(endpoint.name, "handle_http"), |b| {
            b.iter(|| black_box(steady.call()))
        });
        group.bench_function(BenchmarkId::new(endpoint.name, "floor_serde_json"), |b| {
            b.iter(|| {
                let request: Value =
                    serde_json::from_slice(black_box(endpoint.body.as_bytes())).unwrap();
                let out = serde_json::to_vec(black_box(&response)).unwrap();
                black_box((request, out))
            })
        });
    }
    group.finish();
}

fn parts(c: &mut Criterion) {
    let mut group = c.benchmark_group("part");
    group.bench_function("token_generate", |b| {
        b.iter(|| black_box(LinkToken::generate(&SystemRandom).unwrap()))
    });
    let catalog = nox_authenticator::Catalog::builtin();
    group.bench_function("catalog_resolve_56", |b| {
        b.iter(|| {
            black_box(
                catalog
                    .resolve(AssetType::HeatPump, black_box("alpha innotec"))
                    .unwrap(),
            );
        })
    });
    let policy = RedirectPolicy::new([REDIRECT_URL]).unwrap();
    group.bench_function("redirect_check_1", |b| {
        b.iter(|| policy.check(black_box(REDIRECT_URL)).unwrap())
    });
    group.finish();
}

fn growth(c: &mut Criterion) {
    let v2 = &ENDPOINTS[0];
    let mut group = c.benchmark_group("growth");
    for n in [1usize, 10, 100] {
        let mut urls: Vec<String> = (1..n)
            .map(|i| format!("https://app{i}.example.com/callback"))
            .collect();
        urls.push(REDIRECT_URL.to_owned());
        let policy = RedirectPolicy::new(&urls).unwrap();
        group.bench_function(BenchmarkId::new("redirect_check", n), |b| {
            b.iter(|| policy.check(black_box(REDIRECT_URL)).unwrap())
        });
        let steady = Steady::new(authenticator(n).unwrap(), v2, 0);
        group.bench_function(BenchmarkId::new("v2_supplier_by_redirects", n), |b| {
            b.iter(|| black_box(steady.call()))
        });
    }
    for n in [56usize, 500, 5000] {
        let catalog = catalog_of(n).unwrap();
        group.bench_function(BenchmarkId::new("catalog_resolve", n), |b| {
            b.iter(|| {
                black_box(
                    catalog
                        .resolve(AssetType::HeatPump, black_box("alpha innotec"))
                        .unwrap(),
                );
            })
        });
        let auth = authenticator(1).unwrap();
        auth.set_catalog(catalog.clone());
        let steady = Steady::new(auth, v2, 0);
        group.bench_function(BenchmarkId::new("v2_supplier_by_brands", n), |b| {
            b.iter(|| black_box(steady.call()))
        });
    }
    for n in [0u64, 10_000, 100_000] {
        let steady = Steady::new(authenticator(1).unwrap(), v2, n);
        group.bench_function(BenchmarkId::new("v2_supplier_by_sessions", n), |b| {
            b.iter(|| black_box(steady.call()))
        });
        let count = steady.auth.session_count().unwrap();
        assert!(
            count as u64 <= n + 2 * steady.per_second + 2,
            "{count} stored for {n}"
        );
    }
    group.finish();
}

fn config() -> Criterion {
    let seconds = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Criterion::default()
        .warm_up_time(Duration::from_millis(seconds("BENCH_WARMUP_MS", 500)))
        .measurement_time(Duration::from_millis(seconds("BENCH_MEASURE_MS", 2000)))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = floor, parts, growth }
criterion_main!(benches);
