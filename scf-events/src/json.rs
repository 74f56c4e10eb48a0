//! The one JSON check events pass: the server runs it when it accepts an event (sync or async),
//! so what a function would refuse to parse is refused at once with a 400-class error instead
//! of being queued, retried and dead-lettered.
//!
//! It is serde_json's own parse of a `serde_json::Value`, with its limits, without building the
//! value: UTF-8 throughout (strings included), no lone surrogate escapes (`"\ud800"`), numbers
//! that fit an `f64` (`1e5000` does not), and at most 128 levels of nesting.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Checks that `bytes` is one JSON value (surrounding whitespace allowed) as
/// `serde_json::from_slice::<serde_json::Value>` would read it.
pub fn validate(bytes: &[u8]) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Check::deserialize(&mut de)?;
    de.end()
}

/// A value visited in full and dropped.
struct Check;

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Check, D::Error> {
        deserializer.deserialize_any(CheckVisitor)
    }
}

struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = Check;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Check, E> {
        if v.is_finite() {
            Ok(Check)
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_none<E: de::Error>(self) -> Result<Check, E> {
        Ok(Check)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Check, D::Error> {
        Check::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Check, A::Error> {
        while seq.next_element::<Check>()?.is_some() {}
        Ok(Check)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Check, A::Error> {
        while map.next_entry::<Check, Check>()?.is_some() {}
        Ok(Check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_value_parse_refuses_is_refused() {
        let deep_ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        let mut bad_utf8 = b"{\"a\": \"".to_vec();
        bad_utf8.extend_from_slice(&[0xff, 0xfe]);
        bad_utf8.extend_from_slice(b"\"}");
        let cases: [(&[u8], bool); 12] = [
            (b"{}", true),
            (
                b" {\"a\": [1, -2, 3.5e10, true, null, \"\\ud83d\\ude00\"]} ",
                true,
            ),
            (deep_ok.as_bytes(), true),
            (b"1e308", true),
            (b"1e5000", false),
            (b"-1e5000", false),
            (b"\"\\ud800\"", false),
            (b"{\"\\udc00\": 1}", false),
            (&bad_utf8, false),
            (deep.as_bytes(), false),
            (b"{} {}", false),
            (b"", false),
        ];
        for (bytes, ok) in cases {
            let value = serde_json::from_slice::<serde_json::Value>(bytes);
            assert_eq!(
                validate(bytes).is_ok(),
                ok,
                "{}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(40)])
            );
            // The same verdict as the function side's parse.
            assert_eq!(value.is_ok(), ok);
        }
    }
}
