//! The core's pure HTTP adapter as records: an app (or a local test server) passes a request's
//! parts to [`crate::Authenticator::handle_http`] and writes back the response's parts.

use nox_authenticator as nox;

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// The name, in any case.
    pub name: String,
    /// The value.
    pub value: String,
}

/// An HTTP request as received.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// The method, as sent (`POST`; methods are case-sensitive).
    pub method: String,
    /// The request path, optionally with a query string (ignored): `path`, as in every other
    /// language.
    pub path: String,
    /// The headers, in order.
    #[uniffi(default)]
    pub headers: Vec<HttpHeader>,
    /// The body bytes.
    #[uniffi(default)]
    pub body: Vec<u8>,
}

/// The response to send.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// The status code.
    pub status: i32,
    /// The headers (lower-case names).
    pub headers: Vec<HttpHeader>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// For a 400, the code of the rule the request broke (`missing_field`, `brand_unknown`,
    /// ... spec decision 17), as `NoxException.Validation.rule`. Never on the wire.
    #[uniffi(default)]
    pub rule: Option<String>,
    /// For a 400, the request field concerned.
    #[uniffi(default)]
    pub field: Option<String>,
    /// For a 400 about an unknown brand, the slug of a brand whose spelling is close.
    #[uniffi(default)]
    pub did_you_mean: Option<String>,
}

impl HttpRequest {
    /// Answers this request with `respond`, which sees it as the core's borrowed request.
    pub(crate) fn with_core<T>(&self, respond: impl FnOnce(&nox::HttpRequest<'_>) -> T) -> T {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        respond(&nox::HttpRequest {
            method: &self.method,
            target: &self.path,
            headers: &headers,
            body: &self.body,
        })
    }
}

impl From<nox::HttpResponse> for HttpResponse {
    fn from(response: nox::HttpResponse) -> HttpResponse {
        HttpResponse {
            status: i32::from(response.status),
            rule: response.rule().map(str::to_owned),
            field: response.field().map(str::to_owned),
            did_you_mean: response.did_you_mean().map(str::to_owned),
            headers: response
                .headers
                .into_iter()
                .map(|(name, value)| HttpHeader {
                    name: name.to_owned(),
                    value,
                })
                .collect(),
            body: response.body,
        }
    }
}
