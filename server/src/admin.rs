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
