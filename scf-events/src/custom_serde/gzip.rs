//! JSON documents sent as base64 of a gzip stream (CLS's `clslogs.data`).
//!
//! [`decode`] takes the base64 text (standard alphabet, padding optional, surrounding
//! whitespace ignored), recognises gzip by its `1f 8b` magic bytes, falls back to zlib and then to
//! plain JSON bytes, and parses the JSON. [`encode`] writes base64(gzip(JSON)). The
//! [`base64_gzip_json`] module wraps both for `#[serde(with = ...)]`.
//!
//! Decompressed output is capped at [`MAX_DECODED_LEN`] bytes, so a small hostile input cannot
//! make the decoder allocate without bound.
//!
//! ```
//! use scf_events::custom_serde::gzip;
//!
//! let wire = gzip::encode(&serde_json::json!({"topic_id": "t-1"})).unwrap();
//! let back: serde_json::Value = gzip::decode(&wire).unwrap();
//! assert_eq!(back["topic_id"], "t-1");
//! ```

use std::fmt;
use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use flate2::Compression;
use flate2::read::{GzDecoder, ZlibDecoder};
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest decompressed payload [`decode`] accepts: 64 MiB.
///
/// CLS batches are at most 128 KB after compression, so real payloads stay far below this.
pub const MAX_DECODED_LEN: u64 = 64 * 1024 * 1024;

/// Why a base64+gzip JSON payload could not be decoded or encoded.
#[derive(Debug)]
pub struct GzipJsonError {
    kind: ErrorKind,
}

#[derive(Debug)]
enum ErrorKind {
    Base64(base64::DecodeError),
    Decompress(std::io::Error),
    TooLarge,
    Json(serde_json::Error),
    Encode(std::io::Error),
}

impl GzipJsonError {
    fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    /// Whether the text was not valid base64.
    pub fn is_base64(&self) -> bool {
        matches!(self.kind, ErrorKind::Base64(_))
    }

    /// Whether the bytes were not a valid gzip or zlib stream, or inflated past
    /// [`MAX_DECODED_LEN`].
    pub fn is_decompress(&self) -> bool {
        matches!(self.kind, ErrorKind::Decompress(_) | ErrorKind::TooLarge)
    }

    /// Whether the decompressed bytes were not the expected JSON (or the value could not be
    /// written as JSON).
    pub fn is_json(&self) -> bool {
        matches!(self.kind, ErrorKind::Json(_))
    }
}

impl fmt::Display for GzipJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Base64(e) => write!(f, "payload is not valid base64: {e}"),
            ErrorKind::Decompress(e) => {
                write!(f, "payload is not a valid gzip or zlib stream: {e}")
            }
            ErrorKind::TooLarge => {
                write!(
                    f,
                    "decompressed payload is larger than {MAX_DECODED_LEN} bytes"
                )
            }
            ErrorKind::Json(e) => write!(f, "decompressed payload is not the expected JSON: {e}"),
            ErrorKind::Encode(e) => write!(f, "could not gzip the payload: {e}"),
        }
    }
}

impl std::error::Error for GzipJsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Base64(e) => Some(e),
            ErrorKind::Decompress(e) | ErrorKind::Encode(e) => Some(e),
            ErrorKind::Json(e) => Some(e),
            ErrorKind::TooLarge => None,
        }
    }
}

/// Reads all of `reader`, failing once more than [`MAX_DECODED_LEN`] bytes come out.
fn read_capped(reader: impl Read) -> Result<Vec<u8>, GzipJsonError> {
    read_limited(reader, MAX_DECODED_LEN)
}

fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, GzipJsonError> {
    let mut out = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| GzipJsonError::new(ErrorKind::Decompress(e)))?;
    if out.len() as u64 > limit {
        return Err(GzipJsonError::new(ErrorKind::TooLarge));
    }
    Ok(out)
}

/// Turns the raw (base64-decoded) bytes into JSON bytes: gunzip, else inflate zlib, else as-is.
pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>, GzipJsonError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return read_capped(GzDecoder::new(bytes));
    }
    // A zlib header is 0x78 followed by a byte that makes the pair a multiple of 31.
    if bytes.len() >= 2
        && bytes[0] & 0x0f == 8
        && (u16::from(bytes[0]) << 8 | u16::from(bytes[1])) % 31 == 0
        && let Ok(out) = read_capped(ZlibDecoder::new(bytes))
    {
        return Ok(out);
    }
    Ok(bytes.to_vec())
}

/// Decodes base64 of gzip (or zlib, or plain) JSON into `T`.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, GzipJsonError> {
    let text = text.trim();
    let raw = STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|e| GzipJsonError::new(ErrorKind::Base64(e)))?;
    let json = decompress(&raw)?;
    serde_json::from_slice(&json).map_err(|e| GzipJsonError::new(ErrorKind::Json(e)))
}

/// Encodes `value` as base64 (standard alphabet, padded) of gzip-compressed JSON.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<String, GzipJsonError> {
    let json = serde_json::to_vec(value).map_err(|e| GzipJsonError::new(ErrorKind::Json(e)))?;
    let mut gz = GzEncoder::new(
        Vec::with_capacity(json.len() / 2 + 32),
        Compression::default(),
    );
    gz.write_all(&json)
        .map_err(|e| GzipJsonError::new(ErrorKind::Encode(e)))?;
    let bytes = gz
        .finish()
        .map_err(|e| GzipJsonError::new(ErrorKind::Encode(e)))?;
    Ok(STANDARD.encode(bytes))
}

/// `#[serde(with = "base64_gzip_json")]`: a field whose wire form is a base64 string of gzip JSON.
///
/// Deserialising decodes and parses into the field's type (a failure is a serde error naming the
/// step that failed); serialising writes base64(gzip(JSON)) again. The compressed bytes may differ
/// from the input's, the decoded JSON does not.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Inner { n: u32 }
///
/// #[derive(Serialize, Deserialize, PartialEq, Debug)]
/// struct Outer {
///     #[serde(with = "scf_events::custom_serde::gzip::base64_gzip_json")]
///     data: Inner,
/// }
///
/// let out = Outer { data: Inner { n: 7 } };
/// let text = serde_json::to_string(&out).unwrap();
/// assert!(text.starts_with(r#"{"data":"H4sI"#)); // base64 of the gzip magic
/// assert_eq!(serde_json::from_str::<Outer>(&text).unwrap(), out);
/// ```
pub mod base64_gzip_json {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Decodes the base64 string and parses its gzip-compressed JSON as `T`.
    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned,
    {
        let text = String::deserialize(deserializer)?;
        super::decode(&text).map_err(D::Error::custom)
    }

    /// Writes `value` as base64 of gzip-compressed JSON.
    pub fn serialize<S, T>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        let text = super::encode(value).map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::ZlibEncoder;
    use serde_json::{Value, json};

    #[test]
    fn round_trips_through_gzip() {
        let v = json!({"topic_id": "a", "records": [{"content": "x", "timestamp": "1605578090000000"}]});
        let text = encode(&v).unwrap();
        let raw = STANDARD.decode(&text).unwrap();
        assert_eq!(&raw[..2], &[0x1f, 0x8b]);
        assert_eq!(decode::<Value>(&text).unwrap(), v);
    }

    #[test]
    fn accepts_zlib_plain_json_and_missing_padding() {
        let v = json!({"a": [1, 2, 3]});
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(v.to_string().as_bytes()).unwrap();
        let zlib = STANDARD.encode(z.finish().unwrap());
        assert_eq!(decode::<Value>(&zlib).unwrap(), v);

        let plain = STANDARD.encode(v.to_string());
        assert_eq!(decode::<Value>(&plain).unwrap(), v);
        assert_eq!(decode::<Value>(plain.trim_end_matches('=')).unwrap(), v);
        assert_eq!(decode::<Value>(&format!("  {plain}\n")).unwrap(), v);
    }

    #[test]
    fn errors_name_the_failing_step() {
        let e = decode::<Value>("not base64!").unwrap_err();
        assert!(e.is_base64(), "{e}");
        assert!(e.to_string().contains("base64"));

        // gzip magic followed by garbage
        let e = decode::<Value>(&STANDARD.encode([0x1f, 0x8b, 1, 2, 3])).unwrap_err();
        assert!(e.is_decompress(), "{e}");

        let e = decode::<Value>(&STANDARD.encode("{not json")).unwrap_err();
        assert!(e.is_json(), "{e}");
        assert!(e.to_string().contains("JSON"));
    }

    #[test]
    fn caps_decompressed_size() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&[b' '; 4096]).unwrap();
        let bomb = gz.finish().unwrap();
        let e = read_limited(GzDecoder::new(&bomb[..]), 4095).unwrap_err();
        assert!(e.is_decompress());
        assert!(e.to_string().contains("larger than"), "{e}");
        assert_eq!(
            read_limited(GzDecoder::new(&bomb[..]), 4096).unwrap().len(),
            4096
        );
    }
}
