//! `POST /manufacturers/nox` (deprecated v1): a manufacturer connects one of its users to NOX.
//!
//! Required: `manufacturer_user_id`. Optional: `device_ids`, an array of strings. The call is
//! idempotent per (manufacturer, `manufacturer_user_id`): the same `nox_user_id` comes back every
//! time, and device ids are merged (union, first-seen order), never dropped (spec decision 8).

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result, Rule};
use crate::request::{
    MAX_DEVICE_IDS, check_id, parse_object, present, require_present, required, string_field,
};

/// The request as given, every field optional and unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct V1ConnectInput {
    /// The manufacturer's id for the user.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub manufacturer_user_id: Option<String>,
    /// Device ids to associate.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub device_ids: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "present")]
    manufacturer_user_id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    device_ids: Option<Value>,
}

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct V1ConnectRequest {
    /// The manufacturer's id for the user.
    pub manufacturer_user_id: String,
    /// Device ids to associate, duplicates removed, in first-seen order.
    pub device_ids: Vec<String>,
}

impl V1ConnectInput {
    /// Reads a JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let raw: Raw = parse_object(body)?;
        require_present("manufacturer_user_id", &raw.manufacturer_user_id)?;
        let device_ids = match raw.device_ids {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s),
                        _ => Err(not_string_array()),
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(_) => return Err(not_string_array()),
        };
        Ok(V1ConnectInput {
            manufacturer_user_id: string_field("manufacturer_user_id", raw.manufacturer_user_id)?,
            device_ids,
        })
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<V1ConnectRequest> {
        let user_id = required("manufacturer_user_id", self.manufacturer_user_id.as_ref())?;
        check_id("manufacturer_user_id", "manufacturer_user_id", user_id)?;
        let given = self.device_ids.as_deref().unwrap_or_default();
        if given.len() > MAX_DEVICE_IDS {
            return Err(Error::refuse(
                Rule::TooManyDeviceIds,
                "device_ids",
                format!("device_ids must have at most {MAX_DEVICE_IDS} items"),
            ));
        }
        for (index, id) in given.iter().enumerate() {
            check_id(&format!("device_ids[{index}]"), "device_ids", id)?;
        }
        Ok(V1ConnectRequest {
            manufacturer_user_id: user_id.clone(),
            device_ids: new_device_ids(&[], given).into_iter().cloned().collect(),
        })
    }
}

/// The ids of `given` that are not in `known`, each once, in first-seen order: the one rule
/// for device ids, used to read a request (nothing known) and to add it to a subscriber.
pub(crate) fn new_device_ids<'a>(known: &[String], given: &'a [String]) -> Vec<&'a String> {
    let mut seen: std::collections::HashSet<&str> = known.iter().map(String::as_str).collect();
    given.iter().filter(|id| seen.insert(id.as_str())).collect()
}

fn not_string_array() -> Error {
    Error::refuse(
        Rule::WrongType,
        "device_ids",
        "device_ids must be an array of strings",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<V1ConnectRequest> {
        V1ConnectInput::from_json(body.as_bytes())?.validate()
    }

    #[test]
    fn device_ids_are_checked_and_deduplicated() {
        let r = check(r#"{"manufacturer_user_id": "m1", "device_ids": ["a", "b", "a"]}"#).unwrap();
        assert_eq!(r.device_ids, ["a", "b"]);
        let r = check(r#"{"manufacturer_user_id": "m1"}"#).unwrap();
        assert!(r.device_ids.is_empty());
        let cases = [
            (r#"{}"#, "manufacturer_user_id is required"),
            (
                r#"{"manufacturer_user_id": 3}"#,
                "manufacturer_user_id must be a string",
            ),
            (
                r#"{"manufacturer_user_id": "m", "device_ids": "a"}"#,
                "device_ids must be an array of strings",
            ),
            (
                r#"{"manufacturer_user_id": "m", "device_ids": ["a", 1]}"#,
                "device_ids must be an array of strings",
            ),
            (
                r#"{"manufacturer_user_id": "m", "device_ids": ["a", ""]}"#,
                "device_ids[1] must not be empty",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(check(body).unwrap_err().message(), message, "{body}");
        }
        let many = format!(
            r#"{{"manufacturer_user_id": "m", "device_ids": [{}]}}"#,
            vec!["\"d\""; 101].join(",")
        );
        assert_eq!(
            check(&many).unwrap_err().message(),
            "device_ids must have at most 100 items"
        );
    }
}
