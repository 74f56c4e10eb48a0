//! Map fields that may arrive as `null`.
//!
//! API Gateway sends `pathParameters`, `queryStringParameters` and `headerParameters` as `{}` or
//! `null` when none is declared. [`null_as_empty_map`] reads `null` as an empty map (and, with
//! `#[serde(default)]`, an absent key too); the map is always written as an object.
//! [`null_as_default`] does the same for any `Default` type, e.g. an object that may be `null`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Event {
//!     #[serde(rename = "pathParameters", default,
//!             deserialize_with = "scf_events::custom_serde::map::null_as_empty_map")]
//!     path_parameters: BTreeMap<String, String>,
//! }
//! let e: Event = serde_json::from_str(r#"{"pathParameters":null}"#).unwrap();
//! assert!(e.path_parameters.is_empty());
//! ```

use serde::{Deserialize, Deserializer};

/// Reads `null` as an empty map (any map type that is `Default`), an object as itself.
///
/// Use with `#[serde(default, deserialize_with = "null_as_empty_map")]`.
pub fn null_as_empty_map<'de, D, M>(deserializer: D) -> Result<M, D::Error>
where
    D: Deserializer<'de>,
    M: Deserialize<'de> + Default,
{
    null_as_default(deserializer)
}

/// Reads `null` as `T::default()`, anything else as `T`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Event {
        #[serde(default, deserialize_with = "null_as_empty_map")]
        map: BTreeMap<String, String>,
    }

    #[test]
    fn null_absent_and_objects() {
        for input in [json!({"map": null}), json!({}), json!({"map": {}})] {
            let e: Event = serde_json::from_value(input).unwrap();
            assert!(e.map.is_empty());
            assert_eq!(serde_json::to_value(&e).unwrap(), json!({"map": {}}));
        }
        let e: Event = serde_json::from_value(json!({"map": {"id": "7"}})).unwrap();
        assert_eq!(e.map["id"], "7");
        let err = serde_json::from_value::<Event>(json!({"map": "x"})).unwrap_err();
        assert!(err.to_string().contains("map"), "{err}");
    }
}
