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

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::request::{
    HttpRequest, encode_body, first_query_value, headers_object, query_string_object,
};
use super::route::{Methods, PathTemplate, RouteError};

/// The default `requestContext.serviceId`.
pub const DEFAULT_SERVICE_ID: &str = "service-local";
/// The default `requestContext.stage`.
pub const DEFAULT_STAGE: &str = "release";
/// The default gateway backend timeout, in seconds (the platform's `endpoint-timeout`).
pub const DEFAULT_TIMEOUT_S: u64 = 15;

/// An `apigw` trigger as written in `scf.toml` (without `type`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApigwTriggerConfig {
    /// The API path, with `{param}` segments.
    pub path: String,
    /// Accepted methods; empty or `ANY` means every method.
    #[serde(default)]
    pub methods: Vec<String>,
    /// `requestContext.serviceId` (default [`DEFAULT_SERVICE_ID`]).
    #[serde(default)]
    pub service_id: Option<String>,
    /// `requestContext.stage` (default [`DEFAULT_STAGE`]).
    #[serde(default)]
    pub stage: Option<String>,
    /// Query parameter names copied to `queryStringParameters`.
    #[serde(default)]
    pub query_parameters: Vec<String>,
    /// Header names copied to `headerParameters`.
    #[serde(default)]
    pub header_parameters: Vec<String>,
    /// Backend timeout in seconds (default [`DEFAULT_TIMEOUT_S`]).
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// Whether the result is read as an integrated response (default `true`).
    #[serde(default)]
    pub integrated_response: Option<bool>,
}

impl ApigwTriggerConfig {
    /// A trigger on `path` accepting every method, everything else defaulted.
    pub fn new(path: impl Into<String>) -> Self {
        ApigwTriggerConfig {
            path: path.into(),
            methods: Vec::new(),
            service_id: None,
            stage: None,
            query_parameters: Vec::new(),
            header_parameters: Vec::new(),
            timeout_s: None,
            integrated_response: None,
        }
    }
}

/// A checked `apigw` trigger of one function.
#[derive(Debug, Clone)]
pub struct ApigwRoute {
    /// The function it invokes.
    pub function: String,
    /// The path template.
    pub template: PathTemplate,
    /// The accepted methods.
    pub methods: Methods,
    /// `requestContext.serviceId`.
    pub service_id: String,
    /// `requestContext.stage`.
    pub stage: String,
    /// Declared query parameter names.
    pub query_parameters: Vec<String>,
    /// Declared header names.
    pub header_parameters: Vec<String>,
    /// Backend timeout.
    pub timeout: Duration,
    /// Whether the result is read as an integrated response.
    pub integrated_response: bool,
}

impl ApigwRoute {
    /// Checks a trigger's config. The error says which key is wrong.
    pub fn new(function: &str, config: &ApigwTriggerConfig) -> Result<ApigwRoute, RouteError> {
        let template =
            PathTemplate::parse(&config.path).map_err(|e| RouteError::new_keyed("path", e))?;
        let methods =
            Methods::parse(&config.methods).map_err(|e| RouteError::new_keyed("methods", e))?;
        let timeout_s = config.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
        if timeout_s == 0 {
            return Err(RouteError::new_keyed(
                "timeout_s",
                "must be at least 1 second",
            ));
        }
        Ok(ApigwRoute {
            function: function.to_owned(),
            template,
            methods,
            service_id: config
                .service_id
                .clone()
                .unwrap_or_else(|| DEFAULT_SERVICE_ID.to_owned()),
            stage: config
                .stage
                .clone()
                .unwrap_or_else(|| DEFAULT_STAGE.to_owned()),
            query_parameters: config.query_parameters.clone(),
            header_parameters: config.header_parameters.clone(),
            timeout: Duration::from_secs(timeout_s),
            integrated_response: config.integrated_response.unwrap_or(true),
        })
    }

    /// Builds the API Gateway event for `req`, matched to this route with `path_params`.
    /// `request_id` is the gateway's request id (`requestContext.requestId`, `x-api-requestid`).
    pub fn build_event(
        &self,
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
        let query_params: Map<String, Value> = self
            .query_parameters
            .iter()
            .filter_map(|name| {
                query
                    .get(name)
                    .map(|v| (name.clone(), Value::String(first_query_value(v))))
            })
            .collect();
        let header_params: Map<String, Value> = self
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
                "serviceId": self.service_id,
                "path": self.template.as_str(),
                "httpMethod": self.methods.context_name(),
                "requestId": request_id,
                "identity": {},
                "sourceIp": req.peer.ip().to_string(),
                "stage": self.stage,
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
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let event = route.build_event(&req, &[("id".into(), "42".into())], "rid-1");
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
        let event = route.build_event(&request(Method::GET, "/x", None, b""), &[], "r");
        assert!(event.get("body").is_none());
        assert_eq!(event["queryString"], json!({}));
        assert_eq!(event["requestContext"]["httpMethod"], "ANY");
        let mut req = request(Method::PUT, "/x", None, &[0xff, 0xfe, 0x00]);
        req.headers
            .insert("content-type", "application/octet-stream".parse().unwrap());
        let event = route.build_event(&req, &[], "r");
        assert_eq!(event["body"], "//4A");
        assert_eq!(event["isBase64Encoded"], true);
    }

    #[test]
    fn bad_config_names_the_key() {
        let err = ApigwRoute::new("f", &ApigwTriggerConfig::new("nope")).unwrap_err();
        assert!(err.to_string().starts_with("path: "), "{err}");
        let mut c = ApigwTriggerConfig::new("/");
        c.methods = vec!["BREW".into()];
        let err = ApigwRoute::new("f", &c).unwrap_err();
        assert!(err.to_string().starts_with("methods: "), "{err}");
        let c: ApigwTriggerConfig =
            serde_json::from_value(json!({"path": "/a", "stage": "prod"})).unwrap();
        assert_eq!(ApigwRoute::new("f", &c).unwrap().stage, "prod");
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
        let event = route.build_event(&req, &[("id".into(), "9".into())], "rid");
        assert_eq!(scf_events::detect(&event), Some("apigw"));
        let parsed: scf_events::apigw::ApiGatewayRequest = serde_json::from_value(event).unwrap();
        assert_eq!(parsed.path_parameters["id"], "9");
        assert_eq!(parsed.query_string_parameters["lang"], "en");
        assert_eq!(parsed.path, "/users/9");
        assert_eq!(parsed.body.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(parsed.query_string.len(), 3);
    }
}
