//! `POST /users/{userId}/link` (deprecated v1): a supplier creates a link session for the user
//! in the path.
//!
//! Required: `redirect_uri` (`redirect_uri is required`). Optional: `language`, any string:
//! `nl`, `en`, `fr` or `es` in any case is used, anything else is `en` (spec decision 16); and
//! `brand`, one of the 13 v1 brands ([`crate::catalog::V1_BRANDS`]) in any accepted
//! spelling. Answers are wrapped in `{success, timestamp, data}`.

use serde::Deserialize;
use serde_json::Value;

use crate::catalog::Catalog;
use crate::error::Result;
use crate::language::Language;
use crate::redirect::{RedirectField, RedirectPolicy};
use crate::request::{check_id, parse_object, present, require_present, required, string_field};

/// The request as given, every field optional and unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct V1SupplierLinkInput {
    /// The supplier's id for the user (the `userId` path segment, percent-decoded).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub user_id: Option<String>,
    /// Where the user returns; must be registered.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub redirect_uri: Option<String>,
    /// A language code (`nl`, `en`, `fr`, `es` in any case); anything else, or none, is `en`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub language: Option<String>,
    /// A v1 brand spelling, or none.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub brand: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "present")]
    redirect_uri: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    language: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    brand: Option<Value>,
}

/// A request that passed every check that needs no caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct V1SupplierLinkRequest {
    /// The supplier's id for the user.
    pub user_id: String,
    /// Where the user returns (shape checked; registration is checked per caller).
    pub redirect_uri: String,
    /// The UI language.
    pub language: Language,
    /// The canonical v1 brand slug, if one was given.
    pub brand: Option<String>,
}

impl V1SupplierLinkInput {
    /// Reads a JSON body for the user in the path.
    pub fn from_json(user_id: &str, body: &[u8]) -> Result<Self> {
        let raw: Raw = parse_object(body)?;
        require_present("redirect_uri", &raw.redirect_uri)?;
        Ok(V1SupplierLinkInput {
            user_id: Some(user_id.to_owned()),
            redirect_uri: string_field("redirect_uri", raw.redirect_uri)?,
            language: string_field("language", raw.language)?,
            brand: string_field("brand", raw.brand)?,
        })
    }

    /// Checks every field.
    pub fn validate(&self, catalog: &Catalog) -> Result<V1SupplierLinkRequest> {
        self.validate_for(catalog, None)
    }

    /// [`validate`](Self::validate), knowing the caller's registered redirect URLs (the shape of
    /// a registered one is not checked again; the refusals are the same).
    pub(crate) fn validate_for(
        &self,
        catalog: &Catalog,
        registered: Option<&RedirectPolicy>,
    ) -> Result<V1SupplierLinkRequest> {
        let user_id = required("userId", self.user_id.as_ref())?;
        check_id("userId", "userId", user_id)?;
        let redirect_uri = required("redirect_uri", self.redirect_uri.as_ref())?;
        RedirectField::V1_SUPPLIER.check_shape_for(registered, redirect_uri)?;
        // Any string (spec decision 16): one of ours in any case, anything else the default.
        let language = self
            .language
            .as_deref()
            .and_then(Language::parse)
            .unwrap_or(Language::V1_DEFAULT);
        let brand = match &self.brand {
            Some(spelling) => Some(catalog.resolve_v1(spelling)?.to_owned()),
            None => None,
        };
        Ok(V1SupplierLinkRequest {
            user_id: user_id.clone(),
            redirect_uri: redirect_uri.clone(),
            language,
            brand,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(user: &str, body: &str) -> Result<V1SupplierLinkRequest> {
        V1SupplierLinkInput::from_json(user, body.as_bytes())?.validate(Catalog::builtin())
    }

    #[test]
    fn v1_defaults_to_english_and_v1_brands() {
        let r = check(
            "user_123",
            r#"{"redirect_uri": "https://a.example/cb", "brand": "Alpha Innotec"}"#,
        )
        .unwrap();
        assert_eq!(r.language, Language::En);
        assert_eq!(r.brand.as_deref(), Some("alpha-innotec"));
        let err = check(
            "u",
            r#"{"redirect_uri": "https://a.example/cb", "brand": "bosch"}"#,
        )
        .unwrap_err();
        assert!(
            err.message()
                .starts_with("brand 'bosch' is not supported; use one of: daikin, "),
            "{err}"
        );
    }

    #[test]
    fn v1_language_is_any_string() {
        for (given, expected) in [
            ("FR", Language::Fr),
            ("nl", Language::Nl),
            ("de", Language::En),
            ("", Language::En),
            ("español", Language::En),
        ] {
            let body =
                format!(r#"{{"redirect_uri": "https://a.example/cb", "language": "{given}"}}"#);
            assert_eq!(check("u", &body).unwrap().language, expected, "{given}");
        }
        let err = check(
            "u",
            r#"{"redirect_uri": "https://a.example/cb", "language": 5}"#,
        );
        assert_eq!(err.unwrap_err().rule(), Some("wrong_type"));
    }

    #[test]
    fn v1_messages() {
        assert_eq!(
            check("u", "{}").unwrap_err().message(),
            "redirect_uri is required"
        );
        assert_eq!(
            check("", r#"{"redirect_uri": "https://a.example/"}"#)
                .unwrap_err()
                .message(),
            "userId must not be empty"
        );
        assert_eq!(
            check("u", r#"{"redirect_uri": ""}"#).unwrap_err().message(),
            "redirect_uri must not be empty"
        );
    }
}
