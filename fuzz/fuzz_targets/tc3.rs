//! The TC3-HMAC-SHA256 verifier of the Cloud API. The input is the server's clock (Unix seconds,
//! any `i64`), then a request:
//!
//! ```text
//! 1700000000
//! POST /?a=b
//! authorization: TC3-HMAC-SHA256 Credential=AKIDfuzz/2023-11-14/scf/tc3_request, ...
//! x-tc-timestamp: 1700000000
//! content-type: application/json
//! host: 127.0.0.1:9000
//!
//! {"FunctionName": "echo"}
//! ```
//!
//! As sent, the verdict is never a panic (timestamps and clocks at the ends of `i64` included),
//! and a request that is accepted is refused the second time (replay). Then the same request is
//! signed properly at a skew the input picks: it is accepted exactly when the skew is within
//! 300 s, once, and refused with its body changed.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use scf_fuzz::{header_map, split_message};
use scf_runtime_server::http::cloud::tc3::{
    MAX_SKEW_S, SERVICE, Verifier, canonical_request_at, signature, string_to_sign,
};

const SECRET_ID: &str = "AKIDfuzz";
const SECRET_KEY: &str = "fuzz-secret-key";

fn text<'a>(line: Option<&&'a [u8]>) -> &'a str {
    line.and_then(|l| std::str::from_utf8(l).ok()).unwrap_or("")
}

fuzz_target!(|data: &[u8]| {
    let message = split_message(data);
    let now: i64 = text(message.lines.first())
        .trim()
        .parse()
        .unwrap_or(1_700_000_000);
    let request_line = text(message.lines.get(1));
    let (method, target) = request_line
        .split_once(' ')
        .unwrap_or(("POST", request_line));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = if path.is_empty() { "/" } else { path };
    let mut headers = header_map(message.lines.get(2..).unwrap_or_default());
    let body = message.body;

    // As sent.
    let verifier = Verifier::new(SECRET_ID, SECRET_KEY);
    if verifier
        .verify_at(method, path, query, &headers, body, now)
        .is_ok()
    {
        let again = verifier.verify_at(method, path, query, &headers, body, now);
        assert!(again.is_err(), "a signature was accepted twice");
    }

    // Signed with the server's key, `skew` seconds away from its clock.
    let skew = i64::from(data.last().copied().unwrap_or(0) as i8) * 3;
    let Some(timestamp) = now.checked_add(skew) else {
        return;
    };
    let date = chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    for (name, default) in [("content-type", "application/json"), ("host", "localhost")] {
        if !headers.contains_key(name) {
            headers.insert(name, HeaderValue::from_static(default));
        }
    }
    let value = |headers: &HeaderMap, name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (Some(content_type), Some(host)) =
        (value(&headers, "content-type"), value(&headers, "host"))
    else {
        return; // not visible ASCII: refused as missing, as the as-sent check just did
    };
    let signed = [
        ("content-type".to_owned(), content_type),
        ("host".to_owned(), host),
    ];
    let canonical = canonical_request_at(method, path, query, &signed, body);
    let to_sign = string_to_sign(timestamp, &date, SERVICE, &canonical);
    let sig = signature(SECRET_KEY, &date, SERVICE, &to_sign);
    let authorization = format!(
        "TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/{SERVICE}/tc3_request, SignedHeaders=content-type;host, Signature={sig}"
    );
    headers.insert(
        "authorization",
        HeaderValue::from_str(&authorization).unwrap(),
    );
    headers.insert("x-tc-timestamp", HeaderValue::from(timestamp));

    let verifier = Verifier::new(SECRET_ID, SECRET_KEY);
    let verdict = verifier.verify_at(method, path, query, &headers, body, now);
    assert_eq!(
        verdict.is_ok(),
        skew.abs() <= MAX_SKEW_S,
        "skew {skew}: {verdict:?}"
    );
    if verdict.is_ok() {
        assert!(
            verifier
                .verify_at(method, path, query, &headers, body, now)
                .is_err()
        );
        let mut changed = body.to_vec();
        changed.push(b' ');
        let fresh = Verifier::new(SECRET_ID, SECRET_KEY);
        assert!(
            fresh
                .verify_at(method, path, query, &headers, &changed, now)
                .is_err()
        );
    }
});
