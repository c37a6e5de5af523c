//! The peer of the reference server in the speed comparison of issue 18: a bare axum endpoint
//! for `POST /v2/supplier/link-sessions` written the lean way. It parses the body into a
//! `serde_json::Value`, checks the API key with a plain comparison, draws the token from the
//! operating system (one `getrandom`, as the library does) and answers 201 with a body of the
//! same fields, order and size as the server's. No validation, no store, no limits, no logs, no
//! metrics: the floor the server is measured against, on the same tokio runtime settings (a
//! multi-threaded runtime with the default number of workers) and the same allocator.
//!
//! `bare_axum [ADDR]` prints `listening on http://IP:PORT` first, as the server does.
//! `scripts/prove/server_vs_axum.sh` runs both under wrk, in interleaved rounds, and asserts
//! that both answer the same request with bodies of the same shape.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng;
use rand::rngs::SysRng;
use serde_json::{Value, json};

const API_KEY: &str = "supplier-key-acme";
/// The server's clock is not part of the comparison: a fixed time, as in the core benchmarks.
const NOW: i64 = 1_703_123_456;

async fn create(headers: HeaderMap, body: Bytes) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"Invalid API key"}"#).into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"error":"Invalid request body"}"#,
        )
            .into_response();
    };
    let mut bytes = [0u8; 32];
    if SysRng.try_fill_bytes(&mut bytes).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let language = request
        .get("language")
        .and_then(Value::as_str)
        .unwrap_or("nl");
    let response = json!({
        "link_url": format!("https://auth.nox.energy/ui?token={token}&language={language}"),
        "link_token": token,
        "brand": request.get("brand"),
        "language": language,
        "asset_type": request.get("asset_type"),
        "redirect_url": request.get("redirect_url"),
        "supplier": "Acme Energy",
        "supplier_user_id": request.get("user_id"),
        "completed_at": null,
        "created_at": NOW,
        "expires_at": NOW + 600,
    });
    let body = serde_json::to_vec(&response).unwrap_or_default();
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            println!("listening on http://{}", listener.local_addr()?);
            let app = Router::new().route("/v2/supplier/link-sessions", post(create));
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
        })
}
