//! Checking a request before any network call, with the messages the server would give: the
//! core's `validate` of each endpoint's input.
//!
//! The inputs and the validated requests are the core's own records
//! ([`nox_authenticator::SupplierLinkSessionInput`] and the others; Kotlin package
//! `energy.nox.authenticator.core`), every input field optional so that a missing field gets
//! the documented message (`Missing required fields: user_id, redirect_url`) rather than failing
//! to compile on the app's side. Checks that need the caller's account (API key, registered
//! redirect URLs) happen on the server, or in [`crate::Authenticator`]; use
//! [`crate::RedirectPolicy`] for the latter.

use std::sync::Arc;

use nox::{
    ManufacturerLinkSessionInput, ManufacturerLinkSessionRequest, SupplierLinkSessionInput,
    SupplierLinkSessionRequest, V1ConnectInput, V1ConnectRequest, V1SupplierLinkInput,
    V1SupplierLinkRequest,
};
use nox_authenticator as nox;

use crate::catalog::Catalog;
use nox_authenticator::Error;

/// The catalog to validate against: the one given, else the builtin one.
fn catalog_or_builtin(catalog: Option<&Arc<Catalog>>) -> &nox::Catalog {
    match catalog {
        Some(catalog) => &catalog.inner,
        None => nox::Catalog::builtin(),
    }
}

/// Checks a `POST /v2/supplier/link-sessions` body in schema order against `catalog` (the
/// builtin one when none), or the server's `NoxException.Validation`.
#[uniffi::export(default(catalog = None))]
pub fn validate_supplier_link_session(
    input: SupplierLinkSessionInput,
    catalog: Option<Arc<Catalog>>,
) -> Result<SupplierLinkSessionRequest, Error> {
    input.validate(catalog_or_builtin(catalog.as_ref()))
}

/// Checks a `POST /v2/manufacturer/link-sessions` body in schema order, or the server's
/// `NoxException.Validation` (`user_id is required`, one field at a time).
#[uniffi::export]
pub fn validate_manufacturer_link_session(
    input: ManufacturerLinkSessionInput,
) -> Result<ManufacturerLinkSessionRequest, Error> {
    input.validate()
}

/// Checks a deprecated v1 `POST /users/{userId}/link` (the path's user and the body) against
/// `catalog` (the builtin one when none), or the server's `NoxException.Validation`.
#[uniffi::export(default(catalog = None))]
pub fn validate_v1_supplier_link(
    input: V1SupplierLinkInput,
    catalog: Option<Arc<Catalog>>,
) -> Result<V1SupplierLinkRequest, Error> {
    input.validate(catalog_or_builtin(catalog.as_ref()))
}

/// Checks a deprecated v1 `POST /manufacturers/nox` body, or the server's
/// `NoxException.Validation`.
#[uniffi::export]
pub fn validate_v1_connect(input: V1ConnectInput) -> Result<V1ConnectRequest, Error> {
    input.validate()
}
