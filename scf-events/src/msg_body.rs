//! Message bodies that arrive as a JSON string and are read as a user type `T`.
//!
//! Included (with `#[path]`) by the queue modules that carry user payloads, so each feature builds
//! on its own.
//!
//! A body is always a string on the wire. A `T` that asks serde for a string (`String`, `Box<str>`,
//! `Cow<str>`) receives the body unchanged; a `T` that asks for bytes receives its UTF-8 bytes; any
//! other `T` (a struct, a map, a number, `serde_json::Value`) is parsed from the JSON **inside** the
//! string. For a self-describing `T` such as `serde_json::Value`, a body that is not JSON is kept as
//! a JSON string rather than failing.
//!
//! Serialising does the reverse: a `T` that serialises as a string is written unchanged, anything
//! else is written as a string of its JSON.

use serde::de::{self, Deserializer, IntoDeserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// Deserialises the body string as `T`.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let raw = String::deserialize(deserializer)?;
    T::deserialize(BodyDeserializer { raw }).map_err(de::Error::custom)
}

/// Serialises `T` as the body string.
pub(crate) fn serialize<S, T>(body: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    T: Serialize,
{
    let json = serde_json::to_string(body).map_err(serde::ser::Error::custom)?;
    if json.starts_with('"') {
        // `T` is string-like: write the text itself, not its JSON quoting.
        let text: String = serde_json::from_str(&json).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    } else {
        serializer.serialize_str(&json)
    }
}

/// Hands the raw body to a string-like `T`, or its parsed JSON to anything else.
struct BodyDeserializer {
    raw: String,
}

impl BodyDeserializer {
    /// The body's JSON, or the body as a JSON string when it is not JSON.
    fn lenient_value(&self) -> Value {
        serde_json::from_str(&self.raw).unwrap_or_else(|_| Value::String(self.raw.clone()))
    }

    /// The body's JSON; an error naming the problem when it is not JSON.
    fn strict_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.raw)
            .map_err(|e| de::Error::custom(format_args!("message body is not valid JSON ({e})")))
    }
}

macro_rules! via_json {
    ($($method:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.strict_value()?.$method(visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for BodyDeserializer {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.lenient_value().deserialize_any(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_string(self.raw)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_string(self.raw)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_byte_buf(self.raw.into_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_byte_buf(self.raw.into_bytes())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        // The body is always present on the wire; the inner type decides how to read it.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.strict_value()?.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.strict_value()?.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.strict_value()?
            .deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.strict_value()?
            .deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // A bare word such as `Created` names a unit variant; anything else is JSON.
        match self.strict_value() {
            Ok(value) => value.deserialize_enum(name, variants, visitor),
            Err(_) => IntoDeserializer::<serde_json::Error>::into_deserializer(self.raw)
                .deserialize_enum(name, variants, visitor),
        }
    }

    via_json!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn body<T: for<'de> Deserialize<'de>>(raw: &str) -> Result<T, serde_json::Error> {
        deserialize(Value::String(raw.to_owned()))
    }

    fn write<T: Serialize>(t: &T) -> Value {
        serialize(t, serde_json::value::Serializer).unwrap()
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Order {
        id: u32,
    }

    #[test]
    fn string_bodies_are_kept_verbatim() {
        for raw in ["hello", "{\"id\":1}", "\"quoted\"", "", "123", "null"] {
            assert_eq!(body::<String>(raw).unwrap(), raw);
            assert_eq!(write(&raw.to_owned()), json!(raw));
        }
        assert_eq!(body::<Option<String>>("x").unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn typed_bodies_are_parsed_from_the_json_inside() {
        assert_eq!(body::<Order>("{\"id\":7}").unwrap(), Order { id: 7 });
        assert_eq!(write(&Order { id: 7 }), json!("{\"id\":7}"));
        assert_eq!(body::<u64>("42").unwrap(), 42);
        assert_eq!(body::<BTreeMap<String, u8>>("{\"a\":1}").unwrap()["a"], 1);
        assert_eq!(body::<Vec<i32>>("[1,-2]").unwrap(), [1, -2]);
        let e = body::<Order>("not json").unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn value_bodies_are_json_when_they_can_be() {
        assert_eq!(body::<Value>("{\"a\":[1]}").unwrap(), json!({"a": [1]}));
        assert_eq!(body::<Value>("plain text").unwrap(), json!("plain text"));
        assert_eq!(write(&json!({"a": 1})), json!("{\"a\":1}"));
        assert_eq!(write(&json!("plain text")), json!("plain text"));
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Kind {
        Created,
        Moved { to: String },
    }

    #[test]
    fn enums_read_bare_words_and_json() {
        assert_eq!(body::<Kind>("Created").unwrap(), Kind::Created);
        assert_eq!(body::<Kind>("\"Created\"").unwrap(), Kind::Created);
        assert_eq!(
            body::<Kind>("{\"Moved\":{\"to\":\"x\"}}").unwrap(),
            Kind::Moved { to: "x".into() }
        );
    }
}
