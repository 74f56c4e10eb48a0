//! TC3-HMAC-SHA256: verifying the signature of a Cloud API request, as TencentCloud API
//! [Signature v3](https://www.tencentcloud.com/document/api/1227/61798) defines it (the same page
//! is in every product's API documentation).
//!
//! The canonical request is rebuilt from the `SignedHeaders` list the client sent; the timestamp
//! may differ from the server's clock by 300 s at most; signatures are compared in constant time;
//! a (SecretId, Signature) pair is accepted once within 5 minutes (replays are refused).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// Largest accepted clock difference, seconds.
pub const MAX_SKEW_S: i64 = 300;
const REPLAY_WINDOW: Duration = Duration::from_secs(300);

fn fail(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request of a `POST /` with `signed` headers (`(lower-case name, value)` in the
/// order of the `SignedHeaders` list).
pub fn canonical_request(
    method: &str,
    query: &str,
    signed: &[(String, String)],
    body: &[u8],
) -> String {
    let mut headers = String::new();
    for (name, value) in signed {
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&value.trim().to_ascii_lowercase());
        headers.push('\n');
    }
    let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
    format!(
        "{method}\n/\n{query}\n{headers}\n{}\n{}",
        names.join(";"),
        sha256_hex(body)
    )
}

/// The key derived from `secret_key` for `date` and `service`.
fn signing_key(secret_key: &str, date: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac(&k_date, service.as_bytes());
    hmac(&k_service, b"tc3_request")
}

/// The string to sign for `canonical` at `timestamp` (scope `date/service/tc3_request`).
pub fn string_to_sign(timestamp: i64, date: &str, service: &str, canonical: &str) -> String {
    format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical.as_bytes())
    )
}

/// The hex signature of `string_to_sign`.
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    hex::encode(hmac(
        &signing_key(secret_key, date, service),
        string_to_sign.as_bytes(),
    ))
}

/// Verifies requests signed with one key pair.
#[derive(Debug)]
pub struct Verifier {
    secret_id: String,
    secret_key: String,
    seen: Mutex<HashMap<String, Instant>>,
}

impl Verifier {
    /// A verifier for the pair `secret_id` / `secret_key`.
    pub fn new(secret_id: &str, secret_key: &str) -> Verifier {
        Verifier {
            secret_id: secret_id.to_owned(),
            secret_key: secret_key.to_owned(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the `Authorization` header of a request with `method`, `query`, `headers` and
    /// `body`, at server time `now` (Unix seconds).
    pub fn verify(
        &self,
        method: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), ApiError> {
        let auth = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                fail(
                    "AuthFailure.SignatureFailure",
                    "the request is not signed (no Authorization header)",
                )
            })?;
        let rest = auth.strip_prefix("TC3-HMAC-SHA256 ").ok_or_else(|| {
            fail(
                "AuthFailure.SignatureFailure",
                "Authorization must use TC3-HMAC-SHA256",
            )
        })?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut given = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed_headers = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                given = Some(v);
            }
        }
        let (Some(credential), Some(signed_headers), Some(given)) =
            (credential, signed_headers, given)
        else {
            return Err(fail(
                "AuthFailure.SignatureFailure",
                "Authorization needs Credential, SignedHeaders and Signature",
            ));
        };
        let mut scope = credential.split('/');
        let (Some(secret_id), Some(date), Some(service), Some("tc3_request"), None) = (
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
            scope.next(),
        ) else {
            return Err(fail(
                "AuthFailure.SignatureFailure",
                "Credential must be <SecretId>/<date>/<service>/tc3_request",
            ));
        };
        if secret_id != self.secret_id {
            return Err(fail(
                "AuthFailure.SecretIdNotFound",
                format!("unknown SecretId {secret_id}"),
            ));
        }
        let timestamp: i64 = headers
            .get("x-tc-timestamp")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| {
                fail(
                    "AuthFailure.SignatureFailure",
                    "X-TC-Timestamp is missing or not a number",
                )
            })?;
        if (now - timestamp).abs() > MAX_SKEW_S {
            return Err(fail(
                "AuthFailure.SignatureExpire",
                format!(
                    "X-TC-Timestamp {timestamp} is more than {MAX_SKEW_S} s from the server time {now}"
                ),
            ));
        }
        let expected_date = chrono::DateTime::from_timestamp(timestamp, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        if date != expected_date {
            return Err(fail(
                "AuthFailure.SignatureFailure",
                format!(
                    "the credential date {date} is not the UTC date of X-TC-Timestamp ({expected_date})"
                ),
            ));
        }
        let mut signed = Vec::new();
        for name in signed_headers.split(';') {
            let name = name.trim().to_ascii_lowercase();
            let value = headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    fail(
                        "AuthFailure.SignatureFailure",
                        format!("signed header {name} is missing"),
                    )
                })?;
            signed.push((name, value.to_owned()));
        }
        let canonical = canonical_request(method, query, &signed, body);
        let to_sign = string_to_sign(timestamp, date, service, &canonical);
        let given = hex::decode(given)
            .map_err(|_| fail("AuthFailure.SignatureFailure", "Signature is not hex"))?;
        let mut mac = HmacSha256::new_from_slice(&signing_key(&self.secret_key, date, service))
            .expect("HMAC takes any key length");
        mac.update(to_sign.as_bytes());
        mac.verify_slice(&given).map_err(|_| {
            fail(
                "AuthFailure.SignatureFailure",
                "the signature does not match the request",
            )
        })?;
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now_i = Instant::now();
        seen.retain(|_, at| now_i.duration_since(*at) < REPLAY_WINDOW);
        let key = format!("{secret_id}/{}", hex::encode(&given));
        if seen.insert(key, now_i).is_some() {
            return Err(fail(
                "AuthFailure.SignatureFailure",
                "this signed request was already used (replay)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;

    #[test]
    fn the_published_vector() {
        assert_eq!(
            sha256_hex(PAYLOAD.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let signed = vec![
            (
                "content-type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            ),
            ("host".to_owned(), "cvm.tencentcloudapi.com".to_owned()),
        ];
        let canonical = canonical_request("POST", "", &signed, PAYLOAD.as_bytes());
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        let to_sign = string_to_sign(1551113065, "2019-02-25", "cvm", &canonical);
        assert_eq!(
            signature(
                "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
                "2019-02-25",
                "cvm",
                &to_sign
            ),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    fn headers(auth: &str, timestamp: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/json; charset=utf-8".parse().unwrap(),
        );
        h.insert("host", "cvm.tencentcloudapi.com".parse().unwrap());
        h.insert("x-tc-timestamp", timestamp.parse().unwrap());
        h.insert("authorization", auth.parse().unwrap());
        h
    }

    #[test]
    fn verifies_then_refuses_replays_skew_and_tampering() {
        let auth = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";
        let v = Verifier::new(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        );
        let h = headers(auth, "1551113065");
        assert_eq!(
            v.verify("POST", "", &h, PAYLOAD.as_bytes(), 1551113065 + 10),
            Ok(())
        );
        let replay = v
            .verify("POST", "", &h, PAYLOAD.as_bytes(), 1551113065 + 10)
            .unwrap_err();
        assert_eq!(replay.code, "AuthFailure.SignatureFailure");

        let v = Verifier::new(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        );
        let tampered = v.verify("POST", "", &h, b"{}", 1551113065).unwrap_err();
        assert_eq!(tampered.code, "AuthFailure.SignatureFailure");
        let expired = v
            .verify("POST", "", &h, PAYLOAD.as_bytes(), 1551113065 + 301)
            .unwrap_err();
        assert_eq!(expired.code, "AuthFailure.SignatureExpire");
        let other = Verifier::new("AKIDother", "x");
        let unknown = other
            .verify("POST", "", &h, PAYLOAD.as_bytes(), 1551113065)
            .unwrap_err();
        assert_eq!(unknown.code, "AuthFailure.SecretIdNotFound");
    }
}
