//! The number, list, gzip and timestamp helpers, used from outside the crate the way a user would.

use scf_events::custom_serde::gzip::{self, base64_gzip_json};
use scf_events::custom_serde::list::{CommaList, comma_list_or_array};
use scf_events::custom_serde::number::{StringOrI64, StringOrU64, string_or_i64, string_or_u64};
use scf_events::custom_serde::time::{
    epoch_millis_str, micros_str, seconds_millis_str, unix_seconds,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A user's own event type, built from the wire-keeping helpers.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Kept {
    owner: StringOrU64,
    time: StringOrI64,
    tags: CommaList,
}

#[test]
fn wire_keeping_types_reproduce_the_input() {
    for input in [
        json!({"owner": "1253970026", "time": 1615430559146i64, "tags": "a, b"}),
        json!({"owner": 1253970026, "time": "1615430559146", "tags": ["a", "b"]}),
        json!({"owner": "n/a", "time": "-1", "tags": null}),
    ] {
        let kept: Kept = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(serde_json::to_value(&kept).unwrap(), input);
    }
    let kept: Kept =
        serde_json::from_value(json!({"owner": "1253970026", "time": "7", "tags": "a,,b "}))
            .unwrap();
    assert_eq!(kept.owner.value(), Some(1_253_970_026));
    assert_eq!(kept.time.value(), Some(7));
    assert_eq!(kept.tags.to_vec(), ["a", "b"]);
}

/// A user's own type, built from the normalising `with` modules.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Normalised {
    #[serde(with = "string_or_u64")]
    owner: u64,
    #[serde(with = "string_or_i64")]
    offset: i64,
    #[serde(with = "comma_list_or_array")]
    tags: Vec<String>,
    #[serde(with = "base64_gzip_json")]
    payload: Value,
}

#[test]
fn with_modules_normalise() {
    let payload = gzip::encode(&json!({"k": [1, 2]})).unwrap();
    let input = json!({"owner": "42", "offset": "-3", "tags": "x, y", "payload": payload});
    let n: Normalised = serde_json::from_value(input).unwrap();
    assert_eq!(n.owner, 42);
    assert_eq!(n.offset, -3);
    assert_eq!(n.tags, ["x", "y"]);
    assert_eq!(n.payload, json!({"k": [1, 2]}));
    let out = serde_json::to_value(&n).unwrap();
    assert_eq!(out["owner"], 42);
    assert_eq!(out["offset"], -3);
    assert_eq!(out["tags"], json!(["x", "y"]));
    assert_eq!(serde_json::from_value::<Normalised>(out).unwrap(), n);
}

#[test]
fn with_module_errors_point_at_the_field() {
    let payload = gzip::encode(&json!(null)).unwrap();
    let bad = json!({"owner": "forty-two", "offset": 1, "tags": "", "payload": payload});
    let e = serde_json::from_value::<Normalised>(bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("forty-two"), "{e}");
    let bad = json!({"owner": 1, "offset": 1, "tags": "", "payload": "!!"});
    let e = serde_json::from_value::<Normalised>(bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("base64"), "{e}");
}

#[test]
fn gzip_errors_are_classified() {
    let e = gzip::decode::<Value>("@@").unwrap_err();
    assert!(e.is_base64() && !e.is_json() && !e.is_decompress());
    let e = gzip::decode::<u32>(&gzip::encode(&json!("text")).unwrap()).unwrap_err();
    assert!(e.is_json());
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn integer_timestamp_helpers() {
    assert_eq!(unix_seconds::to_secs("1545205770"), Some(1_545_205_770));
    assert_eq!(
        epoch_millis_str::to_millis("1615430559146"),
        Some(1_615_430_559_146)
    );
    assert_eq!(
        micros_str::to_micros("1605578090000000"),
        Some(1_605_578_090_000_000)
    );
    assert_eq!(
        seconds_millis_str::to_millis("1591692977.774"),
        Some(1_591_692_977_774)
    );
    assert_eq!(seconds_millis_str::to_millis("not a time"), None);
}

#[cfg(feature = "chrono")]
#[test]
fn chrono_timestamp_helpers() {
    use scf_events::custom_serde::time::rfc3339_opt_fraction;
    let with = rfc3339_opt_fraction::parse("2019-08-16T10:48:49.000Z").unwrap();
    let without = rfc3339_opt_fraction::parse("2019-08-16T10:48:49Z").unwrap();
    assert_eq!(with, without);
    assert_eq!(
        seconds_millis_str::parse("1591692977.774")
            .unwrap()
            .to_rfc3339(),
        "2020-06-09T08:56:17.774+00:00"
    );
    assert_eq!(unix_seconds::parse("0").unwrap().timestamp(), 0);
    assert_eq!(
        epoch_millis_str::from_millis(1).unwrap().timestamp_millis(),
        1
    );
}
