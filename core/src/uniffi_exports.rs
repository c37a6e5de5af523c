//! What the mobile binding (`bindings-uniffi`) exports on the core's own types, compiled only
//! with the `uniffi` feature.
//!
//! The types themselves carry `#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]` or
//! `uniffi::Enum` where they are declared, so that Kotlin and Swift see exactly the core's
//! fields and cases: adding a field or a case to one of them needs no change in the binding.
//! This module adds only the wire codes as methods (uniffi cannot return a `&'static str`); every
//! fallible operation stays in the binding, which owns the foreign error types.

use crate::catalog::AssetType;
use crate::flow::{CallbackStatus, PickField, Step};
use crate::language::Language;
use crate::redirect::RedirectRejection;
use crate::session::{SessionKind, SessionState};
use crate::webhook::WebhookEventType;

#[uniffi::export]
impl AssetType {
    /// The wire value: `hp` or `pv`.
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

#[uniffi::export]
impl Language {
    /// The wire code (`nl`, `en`, `fr`, `es`).
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

#[uniffi::export]
impl SessionKind {
    /// `v2_supplier`, `v2_manufacturer` or `v1_supplier`.
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

#[uniffi::export]
impl SessionState {
    /// `pending`, `completed` or `expired`.
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

#[uniffi::export]
impl WebhookEventType {
    /// `link_session.completed` or `link_session.expired`.
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

#[uniffi::export]
impl RedirectRejection {
    /// The stable code: `empty`, `too_long`, `whitespace_or_control`, `not_absolute`,
    /// `scheme_not_allowed`, `user_info`, `fragment`, `not_canonical`, `not_registered`,
    /// `none_registered`.
    #[uniffi::method(name = "code")]
    pub fn code_string(&self) -> String {
        self.code().to_owned()
    }

    /// The server's message for a request field (`redirect_url` or `redirect_uri`) of a caller
    /// (`supplier` or `manufacturer`), for example
    /// `redirect_url is not registered with your supplier account`.
    #[uniffi::method(name = "describe")]
    pub fn describe_for(&self, field: String, account: String) -> String {
        self.describe(&field, &account)
    }
}

#[uniffi::export]
impl Step {
    /// The step's code (`who_and_what`, `pick`, `consent`, `sign_in`, `unavailable`, `done`,
    /// `expired`, `already_completed`).
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

#[uniffi::export]
impl PickField {
    /// The form field's name: `brand` or `supplier`.
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

#[uniffi::export]
impl CallbackStatus {
    /// The return URL's `status` value: `completed`, `denied` or `expired`.
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}
