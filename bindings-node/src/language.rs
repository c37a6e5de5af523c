//! Languages: parsing a code, negotiating from `Accept-Language`, reading a device locale.

use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;
use nox_authenticator::Language;

use crate::args::Args;
use crate::error::OrThrow;

/// The languages of the Authenticator UI, in the order of the documented enum.
#[napi(catch_unwind, strict, ts_return_type = "Language[]")]
pub fn languages() -> Vec<&'static str> {
    Language::ALL.iter().map(|l| l.as_str()).collect()
}

/// The default language of v2 requests (`nl`) and of v1 requests (`en`).
#[napi(
    catch_unwind,
    strict,
    ts_return_type = "{ v2: Language; v1: Language }"
)]
pub fn default_languages() -> DefaultLanguages {
    DefaultLanguages {
        v2: Language::V2_DEFAULT.as_str().to_owned(),
        v1: Language::V1_DEFAULT.as_str().to_owned(),
    }
}

/// The default languages.
#[napi(object)]
pub struct DefaultLanguages {
    /// v2 default.
    pub v2: String,
    /// v1 default.
    pub v1: String,
}

/// Parses a language code in any case (`EN` is `en`); `null` when it is not one of ours.
#[napi(
    catch_unwind,
    strict,
    ts_args_type = "code: string",
    ts_return_type = "Language | null"
)]
pub fn parse_language(env: Env, code: Unknown) -> napi::Result<Option<&'static str>> {
    let code = Args::new(&env, "parseLanguage").required_string(code, "code")?;
    Ok(Language::parse(&code).map(Language::as_str))
}

/// The best of our languages for an HTTP `Accept-Language` value, or `fallback` when the header
/// names none of them. Throws `VALIDATION_ERROR` when `fallback` is not a language.
#[napi(
    catch_unwind,
    ts_args_type = "acceptLanguage: string, fallback: Language",
    ts_return_type = "Language"
)]
pub fn negotiate_language(
    env: Env,
    accept_language: Unknown,
    fallback: Unknown,
) -> napi::Result<&'static str> {
    let args = Args::new(&env, "negotiateLanguage");
    let accept_language = args.required_string(accept_language, "acceptLanguage")?;
    let fallback = args.required_string(fallback, "fallback")?;
    let fallback: Language = fallback.parse().or_throw(&env)?;
    Ok(Language::negotiate(&accept_language, fallback).as_str())
}

/// The language of a BCP 47 tag or POSIX locale (`fr-BE`, `nl_NL.UTF-8`), or `null`.
#[napi(
    catch_unwind,
    strict,
    ts_args_type = "locale: string",
    ts_return_type = "Language | null"
)]
pub fn language_from_locale(env: Env, locale: Unknown) -> napi::Result<Option<&'static str>> {
    let locale = Args::new(&env, "languageFromLocale").required_string(locale, "locale")?;
    Ok(Language::from_locale(&locale).map(Language::as_str))
}
