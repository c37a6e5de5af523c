//! Who is calling: suppliers and manufacturers, identified by API keys.
//!
//! Keys are held only as SHA-256 digests ([`ApiKeyDigest`]) and compared in constant time. A
//! request carries its key in `x-api-key` or in `Authorization: ApiKey KEY` (header names and
//! the scheme in any case), see [`api_key_from_headers`].

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::redirect::RedirectPolicy;

/// The SHA-256 digest of an API key: all the library ever keeps of a key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyDigest([u8; 32]);

impl ApiKeyDigest {
    /// The digest of a key.
    pub fn of_key(key: &str) -> ApiKeyDigest {
        ApiKeyDigest(Sha256::digest(key.as_bytes()).into())
    }

    /// A digest from its 64 hexadecimal characters (either case).
    pub fn from_hex(hex_digest: &str) -> Option<ApiKeyDigest> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut bytes).ok()?;
        Some(ApiKeyDigest(bytes))
    }

    /// The digest as 64 lower-case hexadecimal characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &ApiKeyDigest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for ApiKeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ApiKeyDigest({}…)",
            self.to_hex().get(..8).unwrap_or_default()
        )
    }
}

/// An energy supplier account.
#[derive(Debug, Clone)]
pub struct Supplier {
    /// The supplier's id (`supplier_id` in v1 responses).
    pub id: String,
    /// The supplier's name (`supplier` in v2 responses).
    pub name: String,
    /// The digests of the supplier's API keys (several during a rotation).
    pub(crate) keys: Vec<ApiKeyDigest>,
    /// The redirect URLs registered for this supplier.
    pub redirects: RedirectPolicy,
}

/// A device manufacturer account.
#[derive(Debug, Clone)]
pub struct Manufacturer {
    /// The manufacturer's id.
    pub id: String,
    /// The manufacturer's name (`manufacturer` in v2 responses).
    pub name: String,
    /// The manufacturer's brand name as configured; responses carry it title-cased.
    pub brand: String,
    /// Whether the manufacturer may create sessions and connections.
    pub enabled: bool,
    /// The digests of the manufacturer's API keys (several during a rotation).
    pub(crate) keys: Vec<ApiKeyDigest>,
    /// The redirect URLs registered for this manufacturer.
    pub redirects: RedirectPolicy,
}

impl Manufacturer {
    /// The brand name as responses carry it: title-cased (see [`title_case`]).
    pub fn brand_title(&self) -> String {
        title_case(&self.brand)
    }
}

/// Title case as Python's `str.title()` does it: a letter that follows a letter is lower-cased,
/// any other letter upper-cased (`acme HEAT-pumps` → `Acme Heat-Pumps`).
pub fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_letter = false;
    for c in text.chars() {
        if c.is_alphabetic() {
            if after_letter {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            after_letter = true;
        } else {
            out.push(c);
            after_letter = false;
        }
    }
    out
}

/// The configured callers, and authentication against them.
#[derive(Debug, Clone, Default)]
pub struct Callers {
    pub(crate) suppliers: Vec<Supplier>,
    pub(crate) manufacturers: Vec<Manufacturer>,
}

impl Callers {
    /// The suppliers.
    pub fn suppliers(&self) -> &[Supplier] {
        &self.suppliers
    }

    /// The manufacturers.
    pub fn manufacturers(&self) -> &[Manufacturer] {
        &self.manufacturers
    }

    /// The supplier whose key this is: 401 `Missing API key` without one, `Invalid API key`
    /// when it is no supplier's.
    pub fn authenticate_supplier(&self, api_key: Option<&str>) -> Result<&Supplier> {
        self.supplier_by_digest(&presented_digest(api_key)?)
    }

    /// The supplier one of whose keys has this digest (`Invalid API key` otherwise), compared
    /// in constant time with every key of every supplier.
    pub fn supplier_by_digest(&self, digest: &ApiKeyDigest) -> Result<&Supplier> {
        find_constant_time(&self.suppliers, |s| &s.keys, digest).ok_or(Error::InvalidApiKey)
    }

    /// The manufacturer whose key this is, which must be enabled (401 `Manufacturer not
    /// enabled` otherwise).
    pub fn authenticate_manufacturer(&self, api_key: Option<&str>) -> Result<&Manufacturer> {
        self.manufacturer_by_digest(&presented_digest(api_key)?)
    }

    /// The manufacturer one of whose keys has this digest, which must be enabled; as
    /// [`Callers::authenticate_manufacturer`] for a key already hashed.
    pub fn manufacturer_by_digest(&self, digest: &ApiKeyDigest) -> Result<&Manufacturer> {
        let manufacturer = find_constant_time(&self.manufacturers, |m| &m.keys, digest)
            .ok_or(Error::InvalidApiKey)?;
        if manufacturer.enabled {
            Ok(manufacturer)
        } else {
            Err(Error::ManufacturerNotEnabled)
        }
    }
}

/// The digest of a presented key: `Missing API key` when there is none (or it is empty).
pub(crate) fn presented_digest(api_key: Option<&str>) -> Result<ApiKeyDigest> {
    match api_key {
        Some(key) if !key.is_empty() => Ok(ApiKeyDigest::of_key(key)),
        _ => Err(Error::MissingApiKey),
    }
}

/// Compares the digest with every key of every caller, without stopping at a match.
fn find_constant_time<'a, T>(
    callers: &'a [T],
    keys_of: impl Fn(&T) -> &[ApiKeyDigest],
    digest: &ApiKeyDigest,
) -> Option<&'a T> {
    let mut found = None;
    for caller in callers {
        let matches = keys_of(caller)
            .iter()
            .fold(false, |any, key| key.ct_eq(digest) | any);
        if matches && found.is_none() {
            found = Some(caller);
        }
    }
    found
}

impl Supplier {
    /// Whether `digest` is one of this supplier's keys (constant time over its keys).
    pub fn has_key(&self, digest: &ApiKeyDigest) -> bool {
        self.keys
            .iter()
            .fold(false, |any, key| key.ct_eq(digest) | any)
    }
}

impl Manufacturer {
    /// Whether `digest` is one of this manufacturer's keys (constant time over its keys).
    pub fn has_key(&self, digest: &ApiKeyDigest) -> bool {
        self.keys
            .iter()
            .fold(false, |any, key| key.ct_eq(digest) | any)
    }
}

/// The API key a request carries: the `x-api-key` header, else an `Authorization` header with
/// the `ApiKey` scheme. Header names and the scheme match in any case; surrounding whitespace is
/// not part of the key. `None` when neither carries a non-empty key.
pub fn api_key_from_headers<'a, I>(headers: I) -> Option<&'a str>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut from_authorization = None;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("x-api-key") {
            let key = value.trim();
            if !key.is_empty() {
                return Some(key);
            }
        } else if name.eq_ignore_ascii_case("authorization") && from_authorization.is_none() {
            let value = value.trim();
            if let Some((scheme, key)) = value.split_once([' ', '\t']) {
                let key = key.trim();
                if scheme.eq_ignore_ascii_case("apikey") && !key.is_empty() {
                    from_authorization = Some(key);
                }
            }
        }
    }
    from_authorization
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_round_trip_through_hex() {
        let digest = ApiKeyDigest::of_key("secret");
        assert_eq!(
            digest.to_hex(),
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
        );
        assert_eq!(
            ApiKeyDigest::from_hex(&digest.to_hex().to_uppercase()),
            Some(digest)
        );
        assert_eq!(ApiKeyDigest::from_hex("abc"), None);
        assert_eq!(ApiKeyDigest::from_hex(&"z".repeat(64)), None);
        assert!(!format!("{digest:?}").contains(&digest.to_hex()));
    }

    #[test]
    fn keys_come_from_either_header_in_any_case() {
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Headers, Option<&str>); 9] = [
            (&[("x-api-key", "k1")], Some("k1")),
            (&[("X-API-KEY", " k1 ")], Some("k1")),
            (&[("Authorization", "ApiKey k2")], Some("k2")),
            (&[("authorization", "APIKEY   k2")], Some("k2")),
            (&[("Authorization", "Bearer k2")], None),
            (&[("Authorization", "ApiKey")], None),
            (&[("x-api-key", "")], None),
            (
                &[("Authorization", "ApiKey k2"), ("x-api-key", "k1")],
                Some("k1"),
            ),
            (&[], None),
        ];
        for (headers, expected) in cases {
            assert_eq!(
                api_key_from_headers(headers.iter().copied()),
                expected,
                "{headers:?}"
            );
        }
    }

    #[test]
    fn title_case_is_pythons() {
        assert_eq!(title_case("acme HEAT-pumps"), "Acme Heat-Pumps");
        assert_eq!(title_case("lg electronics"), "Lg Electronics");
        assert_eq!(title_case("o'neil 3d"), "O'Neil 3D");
        assert_eq!(title_case(""), "");
    }
}
