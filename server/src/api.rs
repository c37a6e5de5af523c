//! The public API listener: every request goes to the core's pure HTTP adapter, which does
//! routing, 404 and 405 itself, in two steps: the head (preflight), then the body. Calls into a blocking store (SQLite, PostgreSQL) run on tokio's
//! blocking pool, so the async runtime never waits on a database.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use nox_authenticator::{Error, HttpHead, HttpRequest, HttpResponse, Preflight, Staged};

use crate::AppState;
use crate::health;
use crate::limits::{self, BodyRead, Listener, Refusal};
use crate::telemetry::CallerId;

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

    /// The admin API's answer.
    pub fn answer_admin(&self, state: &AppState) -> HttpResponse {
        self.with(|request| {
            state
                .authenticator
                .handle_admin_http(request, state.clock.now())
        })
    }
}

/// The core's preflight on a request's head, read where it is (the preflight never touches the
/// store, so it runs on the runtime): header values that are not UTF-8 are read lossily, as
/// [`OwnedRequest::new`] reads them.
fn preflight(
    state: &AppState,
    parts: &Parts,
    content_length: Option<u64>,
    now: i64,
) -> Result<Preflight, HttpResponse> {
    let values: Vec<(&str, Cow<'_, str>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes())))
        .collect();
    let headers: Vec<(&str, &str)> = values
        .iter()
        .map(|(name, value)| (*name, value.as_ref()))
        .collect();
    let uri = &parts.uri;
    state.authenticator.preflight_http(
        &HttpHead {
            method: parts.method.as_str(),
            target: uri
                .path_and_query()
                .map_or_else(|| uri.path(), |pq| pq.as_str()),
            headers: &headers,
            content_length,
        },
        now,
    )
}

/// Runs `answer` where it may block: on the blocking pool for a database store, inline for
/// the memory store (which never blocks).
pub async fn run<R: Send + 'static>(
    state: &Arc<AppState>,
    request: R,
    answer: fn(&AppState, &R) -> HttpResponse,
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

/// Serves one request of the public API: the head goes through the core's preflight and the
/// per-key rate limit before a single body byte is read (so `Expect: 100-continue` is answered
/// only then: hyper sends `100 Continue` when the body is first polled), then the body is read
/// within the request time-out and the rest is the core's.
pub async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(response) = health::answer(&state, &parts.method, parts.uri.path()).await {
        return response;
    }
    let counters = limits::counters(Listener::Public);
    let now = state.clock.now();
    let content_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    // A body is still on its way unless the head says there is none.
    let body_pending = content_length.map_or_else(
        || parts.headers.contains_key(header::TRANSFER_ENCODING),
        |length| length > 0,
    );
    let preflight = match preflight(&state, &parts, content_length, now) {
        Ok(preflight) => preflight,
        Err(refusal) => {
            if refusal.status == 413 {
                counters.refuse(Refusal::BodyTooLarge);
            }
            return refused(refusal, body_pending);
        }
    };
    let caller = CallerId(preflight.caller_id().to_owned());
    if let Err(retry_after_seconds) = state.rate_limiter.check(preflight.caller_key()) {
        counters.refuse(Refusal::RateLimited);
        let error = Error::RateLimited {
            retry_after_seconds,
        };
        return with_caller(refused(preflight.refuse(&error, now), body_pending), caller);
    }
    let within = Duration::from_secs(state.authenticator.limits().request_timeout_seconds);
    let body = match limits::read_body(body, preflight.body_limit(), within).await {
        BodyRead::Complete(bytes) => bytes,
        BodyRead::TooLarge => {
            counters.refuse(Refusal::BodyTooLarge);
            let error = Error::PayloadTooLarge {
                limit: preflight.body_limit(),
            };
            return with_caller(refused(preflight.refuse(&error, now), true), caller);
        }
        BodyRead::TimedOut => {
            counters.refuse(Refusal::RequestTimeout);
            return with_caller(refused(preflight.body_unreadable(now), true), caller);
        }
        BodyRead::Unreadable => {
            counters.refuse(Refusal::BodyUnreadable);
            return with_caller(refused(preflight.body_unreadable(now), true), caller);
        }
    };
    let response = if state.authenticator.queues_store_work(&preflight) {
        // Everything but the store's work is pure; that work is queued for the store's own
        // thread and awaited here, so no thread is held while it runs.
        let (answered, answer) = tokio::sync::oneshot::channel();
        let done = move |response| {
            // The request may have been dropped meanwhile: then no one waits.
            let _ = answered.send(response);
        };
        match state.authenticator.stage_http(&preflight, &body, now) {
            Staged::Answered(response) => response,
            Staged::Insert(insert) => {
                state.authenticator.insert_queued(insert, done);
                answer.await.unwrap_or_else(|_| internal_error())
            }
            Staged::Upsert(upsert) => {
                state.authenticator.upsert_queued(upsert, done);
                answer.await.unwrap_or_else(|_| internal_error())
            }
        }
    } else {
        complete_blocking(&state, preflight, body, now).await
    };
    if response.status == 429 {
        counters.refuse(Refusal::TooManySessions);
    }
    with_caller(into_axum(response), caller)
}

/// Completes a request where the store may block (see [`run`]).
async fn complete_blocking(
    state: &Arc<AppState>,
    preflight: Preflight,
    body: Vec<u8>,
    now: i64,
) -> HttpResponse {
    let request = Completing {
        preflight,
        body,
        now,
    };
    run(state, request, |state, request| {
        state
            .authenticator
            .complete_http(&request.preflight, &request.body, request.now)
    })
    .await
}

/// Tells the log line which caller a response went to.
fn with_caller(mut response: Response, caller: CallerId) -> Response {
    response.extensions_mut().insert(caller);
    response
}

/// A request whose head passed, with its body: what moves to the blocking pool.
pub struct Completing {
    preflight: Preflight,
    body: Vec<u8>,
    now: i64,
}

/// A refusal; with `Connection: close` when the body was left unread (or half read), so the
/// connection is not kept for a body nobody will read.
fn refused(response: HttpResponse, body_unread: bool) -> Response {
    let mut response = into_axum(response);
    if body_unread {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn internal_error() -> HttpResponse {
    HttpResponse {
        status: 500,
        headers: vec![("content-type", "application/json".to_owned())],
        body: br#"{"error":"Internal server error"}"#.to_vec(),
        failure: Some("the request's task panicked or was cancelled".to_owned()),
        refusal: None,
    }
}

/// What failed behind an answer of 500 or more, carried to the log line.
#[derive(Debug, Clone)]
pub struct Failure(pub String);

/// The core's response as an axum response.
pub fn into_axum(response: HttpResponse) -> Response {
    let mut out = Response::new(Body::from(response.body));
    if let Some(failure) = response.failure {
        // For the request's log line (telemetry), never for the client.
        out.extensions_mut().insert(Failure(failure));
    }
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_bytes()), header_value(value))
        {
            out.headers_mut().insert(name, value);
        }
    }
    out
}

/// A header value of the core's response: the two every body carries without a copy.
fn header_value(value: String) -> Result<HeaderValue, axum::http::header::InvalidHeaderValue> {
    match value.as_str() {
        "application/json" => Ok(HeaderValue::from_static("application/json")),
        "no-store" => Ok(HeaderValue::from_static("no-store")),
        _ => HeaderValue::try_from(value),
    }
}
