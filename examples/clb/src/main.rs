//! CLB: a webhook inbox behind a load-balancer listener. It accepts a delivery and answers
//! `202 Accepted` with a JSON receipt describing what arrived, as an `IntegratedResponse`.
//!
//! Shows what a CLB event carries and what it does not: no method, path or query, except the
//! `X-Method` / `X-Uri` headers a listener can add; headers in the client's casing (looked up
//! case-insensitively); and a `payload` that is a JSON **object** for a JSON body, a string for
//! text and a base64 string for anything else (`ClbEvent::payload_bytes` gives the bytes either
//! way). Errors are HTTP answers too: `405` for a method other than `POST`/`PUT`, `400` for a body
//! flagged base64 that is not, `413` past 64 KiB.
//!
//! Try it: `cargo run -p scf-runtime-server -- serve` hosts it as `clb`, then
//! `cargo run -p scf-runtime-server -- invoke clb --event clb:doc-new` (or `clb:binary`,
//! `clb:doc-legacy`), or
//! `curl --data-binary @scf-events/fixtures/clb-doc-legacy.json http://127.0.0.1:9000/functions/clb/invocations`.

use scf::events::IntegratedResponse;
use scf::events::clb::ClbEvent;
use serde::Serialize;
use serde_json::{Value, json};

/// The largest body the inbox takes.
pub const MAX_BODY: usize = 64 * 1024;

/// What the inbox says about a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The request id of this invocation.
    pub request_id: String,
    /// When CLB received the request (`X-Stgw-Time`), milliseconds since the epoch.
    pub received_at_ms: Option<i64>,
    /// The client (`X-Real-IP`).
    pub client_ip: Option<String>,
    /// The method, when the listener passes `X-Method`.
    pub method: Option<String>,
    /// The request URI, when the listener passes `X-Uri`.
    pub uri: Option<String>,
    /// The body's `Content-Type`.
    pub content_type: Option<String>,
    /// `json`, `text` or `binary`.
    pub kind: &'static str,
    /// The body's size in bytes.
    pub bytes: usize,
    /// A JSON object body's top-level keys.
    pub fields: Vec<String>,
}

/// Checks the delivery and answers with a receipt, or with the HTTP error that fits.
#[scf::function]
pub fn handler(event: ClbEvent, ctx: &scf::Context) -> IntegratedResponse {
    let reply = match receipt(&event, ctx) {
        Ok(receipt) => IntegratedResponse::json(202, &receipt),
        Err((status, message)) => IntegratedResponse::json(status, &json!({ "error": message })),
    };
    let reply = reply.unwrap_or_else(|e| IntegratedResponse::text(500, e.to_string()));
    scf::tracing::info!(
        request_id = ctx.request_id(),
        status = reply.status_code,
        "answered"
    );
    reply.with_header("X-Request-Id", ctx.request_id())
}

fn receipt(event: &ClbEvent, ctx: &scf::Context) -> Result<Receipt, (u16, String)> {
    if let Some(method) = event.method()
        && !matches!(method.to_ascii_uppercase().as_str(), "POST" | "PUT")
    {
        return Err((405, format!("{method} is not accepted: send POST or PUT")));
    }
    let body = event.payload_bytes().map_err(|e| (400, e.to_string()))?;
    if body.len() > MAX_BODY {
        return Err((413, format!("{} bytes is more than {MAX_BODY}", body.len())));
    }
    let (kind, fields) = match &event.payload {
        Value::Object(map) => ("json", map.keys().cloned().collect()),
        Value::Array(_) => ("json", Vec::new()),
        Value::String(_) if event.is_base64_encoded() => ("binary", Vec::new()),
        _ => ("text", Vec::new()),
    };
    Ok(Receipt {
        request_id: ctx.request_id().to_owned(),
        received_at_ms: event.stgw_time_millis(),
        client_ip: event.client_ip().map(str::to_owned),
        method: event.method().map(str::to_owned),
        uri: event.uri().map(str::to_owned),
        content_type: event.header("content-type").map(str::to_owned),
        kind,
        bytes: body.len(),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> ClbEvent {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        serde_json::from_str(raw).unwrap()
    }

    fn ctx() -> scf::Context {
        scf::Context::builder().request_id("req-1").build()
    }

    /// The reply's status and its JSON body.
    fn answer(event: ClbEvent) -> (u16, Value) {
        let reply = handler(event, &ctx());
        assert_eq!(reply.header("x-request-id"), Some("req-1"));
        assert_eq!(reply.header("content-type"), Some("application/json"));
        (
            reply.status_code,
            serde_json::from_str(&reply.body).unwrap(),
        )
    }

    #[test]
    fn a_json_payload_arrives_as_an_object() {
        let (status, body) = answer(fixture("clb-doc-legacy"));
        assert_eq!(status, 202);
        assert_eq!(
            body,
            json!({
                "request_id": "req-1",
                "received_at_ms": 1_591_692_977_774_i64,
                "client_ip": "9.43.175.219",
                "method": null,
                "uri": null,
                // `Content-type` as the client spelled it.
                "content_type": "application/json",
                "kind": "json",
                "bytes": r#"{"key1":"123","key2":"abc","nested":{"n":1}}"#.len(),
                "fields": ["key1", "key2", "nested"],
            })
        );
    }

    #[test]
    fn a_text_payload_with_the_listener_s_method_and_uri() {
        let (status, body) = answer(fixture("clb-doc-new"));
        assert_eq!(status, 202);
        assert_eq!(body["method"], "POST");
        assert_eq!(body["uri"], "/v1/notes?draft=1");
        assert_eq!(body["kind"], "text");
        assert_eq!(body["bytes"], "remember the milk".len());
        assert_eq!(body["received_at_ms"], 1_700_000_000_050_i64);
    }

    #[test]
    fn a_binary_payload_is_counted_decoded() {
        let (status, body) = answer(fixture("clb-binary"));
        assert_eq!(status, 202);
        assert_eq!(body["kind"], "binary");
        assert_eq!(body["content_type"], "application/zip");
        // "UEsDBBQAAAD/7g==" is 10 bytes once decoded.
        assert_eq!(body["bytes"], 10);
    }

    #[test]
    fn errors_are_http_answers() {
        let mut get = fixture("clb-doc-new");
        get.headers.insert("X-Method".into(), "GET".into());
        let (status, body) = answer(get);
        assert_eq!(
            (status, body["error"].as_str()),
            (405, Some("GET is not accepted: send POST or PUT"))
        );

        let broken: ClbEvent = serde_json::from_value(json!({
            "headers": {"Content-Type": "image/png"},
            "payload": "%%% not base64",
            "isBase64Encoded": true,
        }))
        .unwrap();
        let (status, body) = answer(broken);
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains("base64"), "{body}");

        let big: ClbEvent =
            serde_json::from_value(json!({ "payload": "x".repeat(MAX_BODY + 1) })).unwrap();
        assert_eq!(answer(big).0, 413);
    }
}
