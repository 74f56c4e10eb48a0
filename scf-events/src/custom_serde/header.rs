//! Header values that are one string or an array of strings.
//!
//! In an integrated response (API Gateway, CLB, Function URL) a header with several values, such as
//! two `Set-Cookie` lines, is an **array inside `headers`**; there is no `multiValueHeaders`.
//! [`OneOrMany`] reads both forms and writes a plain string when there is one value, an array when
//! there are several. The [`header_value`] module does the same for a `Vec<String>` field.
//!
//! ```
//! use scf_events::custom_serde::header::OneOrMany;
//!
//! let one: OneOrMany = serde_json::from_str(r#""text/html""#).unwrap();
//! assert_eq!(one.first(), Some("text/html"));
//!
//! let mut cookies = OneOrMany::from("a=1");
//! cookies.push("b=2");
//! assert_eq!(serde_json::to_string(&cookies).unwrap(), r#"["a=1","b=2"]"#);
//! ```

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The values of one header: written as a string when there is exactly one, else as an array.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OneOrMany {
    values: Vec<String>,
}

impl OneOrMany {
    /// A header with the given values, in order.
    pub fn many<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// Appends a value.
    pub fn push(&mut self, value: impl Into<String>) {
        self.values.push(value.into());
    }

    /// The first value.
    pub fn first(&self) -> Option<&str> {
        self.values.first().map(String::as_str)
    }

    /// Every value, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.values.iter().map(String::as_str)
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no value (written as `[]`).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values as a slice.
    pub fn as_slice(&self) -> &[String] {
        &self.values
    }

    /// The values.
    pub fn into_vec(self) -> Vec<String> {
        self.values
    }
}

impl From<&str> for OneOrMany {
    fn from(value: &str) -> Self {
        Self {
            values: vec![value.to_owned()],
        }
    }
}

impl From<String> for OneOrMany {
    fn from(value: String) -> Self {
        Self {
            values: vec![value],
        }
    }
}

impl From<Vec<String>> for OneOrMany {
    fn from(values: Vec<String>) -> Self {
        Self { values }
    }
}

impl<'a> IntoIterator for &'a OneOrMany {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

impl Serialize for OneOrMany {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.values.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

struct OneOrManyVisitor;

impl<'de> Visitor<'de> for OneOrManyVisitor {
    type Value = OneOrMany;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header value: a string or an array of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
        Ok(OneOrMany::from(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<OneOrMany, E> {
        Ok(OneOrMany::from(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(v) = seq.next_element::<String>()? {
            values.push(v);
        }
        Ok(OneOrMany { values })
    }
}

/// `#[serde(with = "header_value")]` for a `Vec<String>` field holding one header's values: reads
/// a string or an array of strings, writes a string when there is one value, else an array.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, Serialize)]
/// struct H {
///     #[serde(with = "scf_events::custom_serde::header::header_value")]
///     cookie: Vec<String>,
/// }
/// let h: H = serde_json::from_str(r#"{"cookie":"a=1"}"#).unwrap();
/// assert_eq!(h.cookie, ["a=1"]);
/// assert_eq!(serde_json::to_string(&h).unwrap(), r#"{"cookie":"a=1"}"#);
/// ```
pub mod header_value {
    use super::{Deserialize, Deserializer, OneOrMany, Serialize, Serializer};

    /// Reads a string or an array of strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        OneOrMany::deserialize(deserializer).map(OneOrMany::into_vec)
    }

    /// Writes a string when there is one value, else an array.
    pub fn serialize<S: Serializer>(values: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        match values {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_value_is_a_string_several_an_array() {
        let one: OneOrMany = serde_json::from_value(json!("v")).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(serde_json::to_value(&one).unwrap(), json!("v"));

        let many: OneOrMany = serde_json::from_value(json!(["a=1", "b=2"])).unwrap();
        assert_eq!(many.iter().collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(serde_json::to_value(&many).unwrap(), json!(["a=1", "b=2"]));

        // A one-element array is written back as a plain string, as the platform expects.
        let single: OneOrMany = serde_json::from_value(json!(["x"])).unwrap();
        assert_eq!(serde_json::to_value(&single).unwrap(), json!("x"));

        let none = OneOrMany::default();
        assert!(none.is_empty());
        assert_eq!(serde_json::to_value(&none).unwrap(), json!([]));
    }

    #[test]
    fn other_types_are_errors() {
        for bad in [json!(1), json!(null), json!([1]), json!({"a": "b"})] {
            let e = serde_json::from_value::<OneOrMany>(bad.clone()).unwrap_err();
            assert!(e.to_string().contains("string"), "{bad}: {e}");
        }
    }
}
