//! Redirect URL policies and link URL parsing.

use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;
use nox_authenticator::RedirectRejection as CoreRejection;

use crate::args::Args;
use crate::error::{OrThrow, rejection_to_js};

/// Why a redirect URL was refused.
#[napi(object)]
pub struct RedirectRejection {
    /// The core's stable rejection code.
    #[napi(
        ts_type = "'empty' | 'too_long' | 'whitespace_or_control' | 'not_absolute' | 'scheme_not_allowed' | 'user_info' | 'fragment' | 'not_canonical' | 'not_registered' | 'none_registered'"
    )]
    pub reason: String,
    /// The core's description of it.
    pub message: String,
    /// For `not_canonical`: the canonical spelling of the URL.
    pub canonical: Option<String>,
}

impl From<&CoreRejection> for RedirectRejection {
    fn from(rejection: &CoreRejection) -> RedirectRejection {
        RedirectRejection {
            reason: rejection.code().to_owned(),
            message: rejection.to_string(),
            canonical: match rejection {
                CoreRejection::NotCanonical { canonical } => Some(canonical.clone()),
                _ => None,
            },
        }
    }
}

/// A caller's registered redirect URLs and the exact-match rule checked against them.
#[napi]
pub struct RedirectPolicy {
    inner: nox_authenticator::RedirectPolicy,
}

#[napi]
impl RedirectPolicy {
    /// Registers URLs, each of which must be safe and written in canonical form. Throws an
    /// `Error` whose `code` is the rejection upper-cased (`NOT_CANONICAL`, `SCHEME_NOT_ALLOWED`,
    /// …), with `reason`, `index` (of the bad URL) and, for `NOT_CANONICAL`, `canonical`.
    #[napi(constructor, catch_unwind, strict, ts_args_type = "urls: string[]")]
    pub fn new(env: Env, urls: Unknown) -> napi::Result<RedirectPolicy> {
        let args = Args::new(&env, "new RedirectPolicy");
        let kind = urls.get_type()?;
        let urls = args
            .strings(urls, "urls")?
            .ok_or_else(|| args.type_error("urls", "an array of strings", kind))?;
        nox_authenticator::RedirectPolicy::new(&urls)
            .map(|inner| RedirectPolicy { inner })
            .map_err(|(index, rejection)| rejection_to_js(&env, index, &rejection))
    }

    /// The registered URLs, as given.
    #[napi(getter, catch_unwind, strict)]
    pub fn urls(&self) -> Vec<String> {
        self.inner.urls().map(str::to_owned).collect()
    }

    /// `null` if `url` may be redirected to (byte-equal to a registered URL, or differing from a
    /// loopback IP entry only in its port), else why not.
    #[napi(catch_unwind, strict, ts_args_type = "url: string")]
    pub fn check(&self, env: Env, url: Unknown) -> napi::Result<Option<RedirectRejection>> {
        let url = Args::new(&env, "RedirectPolicy#check").required_string(url, "url")?;
        Ok(self
            .inner
            .check(&url)
            .err()
            .map(|r| RedirectRejection::from(&r)))
    }
}

/// `null` if `url` has a safe shape for a redirect (absolute https, or http on a loopback IP;
/// no user-info, no fragment, …), registered or not; else why not.
#[napi(catch_unwind, strict, ts_args_type = "url: string")]
pub fn check_redirect_shape(env: Env, url: Unknown) -> napi::Result<Option<RedirectRejection>> {
    let url = Args::new(&env, "checkRedirectShape").required_string(url, "url")?;
    Ok(nox_authenticator::check_shape(&url)
        .err()
        .map(|r| RedirectRejection::from(&r)))
}

/// What a link URL carries.
#[napi(object)]
pub struct LinkUrlParts {
    /// The session token.
    pub token: String,
    /// The UI language (v2 link URLs; `null` for v1 ones).
    #[napi(ts_type = "Language | null")]
    pub language: Option<String>,
}

/// Reads the `token` and `language` of a link URL; throws `VALIDATION_ERROR` on `link_url`.
#[napi(catch_unwind, strict, ts_args_type = "linkUrl: string")]
pub fn parse_link_url(env: Env, link_url: Unknown) -> napi::Result<LinkUrlParts> {
    let link_url = Args::new(&env, "parseLinkUrl").required_string(link_url, "linkUrl")?;
    let parts = nox_authenticator::parse_link_url(&link_url).or_throw(&env)?;
    Ok(LinkUrlParts {
        token: parts.token.as_str().to_owned(),
        language: parts.language.map(|l| l.as_str().to_owned()),
    })
}
