//! Timestamp forms seen in SCF events.
//!
//! Event types keep timestamps **as they arrive** (a `String`, an `i64` or a
//! [`StringOrI64`](super::number::StringOrI64)), so one odd timestamp never fails a whole event. The
//! modules here turn those wire forms into typed times:
//!
//! | Module | Wire form | Seen in |
//! |---|---|---|
//! | [`rfc3339_opt_fraction`] | `"2019-08-16T10:48:49Z"`, `"1970-01-01T00:00:00.000Z"` | Timer `Time`, CMQ `publishTime` |
//! | [`unix_seconds`] | `1560756690`, `"1560756690"` | COS `eventTime` |
//! | [`epoch_millis_str`] | `"1615430559146"`, `1615430559146` | EventBridge `time`, TDMQ `toTimestamp` |
//! | [`micros_str`] | `"1605578090000000"` | CLS record `timestamp` |
//! | [`seconds_millis_str`] | `"1591692977.774"` | CLB `X-Stgw-Time` header |
//!
//! Each module has integer helpers that always exist, and with the `chrono` feature a `parse`
//! function returning a `chrono` time plus `deserialize`/`serialize` functions for
//! `#[serde(with = ...)]` on a `chrono` field (these accept every wire form listed and write the
//! form in the table's first column).
//!
//! ```
//! use scf_events::custom_serde::time::{micros_str, seconds_millis_str};
//!
//! assert_eq!(micros_str::to_micros("1605578090000000"), Some(1_605_578_090_000_000));
//! assert_eq!(seconds_millis_str::to_millis("1591692977.774"), Some(1_591_692_977_774));
//! ```

/// Parses an optionally signed string of ASCII digits (surrounding spaces allowed) as `i64`.
fn digits(s: &str) -> Option<i64> {
    let s = s.trim();
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(feature = "chrono")]
mod wire {
    //! Shared serde plumbing for integer timestamps sent as numbers or digit strings.
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    pub(super) fn int<'de, D: Deserializer<'de>>(
        deserializer: D,
        unit: &'static str,
    ) -> Result<i64, D::Error> {
        let wire = Value::deserialize(deserializer)?;
        let parsed = match &wire {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => super::digits(s),
            _ => None,
        };
        parsed.ok_or_else(|| {
            D::Error::custom(format_args!(
                "expected a timestamp in {unit} (an integer or a string of digits), found {wire}"
            ))
        })
    }

    pub(super) fn out_of_range<E: serde::de::Error>(value: i64, unit: &str) -> E {
        E::custom(format_args!("timestamp {value} {unit} is out of range"))
    }
}

/// RFC 3339 text with or without a fractional second: `2019-08-16T10:48:49Z`,
/// `1970-01-01T00:00:00.000Z`, `2019-08-16T18:48:49+08:00`.
///
/// ```
/// # #[cfg(feature = "chrono")] {
/// use scf_events::custom_serde::time::rfc3339_opt_fraction;
///
/// let t = rfc3339_opt_fraction::parse("2019-02-21T11:49:00Z").unwrap();
/// assert_eq!(t.timestamp(), 1550749740);
/// let t = rfc3339_opt_fraction::parse("1970-01-01T00:00:00.123Z").unwrap();
/// assert_eq!(t.timestamp_subsec_millis(), 123);
/// # }
/// ```
pub mod rfc3339_opt_fraction {
    #[cfg(feature = "chrono")]
    use chrono::{DateTime, FixedOffset, SecondsFormat};
    #[cfg(feature = "chrono")]
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Parses RFC 3339 text with or without a fraction. `None` when it is not RFC 3339.
    #[cfg(feature = "chrono")]
    pub fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
        DateTime::parse_from_rfc3339(text.trim()).ok()
    }

    /// Deserialises RFC 3339 text with or without a fraction.
    #[cfg(feature = "chrono")]
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| {
            D::Error::custom(format_args!(
                "expected an RFC 3339 timestamp, found {text:?}"
            ))
        })
    }

    /// Serialises as RFC 3339 with `Z` for UTC and a fraction only when there is one.
    #[cfg(feature = "chrono")]
    pub fn serialize<S: Serializer>(
        time: &DateTime<FixedOffset>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// Unix seconds as a JSON number or a string of digits (COS `eventTime`).
///
/// ```
/// # #[cfg(feature = "chrono")] {
/// use scf_events::custom_serde::time::unix_seconds;
///
/// assert_eq!(unix_seconds::from_secs(1560756690).unwrap().to_rfc3339(), "2019-06-17T07:31:30+00:00");
/// assert_eq!(unix_seconds::parse("1560756690"), unix_seconds::from_secs(1560756690));
/// # }
/// ```
pub mod unix_seconds {
    #[cfg(feature = "chrono")]
    use chrono::{DateTime, Utc};
    #[cfg(feature = "chrono")]
    use serde::{Deserializer, Serializer};

    /// The integer seconds in a string of digits.
    pub fn to_secs(text: &str) -> Option<i64> {
        super::digits(text)
    }

    /// The UTC time `secs` seconds after the Unix epoch; `None` when out of range.
    #[cfg(feature = "chrono")]
    pub fn from_secs(secs: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(secs, 0)
    }

    /// Parses a string of digits as Unix seconds.
    #[cfg(feature = "chrono")]
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        to_secs(text).and_then(from_secs)
    }

    /// Deserialises Unix seconds from a number or a string of digits.
    #[cfg(feature = "chrono")]
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let secs = super::wire::int(deserializer, "seconds")?;
        from_secs(secs).ok_or_else(|| super::wire::out_of_range(secs, "s"))
    }

    /// Serialises as a JSON number of seconds (any fraction is dropped).
    #[cfg(feature = "chrono")]
    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(time.timestamp())
    }
}

/// Milliseconds since the epoch as a string of digits, or a number (EventBridge `time`, TDMQ
/// `toTimestamp`).
///
/// ```
/// # #[cfg(feature = "chrono")] {
/// use scf_events::custom_serde::time::epoch_millis_str;
///
/// let t = epoch_millis_str::parse("1615430559146").unwrap();
/// assert_eq!(t.timestamp_millis(), 1615430559146);
/// # }
/// ```
pub mod epoch_millis_str {
    #[cfg(feature = "chrono")]
    use chrono::{DateTime, Utc};
    #[cfg(feature = "chrono")]
    use serde::{Deserializer, Serializer};

    /// The integer milliseconds in a string of digits.
    pub fn to_millis(text: &str) -> Option<i64> {
        super::digits(text)
    }

    /// The UTC time `millis` milliseconds after the Unix epoch; `None` when out of range.
    #[cfg(feature = "chrono")]
    pub fn from_millis(millis: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(millis)
    }

    /// Parses a string of digits as epoch milliseconds.
    #[cfg(feature = "chrono")]
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        to_millis(text).and_then(from_millis)
    }

    /// Deserialises epoch milliseconds from a string of digits or a number.
    #[cfg(feature = "chrono")]
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let ms = super::wire::int(deserializer, "milliseconds")?;
        from_millis(ms).ok_or_else(|| super::wire::out_of_range(ms, "ms"))
    }

    /// Serialises as a string of digits (milliseconds).
    #[cfg(feature = "chrono")]
    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.timestamp_millis().to_string())
    }
}

/// Microseconds since the epoch as a 16-digit string (CLS record `timestamp`), or a number.
///
/// ```
/// # #[cfg(feature = "chrono")] {
/// use scf_events::custom_serde::time::micros_str;
///
/// let t = micros_str::parse("1605578090000000").unwrap();
/// assert_eq!(t.to_rfc3339(), "2020-11-17T01:54:50+00:00");
/// # }
/// ```
pub mod micros_str {
    #[cfg(feature = "chrono")]
    use chrono::{DateTime, Utc};
    #[cfg(feature = "chrono")]
    use serde::{Deserializer, Serializer};

    /// The integer microseconds in a string of digits.
    pub fn to_micros(text: &str) -> Option<i64> {
        super::digits(text)
    }

    /// The UTC time `micros` microseconds after the Unix epoch; `None` when out of range.
    #[cfg(feature = "chrono")]
    pub fn from_micros(micros: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_micros(micros)
    }

    /// Parses a string of digits as epoch microseconds.
    #[cfg(feature = "chrono")]
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        to_micros(text).and_then(from_micros)
    }

    /// Deserialises epoch microseconds from a string of digits or a number.
    #[cfg(feature = "chrono")]
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let us = super::wire::int(deserializer, "microseconds")?;
        from_micros(us).ok_or_else(|| super::wire::out_of_range(us, "µs"))
    }

    /// Serialises as a string of digits (microseconds).
    #[cfg(feature = "chrono")]
    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.timestamp_micros().to_string())
    }
}

/// Epoch seconds with a millisecond fraction, as a string: `"1591692977.774"` (CLB's
/// `X-Stgw-Time` header). A missing or shorter fraction is accepted (`"1591692977"`,
/// `"1591692977.7"`); digits past the third are ignored.
///
/// ```
/// # #[cfg(feature = "chrono")] {
/// use scf_events::custom_serde::time::seconds_millis_str;
///
/// let t = seconds_millis_str::parse("1591692977.774").unwrap();
/// assert_eq!(t.timestamp_millis(), 1591692977774);
/// # }
/// ```
pub mod seconds_millis_str {
    #[cfg(feature = "chrono")]
    use chrono::{DateTime, Utc};
    #[cfg(feature = "chrono")]
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// The epoch milliseconds in `"seconds.millis"` text.
    pub fn to_millis(text: &str) -> Option<i64> {
        let text = text.trim();
        let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
        let negative = secs.starts_with('-');
        let secs = super::digits(secs)?;
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut millis: i64 = 0;
        for i in 0..3 {
            let digit = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
            millis = millis * 10 + digit;
        }
        let millis = if negative { -millis } else { millis };
        secs.checked_mul(1000)?.checked_add(millis)
    }

    /// Parses `"seconds.millis"` text.
    #[cfg(feature = "chrono")]
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        to_millis(text).and_then(DateTime::from_timestamp_millis)
    }

    /// Deserialises `"seconds.millis"` text.
    #[cfg(feature = "chrono")]
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| {
            D::Error::custom(format_args!(
                "expected epoch seconds with a millisecond fraction (e.g. \"1591692977.774\"), found {text:?}"
            ))
        })
    }

    /// Serialises as `"seconds.millis"` with exactly three fraction digits. Before the epoch the
    /// sign covers the whole number, as [`to_millis`] reads it: `-59.777`, not `-60.223`.
    #[cfg(feature = "chrono")]
    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_millis(time.timestamp_millis()))
    }

    /// `ms` epoch milliseconds as `"seconds.millis"` text, the inverse of [`to_millis`].
    pub fn format_millis(ms: i64) -> String {
        let sign = if ms < 0 { "-" } else { "" };
        let abs = ms.unsigned_abs();
        format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_helpers() {
        assert_eq!(
            micros_str::to_micros("1605578090000000"),
            Some(1_605_578_090_000_000)
        );
        assert_eq!(micros_str::to_micros(" 12 "), Some(12));
        assert_eq!(micros_str::to_micros("+12"), None);
        assert_eq!(micros_str::to_micros("1.5"), None);
        assert_eq!(micros_str::to_micros(""), None);
        assert_eq!(epoch_millis_str::to_millis("-5"), Some(-5));
        assert_eq!(unix_seconds::to_secs("99999999999999999999"), None);
        assert_eq!(
            seconds_millis_str::to_millis("1591692977.774"),
            Some(1_591_692_977_774)
        );
        for ms in [
            1_591_692_977_774,
            0,
            5,
            -5,
            -500,
            -59_777,
            -60_000,
            i64::MIN + 1,
        ] {
            let text = seconds_millis_str::format_millis(ms);
            assert_eq!(seconds_millis_str::to_millis(&text), Some(ms), "{text}");
        }
        assert_eq!(seconds_millis_str::format_millis(-59_777), "-59.777");
        assert_eq!(seconds_millis_str::format_millis(-5), "-0.005");
        assert_eq!(
            seconds_millis_str::to_millis("1591692977"),
            Some(1_591_692_977_000)
        );
        assert_eq!(
            seconds_millis_str::to_millis("1591692977.7"),
            Some(1_591_692_977_700)
        );
        assert_eq!(
            seconds_millis_str::to_millis("1591692977.77489"),
            Some(1_591_692_977_774)
        );
        assert_eq!(seconds_millis_str::to_millis("-1.5"), Some(-1_500));
        assert_eq!(seconds_millis_str::to_millis("1.x"), None);
        assert_eq!(seconds_millis_str::to_millis(".5"), None);
        assert_eq!(seconds_millis_str::to_millis("9223372036854775807.0"), None);
    }

    #[cfg(feature = "chrono")]
    mod with_chrono {
        use super::super::*;
        use chrono::{DateTime, FixedOffset, Utc};
        use serde::{Deserialize, Serialize};
        use serde_json::json;

        #[derive(Debug, Serialize, Deserialize, PartialEq)]
        struct Times {
            #[serde(with = "rfc3339_opt_fraction")]
            rfc: DateTime<FixedOffset>,
            #[serde(with = "unix_seconds")]
            secs: DateTime<Utc>,
            #[serde(with = "epoch_millis_str")]
            millis: DateTime<Utc>,
            #[serde(with = "micros_str")]
            micros: DateTime<Utc>,
            #[serde(with = "seconds_millis_str")]
            stgw: DateTime<Utc>,
        }

        #[test]
        fn parse_every_form() {
            assert_eq!(
                rfc3339_opt_fraction::parse("2019-08-16T10:48:49Z")
                    .unwrap()
                    .timestamp(),
                1_565_952_529
            );
            assert_eq!(
                rfc3339_opt_fraction::parse("1970-01-01T00:00:00.000Z")
                    .unwrap()
                    .timestamp(),
                0
            );
            assert!(rfc3339_opt_fraction::parse("2019-08-16 10:48").is_none());
            assert!(unix_seconds::from_secs(i64::MAX).is_none());
            assert!(micros_str::parse("abc").is_none());
        }

        #[test]
        fn with_modules_round_trip() {
            let input = json!({
                "rfc": "2019-08-16T10:48:49.5Z",
                "secs": "1560756690",
                "millis": 1615430559146i64,
                "micros": "1605578090000001",
                "stgw": "1591692977.774",
            });
            let t: Times = serde_json::from_value(input).unwrap();
            assert_eq!(t.secs.timestamp(), 1_560_756_690);
            assert_eq!(t.micros.timestamp_micros(), 1_605_578_090_000_001);
            let out = serde_json::to_value(&t).unwrap();
            assert_eq!(
                out,
                json!({
                    "rfc": "2019-08-16T10:48:49.500Z",
                    "secs": 1560756690,
                    "millis": "1615430559146",
                    "micros": "1605578090000001",
                    "stgw": "1591692977.774",
                })
            );
            assert_eq!(serde_json::from_value::<Times>(out).unwrap(), t);
        }

        #[test]
        fn errors_say_what_was_expected() {
            let bad =
                json!({"rfc": "yesterday", "secs": 1, "millis": 1, "micros": 1, "stgw": "1.0"});
            let e = serde_json::from_value::<Times>(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("RFC 3339") && e.contains("yesterday"), "{e}");
            let bad = json!({"rfc": "2019-08-16T10:48:49Z", "secs": "soon", "millis": 1, "micros": 1, "stgw": "1.0"});
            let e = serde_json::from_value::<Times>(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains("seconds") && e.contains("soon"), "{e}");
        }
    }
}
