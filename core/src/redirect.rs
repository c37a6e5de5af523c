//! Which redirect URLs a caller may send its end-users back to (spec decision 5).
//!
//! A redirect URL must be an absolute `https` URL (`http` only for the loopback IP literals
//! `127.0.0.1` and `[::1]`), with no fragment, no user-info and no other scheme, and must equal
//! one of the caller's registered URLs **byte for byte** (RFC 9700 section 2.1). Registered URLs
//! are checked when configured: each must already be in canonical form, so a look-alike
//! spelling of it (other case, default port written out, dot segments, stray whitespace) is a
//! different string and is refused. The one allowed difference is the port of a loopback IP
//! entry (RFC 8252 section 7.3). There is no prefix, wildcard or subdomain matching.
//!
//! ```
//! use nox_authenticator::RedirectPolicy;
//!
//! let policy = RedirectPolicy::new(["https://app.example.com/callback", "http://127.0.0.1/cb"]).unwrap();
//! assert!(policy.check("https://app.example.com/callback").is_ok());
//! assert!(policy.check("https://APP.example.com/callback").is_err());
//! assert!(policy.check("http://127.0.0.1:53682/cb").is_ok());
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::error::{Error, FieldName, Rule};

/// The longest redirect URL accepted, in bytes.
pub const MAX_REDIRECT_URL_LEN: usize = 2048;

/// Why a redirect URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi::export(Display))]
pub enum RedirectRejection {
    /// The URL is the empty string.
    Empty,
    /// The URL is longer than [`MAX_REDIRECT_URL_LEN`].
    TooLong,
    /// The URL contains whitespace or a control character.
    WhitespaceOrControl,
    /// The URL is not absolute (or not a URL at all).
    NotAbsolute,
    /// The scheme is not `https` (or `http` for a loopback IP literal).
    SchemeNotAllowed,
    /// The URL carries a user name or password.
    UserInfo,
    /// The URL has a fragment (`#…`).
    Fragment,
    /// A registered URL is not written in canonical form.
    NotCanonical {
        /// The canonical spelling of the same URL.
        canonical: String,
    },
    /// The URL equals none of the registered ones.
    NotRegistered,
    /// The caller has no registered redirect URL at all.
    NoneRegistered,
}

impl RedirectRejection {
    /// A stable snake_case code: `empty`, `too_long`, `whitespace_or_control`, `not_absolute`,
    /// `scheme_not_allowed`, `user_info`, `fragment`, `not_canonical`, `not_registered`,
    /// `none_registered`.
    pub fn code(&self) -> &'static str {
        match self {
            RedirectRejection::Empty => "empty",
            RedirectRejection::TooLong => "too_long",
            RedirectRejection::WhitespaceOrControl => "whitespace_or_control",
            RedirectRejection::NotAbsolute => "not_absolute",
            RedirectRejection::SchemeNotAllowed => "scheme_not_allowed",
            RedirectRejection::UserInfo => "user_info",
            RedirectRejection::Fragment => "fragment",
            RedirectRejection::NotCanonical { .. } => "not_canonical",
            RedirectRejection::NotRegistered => "not_registered",
            RedirectRejection::NoneRegistered => "none_registered",
        }
    }

    /// The request refusal rule of this rejection (spec decision 17): `empty`, `too_long`,
    /// `redirect_whitespace_or_control`, `redirect_not_absolute`, `redirect_not_https`,
    /// `redirect_has_user_info`, `redirect_has_fragment`, `redirect_not_canonical`,
    /// `redirect_not_registered` or `redirect_none_registered`.
    pub fn rule(&self) -> Rule {
        match self {
            RedirectRejection::Empty => Rule::Empty,
            RedirectRejection::TooLong => Rule::TooLong,
            RedirectRejection::WhitespaceOrControl => Rule::RedirectWhitespaceOrControl,
            RedirectRejection::NotAbsolute => Rule::RedirectNotAbsolute,
            RedirectRejection::SchemeNotAllowed => Rule::RedirectNotHttps,
            RedirectRejection::UserInfo => Rule::RedirectHasUserInfo,
            RedirectRejection::Fragment => Rule::RedirectHasFragment,
            RedirectRejection::NotCanonical { .. } => Rule::RedirectNotCanonical,
            RedirectRejection::NotRegistered => Rule::RedirectNotRegistered,
            RedirectRejection::NoneRegistered => Rule::RedirectNoneRegistered,
        }
    }

    /// The message for a request field (`redirect_url` or `redirect_uri`) of a caller
    /// (`supplier` or `manufacturer`).
    pub fn describe(&self, field: &str, account: &str) -> String {
        match self {
            RedirectRejection::Empty => format!("{field} must not be empty"),
            RedirectRejection::TooLong => {
                format!("{field} must be at most {MAX_REDIRECT_URL_LEN} characters")
            }
            RedirectRejection::WhitespaceOrControl => {
                format!("{field} must not contain whitespace or control characters")
            }
            RedirectRejection::NotAbsolute => format!("{field} must be an absolute URL"),
            RedirectRejection::SchemeNotAllowed => {
                format!("{field} must be an https URL (http only for 127.0.0.1 and [::1])")
            }
            RedirectRejection::UserInfo => format!("{field} must not contain user info"),
            RedirectRejection::Fragment => format!("{field} must not contain a fragment"),
            RedirectRejection::NotCanonical { canonical } => {
                format!("{field} must be written in canonical form: {canonical}")
            }
            RedirectRejection::NotRegistered => {
                format!("{field} is not registered with your {account} account")
            }
            RedirectRejection::NoneRegistered => {
                format!("no redirect URLs are registered with your {account} account")
            }
        }
    }
}

impl fmt::Display for RedirectRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("redirect URL", "caller"))
    }
}

/// One registered redirect URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Registered {
    text: String,
    /// For a loopback IP entry, the text with the port removed: candidates are compared in this
    /// form.
    loopback_portless: Option<String>,
}

/// A caller's registered redirect URLs and the rule that matches against them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedirectPolicy {
    registered: Vec<Registered>,
}

impl RedirectPolicy {
    /// Registers URLs, each of which must be safe ([`check_shape`]) and in canonical form.
    /// On error, returns the index of the first bad URL and why.
    pub fn new<I, S>(urls: I) -> Result<RedirectPolicy, (usize, RedirectRejection)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut registered = Vec::new();
        for (index, text) in urls.into_iter().enumerate() {
            let text = text.as_ref();
            let url = check_shape(text).map_err(|r| (index, r))?;
            if url.as_str() != text {
                return Err((
                    index,
                    RedirectRejection::NotCanonical {
                        canonical: url.as_str().to_owned(),
                    },
                ));
            }
            registered.push(Registered {
                text: text.to_owned(),
                loopback_portless: loopback_portless(url),
            });
        }
        Ok(RedirectPolicy { registered })
    }

    /// The registered URLs, as configured.
    pub fn urls(&self) -> impl Iterator<Item = &str> + '_ {
        self.registered.iter().map(|r| r.text.as_str())
    }

    /// Whether `candidate` is byte-equal to a registered URL.
    pub fn registers(&self, candidate: &str) -> bool {
        self.registered.iter().any(|r| r.text == candidate)
    }

    /// Accepts `candidate` if it is byte-equal to a registered URL, or differs from a loopback
    /// IP entry only in its port.
    pub fn check(&self, candidate: &str) -> Result<(), RedirectRejection> {
        if self.registered.is_empty() {
            return Err(RedirectRejection::NoneRegistered);
        }
        // A registered URL passed `check_shape` when it was registered, so a byte-equal
        // candidate passes it too: the common case needs no parsing.
        if self.registers(candidate) {
            return Ok(());
        }
        let url = check_shape(candidate)?;
        // The loopback exception: only a canonical candidate, compared without its port.
        if url.as_str() == candidate
            && let Some(portless) = loopback_portless(url)
            && self
                .registered
                .iter()
                .any(|r| r.loopback_portless.as_deref() == Some(portless.as_str()))
        {
            return Ok(());
        }
        Err(RedirectRejection::NotRegistered)
    }
}

/// Checks what makes a URL safe to redirect to, whether or not it is registered: not empty, not
/// too long, no whitespace or control characters, absolute, `https` (or `http` on a loopback IP
/// literal), no user-info, no fragment. Returns the parsed URL.
pub fn check_shape(text: &str) -> Result<Url, RedirectRejection> {
    if text.is_empty() {
        return Err(RedirectRejection::Empty);
    }
    if text.len() > MAX_REDIRECT_URL_LEN {
        return Err(RedirectRejection::TooLong);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RedirectRejection::WhitespaceOrControl);
    }
    let url = Url::parse(text).map_err(|_| RedirectRejection::NotAbsolute)?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_ip(&url) => {}
        _ => return Err(RedirectRejection::SchemeNotAllowed),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectRejection::UserInfo);
    }
    if url.fragment().is_some() {
        return Err(RedirectRejection::Fragment);
    }
    Ok(url)
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

fn loopback_portless(mut url: Url) -> Option<String> {
    if !is_loopback_ip(&url) {
        return None;
    }
    url.set_port(None).ok()?;
    Some(url.into())
}

impl Error {
    /// A refused redirect URL in request field `field` (`redirect_url`, `redirect_uri`) of a
    /// caller of kind `account` (`supplier`, `manufacturer`).
    pub fn redirect(field: FieldName, account: &str, rejection: &RedirectRejection) -> Error {
        Error::refuse(rejection.rule(), field, rejection.describe(field, account))
    }
}

/// Where an endpoint's request carries its redirect URL and whose URLs it names: the one place
/// each endpoint's redirect refusals are worded, for its shape check and its registration check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RedirectField {
    field: FieldName,
    account: &'static str,
}

impl RedirectField {
    /// `redirect_url` of `POST /v2/supplier/link-sessions`.
    pub(crate) const V2_SUPPLIER: RedirectField = RedirectField {
        field: "redirect_url",
        account: "supplier",
    };
    /// `redirect_url` of `POST /v2/manufacturer/link-sessions`.
    pub(crate) const V2_MANUFACTURER: RedirectField = RedirectField {
        field: "redirect_url",
        account: "manufacturer",
    };
    /// `redirect_uri` of `POST /users/{userId}/link`.
    pub(crate) const V1_SUPPLIER: RedirectField = RedirectField {
        field: "redirect_uri",
        account: "supplier",
    };

    /// The shape check of [`check_shape`], refused as this field.
    pub(crate) fn check_shape(self, url: &str) -> Result<(), Error> {
        check_shape(url).map(drop).map_err(|r| self.refusal(&r))
    }

    /// The shape check, unless `url` is byte-equal to one of the caller's registered URLs, each
    /// of which passed the same check when it was registered: the common case parses nothing.
    pub(crate) fn check_shape_for(
        self,
        registered: Option<&RedirectPolicy>,
        url: &str,
    ) -> Result<(), Error> {
        if registered.is_some_and(|policy| policy.registers(url)) {
            return Ok(());
        }
        self.check_shape(url)
    }

    /// The caller's registration check ([`RedirectPolicy::check`]), refused as this field.
    pub(crate) fn check_registered(self, policy: &RedirectPolicy, url: &str) -> Result<(), Error> {
        policy.check(url).map_err(|r| self.refusal(&r))
    }

    fn refusal(self, rejection: &RedirectRejection) -> Error {
        Error::redirect(self.field, self.account, rejection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_byte_equal_registered_url_skips_the_shape_check() {
        let policy = RedirectPolicy::new(["https://a.example/cb", "http://127.0.0.1/cb"]).unwrap();
        assert!(policy.registers("https://a.example/cb"));
        assert!(!policy.registers("https://a.example/cb/"));
        assert!(!policy.registers("http://127.0.0.1:8080/cb"));
        let field = RedirectField::V2_SUPPLIER;
        assert_eq!(
            field.check_shape_for(Some(&policy), "https://a.example/cb"),
            Ok(())
        );
        // Anything else is checked as before, with the same refusal.
        for url in [
            "https://a.example/cb#f",
            "ftp://a.example/cb",
            "https://u@a.example/cb",
        ] {
            assert_eq!(
                field.check_shape_for(Some(&policy), url),
                field.check_shape(url),
                "{url}"
            );
            assert!(field.check_shape(url).is_err(), "{url}");
        }
    }

    #[test]
    fn registered_urls_must_be_canonical_and_safe() {
        let cases: [(&str, RedirectRejection); 9] = [
            (
                "https://example.com",
                RedirectRejection::NotCanonical {
                    canonical: "https://example.com/".into(),
                },
            ),
            (
                "https://EXAMPLE.com/cb",
                RedirectRejection::NotCanonical {
                    canonical: "https://example.com/cb".into(),
                },
            ),
            (
                "https://example.com:443/cb",
                RedirectRejection::NotCanonical {
                    canonical: "https://example.com/cb".into(),
                },
            ),
            (
                "https://example.com/a/../cb",
                RedirectRejection::NotCanonical {
                    canonical: "https://example.com/cb".into(),
                },
            ),
            ("http://example.com/cb", RedirectRejection::SchemeNotAllowed),
            ("http://localhost/cb", RedirectRejection::SchemeNotAllowed),
            ("https://u:p@example.com/cb", RedirectRejection::UserInfo),
            ("https://example.com/cb#x", RedirectRejection::Fragment),
            (
                " https://example.com/cb",
                RedirectRejection::WhitespaceOrControl,
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(RedirectPolicy::new([url]), Err((0, expected)), "{url}");
        }
        assert_eq!(
            RedirectPolicy::new(["https://a.example/cb", "javascript:alert(1)"]),
            Err((1, RedirectRejection::SchemeNotAllowed))
        );
    }

    #[test]
    fn only_exact_matches_pass() {
        let policy = RedirectPolicy::new(["https://app.example.com/callback?x=1"]).unwrap();
        assert_eq!(policy.check("https://app.example.com/callback?x=1"), Ok(()));
        for other in [
            "https://app.example.com/callback",
            "https://app.example.com/callback?x=1&y=2",
            "https://app.example.com/callback/?x=1",
            "https://APP.example.com/callback?x=1",
        ] {
            assert_eq!(
                policy.check(other),
                Err(RedirectRejection::NotRegistered),
                "{other}"
            );
        }
    }

    #[test]
    fn loopback_entries_allow_any_port_and_nothing_else() {
        let policy = RedirectPolicy::new(["http://127.0.0.1/cb", "http://[::1]:8080/cb"]).unwrap();
        for ok in [
            "http://127.0.0.1/cb",
            "http://127.0.0.1:49152/cb",
            "http://[::1]/cb",
            "http://[::1]:1/cb",
        ] {
            assert_eq!(policy.check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:49152/cb2",
            "http://localhost:49152/cb",
            "http://127.0.0.2/cb",
            "http://127.0.0.1:080/cb",
        ] {
            assert!(policy.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_caller_without_registered_urls_gets_a_clear_refusal() {
        let policy = RedirectPolicy::new(Vec::<String>::new()).unwrap();
        assert_eq!(
            policy.check("https://app.example.com/cb"),
            Err(RedirectRejection::NoneRegistered)
        );
        assert_eq!(
            RedirectRejection::NoneRegistered.describe("redirect_url", "supplier"),
            "no redirect URLs are registered with your supplier account"
        );
    }
}
