//! The function's configuration, read once from the environment the platform sets.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// The environment variable naming the runtime API host.
pub const RUNTIME_API_VAR: &str = "SCF_RUNTIME_API";
/// The environment variable naming the runtime API port.
pub const RUNTIME_API_PORT_VAR: &str = "SCF_RUNTIME_API_PORT";

/// Temporary credentials of the function's execution role.
///
/// The platform sets them only when a role is bound to the function.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Credentials {
    /// `TENCENTCLOUD_SECRETID`.
    pub secret_id: String,
    /// `TENCENTCLOUD_SECRETKEY`.
    pub secret_key: String,
    /// `TENCENTCLOUD_SESSIONTOKEN`, when the platform gave one.
    pub session_token: Option<String>,
}

impl Credentials {
    /// Credentials from a secret id and key.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            session_token: None,
        }
    }

    /// Sets the session token.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secrets themselves.
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Everything the platform tells the bootstrap through its environment.
///
/// Read it once with [`Config::from_env`]; every invocation's [`Context`](crate::Context)
/// shares it. Only the runtime API address is required: every other value is optional,
/// since the platform omits some of them (see the Custom Runtime docs).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `SCF_RUNTIME_API` + `SCF_RUNTIME_API_PORT`, as written.
    pub runtime_api: String,
    /// `_HANDLER`: free-form for Custom Runtime.
    pub handler: Option<String>,
    /// `SCF_RUNTIME`, e.g. `CustomRuntime`.
    pub runtime: Option<String>,
    /// `SCF_FUNCTIONNAME`.
    pub function_name: String,
    /// `SCF_FUNCTIONVERSION`, e.g. `$LATEST`.
    pub function_version: String,
    /// `SCF_NAMESPACE` (not in the official table, usually present).
    pub namespace: Option<String>,
    /// `TENCENTCLOUD_REGION`, e.g. `ap-guangzhou`.
    pub region: String,
    /// `TENCENTCLOUD_APPID`.
    pub appid: String,
    /// `TENCENTCLOUD_UIN`.
    pub uin: String,
    /// `TENCENTCLOUD_TZ`, e.g. `UTC`.
    pub tz: Option<String>,
    /// `TENCENTCLOUD_RUNENV`: `SCF` on the platform.
    pub run_env: Option<String>,
    /// `USER_CODE_ROOT`, e.g. `/var/user/`.
    pub code_root: Option<PathBuf>,
    /// The execution role's temporary credentials, when a role is bound.
    pub credentials: Option<Credentials>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            runtime_api: "127.0.0.1:9001".to_owned(),
            handler: None,
            runtime: None,
            function_name: "function".to_owned(),
            function_version: "$LATEST".to_owned(),
            namespace: Some("default".to_owned()),
            region: "ap-guangzhou".to_owned(),
            appid: String::new(),
            uin: String::new(),
            tz: None,
            run_env: None,
            code_root: None,
            credentials: None,
        }
    }
}

/// A required variable was missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    problem: String,
}

impl ConfigError {
    /// The environment variable at fault.
    pub fn variable(&self) -> &'static str {
        self.variable
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "environment variable {}: {} (is this process started by the SCF platform or `cargo scf serve`?)",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// Fails, naming the variable, when `SCF_RUNTIME_API` or `SCF_RUNTIME_API_PORT` is
    /// missing or invalid. Never panics.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which maps a variable name to its value.
    ///
    /// ```
    /// let env = [("SCF_RUNTIME_API", "127.0.0.1"), ("SCF_RUNTIME_API_PORT", "9001")];
    /// let config = scf_runtime::Config::from_lookup(|k| {
    ///     env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    /// })
    /// .unwrap();
    /// assert_eq!(config.runtime_api, "127.0.0.1:9001");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let host = non_empty(RUNTIME_API_VAR).ok_or(ConfigError {
            variable: RUNTIME_API_VAR,
            problem: "not set; it must name the runtime API host".to_owned(),
        })?;
        let port = non_empty(RUNTIME_API_PORT_VAR).ok_or(ConfigError {
            variable: RUNTIME_API_PORT_VAR,
            problem: "not set; it must name the runtime API port".to_owned(),
        })?;
        let port: u16 = port.trim().parse().map_err(|_| ConfigError {
            variable: RUNTIME_API_PORT_VAR,
            problem: format!("{port:?} is not a TCP port number"),
        })?;
        let host = host.trim();
        let runtime_api = match host.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
            _ => format!("{host}:{port}"),
        };
        let credentials = match (
            non_empty("TENCENTCLOUD_SECRETID"),
            non_empty("TENCENTCLOUD_SECRETKEY"),
        ) {
            (Some(id), Some(key)) => Some(Credentials {
                secret_id: id,
                secret_key: key,
                session_token: non_empty("TENCENTCLOUD_SESSIONTOKEN"),
            }),
            _ => None,
        };
        Ok(Self {
            runtime_api,
            handler: non_empty("_HANDLER"),
            runtime: non_empty("SCF_RUNTIME"),
            function_name: non_empty("SCF_FUNCTIONNAME").unwrap_or_default(),
            function_version: non_empty("SCF_FUNCTIONVERSION")
                .unwrap_or_else(|| "$LATEST".to_owned()),
            namespace: non_empty("SCF_NAMESPACE"),
            region: non_empty("TENCENTCLOUD_REGION").unwrap_or_default(),
            appid: non_empty("TENCENTCLOUD_APPID").unwrap_or_default(),
            uin: non_empty("TENCENTCLOUD_UIN").unwrap_or_default(),
            tz: non_empty("TENCENTCLOUD_TZ"),
            run_env: non_empty("TENCENTCLOUD_RUNENV"),
            code_root: non_empty("USER_CODE_ROOT").map(PathBuf::from),
            credentials,
        })
    }

    /// A configuration pointing at the runtime API at `addr`, everything else default.
    pub fn with_runtime_api(addr: SocketAddr) -> Self {
        Self {
            runtime_api: addr.to_string(),
            ..Self::default()
        }
    }

    /// Resolves the runtime API address.
    pub(crate) fn resolve(&self) -> std::io::Result<SocketAddr> {
        self.runtime_api
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other("the runtime API host resolved to no address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn missing_host_names_the_variable() {
        let err = Config::from_lookup(lookup(&[("SCF_RUNTIME_API_PORT", "9001")])).unwrap_err();
        assert_eq!(err.variable(), "SCF_RUNTIME_API");
        assert!(err.to_string().contains("SCF_RUNTIME_API"));
    }

    #[test]
    fn missing_or_bad_port_names_the_variable() {
        let err = Config::from_lookup(lookup(&[("SCF_RUNTIME_API", "127.0.0.1")])).unwrap_err();
        assert_eq!(err.variable(), "SCF_RUNTIME_API_PORT");
        let err = Config::from_lookup(lookup(&[
            ("SCF_RUNTIME_API", "127.0.0.1"),
            ("SCF_RUNTIME_API_PORT", "ninety"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable(), "SCF_RUNTIME_API_PORT");
        assert!(err.to_string().contains("\"ninety\""));
    }

    #[test]
    fn reads_every_variable() {
        let config = Config::from_lookup(lookup(&[
            ("SCF_RUNTIME_API", "127.0.0.1"),
            ("SCF_RUNTIME_API_PORT", "9001"),
            ("_HANDLER", "index.main"),
            ("SCF_RUNTIME", "CustomRuntime"),
            ("SCF_FUNCTIONNAME", "my-fn"),
            ("SCF_FUNCTIONVERSION", "3"),
            ("SCF_NAMESPACE", "prod"),
            ("TENCENTCLOUD_REGION", "ap-shanghai"),
            ("TENCENTCLOUD_APPID", "1250000000"),
            ("TENCENTCLOUD_UIN", "100000000001"),
            ("TENCENTCLOUD_TZ", "UTC"),
            ("TENCENTCLOUD_RUNENV", "SCF"),
            ("USER_CODE_ROOT", "/var/user/"),
            ("TENCENTCLOUD_SECRETID", "id"),
            ("TENCENTCLOUD_SECRETKEY", "key"),
            ("TENCENTCLOUD_SESSIONTOKEN", "token"),
        ]))
        .unwrap();
        assert_eq!(config.runtime_api, "127.0.0.1:9001");
        assert_eq!(config.handler.as_deref(), Some("index.main"));
        assert_eq!(config.runtime.as_deref(), Some("CustomRuntime"));
        assert_eq!(config.function_name, "my-fn");
        assert_eq!(config.function_version, "3");
        assert_eq!(config.namespace.as_deref(), Some("prod"));
        assert_eq!(config.region, "ap-shanghai");
        assert_eq!(config.appid, "1250000000");
        assert_eq!(config.uin, "100000000001");
        assert_eq!(config.tz.as_deref(), Some("UTC"));
        assert_eq!(config.run_env.as_deref(), Some("SCF"));
        assert_eq!(config.code_root, Some(PathBuf::from("/var/user/")));
        let creds = config.credentials.unwrap();
        assert_eq!(creds.secret_id, "id");
        assert_eq!(creds.session_token.as_deref(), Some("token"));
        assert!(!format!("{creds:?}").contains("key\""));
    }

    #[test]
    fn absent_credentials_are_none() {
        let config = Config::from_lookup(lookup(&[
            ("SCF_RUNTIME_API", "::1"),
            ("SCF_RUNTIME_API_PORT", "9001"),
            ("TENCENTCLOUD_SECRETID", "id"),
        ]))
        .unwrap();
        assert_eq!(config.credentials, None);
        assert_eq!(config.runtime_api, "[::1]:9001");
        assert_eq!(config.function_version, "$LATEST");
    }
}
