//! What the fuzz targets share: reading an input as an HTTP-like message (a head of lines, a
//! blank line, a body), building a `HeaderMap` from header lines, and the serde round trip.

use std::fmt::Debug;

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An input read as `line\nline\n...\n\nbody` (LF or CRLF line ends).
#[derive(Debug)]
pub struct Message<'a> {
    /// The head's lines, without their line ends.
    pub lines: Vec<&'a [u8]>,
    /// Everything after the first blank line (empty when there is none).
    pub body: &'a [u8],
}

/// Splits `data` at its first blank line.
pub fn split_message(data: &[u8]) -> Message<'_> {
    let (head, body) = match find(data, b"\n\n")
        .map(|i| (i, 2))
        .into_iter()
        .chain(find(data, b"\r\n\r\n").map(|i| (i, 4)))
        .min()
    {
        Some((at, len)) => (&data[..at], &data[at + len..]),
        None => (data, &data[data.len()..]),
    };
    let lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect();
    Message { lines, body }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `name: value` lines of `lines` as headers, repeated names kept; lines that are not a
/// valid header (as hyper would refuse them) are skipped.
pub fn header_map(lines: &[&[u8]]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim_ascii()),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

/// Serialising `parsed` and parsing the result again gives `parsed` back (through
/// `serde_json::Value`, where numbers are exact), and its JSON text parses again as `T`.
pub fn assert_round_trip<T>(parsed: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let value = serde_json::to_value(parsed).expect("a parsed value serialises");
    let again: T = match serde_json::from_value(value.clone()) {
        Ok(again) => again,
        Err(e) => panic!("{parsed:?} serialised as {value} does not parse again: {e}"),
    };
    assert_eq!(&again, parsed, "changed by a round trip through {value}");
    assert_parses_again(parsed);
}

/// The JSON text of `parsed` parses again as `T` (for types whose round trip is not exact:
/// JSON bodies re-read from text, where the last digit of a float may differ).
pub fn assert_parses_again<T>(parsed: &T)
where
    T: Serialize + DeserializeOwned + Debug,
{
    let text = serde_json::to_vec(parsed).expect("a parsed value serialises");
    if let Err(e) = serde_json::from_slice::<T>(&text) {
        panic!(
            "{parsed:?} serialised as {} does not parse again: {e}",
            String::from_utf8_lossy(&text)
        );
    }
}
