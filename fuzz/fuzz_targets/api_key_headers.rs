//! `api_key_from_headers` and authentication. Properties: no panic; the extracted key agrees
//! with an independent model of the documented rule (first non-empty `x-api-key`, else the
//! first `Authorization: ApiKey KEY`; names and scheme in any case; surrounding whitespace not
//! part of the key); authentication succeeds exactly for a configured key of the right kind and
//! fails with 401 `Missing API key` / `Invalid API key` / `Manufacturer not enabled` otherwise.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nox_authenticator::{Authenticator, Error, api_key_from_headers};
use nox_authenticator_fuzz::input::Text;
use nox_authenticator_fuzz::{authenticator, config};

#[derive(Debug, Arbitrary)]
enum Name {
    XApiKey,
    XApiKeyUpper,
    Authorization,
    AuthorizationUpper,
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Value {
    ApiKeyScheme { scheme: u8, sep: u8, key: Text, trailing: bool },
    Plain { key: Text, pad: bool },
    Raw(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    headers: Vec<(Name, Value)>,
}

/// The documented rule, written independently of the core.
fn model<'a>(headers: &[(&'a str, &'a str)]) -> Option<&'a str> {
    let ws = |c: char| c.is_whitespace();
    let from_x = headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase() == "x-api-key")
        .map(|(_, v)| v.trim_matches(ws))
        .find(|k| !k.is_empty());
    if from_x.is_some() {
        return from_x;
    }
    // Only the first Authorization header that carries an ApiKey credential counts.
    headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase() == "authorization")
        .find_map(|(_, v)| {
            let v = v.trim_matches(ws);
            let cut = v.find([' ', '\t'])?;
            let (scheme, rest) = v.split_at(cut);
            let key = rest.trim_matches(ws);
            (scheme.to_ascii_lowercase() == "apikey" && !key.is_empty()).then_some(key)
        })
}

fuzz_target!(|input: Input| {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    let auth = AUTH.get_or_init(|| authenticator(&config()));

    let owned: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(name, value)| {
            let name = match name {
                Name::XApiKey => "x-api-key".to_owned(),
                Name::XApiKeyUpper => "X-Api-Key".to_owned(),
                Name::Authorization => "authorization".to_owned(),
                Name::AuthorizationUpper => "AUTHORIZATION".to_owned(),
                Name::Raw(s) => s.clone(),
            };
            let value = match value {
                Value::ApiKeyScheme { scheme, sep, key, trailing } => {
                    let scheme = ["ApiKey", "apikey", "APIKEY", "Bearer", "Api-Key"]
                        [usize::from(*scheme) % 5];
                    let sep = [" ", "\t", "  ", ""][usize::from(*sep) % 4];
                    let tail = if *trailing { " " } else { "" };
                    format!("{scheme}{sep}{}{tail}", key.get())
                }
                Value::Plain { key, pad } => {
                    if *pad { format!(" {} ", key.get()) } else { key.get() }
                }
                Value::Raw(s) => s.clone(),
            };
            (name, value)
        })
        .collect();
    let headers: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();

    let key = api_key_from_headers(headers.iter().copied());
    assert_eq!(key, model(&headers), "{headers:?}");
    if let Some(k) = key {
        assert!(!k.is_empty() && k.trim() == k);
    }

    let callers = auth.callers();
    let supplier_keys = ["supplier-key-acme", "supplier-key-empty"];
    match callers.authenticate_supplier(key) {
        Ok(s) => {
            let k = key.expect("authenticated without a key");
            assert!(supplier_keys.contains(&k));
            assert_eq!(s.id, if k == "supplier-key-acme" { "supplier_123" } else { "supplier_empty" });
        }
        Err(e) => {
            assert_eq!(e.status(), 401);
            match key {
                None => assert_eq!(e, Error::MissingApiKey),
                Some(k) => {
                    assert!(!supplier_keys.contains(&k));
                    assert_eq!(e, Error::InvalidApiKey);
                }
            }
        }
    }
    match callers.authenticate_manufacturer(key) {
        Ok(m) => {
            let k = key.expect("authenticated without a key");
            assert_eq!(k, "manufacturer-key-acme", "only one enabled manufacturer key is known");
            assert_eq!(m.id, "manufacturer_acme");
        }
        Err(e) => {
            assert_eq!(e.status(), 401);
            match key {
                None => assert_eq!(e, Error::MissingApiKey),
                Some("manufacturer-key-disabled") => assert_eq!(e, Error::ManufacturerNotEnabled),
                Some(_) => assert_eq!(e, Error::InvalidApiKey),
            }
        }
    }
});
