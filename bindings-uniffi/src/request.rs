//! Checking a request before any network call, with the messages the server would give: the
//! core's `validate` of each endpoint's input. Every field of an input is optional, so that a
//! missing field gets the documented message (`Missing required fields: user_id, redirect_url`)
//! rather than failing to compile on the app's side.
//!
//! Checks that need the caller's account (API key, registered redirect URLs) happen on the
//! server, or in [`crate::Authenticator`]; use [`crate::RedirectPolicy`] for the latter.

use std::sync::Arc;

use nox_authenticator as nox;

use crate::catalog::{AssetType, Catalog};
use crate::error::NoxError;
use crate::language::Language;

/// The body of `POST /v2/supplier/link-sessions`, as the app has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct SupplierLinkSessionInput {
    /// The supplier's id for the end-user (required).
    #[uniffi(default)]
    pub user_id: Option<String>,
    /// Where the end-user returns (required; must be registered).
    #[uniffi(default)]
    pub redirect_url: Option<String>,
    /// `hp` or `pv` (required).
    #[uniffi(default)]
    pub asset_type: Option<String>,
    /// A brand spelling of that asset type, or none.
    #[uniffi(default)]
    pub brand: Option<String>,
    /// `nl`, `en`, `fr` or `es`, or none for `nl`.
    #[uniffi(default)]
    pub language: Option<String>,
}

/// A supplier request that passed every check that needs no account: canonical fields.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SupplierLinkSessionRequest {
    /// The supplier's id for the end-user.
    pub user_id: String,
    /// Where the end-user returns (shape checked).
    pub redirect_url: String,
    /// The device category.
    pub asset_type: AssetType,
    /// The canonical brand slug, if one was given.
    pub brand: Option<String>,
    /// The UI language.
    pub language: Language,
}

#[uniffi::export]
impl SupplierLinkSessionInput {
    /// Checks every field in schema order against `catalog` (the builtin one when none), or
    /// the server's `NoxError.Validation`.
    #[uniffi::method(default(catalog = None))]
    pub fn validate(
        &self,
        catalog: Option<Arc<Catalog>>,
    ) -> Result<SupplierLinkSessionRequest, NoxError> {
        let input = nox::SupplierLinkSessionInput::from(self.clone());
        let request = match catalog {
            Some(catalog) => input.validate(&catalog.inner)?,
            None => input.validate(nox::Catalog::builtin())?,
        };
        Ok(SupplierLinkSessionRequest {
            user_id: request.user_id,
            redirect_url: request.redirect_url,
            asset_type: request.asset_type.into(),
            brand: request.brand,
            language: request.language.into(),
        })
    }
}

impl From<SupplierLinkSessionInput> for nox::SupplierLinkSessionInput {
    fn from(input: SupplierLinkSessionInput) -> nox::SupplierLinkSessionInput {
        nox::SupplierLinkSessionInput {
            user_id: input.user_id,
            redirect_url: input.redirect_url,
            asset_type: input.asset_type,
            brand: input.brand,
            language: input.language,
        }
    }
}

/// The body of `POST /v2/manufacturer/link-sessions`, as the app has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ManufacturerLinkSessionInput {
    /// The manufacturer's id for the end-user (required).
    #[uniffi(default)]
    pub user_id: Option<String>,
    /// Where the end-user returns (required; must be registered).
    #[uniffi(default)]
    pub redirect_url: Option<String>,
    /// `nl`, `en`, `fr` or `es`, or none for `nl`.
    #[uniffi(default)]
    pub language: Option<String>,
}

/// A manufacturer request that passed every check that needs no account.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ManufacturerLinkSessionRequest {
    /// The manufacturer's id for the end-user.
    pub user_id: String,
    /// Where the end-user returns (shape checked).
    pub redirect_url: String,
    /// The UI language.
    pub language: Language,
}

#[uniffi::export]
impl ManufacturerLinkSessionInput {
    /// Checks every field in schema order, or the server's `NoxError.Validation`
    /// (`user_id is required`, one field at a time).
    pub fn validate(&self) -> Result<ManufacturerLinkSessionRequest, NoxError> {
        let request = nox::ManufacturerLinkSessionInput::from(self.clone()).validate()?;
        Ok(ManufacturerLinkSessionRequest {
            user_id: request.user_id,
            redirect_url: request.redirect_url,
            language: request.language.into(),
        })
    }
}

impl From<ManufacturerLinkSessionInput> for nox::ManufacturerLinkSessionInput {
    fn from(input: ManufacturerLinkSessionInput) -> nox::ManufacturerLinkSessionInput {
        nox::ManufacturerLinkSessionInput {
            user_id: input.user_id,
            redirect_url: input.redirect_url,
            language: input.language,
        }
    }
}

/// The deprecated v1 `POST /users/{userId}/link`: the path's user and the body.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct V1SupplierLinkInput {
    /// The supplier's id for the user (the `userId` path segment, decoded; required).
    #[uniffi(default)]
    pub user_id: Option<String>,
    /// Where the user returns (required; must be registered).
    #[uniffi(default)]
    pub redirect_uri: Option<String>,
    /// A language code, or none for `en`.
    #[uniffi(default)]
    pub language: Option<String>,
    /// A v1 brand spelling, or none.
    #[uniffi(default)]
    pub brand: Option<String>,
}

/// A v1 supplier request that passed every check that needs no account.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct V1SupplierLinkRequest {
    /// The supplier's id for the user.
    pub user_id: String,
    /// Where the user returns (shape checked).
    pub redirect_uri: String,
    /// The UI language.
    pub language: Language,
    /// The canonical v1 brand slug, if one was given.
    pub brand: Option<String>,
}

#[uniffi::export]
impl V1SupplierLinkInput {
    /// Checks every field against `catalog` (the builtin one when none), or the server's
    /// `NoxError.Validation`.
    #[uniffi::method(default(catalog = None))]
    pub fn validate(
        &self,
        catalog: Option<Arc<Catalog>>,
    ) -> Result<V1SupplierLinkRequest, NoxError> {
        let input = nox::V1SupplierLinkInput::from(self.clone());
        let request = match catalog {
            Some(catalog) => input.validate(&catalog.inner)?,
            None => input.validate(nox::Catalog::builtin())?,
        };
        Ok(V1SupplierLinkRequest {
            user_id: request.user_id,
            redirect_uri: request.redirect_uri,
            language: request.language.into(),
            brand: request.brand,
        })
    }
}

impl From<V1SupplierLinkInput> for nox::V1SupplierLinkInput {
    fn from(input: V1SupplierLinkInput) -> nox::V1SupplierLinkInput {
        nox::V1SupplierLinkInput {
            user_id: input.user_id,
            redirect_uri: input.redirect_uri,
            language: input.language,
            brand: input.brand,
        }
    }
}

/// The body of the deprecated v1 `POST /manufacturers/nox`.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct V1ConnectInput {
    /// The manufacturer's id for the user (required).
    #[uniffi(default)]
    pub manufacturer_user_id: Option<String>,
    /// Device ids to associate.
    #[uniffi(default)]
    pub device_ids: Option<Vec<String>>,
}

/// A v1 connect request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct V1ConnectRequest {
    /// The manufacturer's id for the user.
    pub manufacturer_user_id: String,
    /// Device ids to associate, duplicates removed, in first-seen order.
    pub device_ids: Vec<String>,
}

#[uniffi::export]
impl V1ConnectInput {
    /// Checks every field, or the server's `NoxError.Validation`.
    pub fn validate(&self) -> Result<V1ConnectRequest, NoxError> {
        let request = nox::V1ConnectInput::from(self.clone()).validate()?;
        Ok(V1ConnectRequest {
            manufacturer_user_id: request.manufacturer_user_id,
            device_ids: request.device_ids,
        })
    }
}

impl From<V1ConnectInput> for nox::V1ConnectInput {
    fn from(input: V1ConnectInput) -> nox::V1ConnectInput {
        nox::V1ConnectInput {
            manufacturer_user_id: input.manufacturer_user_id,
            device_ids: input.device_ids,
        }
    }
}
