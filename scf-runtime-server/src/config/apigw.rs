//! An `apigw` trigger table ([`ApigwTriggerConfig`]) and its check into the route the API
//! gateway connector serves ([`ApigwRoute`]); the keys and the event are described in
//! [`crate::triggers::apigw`].

use std::time::Duration;

use serde::Deserialize;

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
    /// Whether callers must authenticate like on the server's own routes (default `false`: API
    /// gateway routes are public, as on SCF).
    #[serde(default)]
    pub auth: Option<bool>,
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
            auth: None,
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
    /// Whether callers must authenticate (`auth = true`).
    pub auth: bool,
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
            auth: config.auth.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
