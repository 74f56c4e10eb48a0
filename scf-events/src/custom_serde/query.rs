//! Query-string values: a string, an array of strings (a repeated key) or `true` (a key without `=`).
//!
//! API Gateway's `queryString` holds **every** query key of the request. `?a=1` gives `"a": "1"`,
//! `?a=1&a=2` gives `"a": ["1", "2"]` and `?debug` gives `"debug": true`. Function URL events use
//! the same object. [`QueryValue`] models the three forms and writes each back as it came;
//! [`to_query_string`] rebuilds the URL's query from the map.
//!
//! ```
//! use std::collections::BTreeMap;
//! use scf_events::custom_serde::query::{QueryValue, to_query_string};
//!
//! let q: BTreeMap<String, QueryValue> =
//!     serde_json::from_str(r#"{"a":["1","2"],"debug":true,"name":"Zoë"}"#).unwrap();
//! assert_eq!(q["a"].values().collect::<Vec<_>>(), ["1", "2"]);
//! assert!(q["debug"].is_flag());
//! assert_eq!(q["name"].first(), Some("Zoë"));
//! assert_eq!(to_query_string(&q), "a=1&a=2&debug&name=Zo%C3%AB");
//! ```

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One key's value in `queryString`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueryValue {
    /// `?key=value`: a JSON string (may be `""`).
    One(String),
    /// `?key=a&key=b`: a JSON array of strings.
    Many(Vec<String>),
    /// `?key` (no `=`): JSON `true`.
    Flag,
}

impl Default for QueryValue {
    /// `One("")`, as `?key=` gives.
    fn default() -> Self {
        Self::One(String::new())
    }
}

impl QueryValue {
    /// The first value; `None` for a flag or an empty array.
    pub fn first(&self) -> Option<&str> {
        match self {
            Self::One(v) => Some(v),
            Self::Many(vs) => vs.first().map(String::as_str),
            Self::Flag => None,
        }
    }

    /// Every value in order (none for a flag).
    pub fn values(&self) -> impl Iterator<Item = &str> + '_ {
        let slice: &[String] = match self {
            Self::One(v) => std::slice::from_ref(v),
            Self::Many(vs) => vs,
            Self::Flag => &[],
        };
        slice.iter().map(String::as_str)
    }

    /// Whether the key came without `=`.
    pub fn is_flag(&self) -> bool {
        matches!(self, Self::Flag)
    }
}

impl From<&str> for QueryValue {
    fn from(v: &str) -> Self {
        Self::One(v.to_owned())
    }
}

impl From<String> for QueryValue {
    fn from(v: String) -> Self {
        Self::One(v)
    }
}

impl From<Vec<String>> for QueryValue {
    fn from(v: Vec<String>) -> Self {
        Self::Many(v)
    }
}

impl Serialize for QueryValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::One(v) => serializer.serialize_str(v),
            Self::Many(vs) => vs.serialize(serializer),
            Self::Flag => serializer.serialize_bool(true),
        }
    }
}

impl<'de> Deserialize<'de> for QueryValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QueryValueVisitor)
    }
}

struct QueryValueVisitor;

impl<'de> Visitor<'de> for QueryValueVisitor {
    type Value = QueryValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a query value: a string, an array of strings, or true")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<QueryValue, E> {
        Ok(QueryValue::One(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<QueryValue, E> {
        Ok(QueryValue::One(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<QueryValue, E> {
        if v {
            Ok(QueryValue::Flag)
        } else {
            Err(E::invalid_value(de::Unexpected::Bool(false), &self))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<QueryValue, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(v) = seq.next_element::<String>()? {
            values.push(v);
        }
        Ok(QueryValue::Many(values))
    }
}

/// Characters escaped in a rebuilt query key or value: everything but RFC 3986's unreserved ones.
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Rebuilds a URL query (without the `?`) from `queryString`: keys and values percent-encoded, an
/// array repeats its key, a flag gives a bare key. Keys come in the map's iteration order.
pub fn to_query_string<'a, I>(query: I) -> String
where
    I: IntoIterator<Item = (&'a String, &'a QueryValue)>,
{
    let mut out = String::new();
    let mut pair = |key: &str, value: Option<&str>| {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(key, QUERY_ESCAPE));
        if let Some(value) = value {
            out.push('=');
            out.extend(utf8_percent_encode(value, QUERY_ESCAPE));
        }
    };
    for (key, value) in query {
        match value {
            QueryValue::One(v) => pair(key, Some(v)),
            QueryValue::Many(vs) => vs.iter().for_each(|v| pair(key, Some(v))),
            QueryValue::Flag => pair(key, None),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn three_forms_round_trip() {
        for (input, first, n) in [
            (json!("v"), Some("v"), 1),
            (json!(""), Some(""), 1),
            (json!(["a", "b"]), Some("a"), 2),
            (json!([]), None, 0),
            (json!(true), None, 0),
        ] {
            let q: QueryValue = serde_json::from_value(input.clone()).unwrap();
            assert_eq!(q.first(), first, "{input}");
            assert_eq!(q.values().count(), n, "{input}");
            assert_eq!(serde_json::to_value(&q).unwrap(), input);
        }
        assert!(
            serde_json::from_value::<QueryValue>(json!(true))
                .unwrap()
                .is_flag()
        );
    }

    #[test]
    fn other_forms_are_errors() {
        for bad in [json!(false), json!(1), json!(null), json!([1]), json!({})] {
            let e = serde_json::from_value::<QueryValue>(bad.clone()).unwrap_err();
            assert!(
                e.to_string().contains("query value") || e.to_string().contains("string"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn rebuilds_the_query() {
        let q: BTreeMap<String, QueryValue> = serde_json::from_value(json!({
            "b": ["1", "2"], "a b": "x&y=z", "flag": true, "e": ""
        }))
        .unwrap();
        assert_eq!(to_query_string(&q), "a%20b=x%26y%3Dz&b=1&b=2&e=&flag");
        assert_eq!(to_query_string(&BTreeMap::new()), "");
    }
}
