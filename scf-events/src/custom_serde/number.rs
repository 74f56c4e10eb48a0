//! Integers that arrive either as JSON numbers or as strings of digits.
//!
//! The platform is not consistent about these: CMQ's `topicOwner` is `1253970026` in one sample and
//! `"1253970026"` in another, EventBridge's `time` is a string in the SCF docs and a number in the
//! CloudAudit sample. Two tools cover this:
//!
//! * [`StringOrU64`] and [`StringOrI64`] keep the **wire form** (number or string), so serialising an
//!   event reproduces the input, and offer [`StringOrU64::value`] for the number.
//! * [`string_or_u64`] and [`string_or_i64`] are `#[serde(with = ...)]` modules for plain `u64` /
//!   `i64` fields: they accept both forms and always serialise a JSON number.
//!
//! ```
//! use scf_events::custom_serde::number::StringOrU64;
//!
//! let quoted: StringOrU64 = serde_json::from_str(r#""1253970026""#).unwrap();
//! let bare: StringOrU64 = serde_json::from_str("1253970026").unwrap();
//! assert_eq!(quoted.value(), Some(1253970026));
//! assert_eq!(bare.value(), Some(1253970026));
//! // The wire form is kept.
//! assert_eq!(serde_json::to_string(&quoted).unwrap(), r#""1253970026""#);
//! assert_eq!(serde_json::to_string(&bare).unwrap(), "1253970026");
//! ```

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// How a number-like value looked on the wire.
#[derive(Debug, Clone, PartialEq)]
enum Wire {
    /// A JSON number, kept exactly (also negative or fractional ones).
    Number(serde_json::Number),
    /// A JSON string, kept as written (it may not even hold digits).
    Text(String),
}

impl Default for Wire {
    fn default() -> Self {
        Wire::Number(serde_json::Number::from(0u8))
    }
}

impl Serialize for Wire {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Wire::Number(n) => n.serialize(serializer),
            Wire::Text(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for Wire {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WireVisitor)
    }
}

struct WireVisitor;

impl Visitor<'_> for WireVisitor {
    type Value = Wire;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string holding one")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Wire, E> {
        Ok(Wire::Number(v.into()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Wire, E> {
        Ok(Wire::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Wire, E> {
        serde_json::Number::from_f64(v)
            .map(Wire::Number)
            .ok_or_else(|| E::custom(format_args!("{v} is not a finite number")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Wire, E> {
        Ok(Wire::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Wire, E> {
        Ok(Wire::Text(v))
    }
}

macro_rules! string_or_int {
    ($(#[$doc:meta])* $name:ident, $int:ty, $as_int:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name {
            wire: Wire,
        }

        impl $name {
            /// A value that serialises as a JSON number.
            pub fn number(value: $int) -> Self {
                Self { wire: Wire::Number(value.into()) }
            }

            /// A value that serialises as a JSON string holding `value` as written.
            pub fn string(value: impl Into<String>) -> Self {
                Self { wire: Wire::Text(value.into()) }
            }

            /// The integer, whichever form it arrived in.
            ///
            /// `None` when the string does not hold an integer (surrounding spaces are
            /// tolerated) or when the number is out of range or fractional.
            pub fn value(&self) -> Option<$int> {
                match &self.wire {
                    Wire::Number(n) => n.$as_int(),
                    Wire::Text(s) => s.trim().parse().ok(),
                }
            }

            /// Whether the value arrived as a JSON string.
            pub fn is_string(&self) -> bool {
                matches!(self.wire, Wire::Text(_))
            }

            /// The value as it looked on the wire: the string itself, or the number's digits.
            pub fn as_wire_string(&self) -> String {
                match &self.wire {
                    Wire::Number(n) => n.to_string(),
                    Wire::Text(s) => s.clone(),
                }
            }
        }

        impl From<$int> for $name {
            fn from(value: $int) -> Self {
                Self::number(value)
            }
        }

        impl fmt::Display for $name {
            /// Writes the wire form without JSON quotes.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match &self.wire {
                    Wire::Number(n) => fmt::Display::fmt(n, f),
                    Wire::Text(s) => f.write_str(s),
                }
            }
        }
    };
}

string_or_int!(
    /// An unsigned integer that arrives as a JSON number or a string, wire form kept.
    ///
    /// Deserialising never fails on a number or a string: a string that does not hold an integer is
    /// kept and [`value`](Self::value) returns `None`. `Default` is the number `0`.
    StringOrU64,
    u64,
    as_u64
);

string_or_int!(
    /// A signed integer that arrives as a JSON number or a string, wire form kept.
    ///
    /// Deserialising never fails on a number or a string: a string that does not hold an integer is
    /// kept and [`value`](Self::value) returns `None`. `Default` is the number `0`.
    StringOrI64,
    i64,
    as_i64
);

/// Parses the integer out of a number or string, for the `with` modules.
fn parse_int<'de, D, T>(deserializer: D, what: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + TryFrom<u64> + TryFrom<i64>,
{
    let wire = Wire::deserialize(deserializer)?;
    let parsed = match &wire {
        Wire::Number(n) => n
            .as_u64()
            .and_then(|v| T::try_from(v).ok())
            .or_else(|| n.as_i64().and_then(|v| T::try_from(v).ok())),
        Wire::Text(s) => s.trim().parse().ok(),
    };
    parsed.ok_or_else(|| {
        let shown = match &wire {
            Wire::Number(n) => n.to_string(),
            Wire::Text(s) => format!("{s:?}"),
        };
        de::Error::custom(format_args!(
            "expected {what} (a number or a string of digits), found {shown}"
        ))
    })
}

/// `#[serde(with = "string_or_u64")]` for a plain `u64` field: accepts `123` and `"123"`,
/// serialises a JSON number.
///
/// Use [`StringOrU64`] instead when the wire form must survive a round trip.
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Msg {
///     #[serde(with = "scf_events::custom_serde::number::string_or_u64")]
///     owner: u64,
/// }
/// let msg: Msg = serde_json::from_str(r#"{"owner":"42"}"#).unwrap();
/// assert_eq!(msg.owner, 42);
/// ```
pub mod string_or_u64 {
    use serde::{Deserializer, Serializer};

    /// Deserialises a `u64` from a JSON number or a string of digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        super::parse_int(deserializer, "an unsigned integer")
    }

    /// Serialises the `u64` as a JSON number.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(*value)
    }
}

/// `#[serde(with = "string_or_i64")]` for a plain `i64` field: accepts `-5` and `"-5"`,
/// serialises a JSON number.
///
/// Use [`StringOrI64`] instead when the wire form must survive a round trip.
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Msg {
///     #[serde(with = "scf_events::custom_serde::number::string_or_i64")]
///     time: i64,
/// }
/// let msg: Msg = serde_json::from_str(r#"{"time":"1615430559146"}"#).unwrap();
/// assert_eq!(msg.time, 1615430559146);
/// ```
pub mod string_or_i64 {
    use serde::{Deserializer, Serializer};

    /// Deserialises an `i64` from a JSON number or a string of digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        super::parse_int(deserializer, "an integer")
    }

    /// Serialises the `i64` as a JSON number.
    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(*value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_wire_form_of_numbers_and_strings() {
        for input in [
            json!(1253970026u64),
            json!("1253970026"),
            json!(" 7 "),
            json!("abc"),
        ] {
            let v: StringOrU64 = serde_json::from_value(input.clone()).unwrap();
            assert_eq!(serde_json::to_value(&v).unwrap(), input);
        }
    }

    #[test]
    fn value_reads_both_forms() {
        let n: StringOrU64 = serde_json::from_value(json!(12)).unwrap();
        let s: StringOrU64 = serde_json::from_value(json!("12")).unwrap();
        let bad: StringOrU64 = serde_json::from_value(json!("twelve")).unwrap();
        let neg: StringOrU64 = serde_json::from_value(json!(-1)).unwrap();
        assert_eq!(n.value(), Some(12));
        assert_eq!(s.value(), Some(12));
        assert!(s.is_string() && !n.is_string());
        assert_eq!(bad.value(), None);
        assert_eq!(neg.value(), None);
        let neg: StringOrI64 = serde_json::from_value(json!(-1)).unwrap();
        assert_eq!(neg.value(), Some(-1));
        let frac: StringOrI64 = serde_json::from_value(json!(1.5)).unwrap();
        assert_eq!(frac.value(), None);
        assert_eq!(serde_json::to_value(&frac).unwrap(), json!(1.5));
    }

    #[test]
    fn rejects_other_json_types() {
        assert!(serde_json::from_value::<StringOrU64>(json!(true)).is_err());
        assert!(serde_json::from_value::<StringOrU64>(json!(null)).is_err());
        assert!(serde_json::from_value::<StringOrI64>(json!([1])).is_err());
    }

    #[test]
    fn constructors_and_display() {
        assert_eq!(
            serde_json::to_value(StringOrU64::number(5)).unwrap(),
            json!(5)
        );
        assert_eq!(
            serde_json::to_value(StringOrU64::string("5")).unwrap(),
            json!("5")
        );
        assert_eq!(StringOrI64::string("17").to_string(), "17");
        assert_eq!(StringOrI64::from(-3).as_wire_string(), "-3");
        assert_eq!(StringOrU64::default().value(), Some(0));
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Plain {
        #[serde(with = "string_or_u64")]
        a: u64,
        #[serde(with = "string_or_i64")]
        b: i64,
    }

    #[test]
    fn with_modules_accept_both_and_write_numbers() {
        let p: Plain = serde_json::from_value(json!({"a": "9", "b": -4})).unwrap();
        assert_eq!(p, Plain { a: 9, b: -4 });
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"a": 9, "b": -4}));
        let err = serde_json::from_value::<Plain>(json!({"a": "x", "b": 1})).unwrap_err();
        assert!(err.to_string().contains("\"x\""), "{err}");
        assert!(serde_json::from_value::<Plain>(json!({"a": -1, "b": 1})).is_err());
    }
}
