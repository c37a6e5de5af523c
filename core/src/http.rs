//! A pure HTTP adapter: request parts in, response parts out, for all four routes. No sockets,
//! no clock: a web framework in any language passes what it received and writes back what it
//! gets, which is how the reference server and the bindings serve the whole API.
//!
//! Routes: `POST /v2/supplier/link-sessions`, `POST /v2/manufacturer/link-sessions`,
//! `POST /users/{userId}/link` and `POST /manufacturers/nox`. Paths under `/v2/` answer errors
//! as `{error}`, the others in the v1 envelope. Checks run in this order: route (404), method
//! (405, with `Allow: POST`), API key (401), `Content-Type: application/json` (415), body size
//! (413), JSON and fields (400).
//!
//! The checks up to the size need only the request head, so a host can make them before it
//! reads a single body byte (spec decision 12): [`Authenticator::preflight_http`] takes the
//! head and either refuses it or returns a [`Preflight`]; the body is read only then (which is
//! also when an `Expect: 100-continue` should be answered) and goes to
//! [`Authenticator::complete_http`]. [`Authenticator::handle_http`] is the two in one call,
//! with byte-identical answers.
//!
//! ```
//! use nox_authenticator::{Authenticator, HttpRequest};
//!
//! let auth = Authenticator::from_json(r#"{"suppliers": [{"id": "s1", "name": "Acme Energy",
//!     "api_key": "k1", "redirect_urls": ["https://acme.example/cb"]}]}"#).unwrap();
//! let response = auth.handle_http(&HttpRequest {
//!     method: "POST",
//!     target: "/v2/supplier/link-sessions",
//!     headers: &[("x-api-key", "k1"), ("content-type", "application/json")],
//!     body: br#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}"#,
//! }, 1_703_123_456);
//! assert_eq!(response.status, 201);
//!
//! // The same in two steps: the head first, the body only once the head passed.
//! use nox_authenticator::HttpHead;
//! let head = HttpHead {
//!     method: "POST",
//!     target: "/v2/supplier/link-sessions",
//!     headers: &[("x-api-key", "k1"), ("content-type", "application/json")],
//!     content_length: Some(80),
//! };
//! let preflight = auth.preflight_http(&head, 1_703_123_456).unwrap();
//! let body = br#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}"#;
//! assert!(body.len() <= preflight.body_limit());
//! assert_eq!(auth.complete_http(&preflight, body, 1_703_123_456).status, 201);
//!
//! // A wrong key is refused from the head alone: the body is never read.
//! let refusal = auth.preflight_http(&HttpHead {
//!     headers: &[("x-api-key", "wrong"), ("content-type", "application/json")],
//!     content_length: Some(16 * 1024 * 1024),
//!     ..head
//! }, 1_703_123_456).unwrap_err();
//! assert_eq!(refusal.status, 401);
//! ```

use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::authenticator::{Authenticator, NewSessionWrite, SubscriberWrite};
use crate::error::{Error, Refusal, Result};
use crate::principal::{ApiKeyDigest, api_key_from_headers, presented_digest};
use crate::v1_connect::V1ConnectInput;
use crate::v1_supplier::V1SupplierLinkInput;
use crate::v2_manufacturer::ManufacturerLinkSessionInput;
use crate::v2_supplier::SupplierLinkSessionInput;
use crate::wire::{SessionBody, V1ConnectData, V1Envelope, V1ErrorBody, V2ErrorBody};

/// An HTTP request as a web framework received it.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    /// The method, as sent (methods are case-sensitive: `post` is not `POST`).
    pub method: &'a str,
    /// The request target: the path, optionally with a query string (ignored).
    pub target: &'a str,
    /// The headers, names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body bytes.
    pub body: &'a [u8],
}

/// The head of an HTTP request: everything that arrives before the body. The input of
/// [`Authenticator::preflight_http`].
#[derive(Debug, Clone, Copy)]
pub struct HttpHead<'a> {
    /// The method, as sent (methods are case-sensitive: `post` is not `POST`).
    pub method: &'a str,
    /// The request target: the path, optionally with a query string (ignored).
    pub target: &'a str,
    /// The headers, names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// The declared `Content-Length`, if the request has one (a chunked body has none; its
    /// size is checked once read, by [`Authenticator::complete_http`]).
    pub content_length: Option<u64>,
}

/// A request head that passed [`Authenticator::preflight_http`]: the route, method, API key,
/// content type and declared length are acceptable, so the body may now be read (at most
/// [`Preflight::body_limit`] bytes) and given to [`Authenticator::complete_http`].
///
/// It owns what it holds (no borrow of the request or the authenticator), so a host can
/// keep it across the wait for the body and move it to a worker thread. It holds the
/// caller's key only as its digest ([`Preflight::caller_key`]), for a host's rate limiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    endpoint: Endpoint,
    caller: ApiKeyDigest,
    caller_id: String,
    body_limit: usize,
}

/// The endpoint a preflight decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    V2Supplier,
    V2Manufacturer,
    /// The `userId` segment, still percent-encoded (decoded, and refused if it is not UTF-8,
    /// only after the body checks, as before the split).
    V1SupplierLink(String),
    V1Connect,
}

impl Preflight {
    /// The most body bytes to read; a body longer than this is answered 413 by
    /// [`Authenticator::complete_http`] (a host may stop reading at `body_limit() + 1`).
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The digest of the API key that authenticated: the key a host's per-key rate limiter
    /// should count on (never the key itself).
    pub fn caller_key(&self) -> &ApiKeyDigest {
        &self.caller
    }

    /// The id of the supplier or manufacturer that authenticated (for a host's logs).
    pub fn caller_id(&self) -> &str {
        &self.caller_id
    }

    /// Whether the request creates a session (the v2 creates and the v1 supplier link): its
    /// only store work is the insert, which [`Authenticator::stage_http`] leaves to
    /// [`Authenticator::insert_queued`]. The other endpoint, the v1 connect, leaves an upsert
    /// of its subscriber ([`Authenticator::upsert_queued`]).
    pub fn creates_session(&self) -> bool {
        !matches!(self.endpoint, Endpoint::V1Connect)
    }

    /// Whether the endpoint answers errors as v2 `{error}` (otherwise the v1 envelope).
    pub fn is_v2(&self) -> bool {
        matches!(
            self.endpoint,
            Endpoint::V2Supplier | Endpoint::V2Manufacturer
        )
    }

    /// `error` as this endpoint documents its errors, with `Retry-After` on a 429: for a
    /// refusal the host decides itself, such as [`Error::RateLimited`] from its rate limiter.
    pub fn refuse(&self, error: &Error, now: i64) -> HttpResponse {
        error_response(self.is_v2(), error, now)
    }

    /// 400 `Invalid request body` in this endpoint's shape: for a body that could not be read
    /// completely (the client went away, bad chunking, a time-out). Not a 413: the size was
    /// never the problem.
    pub fn body_unreadable(&self, now: i64) -> HttpResponse {
        self.refuse(
            &Error::refuse_body(crate::error::Rule::BodyUnreadable, "Invalid request body"),
            now,
        )
    }
}

/// What [`Authenticator::stage_http`] leaves to do.
#[derive(Debug)]
// Returned once and taken apart at once: boxing the insert would cost an allocation per create.
#[allow(clippy::large_enum_variant)]
pub enum Staged {
    /// The response: the request needed no store work (a refusal).
    Answered(HttpResponse),
    /// A create whose session is still to be stored: pass it to
    /// [`Authenticator::insert_queued`], which answers once it is.
    Insert(PendingInsert),
    /// A v1 connect whose subscriber is still to be read, merged and stored: pass it to
    /// [`Authenticator::upsert_queued`], which answers once it is.
    Upsert(PendingUpsert),
}

/// A v1 connect's upsert and the answer it decides ([`Authenticator::upsert_queued`]); the
/// 201 is sent only once the subscriber is durable.
#[derive(Debug)]
pub struct PendingUpsert {
    write: SubscriberWrite,
    now: i64,
}

impl PendingUpsert {
    fn finish(now: i64, result: Result<crate::Subscriber>) -> HttpResponse {
        match result {
            Ok(subscriber) => {
                HttpResponse::json(201, &V1Envelope::new(V1ConnectData::new(&subscriber), now))
            }
            Err(error) => error_response(false, &error, now),
        }
    }
}

/// A create's new session and its response, waiting for the insert
/// ([`Authenticator::insert_queued`]); the 201 is sent only once the session is durable.
#[derive(Debug)]
pub struct PendingInsert {
    write: NewSessionWrite,
    answer: InsertAnswer,
}

/// The answer of a create, decided by its insert's result.
#[derive(Debug)]
struct InsertAnswer {
    response: HttpResponse,
    /// Whether errors take the `/v2/` shape (else the v1 envelope).
    v2: bool,
    now: i64,
}

impl InsertAnswer {
    fn finish(self, result: Result<()>) -> HttpResponse {
        match result {
            Ok(()) => self.response,
            Err(error) => error_response(self.v2, &error, self.now),
        }
    }
}

/// The response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers (lower-case names).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// For an answer of 500 or more, what failed (a store's own description, for example):
    /// for the host's log, never for the client, whose body says only `Service unavailable`
    /// or `Internal server error`.
    pub failure: Option<String>,
    /// For a 400, the request refusal behind it: its [`Rule`](crate::error::Rule) code, field
    /// and `did_you_mean` (spec decision 17), for the host's log and for tests; the body says
    /// only the documented message.
    pub refusal: Option<Box<Refusal>>,
}

impl HttpResponse {
    /// The value of a header, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(status: u16, body: &impl Serialize) -> HttpResponse {
        let body = crate::wire::to_json_vec(body);
        HttpResponse {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                // Bodies carry bearer tokens: no cache may keep them.
                ("cache-control", "no-store".to_owned()),
            ],
            body,
            failure: None,
            refusal: None,
        }
    }

    /// Records what failed, for an answer of 500 or more, and the refusal behind a 400.
    pub(crate) fn with_failure(mut self, error: &Error) -> HttpResponse {
        if self.status >= 500 {
            self.failure = Some(error.to_string());
        }
        self.refusal = error.refusal().cloned().map(Box::new);
        self
    }

    /// For a 400, the code of the rule the request broke (`missing_field`, `brand_unknown`...).
    pub fn rule(&self) -> Option<&'static str> {
        self.refusal.as_ref().map(|r| r.rule.as_str())
    }

    /// For a 400, the request field concerned, if any.
    pub fn field(&self) -> Option<&'static str> {
        self.refusal.as_deref().and_then(Refusal::field)
    }

    /// For a 400 about an unknown brand, the canonical slug of a close one, if any.
    pub fn did_you_mean(&self) -> Option<&str> {
        self.refusal
            .as_deref()
            .and_then(|r| r.did_you_mean.as_deref())
    }
}

/// The four routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    V2Supplier,
    V2Manufacturer,
    /// The `userId` segment, still percent-encoded.
    V1SupplierLink(&'a str),
    V1Connect,
}

fn route(path: &str) -> Option<Route<'_>> {
    match path {
        "/v2/supplier/link-sessions" => Some(Route::V2Supplier),
        "/v2/manufacturer/link-sessions" => Some(Route::V2Manufacturer),
        "/manufacturers/nox" => Some(Route::V1Connect),
        _ => path
            .strip_prefix("/users/")
            .and_then(|rest| rest.strip_suffix("/link"))
            .filter(|segment| !segment.contains('/'))
            .map(Route::V1SupplierLink),
    }
}

/// The digest of the key a request presented (after it authenticated: the key exists).
fn is_v2_path(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

impl Authenticator {
    /// Answers one HTTP request at time `now`. Never panics, whatever the input.
    ///
    /// The one-call form of [`Authenticator::preflight_http`] then
    /// [`Authenticator::complete_http`], for hosts that have the whole body already.
    pub fn handle_http(&self, request: &HttpRequest<'_>, now: i64) -> HttpResponse {
        let head = HttpHead {
            method: request.method,
            target: request.target,
            headers: request.headers,
            content_length: u64::try_from(request.body.len()).ok(),
        };
        match self.preflight_http(&head, now) {
            Ok(preflight) => self.complete_http(&preflight, request.body, now),
            Err(refusal) => refusal,
        }
    }

    /// Decides everything the request head can decide, before any body byte is read: route
    /// (404), method (405), API key (401), content type (415) and a declared `Content-Length`
    /// over the body limit (413), in that order. `Ok` means the body may be read (and an
    /// `Expect: 100-continue` answered); `Err` is the response to send instead, and the body
    /// should then not be read at all.
    pub fn preflight_http(&self, head: &HttpHead<'_>, now: i64) -> Result<Preflight, HttpResponse> {
        let path = head.target.split(['?', '#']).next().unwrap_or_default();
        let v2 = is_v2_path(path);
        self.preflight(path, head)
            .map_err(|error| error_response(v2, &error, now))
    }

    /// Answers a request whose head passed [`Authenticator::preflight_http`], with its body:
    /// the size of a body without a declared length (413), then JSON and fields (400), then
    /// the store. `preflight` must come from this authenticator (one from another answers 401).
    pub fn complete_http(&self, preflight: &Preflight, body: &[u8], now: i64) -> HttpResponse {
        match self.stage_http(preflight, body, now) {
            Staged::Answered(response) => response,
            Staged::Insert(PendingInsert { write, answer }) => {
                answer.finish(write.run(self.session_store()))
            }
            Staged::Upsert(PendingUpsert { write, now }) => {
                PendingUpsert::finish(now, write.run(self.subscriber_store()))
            }
        }
    }

    /// [`Authenticator::complete_http`] up to the store: everything but the store's work,
    /// which never runs here. A create comes back as [`Staged::Insert`], for
    /// [`Authenticator::insert_queued`]; a v1 connect as [`Staged::Upsert`], for
    /// [`Authenticator::upsert_queued`]; a refusal is answered here. A host whose store
    /// [queues that work](Authenticator::queues_store_work) can run this on an async runtime
    /// and await the store's answer, instead of holding a thread for it.
    pub fn stage_http(&self, preflight: &Preflight, body: &[u8], now: i64) -> Staged {
        match self.complete(preflight, body, now) {
            Ok(staged) => staged,
            Err(error) => Staged::Answered(preflight.refuse(&error, now)),
        }
    }

    /// Stores the session of a [`Staged::Insert`] and calls `done` with the response once
    /// it is durable (201) or refused (503 for a failing store, 429 for a full one, in the
    /// endpoint's error shape): on the store's own thread if it
    /// [queues inserts](Authenticator::queues_inserts), else before this returns. `done` is
    /// called exactly once.
    pub fn insert_queued(
        &self,
        insert: PendingInsert,
        done: impl FnOnce(HttpResponse) + Send + 'static,
    ) {
        let PendingInsert { write, answer } = insert;
        write.queue(
            self.session_store(),
            Box::new(move |result| done(answer.finish(result))),
        );
    }

    /// Stores the subscriber of a [`Staged::Upsert`] and calls `done` with the response once
    /// it is durable (201 with the subscriber as stored), refused (400 for too many device
    /// ids) or failed (503), in the v1 envelope: on the store's own thread if it
    /// [queues upserts](Authenticator::queues_upserts), else before this returns. `done` is
    /// called exactly once.
    pub fn upsert_queued(
        &self,
        upsert: PendingUpsert,
        done: impl FnOnce(HttpResponse) + Send + 'static,
    ) {
        let PendingUpsert { write, now } = upsert;
        write.queue(
            self.subscriber_store(),
            Box::new(move |result| done(PendingUpsert::finish(now, result))),
        );
    }

    /// Whether the store work the request leaves after [`Authenticator::stage_http`] (an
    /// insert for a [create](Preflight::creates_session), an upsert for a v1 connect) is
    /// queued for a thread of the store's own, so that a host on an async runtime may stage
    /// the request there and await the answer.
    pub fn queues_store_work(&self, preflight: &Preflight) -> bool {
        if preflight.creates_session() {
            self.queues_inserts()
        } else {
            self.queues_upserts()
        }
    }

    fn preflight(&self, path: &str, head: &HttpHead<'_>) -> Result<Preflight> {
        let route = route(path).ok_or(Error::RouteNotFound)?;
        if head.method != "POST" {
            return Err(Error::MethodNotAllowed);
        }
        // The key is hashed once: the digest authenticates here, and is what `complete` and
        // the host's rate limiter know the caller by.
        let caller = presented_digest(api_key_from_headers(head.headers.iter().copied()))?;
        let callers = self.callers();
        let caller_id = match route {
            Route::V2Supplier | Route::V1SupplierLink(_) => {
                callers.supplier_by_digest(&caller)?.id.clone()
            }
            Route::V2Manufacturer | Route::V1Connect => {
                callers.manufacturer_by_digest(&caller)?.id.clone()
            }
        };
        let is_json = head
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .and_then(|(_, value)| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        let too_large = head
            .content_length
            .is_some_and(|length| u64::try_from(self.max_body_bytes).is_ok_and(|l| length > l));
        if too_large {
            return Err(Error::PayloadTooLarge {
                limit: self.max_body_bytes,
            });
        }
        let endpoint = match route {
            Route::V2Supplier => Endpoint::V2Supplier,
            Route::V2Manufacturer => Endpoint::V2Manufacturer,
            Route::V1SupplierLink(segment) => Endpoint::V1SupplierLink(segment.to_owned()),
            Route::V1Connect => Endpoint::V1Connect,
        };
        Ok(Preflight {
            endpoint,
            caller,
            caller_id,
            body_limit: self.max_body_bytes,
        })
    }

    /// A create's answer once its session is stored: `response`, or the store's refusal in
    /// the endpoint's error shape (`v2` or the v1 envelope).
    fn insert_then(
        &self,
        session: crate::LinkSession,
        response: HttpResponse,
        v2: bool,
        now: i64,
    ) -> Result<Staged> {
        Ok(Staged::Insert(PendingInsert {
            write: self.new_session_write(session, now)?,
            answer: InsertAnswer { response, v2, now },
        }))
    }

    fn complete(&self, preflight: &Preflight, body: &[u8], now: i64) -> Result<Staged> {
        if body.len() > preflight.body_limit {
            return Err(Error::PayloadTooLarge {
                limit: preflight.body_limit,
            });
        }
        let callers = self.callers();
        let supplier = || {
            callers
                .suppliers()
                .iter()
                .find(|s| s.has_key(&preflight.caller))
                .ok_or(Error::InvalidApiKey)
        };
        let manufacturer = || {
            callers
                .manufacturers()
                .iter()
                .find(|m| m.has_key(&preflight.caller))
                .ok_or(Error::InvalidApiKey)
                .and_then(|m| {
                    if m.enabled {
                        Ok(m)
                    } else {
                        Err(Error::ManufacturerNotEnabled)
                    }
                })
        };
        match &preflight.endpoint {
            Endpoint::V2Supplier => {
                let input = SupplierLinkSessionInput::from_json(body)?;
                let session = self.new_supplier_link_session(supplier()?, &input, now)?;
                let response = HttpResponse::json(201, &SessionBody::new(&session));
                self.insert_then(session, response, preflight.is_v2(), now)
            }
            Endpoint::V2Manufacturer => {
                let input = ManufacturerLinkSessionInput::from_json(body)?;
                let session = self.new_manufacturer_link_session(manufacturer()?, &input, now)?;
                let response = HttpResponse::json(201, &SessionBody::new(&session));
                self.insert_then(session, response, preflight.is_v2(), now)
            }
            Endpoint::V1SupplierLink(segment) => {
                let user_id = percent_decode_str(segment).decode_utf8().map_err(|_| {
                    Error::refuse(
                        crate::error::Rule::InvalidId,
                        "userId",
                        "userId must be valid UTF-8 once percent-decoded",
                    )
                })?;
                let input = V1SupplierLinkInput::from_json(&user_id, body)?;
                let session = self.new_v1_supplier_link(supplier()?, &input, now)?;
                let body = V1Envelope::new(SessionBody::new(&session), now);
                let response = HttpResponse::json(201, &body);
                self.insert_then(session, response, preflight.is_v2(), now)
            }
            Endpoint::V1Connect => {
                let input = V1ConnectInput::from_json(body)?;
                Ok(Staged::Upsert(PendingUpsert {
                    write: self.subscriber_write(manufacturer()?, &input)?,
                    now,
                }))
            }
        }
    }
}

/// An error as the endpoint documents it: `{error}` under `/v2/`, the v1 envelope elsewhere,
/// with `Allow` on a 405 and `Retry-After` on a 429.
fn error_response(v2: bool, error: &Error, now: i64) -> HttpResponse {
    let mut response = if v2 {
        HttpResponse::json(error.status(), &V2ErrorBody::new(error))
    } else {
        HttpResponse::json(error.status(), &V1ErrorBody::new(error, now))
    };
    if *error == Error::MethodNotAllowed {
        response.headers.push(("allow", "POST".to_owned()));
    }
    if let Some(seconds) = error.retry_after_seconds() {
        response.headers.push(("retry-after", seconds.to_string()));
    }
    response.with_failure(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator() -> Authenticator {
        Authenticator::from_json(
            r#"{"suppliers": [{"id": "s1", "name": "Acme Energy", "api_key": "k1",
                "redirect_urls": ["https://acme.example/cb"]}], "max_body_bytes": 100}"#,
        )
        .unwrap()
    }

    fn head<'a>(target: &'a str, headers: &'a [(&'a str, &'a str)]) -> HttpHead<'a> {
        HttpHead {
            method: "POST",
            target,
            headers,
            content_length: None,
        }
    }

    #[test]
    fn a_staged_create_is_answered_by_its_insert() {
        let auth = authenticator();
        let keyed = [("x-api-key", "k1"), ("content-type", "application/json")];
        let preflight = auth
            .preflight_http(&head("/v2/supplier/link-sessions", &keyed), 0)
            .unwrap();
        assert!(preflight.creates_session());
        assert!(
            !auth.queues_inserts(),
            "the memory store inserts in the call"
        );
        let body =
            br#"{"user_id":"u1","redirect_url":"https://acme.example/cb","asset_type":"pv"}"#;
        // A bad body is answered in the stage, with no insert.
        let Staged::Answered(refused) = auth.stage_http(&preflight, b"{}", 0) else {
            panic!("a refusal needs no insert");
        };
        assert_eq!(refused.status, 400);
        let Staged::Insert(insert) = auth.stage_http(&preflight, body, 0) else {
            panic!("a create is staged up to its insert");
        };
        assert_eq!(
            auth.session_count().unwrap(),
            0,
            "nothing is stored before the insert"
        );
        let (sent, answer) = std::sync::mpsc::channel();
        auth.insert_queued(insert, move |response| sent.send(response).unwrap());
        let response = answer.recv().unwrap();
        assert_eq!(response.status, 201);
        let created: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        let token = created["link_token"].as_str().unwrap();
        assert!(auth.session(token).is_ok(), "the 201 session is stored");
    }

    #[test]
    fn a_staged_connect_is_answered_by_its_upsert() {
        let auth = Authenticator::from_json(
            r#"{"manufacturers": [{"id": "m1", "name": "Acme Heat", "api_key": "mk",
                "enabled": true}], "limits": {"device_ids_per_subscriber": 3}}"#,
        )
        .unwrap();
        let keyed = [("x-api-key", "mk"), ("content-type", "application/json")];
        let preflight = auth
            .preflight_http(&head("/manufacturers/nox", &keyed), 0)
            .unwrap();
        assert!(!preflight.creates_session());
        assert!(
            !auth.queues_store_work(&preflight),
            "the memory store upserts in the call"
        );
        let connect = |body: &[u8], now: i64| {
            let Staged::Upsert(upsert) = auth.stage_http(&preflight, body, now) else {
                panic!("a connect is staged up to its upsert");
            };
            let (sent, answer) = std::sync::mpsc::channel();
            auth.upsert_queued(upsert, move |response| sent.send(response).unwrap());
            answer.recv().unwrap()
        };
        // A bad body is answered in the stage, in the v1 envelope, with no upsert.
        let Staged::Answered(refused) = auth.stage_http(&preflight, b"{}", 0) else {
            panic!("a refusal needs no upsert");
        };
        assert_eq!(refused.status, 400);
        let first = br#"{"manufacturer_user_id":"u1","device_ids":["a","b"]}"#;
        assert!(
            matches!(auth.stage_http(&preflight, first, 5), Staged::Upsert(_)),
            "staging stores nothing"
        );
        let response = connect(first, 10);
        assert_eq!(response.status, 201);
        // The same bytes as the connect answered in the call (which now finds the subscriber).
        assert_eq!(auth.complete_http(&preflight, first, 10), response);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["data"]["device_ids"], serde_json::json!(["a", "b"]));
        // Past the cap: 400 in the v1 envelope, with its rule, and nothing changes.
        let response = connect(
            br#"{"manufacturer_user_id":"u1","device_ids":["c","d"]}"#,
            20,
        );
        assert_eq!(response.status, 400);
        assert_eq!(
            response.refusal.as_ref().map(|r| r.rule.as_str()),
            Some("too_many_device_ids")
        );
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["success"], serde_json::json!(false));
        let response = connect(br#"{"manufacturer_user_id":"u1","device_ids":["c"]}"#, 30);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            body["data"]["device_ids"],
            serde_json::json!(["a", "b", "c"])
        );
    }

    #[test]
    fn the_head_alone_decides_route_method_key_type_and_declared_size() {
        let auth = authenticator();
        let json = ("content-type", "application/json");
        let keyed = [("x-api-key", "k1"), json];
        let json_only = [json];
        let cases: [(HttpHead<'_>, u16); 5] = [
            (head("/nope", &[]), 404),
            (
                HttpHead {
                    method: "GET",
                    ..head("/v2/supplier/link-sessions", &[])
                },
                405,
            ),
            (head("/v2/supplier/link-sessions", &json_only), 401),
            (head("/users/u1/link", &[("x-api-key", "k1")]), 415),
            (
                HttpHead {
                    content_length: Some(101),
                    ..head("/users/u1/link", &keyed)
                },
                413,
            ),
        ];
        for (head, status) in cases {
            assert_eq!(auth.preflight_http(&head, 0).unwrap_err().status, status);
        }
        let preflight = auth
            .preflight_http(
                &HttpHead {
                    content_length: Some(100),
                    ..head("/users/u1/link", &keyed)
                },
                0,
            )
            .unwrap();
        assert_eq!(preflight.body_limit(), 100);
        assert_eq!(*preflight.caller_key(), ApiKeyDigest::of_key("k1"));
        assert_eq!(preflight.caller_id(), "s1");
        assert!(!preflight.is_v2());
    }

    #[test]
    fn an_undeclared_body_over_the_limit_is_413_once_read() {
        let auth = authenticator();
        let headers = [("x-api-key", "k1"), ("content-type", "application/json")];
        let preflight = auth
            .preflight_http(&head("/v2/supplier/link-sessions", &headers), 0)
            .unwrap();
        assert_eq!(auth.complete_http(&preflight, &[b' '; 101], 0).status, 413);
    }

    #[test]
    fn host_refusals_take_the_endpoint_shape() {
        let auth = authenticator();
        let headers = [("x-api-key", "k1"), ("content-type", "application/json")];
        let v2 = auth
            .preflight_http(&head("/v2/supplier/link-sessions", &headers), 7)
            .unwrap();
        let v1 = auth
            .preflight_http(&head("/users/u1/link", &headers), 7)
            .unwrap();
        let limited = Error::RateLimited {
            retry_after_seconds: 2,
        };
        let response = v2.refuse(&limited, 7);
        assert_eq!(response.status, 429);
        assert_eq!(response.header("retry-after"), Some("2"));
        assert_eq!(response.body, br#"{"error":"Rate limit exceeded"}"#);
        let response = v1.refuse(&limited, 7);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["error_code"], "rate_limited");
        assert_eq!(response.header("retry-after"), Some("2"));
        let response = v2.body_unreadable(7);
        assert_eq!(response.status, 400);
        assert_eq!(response.body, br#"{"error":"Invalid request body"}"#);
        let response = v1.body_unreadable(7);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["error_code"], "validation_error");
        assert_eq!(body["message"], "Invalid request body");
    }

    #[test]
    fn routes_are_exact() {
        assert_eq!(route("/v2/supplier/link-sessions"), Some(Route::V2Supplier));
        assert_eq!(
            route("/users/u%201/link"),
            Some(Route::V1SupplierLink("u%201"))
        );
        assert_eq!(route("/users//link"), Some(Route::V1SupplierLink("")));
        for path in [
            "/v2/supplier/link-sessions/",
            "/V2/supplier/link-sessions",
            "/supplier/link-sessions",
            "/users/a/b/link",
            "/users/link",
            "/manufacturers/nox/",
            "",
        ] {
            assert_eq!(route(path), None, "{path}");
        }
    }
}
