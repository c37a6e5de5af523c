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
//! ```

use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::authenticator::Authenticator;
use crate::error::{Error, Result};
use crate::principal::api_key_from_headers;
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

/// The response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers (lower-case names).
    pub headers: Vec<(&'static str, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
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
        let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
        HttpResponse {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                // Bodies carry bearer tokens: no cache may keep them.
                ("cache-control", "no-store".to_owned()),
            ],
            body,
        }
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

fn is_v2_path(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

impl Authenticator {
    /// Answers one HTTP request at time `now`. Never panics, whatever the input.
    pub fn handle_http(&self, request: &HttpRequest<'_>, now: i64) -> HttpResponse {
        let path = request.target.split(['?', '#']).next().unwrap_or_default();
        let v2 = is_v2_path(path);
        match self.serve(path, request, now) {
            Ok(response) => response,
            Err(error) => {
                let mut response = if v2 {
                    HttpResponse::json(error.status(), &V2ErrorBody::new(&error))
                } else {
                    HttpResponse::json(error.status(), &V1ErrorBody::new(&error, now))
                };
                if error == Error::MethodNotAllowed {
                    response.headers.push(("allow", "POST".to_owned()));
                }
                if let Some(seconds) = error.retry_after_seconds() {
                    response.headers.push(("retry-after", seconds.to_string()));
                }
                response
            }
        }
    }

    fn serve(&self, path: &str, request: &HttpRequest<'_>, now: i64) -> Result<HttpResponse> {
        let route = route(path).ok_or(Error::RouteNotFound)?;
        if request.method != "POST" {
            return Err(Error::MethodNotAllowed);
        }
        let api_key = api_key_from_headers(request.headers.iter().copied());
        let callers = self.callers();
        match route {
            Route::V2Supplier => {
                let supplier = callers.authenticate_supplier(api_key)?;
                let input = SupplierLinkSessionInput::from_json(self.json_body(request)?)?;
                let session = self.new_supplier_link_session(supplier, &input, now)?;
                let response = HttpResponse::json(201, &SessionBody::new(&session));
                self.store_new_session(session, now)?;
                Ok(response)
            }
            Route::V2Manufacturer => {
                let manufacturer = callers.authenticate_manufacturer(api_key)?;
                let input = ManufacturerLinkSessionInput::from_json(self.json_body(request)?)?;
                let session = self.new_manufacturer_link_session(manufacturer, &input, now)?;
                let response = HttpResponse::json(201, &SessionBody::new(&session));
                self.store_new_session(session, now)?;
                Ok(response)
            }
            Route::V1SupplierLink(segment) => {
                let supplier = callers.authenticate_supplier(api_key)?;
                let body = self.json_body(request)?;
                let user_id = percent_decode_str(segment).decode_utf8().map_err(|_| {
                    Error::invalid("userId", "userId must be valid UTF-8 once percent-decoded")
                })?;
                let input = V1SupplierLinkInput::from_json(&user_id, body)?;
                let session = self.new_v1_supplier_link(supplier, &input, now)?;
                let body = V1Envelope::new(SessionBody::new(&session), now);
                let response = HttpResponse::json(201, &body);
                self.store_new_session(session, now)?;
                Ok(response)
            }
            Route::V1Connect => {
                let manufacturer = callers.authenticate_manufacturer(api_key)?;
                let input = V1ConnectInput::from_json(self.json_body(request)?)?;
                let subscriber = self.v1_connect_for(manufacturer, &input)?;
                let data = V1ConnectData::new(&subscriber);
                Ok(HttpResponse::json(201, &V1Envelope::new(data, now)))
            }
        }
    }

    /// The body, once the content type and size are acceptable.
    fn json_body<'a>(&self, request: &HttpRequest<'a>) -> Result<&'a [u8]> {
        let is_json = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .and_then(|(_, value)| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        if request.body.len() > self.max_body_bytes {
            return Err(Error::PayloadTooLarge {
                limit: self.max_body_bytes,
            });
        }
        Ok(request.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
