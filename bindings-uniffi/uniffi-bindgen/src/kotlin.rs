//! Two changes to the Kotlin uniffi generates, applied to every `.kt` file under the output
//! directory. Each is checked: if a newer uniffi writes the code differently, generation fails
//! instead of silently producing the old behaviour.
//!
//! 1. **`message` of every exception is its message.** uniffi makes a Kotlin exception of a Rust
//!    error enum whose variants carry fields, and fills its `message` with `field=value, ...`
//!    (the empty string for a variant without fields, such as `NoxException.MissingApiKey`).
//!    Every error of this binding exports its Rust `Display` (the core's message) as
//!    `toString()`; `message` is made to return that.
//! 2. **A lone surrogate is a `NoxException`.** Kotlin strings are UTF-16 and may hold a
//!    surrogate without its pair, which UTF-8 (and so Rust) cannot hold. uniffi's string
//!    lowering then throws `java.nio.charset.MalformedInputException` before the call reaches
//!    the library; it is made to throw the core's `NoxException.InvalidArgument` (argument
//!    `string`, code `invalid_argument`) instead.

use std::fs;
use std::io;
use std::path::Path;

/// The getter uniffi writes for the `message` of an error variant with fields.
const MESSAGE_PROPERTY: &str = "override val message";
const MESSAGE_GETTER: &str = "get() = \"";
const MESSAGE_FROM_DISPLAY: &str = "get() = toString()";

/// uniffi's UTF-8 encoding of a string argument, which throws on a lone surrogate.
const ENCODE: &str = "            encode(CharBuffer.wrap(value))\n";
const ENCODE_OR_REFUSE: &str = "            try {
                encode(CharBuffer.wrap(value))
            } catch (e: java.nio.charset.CharacterCodingException) {
                throw energy.nox.authenticator.core.NoxException.InvalidArgument(
                    \"string\",
                    \"a string argument is not well-formed UTF-16: it holds a lone surrogate\"
                )
            }
";

/// Patches every Kotlin file under `dir`; an error if a change found nothing to change.
pub fn patch_dir(dir: &Path) -> io::Result<()> {
    let mut files = Vec::new();
    collect_kotlin(dir, &mut files)?;
    let mut messages = 0;
    let mut encoders = 0;
    for file in &files {
        let source = fs::read_to_string(file)?;
        let (patched, message_count) = messages_from_display(&source);
        let (patched, encoder_count) = refuse_lone_surrogates(&patched)?;
        messages += message_count;
        encoders += encoder_count;
        if patched != source {
            fs::write(file, patched)?;
        }
    }
    if files.is_empty() || messages == 0 || encoders != files.len() {
        return Err(io::Error::other(format!(
            "the generated Kotlin does not look as expected ({} files, {messages} message \
             getters, {encoders} string encoders): check the patches in uniffi-bindgen/src/kotlin.rs \
             against this uniffi version",
            files.len()
        )));
    }
    Ok(())
}

fn collect_kotlin(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_kotlin(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "kt") {
            files.push(path);
        }
    }
    files.sort();
    Ok(())
}

/// Change 1: each `override val message` getter of an error variant returns `toString()`.
fn messages_from_display(source: &str) -> (String, usize) {
    let mut out = String::with_capacity(source.len());
    let mut count = 0;
    let mut after_property = false;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if after_property && trimmed.starts_with(MESSAGE_GETTER) {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(indent);
            out.push_str(MESSAGE_FROM_DISPLAY);
            out.push('\n');
            count += 1;
        } else {
            out.push_str(line);
        }
        after_property = trimmed.trim_end() == MESSAGE_PROPERTY;
    }
    (out, count)
}

/// Change 2: the string encoder throws `NoxException.InvalidArgument` on a lone surrogate.
fn refuse_lone_surrogates(source: &str) -> io::Result<(String, usize)> {
    match source.matches(ENCODE).count() {
        0 => Ok((source.to_owned(), 0)),
        1 => Ok((source.replacen(ENCODE, ENCODE_OR_REFUSE, 1), 1)),
        more => Err(io::Error::other(format!(
            "{more} string encoders in one generated file, expected one"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_getters_return_the_display_text() {
        let source = "    class Store(\n        val `reason`: kotlin.String\n    ) : NoxException() {\n        override val message\n            get() = \"reason=${ `reason` }\"\n    }\n";
        let (patched, count) = messages_from_display(source);
        assert_eq!(count, 1);
        assert!(patched.contains("            get() = toString()\n"));
        assert!(!patched.contains("reason=${"));
        // Another property's getter is left alone.
        let other = "    val x\n        get() = \"x\"\n";
        assert_eq!(messages_from_display(other), (other.to_owned(), 0));
    }

    #[test]
    fn the_string_encoder_refuses_lone_surrogates() {
        let source = format!("fun toUtf8(value: String): ByteBuffer {{\n{ENCODE}}}\n");
        let (patched, count) = refuse_lone_surrogates(&source).unwrap_or_default();
        assert_eq!(count, 1);
        assert!(patched.contains("core.NoxException.InvalidArgument("));
        let twice = format!("{ENCODE}{ENCODE}");
        assert!(refuse_lone_surrogates(&twice).is_err());
    }
}
