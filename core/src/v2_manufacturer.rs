//! `POST /v2/manufacturer/link-sessions`: a manufacturer creates a link session for one
//! end-user. The manufacturer comes from the API key; the response's `brand` is its brand name,
//! title-cased.
//!
//! Required: `user_id`, `redirect_url`, reported one at a time (`user_id is required`).
//! Optional: `language` (default `nl`).

use serde::Deserialize;
use serde_json::Value;

use crate::error::Result;
use crate::language::Language;
use crate::redirect::{RedirectField, RedirectPolicy};
use crate::request::{check_id, parse_object, present, require_present, required, string_field};

/// The request as given, every field optional and unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ManufacturerLinkSessionInput {
    /// The manufacturer's id for the end-user.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub user_id: Option<String>,
    /// Where the end-user returns; must be registered.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub redirect_url: Option<String>,
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
    language: Option<Value>,
}

/// A request that passed every check that needs no caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ManufacturerLinkSessionRequest {
    /// The manufacturer's id for the end-user.
    pub user_id: String,
    /// Where the end-user returns (shape checked; registration is checked per caller).
    pub redirect_url: String,
    /// The UI language.
    pub language: Language,
}

impl ManufacturerLinkSessionInput {
    /// Reads a JSON body: a missing field first, then wrong types.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let raw: Raw = parse_object(body)?;
        require_present("user_id", &raw.user_id)?;
        require_present("redirect_url", &raw.redirect_url)?;
        Ok(ManufacturerLinkSessionInput {
            user_id: string_field("user_id", raw.user_id)?,
            redirect_url: string_field("redirect_url", raw.redirect_url)?,
            language: string_field("language", raw.language)?,
        })
    }

    /// Checks every field, in schema order.
    pub fn validate(&self) -> Result<ManufacturerLinkSessionRequest> {
        self.validate_for(None)
    }

    /// [`validate`](Self::validate), knowing the caller's registered redirect URLs (the shape of
    /// a registered one is not checked again; the refusals are the same).
    pub(crate) fn validate_for(
        &self,
        registered: Option<&RedirectPolicy>,
    ) -> Result<ManufacturerLinkSessionRequest> {
        let user_id = required("user_id", self.user_id.as_ref())?;
        let redirect_url = required("redirect_url", self.redirect_url.as_ref())?;
        check_id("user_id", "user_id", user_id)?;
        RedirectField::V2_MANUFACTURER.check_shape_for(registered, redirect_url)?;
        let language = match &self.language {
            Some(code) => code.parse()?,
            None => Language::V2_DEFAULT,
        };
        Ok(ManufacturerLinkSessionRequest {
            user_id: user_id.clone(),
            redirect_url: redirect_url.clone(),
            language,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<ManufacturerLinkSessionRequest> {
        ManufacturerLinkSessionInput::from_json(body.as_bytes())?.validate()
    }

    #[test]
    fn missing_fields_one_at_a_time() {
        assert_eq!(check("{}").unwrap_err().message(), "user_id is required");
        assert_eq!(
            check(r#"{"user_id": null}"#).unwrap_err().message(),
            "user_id is required"
        );
        assert_eq!(
            check(r#"{"user_id": "u"}"#).unwrap_err().message(),
            "redirect_url is required"
        );
        assert_eq!(
            check(r#"{"user_id": 1}"#).unwrap_err().message(),
            "redirect_url is required"
        );
    }

    #[test]
    fn language_defaults_to_nl() {
        let r = check(r#"{"user_id": "u", "redirect_url": "https://a.example/"}"#).unwrap();
        assert_eq!(r.language, Language::Nl);
        let err =
            check(r#"{"user_id": "u", "redirect_url": "https://a.example/", "language": ["en"]}"#)
                .unwrap_err();
        assert_eq!(err.message(), "language must be a string");
    }
}
