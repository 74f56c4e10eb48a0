//! Logging for functions: `tracing` with a subscriber that names each line's request.
//!
//! [`init_default_subscriber`] prints, to stderr (which the platform collects):
//!
//! ```text
//! 2026-11-24T06:21:48.123Z\t3f1c...\tINFO\tuser created
//! ```
//!
//! that is `<RFC 3339 UTC ms>\t<request id>\t<LEVEL>\t<message and fields>`, the request
//! id taken from the span the runtime opens around every invocation (`-` outside one).
//! `RUST_LOG` sets the filter (default `info`); `RUST_LOG_FORMAT=json` switches to one
//! JSON object per line ([`ScfJsonFormat`]):
//!
//! ```text
//! {"timestamp":"2026-11-24T06:21:48.123Z","requestId":"3f1c...","level":"INFO","target":"my_fn","message":"user created","fields":{"user":42}}
//! ```

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

pub use ::tracing::{Instrument, Level, debug, error, info, span, trace, warn};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the default subscriber; does nothing when one is already installed.
pub fn init_default_subscriber() {
    // `Targets` understands `RUST_LOG=info` and `RUST_LOG=my_crate=debug,hyper=warn`
    // without pulling a regex engine into every bootstrap.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let json = std::env::var("RUST_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = if json {
        builder
            .event_format(ScfJsonFormat)
            .finish()
            .with(filter)
            .try_init()
    } else {
        builder
            .event_format(ScfFormat)
            .finish()
            .with(filter)
            .try_init()
    };
}

/// The text line format described in the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct ScfFormat;

impl<S, N> FormatEvent<S, N> for ScfFormat
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &::tracing::Event<'_>,
    ) -> fmt::Result {
        write_utc_millis(&mut writer, SystemTime::now())?;
        writer.write_char('\t')?;
        let request_id = request_id(ctx);
        writer.write_str(request_id.as_deref().unwrap_or("-"))?;
        write!(writer, "\t{}\t", event.metadata().level())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The JSON line format described in the [module docs](self): `timestamp`, `requestId` (`null`
/// outside an invocation), `level`, `target`, `message`, and the event's other fields under
/// `fields` (numbers and booleans as such, anything else as its text).
#[derive(Debug, Clone, Copy, Default)]
pub struct ScfJsonFormat;

impl<S, N> FormatEvent<S, N> for ScfJsonFormat
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &::tracing::Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::with_capacity(24);
        write_utc_millis(&mut timestamp, SystemTime::now())?;
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let request_id = request_id(ctx);
        let line = JsonLine {
            timestamp: &timestamp,
            request_id: request_id.as_deref(),
            level: event.metadata().level().as_str(),
            target: event.metadata().target(),
            message: fields.message.as_deref().unwrap_or_default(),
            fields: &fields.others,
        };
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writer.write_str(&text)?;
        writeln!(writer)
    }
}

/// One line of [`ScfJsonFormat`], its keys in this order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    timestamp: &'a str,
    #[serde(rename = "requestId")]
    request_id: Option<&'a str>,
    level: &'a str,
    target: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    fields: &'a serde_json::Map<String, serde_json::Value>,
}

/// An event's fields as JSON values, its `message` apart.
#[derive(Default)]
struct JsonFields {
    message: Option<String>,
    others: serde_json::Map<String, serde_json::Value>,
}

impl JsonFields {
    fn put(&mut self, field: &::tracing::field::Field, value: serde_json::Value) {
        self.others.insert(field.name().to_owned(), value);
    }
}

impl ::tracing::field::Visit for JsonFields {
    fn record_debug(&mut self, field: &::tracing::field::Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.put(field, text.into());
        }
    }

    fn record_str(&mut self, field: &::tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.put(field, value.into());
        }
    }

    fn record_i64(&mut self, field: &::tracing::field::Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &::tracing::field::Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &::tracing::field::Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &::tracing::field::Field, value: f64) {
        // JSON has no NaN or infinity: those stay text.
        let number = serde_json::Number::from_f64(value)
            .map_or_else(|| value.to_string().into(), serde_json::Value::Number);
        self.put(field, number);
    }
}

/// The request id of the invocation span an event is in, if any.
fn request_id<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<String>
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let mut request_id = None;
    for span in ctx.event_scope()?.from_root() {
        if span.name() == "invocation" {
            let ext = span.extensions();
            if let Some(fields) = ext.get::<FormattedFields<N>>() {
                request_id = field_value(fields, "request_id").map(str::to_owned);
            }
        }
    }
    request_id
}

/// The value of `name=value` in a span's formatted fields.
fn field_value<'a>(fields: &'a str, name: &str) -> Option<&'a str> {
    fields.split(' ').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value.trim_matches('"'))
    })
}

/// Writes `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn write_utc_millis(out: &mut impl fmt::Write, t: SystemTime) -> fmt::Result {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_millis() {
        let mut s = String::new();
        let t = UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        write_utc_millis(&mut s, t).unwrap();
        assert_eq!(s, "2025-11-24T16:00:00.123Z");
        s.clear();
        write_utc_millis(&mut s, UNIX_EPOCH + Duration::from_secs(951_782_400)).unwrap();
        assert_eq!(s, "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn reads_span_fields() {
        assert_eq!(
            field_value("request_id=abc other=1", "request_id"),
            Some("abc")
        );
        assert_eq!(field_value("x=1", "request_id"), None);
    }
}
