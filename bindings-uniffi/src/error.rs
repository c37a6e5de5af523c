//! The one place where core errors become binding errors.
//!
//! [`NoxError`] mirrors the core's [`nox_authenticator::Error`] variant for variant, with named
//! fields: Kotlin sees `NoxException.SessionExpired(expiresAt)` and friends, Swift sees
//! `NoxError.sessionExpired(expiresAt:)`. Its text, HTTP status and stable code are always the
//! core's: [`NoxError`] converts back to the core error to answer them, so no message is written
//! here.
//!
//! [`RedirectError`] carries the core's [`RedirectRejection`](nox_authenticator::RedirectRejection)
//! for the redirect-URL checks that an app runs on their own.
//!
//! A field may not be called `message` (the generated Kotlin exception already has that
//! property), so the wire message of a validation error is `reason`.

use nox::RedirectRejection;
use nox_authenticator as nox;

/// Every way an operation of the library can fail; the same cases as the core's error, with
/// the same messages, HTTP statuses and stable codes.
///
/// In Kotlin each case is a subclass of `NoxException`; `toString()` is the core's message and
/// `status()` / `code()` answer the HTTP status and the stable code (`validation_error`,
/// `expired`, …). Match on the subclass or the code, never on the message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display, Eq, Hash)]
pub enum NoxError {
    /// No API key was given. 401, `missing_api_key`.
    #[error("{}", self.to_core())]
    MissingApiKey,
    /// The API key matches no caller of the required kind. 401, `invalid_api_key`.
    #[error("{}", self.to_core())]
    InvalidApiKey,
    /// The manufacturer's account is disabled. 401, `manufacturer_not_enabled`.
    #[error("{}", self.to_core())]
    ManufacturerNotEnabled,
    /// A request refused by one of its endpoint's rules: a field missing, mistyped, empty or
    /// invalid, or a body that is not a JSON object. 400, `validation_error`; `rule` says which
    /// rule (spec decision 17).
    #[error("{}", self.to_core())]
    Validation {
        /// The wire message, for example `Missing required fields: user_id, redirect_url`.
        reason: String,
        /// The offending fields in schema order (empty when the body as a whole is wrong).
        fields: Vec<String>,
        /// The stable code of the rule the request broke: `missing_field`, `wrong_type`,
        /// `empty`, `too_long`, `invalid_id`, `brand_unknown`, `brand_wrong_asset_type`,
        /// `language_unsupported`, `redirect_not_registered`, ... Branch on it, never on the
        /// message.
        rule: String,
        /// The (first) field concerned, in the wire format's words (`user_id`, `brand`), or
        /// none when the body as a whole is wrong.
        field: Option<String>,
        /// For `brand_unknown`: the canonical slug of a brand whose spelling is close.
        did_you_mean: Option<String>,
    },
    /// No link session has this token. 404, `not_found`.
    #[error("{}", self.to_core())]
    SessionNotFound,
    /// The link session expired before it was completed. 410, `expired`.
    #[error("{}", self.to_core())]
    SessionExpired {
        /// When it expired (Unix seconds).
        expires_at: i64,
    },
    /// The link session was already completed. 409, `already_completed`.
    #[error("{}", self.to_core())]
    SessionAlreadyCompleted {
        /// When it was completed (Unix seconds).
        completed_at: i64,
    },
    /// No HTTP route has this path. 404, `route_not_found`.
    #[error("{}", self.to_core())]
    RouteNotFound,
    /// The route exists but not for this method. 405, `method_not_allowed`.
    #[error("{}", self.to_core())]
    MethodNotAllowed,
    /// The request body is larger than the configured limit. 413, `payload_too_large`.
    #[error("{}", self.to_core())]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The request body is not declared as `application/json`. 415, `unsupported_media_type`.
    #[error("{}", self.to_core())]
    UnsupportedMediaType,
    /// The configuration is invalid. `invalid_config`.
    #[error("{}", self.to_core())]
    InvalidConfig {
        /// Where in the configuration, for example `suppliers[0].redirect_urls[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A brand catalog is invalid. `invalid_catalog`.
    #[error("{}", self.to_core())]
    InvalidCatalog {
        /// Where in the catalog, for example `brands[3].slug`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The session store failed. 500, `store_error`.
    #[error("{}", self.to_core())]
    Store {
        /// The store's own description of the failure.
        reason: String,
    },
    /// The system's secure random generator failed. 500, `internal_error`.
    #[error("{}", self.to_core())]
    Randomness,
    /// A `now` outside 0 ..= 253402300799 (spec decision 18): an argument error of the caller,
    /// not a refusal of a request. `invalid_argument`.
    #[error("now must be a whole number of seconds from 0 to 253402300799, got {now}")]
    InvalidNow {
        /// The value given.
        now: i64,
    },
    /// A string argument that is not well-formed UTF-16 (a lone surrogate), which no rule can
    /// read: an argument error of the caller, thrown by the generated Kotlin before the call
    /// reaches the library. `invalid_argument`.
    #[error("{reason}")]
    InvalidString {
        /// What is wrong, for example `a string argument holds a lone surrogate`.
        reason: String,
    },
    /// A failure this version of the binding does not know by name (a newer core); its code,
    /// status and message are passed on as they are.
    #[error("{reason}")]
    Other {
        /// The core's stable code.
        code: String,
        /// The HTTP status.
        status: u16,
        /// The core's message.
        reason: String,
    },
}

#[uniffi::export]
impl NoxError {
    /// The HTTP status the server answers this error with (401, 400, 404, 410, 409, …).
    pub fn status(&self) -> i32 {
        match self {
            NoxError::Other { status, .. } => i32::from(*status),
            NoxError::InvalidNow { .. } | NoxError::InvalidString { .. } => 400,
            known => i32::from(known.to_core().status()),
        }
    }

    /// The stable machine-readable code (`missing_api_key`, `validation_error`, `not_found`,
    /// `expired`, `already_completed`, `invalid_config`, …).
    pub fn code(&self) -> String {
        match self {
            NoxError::Other { code, .. } => code.clone(),
            NoxError::InvalidNow { .. } | NoxError::InvalidString { .. } => {
                "invalid_argument".to_owned()
            }
            known => known.to_core().code().to_owned(),
        }
    }

    /// The message safe to show to an API client (internal details replaced).
    pub fn public_message(&self) -> String {
        match self {
            NoxError::Other { .. }
            | NoxError::InvalidNow { .. }
            | NoxError::InvalidString { .. } => self.to_string(),
            known => known.to_core().public_message(),
        }
    }
}

impl From<nox::Error> for NoxError {
    fn from(error: nox::Error) -> NoxError {
        match error {
            nox::Error::MissingApiKey => NoxError::MissingApiKey,
            nox::Error::InvalidApiKey => NoxError::InvalidApiKey,
            nox::Error::ManufacturerNotEnabled => NoxError::ManufacturerNotEnabled,
            nox::Error::Validation(refusal) => NoxError::Validation {
                rule: refusal.rule.as_str().to_owned(),
                field: refusal.field().map(str::to_owned),
                fields: refusal.fields.into_iter().map(str::to_owned).collect(),
                reason: refusal.message,
                did_you_mean: refusal.did_you_mean,
            },
            nox::Error::SessionNotFound => NoxError::SessionNotFound,
            nox::Error::SessionExpired { expires_at } => NoxError::SessionExpired { expires_at },
            nox::Error::SessionAlreadyCompleted { completed_at } => {
                NoxError::SessionAlreadyCompleted { completed_at }
            }
            nox::Error::RouteNotFound => NoxError::RouteNotFound,
            nox::Error::MethodNotAllowed => NoxError::MethodNotAllowed,
            nox::Error::PayloadTooLarge { limit } => NoxError::PayloadTooLarge {
                limit: u64::try_from(limit).unwrap_or(u64::MAX),
            },
            nox::Error::UnsupportedMediaType => NoxError::UnsupportedMediaType,
            nox::Error::InvalidConfig { field, reason } => {
                NoxError::InvalidConfig { field, reason }
            }
            nox::Error::InvalidCatalog { field, reason } => {
                NoxError::InvalidCatalog { field, reason }
            }
            nox::Error::Store { reason } => NoxError::Store { reason },
            nox::Error::Randomness => NoxError::Randomness,
            other => NoxError::Other {
                code: other.code().to_owned(),
                status: other.status(),
                reason: other.message(),
            },
        }
    }
}

impl NoxError {
    /// The core error this one mirrors, to ask it for its message, status and code. `Other`
    /// has no core counterpart; it answers from its own fields and never reaches this.
    fn to_core(&self) -> nox::Error {
        match self {
            NoxError::MissingApiKey => nox::Error::MissingApiKey,
            NoxError::InvalidApiKey => nox::Error::InvalidApiKey,
            NoxError::ManufacturerNotEnabled => nox::Error::ManufacturerNotEnabled,
            NoxError::Validation { reason, rule, .. } => {
                // The core's field names are static strings; the message does not use them.
                nox::Error::Validation(nox::Refusal::body(
                    nox::Rule::parse(rule).unwrap_or(nox::Rule::InvalidJson),
                    reason,
                ))
            }
            NoxError::SessionNotFound => nox::Error::SessionNotFound,
            NoxError::SessionExpired { expires_at } => nox::Error::SessionExpired {
                expires_at: *expires_at,
            },
            NoxError::SessionAlreadyCompleted { completed_at } => {
                nox::Error::SessionAlreadyCompleted {
                    completed_at: *completed_at,
                }
            }
            NoxError::RouteNotFound => nox::Error::RouteNotFound,
            NoxError::MethodNotAllowed => nox::Error::MethodNotAllowed,
            NoxError::PayloadTooLarge { limit } => nox::Error::PayloadTooLarge {
                limit: usize::try_from(*limit).unwrap_or(usize::MAX),
            },
            NoxError::UnsupportedMediaType => nox::Error::UnsupportedMediaType,
            NoxError::InvalidConfig { field, reason } => nox::Error::InvalidConfig {
                field: field.clone(),
                reason: reason.clone(),
            },
            NoxError::InvalidCatalog { field, reason } => nox::Error::InvalidCatalog {
                field: field.clone(),
                reason: reason.clone(),
            },
            NoxError::Store { reason } => nox::Error::Store {
                reason: reason.clone(),
            },
            NoxError::Randomness
            | NoxError::Other { .. }
            | NoxError::InvalidNow { .. }
            | NoxError::InvalidString { .. } => nox::Error::Randomness,
        }
    }
}

/// A redirect-URL check failed. Kotlin: `RedirectException.Refused` /
/// `RedirectException.RegistrationRefused`, each with a `rejection`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display, Eq, Hash)]
pub enum RedirectError {
    /// A candidate redirect URL was refused.
    #[error("{rejection}")]
    Refused {
        /// Why.
        rejection: RedirectRejection,
    },
    /// A URL to register was refused.
    #[error("redirect_urls[{index}]: {rejection}")]
    RegistrationRefused {
        /// Its position in the list given.
        index: u32,
        /// Why.
        rejection: RedirectRejection,
    },
}

#[uniffi::export]
impl RedirectError {
    /// The rejection's stable code (`not_registered`, `not_canonical`, …).
    pub fn code(&self) -> String {
        self.rejection().code().to_owned()
    }

    /// Why the URL was refused.
    pub fn rejection(&self) -> RedirectRejection {
        match self {
            RedirectError::Refused { rejection }
            | RedirectError::RegistrationRefused { rejection, .. } => rejection.clone(),
        }
    }
}

impl From<nox::RedirectRejection> for RedirectError {
    fn from(rejection: nox::RedirectRejection) -> RedirectError {
        RedirectError::Refused { rejection }
    }
}

impl From<(usize, nox::RedirectRejection)> for RedirectError {
    fn from((index, rejection): (usize, nox::RedirectRejection)) -> RedirectError {
        RedirectError::RegistrationRefused {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            rejection,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core variant this binding knows, converted: the message, status and code must be
    /// the core's own.
    fn every_core_error() -> Vec<nox::Error> {
        vec![
            nox::Error::MissingApiKey,
            nox::Error::InvalidApiKey,
            nox::Error::ManufacturerNotEnabled,
            nox::Error::Validation(nox::Refusal {
                rule: nox::Rule::MissingField,
                message: "Missing required fields: user_id, redirect_url".into(),
                fields: vec!["user_id", "redirect_url"],
                did_you_mean: None,
            }),
            nox::Error::SessionNotFound,
            nox::Error::SessionExpired { expires_at: 600 },
            nox::Error::SessionAlreadyCompleted { completed_at: 5 },
            nox::Error::RouteNotFound,
            nox::Error::MethodNotAllowed,
            nox::Error::PayloadTooLarge { limit: 4096 },
            nox::Error::UnsupportedMediaType,
            nox::Error::InvalidConfig {
                field: "suppliers[0].id".into(),
                reason: "must not be empty".into(),
            },
            nox::Error::InvalidCatalog {
                field: "version".into(),
                reason: "must not be empty".into(),
            },
            nox::Error::Store {
                reason: "db down".into(),
            },
            nox::Error::Randomness,
        ]
    }

    #[test]
    fn every_error_keeps_the_core_message_status_and_code() {
        for error in every_core_error() {
            let converted = NoxError::from(error.clone());
            assert!(
                !matches!(converted, NoxError::Other { .. }),
                "{error:?} has a named variant"
            );
            assert_eq!(converted.to_string(), error.message(), "{error:?}");
            assert_eq!(converted.status(), i32::from(error.status()), "{error:?}");
            assert_eq!(converted.code(), error.code(), "{error:?}");
            assert_eq!(converted.public_message(), error.public_message());
        }
    }

    #[test]
    fn validation_errors_carry_their_fields() {
        let converted = NoxError::from(nox::Error::Validation(nox::Refusal {
            rule: nox::Rule::BrandUnknown,
            message: "m".into(),
            fields: vec!["brand"],
            did_you_mean: Some("vaillant".into()),
        }));
        assert_eq!(
            converted,
            NoxError::Validation {
                reason: "m".into(),
                fields: vec!["brand".into()],
                rule: "brand_unknown".into(),
                field: Some("brand".into()),
                did_you_mean: Some("vaillant".into()),
            }
        );
    }

    #[test]
    fn redirect_errors_keep_the_core_rejection() {
        let error = RedirectError::from(RedirectRejection::NotRegistered);
        assert_eq!(error.code(), "not_registered");
        assert_eq!(
            error.to_string(),
            RedirectRejection::NotRegistered.to_string()
        );
        let error = RedirectError::from((2, RedirectRejection::Fragment));
        assert_eq!(
            error.to_string(),
            "redirect_urls[2]: redirect URL must not contain a fragment"
        );
        assert_eq!(error.rejection(), RedirectRejection::Fragment);
    }
}
