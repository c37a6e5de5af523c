//! `new Authenticator({...})`: the configuration object has the keys of the core's JSON
//! configuration in camelCase (`maxBodyBytes`, `redirectUrls`), as its TypeScript type
//! `AuthenticatorConfig` (generated from the core's `Config`) spells them. This turns them back
//! into the core's snake_case, so that the core reads the object exactly as it reads a file:
//! every field the core has is accepted here, with its defaults and checks, and a key it does
//! not have is refused by the core. Its error then names the key as the caller wrote it.

use std::collections::HashMap;

use nox_authenticator::Error;
use serde_json::{Map, Value};

/// The objects keyed by name rather than by field (connector names are brand slugs and
/// supplier ids, kept as written); their values are configuration objects again.
const NAMED_MAPS: &[&str] = &["connectors"];

/// Where each key of a configuration object was, as the caller wrote it: the core's errors name
/// fields by the core's paths (`suppliers[0].redirect_urls[1]`), and are renamed with this.
#[derive(Default)]
pub(crate) struct WrittenPaths(HashMap<String, String>);

impl WrittenPaths {
    /// The error with its field named as written (`suppliers[0].redirectUrls[1]`); its reason
    /// too, where it quotes the key.
    pub(crate) fn rename(&self, error: Error) -> Error {
        match error {
            Error::InvalidConfig { field, reason } => match self.0.get(&field) {
                Some(written) => {
                    let key = field.rsplit(['.', ']']).next().unwrap_or_default();
                    let written_key = written.rsplit(['.', ']']).next().unwrap_or_default();
                    Error::InvalidConfig {
                        reason: reason.replacen(
                            &format!("`{key}`"),
                            &format!("`{written_key}`"),
                            1,
                        ),
                        field: written.clone(),
                    }
                }
                None => Error::InvalidConfig { field, reason },
            },
            other => other,
        }
    }
}

/// Reads a configuration object with the core. An error names the field as written; so
/// should the errors of the later checks, through the returned [`WrittenPaths`].
pub(crate) fn read(value: Value) -> (Result<nox_authenticator::Config, Error>, WrittenPaths) {
    let mut paths = WrittenPaths::default();
    // The conversion's own errors already name the key as written.
    let config = convert(value, "", "", &mut paths.0).and_then(|value| {
        nox_authenticator::Config::from_value(value).map_err(|error| paths.rename(error))
    });
    (config, paths)
}

/// The value with its object keys in snake_case; an `undefined` or `null` value is an omitted
/// key (the core's default). `paths` maps each converted path to the path as written. A
/// snake_case key is refused: accepting both spellings would let `max_body_bytes` and
/// `maxBodyBytes` clash.
fn convert(
    value: Value,
    path: &str,
    written: &str,
    paths: &mut HashMap<String, String>,
) -> Result<Value, Error> {
    match value {
        Value::Object(object) => {
            let named = NAMED_MAPS.contains(&path);
            let mut out = Map::with_capacity(object.len());
            for (key, value) in object {
                if value.is_null() {
                    continue;
                }
                let join = |base: &str, key: &str| {
                    if base.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{base}.{key}")
                    }
                };
                let written_at = join(written, &key);
                let name = if named {
                    key
                } else if key.contains('_') {
                    return Err(Error::InvalidConfig {
                        field: written_at,
                        reason: format!(
                            "unknown field `{key}`: the keys of this object are camelCase"
                        ),
                    });
                } else {
                    snake_case(&key)
                };
                let at = join(path, &name);
                paths.insert(at.clone(), written_at.clone());
                out.insert(name, convert(value, &at, &written_at, paths)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let (at, written_at) = (format!("{path}[{index}]"), format!("{written}[{index}]"));
                paths.insert(at.clone(), written_at.clone());
                convert(item, &at, &written_at, paths)
            })
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

/// `maxBodyBytes` → `max_body_bytes`, `apiKeySha256` → `api_key_sha256`.
fn snake_case(key: &str) -> String {
    let mut name = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}
