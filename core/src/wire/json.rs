//! The response bodies' bytes: the same derives drive this writer as drive `serde_json`, and
//! it writes the same bytes (the tests compare the two on every body and on hostile strings),
//! only faster where the bodies spend their time: strings that need no escaping (tokens, URLs,
//! ids, the field names) are found with one branch-free pass and copied whole, where
//! `serde_json` looks each byte up in a table and branches on it.
//!
//! It knows what the bodies are made of (structs, strings, integers, booleans, options, unit
//! enum variants, sequences); anything else makes [`to_vec`] fall back to `serde_json`, so a
//! body that grows a float or a map stays correct, only slower.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// `value` as compact JSON, byte for byte as `serde_json::to_vec` writes it.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Room for a session body at once (they are 300 to 500 bytes), not grown by doubling.
    let mut out = Vec::with_capacity(512);
    match value.serialize(Writer { out: &mut out }) {
        Ok(()) => out,
        Err(Unsupported) => serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// A value this writer leaves to `serde_json`.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value the fast JSON writer leaves to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// Writes `text` as a JSON string, escaped as `serde_json` escapes it: `\"`, `\\`, the short
/// escapes `\b \t \n \f \r`, `\u00XX` (lowercase hex) for the other control characters, and
/// everything else (0x7f and non-ASCII included) as it is.
fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // The bodies' strings almost never need escaping: the common case is one pass over the
    // string eight bytes at a time, and one copy.
    if needs_escape(bytes) {
        write_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

/// Whether any byte is a control character, `"` or `\\`: eight bytes at a time (the classic
/// "has a byte less than n" and "has a zero byte" word tricks, exact as a yes or no).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_less_than = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let has = |word: u64, b: u8| has_less_than(word ^ (ONES * u64::from(b)), 1);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        if has_less_than(word, 0x20) | has(word, b'"') | has(word, b'\\') != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let hex = |n: u8| if n < 10 { b'0' + n } else { b'a' + n - 10 };
    for &b in bytes {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0a => b'n',
            0x0c => b'f',
            0x0d => b'r',
            0x00..=0x1f => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b & 0xf)]);
                continue;
            }
            _ => {
                out.push(b);
                continue;
            }
        };
        out.extend_from_slice(&[b'\\', short]);
    }
}

fn write_u64(out: &mut Vec<u8>, mut value: u64) {
    // The digits from the last, then turned around in place.
    let begin = out.len();
    loop {
        out.push(b'0' + u8::try_from(value % 10).unwrap_or(0));
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if let Some(digits) = out.get_mut(begin..) {
        digits.reverse();
    }
}

fn write_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    write_u64(out, value.unsigned_abs());
}

/// The serializer: writes into `out`.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// A struct or a sequence being written: whether an element came before (for the commas).
struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Compound<'_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.out.push(b',');
        }
    }
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        write_i64(self.out, v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        write_u64(self.out, v);
        Ok(())
    }

    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_char(self, _: char) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        self.out.push(b'[');
        Ok(Compound {
            out: self.out,
            first: true,
        })
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Unsupported> {
        self.out.push(b'{');
        Ok(Compound {
            out: self.out,
            first: true,
        })
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.comma();
        value.serialize(Writer { out: self.out })
    }

    fn end(self) -> Result<(), Unsupported> {
        self.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.comma();
        write_str(self.out, key);
        self.out.push(b':');
        value.serialize(Writer { out: self.out })
    }

    fn end(self) -> Result<(), Unsupported> {
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Serialize;

    use super::to_vec;

    #[derive(Serialize)]
    struct Everything<'a> {
        text: &'a str,
        number: i64,
        unsigned: u64,
        flag: bool,
        absent: Option<&'a str>,
        present: Option<i64>,
        list: Vec<&'a str>,
        nested: Nested<'a>,
        variant: Kind,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<bool>,
    }

    #[derive(Serialize)]
    struct Nested<'a> {
        inner: &'a str,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        SomeKind,
    }

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Either<'a> {
        Left(Nested<'a>),
    }

    fn same<T: Serialize>(value: &T) {
        assert_eq!(
            String::from_utf8(to_vec(value)).unwrap(),
            serde_json::to_string(value).unwrap()
        );
    }

    #[test]
    fn writes_what_serde_json_writes() {
        same(&Everything {
            text: "a \"quoted\" \\ back\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f} é 🦀",
            number: i64::MIN,
            unsigned: u64::MAX,
            flag: false,
            absent: None,
            present: Some(0),
            list: vec!["x", "", "y\n"],
            nested: Nested { inner: "in" },
            variant: Kind::SomeKind,
            skipped: None,
        });
        same(&Either::Left(Nested { inner: "left" }));
        same(&Vec::<i64>::new());
        same(&[i64::MAX, -1, 10, 1_703_123_456]);
    }

    #[test]
    fn leaves_what_it_does_not_know_to_serde_json() {
        same(&1.5_f64);
        same(&std::collections::BTreeMap::from([("k", 1)]));
        same(&('c', 2));
    }

    /// Every body the HTTP adapter answers with, with strings a caller controls made hostile:
    /// the same bytes as `serde_json`.
    #[test]
    fn every_documented_body_is_written_as_serde_json_writes_it() {
        use crate::catalog::AssetType;
        use crate::error::Error;
        use crate::language::Language;
        use crate::session::{LinkSession, SessionKind};
        use crate::store::Subscriber;
        use crate::token::{LinkToken, SeededRandom};
        use crate::wire::{
            AdminSessionBody, SessionBody, V1ConnectData, V1Envelope, V1ErrorBody, V2ErrorBody,
        };

        let hostile = "u\"s\\er\u{1}\n\u{7f}é\u{2028}🦀";
        for kind in [
            SessionKind::V2Supplier,
            SessionKind::V2Manufacturer,
            SessionKind::V1Supplier,
        ] {
            for (brand, completed_at) in [(None, None), (Some("alpha-innotec"), Some(-5))] {
                let session = LinkSession {
                    token: LinkToken::generate(&SeededRandom::new(7)).unwrap(),
                    kind,
                    owner_id: format!("owner {hostile}"),
                    owner_name: format!("Acme {hostile}"),
                    user_id: hostile.to_owned(),
                    redirect_url: "https://your-app.com/callback?a=\"b\"".to_owned(),
                    language: Language::Fr,
                    asset_type: Some(AssetType::HeatPump),
                    brand: brand.map(str::to_owned),
                    link_url: "https://auth.nox.energy/ui?token=t&language=fr".to_owned(),
                    created_at: 1_703_123_456,
                    expires_at: 1_703_124_056,
                    completed_at,
                };
                same(&SessionBody::new(&session));
                same(&V1Envelope::new(SessionBody::new(&session), 1_703_123_456));
                same(&AdminSessionBody::new(&session, 1_703_123_500));
            }
        }
        let subscriber = Subscriber {
            manufacturer_id: "nox".to_owned(),
            manufacturer_user_id: hostile.to_owned(),
            nox_user_id: "2319a819-0000-4000-8000-000000000000".to_owned(),
            device_ids: vec![hostile.to_owned(), String::new(), "d2".to_owned()],
        };
        same(&V1Envelope::new(V1ConnectData::new(&subscriber), 0));
        let error = Error::SessionExpired { expires_at: 9 };
        same(&V2ErrorBody::new(&error));
        same(&V1ErrorBody::new(&error, -1));
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(text in any::<String>()) {
            same(&text);
        }

        #[test]
        fn any_control_heavy_string_too(text in "[\\x00-\\x3f\\\\\"a-z\\x7f\u{80}-\u{10ffff}]{0,64}") {
            same(&text);
        }

        #[test]
        fn any_integer_is_written_as_serde_json_writes_it(signed: i64, unsigned: u64) {
            same(&signed);
            same(&unsigned);
        }
    }
}
