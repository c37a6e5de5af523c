//! Languages of the Authenticator UI (`nl`, `en`, `fr`, `es`): parsing, `Accept-Language`
//! negotiation and the device locale, all decided by the core's
//! [`Language`](nox_authenticator::Language), which Kotlin and Swift see as it is (package
//! `energy.nox.authenticator.core`).

use nox_authenticator as nox;

use nox::Language;

use nox_authenticator::Error;

/// Every language, in the order of the documented enum.
#[uniffi::export]
pub fn all_languages() -> Vec<Language> {
    nox::Language::ALL.to_vec()
}

/// The default language of the v2 API (`nl`).
#[uniffi::export]
pub fn v2_default_language() -> Language {
    nox::Language::V2_DEFAULT
}

/// The default language of the deprecated v1 API (`en`).
#[uniffi::export]
pub fn v1_default_language() -> Language {
    nox::Language::V1_DEFAULT
}

/// Parses a wire code in any case (`EN` is `en`); none if it is not one of ours.
#[uniffi::export]
pub fn parse_language(code: String) -> Option<Language> {
    nox::Language::parse(&code)
}

/// Parses a wire code in any case, or the server's validation error on `language`.
#[uniffi::export]
pub fn require_language(code: String) -> Result<Language, Error> {
    code.parse::<nox::Language>()
}

/// Picks the best of our languages for an HTTP `Accept-Language` value (quality first, ties in
/// order, `*` meaning `default`); `default` when nothing matches.
#[uniffi::export]
pub fn negotiate_language(accept_language: String, default: Language) -> Language {
    nox::Language::negotiate(&accept_language, default)
}

/// The language of a device locale or BCP 47 tag (`nl_BE`, `fr-CA`, `nl_NL.UTF-8`), by its
/// primary subtag; none if that is not one of ours. On Android pass
/// `Locale.getDefault().toLanguageTag()`, on iOS `Locale.current.identifier`.
#[uniffi::export]
pub fn language_from_locale(locale: String) -> Option<Language> {
    nox::Language::from_locale(&locale)
}
