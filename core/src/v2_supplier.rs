//! `POST /v2/supplier/link-sessions`: a supplier creates a link session for one end-user.
//!
//! Required: `user_id`, `redirect_url`, `asset_type` (missing ones are reported all at once, in
//! that order: `Missing required fields: user_id, redirect_url, asset_type`). Optional: `brand`
//! (any accepted spelling of a brand of that asset type; the response carries the slug) and
//! `language` (default `nl`).

use serde::Deserialize;
use serde_json::Value;

use crate::catalog::{AssetType, Catalog};
use crate::error::{Error, Result, Rule};
use crate::language::Language;
use crate::redirect::{RedirectField, RedirectPolicy};
use crate::request::{
    check_id, is_missing, missing_all, nullable_string_field, parse_object, present, string_field,
};

/// The request as given: every field optional and unchecked, so that missing and invalid
/// fields get the documented messages whether the request came as JSON or from code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SupplierLinkSessionInput {
    /// The supplier's id for the end-user.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub user_id: Option<String>,
    /// Where the end-user returns; must be registered.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub redirect_url: Option<String>,
    /// `hp` or `pv`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub asset_type: Option<String>,
    /// A brand spelling, or none.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub brand: Option<String>,
    /// `nl`, `en`, `fr` or `es`, or none for `nl`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub language: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "present")]
    user_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    redirect_url: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    asset_type: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    brand: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    language: Option<Value>,
}

/// A request that passed every check that needs no caller: the fields are canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SupplierLinkSessionRequest {
    /// The supplier's id for the end-user.
    pub user_id: String,
    /// Where the end-user returns (shape checked; registration is checked per caller).
    pub redirect_url: String,
    /// The device category.
    pub asset_type: AssetType,
    /// The canonical brand slug, if one was given.
    pub brand: Option<String>,
    /// The UI language.
    pub language: Language,
}

impl SupplierLinkSessionInput {
    /// Reads a JSON body: missing fields first (all at once), then wrong types.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let raw: Raw = parse_object(body)?;
        let mut missing = Vec::new();
        for (name, value) in [
            ("user_id", &raw.user_id),
            ("redirect_url", &raw.redirect_url),
            ("asset_type", &raw.asset_type),
        ] {
            if is_missing(value) {
                missing.push(name);
            }
        }
        missing_all(missing)?;
        Ok(SupplierLinkSessionInput {
            user_id: string_field("user_id", raw.user_id)?,
            redirect_url: string_field("redirect_url", raw.redirect_url)?,
            asset_type: string_field("asset_type", raw.asset_type)?,
            brand: nullable_string_field("brand", raw.brand)?,
            language: string_field("language", raw.language)?,
        })
    }

    /// Checks every field against the catalog, in schema order.
    pub fn validate(&self, catalog: &Catalog) -> Result<SupplierLinkSessionRequest> {
        self.validate_for(catalog, None)
    }

    /// [`validate`](Self::validate), knowing the caller's registered redirect URLs (the shape of
    /// a registered one is not checked again; the refusals are the same).
    pub(crate) fn validate_for(
        &self,
        catalog: &Catalog,
        registered: Option<&RedirectPolicy>,
    ) -> Result<SupplierLinkSessionRequest> {
        let (Some(user_id), Some(redirect_url), Some(asset_type)) =
            (&self.user_id, &self.redirect_url, &self.asset_type)
        else {
            let missing = [
                ("user_id", self.user_id.is_none()),
                ("redirect_url", self.redirect_url.is_none()),
                ("asset_type", self.asset_type.is_none()),
            ];
            missing_all(missing.iter().filter(|m| m.1).map(|m| m.0).collect())?;
            return Err(Error::refuse_body(
                Rule::MissingField,
                "Missing required fields",
            ));
        };
        check_id("user_id", "user_id", user_id)?;
        RedirectField::V2_SUPPLIER.check_shape_for(registered, redirect_url)?;
        let asset_type: AssetType = asset_type.parse()?;
        let brand = match &self.brand {
            Some(spelling) => Some(catalog.resolve(asset_type, spelling)?.slug().to_owned()),
            None => None,
        };
        let language = match &self.language {
            Some(code) => code.parse()?,
            None => Language::V2_DEFAULT,
        };
        Ok(SupplierLinkSessionRequest {
            user_id: user_id.clone(),
            redirect_url: redirect_url.clone(),
            asset_type,
            brand,
            language,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<SupplierLinkSessionRequest> {
        SupplierLinkSessionInput::from_json(body.as_bytes())?.validate(Catalog::builtin())
    }

    #[test]
    fn a_full_request_is_canonicalised() {
        let request = check(
            r#"{"user_id": "u1", "redirect_url": "https://a.example/cb", "asset_type": "hp",
                "brand": "alpha innotec", "language": "FR", "extra": [1, 2]}"#,
        )
        .unwrap();
        assert_eq!(request.brand.as_deref(), Some("alpha-innotec"));
        assert_eq!(request.language, Language::Fr);
        assert_eq!(request.asset_type, AssetType::HeatPump);
    }

    #[test]
    fn defaults_and_nulls() {
        // Only `brand` is nullable in the schema; `language` may be absent but not null.
        let request = check(
            r#"{"user_id": "u1", "redirect_url": "https://a.example/cb", "asset_type": "pv",
                "brand": null}"#,
        )
        .unwrap();
        assert_eq!(request.brand, None);
        assert_eq!(request.language, Language::Nl);
        let err = check(
            r#"{"user_id": "u1", "redirect_url": "https://a.example/cb", "asset_type": "pv",
                "language": null}"#,
        )
        .unwrap_err();
        assert_eq!(err.message(), "language must be a string");
    }

    #[test]
    fn missing_fields_come_all_at_once_in_schema_order() {
        let err = check(r#"{"asset_type": 5}"#).unwrap_err();
        assert_eq!(
            err.message(),
            "Missing required fields: user_id, redirect_url"
        );
        assert_eq!(err.fields(), ["user_id", "redirect_url"]);
        let err = check(r#"{}"#).unwrap_err();
        assert_eq!(
            err.message(),
            "Missing required fields: user_id, redirect_url, asset_type"
        );
        let err = SupplierLinkSessionInput::default()
            .validate(Catalog::builtin())
            .unwrap_err();
        assert_eq!(
            err.message(),
            "Missing required fields: user_id, redirect_url, asset_type"
        );
    }

    #[test]
    fn invalid_fields_are_named() {
        let base = r#""redirect_url": "https://a.example/cb", "asset_type": "hp""#;
        let cases = [
            (
                format!(r#"{{"user_id": 5, {base}}}"#),
                "user_id must be a string",
            ),
            (
                format!(r#"{{"user_id": "", {base}}}"#),
                "user_id must not be empty",
            ),
            (
                format!(r#"{{"user_id": "u", {base}, "brand": "sma"}}"#),
                "brand 'sma' is a pv brand, not valid for asset_type hp",
            ),
            (
                format!(r#"{{"user_id": "u", {base}, "brand": 7}}"#),
                "brand must be a string",
            ),
            (
                format!(r#"{{"user_id": "u", {base}, "language": "de"}}"#),
                "language must be one of: nl, en, fr, es",
            ),
            (
                r#"{"user_id": "u", "redirect_url": "https://a.example/cb", "asset_type": "ev"}"#
                    .into(),
                "asset_type must be one of: hp, pv",
            ),
            (
                r#"{"user_id": "u", "redirect_url": "javascript:alert(1)", "asset_type": "hp"}"#
                    .into(),
                "redirect_url must be an https URL (http only for 127.0.0.1 and [::1])",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(check(&body).unwrap_err().message(), message, "{body}");
        }
    }
}
