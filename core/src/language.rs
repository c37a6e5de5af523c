//! Languages of the Authenticator UI: `nl`, `en`, `fr`, `es`.
//!
//! v2 requests default to [`Language::V2_DEFAULT`] (`nl`), v1 requests to
//! [`Language::V1_DEFAULT`] (`en`). [`Language::negotiate`] picks one from an HTTP
//! `Accept-Language` value, and [`Language::from_locale`] from a device locale such as `nl_BE`.
//!
//! ```
//! use nox_authenticator::Language;
//!
//! assert_eq!(Language::negotiate("de-DE, fr;q=0.8, en;q=0.5", Language::V2_DEFAULT), Language::Fr);
//! assert_eq!(Language::from_locale("nl_BE"), Some(Language::Nl));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A language of the Authenticator UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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

impl Language {
    /// Every language, in the order of the documented enum.
    pub const ALL: [Language; 4] = [Language::Nl, Language::En, Language::Fr, Language::Es];
    /// The default of the v2 API.
    pub const V2_DEFAULT: Language = Language::Nl;
    /// The default of the deprecated v1 API.
    pub const V1_DEFAULT: Language = Language::En;

    /// The wire code.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
            Language::Fr => "fr",
            Language::Es => "es",
        }
    }

    /// Parses a wire code, in any case (`EN` is `en`). Region tags are not codes: see
    /// [`Language::from_locale`].
    pub fn parse(code: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(code))
    }

    /// The language of a BCP 47 tag or POSIX locale (`fr-BE`, `nl_NL.UTF-8`, `es`), by its
    /// primary subtag; `None` if that is not one of ours.
    pub fn from_locale(locale: &str) -> Option<Language> {
        let primary = locale
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or_default()
            .trim();
        Language::parse(primary)
    }

    /// Picks the best of our languages for an `Accept-Language` header value (RFC 9110
    /// section 12.5.4): the highest quality first, ties in header order, `q=0` never, `*` meaning
    /// `default`. Malformed entries are skipped; with no usable entry the result is `default`.
    pub fn negotiate(accept_language: &str, default: Language) -> Language {
        let mut best: Option<(u16, Language)> = None;
        // A header longer than this is not from a browser; only its start is read.
        for entry in accept_language.split(',').take(64) {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let mut quality = 1000;
            for param in parts {
                if let Some((name, value)) = param.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    quality = parse_quality(value.trim()).unwrap_or(0);
                }
            }
            if quality == 0 {
                continue;
            }
            let language = if tag == "*" {
                Some(default)
            } else {
                Language::from_locale(tag)
            };
            if let Some(language) = language
                && best.is_none_or(|(q, _)| quality > q)
            {
                best = Some((quality, language));
            }
        }
        best.map_or(default, |(_, language)| language)
    }
}

/// An RFC 9110 qvalue as thousandths: `0`, `0.5`, `1.000`.
fn parse_quality(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = Error;
    fn from_str(code: &str) -> Result<Self> {
        Language::parse(code).ok_or_else(|| {
            Error::refuse(
                crate::error::Rule::LanguageUnsupported,
                "language",
                "language must be one of: nl, en, fr, es",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_in_any_case_and_nothing_else() {
        for language in Language::ALL {
            assert_eq!(Language::parse(language.as_str()), Some(language));
            assert_eq!(
                Language::parse(&language.as_str().to_uppercase()),
                Some(language)
            );
        }
        for bad in ["", "de", "nl-NL", " nl", "english"] {
            assert_eq!(Language::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            "de".parse::<Language>().unwrap_err().message(),
            "language must be one of: nl, en, fr, es"
        );
    }

    #[test]
    fn defaults_are_as_documented() {
        assert_eq!(Language::V2_DEFAULT, Language::Nl);
        assert_eq!(Language::V1_DEFAULT, Language::En);
    }

    #[test]
    fn negotiation_follows_quality_then_order() {
        let d = Language::V2_DEFAULT;
        let cases = [
            ("", Language::Nl),
            ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", Language::Fr),
            ("de-DE, en;q=0.5, es;q=0.6", Language::Es),
            ("en;q=0, fr;q=0.1", Language::Fr),
            ("de, *;q=0.1", Language::Nl),
            ("en-GB;q=1.0, es", Language::En),
            ("es;q=2, en;q=abc, fr;q=0.3", Language::Fr),
            ("nl;q=0.5;foo=bar, EN;q=0.50", Language::Nl),
            ("ja", Language::Nl),
        ];
        for (header, expected) in cases {
            assert_eq!(Language::negotiate(header, d), expected, "{header:?}");
        }
        assert_eq!(Language::negotiate("ja", Language::En), Language::En);
    }

    #[test]
    fn locales_map_by_primary_subtag() {
        assert_eq!(Language::from_locale("nl_NL.UTF-8"), Some(Language::Nl));
        assert_eq!(Language::from_locale("fr-BE"), Some(Language::Fr));
        assert_eq!(Language::from_locale("ES"), Some(Language::Es));
        assert_eq!(Language::from_locale("de_DE"), None);
        assert_eq!(Language::from_locale(""), None);
    }
}
