//! The lenient helpers of `scf_events::custom_serde` and the timer trigger's cron parser. The
//! first byte picks the helper, the rest is its input:
//!
//! - JSON for the serde helpers (`boolean`, `header`, `list`, `query`, `map`, `number`, `time`'s
//!   six timestamp forms, `gzip::base64_gzip_json`): what parses serialises back to a value that
//!   parses to the same thing;
//! - text for the timestamp parsers (`time::*::parse`, `to_*`): agreement between the parse and
//!   the number it read; for `gzip::decode` and `decompress` (bytes): an error, never a panic,
//!   and `encode` then `decode` gives the value back;
//! - text for `timer::cron::Cron::parse`: an error or a schedule whose next fire time, from a
//!   fixed instant, is later than it.
#![no_main]

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use scf_events::custom_serde::boolean::BoolOrString;
use scf_events::custom_serde::header::OneOrMany;
use scf_events::custom_serde::list::CommaList;
use scf_events::custom_serde::query::{QueryValue, to_query_string};
use scf_events::custom_serde::{gzip, time};
use scf_events::timer::cron::Cron;
use scf_fuzz::assert_round_trip;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Bool(#[serde(with = "scf_events::custom_serde::boolean::bool_or_string")] bool);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Header(#[serde(with = "scf_events::custom_serde::header::header_value")] Vec<String>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct List(#[serde(with = "scf_events::custom_serde::list::comma_list_or_array")] Vec<String>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Map(
    #[serde(deserialize_with = "scf_events::custom_serde::map::null_as_empty_map")]
    BTreeMap<String, QueryValue>,
);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Defaulted(
    #[serde(deserialize_with = "scf_events::custom_serde::map::null_as_default")] Vec<OneOrMany>,
);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct U64(#[serde(with = "scf_events::custom_serde::number::string_or_u64")] u64);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct I64(#[serde(with = "scf_events::custom_serde::number::string_or_i64")] i64);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Rfc3339(#[serde(with = "time::rfc3339_opt_fraction")] DateTime<FixedOffset>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct UnixSeconds(#[serde(with = "time::unix_seconds")] DateTime<Utc>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct EpochMillis(#[serde(with = "time::epoch_millis_str")] DateTime<Utc>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Micros(#[serde(with = "time::micros_str")] DateTime<Utc>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct SecondsMillis(#[serde(with = "time::seconds_millis_str")] DateTime<Utc>);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Gzip(#[serde(with = "gzip::base64_gzip_json")] Value);

fn json<T>(data: &[u8])
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(parsed) = serde_json::from_slice::<T>(data) {
        assert_round_trip(&parsed);
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 20 {
        0 => json::<Bool>(rest),
        1 => json::<BoolOrString>(rest),
        2 => json::<Header>(rest),
        3 => {
            json::<OneOrMany>(rest);
            json::<Defaulted>(rest);
        }
        4 => {
            json::<List>(rest);
            if let Ok(list) = serde_json::from_slice::<CommaList>(rest) {
                assert_round_trip(&list);
                assert_eq!(list.items().count(), list.to_vec().len());
            }
        }
        5 => {
            json::<QueryValue>(rest);
            if let Ok(map) = serde_json::from_slice::<Map>(rest) {
                assert_round_trip(&map);
                let _ = to_query_string(&map.0);
            }
        }
        6 => {
            json::<U64>(rest);
            json::<I64>(rest);
        }
        7 => json::<Rfc3339>(rest),
        8 => json::<UnixSeconds>(rest),
        9 => json::<EpochMillis>(rest),
        10 => json::<Micros>(rest),
        11 => json::<SecondsMillis>(rest),
        12 => json::<Gzip>(rest),
        13 => {
            // Raw (base64-decoded) bytes: gunzip, inflate or as they are; bounded, never a panic.
            let out = gzip::decompress(rest);
            let compressed =
                rest.starts_with(&[0x1f, 0x8b]) || rest.first().is_some_and(|b| b & 0x0f == 8);
            if !compressed {
                assert_eq!(out.expect("plain bytes are kept").as_slice(), rest);
            }
        }
        14 => {
            if let Some(text) = text(rest) {
                let _ = gzip::decode::<Value>(text);
            }
            if let Ok(value) = serde_json::from_slice::<Value>(rest) {
                let encoded = gzip::encode(&value).expect("any JSON value encodes");
                // As the value's own JSON text reads back (serde_json's float parsing may
                // differ from the original in the last digit).
                let text = serde_json::to_vec(&value).expect("a value serialises");
                let expected: Value = serde_json::from_slice(&text).expect("its text parses");
                assert_eq!(gzip::decode::<Value>(&encoded).expect("decodes"), expected);
            }
        }
        15 => {
            let Some(text) = text(rest) else { return };
            if let Some(t) = time::unix_seconds::parse(text) {
                let secs = time::unix_seconds::to_secs(text).expect("parse read a number");
                assert_eq!(time::unix_seconds::from_secs(secs), Some(t));
            }
            if let Some(t) = time::epoch_millis_str::parse(text) {
                let ms = time::epoch_millis_str::to_millis(text).expect("parse read a number");
                assert_eq!(time::epoch_millis_str::from_millis(ms), Some(t));
            }
        }
        16 => {
            let Some(text) = text(rest) else { return };
            if let Some(t) = time::micros_str::parse(text) {
                let us = time::micros_str::to_micros(text).expect("parse read a number");
                assert_eq!(time::micros_str::from_micros(us), Some(t));
            }
            if let Some(t) = time::seconds_millis_str::parse(text) {
                let ms = time::seconds_millis_str::to_millis(text).expect("parse read a number");
                assert_eq!(t.timestamp_millis(), ms);
            }
            let _ = time::rfc3339_opt_fraction::parse(text);
        }
        _ => {
            let Some(text) = text(rest) else { return };
            let Ok(cron) = Cron::parse(text) else { return };
            let _ = (cron.form(), cron.as_str());
            let from = Utc.with_ymd_and_hms(2026, 3, 1, 12, 30, 15).unwrap();
            if let Some(next) = cron.next_after(&from) {
                assert!(
                    next > from,
                    "{text:?}: next fire {next} is not after {from}"
                );
                if let Some(after) = cron.next_after(&next) {
                    assert!(after > next, "{text:?}: {after} is not after {next}");
                }
            }
        }
    }
});
