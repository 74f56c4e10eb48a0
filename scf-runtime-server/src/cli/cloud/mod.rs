//! The CLI's client to SCF's Cloud API, shared by `cargo scf deploy`, `logs`, `info` and
//! `remove`: the same requests go to Tencent Cloud (`https://scf.tencentcloudapi.com`) or, with
//! `--endpoint http://127.0.0.1:PORT`, to a local `cargo scf serve`.
//!
//! A request is `POST /` with a JSON body and the headers `X-TC-Action`, `X-TC-Version`
//! (`2018-04-16`), `X-TC-Region`, `X-TC-Timestamp`, `X-TC-Token` (with a session token) and a
//! TC3-HMAC-SHA256 `Authorization` (signed on [`crate::http::cloud::tc3`]'s primitives); see the API reference at
//! <https://www.tencentcloud.com/document/api/583>. An answer's `Response.Error` becomes a
//! [`CloudError`] naming the action and the code. Without credentials, requests go unsigned,
//! but only to a loopback endpoint ([`Endpoint::is_loopback`]).

pub mod credentials;
mod sign;
pub mod transport;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::cli::ToolError;
use crate::config::{Config, DeployConfig};
pub use credentials::{Credential, Environment};
pub use transport::{DEFAULT_ENDPOINT, Endpoint};

/// The API version every request names.
pub const API_VERSION: &str = "2018-04-16";
/// The region used for a loopback endpoint when none is given.
pub const LOCAL_REGION: &str = "ap-guangzhou";

/// Where a Cloud API command goes: shared by `deploy`, `logs`, `info` and `remove`.
#[derive(Debug, Clone, Default, Args)]
pub struct CloudArgs {
    /// The region (default: TENCENTCLOUD_REGION, `[deploy] region` in scf.toml, then the tccli
    /// profile's; `ap-guangzhou` for a loopback endpoint).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The namespace (default: `[deploy] namespace`, else `default`).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// The Cloud API endpoint (default: `[deploy] endpoint`, else
    /// `https://scf.tencentcloudapi.com`). `http://127.0.0.1:PORT` targets a local
    /// `cargo scf serve`; only a loopback endpoint may be used without credentials (the requests
    /// then go unsigned).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Read the key pair from tccli's ~/.tccli/NAME.credential (and the region from
    /// ~/.tccli/NAME.configure) instead of TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The scf.toml to read `[deploy]` and the functions from (default: ./scf.toml when present).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

/// Loads `--config`, or `scf.toml` in `cwd` when there is one.
pub fn load_config(path: Option<&Path>, cwd: &Path) -> Result<Option<Config>, ToolError> {
    let path = match path {
        Some(path) => cwd.join(path),
        None => {
            let default = cwd.join("scf.toml");
            if !default.is_file() {
                return Ok(None);
            }
            default
        }
    };
    Config::load(&path)
        .map(Some)
        .map_err(|e| ToolError::new(e.to_string()))
}

/// A client for one endpoint, region and key pair, and the namespace commands act in.
#[derive(Debug)]
pub struct Cloud {
    /// The client.
    pub client: CloudClient,
    /// `--namespace`, `[deploy] namespace` or `default`.
    pub namespace: String,
}

impl Cloud {
    /// Resolves endpoint, credentials, region and namespace from the options, `[deploy]` and the
    /// environment. A missing credential (for an endpoint that is not loopback) or region is an
    /// error here, before anything is built or sent.
    pub fn resolve(
        args: &CloudArgs,
        deploy: &DeployConfig,
        env: &Environment,
    ) -> Result<Cloud, ToolError> {
        let endpoint = Endpoint::parse(
            args.endpoint
                .as_deref()
                .or(deploy.endpoint.as_deref())
                .unwrap_or(DEFAULT_ENDPOINT),
        )?;
        let asked = credentials::Asked {
            profile: args.profile.as_deref(),
            config_profile: deploy.profile.as_deref(),
            region: args.region.as_deref(),
            config_region: deploy.region.as_deref(),
        };
        let credential = credentials::find_credential(env, &asked)?;
        if credential.is_none() && !endpoint.is_loopback() {
            return Err(ToolError::new(credentials::missing_credential_message(env)));
        }
        let region = match credentials::find_region(env, &asked)? {
            Some(region) => region,
            None if endpoint.is_loopback() => LOCAL_REGION.to_owned(),
            None => {
                return Err(ToolError::new(
                    "no region: pass --region (e.g. ap-guangzhou), set TENCENTCLOUD_REGION, or add `region = \"…\"` under [deploy] in scf.toml",
                ));
            }
        };
        let namespace = args
            .namespace
            .clone()
            .or_else(|| deploy.namespace.clone())
            .unwrap_or_else(|| "default".to_owned());
        Ok(Cloud {
            client: CloudClient::new(endpoint, region, credential),
            namespace,
        })
    }
}

/// Sends Cloud API actions to one endpoint.
#[derive(Debug)]
pub struct CloudClient {
    endpoint: Endpoint,
    region: String,
    credential: Option<Credential>,
}

/// The second of the last request this process signed and the body hashes signed in it: the
/// same body signed twice in one second gives the same signature, which a verifier that refuses
/// replays (as `cargo scf serve` does) turns down, so the second one waits for the next second.
/// Process-wide, so that commands run one after the other from one program (a deploy, then
/// `info`) never collide either.
static SIGNED: Mutex<(i64, Vec<String>)> = Mutex::new((0, Vec::new()));

/// A failed action: SCF's `Response.Error`, or no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudError {
    /// The action, e.g. `GetFunction`.
    pub action: String,
    /// `Error.Code` (e.g. `ResourceNotFound.Function`), or `None` when there was no answer.
    pub code: Option<String>,
    /// `Error.Message`, or what went wrong on the way.
    pub message: String,
    /// `RequestId`, when the answer had one.
    pub request_id: Option<String>,
}

impl CloudError {
    /// Whether the code is `code` or one of its sub-codes (`ResourceNotFound` matches
    /// `ResourceNotFound.Function`).
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref().is_some_and(|c| {
            c == code
                || c.strip_prefix(code)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

impl std::fmt::Display for CloudError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => {
                write!(f, "{} failed: {code}: {}", self.action, self.message)?;
                if let Some(id) = &self.request_id {
                    write!(f, " (RequestId {id})")?;
                }
                Ok(())
            }
            None => write!(f, "{} failed: {}", self.action, self.message),
        }
    }
}

impl std::error::Error for CloudError {}

impl From<CloudError> for ToolError {
    fn from(e: CloudError) -> ToolError {
        ToolError::new(e.to_string())
    }
}

impl CloudClient {
    /// A client for `endpoint` in `region`, signing with `credential` when given.
    pub fn new(endpoint: Endpoint, region: String, credential: Option<Credential>) -> CloudClient {
        CloudClient {
            endpoint,
            region,
            credential,
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Whether requests are signed.
    pub fn signs(&self) -> bool {
        self.credential.is_some()
    }

    /// Calls `action` with `params` (a JSON object); gives `Response` without `RequestId`.
    pub async fn call(&self, action: &str, params: &Value) -> Result<Value, CloudError> {
        let fail = |message: String| CloudError {
            action: action.to_owned(),
            code: None,
            message,
            request_id: None,
        };
        let body = serde_json::to_vec(params).map_err(|e| fail(e.to_string()))?;
        let timestamp = self.timestamp_for(&body).await;
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| -> Result<(), CloudError> {
            let value = HeaderValue::from_str(value)
                .map_err(|_| fail(format!("{name} {value:?} is not a valid header value")))?;
            headers.insert(name, value);
            Ok(())
        };
        let content_type = "application/json";
        put("content-type", content_type)?;
        put("x-tc-action", action)?;
        put("x-tc-version", API_VERSION)?;
        put("x-tc-region", &self.region)?;
        put("x-tc-timestamp", &timestamp.to_string())?;
        if let Some(credential) = &self.credential {
            if let Some(token) = &credential.token {
                put("x-tc-token", token)?;
            }
            let authorization = sign::authorization(
                &credential.secret_id,
                &credential.secret_key,
                "scf",
                &self.endpoint.host_header(),
                content_type,
                &body,
                timestamp,
            );
            put("authorization", &authorization)?;
        }
        tracing::debug!(action, endpoint = %self.endpoint, "Cloud API request");
        let (status, answer) = self
            .endpoint
            .post(&headers, Bytes::from(body))
            .await
            .map_err(|e| fail(format!("{e} ({})", self.endpoint)))?;
        parse_answer(action, status, &answer)
    }

    /// The Unix time to sign `body` with: now, or the next second when this body was already
    /// signed in this one.
    async fn timestamp_for(&self, body: &[u8]) -> i64 {
        if self.credential.is_none() {
            return chrono::Utc::now().timestamp();
        }
        let hash = format!(
            "{}/{}",
            self.credential
                .as_ref()
                .map(|c| c.secret_id.as_str())
                .unwrap_or_default(),
            crate::http::cloud::tc3::sha256_hex(body)
        );
        loop {
            let now = chrono::Utc::now();
            let second = now.timestamp();
            {
                let mut signed = SIGNED.lock().unwrap_or_else(|e| e.into_inner());
                if signed.0 != second {
                    *signed = (second, Vec::new());
                }
                if !signed.1.contains(&hash) {
                    signed.1.push(hash);
                    return second;
                }
            }
            let into = u64::from(now.timestamp_subsec_millis());
            tokio::time::sleep(Duration::from_millis(1001 - into.min(1000))).await;
        }
    }
}

/// Reads an answer: `{"Response": {...}}`, with `Error` when the action failed.
fn parse_answer(action: &str, status: http::StatusCode, body: &[u8]) -> Result<Value, CloudError> {
    let fail = |message: String| CloudError {
        action: action.to_owned(),
        code: None,
        message,
        request_id: None,
    };
    let snippet = || {
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().take(300).collect();
        text
    };
    let json: Value = serde_json::from_slice(body).map_err(|_| {
        fail(format!(
            "the answer (HTTP {status}) is not JSON: {}",
            snippet()
        ))
    })?;
    let Some(Value::Object(mut response)) = json.get("Response").cloned() else {
        return Err(fail(format!(
            "the answer (HTTP {status}) has no \"Response\" object: {}",
            snippet()
        )));
    };
    let request_id = response
        .remove("RequestId")
        .and_then(|v| v.as_str().map(str::to_owned));
    if let Some(error) = response.get("Error") {
        let field = |name: &str| {
            error
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        return Err(CloudError {
            action: action.to_owned(),
            code: Some(field("Code")),
            message: field("Message"),
            request_id,
        });
    }
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}: {}", snippet())));
    }
    Ok(Value::Object(response))
}

/// Runs `future` to completion on a current-thread runtime (the commands are sequential).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, ToolError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ToolError::new(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// The text of a string field of `value`, or `""`.
pub(crate) fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_responses_or_named_errors() {
        let ok = parse_answer(
            "GetFunction",
            http::StatusCode::OK,
            br#"{"Response":{"Status":"Active","RequestId":"r1"}}"#,
        )
        .unwrap();
        assert_eq!(ok, serde_json::json!({"Status": "Active"}));
        let err = parse_answer(
            "GetFunction",
            http::StatusCode::OK,
            br#"{"Response":{"Error":{"Code":"ResourceNotFound.Function","Message":"no echo"},"RequestId":"r2"}}"#,
        )
        .unwrap_err();
        assert!(err.is("ResourceNotFound.Function") && err.is("ResourceNotFound"));
        assert!(!err.is("ResourceNotFound.Func"));
        assert_eq!(
            err.to_string(),
            "GetFunction failed: ResourceNotFound.Function: no echo (RequestId r2)"
        );
        let err = parse_answer("X", http::StatusCode::BAD_GATEWAY, b"<html>").unwrap_err();
        assert!(err.to_string().contains("HTTP 502"), "{err}");
        assert_eq!(err.code, None);
    }

    #[test]
    fn credentials_are_required_except_on_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::with_home(dir.path());
        let remote = CloudArgs::default();
        let err = Cloud::resolve(&remote, &DeployConfig::default(), &env).unwrap_err();
        assert!(
            err.to_string().contains("no Tencent Cloud credentials"),
            "{err}"
        );
        let local = CloudArgs {
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..CloudArgs::default()
        };
        let cloud = Cloud::resolve(&local, &DeployConfig::default(), &env).unwrap();
        assert!(!cloud.client.signs());
        assert_eq!(cloud.client.region(), LOCAL_REGION);
        assert_eq!(cloud.namespace, "default");
        let env = env
            .var("TENCENTCLOUD_SECRET_ID", "AKID")
            .var("TENCENTCLOUD_SECRET_KEY", "k");
        let err = Cloud::resolve(&remote, &DeployConfig::default(), &env).unwrap_err();
        assert!(err.to_string().starts_with("no region"), "{err}");
        let deploy = DeployConfig {
            region: Some("ap-shanghai".into()),
            namespace: Some("prod".into()),
            ..DeployConfig::default()
        };
        let cloud = Cloud::resolve(&remote, &deploy, &env).unwrap();
        assert!(cloud.client.signs());
        assert_eq!(cloud.client.region(), "ap-shanghai");
        assert_eq!(cloud.namespace, "prod");
        assert_eq!(cloud.client.endpoint().to_string(), DEFAULT_ENDPOINT);
    }
}
