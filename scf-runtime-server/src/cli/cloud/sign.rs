//! Signing a Cloud API request with TC3-HMAC-SHA256
//! ([Signature v3](https://www.tencentcloud.com/document/api/1227/61798)), on the same primitives
//! the server verifies with ([`crate::http::cloud::tc3`]): the signed headers are
//! `content-type;host`, as Tencent's Python SDK signs them.

use crate::http::cloud::tc3::{canonical_request, signature, string_to_sign};

/// The `Authorization` header of a `POST /` with `body`, `content_type` and `host`, at Unix time
/// `timestamp`, for `service` (`scf`), made with the pair `secret_id` / `secret_key`.
pub(crate) fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    content_type: &str,
    body: &[u8],
    timestamp: i64,
) -> String {
    let date = utc_date(timestamp);
    let signed = [
        ("content-type".to_owned(), content_type.to_owned()),
        ("host".to_owned(), host.to_owned()),
    ];
    let canonical = canonical_request("POST", "", &signed, body);
    let to_sign = string_to_sign(timestamp, &date, service, &canonical);
    let signature = signature(secret_key, &date, service, &to_sign);
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders=content-type;host, Signature={signature}"
    )
}

/// The UTC date (`%Y-%m-%d`) of a Unix time, as the credential scope names it.
fn utc_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::cloud::tc3::Verifier;

    /// The example of Tencent's signature v3 page (a CVM `DescribeInstances` call).
    #[test]
    fn the_published_example_signs_to_the_published_header() {
        let body = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let header = authorization(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "cvm",
            "cvm.tencentcloudapi.com",
            "application/json; charset=utf-8",
            body.as_bytes(),
            1551113065,
        );
        assert_eq!(
            header,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn the_server_verifies_what_the_client_signs() {
        let body = br#"{"FunctionName":"echo"}"#;
        let now = 1_700_000_000;
        let header = authorization(
            "AKIDlocal",
            "secret",
            "scf",
            "127.0.0.1:9000",
            "application/json",
            body,
            now,
        );
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("host", "127.0.0.1:9000".parse().unwrap());
        headers.insert("x-tc-timestamp", now.to_string().parse().unwrap());
        headers.insert("authorization", header.parse().unwrap());
        let verifier = Verifier::new("AKIDlocal", "secret");
        assert_eq!(verifier.verify("POST", "", &headers, body, now + 1), Ok(()));
        let other = Verifier::new("AKIDlocal", "another secret");
        assert!(other.verify("POST", "", &headers, body, now + 1).is_err());
    }
}
