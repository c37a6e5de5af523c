//! `GET /health/alive` and `GET /health/ready` (spec decision 13), on both listeners and
//! without a key: alive says the process answers; ready says the store answers too.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use crate::AppState;

/// How long a readiness check waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The health answer for `path`, if it is a health route.
pub async fn answer(state: &Arc<AppState>, method: &Method, path: &str) -> Option<Response> {
    let check = match path {
        "/health/alive" => Check::Alive,
        "/health/ready" => Check::Ready,
        _ => return None,
    };
    if method != Method::GET && method != Method::HEAD {
        let mut response = json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"Method not allowed"}"#,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET"));
        return Some(response);
    }
    let ok = match check {
        Check::Alive => true,
        Check::Ready => store_answers(state).await,
    };
    Some(if ok {
        json(StatusCode::OK, r#"{"status":"ok"}"#)
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"unavailable"}"#,
        )
    })
}

enum Check {
    Alive,
    Ready,
}

/// Whether the store answers within [`READY_TIMEOUT`]; the reason goes to the log.
pub async fn store_answers(state: &Arc<AppState>) -> bool {
    let state = Arc::clone(state);
    let ping = tokio::task::spawn_blocking(move || state.authenticator.ping_stores());
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(Ok(()))) => true,
        Ok(Ok(Err(error))) => {
            tracing::warn!(%error, "readiness: the store does not answer");
            false
        }
        Ok(Err(_)) | Err(_) => {
            tracing::warn!("readiness: the store did not answer in time");
            false
        }
    }
}

fn json(status: StatusCode, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}
