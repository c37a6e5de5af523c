//! Reading the arguments of the session calls: what the JavaScript half of each call
//! (`adapter.js`) took out of the option object, one positional value per option.
//!
//! Only types are checked here, as Node's own APIs check them: a wrong type throws a `TypeError`
//! with `code` `ERR_INVALID_ARG_TYPE`, a `now` that is not a whole number of seconds from 0 to
//! 253402300799 (spec decision 18) a `RangeError` with `code` `ERR_OUT_OF_RANGE`, each naming
//! the option (`options.userId`).
//! Whether a value is acceptable is the core's business.

use napi::JsString;
use napi::bindgen_prelude::{Array, FromNapiValue, JsObjectValue, JsValue, Object, Unknown};
use napi::{Env, Status, ValueType};

/// The arguments of one call: where errors come from.
pub(crate) struct Args<'env> {
    env: &'env Env,
    method: &'static str,
}

impl<'env> Args<'env> {
    /// Arguments of `method` (its JavaScript name, for messages).
    pub(crate) fn new(env: &'env Env, method: &'static str) -> Args<'env> {
        Args { env, method }
    }

    /// An optional string option: `undefined` is absent; anything but a string is refused, and
    /// so is a string with a lone surrogate (which UTF-8 cannot hold: napi would turn it into
    /// U+FFFD, so that two different ids would be stored as one).
    pub(crate) fn string(&self, value: Unknown, option: &str) -> napi::Result<Option<String>> {
        match value.get_type()? {
            ValueType::Undefined => Ok(None),
            ValueType::String => {
                let string = String::from_unknown(value)?;
                // napi writes U+FFFD for a lone surrogate: only then look at the UTF-16 itself.
                if string.contains('\u{FFFD}') && has_lone_surrogate(value)? {
                    return Err(self.invalid_value(
                        option,
                        "must be well-formed Unicode, not contain a lone surrogate",
                    ));
                }
                Ok(Some(string))
            }
            other => Err(self.type_error(option, "a string", other)),
        }
    }

    /// A required string argument, checked as [`Args::string`].
    pub(crate) fn required_string(&self, value: Unknown, name: &str) -> napi::Result<String> {
        let kind = value.get_type()?;
        self.string(value, name)?
            .ok_or_else(|| self.type_error(name, "a string", kind))
    }

    /// An object argument (not `null`).
    pub(crate) fn object<'v>(&self, value: Unknown<'v>, name: &str) -> napi::Result<Object<'v>> {
        let kind = value.get_type()?;
        if kind != ValueType::Object {
            return Err(self.type_error(name, "an object", kind));
        }
        Object::from_unknown(value)
    }

    /// A handle or count: a whole number from 0 to 4294967295.
    pub(crate) fn u32(&self, value: Unknown, name: &str) -> napi::Result<u32> {
        let kind = value.get_type()?;
        if kind != ValueType::Number {
            return Err(self.type_error(name, "a number", kind));
        }
        let number = f64::from_unknown(value)?;
        if number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number) {
            // In range and whole: the conversion is exact.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Ok(number as u32);
        }
        let message = format!(
            "{}: {name} must be a whole number from 0 to {}, got {}",
            self.method,
            u32::MAX,
            js_number(number)
        );
        Err(thrown(
            self.env
                .throw_range_error(&message, Some("ERR_OUT_OF_RANGE")),
            message,
        ))
    }

    /// `AuthenticatorOptions`: absent, `null` or `{ seed }` with `seed` a safe integer.
    pub(crate) fn build_options(
        &self,
        options: Option<Unknown>,
        name: &str,
    ) -> napi::Result<Option<i64>> {
        let Some(options) = options else {
            return Ok(None);
        };
        match options.get_type()? {
            ValueType::Undefined | ValueType::Null => Ok(None),
            ValueType::Object => {
                let object = Object::from_unknown(options)?;
                let seed: Unknown = object.get_named_property("seed")?;
                let at = format!("{name}.seed");
                match seed.get_type()? {
                    ValueType::Undefined | ValueType::Null => Ok(None),
                    ValueType::Number => {
                        let number = f64::from_unknown(seed)?;
                        // A safe integer: every one converts exactly.
                        if number.fract() == 0.0 && number.abs() <= 9_007_199_254_740_991.0 {
                            #[allow(clippy::cast_possible_truncation)]
                            return Ok(Some(number as i64));
                        }
                        let message = format!(
                            "{}: {at} must be a safe integer, got {}",
                            self.method,
                            js_number(number)
                        );
                        Err(thrown(
                            self.env
                                .throw_range_error(&message, Some("ERR_OUT_OF_RANGE")),
                            message,
                        ))
                    }
                    other => Err(self.type_error(&at, "a number", other)),
                }
            }
            other => Err(self.type_error(name, "an object", other)),
        }
    }

    /// An optional boolean option (`undefined` is absent).
    pub(crate) fn bool(&self, value: Unknown, name: &str) -> napi::Result<Option<bool>> {
        match value.get_type()? {
            ValueType::Undefined => Ok(None),
            ValueType::Boolean => Ok(Some(bool::from_unknown(value)?)),
            other => Err(self.type_error(name, "a boolean", other)),
        }
    }

    /// HTTP headers: `undefined`/`null` (none), `[name, value]` pairs, or an object as
    /// `req.headers` of `node:http` (a value may be an array; `undefined` is skipped). Every
    /// name and value is a string checked as [`Args::string`].
    pub(crate) fn headers(
        &self,
        value: Unknown,
        name: &str,
    ) -> napi::Result<Vec<(String, String)>> {
        let kind = value.get_type()?;
        let expected = "an object or an array of [name, value] pairs";
        match kind {
            ValueType::Undefined | ValueType::Null => Ok(Vec::new()),
            ValueType::Object if value.is_array()? => {
                let array = Array::from_unknown(value)?;
                let mut pairs = Vec::with_capacity(array.len().min(1024) as usize);
                for index in 0..array.len() {
                    let at = format!("{name}[{index}]");
                    let pair: Unknown = array.get(index)?.ok_or_else(vanished)?;
                    if pair.get_type()? != ValueType::Object || !pair.is_array()? {
                        return Err(self.type_error(&at, "a [name, value] pair", pair.get_type()?));
                    }
                    let pair = Array::from_unknown(pair)?;
                    if pair.len() != 2 {
                        return Err(self.type_error(
                            &at,
                            "a [name, value] pair",
                            ValueType::Object,
                        ));
                    }
                    let header: Unknown = pair.get(0)?.ok_or_else(vanished)?;
                    let text: Unknown = pair.get(1)?.ok_or_else(vanished)?;
                    pairs.push((
                        self.required_string(header, &format!("{at}[0]"))?,
                        self.required_string(text, &format!("{at}[1]"))?,
                    ));
                }
                Ok(pairs)
            }
            ValueType::Object => {
                let object = Object::from_unknown(value)?;
                let mut pairs = Vec::new();
                for header in Object::keys(&object)? {
                    let at = format!("{name}[{header:?}]");
                    if header.contains('\u{FFFD}') {
                        return Err(self.invalid_value(
                            &at,
                            "must be well-formed Unicode, not contain a lone surrogate",
                        ));
                    }
                    let text: Unknown = object.get_named_property(&header)?;
                    match text.get_type()? {
                        ValueType::Undefined => {}
                        ValueType::Object if text.is_array()? => {
                            for text in self.strings(text, &at)?.unwrap_or_default() {
                                pairs.push((header.clone(), text));
                            }
                        }
                        _ => pairs.push((header.clone(), self.required_string(text, &at)?)),
                    }
                }
                Ok(pairs)
            }
            other => Err(self.type_error(name, expected, other)),
        }
    }

    /// A value of the right type that is not acceptable: a `TypeError` with `code`
    /// `ERR_INVALID_ARG_VALUE`, as Node's own APIs throw.
    pub(crate) fn invalid_value(&self, option: &str, what: &str) -> napi::Error {
        let message = format!("{}: {option} {what}", self.method);
        thrown(
            self.env
                .throw_type_error(&message, Some("ERR_INVALID_ARG_VALUE")),
            message,
        )
    }

    /// An optional array of strings.
    pub(crate) fn strings(
        &self,
        value: Unknown,
        option: &str,
    ) -> napi::Result<Option<Vec<String>>> {
        let kind = value.get_type()?;
        if kind == ValueType::Undefined {
            return Ok(None);
        }
        if kind != ValueType::Object || !value.is_array()? {
            return Err(self.type_error(option, "an array of strings", kind));
        }
        let array = Array::from_unknown(value)?;
        let mut strings = Vec::with_capacity(array.len().min(1024) as usize);
        for index in 0..array.len() {
            let item: Unknown = array.get(index)?.ok_or_else(vanished)?;
            match self.string(item, &format!("{option}[{index}]"))? {
                Some(string) => strings.push(string),
                None => {
                    return Err(self.type_error(
                        &format!("{option}[{index}]"),
                        "a string",
                        ValueType::Undefined,
                    ));
                }
            }
        }
        Ok(Some(strings))
    }

    /// `now` in Unix seconds: a whole number (a safe integer), or the system clock when
    /// `undefined`.
    pub(crate) fn now(&self, value: Unknown, option: &str) -> napi::Result<i64> {
        match value.get_type()? {
            ValueType::Undefined => Ok(nox_authenticator::system_now()),
            ValueType::Number => self.seconds(Some(f64::from_unknown(value)?), option),
            other => Err(self.type_error(option, "a number", other)),
        }
    }

    /// `{ now }` (`NowOptions`): absent, `null` or an object whose `now` is absent means the
    /// system clock; anything else is checked as [`Args::now`].
    pub(crate) fn now_options(&self, options: Option<Unknown>) -> napi::Result<i64> {
        let Some(options) = options else {
            return Ok(nox_authenticator::system_now());
        };
        match options.get_type()? {
            ValueType::Undefined | ValueType::Null => Ok(nox_authenticator::system_now()),
            ValueType::Object => {
                let object = Object::from_unknown(options)?;
                self.now(object.get_named_property("now")?, "options.now")
            }
            other => Err(self.type_error("options", "an object", other)),
        }
    }

    /// `now` already read as a number (from a `{ now }` option object), checked as [`Args::now`].
    pub(crate) fn seconds(&self, now: Option<f64>, option: &str) -> napi::Result<i64> {
        let Some(number) = now else {
            return Ok(nox_authenticator::system_now());
        };
        // Spec decision 18: whole seconds from 0 to the end of year 9999 (all safe integers).
        if let Ok(seconds) = nox_authenticator::check_now_f64(number) {
            return Ok(seconds);
        }
        let message = format!(
            "{}: {option} must be a whole number of seconds from 0 to {}, got {}",
            self.method,
            nox_authenticator::MAX_NOW,
            js_number(number)
        );
        Err(thrown(
            self.env
                .throw_range_error(&message, Some("ERR_OUT_OF_RANGE")),
            message,
        ))
    }

    pub(crate) fn type_error(&self, option: &str, expected: &str, got: ValueType) -> napi::Error {
        let message = format!(
            "{}: {option} must be {expected}, got {}",
            self.method,
            type_name(got)
        );
        thrown(
            self.env
                .throw_type_error(&message, Some("ERR_INVALID_ARG_TYPE")),
            message,
        )
    }
}

/// An array element that `length` promised is not there (the array changed under us).
fn vanished() -> napi::Error {
    napi::Error::new(Status::GenericFailure, "array element vanished")
}

/// Whether a JavaScript string holds a UTF-16 surrogate without its pair.
fn has_lone_surrogate(value: Unknown) -> napi::Result<bool> {
    let utf16 = JsString::from_unknown(value)?.into_utf16()?;
    // The buffer napi fills ends with a NUL terminator.
    let units = utf16.as_slice();
    let units = units.strip_suffix(&[0]).unwrap_or(units);
    Ok(char::decode_utf16(units.iter().copied()).any(|c| c.is_err()))
}

/// The error to return once an exception is pending: napi-rs then leaves the pending one alone.
/// If throwing itself failed, the message still reaches JavaScript as a plain `Error`.
fn thrown(throw: napi::Result<()>, message: String) -> napi::Error {
    match throw {
        Ok(()) => napi::Error::new(Status::PendingException, message),
        Err(_) => napi::Error::new(Status::InvalidArg, message),
    }
}

/// A number as JavaScript's `String(number)` spells it, for messages.
fn js_number(number: f64) -> String {
    if number.is_nan() {
        "NaN".to_owned()
    } else if number.is_infinite() {
        if number > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_owned()
    } else if number != 0.0 && !(1e-6..1e21).contains(&number.abs()) {
        let text = format!("{number:e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        }
    } else {
        number.to_string()
    }
}

/// `typeof`, as JavaScript spells it (with `null` named apart).
fn type_name(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "boolean",
        ValueType::Number => "number",
        ValueType::String => "string",
        ValueType::Symbol => "symbol",
        ValueType::Object => "object",
        ValueType::Function => "function",
        ValueType::External => "external",
        ValueType::BigInt => "bigint",
        _ => "unknown",
    }
}
