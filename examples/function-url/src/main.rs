//! Function URL: a small HTTP API served by an event function through its function URL, routed
//! by hand (no web framework), answering with `IntegratedResponse`s.
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /?name=ann` | JSON greeting with the caller's address (`x-scf-remote-addr`) |
//! | `POST /` | the JSON body back with its top-level keys; `400` when it is not JSON |
//! | `GET /pixel.gif` | a 1×1 transparent GIF: a binary answer, base64 with `isBase64Encoded: true` |
//! | `POST /checksum` | size and FNV-1a hash of the body's bytes (binary bodies arrive base64, flagged) |
//!
//! Other paths answer `404`, other methods `405` with `Allow`; every answer is JSON except the
//! pixel.
//!
//! Try it: `cargo run -p scf-runtime-server -- serve` hosts it as `function-url` with a
//! `function_url` trigger, then
//! `curl 'http://127.0.0.1:9000/fn/function-url/?name=ann'`,
//! `curl -d '{"hello":"world"}' http://127.0.0.1:9000/fn/function-url/`,
//! `curl -o pixel.gif http://127.0.0.1:9000/fn/function-url/pixel.gif`,
//! `curl --data-binary @some.bin -H 'content-type: application/octet-stream' http://127.0.0.1:9000/fn/function-url/checksum`;
//! or `cargo run -p scf-runtime-server -- invoke function-url --event function-url:post`.

use scf::events::IntegratedResponse;
use scf::events::function_url::FunctionUrlRequest;
use serde_json::{Value, json};

/// A 1×1 transparent GIF (43 bytes).
pub const PIXEL_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Routes the request.
#[scf::function]
pub fn handler(request: FunctionUrlRequest, ctx: &scf::Context) -> IntegratedResponse {
    let method = request.http_method.to_ascii_uppercase();
    let reply = match (request.path.as_str(), method.as_str()) {
        ("" | "/", "GET") => greet(&request),
        ("" | "/", "POST") => echo(&request),
        ("" | "/", _) => not_allowed("GET, POST"),
        ("/pixel.gif", "GET" | "HEAD") => IntegratedResponse::binary(200, &PIXEL_GIF, "image/gif")
            .with_header("Cache-Control", "no-store"),
        ("/pixel.gif", _) => not_allowed("GET, HEAD"),
        ("/checksum", "POST" | "PUT") => checksum(&request),
        ("/checksum", _) => not_allowed("POST, PUT"),
        (path, _) => json_reply(404, &json!({ "error": format!("no route for {path}") })),
    };
    scf::tracing::info!(
        request_id = ctx.request_id(),
        method = %method,
        path = %request.path,
        status = reply.status_code,
        "served"
    );
    reply
}

fn greet(request: &FunctionUrlRequest) -> IntegratedResponse {
    let name = request.query("name").unwrap_or("world");
    json_reply(
        200,
        &json!({ "message": format!("Hello, {name}!"), "client": request.remote_addr() }),
    )
}

fn echo(request: &FunctionUrlRequest) -> IntegratedResponse {
    match request.json::<Value>() {
        Ok(body) => {
            let keys: Vec<&String> = body
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            json_reply(200, &json!({ "received": body, "keys": keys }))
        }
        Err(e) => json_reply(400, &json!({ "error": e.to_string() })),
    }
}

fn checksum(request: &FunctionUrlRequest) -> IntegratedResponse {
    match request.body_bytes() {
        Ok(bytes) => json_reply(
            200,
            &json!({ "bytes": bytes.len(), "fnv1a64": format!("{:016x}", fnv1a64(&bytes)) }),
        ),
        Err(e) => json_reply(400, &json!({ "error": e.to_string() })),
    }
}

fn not_allowed(allow: &str) -> IntegratedResponse {
    json_reply(
        405,
        &json!({ "error": format!("method not allowed; use {allow}") }),
    )
    .with_header("Allow", allow)
}

fn json_reply(status: u16, body: &Value) -> IntegratedResponse {
    // A `Value` always serialises; the fallback is never taken.
    IntegratedResponse::json(status, body)
        .unwrap_or_else(|e| IntegratedResponse::text(500, e.to_string()))
}

/// The 64-bit FNV-1a hash.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundled fixture, re-pointed at `method` and `path` when given.
    fn fixture(name: &str, route: Option<(&str, &str)>) -> FunctionUrlRequest {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        let mut request: FunctionUrlRequest = serde_json::from_str(raw).unwrap();
        if let Some((method, path)) = route {
            request.http_method = method.into();
            request.path = path.into();
        }
        request
    }

    fn call(request: FunctionUrlRequest) -> (IntegratedResponse, Value) {
        let reply = handler(request, &scf::Context::default());
        let body = if reply.is_base64_encoded {
            Value::Null
        } else {
            serde_json::from_str(&reply.body).unwrap()
        };
        (reply, body)
    }

    #[test]
    fn a_json_post_comes_back_with_its_keys() {
        let (reply, body) = call(fixture("function-url-post", None));
        assert_eq!(reply.status_code, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(
            body,
            json!({"received": {"hello": "world"}, "keys": ["hello"]})
        );
    }

    #[test]
    fn a_get_on_the_root_greets_the_caller() {
        let mut request = fixture("function-url-get", Some(("GET", "/")));
        request
            .query_string
            .insert("name".into(), serde_json::from_value(json!("ann")).unwrap());
        let (reply, body) = call(request);
        assert_eq!(reply.status_code, 200);
        assert_eq!(
            body,
            json!({"message": "Hello, ann!", "client": "198.51.100.23"})
        );
    }

    #[test]
    fn the_pixel_is_a_base64_binary_answer() {
        let (reply, _) = call(fixture("function-url-get", Some(("GET", "/pixel.gif"))));
        assert_eq!(reply.status_code, 200);
        assert!(reply.is_base64_encoded);
        assert_eq!(reply.header("content-type"), Some("image/gif"));
        assert_eq!(
            reply.body,
            "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
        );
        assert_eq!(&*reply.body_bytes().unwrap(), PIXEL_GIF);
        // What the platform checks: the wire form is a valid integrated response.
        let wire = serde_json::to_vec(&reply).unwrap();
        assert!(
            IntegratedResponse::from_slice(&wire)
                .unwrap()
                .is_base64_encoded
        );
    }

    #[test]
    fn a_binary_upload_arrives_base64_and_is_hashed_decoded() {
        let request: FunctionUrlRequest = serde_json::from_value(json!({
            "headers": {"content-type": "application/octet-stream"},
            "httpMethod": "POST",
            "path": "/checksum",
            "queryString": {},
            // The bytes 0xff 0x00 0x61: not UTF-8, so the host sends them base64.
            "body": "/wBh",
            "isBase64Encoded": true,
        }))
        .unwrap();
        let (reply, body) = call(request);
        assert_eq!(reply.status_code, 200);
        assert_eq!(body["bytes"], 3);
        assert_eq!(
            body["fnv1a64"],
            format!("{:016x}", fnv1a64(&[0xff, 0x00, 0x61]))
        );
        // FNV-1a of "a" is a published test vector.
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn errors_are_json_answers() {
        let (reply, body) = call(fixture("function-url-get", None));
        assert_eq!(
            (reply.status_code, &body["error"]),
            (404, &json!("no route for /reports/latest"))
        );

        let (reply, _) = call(fixture("function-url-post", Some(("DELETE", "/pixel.gif"))));
        assert_eq!(reply.status_code, 405);
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));

        let mut not_json = fixture("function-url-post", None);
        not_json.body = Some("hello=world".into());
        let (reply, body) = call(not_json);
        assert_eq!(reply.status_code, 400);
        assert!(body["error"].as_str().unwrap().contains("JSON"), "{body}");

        let mut broken = fixture("function-url-post", Some(("POST", "/checksum")));
        broken.body = Some("%%%".into());
        broken.is_base64_encoded = serde_json::from_value(json!(true)).unwrap();
        let (reply, body) = call(broken);
        assert_eq!(reply.status_code, 400);
        assert!(body["error"].as_str().unwrap().contains("base64"), "{body}");
    }
}
