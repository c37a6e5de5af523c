//! The binding's one error type of its own, [`RedirectError`], for the redirect-URL checks that
//! an app runs on their own; it carries the core's
//! [`RedirectRejection`](nox_authenticator::RedirectRejection).
//!
//! Every other failure is the core's own [`nox_authenticator::Error`], which the core's `uniffi`
//! feature makes a uniffi error as it is: Kotlin sees `NoxException` and its subclasses in
//! package `energy.nox.authenticator.core`, Swift the enum `NoxError` in
//! `NoxAuthenticatorCore.swift`, with the core's messages, HTTP statuses and stable codes
//! (`status()`, `code()`, `publicMessage()`, `rule()`, `field()`, `fields()`, `didYouMean()`).
//! There is no mirror to keep in step: a case added to the core reaches Kotlin and Swift as it
//! is.

use nox::RedirectRejection;
use nox_authenticator as nox;

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
