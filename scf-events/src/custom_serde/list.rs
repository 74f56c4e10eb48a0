//! Lists that arrive as a comma-separated string or as a JSON array.
//!
//! CMQ's `msgTag` has been seen as `"tag1,tag2"`, `"aaaa, bbbbb, cccc"`, `["tag1","tag2"]`, `""`
//! and `null`. [`CommaList`] keeps whichever form arrived and yields the items; the
//! [`comma_list_or_array`] module turns the same inputs into a plain `Vec<String>`.
//!
//! ```
//! use scf_events::custom_serde::list::CommaList;
//!
//! let tags: CommaList = serde_json::from_str(r#""aaaa, bbbbb, cccc""#).unwrap();
//! assert_eq!(tags.items().collect::<Vec<_>>(), ["aaaa", "bbbbb", "cccc"]);
//! assert_eq!(serde_json::to_string(&tags).unwrap(), r#""aaaa, bbbbb, cccc""#);
//!
//! let tags: CommaList = serde_json::from_str(r#"["tag1","tag2"]"#).unwrap();
//! assert_eq!(tags.items().collect::<Vec<_>>(), ["tag1", "tag2"]);
//! ```

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How the list looked on the wire.
#[derive(Debug, Clone, PartialEq)]
enum Wire {
    Null,
    Text(String),
    Array(Vec<String>),
}

impl Serialize for Wire {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Wire::Null => serializer.serialize_unit(),
            Wire::Text(s) => serializer.serialize_str(s),
            Wire::Array(items) => items.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Wire {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WireVisitor)
    }
}

struct WireVisitor;

impl<'de> Visitor<'de> for WireVisitor {
    type Value = Wire;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a comma-separated string, an array of strings, or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Wire, E> {
        Ok(Wire::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Wire, E> {
        Ok(Wire::Null)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Wire, E> {
        Ok(Wire::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Wire, E> {
        Ok(Wire::Text(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Wire, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(Wire::Array(items))
    }
}

impl Default for Wire {
    fn default() -> Self {
        Wire::Text(String::new())
    }
}

/// A list sent as a comma-separated string, a JSON array of strings, or `null`; wire form kept.
///
/// [`items`](Self::items) splits a string on `,`, trims each item and drops empty ones, so `""`,
/// `null` and `[]` all mean "no items". `Default` is the empty string.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommaList {
    wire: Wire,
}

impl CommaList {
    /// A list that serialises as a JSON array.
    pub fn array<I, S>(items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            wire: Wire::Array(items.into_iter().map(Into::into).collect()),
        }
    }

    /// A list that serialises as the given string, e.g. `"a,b"`.
    pub fn joined(text: impl Into<String>) -> Self {
        Self {
            wire: Wire::Text(text.into()),
        }
    }

    /// The items: trimmed, without empty ones.
    pub fn items(&self) -> impl Iterator<Item = &str> + '_ {
        let (text, array): (Option<&str>, &[String]) = match &self.wire {
            Wire::Null => (None, &[]),
            Wire::Text(s) => (Some(s.as_str()), &[]),
            Wire::Array(v) => (None, v.as_slice()),
        };
        text.into_iter()
            .flat_map(|s| s.split(','))
            .chain(array.iter().map(String::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items().next().is_none()
    }

    /// The items as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.items().map(str::to_owned).collect()
    }

    /// Whether the list arrived as a JSON array.
    pub fn is_array(&self) -> bool {
        matches!(self.wire, Wire::Array(_))
    }
}

/// `#[serde(with = "comma_list_or_array")]` for a `Vec<String>` field: accepts `"a,b"`, `"a, b"`,
/// `["a","b"]`, `""` and `null`; serialises a JSON array.
///
/// Use [`CommaList`] instead when the wire form must survive a round trip.
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Msg {
///     #[serde(with = "scf_events::custom_serde::list::comma_list_or_array")]
///     tags: Vec<String>,
/// }
/// let msg: Msg = serde_json::from_str(r#"{"tags":"a, b,,c"}"#).unwrap();
/// assert_eq!(msg.tags, ["a", "b", "c"]);
/// ```
pub mod comma_list_or_array {
    use super::{CommaList, Deserialize, Deserializer, Serialize, Serializer};

    /// Deserialises the items of a comma-separated string or a string array.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        CommaList::deserialize(deserializer).map(|list| list.to_vec())
    }

    /// Serialises the items as a JSON array.
    pub fn serialize<S: Serializer>(items: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        items.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(v: serde_json::Value) -> Vec<String> {
        serde_json::from_value::<CommaList>(v).unwrap().to_vec()
    }

    #[test]
    fn splits_trims_and_drops_empty() {
        assert_eq!(items(json!("tag1,tag2")), ["tag1", "tag2"]);
        assert_eq!(items(json!("aaaa, bbbbb, cccc")), ["aaaa", "bbbbb", "cccc"]);
        assert_eq!(items(json!(["tag1", " tag2 "])), ["tag1", "tag2"]);
        assert!(items(json!("")).is_empty());
        assert!(items(json!(" , ")).is_empty());
        assert!(items(json!(null)).is_empty());
        assert!(items(json!([])).is_empty());
    }

    #[test]
    fn keeps_wire_form() {
        for v in [
            json!("a, b"),
            json!(["a", "b"]),
            json!(""),
            json!(null),
            json!([]),
        ] {
            let list: CommaList = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&list).unwrap(), v);
        }
        assert!(CommaList::array(["x"]).is_array());
        assert_eq!(
            serde_json::to_value(CommaList::joined("x,y")).unwrap(),
            json!("x,y")
        );
        assert!(CommaList::default().is_empty());
    }

    #[test]
    fn rejects_non_string_items() {
        assert!(serde_json::from_value::<CommaList>(json!([1, 2])).is_err());
        let e = serde_json::from_value::<CommaList>(json!(5)).unwrap_err();
        assert!(e.to_string().contains("comma-separated string"), "{e}");
        assert!(serde_json::from_value::<CommaList>(json!({})).is_err());
    }
}
