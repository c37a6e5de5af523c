//! Limits against hostile or runaway clients (spec decision 12), as far as they belong to the
//! server: connection time-outs, the connection cap, the shutdown grace period and the per-key
//! rate limit. The session caps and the device-id cap are the core's (counted in the store, so
//! that they hold across instances); the route, method, key, content-type and declared-length
//! checks on the request head are the core's preflight ([`nox_authenticator::Preflight`]).
//!
//! Each listener is served by [`serve`]: an accept loop over hyper's HTTP/1 connection
//! builder. Per connection:
//! - waiting for a request head (a fresh or an idle keep-alive connection) ends after
//!   `idle_timeout_seconds` (hyper's `header_read_timeout`, whose timer starts as soon as the
//!   connection waits for a head);
//! - once the first byte of a head has arrived, the whole head must follow within
//!   `header_timeout_seconds` (timed here, from the bytes the connection reads);
//! - once the head is in, the body and the answer must be done within
//!   `request_timeout_seconds` (the body read is timed in the handler, which answers 400
//!   `Invalid request body`; the connection is closed one second later if it is still busy),
//!   and a client that stops reading its answer is closed after the same time;
//! - at most `max_connections` connections are open per listener: at the cap the listener
//!   stops accepting (new connections wait in the kernel's backlog) until one closes;
//! - on shutdown, no new connection is accepted, idle ones close, busy ones finish their
//!   request (answered with `Connection: close`), and whatever is still open after
//!   `shutdown_grace_seconds` is closed.
//!
//! Every request carries its peer's socket address as an [`axum::extract::ConnectInfo`]
//! extension, for the per-address rate limit of the hosted flow's pages ([`AddressRateLimiter`]).
//!
//! For metrics: [`counters`] gives each listener's [`Counters`] (open connections, and
//! refusals by [`Refusal`] reason).

use std::hash::Hash;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, header};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use nox_authenticator::{ApiKeyDigest, Limits};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tower_service::Service as _;

/// Which listener a figure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The public API (`--listen`).
    Public,
    /// The admin listener (`--admin-listen`).
    Admin,
}

// The names and readers are for the metrics endpoint.

/// Why a limit refused a request or closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A connection sent part of a request head and not the rest in time (closed).
    HeaderTimeout,
    /// A request's body or answer did not finish in time (400, then closed).
    RequestTimeout,
    /// A body that could not be read completely: client gone, bad chunking (400).
    BodyUnreadable,
    /// A body over `max_body_bytes`, declared or read (413).
    BodyTooLarge,
    /// The per-key rate limit (429 `Rate limit exceeded`).
    RateLimited,
    /// The pending-session caps (429 `Too many pending link sessions`).
    TooManySessions,
    /// The listener was at `max_connections` when a connection was waiting to be accepted
    /// (counted once per wait, not per waiting connection).
    ConnectionCap,
}

impl Refusal {
    /// Every reason, in a fixed order.
    pub const ALL: [Refusal; 7] = [
        Refusal::HeaderTimeout,
        Refusal::RequestTimeout,
        Refusal::BodyUnreadable,
        Refusal::BodyTooLarge,
        Refusal::RateLimited,
        Refusal::TooManySessions,
        Refusal::ConnectionCap,
    ];

    /// The reason's name for a metric label (`header_timeout`, `rate_limited`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::HeaderTimeout => "header_timeout",
            Refusal::RequestTimeout => "request_timeout",
            Refusal::BodyUnreadable => "body_unreadable",
            Refusal::BodyTooLarge => "body_too_large",
            Refusal::RateLimited => "rate_limited",
            Refusal::TooManySessions => "too_many_sessions",
            Refusal::ConnectionCap => "connection_cap",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Live figures of one listener, for a Prometheus gauge and counter: read them with
/// [`Counters::open_connections`] and [`Counters::refused_total`] whenever metrics are scraped
/// (`telemetry::Metrics::render`). Lock-free; reading never blocks a request.
#[derive(Debug)]
pub struct Counters {
    open_connections: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl Counters {
    const fn new() -> Counters {
        Counters {
            open_connections: AtomicU64::new(0),
            refused: [const { AtomicU64::new(0) }; Refusal::ALL.len()],
        }
    }

    /// Connections open right now (a gauge).
    pub fn open_connections(&self) -> u64 {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// Requests refused, or connections closed, for `reason` since start (a counter).
    pub fn refused_total(&self, reason: Refusal) -> u64 {
        self.refused
            .get(reason.index())
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }

    /// Counts one refusal.
    pub fn refuse(&self, reason: Refusal) {
        if let Some(count) = self.refused.get(reason.index()) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

static PUBLIC: Counters = Counters::new();
static ADMIN: Counters = Counters::new();

/// The live figures of `listener`.
pub fn counters(listener: Listener) -> &'static Counters {
    match listener {
        Listener::Public => &PUBLIC,
        Listener::Admin => &ADMIN,
    }
}

/// A keyed GCRA limiter (the `governor` crate, on the monotonic clock) at the rate of
/// `requests_per_second_per_key` with bursts of `burst_per_key`; none when the rate is 0.
#[derive(Debug)]
struct Keyed<K: Hash + Eq + Clone + Send + Sync> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone + Send + Sync> Keyed<K> {
    fn new(limits: &Limits) -> Keyed<K> {
        let clamp = |n: u64| NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX));
        let limiter = clamp(limits.requests_per_second_per_key).map(|rate| {
            let burst = clamp(limits.burst_per_key).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Keyed {
            limiter,
            clock: DefaultClock::default(),
        }
    }

    fn check(&self, key: &K) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs()
                .saturating_add(u64::from(wait.subsec_nanos() > 0))
                .max(1)
        })
    }
}

/// The per-key rate limit (`requests_per_second_per_key`, `burst_per_key`), GCRA through the
/// `governor` crate on the monotonic clock. It counts on the digest of a key that
/// authenticated ([`nox_authenticator::Preflight::caller_key`]), so its table holds at most
/// one entry per configured caller: random keys never reach it.
#[derive(Debug)]
pub struct KeyRateLimiter(Keyed<ApiKeyDigest>);

impl KeyRateLimiter {
    /// The limiter for `limits` (none when `requests_per_second_per_key` is 0).
    pub fn new(limits: &Limits) -> KeyRateLimiter {
        KeyRateLimiter(Keyed::new(limits))
    }

    /// `Ok` if the key may send a request now (and counts it); otherwise the whole seconds to
    /// wait, for `Retry-After` (at least 1).
    pub fn check(&self, key: &ApiKeyDigest) -> Result<(), u64> {
        self.0.check(key)
    }
}

/// Addresses the per-address table holds before it forgets the ones whose budget is full
/// again (they would be allowed anyway).
const ADDRESSES_KEPT: usize = 100_000;

/// The rate limit per client address (spec decision 12's rate, per token and per client
/// address on the hosted flow's pages): the same rate and burst as per API key, counted on
/// the socket's peer address (the spec names no trusted proxy, so no forwarding header is
/// read). An IPv6 client counts by its /64 network (one host usually holds a whole /64), an
/// IPv4-mapped IPv6 address as its IPv4 address. The table forgets addresses whose budget
/// is full again once it holds [`ADDRESSES_KEPT`] of them, so a flood from many addresses
/// cannot grow it without bound.
#[derive(Debug)]
pub struct AddressRateLimiter(Keyed<IpAddr>);

impl AddressRateLimiter {
    /// The limiter for `limits` (none when `requests_per_second_per_key` is 0).
    pub fn new(limits: &Limits) -> AddressRateLimiter {
        AddressRateLimiter(Keyed::new(limits))
    }

    /// `Ok` if the address may send a request now (and counts it); otherwise the whole
    /// seconds to wait, for `Retry-After` (at least 1).
    pub fn check(&self, address: IpAddr) -> Result<(), u64> {
        if let Some(limiter) = &self.0.limiter
            && limiter.len() >= ADDRESSES_KEPT
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.0.check(&client_network(address))
    }
}

/// The address a client is counted by: an IPv4 address as is, an IPv6 one by its /64.
fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

/// The peer address of a request served by [`serve`], if it carries one.
pub fn peer_address<B>(request: &axum::http::Request<B>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

/// The connection limits of `limits`, as durations.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// The head, once begun, must be complete within this.
    pub header: Duration,
    /// The body and the answer, once the head is in, must be done within this.
    pub request: Duration,
    /// A connection waiting for a request head is closed after this.
    pub idle: Duration,
    /// Open connections per listener.
    pub max_connections: usize,
    /// After a shutdown signal, connections still open after this are closed.
    pub grace: Duration,
}

impl ConnectionLimits {
    /// The connection part of the config's `"limits"`.
    pub fn new(limits: &Limits) -> ConnectionLimits {
        ConnectionLimits {
            header: Duration::from_secs(limits.header_timeout_seconds),
            request: Duration::from_secs(limits.request_timeout_seconds),
            idle: Duration::from_secs(limits.idle_timeout_seconds),
            max_connections: usize::try_from(limits.max_connections)
                .unwrap_or(usize::MAX)
                .min(Semaphore::MAX_PERMITS),
            grace: Duration::from_secs(limits.shutdown_grace_seconds),
        }
    }
}

/// Serves `app` on `listener` under `limits` until `stop` turns true, then drains: returns
/// once every connection has closed, or once the grace period is over (the connections left
/// are then closed by dropping the runtime).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    which: Listener,
    mut stop: watch::Receiver<bool>,
) {
    let counters = counters(which);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                counters.refuse(Refusal::ConnectionCap);
                tokio::select! {
                    permit = Arc::clone(&slots).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    _ = stop.wait_for(|stopped| *stopped) => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            counters.open_connections.fetch_add(1, Ordering::Relaxed);
            serve_connection(stream, peer, app, limits, counters, stop).await;
            counters.open_connections.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    // Every open connection holds a permit: all of them back means all connections closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(limits.grace, slots.acquire_many(all)).await;
}

/// What one connection is doing, shared by its socket wrapper, its service and its watcher.
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    /// Milliseconds since `epoch` + 1 when the current head began (0: no head under way).
    head_since: AtomicU64,
    /// … when the request in service began (0: none).
    request_since: AtomicU64,
    /// … when a write began to wait for the client to read (0: not waiting).
    write_blocked_since: AtomicU64,
    draining: AtomicBool,
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            head_since: AtomicU64::new(0),
            request_since: AtomicU64::new(0),
            write_blocked_since: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn stamp(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn at(&self, stamp: u64, after: Duration) -> Option<Instant> {
        (stamp != 0).then(|| self.epoch + Duration::from_millis(stamp - 1) + after)
    }

    /// When the connection must be closed, if it is doing anything timed, and why.
    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, Refusal)> {
        let request = self
            .at(
                self.request_since.load(Ordering::Acquire),
                limits.request + Duration::from_secs(1),
            )
            .map(|at| (at, Refusal::RequestTimeout));
        let head = self
            .at(self.head_since.load(Ordering::Acquire), limits.header)
            .map(|at| (at, Refusal::HeaderTimeout));
        let write = self
            .at(
                self.write_blocked_since.load(Ordering::Acquire),
                limits.request,
            )
            .map(|at| (at, Refusal::RequestTimeout));
        [request.or(head), write]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at)
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    counters: &'static Counters,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let activity = Arc::clone(&activity);
            let mut app = app.clone();
            activity.head_since.store(0, Ordering::Release);
            activity
                .request_since
                .store(activity.stamp(), Ordering::Release);
            activity.changed.notify_one();
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            async move {
                let response = app.call(request).await;
                activity.request_since.store(0, Ordering::Release);
                activity.changed.notify_one();
                response.map(|mut response| {
                    if activity.draining.load(Ordering::Acquire) {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    response
                })
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(connection);
    loop {
        let deadline = activity.deadline(&limits);
        let sleep = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = connection.as_mut() => return,
            () = sleep => {
                // Still due (the activity may have moved on while this slept)?
                if let Some((at, reason)) = activity.deadline(&limits)
                    && at <= Instant::now()
                {
                    counters.refuse(reason);
                    return; // dropping the connection closes it
                }
            }
            () = activity.changed.notified() => {}
            _ = stop.wait_for(|stopped| *stopped), if !activity.draining.load(Ordering::Acquire) => {
                activity.draining.store(true, Ordering::Release);
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A socket that tells its [`Activity`] when a request head begins and when the client stops
/// reading.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let activity = &self.activity;
            if activity.request_since.load(Ordering::Acquire) == 0
                && activity.head_since.load(Ordering::Acquire) == 0
            {
                activity
                    .head_since
                    .store(activity.stamp(), Ordering::Release);
                activity.changed.notify_one();
            }
        }
        poll
    }
}

impl Watched {
    fn track_write<T>(&self, poll: Poll<T>) -> Poll<T> {
        let blocked = &self.activity.write_blocked_since;
        if poll.is_pending() {
            if blocked.load(Ordering::Acquire) == 0 {
                blocked.store(self.activity.stamp(), Ordering::Release);
                self.activity.changed.notify_one();
            }
        } else if blocked.load(Ordering::Acquire) != 0 {
            blocked.store(0, Ordering::Release);
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.track_write(poll)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.track_write(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.track_write(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Reads a request body of at most `limit` bytes within `within`.
pub async fn read_body(body: axum::body::Body, limit: usize, within: Duration) -> BodyRead {
    use http_body_util::BodyExt as _;
    let read = async move {
        let mut body = body;
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return BodyRead::Unreadable;
            };
            if let Ok(data) = frame.into_data() {
                if bytes.len().saturating_add(data.len()) > limit {
                    return BodyRead::TooLarge;
                }
                bytes.extend_from_slice(&data);
            }
        }
        BodyRead::Complete(bytes)
    };
    tokio::time::timeout(within, read)
        .await
        .unwrap_or(BodyRead::TimedOut)
}

/// What [`read_body`] got.
#[derive(Debug)]
pub enum BodyRead {
    /// The whole body.
    Complete(Vec<u8>),
    /// More than the limit (reading stopped there).
    TooLarge,
    /// The body did not arrive in time.
    TimedOut,
    /// The client went away or sent a malformed body.
    Unreadable,
}
