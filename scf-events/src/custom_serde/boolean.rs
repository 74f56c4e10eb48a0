//! Booleans that arrive as a JSON bool or as the strings `"true"` / `"false"`.
//!
//! API Gateway's backend sample writes the request's `isBase64Encoded` as the **string** `"true"`,
//! real gateway events send a bool, and the newest CLB sample leaves the key out. Two tools cover
//! this:
//!
//! * [`BoolOrString`] keeps the **wire form** (absent, `null`, a bool or a string), so serialising
//!   an event reproduces it, and [`BoolOrString::value`] gives the boolean.
//! * [`bool_or_string`] is a `#[serde(with = ...)]` module for a plain `bool` field: it accepts
//!   every form and always writes a JSON bool.
//!
//! A string counts as `true` when it reads `true` in any case (surrounding spaces ignored); any
//! other string, `null` and absence count as `false`.
//!
//! ```
//! use scf_events::custom_serde::boolean::BoolOrString;
//!
//! let flag: BoolOrString = serde_json::from_str(r#""TRUE""#).unwrap();
//! assert!(flag.value());
//! assert_eq!(serde_json::to_string(&flag).unwrap(), r#""TRUE""#); // wire form kept
//!
//! let flag: BoolOrString = serde_json::from_str("false").unwrap();
//! assert!(!flag.value());
//! ```

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How the flag looked on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Wire {
    /// The key was absent.
    #[default]
    Absent,
    Null,
    Bool(bool),
    Text(String),
}

/// A boolean sent as a JSON bool, a string (`"true"`, `"False"`, ...), `null`, or not at all; wire
/// form kept.
///
/// Use it as a field with `#[serde(default, skip_serializing_if = "BoolOrString::is_absent")]` so
/// that an absent key stays absent. `Default` is absent (false).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoolOrString {
    wire: Wire,
}

impl BoolOrString {
    /// The boolean: a bool as sent, a string reading `true` in any case, else `false`.
    pub fn value(&self) -> bool {
        match &self.wire {
            Wire::Bool(b) => *b,
            Wire::Text(s) => s.trim().eq_ignore_ascii_case("true"),
            Wire::Absent | Wire::Null => false,
        }
    }

    /// Whether the key was absent (so serialising should skip it).
    pub fn is_absent(&self) -> bool {
        self.wire == Wire::Absent
    }

    /// Whether the flag arrived as a string.
    pub fn is_string(&self) -> bool {
        matches!(self.wire, Wire::Text(_))
    }

    /// A flag written as a JSON bool.
    pub fn from_bool(value: bool) -> Self {
        Self {
            wire: Wire::Bool(value),
        }
    }

    /// A flag written as the given string, e.g. `"true"`.
    pub fn from_text(text: impl Into<String>) -> Self {
        Self {
            wire: Wire::Text(text.into()),
        }
    }
}

impl From<bool> for BoolOrString {
    fn from(value: bool) -> Self {
        Self::from_bool(value)
    }
}

impl Serialize for BoolOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.wire {
            // An absent flag is normally skipped; when it is not, `false` is its meaning.
            Wire::Absent => serializer.serialize_bool(false),
            Wire::Null => serializer.serialize_unit(),
            Wire::Bool(b) => serializer.serialize_bool(*b),
            Wire::Text(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for BoolOrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FlagVisitor)
    }
}

struct FlagVisitor;

impl<'de> Visitor<'de> for FlagVisitor {
    type Value = BoolOrString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a boolean, the string "true" or "false", or null"#)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<BoolOrString, E> {
        Ok(BoolOrString::from_bool(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<BoolOrString, E> {
        Ok(BoolOrString::from_text(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<BoolOrString, E> {
        Ok(BoolOrString::from_text(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<BoolOrString, E> {
        Ok(BoolOrString { wire: Wire::Null })
    }

    fn visit_none<E: de::Error>(self) -> Result<BoolOrString, E> {
        Ok(BoolOrString { wire: Wire::Null })
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<BoolOrString, D::Error> {
        d.deserialize_any(self)
    }
}

/// `#[serde(with = "bool_or_string")]` for a plain `bool` field: accepts `true`, `"true"` (any
/// case), `false`, `"false"`, any other string (false) and `null` (false); writes a JSON bool.
///
/// Add `#[serde(default)]` to accept an absent key as well. Use [`BoolOrString`] instead when the
/// wire form must survive a round trip.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize)]
/// struct Req {
///     #[serde(default, with = "scf_events::custom_serde::boolean::bool_or_string")]
///     flag: bool,
/// }
/// let req: Req = serde_json::from_str(r#"{"flag":"True"}"#).unwrap();
/// assert!(req.flag);
/// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"flag":true}"#);
/// ```
pub mod bool_or_string {
    use super::{BoolOrString, Deserialize, Deserializer, Serializer};

    /// Reads any accepted form as a `bool`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        BoolOrString::deserialize(deserializer).map(|flag| flag.value())
    }

    /// Writes a JSON bool.
    pub fn serialize<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(*value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn every_form_reads_and_writes_back() {
        for (input, value) in [
            (json!(true), true),
            (json!(false), false),
            (json!("true"), true),
            (json!("TRUE"), true),
            (json!(" True "), true),
            (json!("false"), false),
            (json!("yes"), false),
            (json!(""), false),
            (Value::Null, false),
        ] {
            let flag: BoolOrString = serde_json::from_value(input.clone()).unwrap();
            assert_eq!(flag.value(), value, "{input}");
            assert!(!flag.is_absent());
            assert_eq!(serde_json::to_value(&flag).unwrap(), input);
        }
        assert!(BoolOrString::from_text("true").is_string());
        assert!(!BoolOrString::from(true).is_string());
    }

    #[test]
    fn absent_stays_absent() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Req {
            #[serde(default, skip_serializing_if = "BoolOrString::is_absent")]
            flag: BoolOrString,
        }
        let req: Req = serde_json::from_str("{}").unwrap();
        assert!(req.flag.is_absent() && !req.flag.value());
        assert_eq!(serde_json::to_string(&req).unwrap(), "{}");
        let req: Req = serde_json::from_str(r#"{"flag":null}"#).unwrap();
        assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"flag":null}"#);
    }

    #[test]
    fn numbers_and_objects_are_errors_naming_the_forms() {
        for bad in [json!(1), json!({}), json!([true])] {
            let e = serde_json::from_value::<BoolOrString>(bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains(r#"the string "true""#), "{e}");
        }
    }

    #[test]
    fn with_module_normalises() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Req {
            #[serde(default, with = "bool_or_string")]
            flag: bool,
        }
        for (input, value) in [
            (json!({"flag": "true"}), true),
            (json!({"flag": "False"}), false),
            (json!({"flag": null}), false),
            (json!({}), false),
            (json!({"flag": true}), true),
        ] {
            let req: Req = serde_json::from_value(input).unwrap();
            assert_eq!(req.flag, value);
            assert_eq!(serde_json::to_value(&req).unwrap(), json!({"flag": value}));
        }
    }
}
