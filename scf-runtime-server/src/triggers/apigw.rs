//! The API gateway trigger: an HTTP request becomes the API Gateway event ([API Gateway
//! trigger](https://www.tencentcloud.com/document/product/583/12513)).
//!
//! ```toml
//! [[functions.hello.triggers]]
//! type = "apigw"
//! path = "/hello/{name}"            # `{param}` segments fill `pathParameters`
//! methods = ["GET", "POST"]         # or ["ANY"] / left out: every method
//! service_id = "service-local"      # requestContext.serviceId (default "service-local")
//! stage = "release"                 # requestContext.stage (default "release")
//! query_parameters = ["lang"]       # declared names copied to queryStringParameters
//! header_parameters = ["x-token"]   # declared names copied to headerParameters
//! timeout_s = 15                    # the gateway's backend timeout (default 15): 504 past it
//! integrated_response = true        # false: the function's result is the body as-is (200)
//! ```
//!
//! The event, as the server builds it (project decision):
//! - `headers`: every request header, names lower-cased, repeated headers joined with `, `, plus
//!   the gateway's own `x-api-requestid`, `x-qualifier: $LATEST`, `requestsource: APIGW`,
//!   `x-api-scheme: http` and `x-anonymous-consumer: true`;
//! - `queryString`: every key; a repeated key is an array, a key without `=` is `true`;
//! - `queryStringParameters` / `headerParameters`: only the declared names (else `{}`);
//! - `pathParameters`: from the template's `{param}` segments;
//! - `requestContext`: `serviceId`, `path` (the template), `httpMethod` (the configured method, `ANY`
//!   when several), a fresh `requestId`, `identity: {}`, `sourceIp` (the peer), `stage`;
//! - `body`: left out when empty; text for text-like content types with valid UTF-8, else base64;
//!   `isBase64Encoded` is always a bool.

use serde_json::{Map, Value, json};

use super::request::{
    HttpRequest, encode_body, first_query_value, headers_object, query_string_object,
};
use crate::config::ApigwRoute;

/// Builds the API Gateway event for `req`, matched to `route` with `path_params`.
/// `request_id` is the gateway's request id (`requestContext.requestId`, `x-api-requestid`).
pub fn build_event(
    route: &ApigwRoute,
    req: &HttpRequest,
    path_params: &[(String, String)],
    request_id: &str,
) -> Value {
    let mut headers = headers_object(&req.headers);
    for (name, value) in [
        ("x-api-requestid", request_id),
        ("x-qualifier", "$LATEST"),
        ("requestsource", "APIGW"),
        ("x-api-scheme", "http"),
        ("x-anonymous-consumer", "true"),
    ] {
        headers.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    let query = query_string_object(req.query.as_deref());
    let query_params: Map<String, Value> = route
        .query_parameters
        .iter()
        .filter_map(|name| {
            query
                .get(name)
                .map(|v| (name.clone(), Value::String(first_query_value(v))))
        })
        .collect();
    let header_params: Map<String, Value> = route
        .header_parameters
        .iter()
        .filter_map(|name| {
            headers
                .get(&name.to_ascii_lowercase())
                .map(|v| (name.clone(), v.clone()))
        })
        .collect();
    let path_params: Map<String, Value> = path_params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut event = json!({
        "requestContext": {
            "serviceId": route.service_id,
            "path": route.template.as_str(),
            "httpMethod": route.methods.context_name(),
            "requestId": request_id,
            "identity": {},
            "sourceIp": req.peer.ip().to_string(),
            "stage": route.stage,
        },
        "headers": headers,
        "pathParameters": path_params,
        "queryStringParameters": query_params,
        "headerParameters": header_params,
        "path": req.path,
        "queryString": query,
        "httpMethod": req.method.as_str(),
        "isBase64Encoded": false,
    });
    if let Some((body, base64)) = encode_body(&req.headers, &req.body) {
        event["body"] = Value::String(body);
        event["isBase64Encoded"] = Value::Bool(base64);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApigwTriggerConfig;
    use bytes::Bytes;
    use http::{HeaderMap, Method};

    fn request(method: Method, path: &str, query: Option<&str>, body: &[u8]) -> HttpRequest {
        let mut headers = HeaderMap::new();
        headers.insert("Content-Type", "application/json".parse().unwrap());
        headers.insert("X-Token", "secret".parse().unwrap());
        HttpRequest {
            method,
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers,
            body: Bytes::copy_from_slice(body),
            peer: "10.1.2.3:5555".parse().unwrap(),
        }
    }

    #[test]
    fn builds_the_documented_event() {
        let mut config = ApigwTriggerConfig::new("/users/{id}");
        config.methods = vec!["POST".into()];
        config.stage = Some("test".into());
        config.query_parameters = vec!["lang".into(), "absent".into()];
        config.header_parameters = vec!["X-Token".into()];
        let route = ApigwRoute::new("users", &config).unwrap();
        let req = request(
            Method::POST,
            "/users/42",
            Some("lang=en&tag=a&tag=b&debug"),
            br#"{"a":1}"#,
        );
        let event = build_event(&route, &req, &[("id".into(), "42".into())], "rid-1");
        assert_eq!(
            event["requestContext"],
            json!({"serviceId": "service-local", "path": "/users/{id}", "httpMethod": "POST",
                   "requestId": "rid-1", "identity": {}, "sourceIp": "10.1.2.3", "stage": "test"})
        );
        assert_eq!(event["path"], "/users/42");
        assert_eq!(event["httpMethod"], "POST");
        assert_eq!(event["pathParameters"], json!({"id": "42"}));
        assert_eq!(
            event["queryString"],
            json!({"lang": "en", "tag": ["a", "b"], "debug": true})
        );
        assert_eq!(event["queryStringParameters"], json!({"lang": "en"}));
        assert_eq!(event["headerParameters"], json!({"X-Token": "secret"}));
        assert_eq!(event["headers"]["x-token"], "secret");
        assert_eq!(event["headers"]["x-api-requestid"], "rid-1");
        assert_eq!(event["headers"]["requestsource"], "APIGW");
        assert_eq!(event["body"], r#"{"a":1}"#);
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn get_without_body_and_binary_posts() {
        let route = ApigwRoute::new("f", &ApigwTriggerConfig::new("/")).unwrap();
        let event = build_event(&route, &request(Method::GET, "/x", None, b""), &[], "r");
        assert!(event.get("body").is_none());
        assert_eq!(event["queryString"], json!({}));
        assert_eq!(event["requestContext"]["httpMethod"], "ANY");
        let mut req = request(Method::PUT, "/x", None, &[0xff, 0xfe, 0x00]);
        req.headers
            .insert("content-type", "application/octet-stream".parse().unwrap());
        let event = build_event(&route, &req, &[], "r");
        assert_eq!(event["body"], "//4A");
        assert_eq!(event["isBase64Encoded"], true);
    }

    #[test]
    fn the_event_parses_as_scf_events_api_gateway_request() {
        let mut config = ApigwTriggerConfig::new("/users/{id}");
        config.query_parameters = vec!["lang".into()];
        let route = ApigwRoute::new("users", &config).unwrap();
        let req = request(
            Method::POST,
            "/users/9",
            Some("lang=en&t=a&t=b&flag"),
            br#"{"a":1}"#,
        );
        let event = build_event(&route, &req, &[("id".into(), "9".into())], "rid");
        assert_eq!(scf_events::detect(&event), Some("apigw"));
        let parsed: scf_events::apigw::ApiGatewayRequest = serde_json::from_value(event).unwrap();
        assert_eq!(parsed.path_parameters["id"], "9");
        assert_eq!(parsed.query_string_parameters["lang"], "en");
        assert_eq!(parsed.path, "/users/9");
        assert_eq!(parsed.body.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(parsed.query_string.len(), 3);
    }
}
