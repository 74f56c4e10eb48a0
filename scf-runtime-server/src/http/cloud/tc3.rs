//! TC3-HMAC-SHA256: verifying the signature of a Cloud API request, as TencentCloud API
//! [Signature v3](https://www.tencentcloud.com/document/api/1227/61798) defines it (the same page
//! is in every product's API documentation).
//!
//! The canonical request is rebuilt from the `SignedHeaders` list the client sent, which must
//! name `content-type` and `host` (what Tencent's SDKs sign; `x-tc-action` is bound to the
//! signature when the client lists it too); the credential scope must be
//! `<SecretId>/<UTC date of the timestamp>/scf/tc3_request`; the timestamp may differ from the
//! server's clock by 300 s at most, either way; signatures are compared in constant time; and
//! each signature is accepted once: it is remembered until its timestamp is out of the window,
//! in a file of the state folder when the verifier has one ([`Verifier::with_replay_file`]), so
//! a captured request cannot be sent again, under the same or another action, even after a
//! restart.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// Largest accepted clock difference, seconds.
pub const MAX_SKEW_S: i64 = 300;
/// The service name the credential scope must carry.
pub const SERVICE: &str = "scf";
/// Headers `SignedHeaders` must list.
pub const REQUIRED_SIGNED_HEADERS: [&str; 2] = ["content-type", "host"];

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
    canonical_request_at(method, "/", query, signed, body)
}

/// The canonical request of a request to `path` (the canonical URI) with `signed` headers, as
/// [`canonical_request`] for any path.
pub fn canonical_request_at(
    method: &str,
    path: &str,
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
        "{method}\n{path}\n{query}\n{headers}\n{}\n{}",
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

/// The signatures already accepted, each with the last second its timestamp is inside the
/// window; kept in a file when there is one (one `<expiry> <key>` line per signature, appended
/// and synced before the request is let through, compacted at open and as it grows).
#[derive(Debug, Default)]
struct ReplayCache {
    seen: HashMap<String, i64>,
    file: Option<(PathBuf, std::fs::File)>,
    appended: usize,
}

impl ReplayCache {
    fn open(path: &Path, now: i64) -> Result<ReplayCache, String> {
        let mut seen = HashMap::new();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for line in text.lines() {
                    if let Some((expiry, key)) = line.split_once(' ')
                        && let Ok(expiry) = expiry.parse::<i64>()
                        && expiry >= now
                    {
                        seen.insert(key.to_owned(), expiry);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
        let mut cache = ReplayCache {
            seen,
            file: None,
            appended: 0,
        };
        cache.rewrite(path)?;
        Ok(cache)
    }

    /// Writes the unexpired entries to a fresh file (mode 0600) and keeps it open for appends.
    fn rewrite(&mut self, path: &Path) -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        let staging = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staging)
            .map_err(fail)?;
        let mut text = String::new();
        for (key, expiry) in &self.seen {
            text.push_str(&format!("{expiry} {key}\n"));
        }
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        std::fs::rename(&staging, path).map_err(fail)?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(fail)?;
        self.file = Some((path.to_owned(), file));
        self.appended = 0;
        Ok(())
    }

    /// Records `key` (valid until `expiry`); `Ok(false)` when it was already seen.
    fn insert(&mut self, key: String, expiry: i64, now: i64) -> Result<bool, String> {
        if self.seen.get(&key).is_some_and(|e| *e >= now) {
            return Ok(false);
        }
        if self.seen.len() >= 1024 && self.seen.len().is_multiple_of(1024) {
            self.seen.retain(|_, e| *e >= now);
        }
        self.seen.insert(key.clone(), expiry);
        if let Some((path, file)) = &mut self.file {
            let path = path.clone();
            let line = format!("{expiry} {key}\n");
            file.write_all(line.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|e| format!("cannot record the signature in {}: {e}", path.display()))?;
            self.appended += 1;
            if self.appended > 4 * self.seen.len().max(256) {
                self.seen.retain(|_, e| *e >= now);
                self.rewrite(&path)?;
            }
        }
        Ok(true)
    }
}

/// Verifies requests signed with one key pair.
#[derive(Debug)]
pub struct Verifier {
    secret_id: String,
    secret_key: String,
    seen: Mutex<ReplayCache>,
}

impl Verifier {
    /// A verifier for the pair `secret_id` / `secret_key` that remembers the signatures it
    /// accepted in memory only (a restart forgets them; see [`Verifier::with_replay_file`]).
    pub fn new(secret_id: &str, secret_key: &str) -> Verifier {
        Verifier {
            secret_id: secret_id.to_owned(),
            secret_key: secret_key.to_owned(),
            seen: Mutex::new(ReplayCache::default()),
        }
    }

    /// A verifier that keeps the signatures it accepted in `file` (created 0600), so replays
    /// are refused after a restart too.
    pub fn with_replay_file(
        secret_id: &str,
        secret_key: &str,
        file: &Path,
    ) -> Result<Verifier, String> {
        let now = chrono::Utc::now().timestamp();
        Ok(Verifier {
            secret_id: secret_id.to_owned(),
            secret_key: secret_key.to_owned(),
            seen: Mutex::new(ReplayCache::open(file, now)?),
        })
    }

    /// Checks the `Authorization` header of a `POST /` (the Cloud API) with `method`, `query`,
    /// `headers` and `body`, at server time `now` (Unix seconds).
    pub fn verify(
        &self,
        method: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), ApiError> {
        self.verify_at(method, "/", query, headers, body, now)
    }

    /// Checks the `Authorization` header of a request to `path` (see [`Verifier::verify`]).
    pub fn verify_at(
        &self,
        method: &str,
        path: &str,
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
        if !bool::from(secret_id.as_bytes().ct_eq(self.secret_id.as_bytes())) {
            return Err(fail(
                "AuthFailure.SecretIdNotFound",
                "the SecretId of the Credential is not known to this server",
            ));
        }
        if service != SERVICE {
            return Err(fail(
                "AuthFailure.SignatureFailure",
                format!(
                    "the credential scope's service is {service:?}; this server is {SERVICE:?}"
                ),
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
        let skew = i128::from(now) - i128::from(timestamp);
        if skew.abs() > i128::from(MAX_SKEW_S) {
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
            if signed.iter().any(|(n, _)| *n == name) {
                return Err(fail(
                    "AuthFailure.SignatureFailure",
                    format!("SignedHeaders lists {name} twice"),
                ));
            }
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
        for required in REQUIRED_SIGNED_HEADERS {
            if !signed.iter().any(|(n, _)| n == required) {
                return Err(fail(
                    "AuthFailure.SignatureFailure",
                    format!(
                        "SignedHeaders must include {}",
                        REQUIRED_SIGNED_HEADERS.join(" and ")
                    ),
                ));
            }
        }
        let canonical = canonical_request_at(method, path, query, &signed, body);
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
        let expiry = timestamp.saturating_add(MAX_SKEW_S);
        let key = hex::encode(&given);
        let fresh = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, expiry, now)
            .map_err(|e| fail("InternalError", e))?;
        if !fresh {
            return Err(fail(
                "AuthFailure.SignatureFailure",
                "this signature was already used (a signed request is accepted once)",
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

    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    /// Headers of a request to `path` signed at `timestamp` over `signed_names` (from the
    /// request's content-type, host, x-tc-action) with credential scope service `service`.
    fn sign(
        path: &str,
        body: &[u8],
        timestamp: i64,
        signed_names: &[&str],
        service: &str,
    ) -> HeaderMap {
        let date = chrono::DateTime::from_timestamp(timestamp, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let values = [
            ("content-type", "application/json; charset=utf-8"),
            ("host", "127.0.0.1:9000"),
            ("x-tc-action", "GetAsyncEventStatus"),
        ];
        let signed: Vec<(String, String)> = signed_names
            .iter()
            .map(|n| {
                let v = values.iter().find(|(k, _)| k == n).unwrap().1;
                ((*n).to_owned(), v.to_owned())
            })
            .collect();
        let canonical = canonical_request_at("POST", path, "", &signed, body);
        let to_sign = string_to_sign(timestamp, &date, service, &canonical);
        let sig = signature(KEY, &date, service, &to_sign);
        let auth = format!(
            "TC3-HMAC-SHA256 Credential={ID}/{date}/{service}/tc3_request, SignedHeaders={}, Signature={sig}",
            signed_names.join(";")
        );
        let mut h = HeaderMap::new();
        for (k, v) in values {
            h.insert(k, v.parse().unwrap());
        }
        h.insert("x-tc-timestamp", timestamp.to_string().parse().unwrap());
        h.insert("authorization", auth.parse().unwrap());
        h
    }

    const T: i64 = 1_551_113_065;
    const SDK: [&str; 2] = ["content-type", "host"];

    #[test]
    fn verifies_then_refuses_replays_skew_and_tampering() {
        let v = Verifier::new(ID, KEY);
        let h = sign("/", PAYLOAD.as_bytes(), T, &SDK, "scf");
        assert_eq!(v.verify("POST", "", &h, PAYLOAD.as_bytes(), T + 10), Ok(()));
        let replay = v
            .verify("POST", "", &h, PAYLOAD.as_bytes(), T + 10)
            .unwrap_err();
        assert_eq!(replay.code, "AuthFailure.SignatureFailure");
        assert!(replay.message.contains("already used"), "{replay}");
        // Another action, same signature: still the one use.
        let mut swapped = h.clone();
        swapped.insert("x-tc-action", "Invoke".parse().unwrap());
        assert!(
            v.verify("POST", "", &swapped, PAYLOAD.as_bytes(), T + 20)
                .is_err()
        );

        let v = Verifier::new(ID, KEY);
        let tampered = v.verify("POST", "", &h, b"{}", T).unwrap_err();
        assert_eq!(tampered.code, "AuthFailure.SignatureFailure");
        for now in [T + 301, T - 301] {
            let expired = v
                .verify("POST", "", &h, PAYLOAD.as_bytes(), now)
                .unwrap_err();
            assert_eq!(expired.code, "AuthFailure.SignatureExpire", "{now}");
        }
        let other = Verifier::new("AKIDother", "x");
        let unknown = other
            .verify("POST", "", &h, PAYLOAD.as_bytes(), T)
            .unwrap_err();
        assert_eq!(unknown.code, "AuthFailure.SecretIdNotFound");
        // Signed for another path: refused on this one.
        let moved = sign("/status", b"", T, &SDK, "scf");
        assert!(v.verify_at("POST", "/metrics", "", &moved, b"", T).is_err());
        assert_eq!(v.verify_at("POST", "/status", "", &moved, b"", T), Ok(()));
    }

    #[test]
    fn the_scope_and_the_signed_headers_are_checked() {
        let v = Verifier::new(ID, KEY);
        let cvm = sign("/", b"{}", T, &SDK, "cvm");
        let err = v.verify("POST", "", &cvm, b"{}", T).unwrap_err();
        assert!(err.message.contains("service"), "{err}");
        for names in [&["host"][..], &["content-type"], &["x-tc-action", "host"]] {
            let h = sign("/", b"{}", T, names, "scf");
            let err = v.verify("POST", "", &h, b"{}", T).unwrap_err();
            assert!(
                err.message.contains("content-type and host"),
                "{names:?}: {err}"
            );
        }
        // The action bound: signed as GetAsyncEventStatus, sent as Invoke.
        let bound = sign(
            "/",
            b"{}",
            T,
            &["content-type", "host", "x-tc-action"],
            "scf",
        );
        let mut swapped = bound.clone();
        swapped.insert("x-tc-action", "Invoke".parse().unwrap());
        let err = v.verify("POST", "", &swapped, b"{}", T).unwrap_err();
        assert!(err.message.contains("does not match"), "{err}");
        assert_eq!(v.verify("POST", "", &bound, b"{}", T), Ok(()));
    }

    #[test]
    fn absurd_timestamps_are_refused_without_overflow() {
        let v = Verifier::new(ID, KEY);
        for ts in [i64::MIN, i64::MIN + 1, i64::MAX, -1] {
            let mut h = sign("/", b"{}", T, &SDK, "scf");
            h.insert("x-tc-timestamp", ts.to_string().parse().unwrap());
            for now in [T, i64::MAX, i64::MIN] {
                let err = v.verify("POST", "", &h, b"{}", now).unwrap_err();
                assert!(err.code.starts_with("AuthFailure."), "{ts} {now}: {err}");
            }
        }
    }

    #[test]
    fn a_signature_used_before_a_restart_stays_used_until_it_expires() {
        let dir = std::env::temp_dir().join(format!("scf-tc3-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("seen");
        let now = chrono::Utc::now().timestamp();
        // Stamped in the future: still inside the window long after it was first seen.
        let h = sign("/", b"{}", now + 290, &SDK, "scf");
        let v = Verifier::with_replay_file(ID, KEY, &file).unwrap();
        assert_eq!(v.verify("POST", "", &h, b"{}", now), Ok(()));
        assert!(v.verify("POST", "", &h, b"{}", now + 302).is_err());
        drop(v);
        let restarted = Verifier::with_replay_file(ID, KEY, &file).unwrap();
        let err = restarted
            .verify("POST", "", &h, b"{}", now + 302)
            .unwrap_err();
        assert!(err.message.contains("already used"), "{err}");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
