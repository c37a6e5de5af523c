//! Reading a `link_url` or callback URL back into its token and language, with the core's
//! [`parse_link_url`](nox_authenticator::parse_link_url).

use nox_authenticator as nox;

use nox::Language;

use nox_authenticator::Error;

/// What a link URL carries.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LinkUrlParts {
    /// The session token (43 URL-safe characters).
    pub token: String,
    /// The UI language (v2 link URLs; v1 ones carry none).
    pub language: Option<Language>,
}

/// Reads the `token` (required, well-formed) and `language` (optional, one of ours) query
/// parameters of an absolute URL; anything else is a validation error on `link_url`.
#[uniffi::export]
pub fn parse_link_url(url: String) -> Result<LinkUrlParts, Error> {
    let parts = nox::parse_link_url(&url)?;
    Ok(LinkUrlParts {
        token: parts.token.as_str().to_owned(),
        language: parts.language,
    })
}
