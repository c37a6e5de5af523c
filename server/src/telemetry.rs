//! Logs and metrics (spec decisions 13 and 14): one structured line per request, and the
//! Prometheus series the admin listener serves at `GET /metrics`.
//!
//! A log line carries the time, the request id (`x-request-id` when it is 1 to 128 visible
//! ASCII characters, otherwise a new one; echoed in the response), the method, the route
//! *template* (`/users/{userId}/link`, never the raw path, which may hold a user id or a
//! token), the status, the latency and the caller id. API keys, link tokens and bodies are
//! never logged.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use nox_authenticator::{ApiKeyDigest, Authenticator, api_key_from_headers};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::limits::{self, Refusal};

mod log_buffer;
mod request_line;

pub(crate) use log_buffer::{
    flush_all as flush_logs, on_park as on_worker_park, on_stop as on_thread_stop,
};

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable `key=value` lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber: the level follows `RUST_LOG` (default `info`), lines go to
/// standard error, a runtime worker's in batches (see [`log_buffer`]: the runtime must call
/// [`on_worker_park`] and [`on_thread_stop`], and the server [`flush_logs`] before it exits),
/// any other thread's at once. In the text format, the request line is written by
/// [`request_line::RequestLines`] (the same bytes, for a fraction of the cost), every other
/// line by tracing-subscriber's `Full` format; in JSON, by the same in front of its JSON format.
pub fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_buffer::Stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => {
            let full = tracing_subscriber::fmt::format()
                .with_target(false)
                .with_ansi(false);
            builder
                .with_ansi(false)
                .event_format(request_line::RequestLines {
                    other: full,
                    line: request_line::Text,
                })
                .try_init()
        }
        LogFormat::Json => {
            let json = tracing_subscriber::fmt::format()
                .with_target(false)
                .json()
                .flatten_event(true);
            builder
                .json()
                .event_format(request_line::RequestLines {
                    other: json,
                    line: request_line::Json,
                })
                .try_init()
        }
    };
}

/// Which listener served a request.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum Listener {
    /// The public API.
    Public,
    /// The admin listener.
    Admin,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    listener: Listener,
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    listener: Listener,
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Every series of decision 13.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    created: Family<KindLabels, Counter>,
    completed: Counter,
    refused: Family<ReasonLabels, Counter>,
    sessions: Family<StateLabels, Gauge>,
    subscribers: Gauge,
    open_connections: Gauge,
}

impl Metrics {
    /// A registry with every series, all at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("nox");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 100 µs to about 6.5 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 17))
        });
        let created = Family::<KindLabels, Counter>::default();
        let completed = Counter::default();
        let refused = Family::<ReasonLabels, Counter>::default();
        let sessions = Family::<StateLabels, Gauge>::default();
        let subscribers = Gauge::default();
        let open_connections = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by listener, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from the request head to the response, by listener and route template",
            latency.clone(),
        );
        registry.register(
            "link_sessions_created",
            "Link sessions created by this instance, by kind",
            created.clone(),
        );
        registry.register(
            "link_sessions_completed",
            "Link sessions completed through this instance (admin route and hosted flow)",
            completed.clone(),
        );
        registry.register(
            "requests_refused_by_limits",
            "Requests refused and connections closed by a limit (decision 12), by reason",
            refused.clone(),
        );
        registry.register(
            "link_sessions_stored",
            "Link sessions in the store (all instances), by state: pending, completed, expired (kept for the retention)",
            sessions.clone(),
        );
        registry.register(
            "v1_subscribers_stored",
            "v1 subscribers in the store (all instances)",
            subscribers.clone(),
        );
        registry.register(
            "open_connections",
            "Open client connections on both listeners",
            open_connections.clone(),
        );
        for kind in ["v2_supplier", "v2_manufacturer", "v1_supplier"] {
            let _ = created.get_or_create(&KindLabels { kind });
        }
        for reason in Refusal::ALL {
            let _ = refused.get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            });
        }
        Metrics {
            registry,
            requests,
            latency,
            created,
            completed,
            refused,
            sessions,
            subscribers,
            open_connections,
        }
    }

    fn record(&self, listener: Listener, route: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                listener,
                route,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { listener, route })
            .observe(seconds);
        match (route, status) {
            ("/v2/supplier/link-sessions", 201) => self.created_of("v2_supplier"),
            ("/v2/manufacturer/link-sessions", 201) => self.created_of("v2_manufacturer"),
            ("/users/{userId}/link", 201) => self.created_of("v1_supplier"),
            ("/admin/link-sessions/{token}/complete", 200) => {
                self.completed.inc();
            }
            _ => {}
        }
    }

    /// Counts a completion made outside the admin route (the hosted flow's sign-in).
    pub fn session_completed(&self) {
        self.completed.inc();
    }

    fn created_of(&self, kind: &'static str) {
        self.created.get_or_create(&KindLabels { kind }).inc();
    }

    /// Brings the connection gauge and the refusal counters up to the listeners' figures.
    fn read_limits(&self) {
        let listeners = [
            limits::counters(limits::Listener::Public),
            limits::counters(limits::Listener::Admin),
        ];
        let open: u64 = listeners.iter().map(|c| c.open_connections()).sum();
        self.open_connections
            .set(i64::try_from(open).unwrap_or(i64::MAX));
        for reason in Refusal::ALL {
            let total: u64 = listeners.iter().map(|c| c.refused_total(reason)).sum();
            let counter = self.refused.get_or_create(&ReasonLabels {
                reason: reason.as_str(),
            });
            let seen = counter.get();
            if total > seen {
                counter.inc_by(total - seen);
            }
        }
    }

    /// The Prometheus text exposition, with the store's gauges read at `now`.
    pub fn render(&self, authenticator: &Authenticator, now: i64) -> String {
        self.read_limits();
        match authenticator.session_counts(now) {
            Ok(counts) => {
                for (state, value) in [
                    ("pending", counts.pending),
                    ("completed", counts.completed),
                    ("expired", counts.expired),
                ] {
                    self.sessions
                        .get_or_create(&StateLabels { state })
                        .set(i64::try_from(value).unwrap_or(i64::MAX));
                }
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot count stored sessions"),
        }
        match authenticator.subscriber_count() {
            Ok(count) => {
                self.subscribers
                    .set(i64::try_from(count).unwrap_or(i64::MAX));
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot count stored subscribers"),
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::warn!("metrics: encoding failed");
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The route template of a path, for logs and metric labels: never the raw path.
pub fn route_template(listener: Listener, path: &str) -> &'static str {
    match (listener, path) {
        (_, "/health/alive") => "/health/alive",
        (_, "/health/ready") => "/health/ready",
        (Listener::Public, "/v2/supplier/link-sessions") => "/v2/supplier/link-sessions",
        (Listener::Public, "/v2/manufacturer/link-sessions") => "/v2/manufacturer/link-sessions",
        (Listener::Public, "/manufacturers/nox") => "/manufacturers/nox",
        (Listener::Public, "/ui") => "/ui",
        (Listener::Public, "/connect") => "/connect",
        (Listener::Public, "/ui/callback") => "/ui/callback",
        (Listener::Public, "/static/flow.css") => "/static/flow.css",
        (Listener::Public, _) if is_v1_link(path) => "/users/{userId}/link",
        (Listener::Admin, "/metrics") => "/metrics",
        (Listener::Admin, _) => match path.strip_prefix("/admin/link-sessions/") {
            Some(rest) if !rest.is_empty() && !rest.contains('/') => "/admin/link-sessions/{token}",
            Some(rest)
                if rest
                    .strip_suffix("/complete")
                    .is_some_and(|t| !t.is_empty() && !t.contains('/')) =>
            {
                "/admin/link-sessions/{token}/complete"
            }
            _ => "unmatched",
        },
        _ => "unmatched",
    }
}

fn is_v1_link(path: &str) -> bool {
    path.strip_prefix("/users/")
        .and_then(|rest| rest.strip_suffix("/link"))
        .is_some_and(|segment| !segment.contains('/'))
}

/// The request id to use: the client's, when it is 1 to 128 visible ASCII characters.
pub fn request_id(given: Option<&HeaderValue>) -> String {
    match given.map(HeaderValue::as_bytes) {
        Some(bytes)
            if (1..=128).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic()) =>
        {
            String::from_utf8_lossy(bytes).into_owned()
        }
        _ => {
            // An id must be unique, not secret: the thread's user-space generator (seeded from
            // the system's) spares a system call per request.
            let random: [u8; 16] = rand::random();
            let mut id = [0u8; 32];
            // Sixteen random bytes in hexadecimal, written into a buffer of their size (the
            // `hex` crate's `encode` builds its string a character at a time).
            match hex::encode_to_slice(random, &mut id) {
                Ok(()) => String::from_utf8_lossy(&id).into_owned(),
                Err(_) => hex::encode(random),
            }
        }
    }
}

/// The id of the caller that authenticated, put on the response by the API handler (for the
/// log line only), so that the key is not hashed a second time.
#[derive(Debug, Clone)]
pub struct CallerId(pub String);

/// The id of the caller a request's key belongs to, if any: for the log line of a request
/// refused before the handler knew its caller.
fn caller_id(authenticator: &Authenticator, key_headers: &KeyHeaders) -> Option<String> {
    let headers = key_headers.iter().filter_map(|(name, value)| {
        let value = value.as_ref()?.to_str().ok()?;
        Some((name.as_str(), value))
    });
    let digest = ApiKeyDigest::of_key(api_key_from_headers(headers)?);
    let callers = authenticator.callers();
    if let Ok(supplier) = callers.supplier_by_digest(&digest) {
        return Some(supplier.id.clone());
    }
    callers
        .manufacturer_by_digest(&digest)
        .ok()
        .map(|m| m.id.clone())
}

/// The two headers that can carry an API key, as a request had them (values shared, not copied).
type KeyHeaders = [(HeaderName, Option<HeaderValue>); 2];

async fn observe(
    state: Arc<AppState>,
    listener: Listener,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers().get("x-request-id"));
    let method: Method = request.method().clone();
    let route = route_template(listener, request.uri().path());
    // Only a request refused before the handler knew its caller needs its key hashed for the
    // log line; the two headers that can carry a key are kept (shared, not copied) for that.
    let key_headers: KeyHeaders = [header::AUTHORIZATION, HeaderName::from_static("x-api-key")]
        .map(|name| {
            let value = match listener {
                Listener::Public => request.headers().get(&name).cloned(),
                Listener::Admin => None,
            };
            (name, value)
        });
    let mut response = next.run(request).await;
    let caller = match response.extensions_mut().remove::<CallerId>() {
        Some(CallerId(id)) => Some(id),
        None if response.status().is_client_error() => {
            caller_id(&state.authenticator, &key_headers)
        }
        None => None,
    };
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.record(listener, route, status, seconds);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let latency_ms = seconds * 1000.0;
    let caller = caller.as_deref().unwrap_or("-");
    let listener = match listener {
        Listener::Public => "public",
        Listener::Admin => "admin",
    };
    if status >= 500 {
        let failure = response
            .extensions()
            .get::<crate::api::Failure>()
            .map_or("-", |f| f.0.as_str());
        tracing::warn!(request_id = %id, %method, route, status, latency_ms, caller, listener, failure, "request");
    } else {
        tracing::info!(request_id = %id, %method, route, status, latency_ms, caller, listener, "request");
    }
    response
}

/// The logging and metrics middleware of the public listener.
pub async fn observe_public(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    observe(state, Listener::Public, request, next).await
}

/// The logging and metrics middleware of the admin listener.
pub async fn observe_admin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    observe(state, Listener::Admin, request, next).await
}

/// `GET /metrics` on the admin listener.
pub async fn metrics_response(state: &Arc<AppState>) -> Response {
    let state_for_render = Arc::clone(state);
    let text = tokio::task::spawn_blocking(move || {
        let text = state_for_render.metrics.render(
            &state_for_render.authenticator,
            state_for_render.clock.now(),
        );
        crate::dispatcher::render_into(&state_for_render, text)
    })
    .await
    .unwrap_or_default();
    let mut response = Response::new(Body::from(text));
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates_never_carry_the_raw_path() {
        assert_eq!(
            route_template(Listener::Public, "/users/a%20b/link"),
            "/users/{userId}/link"
        );
        assert_eq!(
            route_template(Listener::Public, "/users/a/b/link"),
            "unmatched"
        );
        assert_eq!(
            route_template(Listener::Admin, "/admin/link-sessions/secret-token"),
            "/admin/link-sessions/{token}"
        );
        assert_eq!(
            route_template(
                Listener::Admin,
                "/admin/link-sessions/secret-token/complete"
            ),
            "/admin/link-sessions/{token}/complete"
        );
        assert_eq!(
            route_template(Listener::Public, "/admin/link-sessions/x"),
            "unmatched"
        );
        assert_eq!(route_template(Listener::Public, "/metrics"), "unmatched");
    }

    #[test]
    fn request_ids_are_honoured_only_when_visible_ascii_and_short() {
        assert_eq!(
            request_id(Some(&HeaderValue::from_static("abc-123"))),
            "abc-123"
        );
        let long = HeaderValue::from_str(&"a".repeat(129)).unwrap();
        assert_eq!(request_id(Some(&long)).len(), 32);
        assert_eq!(request_id(Some(&HeaderValue::from_static("a b"))).len(), 32);
        assert_ne!(request_id(None), request_id(None));
    }
}
