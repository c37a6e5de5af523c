//! Languages of the Authenticator UI (`nl`, `en`, `fr`, `es`): parsing, `Accept-Language`
//! negotiation and the device locale, all decided by the core's
//! [`Language`](nox_authenticator::Language).

use nox_authenticator as nox;

use crate::error::NoxError;

/// A language of the Authenticator UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Language {
    /// Dutch, `nl`.
    Nl,
    /// English, `en`.
    En,
    /// French, `fr`.
    Fr,
    /// Spanish, `es`.
    Es,
}

#[uniffi::export]
impl Language {
    /// The wire code (`nl`, `en`, `fr`, `es`).
    pub fn code(&self) -> String {
        nox::Language::from(*self).as_str().to_owned()
    }
}

impl From<nox::Language> for Language {
    fn from(language: nox::Language) -> Language {
        match language {
            nox::Language::Nl => Language::Nl,
            nox::Language::En => Language::En,
            nox::Language::Fr => Language::Fr,
            nox::Language::Es => Language::Es,
        }
    }
}

impl From<Language> for nox::Language {
    fn from(language: Language) -> nox::Language {
        match language {
            Language::Nl => nox::Language::Nl,
            Language::En => nox::Language::En,
            Language::Fr => nox::Language::Fr,
            Language::Es => nox::Language::Es,
        }
    }
}

/// Every language, in the order of the documented enum.
#[uniffi::export]
pub fn all_languages() -> Vec<Language> {
    nox::Language::ALL.into_iter().map(Into::into).collect()
}

/// The default language of the v2 API (`nl`).
#[uniffi::export]
pub fn v2_default_language() -> Language {
    nox::Language::V2_DEFAULT.into()
}

/// The default language of the deprecated v1 API (`en`).
#[uniffi::export]
pub fn v1_default_language() -> Language {
    nox::Language::V1_DEFAULT.into()
}

/// Parses a wire code in any case (`EN` is `en`); none if it is not one of ours.
#[uniffi::export]
pub fn parse_language(code: String) -> Option<Language> {
    nox::Language::parse(&code).map(Into::into)
}

/// Parses a wire code in any case, or the server's validation error on `language`.
#[uniffi::export]
pub fn require_language(code: String) -> Result<Language, NoxError> {
    Ok(code.parse::<nox::Language>()?.into())
}

/// Picks the best of our languages for an HTTP `Accept-Language` value (quality first, ties in
/// order, `*` meaning `default`); `default` when nothing matches.
#[uniffi::export]
pub fn negotiate_language(accept_language: String, default: Language) -> Language {
    nox::Language::negotiate(&accept_language, default.into()).into()
}

/// The language of a device locale or BCP 47 tag (`nl_BE`, `fr-CA`, `nl_NL.UTF-8`), by its
/// primary subtag; none if that is not one of ours. On Android pass
/// `Locale.getDefault().toLanguageTag()`, on iOS `Locale.current.identifier`.
#[uniffi::export]
pub fn language_from_locale(locale: String) -> Option<Language> {
    nox::Language::from_locale(&locale).map(Into::into)
}
