//! Delivery of completion events (spec decision 20): a background task takes due events from
//! the store's outbox with a lease, posts each to its caller's webhook, signed per Standard
//! Webhooks at each attempt, and records the outcome (delivered, retry at the next step of the
//! schedule with a little jitter, or failed after the last one).
//!
//! - **Never blocks a request**: store calls run on the blocking pool, attempts are async, and
//!   at most [`TOTAL_CONCURRENCY`] run at once, [`ENDPOINT_CONCURRENCY`] per caller, and one at
//!   a time to an endpoint whose last attempt failed (until one succeeds), so a slow or dead
//!   endpoint never holds up another caller's events: a failing one takes one of the attempts
//!   in flight, and [`RESERVED_FOR_IDLE_CALLERS`] of them are kept for callers with none in
//!   flight (before their first failures, eight dead endpoints would otherwise take all 64).
//!   A caller has at most [`CALLER_QUEUE`] events waiting or in flight here ([`FAILING_QUEUE`]
//!   while failing); events of a caller at that mark are given back for a second.
//! - **No attempt outside its lease**: an event waits for its turn under its lease (three
//!   time-outs and 15 s from its claim); one that could not start early enough to finish
//!   within it (a time-out and 10 s before it runs out) is given back instead of attempted,
//!   so another instance never claims an event that is still being attempted.
//! - **Never loses an event**: an event leaves the outbox only once an attempt's outcome is
//!   recorded; what is in flight at a crash or shutdown keeps its lease, which runs out, and
//!   the event is claimed again (after a restart, or by another instance).
//! - **One instance per attempt**: the lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and a
//!   record is accepted only from the lease's holder.
//! - **Addresses**: every attempt resolves the host itself and connects only to checked
//!   addresses; a host name resolving to a private, loopback, link-local or otherwise
//!   non-public address is refused, recorded with the reason. IP literals are checked the same
//!   way, except loopback ones (`http://127.0.0.1:…`, which the config allows for tests). The
//!   HTTP client of a host name is pinned to the addresses checked for the attempt; it is kept
//!   (with its pooled connections) for the next attempt to the same host only while the host
//!   resolves to the same set of addresses ([`PinnedClients`]), so the check stays per attempt
//!   and a client never reaches an address that this attempt did not check.
//! - **The answer**: no redirects followed, at most [`MAX_ANSWER_BYTES`] read, none logged.
//!   One log line per attempt: event id, endpoint host, status, latency.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nox_authenticator::config::{WebhookEndpoint, WebhookSettings};
use nox_authenticator::store::{Attempt, AttemptOutcome, Delivery};
use nox_authenticator::webhook::webhook_headers;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::AppState;

/// Attempts in flight at once, over all endpoints.
pub const TOTAL_CONCURRENCY: usize = 64;
/// Attempts in flight at once to one caller's endpoint.
pub const ENDPOINT_CONCURRENCY: usize = 8;
/// Of [`TOTAL_CONCURRENCY`], the attempts kept for callers with none in flight.
pub const RESERVED_FOR_IDLE_CALLERS: usize = 16;
/// Events (waiting or attempting) per caller in this process; events claimed beyond that are
/// given back.
pub const CALLER_QUEUE: usize = 64;
/// [`CALLER_QUEUE`] while the caller's last attempt failed (one attempt at a time then).
pub const FAILING_QUEUE: usize = 3;
/// What an attempt may still need of its lease when it starts: the time-out, and this for
/// resolving the host and recording the outcome.
const LEASE_MARGIN: Duration = Duration::from_secs(10);
/// The most of an answer that is read.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Events claimed at once.
const CLAIM_BATCH: usize = 32;
/// How often the outbox is polled when nothing was due (real time).
const POLL: Duration = Duration::from_millis(200);

/// The delivery counters and queue gauges, rendered after the other metrics.
#[derive(Debug)]
pub struct DeliveryMetrics {
    registry: Registry,
    deliveries: Family<OutcomeLabels, Counter>,
    depth: Gauge,
    oldest_age: Gauge,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

impl DeliveryMetrics {
    /// Every series at zero.
    pub fn new() -> DeliveryMetrics {
        let mut registry = Registry::with_prefix("nox");
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        let depth = Gauge::default();
        let oldest_age = Gauge::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, retry, failed)",
            deliveries.clone(),
        );
        registry.register(
            "webhook_queue_depth",
            "Completion events waiting for delivery (due or scheduled for a retry)",
            depth.clone(),
        );
        registry.register(
            "webhook_queue_oldest_age_seconds",
            "Age of the oldest completion event waiting for delivery",
            oldest_age.clone(),
        );
        for outcome in ["delivered", "retry", "failed"] {
            let _ = deliveries.get_or_create(&OutcomeLabels { outcome });
        }
        DeliveryMetrics {
            registry,
            deliveries,
            depth,
            oldest_age,
        }
    }
}

impl Default for DeliveryMetrics {
    fn default() -> Self {
        DeliveryMetrics::new()
    }
}

/// Adds the delivery series to a rendered exposition (before its `# EOF`), reading the queue
/// from the store (blocking: call on the blocking pool).
pub fn render_into(state: &AppState, mut text: String) -> String {
    let metrics = &state.deliveries;
    match state.outbox.queue_stats(state.clock.now()) {
        Ok(stats) => {
            metrics
                .depth
                .set(i64::try_from(stats.depth).unwrap_or(i64::MAX));
            let age = stats
                .oldest_created_at
                .map_or(0, |at| state.clock.now().saturating_sub(at).max(0));
            metrics.oldest_age.set(age);
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read the webhook outbox"),
    }
    let mut extra = String::new();
    if prometheus_client::encoding::text::encode(&mut extra, &metrics.registry).is_err() {
        return text;
    }
    let extra = extra.strip_suffix("# EOF\n").unwrap_or(&extra);
    match text.rfind("# EOF") {
        Some(at) => text.insert_str(at, extra),
        None => text.push_str(extra),
    }
    text
}

/// What is in flight in this process (so that an event claimed again while it is attempted
/// here is not attempted twice), and each caller's endpoint.
struct InFlight {
    ids: Mutex<HashSet<String>>,
    per_endpoint: Mutex<HashMap<String, Arc<Endpoint>>>,
    /// Attempts at once over all endpoints, less [`RESERVED_FOR_IDLE_CALLERS`].
    shared: Arc<Semaphore>,
    /// The attempts kept for callers with none in flight.
    reserved: Arc<Semaphore>,
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight {
            ids: Mutex::default(),
            per_endpoint: Mutex::default(),
            shared: Arc::new(Semaphore::new(
                TOTAL_CONCURRENCY - RESERVED_FOR_IDLE_CALLERS,
            )),
            reserved: Arc::new(Semaphore::new(RESERVED_FOR_IDLE_CALLERS)),
        }
    }
}

/// A caller's endpoint in this process: its attempts in flight, its events here, and whether
/// the last attempt failed.
struct Endpoint {
    /// [`ENDPOINT_CONCURRENCY`] attempts at once.
    attempts: Arc<Semaphore>,
    /// One attempt at once while the endpoint is failing.
    probe: Arc<Semaphore>,
    failing: std::sync::atomic::AtomicBool,
    /// Events waiting or attempting.
    queued: std::sync::atomic::AtomicUsize,
}

/// The permits an attempt holds while it runs.
struct Permits {
    _total: OwnedSemaphorePermit,
    _endpoint: OwnedSemaphorePermit,
    _probe: Option<OwnedSemaphorePermit>,
}

impl Endpoint {
    fn new() -> Endpoint {
        Endpoint {
            attempts: Arc::new(Semaphore::new(ENDPOINT_CONCURRENCY)),
            probe: Arc::new(Semaphore::new(1)),
            failing: std::sync::atomic::AtomicBool::new(false),
            queued: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn failing(&self) -> bool {
        self.failing.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts one more event here, unless the caller has as many as it may.
    fn enqueue(&self) -> bool {
        let cap = if self.failing() {
            FAILING_QUEUE
        } else {
            CALLER_QUEUE
        };
        self.queued
            .fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |n| (n < cap).then_some(n + 1),
            )
            .is_ok()
    }

    fn dequeue(&self) {
        self.queued
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Waits for this endpoint's turn and a place among the attempts in flight (the reserved
    /// places only for a caller with no other attempt in flight); `None` if the semaphores
    /// closed (they never do).
    async fn permits(&self, in_flight: &InFlight) -> Option<Permits> {
        let endpoint = Arc::clone(&self.attempts).acquire_owned().await.ok()?;
        let probe = if self.failing() {
            Some(Arc::clone(&self.probe).acquire_owned().await.ok()?)
        } else {
            None
        };
        let alone = self.attempts.available_permits() + 1 == ENDPOINT_CONCURRENCY;
        let total = match Arc::clone(&in_flight.shared).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) if alone => match Arc::clone(&in_flight.reserved).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => Arc::clone(&in_flight.shared).acquire_owned().await.ok()?,
            },
            Err(_) => Arc::clone(&in_flight.shared).acquire_owned().await.ok()?,
        };
        Some(Permits {
            _total: total,
            _endpoint: endpoint,
            _probe: probe,
        })
    }
}

impl InFlight {
    fn insert(&self, id: &str) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned())
    }
    fn len(&self) -> usize {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
    fn remove(&self, id: &str) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
    fn endpoint(&self, caller: &str) -> Arc<Endpoint> {
        let mut map = self
            .per_endpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            map.entry(caller.to_owned())
                .or_insert_with(|| Arc::new(Endpoint::new())),
        )
    }
}

/// A name for this process in the leases (its pid and a random part).
fn instance_name() -> String {
    let random: u64 = rand::random();
    format!("{}-{random:016x}", std::process::id())
}

/// How long a claim holds an event: long enough for the attempt (which starts when the event
/// is claimed) and for recording it.
fn lease_seconds(settings: &WebhookSettings) -> i64 {
    i64::try_from(settings.timeout_seconds.saturating_mul(3))
        .unwrap_or(i64::MAX)
        .saturating_add(15)
}

/// When the next attempt is due after `attempts` failed ones (counting this one), or `None`
/// once the schedule is used up. Waits of 10 s or more get up to 10% of jitter.
pub fn next_attempt(schedule: &[u64], attempts: u32, now: i64) -> Option<i64> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let wait = *schedule.get(index)?;
    let jitter = if wait >= 10 {
        rand::random::<u64>() % (wait / 10 + 1)
    } else {
        0
    };
    let wait = i64::try_from(wait.saturating_add(jitter)).unwrap_or(i64::MAX);
    Some(now.saturating_add(wait))
}

/// Runs forever: claims due events and attempts them.
pub async fn run(state: Arc<AppState>) {
    let settings = state.authenticator.webhooks().clone();
    let client = match build_client(&settings) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhooks: cannot build the HTTP client; no events are delivered");
            return;
        }
    };
    let instance = Arc::new(instance_name());
    let in_flight = Arc::new(InFlight::default());
    let pinned = Arc::new(PinnedClients::default());
    let lease = lease_seconds(&settings);
    let settings = Arc::new(settings);
    loop {
        let room = (TOTAL_CONCURRENCY * 4)
            .saturating_sub(in_flight.len())
            .min(CLAIM_BATCH);
        if room == 0 {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let claimed = {
            let state = Arc::clone(&state);
            let instance = Arc::clone(&instance);
            tokio::task::spawn_blocking(move || {
                state
                    .outbox
                    .claim_due(state.clock.now(), room, lease, &instance)
            })
            .await
        };
        let claimed = match claimed {
            Ok(Ok(claimed)) => claimed,
            Ok(Err(error)) => {
                tracing::warn!(%error, "webhooks: cannot claim due events");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let mut busy = Vec::new();
        let mut spawned = 0usize;
        for delivery in claimed {
            if !in_flight.insert(&delivery.event.id) {
                continue; // still being attempted here: its lease was simply renewed
            }
            let endpoint = in_flight.endpoint(&delivery.event.caller);
            if !endpoint.enqueue() {
                // Its endpoint has as many attempts as it may: give the event back for a
                // moment, so that a slow or dead endpoint never holds up other callers' events.
                in_flight.remove(&delivery.event.id);
                busy.push(delivery.event.id);
                continue;
            }
            let task = Task {
                state: Arc::clone(&state),
                client: client.clone(),
                pinned: Arc::clone(&pinned),
                settings: Arc::clone(&settings),
                instance: Arc::clone(&instance),
                in_flight: Arc::clone(&in_flight),
            };
            let lease_ends = Instant::now() + Duration::from_secs(lease.unsigned_abs());
            tokio::spawn(task.deliver(delivery, endpoint, lease_ends));
            spawned += 1;
        }
        if !busy.is_empty() {
            let state = Arc::clone(&state);
            let instance = Arc::clone(&instance);
            let deferred = tokio::task::spawn_blocking(move || {
                let due = state.clock.now().saturating_add(1);
                for id in &busy {
                    state.outbox.defer(id, &instance, due)?;
                }
                Ok::<_, nox_authenticator::Error>(())
            })
            .await;
            if let Ok(Err(error)) = deferred {
                tracing::warn!(%error, "webhooks: cannot give back events of a busy endpoint");
            }
        }
        if spawned == 0 {
            // Everything claimed was for busy endpoints: let them work before claiming again.
            tokio::time::sleep(POLL).await;
        }
    }
}

/// At most this many pinned clients are kept (one per host name and address set); past it,
/// the cache starts again empty.
const PINNED_CLIENTS: usize = 256;

/// HTTP clients pinned to a host name's checked addresses, by host and address set (sorted,
/// so a resolver that rotates its answers still finds the client).
#[derive(Default)]
struct PinnedClients {
    by_target: Mutex<HashMap<(String, Vec<SocketAddr>), reqwest::Client>>,
}

impl PinnedClients {
    /// The client for `host` pinned to exactly `addresses`, and whether it was built now.
    fn get(
        &self,
        settings: &WebhookSettings,
        host: &str,
        addresses: &[SocketAddr],
    ) -> Result<(reqwest::Client, bool), reqwest::Error> {
        let mut set = addresses.to_vec();
        set.sort_unstable();
        set.dedup();
        let key = (host.to_owned(), set);
        let mut clients = self
            .by_target
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok((client.clone(), false));
        }
        // No second resolution: the client connects only to the addresses checked.
        let client = client_builder(settings)
            .resolve_to_addrs(host, &key.1)
            .build()?;
        if clients.len() >= PINNED_CLIENTS {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok((client, true))
    }
}

struct Task {
    state: Arc<AppState>,
    client: reqwest::Client,
    pinned: Arc<PinnedClients>,
    settings: Arc<WebhookSettings>,
    instance: Arc<String>,
    in_flight: Arc<InFlight>,
}

/// One attempt's result before it is recorded.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    /// Whether a failure is retried on the schedule: not for a refused address (decision 20
    /// retries a non-2xx answer, a time-out and a refused connection), which is failed at once.
    retry: bool,
}

impl Outcome {
    /// A failure that the schedule retries.
    fn retried(error: String) -> Outcome {
        Outcome {
            status: None,
            error: Some(error),
            retry: true,
        }
    }

    /// A failure that is final: the delivery is failed at once (the admin route retries it).
    fn refused(error: String) -> Outcome {
        Outcome {
            status: None,
            error: Some(error),
            retry: false,
        }
    }
}

impl Task {
    /// Waits for its turn, attempts `delivery` and records the outcome, unless its lease
    /// (`lease_ends`) would run out before the attempt could end: then it is given back.
    async fn deliver(self, delivery: Delivery, endpoint: Arc<Endpoint>, lease_ends: Instant) {
        if let Some(permits) = endpoint.permits(&self.in_flight).await {
            let timeout = Duration::from_secs(self.settings.timeout_seconds.max(1));
            if Instant::now() + timeout + LEASE_MARGIN <= lease_ends {
                let outcome = match self.settings.endpoints.get(&delivery.event.caller) {
                    Some(target) => self.attempt(target, &delivery).await,
                    None => {
                        Outcome::refused("the caller has no webhook configured any more".into())
                    }
                };
                endpoint.failing.store(
                    outcome.error.is_some(),
                    std::sync::atomic::Ordering::Relaxed,
                );
                self.record(&delivery, outcome).await;
            } else {
                self.give_back(&delivery).await;
            }
            drop(permits);
        }
        endpoint.dequeue();
        self.in_flight.remove(&delivery.event.id);
    }

    /// Gives an event whose turn came too late in its lease back to the outbox, due now.
    async fn give_back(&self, delivery: &Delivery) {
        let state = Arc::clone(&self.state);
        let instance = Arc::clone(&self.instance);
        let id = delivery.event.id.clone();
        let given = tokio::task::spawn_blocking(move || {
            state.outbox.defer(&id, &instance, state.clock.now())
        })
        .await;
        if let Ok(Err(error)) = given {
            tracing::warn!(
                event_id = %delivery.event.id,
                %error,
                "webhooks: cannot give back an event whose lease ran short; it is attempted again once the lease runs out"
            );
        }
    }

    async fn attempt(&self, target: &WebhookEndpoint, delivery: &Delivery) -> Outcome {
        let started = Instant::now();
        let host = target.url.host_str().unwrap_or("").to_owned();
        let outcome = self.send(target, delivery).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            event_id = %delivery.event.id,
            host = %host,
            attempt = delivery.attempts.saturating_add(1),
            status = outcome.status.map_or(0, u32::from),
            error = outcome.error.as_deref().unwrap_or(""),
            latency_ms = format!("{latency_ms:.1}"),
            "webhook attempt"
        );
        outcome
    }

    async fn send(&self, target: &WebhookEndpoint, delivery: &Delivery) -> Outcome {
        let refuse = Outcome::refused;
        let url = &target.url;
        let Some(host) = url.host_str() else {
            return refuse("the webhook URL has no host".into());
        };
        let port = url.port_or_known_default().unwrap_or(443);
        // Resolve here, check every address, connect only to a checked one.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        let addresses: Vec<SocketAddr> = match literal {
            Some(ip) if ip.is_loopback() => vec![SocketAddr::new(ip, port)],
            Some(ip) => match refused_reason(ip) {
                Some(reason) => return refuse(format!("address {ip} refused: {reason}")),
                None => vec![SocketAddr::new(ip, port)],
            },
            None => match tokio::net::lookup_host((host, port)).await {
                Ok(found) => found.collect(),
                Err(e) => return Outcome::retried(format!("cannot resolve {host}: {e}")),
            },
        };
        if addresses.is_empty() {
            return Outcome::retried(format!("{host} resolves to no address"));
        }
        if literal.is_none() {
            for address in &addresses {
                if let Some(reason) = refused_reason(address.ip()) {
                    return refuse(format!(
                        "{host} resolves to {}, refused: {reason}",
                        address.ip()
                    ));
                }
            }
        }
        let client = if literal.is_some() {
            self.client.clone()
        } else {
            // Pinned to the addresses just checked (kept while the host resolves to them).
            match self.pinned.get(&self.settings, host, &addresses) {
                Ok((client, _)) => client,
                Err(e) => return Outcome::retried(format!("cannot build the HTTP client: {e}")),
            }
        };
        let now = nox_authenticator::system_now();
        let mut request = client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("user-agent", "nox-authenticator-webhooks")
            .body(delivery.event.body.clone());
        for (name, value) in webhook_headers(
            &target.secret,
            &delivery.event.id,
            now,
            &delivery.event.body,
        ) {
            request = request.header(name, value);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Outcome::retried(describe(&e)),
        };
        let status = response.status().as_u16();
        // Read (and drop) at most 64 KiB of the answer, so the connection can be reused.
        let mut read = 0usize;
        while read < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => read = read.saturating_add(chunk.len()),
                _ => break,
            }
        }
        if (200..300).contains(&status) {
            Outcome {
                status: Some(status),
                error: None,
                retry: false,
            }
        } else {
            Outcome {
                status: Some(status),
                error: Some(format!("answered {status}")),
                retry: true,
            }
        }
    }

    async fn record(&self, delivery: &Delivery, outcome: Outcome) {
        let attempts = delivery.attempts.saturating_add(1);
        let now = self.state.clock.now();
        let next = if outcome.error.is_none() {
            AttemptOutcome::Delivered
        } else if !outcome.retry {
            AttemptOutcome::Failed
        } else {
            match next_attempt(&self.settings.retry_schedule_seconds, attempts, now) {
                Some(at) => AttemptOutcome::RetryAt(at),
                None => AttemptOutcome::Failed,
            }
        };
        let label = match next {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::RetryAt(_) => "retry",
            AttemptOutcome::Failed => "failed",
        };
        self.state
            .deliveries
            .deliveries
            .get_or_create(&OutcomeLabels { outcome: label })
            .inc();
        let state = Arc::clone(&self.state);
        let instance = Arc::clone(&self.instance);
        let id = delivery.event.id.clone();
        let recorded = tokio::task::spawn_blocking(move || {
            let attempt = Attempt {
                at: now,
                status: outcome.status,
                error: outcome.error.as_deref(),
                outcome: next,
            };
            state.outbox.record_attempt(&id, &instance, &attempt)
        })
        .await;
        match recorded {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => tracing::warn!(
                event_id = %delivery.event.id,
                "webhooks: the lease ran out before the attempt was recorded; the event will be attempted again"
            ),
            Ok(Err(error)) => tracing::warn!(
                event_id = %delivery.event.id,
                %error,
                "webhooks: cannot record the attempt; the event will be attempted again"
            ),
            Err(_) => {}
        }
    }
}

/// Why an address may not receive events, if it may not.
fn refused_reason(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback address")
            } else if v4.is_private() {
                Some("private address")
            } else if v4.is_link_local() {
                Some("link-local address")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("not a unicast address")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared address space (carrier-grade NAT)")
            } else if v4.is_documentation() || (a == 198 && (b == 18 || b == 19)) || a >= 240 {
                Some("reserved address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a unicast address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private address (unique local)")
            } else if first & 0xffc0 == 0xfec0 {
                Some("private address (site-local)")
            } else if (first == 0x2001 && matches!(v6.segments()[1], 0x0000 | 0x0db8))
                || (first == 0x0064 && v6.segments()[1] == 0xff9b)
                || (first == 0x0100 && v6.segments()[1..4] == [0, 0, 0])
            {
                // Teredo and documentation (2001::/32, 2001:db8::/32), local-use NAT64
                // (64:ff9b:1::/48; the well-known prefix embeds an address checked as IPv4),
                // discard-only (100::/64).
                Some("reserved address")
            } else {
                None
            }
        }
    }
}

/// The IPv4 address an IPv6 address stands for, where it embeds one that reaches it:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated), the NAT64
/// well-known prefix (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::/48`). These are checked
/// as that IPv4 address, so that `64:ff9b::10.0.0.1` is refused as `10.0.0.1` is.
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let o = v6.octets();
    let last = std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    // IPv4-compatible (:: and ::1 are themselves), and the NAT64 well-known prefix.
    let compatible = s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1);
    if compatible || s[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] {
        Some(last)
    } else if s[0] == 0x2002 {
        Some(std::net::Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    }
}

fn client_builder(settings: &WebhookSettings) -> reqwest::ClientBuilder {
    let timeout = Duration::from_secs(settings.timeout_seconds.max(1));
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        // A proxy would connect to addresses this module did not check.
        .no_proxy()
        .pool_max_idle_per_host(ENDPOINT_CONCURRENCY)
}

fn build_client(settings: &WebhookSettings) -> Result<reqwest::Client, reqwest::Error> {
    client_builder(settings).build()
}

/// A send error as a short reason (no URL query, no body).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut reason = kind.to_owned();
    let mut source = std::error::Error::source(error);
    if let Some(inner) = source {
        reason.push_str(": ");
        reason.push_str(&inner.to_string());
        source = inner.source();
        if let Some(deeper) = source {
            reason.push_str(": ");
            reason.push_str(&deeper.to_string());
        }
    }
    reason
}

/// The admin routes' common prefix.
pub const ADMIN_PREFIX: &str = "/admin/webhook-deliveries";
/// The most deliveries one list returns.
const LIST_LIMIT: usize = 1000;

fn json_response(status: u16, body: &serde_json::Value) -> axum::response::Response {
    crate::api::into_axum(nox_authenticator::HttpResponse {
        status,
        headers: vec![("content-type", "application/json".to_owned())],
        body: body.to_string().into_bytes(),
        failure: None,
        refusal: None,
    })
}

fn delivery_json(d: &Delivery) -> serde_json::Value {
    let status = if d.delivered_at.is_some() {
        "delivered"
    } else if d.failed_at.is_some() {
        "failed"
    } else {
        "pending"
    };
    serde_json::json!({
        "id": d.event.id,
        "type": d.event.event_type,
        "caller": d.event.caller,
        "status": status,
        "attempts": d.attempts,
        "created_at": d.event.created_at,
        "next_attempt_at": d.next_attempt_at,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "delivered_at": d.delivered_at,
        "failed_at": d.failed_at,
    })
}

/// `GET /admin/webhook-deliveries?status=failed` and
/// `POST /admin/webhook-deliveries/{id}/retry` (spec decision 20), behind the admin key.
pub async fn admin_route(
    state: &Arc<AppState>,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::Method;
    if let Err(refusal) = crate::admin::check_key(state, headers) {
        return *refusal;
    }
    let not_found = || {
        json_response(
            404,
            &serde_json::json!({"error": "Not found", "code": "not_found"}),
        )
    };
    let not_allowed = |allow: &str| {
        let mut response = json_response(
            405,
            &serde_json::json!({"error": "Method not allowed", "code": "method_not_allowed"}),
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(allow) {
            response.headers_mut().insert("allow", value);
        }
        response
    };
    let rest = uri.path().strip_prefix(ADMIN_PREFIX).unwrap_or("");
    let state = Arc::clone(state);
    if rest.is_empty() {
        if method != Method::GET {
            return not_allowed("GET");
        }
        let failed_only = uri
            .query()
            .is_some_and(|q| q.split('&').any(|pair| pair == "status=failed"));
        if !failed_only {
            return json_response(
                400,
                &serde_json::json!({"error": "status must be failed", "code": "invalid_request", "field": "status"}),
            );
        }
        let listed = tokio::task::spawn_blocking(move || state.outbox.failed(LIST_LIMIT)).await;
        return match listed {
            Ok(Ok(list)) => json_response(
                200,
                &serde_json::json!({"deliveries": list.iter().map(delivery_json).collect::<Vec<_>>()}),
            ),
            Ok(Err(error)) => {
                tracing::warn!(%error, "webhooks: cannot list failed deliveries");
                json_response(
                    503,
                    &serde_json::json!({"error": "Store unavailable", "code": "store_unavailable"}),
                )
            }
            Err(_) => json_response(
                503,
                &serde_json::json!({"error": "Store unavailable", "code": "store_unavailable"}),
            ),
        };
    }
    let Some(id) = rest
        .strip_prefix('/')
        .and_then(|r| r.strip_suffix("/retry"))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .map(str::to_owned)
    else {
        return not_found();
    };
    if method != Method::POST {
        return not_allowed("POST");
    }
    let retried = tokio::task::spawn_blocking(move || {
        let now = state.clock.now();
        let retried = state.outbox.retry(&id, now)?;
        Ok::<_, nox_authenticator::Error>((retried, state.outbox.delivery(&id)?))
    })
    .await;
    match retried {
        Ok(Ok((true, Some(delivery)))) => json_response(200, &delivery_json(&delivery)),
        Ok(Ok((false, Some(_)))) => json_response(
            409,
            &serde_json::json!({"error": "The delivery has not failed", "code": "not_failed"}),
        ),
        Ok(Ok((_, None))) => not_found(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "webhooks: cannot retry a delivery");
            json_response(
                503,
                &serde_json::json!({"error": "Store unavailable", "code": "store_unavailable"}),
            )
        }
        Err(_) => json_response(
            503,
            &serde_json::json!({"error": "Store unavailable", "code": "store_unavailable"}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_gives_each_retry_then_none() {
        let schedule = [1, 2];
        assert_eq!(next_attempt(&schedule, 1, 100), Some(101));
        assert_eq!(next_attempt(&schedule, 2, 100), Some(102));
        assert_eq!(next_attempt(&schedule, 3, 100), None);
        let long = [300];
        let at = next_attempt(&long, 1, 0).unwrap_or(0);
        assert!((300..=330).contains(&at), "{at}");
    }

    #[test]
    fn a_pinned_client_is_reused_only_for_the_same_host_and_address_set() {
        let settings = WebhookSettings::default();
        let pinned = PinnedClients::default();
        let a: SocketAddr = "203.0.113.1:443".parse().unwrap_or_else(|_| unreachable!());
        let b: SocketAddr = "203.0.113.2:443".parse().unwrap_or_else(|_| unreachable!());
        let fresh = |host: &str, addresses: &[SocketAddr]| {
            pinned
                .get(&settings, host, addresses)
                .map(|(_, fresh)| fresh)
                .ok()
        };
        assert_eq!(fresh("hooks.example", &[a, b]), Some(true));
        assert_eq!(fresh("hooks.example", &[b, a]), Some(false), "same set");
        assert_eq!(fresh("hooks.example", &[a]), Some(true), "another set");
        assert_eq!(fresh("other.example", &[a, b]), Some(true), "another host");
        assert_eq!(fresh("hooks.example", &[a, b]), Some(false));
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "::10.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b:1::1",
            "2002:a00:1::1",
            "2002:7f00:1::1",
            "fec0::1",
            "2001::1",
            "100::1",
        ] {
            let ip: IpAddr = ip
                .parse()
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
            assert!(refused_reason(ip).is_some(), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "2606:4700::1111",
            "64:ff9b::93.184.216.34",
            "2002:5db8:d822::1",
        ] {
            let ip: IpAddr = ip
                .parse()
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
            assert_eq!(refused_reason(ip), None, "{ip}");
        }
    }
}
