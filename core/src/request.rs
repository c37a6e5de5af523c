//! What every endpoint's request parsing shares: reading a JSON object, telling absent and null
//! from wrong types, and the limits on free-text fields.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, FieldName, Refusal, Result, Rule};

/// The longest user id, manufacturer user id or device id, in characters.
pub const MAX_ID_CHARS: usize = 255;
/// The most device ids one v1 connect request may carry.
pub const MAX_DEVICE_IDS: usize = 100;

/// Parses a body that must be a JSON object into `T`, whose fields are `Option<Value>` read with
/// [`present`]: `None` when absent, `Some(Value::Null)` when `null`. Duplicate keys are refused.
pub(crate) fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(Error::refuse_body(
            Rule::BodyNotObject,
            "Request body must be a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        // Every field is read as a raw `Value`, so the only data error left is a repeated key.
        let rule = if e.classify() == serde_json::error::Category::Data {
            Rule::DuplicateKey
        } else {
            Rule::InvalidJson
        };
        Error::refuse_body(rule, format!("Invalid JSON body: {e}"))
    })
}

/// Reads a field that is present (possibly `null`); with `#[serde(default)]`, an absent field
/// stays `None`. serde's own `Option` would read `null` as absent too.
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Whether a required field is missing: absent, or `null` (no required field is nullable).
pub(crate) fn is_missing(value: &Option<Value>) -> bool {
    matches!(value, None | Some(Value::Null))
}

/// A string field that is not nullable: `Ok(None)` when absent, an error naming it when `null`
/// or of another type.
pub(crate) fn string_field(name: FieldName, value: Option<Value>) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::refuse(
            Rule::WrongType,
            name,
            format!("{name} must be a string"),
        )),
    }
}

/// A string field the schema makes nullable: `null` reads as absent.
pub(crate) fn nullable_string_field(
    name: FieldName,
    value: Option<Value>,
) -> Result<Option<String>> {
    match value {
        Some(Value::Null) => Ok(None),
        other => string_field(name, other),
    }
}

/// [`required`] for a raw JSON field: absent and `null` are both missing.
pub(crate) fn require_present(name: FieldName, value: &Option<Value>) -> Result<()> {
    required(name, value.as_ref().filter(|v| !v.is_null())).map(drop)
}

/// Checks a free-text identifier: not empty, at most [`MAX_ID_CHARS`] characters, no control
/// characters.
pub(crate) fn check_id(name: &str, field: FieldName, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::refuse(
            Rule::Empty,
            field,
            format!("{name} must not be empty"),
        ));
    }
    if value.len() > MAX_ID_CHARS * 4 || value.chars().count() > MAX_ID_CHARS {
        return Err(Error::refuse(
            Rule::TooLong,
            field,
            format!("{name} must be at most {MAX_ID_CHARS} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::refuse(
            Rule::InvalidId,
            field,
            format!("{name} must not contain control characters"),
        ));
    }
    Ok(())
}

/// `Missing required fields: a, b` (v2 supplier style, all at once).
pub(crate) fn missing_all(missing: Vec<FieldName>) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    let message = format!("Missing required fields: {}", missing.join(", "));
    Err(Error::Validation(Refusal::several(
        Rule::MissingField,
        missing,
        message,
    )))
}

/// `a is required` (v2 manufacturer and v1 style, one at a time).
pub(crate) fn required<T>(name: FieldName, value: Option<T>) -> Result<T> {
    value.ok_or_else(|| Error::refuse(Rule::MissingField, name, format!("{name} is required")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "present")]
        a: Option<Value>,
    }

    #[test]
    fn only_objects_are_bodies() {
        for body in [&b""[..], b"  ", b"[]", b"\"a\"", b"null", b"1"] {
            let err = parse_object::<Probe>(body).unwrap_err();
            assert_eq!(err.message(), "Request body must be a JSON object");
        }
        let null: Probe = parse_object(br#" {"a": null} "#).unwrap();
        assert_eq!(null.a, Some(Value::Null));
        assert_eq!(parse_object::<Probe>(b" {} ").unwrap().a, None);
        assert!(string_field("a", Some(Value::Null)).is_err());
        assert_eq!(nullable_string_field("a", Some(Value::Null)).unwrap(), None);
        let dup = parse_object::<Probe>(br#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(
            dup.message()
                .starts_with("Invalid JSON body: duplicate field `a`"),
            "{dup}"
        );
        assert!(parse_object::<Probe>(b"{\"a\": \"\xff\"}").is_err());
    }

    #[test]
    fn ids_are_bounded_and_printable() {
        assert!(check_id("user_id", "user_id", "u-1 é").is_ok());
        assert!(check_id("user_id", "user_id", &"é".repeat(255)).is_ok());
        let cases = [
            ("", "user_id must not be empty"),
            ("a\u{0}b", "user_id must not contain control characters"),
            ("a\nb", "user_id must not contain control characters"),
        ];
        for (value, message) in cases {
            assert_eq!(
                check_id("user_id", "user_id", value).unwrap_err().message(),
                message
            );
        }
        assert_eq!(
            check_id("user_id", "user_id", &"x".repeat(256))
                .unwrap_err()
                .message(),
            "user_id must be at most 255 characters"
        );
    }
}
