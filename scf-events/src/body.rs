//! Request bodies: base64-decoded when flagged, parsed as JSON on request.
#![cfg_attr(
    not(any(feature = "apigw", feature = "function_url", feature = "clb")),
    allow(dead_code)
)]

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// Why a request body could not be read: it was flagged base64 but is not, or it is not the
/// expected JSON.
#[derive(Debug)]
pub struct BodyError {
    kind: BodyErrorKind,
}

#[derive(Debug)]
enum BodyErrorKind {
    Base64(base64::DecodeError),
    Json(serde_json::Error),
}

impl BodyError {
    /// Whether the body was flagged `isBase64Encoded` but is not valid base64.
    pub fn is_base64(&self) -> bool {
        matches!(self.kind, BodyErrorKind::Base64(_))
    }

    /// Whether the body is not the expected JSON.
    pub fn is_json(&self) -> bool {
        matches!(self.kind, BodyErrorKind::Json(_))
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyErrorKind::Base64(e) => {
                write!(
                    f,
                    "`body` is flagged isBase64Encoded but is not base64: {e}"
                )
            }
            BodyErrorKind::Json(e) => write!(f, "`body` is not the expected JSON: {e}"),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BodyErrorKind::Base64(e) => Some(e),
            BodyErrorKind::Json(e) => Some(e),
        }
    }
}

/// Decodes standard base64, padded or not, ignoring surrounding whitespace.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, BodyError> {
    let text = text.trim();
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|e| BodyError {
            kind: BodyErrorKind::Base64(e),
        })
}

/// Encodes bytes as standard, padded base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The body's bytes: `""` when absent, decoded when flagged, else the text's UTF-8 bytes.
pub(crate) fn bytes(body: Option<&str>, base64: bool) -> Result<Cow<'_, [u8]>, BodyError> {
    match body {
        None => Ok(Cow::Borrowed(&[])),
        Some(text) if base64 => decode_base64(text).map(Cow::Owned),
        Some(text) => Ok(Cow::Borrowed(text.as_bytes())),
    }
}

/// Parses the body's bytes as JSON into `T`.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    body: Option<&str>,
    base64: bool,
) -> Result<T, BodyError> {
    let raw = bytes(body, base64)?;
    serde_json::from_slice(&raw).map_err(|e| BodyError {
        kind: BodyErrorKind::Json(e),
    })
}

/// Case-insensitive lookup in a header map.
pub(crate) fn header<'a, V>(
    headers: &'a std::collections::BTreeMap<String, V>,
    name: &str,
) -> Option<&'a V> {
    headers.get(name).or_else(|| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_decode_when_flagged() {
        assert_eq!(&*bytes(None, true).unwrap(), b"");
        assert_eq!(&*bytes(Some("aGk="), false).unwrap(), b"aGk=");
        assert_eq!(&*bytes(Some("aGk="), true).unwrap(), b"hi");
        assert_eq!(&*bytes(Some(" aGk\n"), true).unwrap(), b"hi");
        let e = bytes(Some("%%%"), true).unwrap_err();
        assert!(
            e.is_base64() && e.to_string().contains("isBase64Encoded"),
            "{e}"
        );
        let e = json::<u8>(Some("x"), false).unwrap_err();
        assert!(e.is_json() && e.to_string().contains("JSON"), "{e}");
        assert_eq!(json::<u8>(Some("Nw=="), true).unwrap(), 7);
    }
}
