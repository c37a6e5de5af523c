//! The reference server: the NOX Authenticator API over HTTP, serving the pure adapter of the
//! `nox-authenticator` crate with axum and tokio, on a durable store.
//!
//! ```text
//! nox-authenticator-server [--listen ADDR] [--config FILE] [--store STORE] [--demo]
//!                          [--clock-speed FACTOR]
//! ```
//!
//! Every option also reads `NOX_<OPTION>` (`NOX_LISTEN`, `NOX_CONFIG`, `NOX_STORE`, …); a flag
//! wins. The first line on stdout is `listening on http://IP:PORT` (useful with `--listen
//! 127.0.0.1:0`). Without `--config` it runs on an embedded demo configuration and prints its
//! (public) keys, but only on a loopback address unless `--demo` is given.

mod admin;
mod api;
mod clock;
mod dispatcher;
mod flow;
mod health;
mod limits;
mod maintenance;
mod telemetry;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use clap::Parser;
use nox_authenticator::{Authenticator, Config};
use nox_authenticator_store::StoreUrl;

use crate::clock::Clock;

const DEMO_CONFIG: &str = include_str!("../demo-config.json");

/// Where the server keeps its state when neither `--store` nor the config says (decision 11).
const DEFAULT_STORE: &str = "sqlite:nox-authenticator.db";

/// Serve the NOX Authenticator API (v2 supplier and manufacturer link sessions, v1 supplier
/// link and v1 manufacturer connect).
#[derive(Debug, Parser)]
#[command(name = "nox-authenticator-server", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "NOX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Address of the admin listener (session lookup and completion, metrics, health); without
    /// an admin key in the config it must be a loopback address.
    #[arg(long, env = "NOX_ADMIN_LISTEN", default_value = "127.0.0.1:8081")]
    admin_listen: SocketAddr,
    /// JSON configuration (callers, keys or key digests, redirect URLs, link base URLs, store,
    /// limits). Without it, a demo configuration with public keys is used.
    #[arg(long, env = "NOX_CONFIG")]
    config: Option<PathBuf>,
    /// Where sessions and subscribers are kept: `memory`, `sqlite:PATH` or a `postgres://`
    /// URL. Wins over the config's `store`; the default is `sqlite:nox-authenticator.db`.
    #[arg(long, env = "NOX_STORE")]
    store: Option<String>,
    /// Run the demo configuration even on a non-loopback address (its keys are public).
    #[arg(long, env = "NOX_DEMO")]
    demo: bool,
    /// Log lines as `text` or `json` (the level follows `RUST_LOG`, default `info`).
    #[arg(long, env = "NOX_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: telemetry::LogFormat,
    /// Test aid: run the server's clock FACTOR times faster than real time (sessions expire
    /// after 600 / FACTOR real seconds).
    #[arg(long, env = "NOX_CLOCK_SPEED", default_value_t = 1.0)]
    clock_speed: f64,
}

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The core, on its stores.
    pub authenticator: Authenticator,
    /// The server's clock.
    pub clock: Clock,
    /// Whether calls into the store block (they then run on the blocking pool).
    pub blocking_store: bool,
    /// The per-key rate limit (spec decision 12).
    pub rate_limiter: limits::KeyRateLimiter,
    /// The Prometheus series.
    pub metrics: telemetry::Metrics,
    /// The outbox of completion events (spec decision 20), in the sessions' store.
    pub outbox: Arc<dyn nox_authenticator::store::EventOutbox>,
    /// The hosted flow's pending OAuth 2.0 sign-ins, in the sessions' store.
    pub oauth_states: Arc<dyn nox_authenticator_store::OAuthStateStore>,
    /// Pruning of the outbox's delivered and failed events.
    pub outbox_retention: Arc<dyn nox_authenticator_store::OutboxRetention>,
    /// The webhook delivery series.
    pub deliveries: dispatcher::DeliveryMetrics,
}

/// A start-up failure: what to print, and the exit status (2: the operator must fix a setting).
struct Fatal(String, u8);

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fatal(message, status)) => {
            eprintln!("error: {message}");
            ExitCode::from(status)
        }
    }
}

fn run(args: Args) -> Result<(), Fatal> {
    telemetry::init_logs(args.log_format);
    if !(args.clock_speed.is_finite() && args.clock_speed > 0.0) {
        return Err(Fatal("--clock-speed must be a positive number".into(), 2));
    }
    let demo = args.config.is_none();
    if demo && !args.demo && !args.listen.ip().is_loopback() {
        return Err(Fatal(
            format!(
                "refusing to serve the demo configuration (public keys) on {}: give --config, \
                 listen on a loopback address, or pass --demo",
                args.listen
            ),
            2,
        ));
    }
    let (config_text, source) = match &args.config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => (text, path.display().to_string()),
            Err(e) => return Err(Fatal(format!("cannot read {}: {e}", path.display()), 2)),
        },
        None => (DEMO_CONFIG.to_owned(), "demo configuration".to_owned()),
    };
    let config = Config::from_json(&config_text).map_err(|e| Fatal(format!("{source}: {e}"), 2))?;
    flow::configure(&config).map_err(|e| Fatal(format!("{source}: {e}"), 2))?;
    let store_setting = args
        .store
        .clone()
        .or_else(|| config.store.clone())
        .unwrap_or_else(|| DEFAULT_STORE.to_owned());
    let store_name = StoreUrl::parse(&store_setting)
        .map(|url| url.redacted())
        .map_err(|e| Fatal(e.to_string(), 2))?;
    let stores = nox_authenticator_store::open(&store_setting, config.session_retention_seconds)
        .map_err(|e| Fatal(e.to_string(), 2))?;
    let blocking_store = stores.blocking;
    let outbox = Arc::clone(&stores.outbox);
    let oauth_states = Arc::clone(&stores.oauth_states);
    let outbox_retention = Arc::clone(&stores.outbox_retention);
    let authenticator = stores
        .apply(Authenticator::builder(config))
        .build()
        .map_err(|e| Fatal(format!("{source}: {e}"), 2))?;
    if authenticator.admin_keys().is_empty() && !args.admin_listen.ip().is_loopback() {
        return Err(Fatal(
            format!(
                "refusing to bind the admin listener to {} without an admin key: add \"admin\": \
                 {{\"api_key_sha256\": …}} to the config, or listen on a loopback address",
                args.admin_listen
            ),
            2,
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(telemetry::on_worker_park)
        .on_thread_stop(telemetry::on_thread_stop)
        .build()
        .map_err(|e| Fatal(format!("cannot start the async runtime: {e}"), 1))?;
    let rate_limiter = limits::KeyRateLimiter::new(authenticator.limits());
    let state = Arc::new(AppState {
        authenticator,
        rate_limiter,
        clock: Clock::new(args.clock_speed),
        blocking_store,
        metrics: telemetry::Metrics::new(),
        outbox,
        oauth_states,
        outbox_retention,
        deliveries: dispatcher::DeliveryMetrics::new(),
    });
    let served = runtime.block_on(serve(
        (args.listen, args.admin_listen),
        state,
        demo,
        &source,
        &store_name,
    ));
    // Past the grace period: connections still open, and store calls still running on the
    // blocking pool, are abandoned rather than waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    // Workers it gave up on may still hold lines.
    telemetry::flush_logs();
    served.map_err(|e| Fatal(e.to_string(), 1))
}

async fn serve(
    (listen, admin_listen): (SocketAddr, SocketAddr),
    state: Arc<AppState>,
    demo: bool,
    source: &str,
    store: &str,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let admin_listener = tokio::net::TcpListener::bind(admin_listen).await?;
    let bound = listener.local_addr()?;
    println!("listening on http://{bound}");
    println!("admin listening on http://{}", admin_listener.local_addr()?);
    println!("config: {source}; store: {store}");
    tracing::info!(
        config = source,
        store,
        public = %bound,
        admin = %admin_listener.local_addr()?,
        "started"
    );
    if demo {
        println!("demo mode (no --config): these keys are public, never use them in production");
        println!("  supplier      x-api-key: demo-supplier-key      (Acme Energy)");
        println!("  manufacturer  x-api-key: demo-manufacturer-key  (Acme Manufacturing)");
        println!(
            "  registered redirect URLs: https://your-app.com/callback, http://127.0.0.1/callback"
        );
    }
    let connection_limits = limits::ConnectionLimits::new(state.authenticator.limits());
    tokio::spawn(maintenance::evict_expired_sessions(Arc::clone(&state)));
    tokio::spawn(dispatcher::run(Arc::clone(&state)));
    let admin_app = Router::new()
        .fallback(admin::handle)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            telemetry::observe_admin,
        ))
        .with_state(Arc::clone(&state));
    let app = Router::new()
        .merge(flow::router(Arc::clone(&state)))
        .fallback(api::handle)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            telemetry::observe_public,
        ))
        .with_state(state);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let public = limits::serve(
        listener,
        app,
        connection_limits,
        limits::Listener::Public,
        stopped.clone(),
    );
    let admin = limits::serve(
        admin_listener,
        admin_app,
        connection_limits,
        limits::Listener::Admin,
        stopped,
    );
    let signal = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    tokio::join!(public, admin, signal);
    Ok(())
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
