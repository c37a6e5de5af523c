//! The public API listener: every request goes to the core's pure HTTP adapter, which does
//! routing, 404 and 405 itself. Calls into a blocking store (SQLite, PostgreSQL) run on tokio's
//! blocking pool, so the async runtime never waits on a database.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use nox_authenticator::{HttpRequest, HttpResponse};

use crate::AppState;
use crate::health;

/// A request as owned data, so that it can move to the blocking pool.
pub struct OwnedRequest {
    method: Method,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl OwnedRequest {
    /// Copies what the core's adapters read out of a request.
    pub fn new(method: Method, uri: &Uri, headers: &HeaderMap, body: Vec<u8>) -> OwnedRequest {
        OwnedRequest {
            method,
            target: uri
                .path_and_query()
                .map_or_else(|| uri.path(), |pq| pq.as_str())
                .to_owned(),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&HttpRequest<'_>) -> R) -> R {
        let pairs: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        f(&HttpRequest {
            method: self.method.as_str(),
            target: &self.target,
            headers: &pairs,
            body: &self.body,
        })
    }

    /// The public API's answer.
    pub fn answer(&self, state: &AppState) -> HttpResponse {
        self.with(|request| state.authenticator.handle_http(request, state.clock.now()))
    }

    /// The admin API's answer.
    pub fn answer_admin(&self, state: &AppState) -> HttpResponse {
        self.with(|request| {
            state
                .authenticator
                .handle_admin_http(request, state.clock.now())
        })
    }
}

/// Runs `answer` where it may block: on the blocking pool for a database store, inline for
/// the memory store (which never blocks).
pub async fn run(
    state: &Arc<AppState>,
    request: OwnedRequest,
    answer: fn(&AppState, &OwnedRequest) -> HttpResponse,
) -> HttpResponse {
    if state.blocking_store {
        let state = Arc::clone(state);
        tokio::task::spawn_blocking(move || answer(&state, &request))
            .await
            .unwrap_or_else(|_| internal_error())
    } else {
        answer(state, &request)
    }
}

/// Serves one request of the public API.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(response) = health::answer(&state, &method, uri.path()).await {
        return response;
    }
    let limit = state.authenticator.max_body_bytes();
    // Read at most one byte past the limit; a longer body is passed on as limit + 1 bytes so
    // that the adapter answers 413 in its own order (after the key and content-type checks).
    let body = axum::body::to_bytes(body, limit.saturating_add(1))
        .await
        .map_or_else(|_| vec![0; limit.saturating_add(1)], |bytes| bytes.to_vec());
    let request = OwnedRequest::new(method, &uri, &headers, body);
    let response = run(&state, request, |state, request| request.answer(state)).await;
    into_axum(response)
}

fn internal_error() -> HttpResponse {
    HttpResponse {
        status: 500,
        headers: vec![("content-type", "application/json".to_owned())],
        body: br#"{"error":"Internal server error"}"#.to_vec(),
    }
}

/// The core's response as an axum response.
pub fn into_axum(response: HttpResponse) -> Response {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().insert(name, value);
        }
    }
    out
}
