//! The one error type of the library.
//!
//! Every failure carries what a caller needs to answer it on the wire: the HTTP status
//! ([`Error::status`]), the message ([`Error::message`], the `Display` text) and the stable code
//! ([`Error::code`], which for the v1 API is the documented `error_code`). Bindings convert this
//! enum in one place and never match on message text.

use std::fmt;

/// Which request field was wrong, in the words of the wire format (`user_id`, `redirect_url`…).
pub type FieldName = &'static str;

/// Every way an operation of this library can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No API key was given (`x-api-key` or `Authorization: ApiKey KEY`). 401.
    #[error("Missing API key")]
    MissingApiKey,
    /// The API key matches no caller of the required kind. 401.
    #[error("Invalid API key")]
    InvalidApiKey,
    /// The key belongs to a manufacturer whose account is disabled. 401.
    #[error("Manufacturer not enabled")]
    ManufacturerNotEnabled,
    /// The request is malformed: a missing, mistyped, empty, oversized or invalid field, or a
    /// body that is not a JSON object. 400.
    #[error("{message}")]
    Validation {
        /// The wire message, for example `Missing required fields: user_id, redirect_url`.
        message: String,
        /// The offending fields, in schema order (empty when the body as a whole is wrong).
        fields: Vec<FieldName>,
    },
    /// No link session has this token (it never existed, or it was evicted). 404.
    #[error("Link session not found")]
    SessionNotFound,
    /// The link session expired before it was completed. 410.
    #[error("Link session expired at {expires_at}")]
    SessionExpired {
        /// When it expired (Unix seconds).
        expires_at: i64,
    },
    /// The link session was already completed; a session completes once only. 409.
    #[error("Link session already completed at {completed_at}")]
    SessionAlreadyCompleted {
        /// When it was completed (Unix seconds).
        completed_at: i64,
    },
    /// No route has this path. 404.
    #[error("Not found")]
    RouteNotFound,
    /// The route exists but not for this method. 405.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// The request body is larger than the configured limit. 413.
    #[error("Request body too large (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request body is not declared as `application/json`. 415.
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// The caller, or the service as a whole, holds as many pending sessions as the limits allow
    /// (spec decision 12). 429 with `Retry-After`.
    #[error("Too many pending link sessions")]
    TooManySessions {
        /// Seconds until a pending session expires and makes room (at most 600).
        retry_after_seconds: u64,
    },
    /// The API key sent more requests than its rate allows (spec decision 12). 429 with
    /// `Retry-After`.
    #[error("Rate limit exceeded")]
    RateLimited {
        /// Seconds until the next request will be accepted.
        retry_after_seconds: u64,
    },
    /// A configuration (callers, keys, redirect URLs, link base URLs) is invalid.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// Where in the configuration, for example `suppliers[0].redirect_urls[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A brand catalog is invalid.
    #[error("invalid catalog: {field}: {reason}")]
    InvalidCatalog {
        /// Where in the catalog, for example `brands[3].slug`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store failed or cannot be reached (database down, disk full, …). 503: the request
    /// may succeed once the store is back; the reason goes to the log, never on the wire.
    #[error("store unavailable: {reason}")]
    Store {
        /// The store's own description of the failure.
        reason: String,
    },
    /// The system's secure random generator failed. 500.
    #[error("secure random generator unavailable")]
    Randomness,
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Error::MissingApiKey | Error::InvalidApiKey | Error::ManufacturerNotEnabled => 401,
            Error::Validation { .. } => 400,
            Error::SessionNotFound | Error::RouteNotFound => 404,
            Error::SessionExpired { .. } => 410,
            Error::SessionAlreadyCompleted { .. } => 409,
            Error::MethodNotAllowed => 405,
            Error::PayloadTooLarge { .. } => 413,
            Error::UnsupportedMediaType => 415,
            Error::TooManySessions { .. } | Error::RateLimited { .. } => 429,
            Error::InvalidConfig { .. } | Error::InvalidCatalog { .. } | Error::Randomness => 500,
            Error::Store { .. } => 503,
        }
    }

    /// A stable machine-readable code. For the four documented v1 cases it is the v1
    /// `error_code` (`missing_api_key`, `invalid_api_key`, `manufacturer_not_enabled`,
    /// `validation_error`); the others follow the same style.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingApiKey => "missing_api_key",
            Error::InvalidApiKey => "invalid_api_key",
            Error::ManufacturerNotEnabled => "manufacturer_not_enabled",
            Error::Validation { .. } => "validation_error",
            Error::SessionNotFound => "not_found",
            Error::SessionExpired { .. } => "expired",
            Error::SessionAlreadyCompleted { .. } => "already_completed",
            Error::RouteNotFound => "route_not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::TooManySessions { .. } => "too_many_sessions",
            Error::RateLimited { .. } => "rate_limited",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::InvalidCatalog { .. } => "invalid_catalog",
            Error::Store { .. } => "store_error",
            Error::Randomness => "internal_error",
        }
    }

    /// The wire message (the same as `to_string()`). Internal failures (store, randomness,
    /// configuration) are reported on the wire as `Internal server error` instead, see
    /// [`Error::public_message`].
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// A store failure, with the store's own description (for the log).
    pub fn store(reason: impl fmt::Display) -> Error {
        Error::Store {
            reason: reason.to_string(),
        }
    }

    /// The message safe to send to an API client: internal details are not leaked.
    pub fn public_message(&self) -> String {
        if let Error::Store { .. } = self {
            "Service unavailable".to_owned()
        } else if self.status() >= 500 {
            "Internal server error".to_owned()
        } else {
            self.to_string()
        }
    }

    /// For a 429, the seconds to send as `Retry-After`.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Error::TooManySessions {
                retry_after_seconds,
            }
            | Error::RateLimited {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The request fields this error is about (empty when it is not about a field).
    pub fn fields(&self) -> &[FieldName] {
        match self {
            Error::Validation { fields, .. } => fields,
            _ => &[],
        }
    }

    /// A validation error about one field.
    pub(crate) fn invalid(field: FieldName, message: impl fmt::Display) -> Error {
        Error::Validation {
            message: message.to_string(),
            fields: vec![field],
        }
    }

    /// A validation error about the body as a whole.
    pub(crate) fn invalid_body(message: impl fmt::Display) -> Error {
        Error::Validation {
            message: message.to_string(),
            fields: Vec::new(),
        }
    }

    pub(crate) fn config(field: impl Into<String>, reason: impl fmt::Display) -> Error {
        Error::InvalidConfig {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn catalog(field: impl Into<String>, reason: impl fmt::Display) -> Error {
        Error::InvalidCatalog {
            field: field.into(),
            reason: reason.to_string(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_auth_errors_have_documented_texts_and_codes() {
        let cases = [
            (
                Error::MissingApiKey,
                401,
                "Missing API key",
                "missing_api_key",
            ),
            (
                Error::InvalidApiKey,
                401,
                "Invalid API key",
                "invalid_api_key",
            ),
            (
                Error::ManufacturerNotEnabled,
                401,
                "Manufacturer not enabled",
                "manufacturer_not_enabled",
            ),
        ];
        for (error, status, message, code) in cases {
            assert_eq!(error.status(), status);
            assert_eq!(error.message(), message);
            assert_eq!(error.code(), code);
            assert!(error.fields().is_empty());
        }
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let error = Error::Store {
            reason: "connection refused to db.internal:5432".into(),
        };
        assert_eq!(error.status(), 503);
        assert_eq!(error.public_message(), "Service unavailable");
        assert!(error.message().contains("db.internal"));
        assert_eq!(Error::Randomness.public_message(), "Internal server error");
    }

    #[test]
    fn validation_errors_name_their_fields() {
        let error = Error::invalid("user_id", "user_id must be a string");
        assert_eq!(error.status(), 400);
        assert_eq!(error.code(), "validation_error");
        assert_eq!(error.fields(), ["user_id"]);
        assert_eq!(error.public_message(), "user_id must be a string");
    }
}
