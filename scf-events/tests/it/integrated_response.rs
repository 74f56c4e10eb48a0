//! Integrated responses: constructors, the serialised shape, the fixtures, and the host's checks.

use scf_events::IntegratedResponse;
use scf_events::custom_serde::header::OneOrMany;
use serde_json::json;

use crate::support::fixture;

/// Parses with serde and with the host's check, asserts both agree and serialising gives the
/// input back.
fn round_trip(name: &str) -> IntegratedResponse {
    let input = fixture(name);
    let reply: IntegratedResponse = serde_json::from_value(input.clone()).unwrap();
    let checked = IntegratedResponse::from_slice(input.to_string().as_bytes()).unwrap();
    assert_eq!(checked, reply, "{name}");
    let out = serde_json::to_value(&reply).unwrap();
    assert_eq!(out, input, "{name}: serialising changed the reply");
    assert_eq!(
        serde_json::from_value::<IntegratedResponse>(out).unwrap(),
        reply
    );
    reply
}

#[test]
fn text_fixture() {
    let r = round_trip("apigw-response-text");
    assert_eq!(r.status_code, 200);
    assert!(!r.is_base64_encoded);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.starts_with("<!DOCTYPE html>"));
    assert_eq!(r.body_bytes().unwrap().as_ref(), r.body.as_bytes());
}

#[test]
fn multi_value_header_fixture() {
    let r = round_trip("apigw-response-multiheader");
    assert_eq!(r.status_code, 302);
    let cookies = &r.headers["Set-Cookie"];
    assert_eq!(
        cookies.iter().collect::<Vec<_>>(),
        ["session=a1b2c3; Path=/; HttpOnly", "theme=dark; Path=/"]
    );
    assert_eq!(
        r.header("set-cookie"),
        Some("session=a1b2c3; Path=/; HttpOnly")
    );
}

#[test]
fn binary_fixture() {
    let r = round_trip("apigw-response-binary");
    assert!(r.is_base64_encoded);
    let bytes = r.body_bytes().unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(r.header("Cache-Control"), Some("max-age=60"));
}

#[test]
fn constructors_write_the_platform_shape() {
    assert_eq!(
        serde_json::to_value(IntegratedResponse::empty(204)).unwrap(),
        json!({"isBase64Encoded": false, "statusCode": 204, "headers": {}, "body": ""})
    );
    assert_eq!(
        serde_json::to_value(IntegratedResponse::default()).unwrap()["statusCode"],
        200
    );
    assert_eq!(
        serde_json::to_value(IntegratedResponse::text(404, "nope")).unwrap(),
        json!({"isBase64Encoded": false, "statusCode": 404,
               "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": "nope"})
    );
    let r = IntegratedResponse::json(201, &json!({"id": 7})).unwrap();
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"isBase64Encoded": false, "statusCode": 201,
               "headers": {"Content-Type": "application/json"}, "body": "{\"id\":7}"})
    );
    let r = IntegratedResponse::binary(200, &[0, 255, 10], "application/octet-stream");
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"isBase64Encoded": true, "statusCode": 200,
               "headers": {"Content-Type": "application/octet-stream"}, "body": "AP8K"})
    );
    assert_eq!(r.body_bytes().unwrap().as_ref(), &[0, 255, 10]);
}

#[test]
fn headers_take_one_or_many_values() {
    let r = IntegratedResponse::empty(200)
        .with_status(301)
        .with_header("Set-Cookie", "a=1")
        .with_header_values("Set-Cookie", ["b=2", "c=3"])
        .with_header("Location", "/elsewhere")
        .with_header("x-one", "1");
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["statusCode"], 301);
    assert_eq!(v["headers"]["Set-Cookie"], json!(["a=1", "b=2", "c=3"]));
    assert_eq!(v["headers"]["Location"], "/elsewhere");
    assert_eq!(v["headers"]["x-one"], "1");
    assert!(v.get("multiValueHeaders").is_none());
    let mut r = r;
    r.insert_header("Set-Cookie", "only=1");
    assert_eq!(r.headers["Set-Cookie"], OneOrMany::from("only=1"));
}

#[test]
fn serde_reads_null_fields_as_empty() {
    let r: IntegratedResponse = serde_json::from_value(
        json!({"statusCode": 200, "headers": null, "body": null, "isBase64Encoded": null}),
    )
    .unwrap();
    assert_eq!(r, IntegratedResponse::empty(200));
}

#[test]
fn host_check_accepts_what_the_platform_accepts() {
    let r = IntegratedResponse::from_slice(br#"{"statusCode":200}"#).unwrap();
    assert_eq!(r, IntegratedResponse::empty(200));
    let r = IntegratedResponse::from_slice(
        br#"{"statusCode":599,"isBase64Encoded":null,"headers":null,"body":null,"extra":1}"#,
    )
    .unwrap();
    assert_eq!(r.status_code, 599);
    let r = IntegratedResponse::from_slice(
        br#"{"statusCode":100,"isBase64Encoded":true,"headers":{"A":["1","2"],"B":"3"},"body":"aGk="}"#,
    )
    .unwrap();
    assert_eq!(r.body_bytes().unwrap().as_ref(), b"hi");
    assert_eq!(r.headers["A"].len(), 2);
}

#[test]
fn host_check_names_what_is_wrong() {
    let cases: &[(&[u8], &str)] = &[
        (b"not json", "not JSON"),
        (b"[1]", "not a JSON object but an array"),
        (b"\"ok\"", "not a JSON object but a string"),
        (br#"{"body":"x"}"#, "`statusCode` is missing"),
        (
            br#"{"statusCode":"200"}"#,
            "`statusCode` must be an integer from 100 to 599, got \"200\"",
        ),
        (
            br#"{"statusCode":200.5}"#,
            "`statusCode` must be an integer",
        ),
        (br#"{"statusCode":99}"#, "got 99"),
        (br#"{"statusCode":600}"#, "got 600"),
        (br#"{"statusCode":-1}"#, "got -1"),
        (
            br#"{"statusCode":200,"isBase64Encoded":"true"}"#,
            "`isBase64Encoded` must be a boolean, got \"true\"",
        ),
        (
            br#"{"statusCode":200,"headers":[]}"#,
            "`headers` must be an object, got an array",
        ),
        (
            br#"{"statusCode":200,"headers":{"A":1}}"#,
            "header \"A\" must be a string or an array of strings, got a number",
        ),
        (
            br#"{"statusCode":200,"headers":{"A":["x",2]}}"#,
            "header \"A\": array values must be strings",
        ),
        (
            br#"{"statusCode":200,"headers":{"Bad Name":"x"}}"#,
            "header name \"Bad Name\"",
        ),
        (
            br#"{"statusCode":200,"headers":{"A":"x\ny"}}"#,
            "control character",
        ),
        (
            br#"{"statusCode":200,"body":{"a":1}}"#,
            "`body` must be a string, got an object",
        ),
        (
            br#"{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}"#,
            "not base64",
        ),
    ];
    for (input, expected) in cases {
        let err = IntegratedResponse::from_slice(input).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(expected),
            "{}: expected {expected:?} in {text:?}",
            String::from_utf8_lossy(input)
        );
        assert!(text.starts_with("invalid integrated response: "), "{text}");
        assert_eq!(
            format!("invalid integrated response: {}", err.reason()),
            text
        );
    }
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = format!(r#"{{"statusCode":"{}"}}"#, "é".repeat(200));
    let err = IntegratedResponse::from_slice(long.as_bytes()).unwrap_err();
    assert!(err.reason().len() < 150, "{}", err.reason());
    assert!(err.reason().ends_with('…'));
}

#[cfg(feature = "catch-all-fields")]
#[test]
fn unknown_keys_are_kept() {
    let input =
        json!({"isBase64Encoded": false, "statusCode": 200, "headers": {}, "body": "", "x": [1]});
    let r: IntegratedResponse = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap(), input);
    let checked = IntegratedResponse::from_slice(input.to_string().as_bytes()).unwrap();
    assert_eq!(checked.other["x"], json!([1]));
}
