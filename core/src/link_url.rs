//! Reading a `link_url` (or any URL that carries a link token) back into its token and language:
//! what an app needs when the hosted flow hands control back to it.
//!
//! ```
//! use nox_authenticator::{Language, parse_link_url};
//!
//! let parts = parse_link_url("https://auth.nox.energy/ui?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&language=fr").unwrap();
//! assert_eq!(parts.language, Some(Language::Fr));
//! ```

use url::Url;

use crate::error::{Error, Result, Rule};
use crate::language::Language;
use crate::token::LinkToken;

/// What a link URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkUrlParts {
    /// The session token.
    pub token: LinkToken,
    /// The UI language (v2 link URLs; v1 ones carry none).
    pub language: Option<Language>,
}

/// Reads the `token` (required, well-formed) and `language` (optional, one of ours) query
/// parameters of an absolute URL. Repeated parameters are refused as ambiguous.
pub fn parse_link_url(link_url: &str) -> Result<LinkUrlParts> {
    if link_url.len() > crate::redirect::MAX_REDIRECT_URL_LEN {
        return Err(Error::refuse(
            Rule::TooLong,
            "link_url",
            "link_url is too long",
        ));
    }
    let url = Url::parse(link_url).map_err(|_| {
        Error::refuse(
            Rule::LinkUrlInvalid,
            "link_url",
            "link_url must be an absolute URL",
        )
    })?;
    let mut token = None;
    let mut language = None;
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "token" => &mut token,
            "language" => &mut language,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(Error::refuse(
                Rule::LinkUrlInvalid,
                "link_url",
                format!("link_url has more than one {name} parameter"),
            ));
        }
    }
    let token = token.as_deref().and_then(LinkToken::parse).ok_or_else(|| {
        Error::refuse(
            Rule::TokenInvalid,
            "link_url",
            "link_url carries no valid token",
        )
    })?;
    let language = match language {
        Some(code) => Some(Language::parse(&code).ok_or_else(|| {
            Error::refuse(
                Rule::LanguageUnsupported,
                "link_url",
                "link_url language must be one of: nl, en, fr, es",
            )
        })?),
        None => None,
    };
    Ok(LinkUrlParts { token, language })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_link_urls_parse() {
        let token = "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE";
        let v2 = parse_link_url(&format!(
            "https://auth.nox.energy/ui?token={token}&language=nl"
        ))
        .unwrap();
        assert_eq!(
            (v2.token.as_str(), v2.language),
            (token, Some(Language::Nl))
        );
        let v1 = parse_link_url(&format!("https://link.nox.com/connect?token={token}")).unwrap();
        assert_eq!(v1.language, None);
    }

    #[test]
    fn bad_link_urls_are_refused() {
        let token = "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE";
        for bad in [
            "not a url".to_owned(),
            "https://auth.nox.energy/ui?language=nl".to_owned(),
            "https://auth.nox.energy/ui?token=short".to_owned(),
            format!("https://auth.nox.energy/ui?token={token}&token={token}"),
            format!("https://auth.nox.energy/ui?token={token}&language=de"),
        ] {
            assert_eq!(
                parse_link_url(&bad).unwrap_err().fields(),
                ["link_url"],
                "{bad}"
            );
        }
    }
}
