//! The reference server: the NOX Authenticator API over HTTP, serving the pure adapter of the
//! `nox-authenticator` crate with axum and tokio.
//!
//! ```text
//! nox-authenticator-server [--listen ADDR] [--config FILE] [--clock-speed FACTOR]
//! ```
//!
//! The first line on stdout is `listening on http://IP:PORT` (useful with `--listen
//! 127.0.0.1:0`). Without `--config` it runs on an embedded demo configuration and prints its
//! (public) keys.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use clap::Parser;
use nox_authenticator::{Authenticator, Config, HttpRequest, system_now};

const DEMO_CONFIG: &str = include_str!("../demo-config.json");

/// Serve the NOX Authenticator API (v2 supplier and manufacturer link sessions, v1 supplier
/// link and v1 manufacturer connect).
#[derive(Debug, Parser)]
#[command(name = "nox-authenticator-server", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// JSON configuration (callers, keys or key digests, redirect URLs, link base URLs). Without
    /// it, a demo configuration with public keys is used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Test aid: run the server's clock FACTOR times faster than real time (sessions expire
    /// after 600 / FACTOR real seconds).
    #[arg(long, default_value_t = 1.0)]
    clock_speed: f64,
}

/// The server's clock: real time, optionally sped up from the moment of start.
#[derive(Debug)]
struct Clock {
    start_unix: i64,
    started: Instant,
    speed: f64,
}

impl Clock {
    fn now(&self) -> i64 {
        let elapsed = self.started.elapsed().as_secs_f64() * self.speed;
        // Float to integer `as` saturates; elapsed is finite and non-negative.
        self.start_unix.saturating_add(elapsed as i64)
    }
}

#[derive(Debug)]
struct AppState {
    authenticator: Authenticator,
    clock: Clock,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.clock_speed.is_finite() && args.clock_speed > 0.0) {
        eprintln!("error: --clock-speed must be a positive number");
        return ExitCode::from(2);
    }
    let (config_text, source) = match &args.config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => (text, path.display().to_string()),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => (DEMO_CONFIG.to_owned(), "demo configuration".to_owned()),
    };
    let authenticator = match Config::from_json(&config_text).and_then(Authenticator::new) {
        Ok(authenticator) => authenticator,
        Err(e) => {
            eprintln!("error: {source}: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = Arc::new(AppState {
        authenticator,
        clock: Clock {
            start_unix: system_now(),
            started: Instant::now(),
            speed: args.clock_speed,
        },
    });
    match runtime.block_on(serve(args.listen, state, args.config.is_none())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: SocketAddr, state: Arc<AppState>, demo: bool) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let bound = listener.local_addr()?;
    println!("listening on http://{bound}");
    if demo {
        println!("demo mode (no --config): these keys are public, never use them in production");
        println!("  supplier      x-api-key: demo-supplier-key      (Acme Energy)");
        println!("  manufacturer  x-api-key: demo-manufacturer-key  (Acme Manufacturing)");
        println!(
            "  registered redirect URLs: https://your-app.com/callback, http://127.0.0.1/callback"
        );
    }
    let app = Router::new().fallback(handle).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Every request goes to the core's HTTP adapter, which does routing, 404 and 405 itself.
async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = state.authenticator.max_body_bytes();
    // Read at most one byte past the limit; a longer body is passed on as limit + 1 bytes so
    // that the adapter answers 413 in its own order (after the key and content-type checks).
    let body = axum::body::to_bytes(body, limit.saturating_add(1))
        .await
        .map_or_else(|_| vec![0; limit.saturating_add(1)], |bytes| bytes.to_vec());
    let owned: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let pairs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str());
    let response = state.authenticator.handle_http(
        &HttpRequest {
            method: method.as_str(),
            target,
            headers: &pairs,
            body: &body,
        },
        state.clock.now(),
    );
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
