//! Structured inputs: enough shape that the fuzzer reaches past routing and authentication,
//! with a raw escape hatch at every level so no byte sequence is out of reach.

use arbitrary::Arbitrary;
use serde_json::{Map, Value};

/// Strings the fuzzer would take long to guess: keys, registered URLs (and near misses),
/// brands, languages, asset types.
pub const DICTIONARY: &[&str] = &[
    "supplier-key-acme",
    "supplier-key-empty",
    "manufacturer-key-acme",
    "manufacturer-key-disabled",
    "https://your-app.com/callback",
    "https://your-app.com/callback?source=nox",
    "http://127.0.0.1/callback",
    "http://127.0.0.1:49152/callback",
    "http://[::1]:8080/cb",
    "http://[::1]/cb",
    "https://heat.acme.example/nox/done",
    "http://127.0.0.1:9/m",
    "http://127.0.0.1:65535/m",
    "https://YOUR-app.com/callback",
    "https://your-app.com:443/callback",
    "https://your-app.com/callback#x",
    "https://user@your-app.com/callback",
    "javascript:alert(1)",
    "hp",
    "pv",
    "nl",
    "en",
    "fr",
    "es",
    "FR",
    "de",
    "alpha innotec",
    "alpha-innotec",
    "Saunier_Duval",
    "daikin",
    "sma",
    "bosch",
    "victron",
    "user_123",
    "",
    " ",
];

/// A string: from the dictionary, or anything.
#[derive(Debug, Arbitrary)]
pub enum Text {
    Known(u8),
    Raw(String),
}

impl Text {
    pub fn get(&self) -> String {
        match self {
            Text::Known(i) => DICTIONARY
                .get(usize::from(*i) % DICTIONARY.len())
                .copied()
                .unwrap_or_default()
                .to_owned(),
            Text::Raw(s) => s.clone(),
        }
    }
}

/// A JSON value for a request field.
#[derive(Debug, Arbitrary)]
pub enum FieldValue {
    Str(Text),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Strings(Vec<Text>),
    Object(Vec<(Text, Text)>),
}

impl FieldValue {
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Str(t) => Value::String(t.get()),
            FieldValue::Int(i) => Value::from(*i),
            FieldValue::Float(f) => Value::from(*f),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Null => Value::Null,
            FieldValue::Strings(items) => {
                Value::Array(items.iter().map(|t| Value::String(t.get())).collect())
            }
            FieldValue::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.get(), Value::String(v.get())))
                    .collect(),
            ),
        }
    }
}

/// The field names of all four request bodies, and a raw one.
#[derive(Debug, Arbitrary, Clone, Copy)]
pub enum FieldName {
    UserId,
    RedirectUrl,
    RedirectUri,
    AssetType,
    Brand,
    Language,
    ManufacturerUserId,
    DeviceIds,
}

impl FieldName {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldName::UserId => "user_id",
            FieldName::RedirectUrl => "redirect_url",
            FieldName::RedirectUri => "redirect_uri",
            FieldName::AssetType => "asset_type",
            FieldName::Brand => "brand",
            FieldName::Language => "language",
            FieldName::ManufacturerUserId => "manufacturer_user_id",
            FieldName::DeviceIds => "device_ids",
        }
    }
}

/// A request body.
#[derive(Debug, Arbitrary)]
pub enum Body {
    /// A JSON object built from known and unknown fields (duplicates are kept: serialised by
    /// hand so that `{"a":1,"a":2}` can happen).
    Fields(Vec<(Option<FieldName>, Text, FieldValue)>),
    /// Any bytes.
    Raw(Vec<u8>),
}

impl Body {
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::Raw(bytes) => bytes.clone(),
            Body::Fields(fields) => {
                let mut out = String::from("{");
                for (i, (name, raw_name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let name = name.map_or_else(|| raw_name.get(), |n| n.as_str().to_owned());
                    out.push_str(&Value::String(name).to_string());
                    out.push(':');
                    out.push_str(&value.to_json().to_string());
                }
                out.push('}');
                out.into_bytes()
            }
        }
    }
}

/// The last value of each key of a JSON object body, as serde would see them (`None` when the
/// body is not an object).
pub fn body_fields(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}
