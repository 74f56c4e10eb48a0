//! Who may call the server: with credentials configured (`[server.cloud_api]` key pair and/or
//! `[server] token`, or their environment variables), every request to a protected route must
//! carry either
//!
//! - a TC3-HMAC-SHA256 signature made with the key pair ([`Verifier`]; on the Cloud API the
//!   canonical URI is `/`, on the other routes the request's path), or
//! - the token, as `Authorization: Bearer <token>` or the `scf_token` cookie (which `/ui?token=…`
//!   sets for the dashboard), compared in constant time.
//!
//! Without credentials everything is open (the server refuses to listen beyond loopback then,
//! unless told `--insecure-listen`).

use http::HeaderMap;
use subtle::ConstantTimeEq as _;

use super::ApiError;
use super::tc3::Verifier;

/// The cookie the dashboard's token travels in.
pub const TOKEN_COOKIE: &str = "scf_token";

/// The credentials requests are checked against.
#[derive(Debug, Default)]
pub struct Auth {
    verifier: Option<Verifier>,
    token: Option<String>,
}

impl Auth {
    /// Checks TC3 signatures with `verifier` and accepts `token`, when given; with neither,
    /// every request passes.
    pub fn new(verifier: Option<Verifier>, token: Option<String>) -> Auth {
        Auth { verifier, token }
    }

    /// Whether requests must authenticate at all.
    pub fn is_enabled(&self) -> bool {
        self.verifier.is_some() || self.token.is_some()
    }

    /// Whether `candidate` is the configured token (constant time; `false` without a token).
    pub fn token_is(&self, candidate: &str) -> bool {
        self.token
            .as_deref()
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(candidate.as_bytes())))
    }

    /// Whether the request carries the token, in `Authorization: Bearer` or the cookie.
    pub fn has_token(&self, headers: &HeaderMap) -> bool {
        if self.token.is_none() {
            return false;
        }
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| self.token_is(t.trim()));
        bearer || cookie(headers, TOKEN_COOKIE).is_some_and(|t| self.token_is(&t))
    }

    /// Whether the request claims a TC3 signature (so its body must be read to check it).
    pub fn is_signed(headers: &HeaderMap) -> bool {
        headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("TC3-HMAC-SHA256 "))
    }

    /// Checks a request to `path` with `method`, `query`, `headers` and `body` at server time
    /// `now` (Unix seconds): the token, else the TC3 signature. Every refusal is an
    /// `AuthFailure.*` [`ApiError`].
    pub fn check(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), ApiError> {
        if !self.is_enabled() || self.has_token(headers) {
            return Ok(());
        }
        match &self.verifier {
            Some(verifier) if Auth::is_signed(headers) => {
                verifier.verify_at(method, path, query, headers, body, now)
            }
            _ => Err(self.refusal(headers)),
        }
    }

    /// Why a request without a valid signature or token is refused.
    fn refusal(&self, headers: &HeaderMap) -> ApiError {
        let accepted = match (&self.verifier, &self.token) {
            (Some(_), Some(_)) => "a TC3-HMAC-SHA256 signature or the bearer token",
            (Some(_), None) => "a TC3-HMAC-SHA256 signature",
            _ => "the bearer token (Authorization: Bearer <token>)",
        };
        if headers.contains_key(http::header::AUTHORIZATION) && self.token.is_some() {
            ApiError::new(
                "AuthFailure.TokenFailure",
                format!("the credentials are not valid; this server takes {accepted}"),
            )
        } else {
            ApiError::new(
                "AuthFailure.InvalidAuthorization",
                format!("this server requires {accepted}"),
            )
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_token_passes_in_a_header_or_the_cookie_and_nothing_else_does() {
        let auth = Auth::new(None, Some("0123456789abcdef".to_owned()));
        let ok = |h: &HeaderMap| auth.check("GET", "/status", "", h, b"", 0);
        assert_eq!(
            ok(&headers(&[("authorization", "Bearer 0123456789abcdef")])),
            Ok(())
        );
        assert_eq!(
            ok(&headers(&[("cookie", "a=b; scf_token=0123456789abcdef")])),
            Ok(())
        );
        let missing = ok(&headers(&[])).unwrap_err();
        assert_eq!(missing.code, "AuthFailure.InvalidAuthorization");
        let wrong = ok(&headers(&[("authorization", "Bearer 0123456789abcdeX")])).unwrap_err();
        assert_eq!(wrong.code, "AuthFailure.TokenFailure");
        let signed_without_a_key = ok(&headers(&[(
            "authorization",
            "TC3-HMAC-SHA256 Credential=a/b/scf/tc3_request, SignedHeaders=host, Signature=00",
        )]))
        .unwrap_err();
        assert_eq!(signed_without_a_key.code, "AuthFailure.TokenFailure");
        assert!(
            Auth::default()
                .check("GET", "/", "", &headers(&[]), b"", 0)
                .is_ok()
        );
    }
}
