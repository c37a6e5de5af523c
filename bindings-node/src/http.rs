//! `Authenticator#handleHttp`: the core's pure HTTP adapter as one call.

use napi::Env;
use napi::ValueType;
use napi::bindgen_prelude::{
    Buffer, BufferSlice, Either, FromNapiValue, JsObjectValue, JsValue, Object, Unknown,
};
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

impl Authenticator {
    fn answer<'env>(
        &self,
        env: &'env Env,
        request: Unknown,
        method_name: &'static str,
        adapter: Adapter,
    ) -> napi::Result<HttpResponse<'env>> {
        // Read field by field, so that each wrong type or lone surrogate is named
        // (`request.headers["x-api-key"]`) as Node's own APIs name it.
        let args = Args::new(env, method_name);
        let request = args.object(request, "request")?;
        let field = |name: &str| request.get_named_property::<Unknown>(name);
        let method = args.required_string(field("method")?, "request.method")?;
        let path = args.required_string(field("path")?, "request.path")?;
        let pairs = args.headers(field("headers")?, "request.headers")?;
        let body_value = field("body")?;
        let (buffer, text) = match body_value.get_type()? {
            ValueType::Undefined | ValueType::Null => (None, String::new()),
            ValueType::Object if body_value.is_buffer()? => {
                (Some(Buffer::from_unknown(body_value)?), String::new())
            }
            ValueType::String => (None, args.required_string(body_value, "request.body")?),
            other => return Err(args.type_error("request.body", "a Buffer or a string", other)),
        };
        let body: &[u8] = buffer.as_deref().unwrap_or(text.as_bytes());
        let now = args.now(field("now")?, "request.now")?;
        let headers: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
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
        let (rule, field) = (response.rule(), response.field());
        let did_you_mean = response.did_you_mean().map(str::to_owned);
        Ok(HttpResponse {
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
        })
    }
}

#[napi]
impl Authenticator {
    /// Answers one HTTP request for any of the four endpoints. Never throws for what a client
    /// sent: errors are answered as the documented error bodies (v2 `{error}`, v1 envelope).
    #[napi(catch_unwind, strict, ts_args_type = "request: HttpRequest")]
    pub fn handle_http<'env>(
        &self,
        env: &'env Env,
        request: Unknown,
    ) -> napi::Result<HttpResponse<'env>> {
        self.answer(
            env,
            request,
            "handleHttp",
            nox_authenticator::Authenticator::handle_http,
        )
    }

    /// Answers one request of the admin API (`GET /admin/link-sessions/{token}`, `POST
    /// /admin/link-sessions/{token}/complete`: `{kind, state, session}` or `{error, code}`),
    /// for a host that serves its own admin side. Serve it only where the public cannot reach
    /// it, or configure an admin key (`"admin": {"api_key_sha256": …}` in the JSON configuration).
    #[napi(catch_unwind, strict, ts_args_type = "request: HttpRequest")]
    pub fn handle_admin_http<'env>(
        &self,
        env: &'env Env,
        request: Unknown,
    ) -> napi::Result<HttpResponse<'env>> {
        self.answer(
            env,
            request,
            "handleAdminHttp",
            nox_authenticator::Authenticator::handle_admin_http,
        )
    }
}
