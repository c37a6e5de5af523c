//! The one error type of the library.
//!
//! Every failure carries what a caller needs to answer it on the wire: the HTTP status
//! ([`Error::status`]), the message ([`Error::message`], the `Display` text) and the stable code
//! ([`Error::code`], which for the v1 API is the documented `error_code`). Bindings convert this
//! enum in one place and never match on message text.
//!
//! The errors are of different kinds ([`Error::kind`]), kept apart:
//!
//! - **construction errors** ([`Error::InvalidConfig`], [`Error::InvalidCatalog`]): building an
//!   authenticator or a catalog failed, at a path such as `suppliers[0].redirect_urls[1]`;
//! - **request refusals** ([`Error::Validation`], a [`Refusal`]): a request broke one of the
//!   rules of its endpoint. Each carries a stable [`Rule`] code (spec decision 17), the field it
//!   concerns and the message, and for an unknown brand close to a known one a `did_you_mean`.
//!   On the wire all of them are 400 `validation_error` with the message only, as documented;
//!   the rule is for callers of the library, who branch on it instead of on the message;
//! - **protocol refusals** ([`Error::RouteNotFound`], [`Error::MethodNotAllowed`],
//!   [`Error::PayloadTooLarge`], [`Error::UnsupportedMediaType`]): the HTTP request as a whole;
//! - **argument errors** ([`Error::InvalidArgument`]): an argument of the call itself, not of
//!   the request, is unusable: a `now` outside 0 ..= [`MAX_NOW`](crate::MAX_NOW) (spec
//!   decision 18) or a string a binding cannot pass on (a lone surrogate). Python and Node raise
//!   their languages' own `ValueError` / `RangeError` for these instead;
//! - authentication (401), session state (404, 409, 410), limits (429) and internal failures
//!   (store, randomness).
//!
//! [`Error::CODES`] lists every code [`Error::code`] can return.
//!
//! With the `uniffi` feature this enum is the mobile binding's error as it is: Kotlin sees
//! `NoxException` (one subclass per case), Swift the enum `NoxError` (the enum is declared as
//! [`NoxError`], [`Error`] is its name in Rust), with [`Refusal`] a record and [`Rule`] an enum;
//! the methods they get are in `uniffi_exports.rs`.

use std::fmt;

use crate::clock::NowOutOfRange;

/// Which request field was wrong, in the words of the wire format (`user_id`, `redirect_url`…).
///
/// A plain `&'static str`: the core names its fields with string literals. Kotlin and Swift
/// see it as a string (a uniffi custom type, feature `uniffi`).
pub type FieldName = &'static str;

/// A size in bytes, such as the body limit of [`Error::PayloadTooLarge`]. A `usize` in Rust;
/// Kotlin and Swift see it as an unsigned 64-bit integer (a uniffi custom type, feature
/// `uniffi`).
pub type ByteCount = usize;

/// The rule a refused request broke: a stable code for callers of the library (spec decision
/// 17), never sent on the wire. [`Rule::as_str`] is the code; the list only grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum Rule {
    /// `body_not_object`: the body is not a JSON object.
    BodyNotObject,
    /// `invalid_json`: the body is not valid JSON (or not UTF-8).
    InvalidJson,
    /// `duplicate_key`: the body's object has the same key twice.
    DuplicateKey,
    /// `body_unreadable`: the body could not be read completely (the client went away).
    BodyUnreadable,
    /// `missing_field`: a required field is absent or `null`.
    MissingField,
    /// `wrong_type`: a field has another JSON type than its schema says.
    WrongType,
    /// `empty`: a field is the empty string.
    Empty,
    /// `too_long`: a field is longer than its limit.
    TooLong,
    /// `invalid_id`: an id contains control characters (or is not UTF-8 once percent-decoded).
    InvalidId,
    /// `too_many_device_ids`: more device ids than one request or one user may have.
    TooManyDeviceIds,
    /// `asset_type_unknown`: `asset_type` is neither `hp` nor `pv`.
    AssetTypeUnknown,
    /// `brand_unknown`: no brand (of the requested asset type, or of the v1 list) has this
    /// spelling; see [`Refusal::did_you_mean`].
    BrandUnknown,
    /// `brand_wrong_asset_type`: the brand exists but for the other asset type.
    BrandWrongAssetType,
    /// `language_unsupported`: the language is not one of `nl`, `en`, `fr`, `es`.
    LanguageUnsupported,
    /// `redirect_whitespace_or_control`: the redirect URL contains whitespace or a control
    /// character.
    RedirectWhitespaceOrControl,
    /// `redirect_not_absolute`: the redirect URL is not an absolute URL.
    RedirectNotAbsolute,
    /// `redirect_not_https`: the scheme is not `https` (`http` only for loopback IP literals).
    RedirectNotHttps,
    /// `redirect_has_user_info`: the redirect URL carries a user name or password.
    RedirectHasUserInfo,
    /// `redirect_has_fragment`: the redirect URL has a fragment.
    RedirectHasFragment,
    /// `redirect_not_canonical`: a URL to register is not in canonical form.
    RedirectNotCanonical,
    /// `redirect_not_registered`: the redirect URL is none of the caller's registered ones.
    RedirectNotRegistered,
    /// `redirect_none_registered`: the caller has no registered redirect URL at all.
    RedirectNoneRegistered,
    /// `link_url_invalid`: a link URL is not an absolute URL or repeats a parameter.
    LinkUrlInvalid,
    /// `token_invalid`: a link URL carries no well-formed token.
    TokenInvalid,
}

impl Rule {
    /// Every rule, in the order above.
    pub const ALL: [Rule; 24] = [
        Rule::BodyNotObject,
        Rule::InvalidJson,
        Rule::DuplicateKey,
        Rule::BodyUnreadable,
        Rule::MissingField,
        Rule::WrongType,
        Rule::Empty,
        Rule::TooLong,
        Rule::InvalidId,
        Rule::TooManyDeviceIds,
        Rule::AssetTypeUnknown,
        Rule::BrandUnknown,
        Rule::BrandWrongAssetType,
        Rule::LanguageUnsupported,
        Rule::RedirectWhitespaceOrControl,
        Rule::RedirectNotAbsolute,
        Rule::RedirectNotHttps,
        Rule::RedirectHasUserInfo,
        Rule::RedirectHasFragment,
        Rule::RedirectNotCanonical,
        Rule::RedirectNotRegistered,
        Rule::RedirectNoneRegistered,
        Rule::LinkUrlInvalid,
        Rule::TokenInvalid,
    ];

    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::BodyNotObject => "body_not_object",
            Rule::InvalidJson => "invalid_json",
            Rule::DuplicateKey => "duplicate_key",
            Rule::BodyUnreadable => "body_unreadable",
            Rule::MissingField => "missing_field",
            Rule::WrongType => "wrong_type",
            Rule::Empty => "empty",
            Rule::TooLong => "too_long",
            Rule::InvalidId => "invalid_id",
            Rule::TooManyDeviceIds => "too_many_device_ids",
            Rule::AssetTypeUnknown => "asset_type_unknown",
            Rule::BrandUnknown => "brand_unknown",
            Rule::BrandWrongAssetType => "brand_wrong_asset_type",
            Rule::LanguageUnsupported => "language_unsupported",
            Rule::RedirectWhitespaceOrControl => "redirect_whitespace_or_control",
            Rule::RedirectNotAbsolute => "redirect_not_absolute",
            Rule::RedirectNotHttps => "redirect_not_https",
            Rule::RedirectHasUserInfo => "redirect_has_user_info",
            Rule::RedirectHasFragment => "redirect_has_fragment",
            Rule::RedirectNotCanonical => "redirect_not_canonical",
            Rule::RedirectNotRegistered => "redirect_not_registered",
            Rule::RedirectNoneRegistered => "redirect_none_registered",
            Rule::LinkUrlInvalid => "link_url_invalid",
            Rule::TokenInvalid => "token_invalid",
        }
    }

    /// The rule with this code.
    pub fn parse(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|rule| rule.as_str() == code)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request refused by one rule: the error data of [`Error::Validation`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Refusal {
    /// The rule the request broke.
    pub rule: Rule,
    /// The fields concerned, in schema order: one, several for `missing_field` (all missing
    /// fields at once, v2 supplier), none when the body as a whole is wrong.
    pub fields: Vec<FieldName>,
    /// The wire message, for example `Missing required fields: user_id, redirect_url`.
    pub message: String,
    /// For `brand_unknown`: the canonical slug of the brand of the requested asset type whose
    /// spelling is close to the one given (at most 2 edits, or a prefix of at least 3
    /// characters), if there is one.
    pub did_you_mean: Option<String>,
}

impl Refusal {
    /// A refusal about one field.
    pub fn new(rule: Rule, field: FieldName, message: impl fmt::Display) -> Refusal {
        Refusal {
            rule,
            fields: vec![field],
            message: message.to_string(),
            did_you_mean: None,
        }
    }

    /// A refusal about several fields at once, in schema order (all the missing fields of a v2
    /// supplier request).
    pub fn several(rule: Rule, fields: Vec<FieldName>, message: impl fmt::Display) -> Refusal {
        Refusal {
            rule,
            fields,
            message: message.to_string(),
            did_you_mean: None,
        }
    }

    /// The same refusal, suggesting the canonical slug of a close brand.
    pub fn suggesting(self, did_you_mean: Option<&str>) -> Refusal {
        Refusal {
            did_you_mean: did_you_mean.map(str::to_owned),
            ..self
        }
    }

    /// A refusal about the body as a whole.
    pub fn body(rule: Rule, message: impl fmt::Display) -> Refusal {
        Refusal {
            rule,
            fields: Vec::new(),
            message: message.to_string(),
            did_you_mean: None,
        }
    }

    /// The (first) field concerned.
    pub fn field(&self) -> Option<FieldName> {
        self.fields.first().copied()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What kind of failure an [`Error`] is (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: no key, an unknown key, a disabled manufacturer.
    Authentication,
    /// 400: a request refused by a rule ([`Refusal`]).
    Request,
    /// 404/405/413/415: the HTTP request as a whole (route, method, size, media type).
    Protocol,
    /// 404/409/410: the session looked up or completed is missing, completed or expired.
    Session,
    /// 429: a cap on pending sessions or a rate limit.
    Limit,
    /// Building an authenticator or a catalog failed (configuration, catalog).
    Construction,
    /// 5xx: the store or the secure random generator failed.
    Internal,
    /// 400: an argument of the call itself is unusable (a `now` out of range, a string a
    /// binding cannot pass on), not a field of the request.
    Argument,
}

/// Every way an operation of this library can fail; used as [`Error`] (the name of this crate's
/// API), declared as `NoxError` so that uniffi names it for the mobile binding: Kotlin
/// `NoxException` and its subclasses (`NoxException.Validation`, ...), Swift `NoxError`
/// (feature `uniffi`; a uniffi rename of the type would not reach its `toString`, `equals` and
/// `hashCode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(
    feature = "uniffi",
    derive(uniffi::Error),
    uniffi::export(Display, Eq, Hash)
)]
#[non_exhaustive]
pub enum NoxError {
    /// No API key was given (`x-api-key` or `Authorization: ApiKey KEY`). 401.
    #[error("Missing API key")]
    MissingApiKey,
    /// The API key matches no caller of the required kind. 401.
    #[error("Invalid API key")]
    InvalidApiKey,
    /// The key belongs to a manufacturer whose account is disabled. 401.
    #[error("Manufacturer not enabled")]
    ManufacturerNotEnabled,
    /// A request refused by one of its endpoint's rules: a missing, mistyped, empty, oversized
    /// or invalid field, or a body that is not a JSON object. 400 `validation_error`; the
    /// [`Refusal`] says which rule, field and message.
    #[error("{0}")]
    Validation(Refusal),
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
        limit: ByteCount,
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
    /// An argument of the call is unusable: a `now` outside 0 ..= 253402300799 (spec decision
    /// 18, see [`check_now`](crate::check_now)), or a string argument the mobile binding cannot
    /// pass on (a Kotlin string with a lone surrogate). 400 `invalid_argument`. Python and
    /// Node answer these with their own `ValueError` / `RangeError` instead.
    #[error("{reason}")]
    InvalidArgument {
        /// The argument: `now`, or `string` for a string the binding could not encode.
        argument: String,
        /// The whole message, for example
        /// `now must be a whole number of seconds from 0 to 253402300799, got -5`.
        reason: String,
    },
}

/// The error of every operation of this library (see [`NoxError`] for its cases).
pub type Error = NoxError;

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Error::MissingApiKey | Error::InvalidApiKey | Error::ManufacturerNotEnabled => 401,
            Error::Validation(_) | Error::InvalidArgument { .. } => 400,
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
            Error::Validation(_) => "validation_error",
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
            Error::InvalidArgument { .. } => "invalid_argument",
        }
    }

    /// Every code [`Error::code`] can return, once each, in the order of the variants: the
    /// source of the code lists of the bindings (Node's `NoxErrorCode`). The list only grows.
    pub const CODES: &'static [&'static str] = &[
        "missing_api_key",
        "invalid_api_key",
        "manufacturer_not_enabled",
        "validation_error",
        "not_found",
        "expired",
        "already_completed",
        "route_not_found",
        "method_not_allowed",
        "payload_too_large",
        "unsupported_media_type",
        "too_many_sessions",
        "rate_limited",
        "invalid_config",
        "invalid_catalog",
        "store_error",
        "internal_error",
        "invalid_argument",
    ];

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

    /// Which kind of failure this is: construction, request refusal, protocol refusal...
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::MissingApiKey | Error::InvalidApiKey | Error::ManufacturerNotEnabled => {
                ErrorKind::Authentication
            }
            Error::Validation(_) => ErrorKind::Request,
            Error::RouteNotFound
            | Error::MethodNotAllowed
            | Error::PayloadTooLarge { .. }
            | Error::UnsupportedMediaType => ErrorKind::Protocol,
            Error::SessionNotFound
            | Error::SessionExpired { .. }
            | Error::SessionAlreadyCompleted { .. } => ErrorKind::Session,
            Error::TooManySessions { .. } | Error::RateLimited { .. } => ErrorKind::Limit,
            Error::InvalidConfig { .. } | Error::InvalidCatalog { .. } => ErrorKind::Construction,
            Error::Store { .. } | Error::Randomness => ErrorKind::Internal,
            Error::InvalidArgument { .. } => ErrorKind::Argument,
        }
    }

    /// For a request refusal, what was refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Validation(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// For a request refusal, the stable code of the rule it broke (`missing_field`,
    /// `brand_unknown`, ... see [`Rule`]); `None` for every other error, whose [`Error::code`]
    /// already names it.
    pub fn rule(&self) -> Option<&'static str> {
        self.refusal().map(|r| r.rule.as_str())
    }

    /// The request field this error is about (the first one when several are missing): for a
    /// request refusal, in the words of the wire format; `None` when it is not about a field.
    pub fn field(&self) -> Option<FieldName> {
        self.refusal().and_then(Refusal::field)
    }

    /// For `brand_unknown`, the canonical slug of a brand whose spelling is close.
    pub fn did_you_mean(&self) -> Option<&str> {
        self.refusal().and_then(|r| r.did_you_mean.as_deref())
    }

    /// The request fields this error is about (empty when it is not about a field).
    pub fn fields(&self) -> &[FieldName] {
        match self {
            Error::Validation(refusal) => &refusal.fields,
            _ => &[],
        }
    }

    /// A request refusal about one field.
    pub(crate) fn refuse(rule: Rule, field: FieldName, message: impl fmt::Display) -> Error {
        Error::Validation(Refusal::new(rule, field, message))
    }

    /// A request refusal about the body as a whole.
    pub(crate) fn refuse_body(rule: Rule, message: impl fmt::Display) -> Error {
        Error::Validation(Refusal::body(rule, message))
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

/// A `now` out of range (spec decision 18) as an [`Error::InvalidArgument`] for `now`, with
/// [`NowOutOfRange`]'s message.
impl From<NowOutOfRange> for Error {
    fn from(error: NowOutOfRange) -> Error {
        Error::InvalidArgument {
            argument: "now".to_owned(),
            reason: error.to_string(),
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
    fn validation_errors_name_their_rule_and_fields() {
        let error = Error::refuse(Rule::WrongType, "user_id", "user_id must be a string");
        assert_eq!(error.status(), 400);
        assert_eq!(error.code(), "validation_error");
        assert_eq!(error.rule(), Some("wrong_type"));
        assert_eq!(error.field(), Some("user_id"));
        assert_eq!(error.did_you_mean(), None);
        assert_eq!(error.kind(), ErrorKind::Request);
        assert_eq!(error.fields(), ["user_id"]);
        assert_eq!(error.public_message(), "user_id must be a string");
        assert_eq!(Error::MissingApiKey.rule(), None);
        assert_eq!(Error::MissingApiKey.field(), None);
    }

    #[test]
    fn rule_codes_are_distinct_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for rule in Rule::ALL {
            assert!(seen.insert(rule.as_str()), "{rule} twice");
            assert_eq!(Rule::parse(rule.as_str()), Some(rule));
            assert!(
                rule.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
        }
        assert_eq!(Rule::parse("validation_error"), None);
    }

    /// One error of each variant. The `match` makes a new variant a compile error here until it
    /// is added to the list (and so to the checks of [`Error::CODES`]).
    fn one_of_each() -> Vec<Error> {
        let all = vec![
            Error::MissingApiKey,
            Error::InvalidApiKey,
            Error::ManufacturerNotEnabled,
            Error::refuse(Rule::Empty, "user_id", "user_id must not be empty"),
            Error::SessionNotFound,
            Error::SessionExpired { expires_at: 1 },
            Error::SessionAlreadyCompleted { completed_at: 1 },
            Error::RouteNotFound,
            Error::MethodNotAllowed,
            Error::PayloadTooLarge { limit: 1 },
            Error::UnsupportedMediaType,
            Error::TooManySessions {
                retry_after_seconds: 1,
            },
            Error::RateLimited {
                retry_after_seconds: 1,
            },
            Error::config("a", "b"),
            Error::catalog("a", "b"),
            Error::store("down"),
            Error::Randomness,
            Error::from(NowOutOfRange(-5.0)),
        ];
        for error in &all {
            match error {
                Error::MissingApiKey
                | Error::InvalidApiKey
                | Error::ManufacturerNotEnabled
                | Error::Validation(_)
                | Error::SessionNotFound
                | Error::SessionExpired { .. }
                | Error::SessionAlreadyCompleted { .. }
                | Error::RouteNotFound
                | Error::MethodNotAllowed
                | Error::PayloadTooLarge { .. }
                | Error::UnsupportedMediaType
                | Error::TooManySessions { .. }
                | Error::RateLimited { .. }
                | Error::InvalidConfig { .. }
                | Error::InvalidCatalog { .. }
                | Error::Store { .. }
                | Error::Randomness
                | Error::InvalidArgument { .. } => {}
            }
        }
        all
    }

    #[test]
    fn codes_lists_every_code_once() {
        let codes: Vec<&str> = one_of_each().iter().map(Error::code).collect();
        assert_eq!(
            codes,
            Error::CODES,
            "one code per variant, in the order of the variants"
        );
        let mut seen = std::collections::HashSet::new();
        for code in Error::CODES {
            assert!(seen.insert(code), "{code} twice");
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn a_now_out_of_range_is_an_argument_error() {
        let error = Error::from(crate::check_now(-5).unwrap_err());
        assert_eq!(
            error,
            Error::InvalidArgument {
                argument: "now".into(),
                reason: "now must be a whole number of seconds from 0 to 253402300799, got -5"
                    .into(),
            }
        );
        assert_eq!((error.status(), error.code()), (400, "invalid_argument"));
        assert_eq!(error.kind(), ErrorKind::Argument);
        assert_eq!(error.public_message(), error.message());
        assert!(error.fields().is_empty() && error.rule().is_none());
    }

    #[test]
    fn construction_request_and_protocol_errors_are_apart() {
        assert_eq!(Error::config("a", "b").kind(), ErrorKind::Construction);
        assert_eq!(Error::catalog("a", "b").kind(), ErrorKind::Construction);
        assert_eq!(Error::RouteNotFound.kind(), ErrorKind::Protocol);
        assert_eq!(Error::UnsupportedMediaType.kind(), ErrorKind::Protocol);
        assert_eq!(
            Error::PayloadTooLarge { limit: 1 }.kind(),
            ErrorKind::Protocol
        );
        assert_eq!(Error::config("a", "b").rule(), None);
    }
}
