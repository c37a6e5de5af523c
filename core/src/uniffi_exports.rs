//! What the mobile binding (`bindings-uniffi`) exports on the core's own types, compiled only
//! with the `uniffi` feature.
//!
//! The types themselves carry `#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]` or
//! `uniffi::Enum` where they are declared, so that Kotlin and Swift see exactly the core's
//! fields and cases: adding a field or a case to one of them needs no change in the binding.
//! This module adds the wire codes as methods (uniffi cannot return a `&'static str`), the
//! accessors of the core's [`Error`](crate::Error), which is the mobile binding's error as it is (Kotlin
//! `NoxException`, Swift `NoxError`), and the two custom types that make its data expressible:
//! [`FieldName`] (a `&'static str`) and [`ByteCount`] (a `usize`). The fallible operations stay
//! in the binding, which returns this `Error`.

use std::sync::{Mutex, PoisonError};

use crate::catalog::AssetType;
use crate::error::{ByteCount, FieldName, NoxError, Rule};
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

#[uniffi::export]
impl Rule {
    /// The stable code of the rule (`missing_field`, `brand_unknown`, ... spec decision 17).
    pub fn code(&self) -> String {
        self.as_str().to_owned()
    }
}

/// The accessors of an error, in Kotlin and Swift on every case of `NoxException` / `NoxError`
/// (`impl NoxError`, not `impl Error`: uniffi names the methods' type by the name written here).
/// A refusal's rule, fields, message and `did_you_mean` are the properties of its [`Refusal`](crate::Refusal)
/// (`e.v1` in Kotlin); they are not repeated as methods, each of which costs the mobile library
/// about 2 KB.
#[uniffi::export]
impl NoxError {
    /// The HTTP status the server answers this error with (401, 400, 404, 410, 409, ...).
    #[uniffi::method(name = "status")]
    pub fn status_code(&self) -> i32 {
        i32::from(self.status())
    }

    /// The stable machine-readable code: one of [`Error::CODES`](crate::Error::CODES) (`missing_api_key`,
    /// `validation_error`, `not_found`, `expired`, `invalid_argument`, ...).
    #[uniffi::method(name = "code")]
    pub fn code_string(&self) -> String {
        self.code().to_owned()
    }

    /// The message safe to send to an API client (internal details replaced).
    #[uniffi::method(name = "public_message")]
    pub fn public_message_string(&self) -> String {
        self.public_message()
    }
}

// A field name crosses as a string. Coming back (Kotlin's `equals`, `hashCode` and `message`
// pass the error back to Rust), it becomes the one `&'static str` of that spelling, allocated
// the first time the spelling is seen: the core has a dozen field names, so this holds a
// dozen short strings, and a string is never allocated twice (a short list: a set would cost
// the mobile library more code than it saves time).
uniffi::custom_type!(FieldName, String, {
    remote,
    lower: |name| name.to_owned(),
    try_lift: |name| Ok(static_field_name(name)),
});

// A byte count crosses as an unsigned 64-bit integer (Kotlin `ULong`, Swift `UInt64`).
uniffi::custom_type!(ByteCount, u64, {
    remote,
    lower: |count| u64::try_from(count).unwrap_or(u64::MAX),
    try_lift: |count| Ok(usize::try_from(count)?),
});

/// The `&'static str` spelled `name`: the same one for every call with that spelling.
fn static_field_name(name: String) -> FieldName {
    static NAMES: Mutex<Vec<FieldName>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.iter().find(|known| **known == name) {
        return known;
    }
    let leaked: FieldName = Box::leak(name.into_boxed_str());
    names.push(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_name_comes_back_as_one_static_string() {
        let first = static_field_name("user_id".to_owned());
        let again = static_field_name(String::from("user_id"));
        assert_eq!(first, "user_id");
        assert!(std::ptr::eq(first, again));
    }

    #[test]
    fn the_accessors_answer_as_the_core() {
        let error = NoxError::refuse(Rule::BrandUnknown, "brand", "Unknown brand");
        assert_eq!(error.status_code(), 400);
        assert_eq!(error.code_string(), "validation_error");
        assert_eq!(error.public_message_string(), "Unknown brand");
        assert_eq!(Rule::TooLong.code(), "too_long");
    }
}
