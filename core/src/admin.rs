//! The admin side of the flow (spec decision 13), as a pure adapter like [`crate::http`]: NOX's
//! own hosted page, or an operator, looks up and completes sessions through it. The reference
//! server serves it on its admin listener; a host in any language can serve it on its own.
//!
//! Routes: `GET /admin/link-sessions/{token}` and `POST /admin/link-sessions/{token}/complete`,
//! both answering `{"kind", "state", "session"}` where `session` is the session as its
//! endpoint's 201 body. Errors are `{"error", "code"}`: 401 `missing_api_key` /
//! `invalid_api_key` (when an admin key is configured), 404 `not_found`, 409
//! `already_completed`, 410 `expired`, 404 `route_not_found`, 405 `method_not_allowed`.
//!
//! ```
//! use nox_authenticator::{Authenticator, HttpRequest};
//!
//! let auth = Authenticator::from_json(r#"{"suppliers": [{"id": "s1", "name": "Acme Energy",
//!     "api_key": "k1", "redirect_urls": ["https://acme.example/cb"]}],
//!     "admin": {"api_key": "admin-key"}}"#).unwrap();
//! let created = auth.handle_http(&HttpRequest {
//!     method: "POST",
//!     target: "/v2/supplier/link-sessions",
//!     headers: &[("x-api-key", "k1"), ("content-type", "application/json")],
//!     body: br#"{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}"#,
//! }, 1_703_123_456);
//! let token = serde_json::from_slice::<serde_json::Value>(&created.body).unwrap()["link_token"]
//!     .as_str().unwrap().to_owned();
//! let path = format!("/admin/link-sessions/{token}/complete");
//! let completed = auth.handle_admin_http(&HttpRequest {
//!     method: "POST",
//!     target: &path,
//!     headers: &[("x-api-key", "admin-key")],
//!     body: b"",
//! }, 1_703_123_500);
//! assert_eq!(completed.status, 200);
//! let body: serde_json::Value = serde_json::from_slice(&completed.body).unwrap();
//! assert_eq!(body["state"], "completed");
//! assert_eq!(body["session"]["completed_at"], 1_703_123_500);
//! ```

use serde::Serialize;

use crate::authenticator::Authenticator;
use crate::error::{Error, Result};
use crate::http::{HttpRequest, HttpResponse};
use crate::principal::ApiKeyDigest;
use crate::wire::AdminSessionBody;

/// An admin error body: `{"error", "code"}`.
#[derive(Debug, Serialize)]
struct AdminErrorBody<'a> {
    error: String,
    code: &'a str,
}

enum AdminRoute<'a> {
    Session(&'a str),
    Complete(&'a str),
}

fn admin_route(path: &str) -> Option<AdminRoute<'_>> {
    let rest = path.strip_prefix("/admin/link-sessions/")?;
    match rest.strip_suffix("/complete") {
        Some(token) if !token.is_empty() && !token.contains('/') => {
            Some(AdminRoute::Complete(token))
        }
        Some(_) => None,
        None if !rest.is_empty() && !rest.contains('/') => Some(AdminRoute::Session(rest)),
        None => None,
    }
}

impl Authenticator {
    /// Answers one request of the admin API at time `now`. Never panics, whatever the input.
    pub fn handle_admin_http(&self, request: &HttpRequest<'_>, now: i64) -> HttpResponse {
        let path = request.target.split(['?', '#']).next().unwrap_or_default();
        match self.serve_admin(path, request, now) {
            Ok(response) => response,
            Err(error) => {
                let body = AdminErrorBody {
                    error: error.public_message(),
                    code: error.code(),
                };
                let mut response = HttpResponse::json(error.status(), &body).with_failure(&error);
                if let (Error::MethodNotAllowed, Some(route)) = (&error, admin_route(path)) {
                    let allow = match route {
                        AdminRoute::Session(_) => "GET",
                        AdminRoute::Complete(_) => "POST",
                    };
                    response.headers.push(("allow", allow.to_owned()));
                }
                response
            }
        }
    }

    fn serve_admin(&self, path: &str, request: &HttpRequest<'_>, now: i64) -> Result<HttpResponse> {
        let route = admin_route(path).ok_or(Error::RouteNotFound)?;
        let method = match route {
            AdminRoute::Session(_) => "GET",
            AdminRoute::Complete(_) => "POST",
        };
        if request.method != method {
            return Err(Error::MethodNotAllowed);
        }
        self.check_admin_key(request)?;
        let session = match route {
            AdminRoute::Session(token) => self.session(token)?,
            AdminRoute::Complete(token) => self.complete_session(token, now)?,
        };
        Ok(HttpResponse::json(
            200,
            &AdminSessionBody::new(&session, now),
        ))
    }

    /// With an admin key configured, `x-api-key` must be it (compared as digests, in constant
    /// time); without one, every admin request passes (the host binds loopback only).
    pub fn check_admin_key(&self, request: &HttpRequest<'_>) -> Result<()> {
        let expected = self.admin_keys();
        if expected.is_empty() {
            return Ok(());
        }
        let given = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("x-api-key"))
            .map(|(_, value)| *value)
            .filter(|value| !value.is_empty())
            .ok_or(Error::MissingApiKey)?;
        let presented = ApiKeyDigest::of_key(given);
        // Every key is compared, so the time does not tell which one matched.
        let matches = expected
            .iter()
            .fold(false, |found, key| key.ct_eq(&presented) | found);
        if matches {
            Ok(())
        } else {
            Err(Error::InvalidApiKey)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_routes_are_exact() {
        assert!(matches!(
            admin_route("/admin/link-sessions/abc"),
            Some(AdminRoute::Session("abc"))
        ));
        assert!(matches!(
            admin_route("/admin/link-sessions/abc/complete"),
            Some(AdminRoute::Complete("abc"))
        ));
        for path in [
            "/admin/link-sessions/",
            "/admin/link-sessions//complete",
            "/admin/link-sessions/a/b",
            "/admin/link-sessions/a/b/complete",
            "/admin/link-sessions",
            "/admin",
        ] {
            assert!(admin_route(path).is_none(), "{path}");
        }
    }
}
