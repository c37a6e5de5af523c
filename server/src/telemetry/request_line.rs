//! The request line, written without tracing's general formatters.
//!
//! Every request logs one line (spec decision 14), so its formatting is on every request's
//! path: tracing-subscriber's `Full` format spends about 9,000 instructions on it (a `write!`
//! with three arguments per field, and the timestamp's calendar arithmetic per line), about a
//! tenth of a create through the server, and its JSON format more. [`RequestLines`] writes the
//! request line itself, the same bytes as the format it stands in front of (compared in the
//! tests below, hostile values included), with the timestamp's date and time of day formatted
//! once per second per thread, and hands every other event to that format unchanged:
//!
//! - text ([`Text`]): `…Z  INFO request request_id=… method=POST route="/v2/…" …`, as the
//!   `Full` format writes it;
//! - JSON ([`Json`]): `{"timestamp":"…Z","level":"INFO","message":"request","request_id":"…",…}`,
//!   as the JSON format writes it with `flatten_event(true)` and no target.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Datelike, Timelike};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The target (module) of the request line's event.
const TARGET: &str = "nox_authenticator_server::telemetry";

/// Log lines: the request line (outside any span) written as `L` writes it, every other event
/// by `other`, the format `L` stands in front of (configured as `init_logs` configures it).
pub(crate) struct RequestLines<F, L> {
    pub(crate) other: F,
    pub(crate) line: L,
}

/// How a [`RequestLines`] writes the request line: the whole line, its newline included.
pub(crate) trait WriteLine {
    fn write_line(&self, writer: &mut Writer<'_>, event: &Event<'_>) -> fmt::Result;
}

impl<S, N, F, L> FormatEvent<S, N> for RequestLines<F, L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
    L: WriteLine,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // Only the request line, outside any span (the formats add the spans to a line in one).
        if meta.target() == TARGET
            && meta.fields().field("request_id").is_some()
            && ctx.event_scope().is_none()
        {
            self.line.write_line(&mut writer, event)
        } else {
            self.other.format_event(ctx, writer, event)
        }
    }
}

/// The text request line, as the `Full` format writes it.
pub(crate) struct Text;

impl WriteLine for Text {
    fn write_line(&self, writer: &mut Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        write_timestamp(writer, SystemTime::now())?;
        // The level, right-aligned in five columns, as the `Full` format writes it.
        writer.write_str(match *meta.level() {
            Level::ERROR => "ERROR ",
            Level::WARN => " WARN ",
            Level::INFO => " INFO ",
            Level::DEBUG => "DEBUG ",
            Level::TRACE => "TRACE ",
        })?;
        let mut fields = Fields {
            writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes an event's fields as tracing-subscriber's default field formatter does: the message
/// as it is, then `name=value` separated by spaces, a string as its `Debug` form (quoted and
/// escaped), numbers and booleans as they are. A string that needs no escaping (printable
/// ASCII without `"` or `\`) is copied as it is; any other goes through `Debug`, as there.
struct Fields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    /// Starts a field: the separating space, and `name=` unless it is the message.
    fn name(&mut self, field: &Field) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        let name = field.name();
        if name == "message" {
            return Ok(());
        }
        self.writer
            .write_str(name.strip_prefix("r#").unwrap_or(name))?;
        self.writer.write_char('=')
    }

    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self.name(field).and_then(|()| value(self.writer));
        }
    }
}

/// Whether `text` is written the same by `Debug` between its quotes: printable ASCII other
/// than `"` and `\`.
fn plain(text: &str) -> bool {
    text.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let message = field.name() == "message";
        self.field(field, |w| {
            if message {
                w.write_str(value)
            } else if plain(value) {
                w.write_char('"')?;
                w.write_str(value)?;
                w.write_char('"')
            } else {
                write!(w, "{value:?}")
            }
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |w| write_integer(w, false, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| write_integer(w, value < 0, value.unsigned_abs()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, |w| write!(w, "{value:?}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| write!(w, "{value:?}"));
    }
}

/// The JSON request line (`--log-format json`), as the JSON format writes it with
/// `flatten_event(true)` and no target.
pub(crate) struct Json;

impl WriteLine for Json {
    fn write_line(&self, writer: &mut Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        write_time(writer, SystemTime::now())?;
        writer.write_str(match *meta.level() {
            Level::ERROR => "\",\"level\":\"ERROR\"",
            Level::WARN => "\",\"level\":\"WARN\"",
            Level::INFO => "\",\"level\":\"INFO\"",
            Level::DEBUG => "\",\"level\":\"DEBUG\"",
            Level::TRACE => "\",\"level\":\"TRACE\"",
        })?;
        let mut fields = JsonFields {
            writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str("}\n")
    }
}

/// Writes an event's fields as `,"name":value` pairs, as the JSON format does through
/// `serde_json`: strings escaped as `serde_json` escapes them (see [`Escaped`]), a `Debug`
/// or `Display` value as the string it formats to, integers and booleans as they are, a
/// float as `serde_json` writes it (`null` if it is not finite).
struct JsonFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl JsonFields<'_, '_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = (|| {
                self.writer.write_str(",\"")?;
                Escaped(self.writer).write_str(field.name())?;
                self.writer.write_str("\":")?;
                value(self.writer)
            })();
        }
    }
}

/// Escapes what is written into it as `serde_json` escapes a string's characters: `"` and
/// `\` with a backslash, the control characters below U+0020 as `\b`, `\t`, `\n`, `\f`, `\r`
/// or `\u00xx`; everything else (DEL and non-ASCII included) as it is.
struct Escaped<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut start = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                0x08 => "\\b",
                b'\t' => "\\t",
                b'\n' => "\\n",
                0x0c => "\\f",
                b'\r' => "\\r",
                0x00..=0x1f => "",
                _ => continue,
            };
            // `at` is an ASCII byte's index: a character boundary.
            self.0.write_str(text.get(start..at).unwrap_or_default())?;
            if escape.is_empty() {
                let high = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
                let low = HEX.get(usize::from(byte & 0xf)).copied().unwrap_or(b'0');
                self.0.write_str("\\u00")?;
                self.0.write_char(char::from(high))?;
                self.0.write_char(char::from(low))?;
            } else {
                self.0.write_str(escape)?;
            }
            start = at + 1;
        }
        self.0.write_str(text.get(start..).unwrap_or_default())
    }
}

impl Visit for JsonFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |w| {
            w.write_char('"')?;
            Escaped(w).write_str(value)?;
            w.write_char('"')
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |w| write_integer(w, false, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| write_integer(w, value < 0, value.unsigned_abs()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, |w| match serde_json::Number::from_f64(value) {
            Some(number) => write!(w, "{number}"),
            None => w.write_str("null"),
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{value:?}")?;
            w.write_char('"')
        });
    }
}

/// Writes an integer in decimal.
fn write_integer(writer: &mut Writer<'_>, negative: bool, magnitude: u64) -> fmt::Result {
    if negative {
        writer.write_char('-')?;
    }
    let mut digits = [0u8; 20];
    writer.write_str(decimal(magnitude, &mut digits))
}

/// `value` in decimal, in the end of `buffer`.
fn decimal(mut value: u64, buffer: &mut [u8; 20]) -> &str {
    let mut start = buffer.len();
    loop {
        start -= 1;
        // `value % 10` is below 10.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (value % 10) as u8;
        if let Some(slot) = buffer.get_mut(start) {
            *slot = b'0' + digit;
        }
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(buffer.get(start..).unwrap_or_default()).unwrap_or_default()
}

thread_local! {
    /// The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: RefCell<(u64, [u8; 19])> = const { RefCell::new((u64::MAX, [0; 19])) };
}

/// Writes `now` as tracing-subscriber's `SystemTime` timer does (RFC 3339 in UTC, with
/// microseconds: `2026-12-03T14:52:42.122668Z`), then a space.
fn write_timestamp(writer: &mut Writer<'_>, now: SystemTime) -> fmt::Result {
    write_time(writer, now)?;
    writer.write_char(' ')
}

/// `now` in RFC 3339, UTC, with microseconds (`2026-12-03T14:52:42.122668Z`).
fn write_time(writer: &mut Writer<'_>, now: SystemTime) -> fmt::Result {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let micros = since.subsec_micros();
    SECOND.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != seconds {
            *cache = (seconds, date_time(seconds));
        }
        writer.write_str(std::str::from_utf8(&cache.1).unwrap_or_default())
    })?;
    let mut digits = [0u8; 20];
    let fraction = decimal(u64::from(micros) + 1_000_000, &mut digits);
    // One million added: seven digits, the first a 1, for the six with their leading zeros.
    writer.write_char('.')?;
    writer.write_str(fraction.get(1..).unwrap_or_default())?;
    writer.write_str("Z")
}

/// `YYYY-MM-DDTHH:MM:SS` of `seconds` since the Unix epoch, in UTC.
fn date_time(seconds: u64) -> [u8; 19] {
    let mut text = *b"1970-01-01T00:00:00";
    let at = i64::try_from(seconds)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0));
    if let Some(at) = at {
        let formatted = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            at.year(),
            at.month(),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
        if let Ok(bytes) = <[u8; 19]>::try_from(formatted.as_bytes()) {
            text = bytes;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::fmt::format::{Format, Full};
    use tracing_subscriber::fmt::time::{FormatTime, SystemTime as Timer};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn format() -> Format<Full, Timer> {
        tracing_subscriber::fmt::format()
            .with_target(false)
            .with_ansi(false)
    }

    /// What `log` writes with the `Full` format and with [`RequestLines`] and [`Text`], each line's timestamp
    /// (its first 28 bytes) cut off.
    fn both(log: impl Fn()) -> (String, String) {
        let run = |lines: bool| {
            let buffer = Buffer::default();
            let builder = tracing_subscriber::fmt()
                .with_writer(buffer.clone())
                .with_max_level(tracing::Level::TRACE);
            if lines {
                let subscriber = builder
                    .event_format(RequestLines {
                        other: format(),
                        line: Text,
                    })
                    .finish();
                tracing::subscriber::with_default(subscriber, &log);
            } else {
                let subscriber = builder.event_format(format()).finish();
                tracing::subscriber::with_default(subscriber, &log);
            }
            let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|line| format!("{}\n", line.get(28..).unwrap_or_default()))
                .collect::<String>()
        };
        (run(false), run(true))
    }

    fn request_line(id: &str, caller: &str, route: &str, status: u16, latency_ms: f64) {
        // The request line's shape (telemetry::observe).
        let method = axum::http::Method::POST;
        let listener = "public";
        tracing::info!(target: TARGET, request_id = %id, %method, route, status, latency_ms, caller, listener, "request");
    }

    #[test]
    fn the_request_line_is_the_full_formats() {
        let (full, lines) = both(|| {
            request_line(
                "0123abcd",
                "supplier_123",
                "/v2/supplier/link-sessions",
                201,
                1.638_429_000_000_000_1,
            );
            request_line("id with \"quotes\"", "-", "unmatched", 404, 0.034_852);
            request_line(
                "x",
                "caller \"quoted\" \\ é \u{1b}[31m \n tab\t",
                "/health/alive",
                200,
                1.0,
            );
            request_line("y", "", "/admin", 0, 0.0);
            request_line("z", "ünïcödé", "/v1", 65535, 12_345.678_9);
        });
        assert_eq!(full.lines().count(), 5, "{full}");
        assert!(full.contains(r#"INFO request request_id=0123abcd method=POST route="/v2/supplier/link-sessions" status=201 latency_ms=1.6384290000000001 caller="supplier_123" listener="public""#), "{full}");
        assert_eq!(lines, full);
    }

    #[test]
    fn other_events_go_to_the_full_format() {
        let (full, lines) = both(|| {
            tracing::warn!(target: TARGET, store = "sqlite:x", attempt = 3_u64, "not the request line");
            tracing::warn!(target: TARGET, request_id = "w", failure = "store", "request");
            tracing::debug!(target: TARGET, request_id = "d", "request");
            tracing::error!(
                request_id = "elsewhere",
                n = -5_i64,
                ok = true,
                "another target"
            );
            let span = tracing::info_span!("in_span", k = 1);
            let _entered = span.enter();
            request_line("in-span", "c", "/r", 200, 2.5);
        });
        assert_eq!(full.lines().count(), 5, "{full}");
        assert!(
            full.contains(r#" WARN request request_id="w" failure="store""#),
            "{full}"
        );
        assert!(full.contains(r#"DEBUG request request_id="d""#), "{full}");
        assert!(full.contains("in_span{k=1}: request"), "{full}");
        assert_eq!(lines, full);
    }

    /// What `log` writes with the JSON format (flattened, no target, as `init_logs` sets it)
    /// and with [`RequestLines`] and [`Json`], each line's timestamp value cut off.
    fn both_json(log: impl Fn()) -> (String, String) {
        let run = |lines: bool| {
            let buffer = Buffer::default();
            let json = tracing_subscriber::fmt::format()
                .with_target(false)
                .json()
                .flatten_event(true);
            let builder = tracing_subscriber::fmt()
                .with_writer(buffer.clone())
                .with_max_level(tracing::Level::TRACE)
                .json();
            if lines {
                let subscriber = builder
                    .event_format(RequestLines {
                        other: json,
                        line: Json,
                    })
                    .finish();
                tracing::subscriber::with_default(subscriber, &log);
            } else {
                let subscriber = builder.event_format(json).finish();
                tracing::subscriber::with_default(subscriber, &log);
            }
            let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|line| {
                    // `{"timestamp":"` is 14 bytes, the time 27.
                    let (head, rest) = line.split_at(14.min(line.len()));
                    format!("{head}{}\n", rest.get(27..).unwrap_or_default())
                })
                .collect::<String>()
        };
        (run(false), run(true))
    }

    #[test]
    fn the_json_request_line_is_the_json_formats() {
        let (json, lines) = both_json(|| {
            request_line(
                "0123abcd",
                "supplier_123",
                "/v2/supplier/link-sessions",
                201,
                1.638_429_000_000_000_1,
            );
            request_line(
                "id with \"quotes\" and \\",
                "-",
                "unmatched",
                404,
                0.034_852,
            );
            request_line(
                "x\u{7f}\u{0}\u{1f}\u{8}\u{c}\r",
                "caller \"quoted\" \\ é \u{1b}[31m \n tab\t \u{2028} 🦀",
                "/health/alive",
                200,
                1.0,
            );
            request_line("y", "", "/admin", 0, 0.0);
            request_line("z", "ünïcödé", "/v1", 65535, 12_345.678_9);
            request_line("big", "c", "/r", 1, 1e300);
            request_line("small", "c", "/r", 1, 1.5e-7);
            request_line("nan", "c", "/r", 1, f64::NAN);
            request_line("inf", "c", "/r", 1, f64::NEG_INFINITY);
        });
        assert_eq!(json.lines().count(), 9, "{json}");
        assert!(json.contains(r#""level":"INFO","message":"request","request_id":"0123abcd","method":"POST","route":"/v2/supplier/link-sessions","status":201,"latency_ms":1.6384290000000001,"caller":"supplier_123","listener":"public"}"#), "{json}");
        for line in json.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert_eq!(lines, json);
    }

    #[test]
    fn other_events_go_to_the_json_format() {
        let (json, lines) = both_json(|| {
            tracing::warn!(target: TARGET, store = "sqlite:x", attempt = 3_u64, "not the request line");
            tracing::warn!(target: TARGET, request_id = "w", failure = "store", n = -5_i64, ok = true, "request");
            tracing::debug!(target: TARGET, request_id = "d", "request");
            tracing::error!(request_id = "elsewhere", "another target");
            let span = tracing::info_span!("in_span", k = 1);
            let _entered = span.enter();
            request_line("in-span", "c", "/r", 200, 2.5);
        });
        assert_eq!(json.lines().count(), 5, "{json}");
        assert!(
            json.contains(r#""level":"WARN","message":"request","request_id":"w","failure":"store","n":-5,"ok":true}"#),
            "{json}"
        );
        assert!(
            json.contains(r#""span":{"k":1,"name":"in_span"}"#),
            "{json}"
        );
        assert_eq!(lines, json);
    }

    #[test]
    fn the_timestamp_is_the_system_timers() {
        // The timer formats only "now": given times are compared with their known renderings.
        let expected = |at: SystemTime| {
            let mut s = String::new();
            let mut writer = Writer::new(&mut s);
            write_timestamp(&mut writer, at).unwrap();
            s
        };
        for (seconds, micros, text) in [
            (0, 0, "1970-01-01T00:00:00.000000Z "),
            (951_782_400, 7, "2000-02-29T00:00:00.000007Z "),
            (1_796_309_562, 122_668, "2026-12-03T14:52:42.122668Z "),
            (4_102_444_799, 999_999, "2099-12-31T23:59:59.999999Z "),
            (253_402_300_799, 500_000, "9999-12-31T23:59:59.500000Z "),
        ] {
            let at = UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros);
            assert_eq!(expected(at), text);
        }
        // And the timer's own output has the same shape and length now.
        let mut s = String::new();
        Timer.format_time(&mut Writer::new(&mut s)).unwrap();
        let mut mine = String::new();
        write_timestamp(&mut Writer::new(&mut mine), SystemTime::now()).unwrap();
        assert_eq!(s.len() + 1, mine.len(), "{s} / {mine}");
        assert_eq!(s.get(..16), mine.get(..16), "{s} / {mine}");
    }
}
