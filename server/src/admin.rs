//! The admin listener (spec decision 13): NOX's own side of the flow, apart from the public
//! API. Session lookup and completion go to the core's pure admin adapter (the same rules as
//! every other completion); health is answered here.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

use crate::AppState;
use crate::api::{OwnedRequest, into_axum};
use crate::health;

/// The largest body the admin listener reads (its routes take none).
const MAX_ADMIN_BODY: usize = 4096;

/// With an admin key configured, `/metrics` needs it too.
pub(crate) fn check_key(state: &AppState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
        .collect();
    let request = nox_authenticator::HttpRequest {
        method: "GET",
        target: "/metrics",
        headers: &pairs,
        body: b"",
    };
    state
        .authenticator
        .check_admin_key(&request)
        .map_err(|error| {
            let body = serde_json::json!({"error": error.public_message(), "code": error.code()});
            Box::new(into_axum(nox_authenticator::HttpResponse {
                status: error.status(),
                headers: vec![("content-type", "application/json".to_owned())],
                body: body.to_string().into_bytes(),
                failure: None,
                refusal: None,
            }))
        })
}

/// Serves one request of the admin listener.
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
    if uri.path() == "/metrics" {
        if method != Method::GET {
            return into_axum(nox_authenticator::HttpResponse {
                status: 405,
                headers: vec![("allow", "GET".to_owned())],
                body: br#"{"error":"Method not allowed","code":"method_not_allowed"}"#.to_vec(),
                failure: None,
                refusal: None,
            });
        }
        if let Err(refusal) = check_key(&state, &headers) {
            return *refusal;
        }
        return crate::telemetry::metrics_response(&state).await;
    }
    if uri.path().starts_with(crate::dispatcher::ADMIN_PREFIX) {
        return crate::dispatcher::admin_route(&state, &method, &uri, &headers).await;
    }
    let body = axum::body::to_bytes(body, MAX_ADMIN_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let request = OwnedRequest::new(method, &uri, &headers, body);
    let response = crate::api::run(&state, request, |state, request| {
        request.answer_admin(state)
    })
    .await;
    into_axum(response)
}
