//! Redirect-URL checks (spec decision 5), the core's
//! [`RedirectPolicy`](nox_authenticator::RedirectPolicy): absolute `https` only (`http` for
//! loopback IP literals), no user-info, no fragment, and byte-for-byte equal to a registered URL.

use nox_authenticator as nox;

use crate::error::RedirectError;

/// A caller's registered redirect URLs and the rule that matches against them.
#[derive(Debug, PartialEq, Eq, uniffi::Object)]
#[uniffi::export(Debug, Eq, Hash)]
pub struct RedirectPolicy {
    inner: nox::RedirectPolicy,
}

impl std::hash::Hash for RedirectPolicy {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for url in self.inner.urls() {
            url.hash(state);
        }
    }
}

#[uniffi::export]
impl RedirectPolicy {
    /// Registers URLs; each must be safe and already in canonical form, otherwise
    /// `RedirectError.RegistrationRefused` says which one and why (`not_canonical` carries the
    /// canonical spelling).
    #[uniffi::constructor]
    pub fn new(urls: Vec<String>) -> Result<RedirectPolicy, RedirectError> {
        Ok(RedirectPolicy {
            inner: nox::RedirectPolicy::new(urls)?,
        })
    }

    /// The registered URLs, as given.
    pub fn urls(&self) -> Vec<String> {
        self.inner.urls().map(str::to_owned).collect()
    }

    /// Accepts `url` if it is byte-equal to a registered URL (or differs from a loopback IP
    /// entry only in its port); otherwise `RedirectError.Refused` with the rejection.
    pub fn check(&self, url: String) -> Result<(), RedirectError> {
        Ok(self.inner.check(&url)?)
    }
}

/// Checks what makes a URL safe to redirect to, whether or not it is registered: not empty,
/// not too long, no whitespace, absolute, `https` (or `http` on a loopback IP), no user-info, no
/// fragment.
#[uniffi::export]
pub fn check_redirect_shape(url: String) -> Result<(), RedirectError> {
    nox::check_shape(&url)?;
    Ok(())
}

/// The longest redirect URL accepted, in bytes.
#[uniffi::export]
pub fn max_redirect_url_len() -> u32 {
    u32::try_from(nox::redirect::MAX_REDIRECT_URL_LEN).unwrap_or(u32::MAX)
}
