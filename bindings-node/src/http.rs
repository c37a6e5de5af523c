//! `Authenticator#handleHttp`: the core's pure HTTP adapter as one call. Its JavaScript half
//! (`adapter.js`) takes the request object apart and builds a plain answer's object; this half
//! checks the types and calls the core.

use napi::Env;
use napi::ValueType;
use napi::bindgen_prelude::{Buffer, BufferSlice, Either, FromNapiValue, JsValue, Object, Unknown};
use napi_derive::napi;
use nox_authenticator::{HttpRequest as CoreRequest, HttpResponse as CoreResponse};

use crate::args::Args;
use crate::authenticator::Authenticator;

/// An HTTP request as a server received it.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct HttpRequest {
    /// The method, as sent (`POST`; methods are case-sensitive).
    pub method: String,
    /// The request target: the path, optionally with a query string (ignored).
    pub path: String,
    /// The headers: an object (as `req.headers` of `node:http`; array values repeat the header)
    /// or an array of `[name, value]` pairs. Names in any case.
    #[napi(ts_type = "Record<string, string | string[] | undefined> | Array<[string, string]>")]
    pub headers: Option<Either<Vec<(String, String)>, Object<'static>>>,
    /// The body bytes, or a string sent as its UTF-8 bytes.
    pub body: Option<Either<Buffer, String>>,
    /// Unix seconds (a whole number); the system clock when omitted.
    pub now: Option<f64>,
}

/// The response to send.
#[napi(object, object_from_js = false)]
pub struct HttpResponse<'env> {
    /// The status code.
    pub status: u32,
    /// The headers, lower-case names (`content-type`, `cache-control`, and `allow` on 405).
    pub headers: std::collections::HashMap<String, String>,
    /// The JSON body, as a `Buffer` (write it as is; `JSON.parse(body)` to read it).
    // A copy in V8's memory: cheaper for a body this small than handing V8 the core's bytes,
    // which needs a finalizer per response (about 12.5 µs → 10.5 µs per request).
    pub body: BufferSlice<'env>,
    /// For a 400, the code of the rule the request broke (`missing_field`, `brand_unknown`,
    /// ... spec decision 17): the same as a thrown error's `rule`. Never on the wire.
    pub rule: Option<&'static str>,
    /// For a 400, the request field concerned.
    pub field: Option<&'static str>,
    /// For a 400 about an unknown brand, the slug of a brand whose spelling is close.
    pub did_you_mean: Option<String>,
}

/// The core adapter a call goes to.
type Adapter = fn(&nox_authenticator::Authenticator, &CoreRequest<'_>, i64) -> CoreResponse;

/// What the native half of `handleHttp` answers: for a plain answer (the two JSON headers, no
/// refusal details, a body that fits the scratch buffer), `status << 17 | length` with the body
/// written at the start of the scratch buffer, which `adapter.js` copies out and reshapes into
/// an [`HttpResponse`]; otherwise the whole [`HttpResponse`].
type Answer<'env> = Either<u32, HttpResponse<'env>>;

/// The longest body answered through the scratch buffer (17 bits of the answer).
const SCRATCH_MAX: usize = 1 << 16;

/// The request's fields as `adapter.js` passes them: each one as the caller wrote it, and the
/// headers also as one string, names and values joined by NUL, with the number of pairs (or
/// `undefined` when a header is not a plain string).
struct Fields<'v> {
    method: Unknown<'v>,
    path: Unknown<'v>,
    joined: Unknown<'v>,
    pairs: Unknown<'v>,
    headers: Unknown<'v>,
    body: Unknown<'v>,
    now: Unknown<'v>,
    /// The thread's scratch buffer from `adapter.js` (anything else: no scratch).
    scratch: Unknown<'v>,
}

/// The headers from the joined string, when it holds exactly `pairs` pairs and no U+FFFD (which
/// could be napi's stand-in for a lone surrogate, and a NUL inside a name or value changes the
/// count): otherwise `None`, and the headers value is read as the caller wrote it.
fn split_headers(joined: &str, pairs: usize) -> Option<Vec<(&str, &str)>> {
    if pairs == 0 {
        return joined.is_empty().then(Vec::new);
    }
    if joined.contains('\u{FFFD}') {
        return None;
    }
    let mut parts = joined.split('\0');
    let mut headers = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        headers.push((parts.next()?, parts.next()?));
    }
    parts.next().is_none().then_some(headers)
}

/// Whether `response` is a plain answer: exactly the two JSON headers and nothing for the log.
fn is_plain(response: &CoreResponse) -> bool {
    matches!(
        response.headers.as_slice(),
        [("content-type", json), ("cache-control", no_store)]
            if json == "application/json" && no_store == "no-store"
    ) && response.refusal.is_none()
}

impl Authenticator {
    fn answer<'env>(
        &self,
        env: &'env Env,
        fields: Fields<'_>,
        method_name: &'static str,
        adapter: Adapter,
    ) -> napi::Result<Answer<'env>> {
        // Each wrong type or lone surrogate is named (`request.headers["x-api-key"]`) as Node's
        // own APIs name it.
        let args = Args::new(env, method_name);
        let method = args.required_string(fields.method, "request.method")?;
        let path = args.required_string(fields.path, "request.path")?;
        let joined = match fields.joined.get_type()? {
            ValueType::String => Some(String::from_unknown(fields.joined)?),
            _ => None,
        };
        let pairs = match fields.pairs.get_type()? {
            ValueType::Number => f64::from_unknown(fields.pairs)?,
            _ => 0.0,
        };
        // A count napi could not have made is no count: the headers are then read as written.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let fast = joined.as_deref().and_then(|joined| {
            (pairs.fract() == 0.0 && (0.0..=65_536.0).contains(&pairs))
                .then(|| split_headers(joined, pairs as usize))
                .flatten()
        });
        let owned;
        let headers = match fast {
            Some(headers) => headers,
            None => {
                owned = args.headers(fields.headers, "request.headers")?;
                owned
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect()
            }
        };
        let body_value = fields.body;
        let (buffer, text) = match body_value.get_type()? {
            ValueType::Undefined | ValueType::Null => (None, String::new()),
            ValueType::Object if body_value.is_buffer()? => {
                (Some(BufferSlice::from_unknown(body_value)?), String::new())
            }
            ValueType::String => (None, args.required_string(body_value, "request.body")?),
            other => return Err(args.type_error("request.body", "a Buffer or a string", other)),
        };
        let body: &[u8] = buffer.as_deref().unwrap_or(text.as_bytes());
        let now = args.now(fields.now, "request.now")?;
        let response = adapter(
            &self.inner,
            &CoreRequest {
                method: &method,
                target: &path,
                headers: &headers,
                body,
            },
            now,
        );
        if is_plain(&response) && response.status < 1000 && response.body.len() <= SCRATCH_MAX {
            let scratch = match fields.scratch.get_type()? {
                ValueType::Object if fields.scratch.is_buffer()? => {
                    Some(BufferSlice::from_unknown(fields.scratch)?)
                }
                _ => None,
            };
            if let Some(mut scratch) = scratch
                && let Some(target) = scratch.get_mut(..response.body.len())
                && let Ok(length) = u32::try_from(response.body.len())
            {
                target.copy_from_slice(&response.body);
                return Ok(Either::A((u32::from(response.status) << 17) | length));
            }
        }
        let (rule, field) = (response.rule(), response.field());
        let did_you_mean = response.did_you_mean().map(str::to_owned);
        Ok(Either::B(HttpResponse {
            status: u32::from(response.status),
            headers: response
                .headers
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            body: BufferSlice::copy_from(env, &response.body)?,
            rule,
            field,
            did_you_mean,
        }))
    }
}

#[napi]
impl Authenticator {
    /// Answers one HTTP request for any of the four endpoints. Never throws for what a client
    /// sent: errors are answered as the documented error bodies (v2 `{error}`, v1 envelope).
    #[napi(
        catch_unwind,
        strict,
        ts_args_type = "request: HttpRequest",
        ts_return_type = "HttpResponse"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn handle_http<'env>(
        &self,
        env: &'env Env,
        method: Unknown,
        path: Unknown,
        joined: Unknown,
        pairs: Unknown,
        headers: Unknown,
        body: Unknown,
        now: Unknown,
        scratch: Unknown,
    ) -> napi::Result<Answer<'env>> {
        let fields = Fields {
            method,
            path,
            joined,
            pairs,
            headers,
            body,
            now,
            scratch,
        };
        self.answer(
            env,
            fields,
            "handleHttp",
            nox_authenticator::Authenticator::handle_http,
        )
    }

    /// Answers one request of the admin API (`GET /admin/link-sessions/{token}`, `POST
    /// /admin/link-sessions/{token}/complete`: `{kind, state, session}` or `{error, code}`),
    /// for a host that serves its own admin side. Serve it only where the public cannot reach
    /// it, or configure an admin key (`"admin": {"api_key_sha256": …}` in the JSON configuration).
    #[napi(
        catch_unwind,
        strict,
        ts_args_type = "request: HttpRequest",
        ts_return_type = "HttpResponse"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn handle_admin_http<'env>(
        &self,
        env: &'env Env,
        method: Unknown,
        path: Unknown,
        joined: Unknown,
        pairs: Unknown,
        headers: Unknown,
        body: Unknown,
        now: Unknown,
        scratch: Unknown,
    ) -> napi::Result<Answer<'env>> {
        let fields = Fields {
            method,
            path,
            joined,
            pairs,
            headers,
            body,
            now,
            scratch,
        };
        self.answer(
            env,
            fields,
            "handleAdminHttp",
            nox_authenticator::Authenticator::handle_admin_http,
        )
    }
}
