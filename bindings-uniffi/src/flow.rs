//! The hosted link flow's pure rules for apps (spec decision 19): reading the return URL an app
//! receives from ASWebAuthenticationSession or Custom Tabs ([`parse_link_callback`]), and the
//! view model of a page ([`crate::Authenticator::flow_view`]) for a host that renders its own.
//!
//! The records and enums (`LinkCallback`, `CallbackStatus`, `FlowView`, `Step`, `Choice`,
//! `Counterpart`, `PickField`, `Progress`) are the core's own ([`nox_authenticator::flow`]).

use nox_authenticator::flow::{self, CallbackError, LinkCallback};

/// Why a return URL could not be read. Kotlin: `LinkCallbackException.Refused`, with the rule
/// `code` (`not_a_url`, `missing_status`, `unknown_status`, `missing_token`, `invalid_token`,
/// `duplicate_parameter`), the query parameter concerned (`status`, `link_token`) and the
/// message (also `message`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display, Eq, Hash)]
pub enum LinkCallbackError {
    /// The URL is not a return URL of a link session.
    #[error("{reason}")]
    Refused {
        /// The stable rule code; branch on it, never on the message.
        code: String,
        /// The query parameter concerned, or none (`not_a_url`).
        field: Option<String>,
        /// The message, for example `the URL has no link_token parameter`.
        reason: String,
    },
}

impl From<CallbackError> for LinkCallbackError {
    fn from(error: CallbackError) -> LinkCallbackError {
        LinkCallbackError::Refused {
            code: error.code().to_owned(),
            field: error.field().map(str::to_owned),
            reason: error.to_string(),
        }
    }
}

/// Reads the return URL a link session ends on (its redirect URL, or an app's custom-scheme URL
/// handed back by ASWebAuthenticationSession / Custom Tabs): the `status` (`completed`,
/// `denied`, `expired`) and the session's `link_token`.
#[uniffi::export]
pub fn parse_link_callback(url: String) -> Result<LinkCallback, LinkCallbackError> {
    Ok(flow::parse_link_callback(&url)?)
}
