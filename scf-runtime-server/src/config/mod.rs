//! `scf.toml`: the server's listen address and limits, and the functions it hosts.
//!
//! The format is fixed by the project's architecture; every key, its default and its range is in
//! the table of the crate docs ([`crate`] "Configuration"). [`Config::load`] reads a file,
//! [`Config::parse`] a string; any problem is a [`ConfigError`] naming the key and the file
//! position (`scf.toml:12:13: functions.echo.memory_mb: …`).
//!
//! Trigger tables are checked here too, into the specifications the connectors run:
//! [`apigw`] ([`ApigwRoute`], with path templates and methods from [`route`]), [`timer`]
//! ([`TimerTrigger`]) and [`ckafka`] ([`TriggerSettings`]); a `function_url` trigger has no
//! keys ([`FunctionUrlTriggerConfig`]). What the connectors do with them is in
//! [`crate::triggers`] and [`crate::kafka`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

pub mod apigw;
pub mod ckafka;
pub mod deploy;
pub mod route;
pub mod timer;

pub use apigw::{ApigwRoute, ApigwTriggerConfig};
pub use ckafka::{CkafkaTriggerConfig, SettingsError, StartAt, TriggerSettings};
pub use deploy::{DeployConfig, FunctionDeploy};
pub use timer::{TimerConfigError, TimerTrigger, TimerTriggerConfig};

/// The default listen address of `cargo scf serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9000";
/// The `handler` of a function that names none: what SCF's console proposes for a custom runtime.
pub const DEFAULT_HANDLER: &str = "index.main_handler";
/// Total size allowed for a function's own environment variables (keys + values), bytes.
pub const MAX_ENV_BYTES: usize = 4 * 1024;
/// Environment key prefixes the platform keeps for itself.
pub const RESERVED_ENV_PREFIXES: [&str; 3] = ["SCF_", "QCLOUD_", "TENCENTCLOUD_"];

/// A bad `scf.toml`: which file, where, which key, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<string>` for [`Config::parse`] without a path).
    pub file: PathBuf,
    /// 1-based line and column of the offending text, when known.
    pub position: Option<(usize, usize)>,
    /// The dotted key, e.g. `functions.echo.memory_mb` (empty when the file as a whole is bad).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The whole configuration: `[server]` and every `[functions.<name>]`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory relative paths are read from (the config file's directory).
    pub base_dir: PathBuf,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[functions.<name>]`, sorted by name.
    pub functions: Vec<FunctionConfig>,
    /// `[deploy]`: where `cargo scf deploy` goes (the host ignores it).
    pub deploy: DeployConfig,
}

/// `[server]`: the listener and the limits shared by every function.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `listen`: the HTTP address (default `127.0.0.1:9000`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// `state_dir`: durable state folder, relative to the config file (default `.scf`).
    pub state_dir: PathBuf,
    /// `region` (default `ap-guangzhou`), passed as `TENCENTCLOUD_REGION`.
    pub region: String,
    /// `appid` (default `1250000000`), passed as `TENCENTCLOUD_APPID`.
    pub appid: String,
    /// `uin` (default `100000000001`), passed as `TENCENTCLOUD_UIN`.
    pub uin: String,
    /// `namespace` (default `default`), passed as `SCF_NAMESPACE`.
    pub namespace: String,
    /// `quota_mb`: memory all instances, event and web, may take together (default 128000).
    pub quota_mb: u64,
    /// `queue_length`: invocations that may wait per function (default 1000).
    pub queue_length: usize,
    /// `queue_timeout_s`: longest wait for an instance before 432 (default 10).
    pub queue_timeout: Duration,
    /// `async_queue_length`: accepted async invocations not yet finished, per function
    /// (default 100000); past it async invocations get 432.
    pub async_queue_length: usize,
    /// `async_retry_num`: how many times a failed async invocation is retried (default 2, at
    /// most 10; SCF's `RetryNum`).
    pub async_retry_num: u32,
    /// `async_retry_interval_s`: wait between retries after a function error (default 60).
    pub async_retry_interval: Duration,
    /// `async_backoff_max_s`: longest backoff after throttles and system errors (default 300).
    pub async_backoff_max: Duration,
    /// `async_max_age_s`: how long after acceptance an event may still be retried (default
    /// 21600 = 6 h; SCF's `MsgTTL`, 60 to 21600).
    pub async_max_age: Duration,
    /// `async_retention_s`: how long finished events stay queryable (default 259200 = 72 h).
    pub async_retention: Duration,
    /// `async_max_kept`: most finished and aborted events kept, over all functions; past it the
    /// oldest are pruned before their retention ends (default 100000).
    pub async_max_kept: u64,
    /// `shutdown_timeout_s`: how long in-flight invocations may finish at shutdown (default 10).
    pub shutdown_timeout: Duration,
    /// `[server.credentials]`: temporary credentials handed to every function, if any.
    pub credentials: Option<Credentials>,
    /// `[server.cloud_api]`: the key pair Cloud API requests must be signed with, if any
    /// (`SCF_SERVE_SECRET_ID` / `SCF_SERVE_SECRET_KEY` give it from the environment instead, see
    /// [`ServerConfig::apply_env`]).
    pub cloud_api_secret: Option<ApiSecret>,
    /// `token`: a bearer token accepted on the server's own routes besides TC3 signatures
    /// (`SCF_SERVE_TOKEN` gives it from the environment instead).
    pub token: Option<String>,
    /// `max_connections` (default 1024): connections served at once; past it new ones wait in
    /// the listen backlog.
    pub max_connections: usize,
    /// `header_timeout_s` (default 10): a request's headers must arrive within this, counted from
    /// the connection's start or the end of the previous answer (so it is also the keep-alive
    /// idle timeout).
    pub header_timeout: Duration,
    /// `queue_mb` (default 256): bytes of sync payloads that may wait for an instance, per
    /// function (432 past it).
    pub queue_bytes: usize,
    /// `isolation` (default `auto`): whether each instance runs in its own namespaces.
    pub isolation: Isolation,
}

/// `[server] isolation`: how instances are kept apart (see the README's "Isolation").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Namespaces where the machine permits them, else none (with one warning at start).
    #[default]
    Auto,
    /// Namespaces, or the server refuses to start.
    Namespaces,
    /// No sandbox: instances share the host's network and process tree (`PORT` for web
    /// functions).
    None,
}

/// The environment variable giving `[server.cloud_api] secret_id`.
pub const ENV_SECRET_ID: &str = "SCF_SERVE_SECRET_ID";
/// The environment variable giving `[server.cloud_api] secret_key`.
pub const ENV_SECRET_KEY: &str = "SCF_SERVE_SECRET_KEY";
/// The environment variable giving `[server] token`.
pub const ENV_TOKEN: &str = "SCF_SERVE_TOKEN";

impl ServerConfig {
    /// Takes the credentials from the environment when set: `SCF_SERVE_SECRET_ID` and
    /// `SCF_SERVE_SECRET_KEY` (both or neither) replace `[server.cloud_api]`, `SCF_SERVE_TOKEN`
    /// replaces `token`. `lookup` reads one variable (`std::env::var` in the server).
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        match (lookup(ENV_SECRET_ID), lookup(ENV_SECRET_KEY)) {
            (None, None) => {}
            (Some(secret_id), Some(secret_key)) => {
                if secret_id.trim().is_empty() || secret_key.trim().is_empty() {
                    return Err(format!(
                        "{ENV_SECRET_ID} and {ENV_SECRET_KEY} must not be empty"
                    ));
                }
                self.cloud_api_secret = Some(ApiSecret {
                    secret_id,
                    secret_key,
                });
            }
            _ => {
                return Err(format!(
                    "set both {ENV_SECRET_ID} and {ENV_SECRET_KEY}, or neither"
                ));
            }
        }
        if let Some(token) = lookup(ENV_TOKEN) {
            check_token(&token).map_err(|m| format!("{ENV_TOKEN}: {m}"))?;
            self.token = Some(token);
        }
        Ok(())
    }

    /// Whether requests must authenticate (a Cloud API key pair or a token is configured).
    pub fn has_credentials(&self) -> bool {
        self.cloud_api_secret.is_some() || self.token.is_some()
    }

    /// The durable async queue's limits and SCF retry policy as configured.
    pub fn queue_config(&self) -> crate::durable::QueueConfig {
        use crate::durable::{Backoff, QueueConfig, RetryPolicy};
        let backoff = Backoff::exponential(Duration::from_secs(1), self.async_backoff_max);
        QueueConfig {
            max_pending_per_function: self.async_queue_length,
            policy: RetryPolicy {
                retry_num: self.async_retry_num,
                function_backoff: Backoff::fixed(self.async_retry_interval),
                throttle_backoff: backoff,
                system_backoff: backoff,
                max_age: self.async_max_age,
            },
            retention: self.async_retention,
            max_kept: self.async_max_kept,
            ..QueueConfig::default()
        }
    }
}

/// `[server.credentials]`: passed to functions as `TENCENTCLOUD_SECRETID`, `…SECRETKEY` and
/// `…SESSIONTOKEN` (as an execution role would).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// `secret_id`.
    pub secret_id: String,
    /// `secret_key`.
    pub secret_key: String,
    /// `session_token` (optional).
    #[serde(default)]
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// `[server.cloud_api]`: with it, every Cloud API request must carry a valid TC3-HMAC-SHA256
/// signature made with this key pair.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSecret {
    /// `secret_id`.
    pub secret_id: String,
    /// `secret_key`.
    pub secret_key: String,
}

impl fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiSecret")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// Where a function's executable comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `bootstrap = "…"`: an executable, resolved against the config file's directory.
    Bootstrap(PathBuf),
    /// `package = "…"`: a workspace package that `cargo scf serve` builds (release) first.
    Package {
        /// The package name (its binary has the same name).
        name: String,
        /// The built executable, once [`Config::set_package_binary`] gave it.
        built: Option<PathBuf>,
    },
}

/// `type`: how the function is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionType {
    /// `event`: a bootstrap speaking the runtime API (the default).
    Event,
    /// `web`: `scf_bootstrap` serving HTTP on `$PORT`.
    Web,
}

/// One `[functions.<name>]` table.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// The function name (the table key).
    pub name: String,
    /// `bootstrap` or `package`.
    pub code: Code,
    /// `type` (default `event`).
    pub kind: FunctionType,
    /// `handler` (default `index.main_handler`): SCF's `Handler`, passed as `_HANDLER`.
    pub handler: String,
    /// `memory_mb` (default 128): the limit RSS is held to (434 past it), and the quota share.
    pub memory_mb: u32,
    /// `timeout_s` (default 3): longest run of one invocation (433 past it).
    pub timeout: Duration,
    /// `init_timeout_s` (default 60): longest time from spawn to ready (450 past it).
    pub init_timeout: Duration,
    /// `max_instances` (default 100).
    pub max_instances: usize,
    /// `min_instances` (default 0): started at boot and kept.
    pub min_instances: usize,
    /// `idle_timeout_s` (default 300): an idle instance is stopped after this long.
    pub idle_timeout: Duration,
    /// `max_concurrency` (web functions only, default 1): requests one instance takes at once.
    pub max_concurrency: usize,
    /// `queue_length` (default: the server's).
    pub queue_length: usize,
    /// `queue_timeout_s` (default: the server's).
    pub queue_timeout: Duration,
    /// `env`: the function's own variables, sorted by key.
    pub env: Vec<(String, String)>,
    /// `[[functions.<name>.triggers]]`, in file order.
    pub triggers: Vec<FunctionTrigger>,
    /// `description`, `reserved_concurrency_mb`, `provisioned_concurrency`: read by
    /// `cargo scf deploy` only.
    pub deploy: FunctionDeploy,
}

/// A `function_url` trigger as written in `scf.toml` (without `type`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionUrlTriggerConfig {
    /// Whether callers must authenticate like on the server's own routes (default `false`:
    /// function URLs are public, as on SCF).
    #[serde(default)]
    pub auth: Option<bool>,
}

/// One `[[functions.<name>.triggers]]` table, by its `type`, checked when the config was loaded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FunctionTrigger {
    /// `type = "apigw"`: the route it serves.
    Apigw(ApigwRoute),
    /// `type = "function_url"`: `/fn/<function>/…`.
    FunctionUrl {
        /// `auth = true`: callers must authenticate.
        auth: bool,
    },
    /// `type = "timer"` (event functions only; names distinct within the function).
    Timer(Box<TimerTrigger>),
    /// `type = "ckafka"` (names distinct within the function).
    Ckafka(TriggerSettings),
}

impl FunctionConfig {
    /// Whether this is a web function (`type = "web"`).
    pub fn is_web(&self) -> bool {
        self.kind == FunctionType::Web
    }

    /// The executable to start, once known (always for `bootstrap`; for `package` after the build).
    pub fn executable(&self) -> Option<&Path> {
        match &self.code {
            Code::Bootstrap(path) => Some(path),
            Code::Package { built, .. } => built.as_deref(),
        }
    }
}

impl Config {
    /// Reads and checks the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_owned(),
            position: None,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."));
        Config::parse(&text, path, &base)
    }

    /// Parses and checks `text`; `file` names it in errors, `base_dir` anchors relative paths.
    pub fn parse(text: &str, file: &Path, base_dir: &Path) -> Result<Config, ConfigError> {
        let fail = |span: Option<Range<usize>>, key: String, message: String| ConfigError {
            file: file.to_owned(),
            position: span.map(|s| position(text, s.start)),
            key,
            message,
        };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| fail(e.span(), String::new(), e.message().trim().to_owned()))?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            // `Spanned` fields show up as a private segment of the path.
            let key = e
                .path()
                .to_string()
                .replace(".$__serde_spanned_private_value", "")
                .replace("$__serde_spanned_private_value", "");
            let key = if key == "." { String::new() } else { key };
            let inner = e.into_inner();
            fail(inner.span(), key, inner.message().trim().to_owned())
        })?;
        build(raw, base_dir).map_err(|(span, key, message)| fail(span, key, message))
    }

    /// The function called `name`.
    pub fn function(&self, name: &str) -> Option<&FunctionConfig> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Records the built executable of every function using `package`.
    pub fn set_package_binary(&mut self, package: &str, binary: &Path) {
        for function in &mut self.functions {
            if let Code::Package { name, built } = &mut function.code
                && name == package
            {
                *built = Some(binary.to_owned());
            }
        }
    }

    /// The `ckafka` triggers of every function, in order (for [`crate::kafka::Consumers::start`]).
    pub fn ckafka_triggers(&self) -> Vec<TriggerSettings> {
        self.functions
            .iter()
            .flat_map(|f| &f.triggers)
            .filter_map(|t| match t {
                FunctionTrigger::Ckafka(settings) => Some(settings.clone()),
                _ => None,
            })
            .collect()
    }

    /// The packages functions name, each once, in order.
    pub fn packages(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for function in &self.functions {
            if let Code::Package { name, .. } = &function.code
                && !out.contains(name)
            {
                out.push(name.clone());
            }
        }
        out
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: Option<RawServer>,
    #[serde(default)]
    functions: BTreeMap<String, Spanned<RawFunction>>,
    #[serde(default)]
    deploy: DeployConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    state_dir: Option<String>,
    region: Option<String>,
    appid: Option<String>,
    uin: Option<String>,
    namespace: Option<String>,
    quota_mb: Option<Spanned<u64>>,
    queue_length: Option<Spanned<usize>>,
    queue_mb: Option<Spanned<u64>>,
    queue_timeout_s: Option<Spanned<f64>>,
    async_queue_length: Option<Spanned<usize>>,
    async_retry_num: Option<Spanned<u32>>,
    async_retry_interval_s: Option<Spanned<f64>>,
    async_backoff_max_s: Option<Spanned<f64>>,
    async_max_age_s: Option<Spanned<f64>>,
    async_retention_s: Option<Spanned<f64>>,
    async_max_kept: Option<Spanned<usize>>,
    shutdown_timeout_s: Option<Spanned<f64>>,
    credentials: Option<Credentials>,
    cloud_api: Option<Spanned<ApiSecret>>,
    token: Option<Spanned<String>>,
    max_connections: Option<Spanned<usize>>,
    header_timeout_s: Option<Spanned<f64>>,
    isolation: Option<Isolation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunction {
    bootstrap: Option<Spanned<String>>,
    package: Option<String>,
    #[serde(rename = "type")]
    kind: Option<FunctionType>,
    handler: Option<Spanned<String>>,
    memory_mb: Option<Spanned<u32>>,
    timeout_s: Option<Spanned<f64>>,
    init_timeout_s: Option<Spanned<f64>>,
    max_instances: Option<Spanned<usize>>,
    min_instances: Option<Spanned<usize>>,
    idle_timeout_s: Option<Spanned<f64>>,
    max_concurrency: Option<Spanned<usize>>,
    queue_length: Option<Spanned<usize>>,
    queue_timeout_s: Option<Spanned<f64>>,
    env: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    triggers: Vec<Spanned<RawTable>>,
    // Read by `cargo scf deploy` only (config::deploy).
    description: Option<Spanned<String>>,
    reserved_concurrency_mb: Option<u64>,
    provisioned_concurrency: Option<Spanned<u32>>,
}

/// A table with the position of each value, for errors that point at the key at fault.
type RawTable = BTreeMap<String, Spanned<toml::Value>>;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RawTrigger {
    Apigw(ApigwTriggerConfig),
    FunctionUrl(FunctionUrlTriggerConfig),
    Timer(TimerTriggerConfig),
    Ckafka(CkafkaTriggerConfig),
}

type BuildError = (Option<Range<usize>>, String, String);

fn seconds(
    value: &Option<Spanned<f64>>,
    default: Duration,
    key: &str,
    max: f64,
) -> Result<Duration, BuildError> {
    match value {
        None => Ok(default),
        Some(v) => {
            let s = *v.get_ref();
            if !(s > 0.0 && s <= max) {
                return Err((
                    Some(v.span()),
                    key.to_owned(),
                    format!("must be more than 0 and at most {max} seconds, got {s}"),
                ));
            }
            Ok(Duration::from_secs_f64(s))
        }
    }
}

fn build(raw: RawConfig, base_dir: &Path) -> Result<Config, BuildError> {
    let s = raw.server.unwrap_or(RawServer {
        listen: None,
        state_dir: None,
        region: None,
        appid: None,
        uin: None,
        namespace: None,
        quota_mb: None,
        queue_length: None,
        queue_mb: None,
        queue_timeout_s: None,
        async_queue_length: None,
        async_retry_num: None,
        async_retry_interval_s: None,
        async_backoff_max_s: None,
        async_max_age_s: None,
        async_retention_s: None,
        async_max_kept: None,
        shutdown_timeout_s: None,
        credentials: None,
        cloud_api: None,
        token: None,
        max_connections: None,
        header_timeout_s: None,
        isolation: None,
    });
    let listen = match &s.listen {
        None => DEFAULT_LISTEN.parse().expect("valid default"),
        Some(l) => l.get_ref().parse().map_err(|e| {
            (
                Some(l.span()),
                "server.listen".to_owned(),
                format!("{e}: expected an address like \"127.0.0.1:9000\""),
            )
        })?,
    };
    let server = ServerConfig {
        listen,
        state_dir: base_dir.join(s.state_dir.as_deref().unwrap_or(".scf")),
        region: s.region.unwrap_or_else(|| "ap-guangzhou".to_owned()),
        appid: s.appid.unwrap_or_else(|| "1250000000".to_owned()),
        uin: s.uin.unwrap_or_else(|| "100000000001".to_owned()),
        namespace: s.namespace.unwrap_or_else(|| "default".to_owned()),
        quota_mb: at_least(&s.quota_mb, 128_000, 1, "server.quota_mb")?,
        queue_length: at_least(&s.queue_length, 1000, 1, "server.queue_length")?,
        queue_timeout: seconds(
            &s.queue_timeout_s,
            Duration::from_secs(10),
            "server.queue_timeout_s",
            300.0,
        )?,
        async_queue_length: at_least(
            &s.async_queue_length,
            100_000,
            1,
            "server.async_queue_length",
        )?,
        async_retry_num: match &s.async_retry_num {
            None => 2,
            Some(n) if *n.get_ref() <= 10 => *n.get_ref(),
            Some(n) => {
                return Err((
                    Some(n.span()),
                    "server.async_retry_num".to_owned(),
                    format!("must be from 0 to 10, got {}", n.get_ref()),
                ));
            }
        },
        async_retry_interval: seconds(
            &s.async_retry_interval_s,
            Duration::from_secs(60),
            "server.async_retry_interval_s",
            21_600.0,
        )?,
        async_backoff_max: seconds(
            &s.async_backoff_max_s,
            Duration::from_secs(300),
            "server.async_backoff_max_s",
            21_600.0,
        )?,
        async_max_age: seconds(
            &s.async_max_age_s,
            Duration::from_secs(21_600),
            "server.async_max_age_s",
            21_600.0,
        )?,
        async_retention: seconds(
            &s.async_retention_s,
            Duration::from_secs(72 * 3600),
            "server.async_retention_s",
            30.0 * 86_400.0,
        )?,
        async_max_kept: at_least(&s.async_max_kept, 100_000, 1, "server.async_max_kept")? as u64,
        shutdown_timeout: seconds(
            &s.shutdown_timeout_s,
            Duration::from_secs(10),
            "server.shutdown_timeout_s",
            3600.0,
        )?,
        credentials: s.credentials,
        cloud_api_secret: match s.cloud_api {
            None => None,
            Some(secret) => {
                let span = secret.span();
                let secret = secret.into_inner();
                for (key, value) in [
                    ("secret_id", &secret.secret_id),
                    ("secret_key", &secret.secret_key),
                ] {
                    if value.trim().is_empty() {
                        return Err((
                            Some(span),
                            format!("server.cloud_api.{key}"),
                            "must not be empty (an empty key would sign every request)".to_owned(),
                        ));
                    }
                }
                Some(secret)
            }
        },
        token: match s.token {
            None => None,
            Some(t) => {
                check_token(t.get_ref())
                    .map_err(|m| (Some(t.span()), "server.token".to_owned(), m))?;
                Some(t.into_inner())
            }
        },
        max_connections: at_least(&s.max_connections, 1024, 1, "server.max_connections")?,
        header_timeout: seconds(
            &s.header_timeout_s,
            Duration::from_secs(10),
            "server.header_timeout_s",
            3600.0,
        )?,
        queue_bytes: usize::try_from(
            at_least(&s.queue_mb, 256, 1, "server.queue_mb")?.saturating_mul(1024 * 1024),
        )
        .unwrap_or(usize::MAX),
        isolation: s.isolation.unwrap_or_default(),
    };

    let mut functions = Vec::new();
    let mut routes: Vec<(String, ApigwRoute)> = Vec::new();
    for (name, spanned) in raw.functions {
        let span = spanned.span();
        let f = spanned.into_inner();
        let key = |k: &str| format!("functions.{name}.{k}");
        check_function_name(&name)
            .map_err(|m| (Some(span.clone()), format!("functions.{name}"), m))?;
        let code = match (f.bootstrap, f.package) {
            (Some(path), None) => {
                let file = base_dir.join(path.get_ref());
                check_bootstrap(&file).map_err(|m| (Some(path.span()), key("bootstrap"), m))?;
                Code::Bootstrap(file)
            }
            (None, Some(package)) => Code::Package {
                name: package,
                built: None,
            },
            (Some(_), Some(_)) => {
                return Err((
                    Some(span),
                    key("bootstrap"),
                    "give either `bootstrap` or `package`, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err((
                    Some(span),
                    key("bootstrap"),
                    "missing: give `bootstrap = \"path/to/executable\"` or `package = \"<workspace package>\"`".to_owned(),
                ));
            }
        };
        let handler = match &f.handler {
            None => DEFAULT_HANDLER.to_owned(),
            Some(h) => {
                check_handler(h.get_ref()).map_err(|m| (Some(h.span()), key("handler"), m))?;
                h.get_ref().clone()
            }
        };
        let memory_mb = match &f.memory_mb {
            None => 128,
            Some(m) => {
                let v = *m.get_ref();
                if !(64..=120 * 1024).contains(&v) {
                    return Err((
                        Some(m.span()),
                        key("memory_mb"),
                        format!("must be from 64 to 122880 (MB), got {v}"),
                    ));
                }
                v
            }
        };
        let max_instances = f
            .max_instances
            .as_ref()
            .map(|v| *v.get_ref())
            .unwrap_or(100);
        if max_instances == 0 {
            let span = f.max_instances.as_ref().map(Spanned::span);
            return Err((span, key("max_instances"), "must be at least 1".to_owned()));
        }
        let min_instances = f.min_instances.as_ref().map(|v| *v.get_ref()).unwrap_or(0);
        if min_instances > max_instances {
            let span = f.min_instances.as_ref().map(Spanned::span);
            return Err((
                span,
                key("min_instances"),
                format!("{min_instances} is more than max_instances ({max_instances})"),
            ));
        }
        let kind = f.kind.unwrap_or(FunctionType::Event);
        let max_concurrency = match &f.max_concurrency {
            None => 1,
            Some(v) => {
                let c = *v.get_ref();
                if kind != FunctionType::Web && c != 1 {
                    return Err((
                        Some(v.span()),
                        key("max_concurrency"),
                        "only web functions (type = \"web\") take more than one request per instance".to_owned(),
                    ));
                }
                if !(1..=100).contains(&c) {
                    return Err((
                        Some(v.span()),
                        key("max_concurrency"),
                        format!("must be from 1 to 100, got {c}"),
                    ));
                }
                c
            }
        };
        let env = match f.env {
            None => Vec::new(),
            Some(env) => {
                let span = env.span();
                check_env(env.get_ref()).map_err(|m| (Some(span), key("env"), m))?;
                env.into_inner().into_iter().collect()
            }
        };
        let deploy_span = |k: &str| match k {
            "description" => f.description.as_ref().map(Spanned::span),
            _ => f.provisioned_concurrency.as_ref().map(Spanned::span),
        };
        let deploy = FunctionDeploy::new(
            f.description.as_ref().map(|d| d.get_ref().clone()),
            f.reserved_concurrency_mb,
            f.provisioned_concurrency.as_ref().map(|p| *p.get_ref()),
        )
        .map_err(|(k, m)| (deploy_span(k), key(k), m))?;
        let mut triggers = Vec::new();
        for (index, table) in f.triggers.into_iter().enumerate() {
            let path_span = table
                .get_ref()
                .get("path")
                .map(Spanned::span)
                .unwrap_or_else(|| table.span());
            let trigger = check_trigger(&name, kind, index, table, &triggers)?;
            if let FunctionTrigger::Apigw(route) = &trigger {
                let here = format!("functions.{name}.triggers[{index}].path");
                check_route_conflicts(route, &routes)
                    .map_err(|m| (Some(path_span), here.clone(), m))?;
                routes.push((here, route.clone()));
            }
            triggers.push(trigger);
        }
        functions.push(FunctionConfig {
            code,
            kind,
            handler,
            memory_mb,
            timeout: seconds(
                &f.timeout_s,
                Duration::from_secs(3),
                &key("timeout_s"),
                86_400.0,
            )?,
            init_timeout: seconds(
                &f.init_timeout_s,
                Duration::from_secs(60),
                &key("init_timeout_s"),
                300.0,
            )?,
            max_instances,
            min_instances,
            idle_timeout: seconds(
                &f.idle_timeout_s,
                Duration::from_secs(300),
                &key("idle_timeout_s"),
                86_400.0,
            )?,
            max_concurrency,
            queue_length: at_least(
                &f.queue_length,
                server.queue_length,
                1,
                &key("queue_length"),
            )?,
            queue_timeout: seconds(
                &f.queue_timeout_s,
                server.queue_timeout,
                &key("queue_timeout_s"),
                300.0,
            )?,
            env,
            triggers,
            deploy,
            name,
        });
    }
    Ok(Config {
        base_dir: base_dir.to_owned(),
        server,
        functions,
        deploy: raw.deploy,
    })
}

/// Checks trigger `index` of `function` (a function of type `kind`, with the checked triggers
/// `before` it); errors point at the key at fault, else at the table.
fn check_trigger(
    function: &str,
    kind: FunctionType,
    index: usize,
    table: Spanned<RawTable>,
    before: &[FunctionTrigger],
) -> Result<FunctionTrigger, BuildError> {
    let table_span = table.span();
    let fields = table.into_inner();
    let fail = |key: &str, message: String| {
        let span = fields
            .get(key)
            .map(Spanned::span)
            .unwrap_or_else(|| table_span.clone());
        let path = if key.is_empty() {
            format!("functions.{function}.triggers[{index}]")
        } else {
            format!("functions.{function}.triggers[{index}].{key}")
        };
        (Some(span), path, message)
    };
    let plain: toml::Table = fields
        .iter()
        .map(|(k, v)| (k.clone(), v.get_ref().clone()))
        .collect();
    let raw: RawTrigger = toml::Value::Table(plain)
        .try_into()
        .map_err(|e: toml::de::Error| {
            let message = e.message().trim().to_owned();
            // `unknown field `paht`` / `missing field `cron``: point at that key when it is
            // there; `unknown variant `sqs``: at `type`.
            let named = if message.starts_with("unknown variant") {
                Some("type")
            } else {
                message.split('`').nth(1)
            };
            let named = named.filter(|k| fields.contains_key(*k));
            fail(named.unwrap_or(""), message.clone())
        })?;
    match raw {
        RawTrigger::Apigw(config) => ApigwRoute::new(function, &config)
            .map(FunctionTrigger::Apigw)
            .map_err(|e| fail(e.key().unwrap_or(""), e.problem().to_owned())),
        RawTrigger::FunctionUrl(FunctionUrlTriggerConfig { auth }) => {
            Ok(FunctionTrigger::FunctionUrl {
                auth: auth.unwrap_or(false),
            })
        }
        RawTrigger::Timer(config) => {
            if kind == FunctionType::Web {
                return Err(fail(
                    "type",
                    "a web function cannot have a timer trigger (it takes HTTP requests only)"
                        .to_owned(),
                ));
            }
            let timer = TimerTrigger::new(function, &config).map_err(|e| fail(e.key, e.message))?;
            let taken = before
                .iter()
                .any(|t| matches!(t, FunctionTrigger::Timer(other) if other.name == timer.name));
            if taken {
                return Err(fail(
                    "name",
                    format!("{:?} is used by another timer of this function", timer.name),
                ));
            }
            Ok(FunctionTrigger::Timer(Box::new(timer)))
        }
        RawTrigger::Ckafka(config) => {
            let settings =
                TriggerSettings::new(function, &config).map_err(|e| fail(e.key, e.message))?;
            let taken = before.iter().any(
                |t| matches!(t, FunctionTrigger::Ckafka(other) if other.name == settings.name),
            );
            if taken {
                return Err(fail(
                    "name",
                    format!(
                        "two ckafka triggers of this function are named {:?}; give each a distinct `name` (their stored offsets are kept by name)",
                        settings.name
                    ),
                ));
            }
            Ok(FunctionTrigger::Ckafka(settings))
        }
    }
}

/// A count of at least `min`, or `default` when not given.
fn at_least<T>(value: &Option<Spanned<T>>, default: T, min: T, key: &str) -> Result<T, BuildError>
where
    T: Copy + PartialOrd + fmt::Display,
{
    match value {
        None => Ok(default),
        Some(v) if *v.get_ref() >= min => Ok(*v.get_ref()),
        Some(v) => Err((
            Some(v.span()),
            key.to_owned(),
            format!("must be at least {min}, got {}", v.get_ref()),
        )),
    }
}

/// Shortest bearer token accepted.
pub const MIN_TOKEN_BYTES: usize = 16;

/// A bearer token: printable ASCII without spaces, at least [`MIN_TOKEN_BYTES`] long.
fn check_token(token: &str) -> Result<(), String> {
    if token.len() < MIN_TOKEN_BYTES {
        return Err(format!(
            "must be at least {MIN_TOKEN_BYTES} characters (it guards every route), got {}",
            token.len()
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces (it travels in a header)".to_owned());
    }
    Ok(())
}

/// A bootstrap that exists must be an executable file (one that does not exist yet may be built
/// later: the server warns at start).
fn check_bootstrap(file: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(meta) = std::fs::metadata(file) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!(
            "{} is not executable (chmod +x it)",
            file.display()
        ));
    }
    Ok(())
}

/// Paths the server serves itself (an API gateway route for exactly one of them is never
/// reached)…
const RESERVED_PATHS: [&str; 7] = [
    "/status",
    "/metrics",
    "/healthz",
    "/ui",
    "/async/events",
    "/async/dlq",
    "/functions/x/invocations",
];
/// …and the folders whose every path it serves.
const RESERVED_FOLDERS: [&str; 3] = ["/ui/", "/async/events/", "/async/dlq/"];

/// Refuses an API gateway route that another route (`before`, with its config key) already
/// serves for the same paths and methods, or that a route of the server itself hides.
fn check_route_conflicts(
    route: &ApigwRoute,
    before: &[(String, ApigwRoute)],
) -> Result<(), String> {
    let shape = route.template.shape();
    if let Some((key, _)) = before.iter().find(|(_, other)| {
        other.template.shape() == shape && other.methods.overlaps(&route.methods)
    }) {
        return Err(format!(
            "{} is already routed by {key} for some of the same methods; one of them would never be called",
            route.template.as_str()
        ));
    }
    let path = route.template.as_str();
    let hidden = RESERVED_PATHS
        .iter()
        .find(|p| {
            route
                .template
                .matches(p)
                .is_some_and(|(spec, _)| spec.is_exact())
                && !path.starts_with("/{")
        })
        .or_else(|| RESERVED_FOLDERS.iter().find(|f| path.starts_with(**f)));
    if let Some(reserved) = hidden {
        return Err(format!(
            "{} overlaps the server's own route {reserved}, which is served first; this route would never be called there",
            route.template.as_str()
        ));
    }
    Ok(())
}

/// Function names as the platform allows them: 2–60 characters, letters, digits, `-` and `_`,
/// starting with a letter.
pub(crate) fn check_function_name(name: &str) -> Result<(), String> {
    let ok = (1..=60).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid function name (letters, digits, `-` and `_`, starting with a letter, at most 60)"
        ))
    }
}

/// Checks a function's own variables: keys `[a-zA-Z][a-zA-Z0-9_]*`, no reserved prefix, 4 KB in all.
pub fn check_env(env: &BTreeMap<String, String>) -> Result<(), String> {
    let mut total = 0;
    for (k, v) in env {
        let valid = k.starts_with(|c: char| c.is_ascii_alphabetic())
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "{k:?} is not a valid variable name (letters, digits and `_`, starting with a letter)"
            ));
        }
        if let Some(prefix) = RESERVED_ENV_PREFIXES
            .iter()
            .find(|p| k.to_ascii_uppercase().starts_with(**p))
        {
            return Err(format!(
                "{k:?} uses the reserved prefix {prefix} (SCF_, QCLOUD_ and TENCENTCLOUD_ belong to the platform)"
            ));
        }
        if v.contains('\0') {
            return Err(format!(
                "the value of {k:?} contains a NUL character, which no process environment can hold"
            ));
        }
        total += k.len() + v.len();
    }
    if total > MAX_ENV_BYTES {
        return Err(format!(
            "the variables take {total} bytes; at most {MAX_ENV_BYTES} are allowed per function"
        ));
    }
    Ok(())
}

/// Checks a `handler`: SCF passes it to a custom runtime as `_HANDLER` without interpreting it,
/// so any text will do that an environment variable can hold: 1 to 128 characters, none of them
/// a control character or whitespace.
pub fn check_handler(handler: &str) -> Result<(), String> {
    let count = handler.chars().count();
    if count == 0 || count > 128 {
        return Err(format!(
            "must be 1 to 128 characters (like \"{DEFAULT_HANDLER}\"), got {count}"
        ));
    }
    if let Some(c) = handler
        .chars()
        .find(|c| c.is_control() || c.is_whitespace())
    {
        return Err(format!(
            "{handler:?} contains {c:?}: a handler has no whitespace or control characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("scf.toml"), Path::new("/srv"))
    }

    #[test]
    fn the_documented_example_parses_with_defaults() {
        let config = parse(
            r#"
[server]
listen = "127.0.0.1:9000"
state_dir = ".scf"

[functions.echo]
bootstrap = "target/release/example-echo"
type = "event"
memory_mb = 128
timeout_s = 3
init_timeout_s = 60
max_instances = 100
min_instances = 0
idle_timeout_s = 300
env = { GREETING = "hello" }

[[functions.echo.triggers]]
type = "apigw"
path = "/echo"
methods = ["GET", "POST"]

[[functions.echo.triggers]]
type = "timer"
name = "every-minute"
cron = "0 */1 * * * * *"
message = "tick"

[functions.other]
package = "example-echo"
timeout_s = 0.5

[[functions.other.triggers]]
type = "ckafka"
brokers = ["127.0.0.1:9092"]
topic = "t"
"#,
        )
        .unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(config.server.state_dir, Path::new("/srv/.scf"));
        assert_eq!(config.server.queue_length, 1000);
        let echo = config.function("echo").unwrap();
        assert_eq!(
            echo.code,
            Code::Bootstrap("/srv/target/release/example-echo".into())
        );
        assert_eq!(echo.env, [("GREETING".to_owned(), "hello".to_owned())]);
        assert_eq!(echo.triggers.len(), 2);
        assert!(matches!(
            &echo.triggers[..],
            [FunctionTrigger::Apigw(_), FunctionTrigger::Timer(_)]
        ));
        let other = config.function("other").unwrap();
        assert_eq!(other.timeout, Duration::from_millis(500));
        assert_eq!(other.idle_timeout, Duration::from_secs(300));
        assert!(matches!(&other.triggers[..], [FunctionTrigger::Ckafka(_)]));
        assert_eq!(config.ckafka_triggers()[0].consumer_name(), "other/t");
        assert_eq!(config.packages(), ["example-echo"]);
    }

    #[test]
    fn errors_name_the_key_and_the_position() {
        let err = parse("[functions.echo]\nbootstrap = \"x\"\nmemory_mb = \"big\"\n").unwrap_err();
        assert_eq!(err.key, "functions.echo.memory_mb");
        assert_eq!(err.position, Some((3, 13)));
        assert!(
            err.to_string()
                .starts_with("scf.toml:3:13: functions.echo.memory_mb: "),
            "{err}"
        );

        let err = parse("[functions.echo]\nbootstrap = \"x\"\nmemory_mb = 10\n").unwrap_err();
        assert_eq!(err.key, "functions.echo.memory_mb");
        assert_eq!(err.position, Some((3, 13)));

        let err = parse("[functions.echo]\nbootstrap = \"x\"\nmemroy_mb = 10\n").unwrap_err();
        assert!(err.message.contains("memroy_mb"), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(3), "{err}");

        let err = parse("[server]\nlisten = \"nowhere\"\n").unwrap_err();
        assert_eq!(err.key, "server.listen");
        assert_eq!(err.position, Some((2, 10)));

        let err =
            parse("[functions.echo]\nbootstrap = \"x\"\nenv = { SCF_X = \"1\" }\n").unwrap_err();
        assert_eq!(err.key, "functions.echo.env");
        assert!(err.message.contains("reserved prefix SCF_"), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(3));

        let big = "v".repeat(5000);
        let err = parse(&format!(
            "[functions.echo]\nbootstrap = \"x\"\nenv = {{ A = \"{big}\" }}\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("at most 4096"), "{err}");

        let err = parse("[functions.echo]\ntimeout_s = 3\n").unwrap_err();
        assert_eq!(err.key, "functions.echo.bootstrap");

        let err =
            parse("[functions.echo]\nbootstrap = \"x\"\nmin_instances = 3\nmax_instances = 2\n")
                .unwrap_err();
        assert_eq!(err.key, "functions.echo.min_instances");
        assert_eq!(err.position, Some((3, 17)));

        let err = parse(
            "[functions.echo]\nbootstrap = \"x\"\n[[functions.echo.triggers]]\ntype = \"sqs\"\n",
        )
        .unwrap_err();
        assert!(err.key.starts_with("functions.echo.triggers"), "{err}");
        assert!(err.message.contains("sqs"), "{err}");
        assert_eq!(err.key, "functions.echo.triggers[0].type");
        assert_eq!(err.position, Some((4, 8)), "{err}");

        let err = parse("this is not toml").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(1));
    }

    #[test]
    fn handler_and_isolation_default_and_are_checked() {
        let config = parse("[functions.a]\nbootstrap = \"x\"\n").unwrap();
        assert_eq!(config.functions[0].handler, "index.main_handler");
        assert_eq!(config.server.isolation, Isolation::Auto);
        let config = parse(
            "[server]\nisolation = \"none\"\n[functions.a]\nbootstrap = \"x\"\nhandler = \"other.run\"\n",
        )
        .unwrap();
        assert_eq!(config.functions[0].handler, "other.run");
        assert_eq!(config.server.isolation, Isolation::None);
        let isolation = |v: &str| parse(&format!("[server]\nisolation = \"{v}\"\n"));
        assert_eq!(
            isolation("namespaces").unwrap().server.isolation,
            Isolation::Namespaces
        );
        let err = isolation("docker").unwrap_err();
        assert_eq!(err.key, "server.isolation");
        assert!(err.message.contains("namespaces"), "{err}");

        for bad in ["", "index main", "a\\u0007b"] {
            let err = parse(&format!(
                "[functions.a]\nbootstrap = \"x\"\nhandler = \"{bad}\"\n"
            ))
            .unwrap_err();
            assert_eq!(err.key, "functions.a.handler", "{bad:?}: {err}");
            assert_eq!(err.position, Some((3, 11)), "{err}");
        }
        let long = "h".repeat(129);
        assert!(check_handler(&long).is_err());
        assert!(check_handler(&long[1..]).is_ok());
    }

    #[test]
    fn web_function_limits_are_checked() {
        let web = |extra: &str| {
            parse(&format!(
                "[functions.web]\ntype = \"web\"\nbootstrap = \"b\"\n{extra}\n"
            ))
        };
        assert_eq!(
            web("max_concurrency = 100").unwrap().functions[0].max_concurrency,
            100
        );
        for bad in ["max_concurrency = 101", "max_concurrency = 0"] {
            let err = web(bad).unwrap_err();
            assert!(err.key.ends_with("max_concurrency"), "{err}");
        }
        let err = web("max_instances = 2\nmin_instances = 3").unwrap_err();
        assert!(err.key.ends_with("min_instances"), "{err}");
    }

    const FUNCTION: &str = "[functions.f]\nbootstrap = \"x\"\n";

    /// `FUNCTION` and one trigger table with `body` (TOML lines), as `[[functions.f.triggers]]`
    /// on line 3.
    fn with_triggers(bodies: &[&str]) -> String {
        let mut text = FUNCTION.to_owned();
        for body in bodies {
            text.push_str("[[functions.f.triggers]]\n");
            text.push_str(body);
        }
        text
    }

    #[test]
    fn trigger_errors_name_the_key_and_the_position() {
        // An apigw route: the path.
        let err = parse(&with_triggers(&["type = \"apigw\"\npath = \"nope\"\n"])).unwrap_err();
        assert_eq!(err.key, "functions.f.triggers[0].path");
        assert_eq!(err.position, Some((5, 8)), "{err}");
        assert!(
            err.to_string()
                .starts_with("scf.toml:5:8: functions.f.triggers[0].path: "),
            "{err}"
        );
        assert!(err.message.contains("must start with '/'"), "{err}");

        // A bad cron, after a good trigger.
        let err = parse(&with_triggers(&[
            "type = \"function_url\"\n",
            "type = \"timer\"\nname = \"t1\"\ncron = \"nope\"\nmessage = \"m\"\n",
        ]))
        .unwrap_err();
        assert!(
            err.to_string().contains("functions.f.triggers[1].cron: "),
            "{err}"
        );
        assert_eq!(err.position, Some((8, 8)), "{err}");
        assert!(err.to_string().starts_with("scf.toml:8:8: "), "{err}");

        // Two timers with one name.
        let timer = "type = \"timer\"\nname = \"t\"\ncron = \"* * * * *\"\n";
        let err = parse(&with_triggers(&[timer, timer])).unwrap_err();
        assert!(
            err.to_string().contains("functions.f.triggers[1].name: "),
            "{err}"
        );
        assert!(err.message.contains("used by another timer"), "{err}");
        assert_eq!(err.position, Some((9, 8)), "{err}");

        // A timer on a web function.
        let err = parse(
            &with_triggers(&[timer])
                .replace("bootstrap = \"x\"\n", "bootstrap = \"x\"\ntype = \"web\"\n"),
        )
        .unwrap_err();
        assert_eq!(err.key, "functions.f.triggers[0].type");
        assert!(
            err.message.contains("web function cannot have a timer"),
            "{err}"
        );
        assert_eq!(err.position, Some((5, 8)), "{err}");

        // A bad ckafka table.
        let ckafka = "type = \"ckafka\"\nbrokers = [\"127.0.0.1:9\"]\ntopic = \"t\"\n";
        let err = parse(&with_triggers(&[&format!(
            "{ckafka}offset = \"yesterday\"\n"
        )]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "scf.toml:7:10: functions.f.triggers[0].offset: must be \"latest\" or \"earliest\", got \"yesterday\" (a start timestamp is not supported)"
        );

        // Unknown keys point at the key.
        let err = parse(&with_triggers(&[
            "type = \"apigw\"\npath = \"/\"\npaht = 1\n",
        ]))
        .unwrap_err();
        assert_eq!(err.key, "functions.f.triggers[0].paht");
        assert!(err.message.contains("paht"), "{err}");
        assert_eq!(err.position, Some((6, 8)), "{err}");
    }

    #[test]
    fn ckafka_names_must_be_distinct_within_a_function() {
        let text = r#"
[functions.a]
bootstrap = "x"
[[functions.a.triggers]]
type = "ckafka"
brokers = ["127.0.0.1:9092"]
topic = "t"
[[functions.a.triggers]]
type = "ckafka"
brokers = ["127.0.0.1:9093"]
topic = "t"
"#;
        let e = parse(text).unwrap_err();
        assert_eq!(e.key, "functions.a.triggers[1].name");
        assert!(e.message.contains("named \"t\""), "{e}");
        assert_eq!(e.position.map(|p| p.0), Some(8), "{e}");
        let fixed = text.replacen("topic = \"t\"\n", "topic = \"t\"\nname = \"second\"\n", 1);
        let config = parse(&fixed).unwrap();
        let names: Vec<String> = config
            .ckafka_triggers()
            .iter()
            .map(TriggerSettings::consumer_name)
            .collect();
        assert_eq!(names, ["a/second", "a/t"]);
    }

    #[test]
    fn configs_that_would_break_at_run_time_are_refused_with_their_line() {
        let dir =
            std::env::temp_dir().join(format!("scf-config-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("not-executable");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        let here = |text: &str| Config::parse(text, Path::new("scf.toml"), &dir);
        let cases: [(&str, &str, (usize, usize), &str); 12] = [
            (
                "[server]\nqueue_length = 0\n",
                "server.queue_length",
                (2, 16),
                "at least 1",
            ),
            (
                "[server]\nquota_mb = 0\n",
                "server.quota_mb",
                (2, 12),
                "at least 1",
            ),
            (
                "[server]\nqueue_mb = 0\n",
                "server.queue_mb",
                (2, 12),
                "at least 1",
            ),
            (
                "[server]\nmax_connections = 0\n",
                "server.max_connections",
                (2, 19),
                "at least 1",
            ),
            (
                "[server]\ntoken = \"short\"\n",
                "server.token",
                (2, 9),
                "at least 16",
            ),
            (
                "[server.cloud_api]\nsecret_id = \"AKID\"\nsecret_key = \"\"\n",
                "server.cloud_api.secret_key",
                (1, 1),
                "must not be empty",
            ),
            (
                "[functions.f]\nbootstrap = \"x\"\nqueue_length = 0\n",
                "functions.f.queue_length",
                (3, 16),
                "at least 1",
            ),
            (
                "[functions.f]\nbootstrap = \"x\"\nenv = { A = \"a\\u0000b\" }\n",
                "functions.f.env",
                (3, 7),
                "NUL",
            ),
            (
                "[functions.f]\nbootstrap = \"not-executable\"\n",
                "functions.f.bootstrap",
                (2, 13),
                "not executable",
            ),
            (
                "[functions.f]\nbootstrap = \"x\"\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/a/{id}\"\nmethods = [\"GET\"]\n[functions.g]\nbootstrap = \"x\"\n[[functions.g.triggers]]\ntype = \"apigw\"\npath = \"/a/{name}\"\n",
                "functions.g.triggers[0].path",
                (11, 8),
                "already routed by functions.f.triggers[0].path",
            ),
            (
                "[functions.f]\nbootstrap = \"x\"\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/status\"\n",
                "functions.f.triggers[0].path",
                (5, 8),
                "the server's own route /status",
            ),
            (
                "[functions.f]\nbootstrap = \"x\"\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/ui/{page}\"\n",
                "functions.f.triggers[0].path",
                (5, 8),
                "the server's own route /ui/",
            ),
        ];
        for (text, key, position, why) in cases {
            let err = here(text).unwrap_err();
            assert_eq!(err.key, key, "{text}: {err}");
            assert_eq!(err.position, Some(position), "{text}: {err}");
            assert!(err.message.contains(why), "{text}: {err}");
            let line = err.to_string();
            assert!(
                line.starts_with(&format!("scf.toml:{}:{}: {key}: ", position.0, position.1)),
                "{line}"
            );
            assert_eq!(line.lines().count(), 1, "{line}");
        }
        // The same routes for distinct methods, and a catch-all, are fine.
        here("[functions.f]\nbootstrap = \"x\"\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/a\"\nmethods = [\"GET\"]\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/a\"\nmethods = [\"POST\"]\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/{any}\"\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/\"\n[[functions.f.triggers]]\ntype = \"apigw\"\npath = \"/async\"\n").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn credentials_come_from_the_environment_too() {
        let mut config = parse("[server]\n").unwrap();
        assert!(!config.server.has_credentials());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let err = config
            .server
            .apply_env(env(&[(ENV_SECRET_ID, "AKID")]))
            .unwrap_err();
        assert!(err.contains("both"), "{err}");
        let err = config
            .server
            .apply_env(env(&[(ENV_SECRET_ID, "AKID"), (ENV_SECRET_KEY, "")]))
            .unwrap_err();
        assert!(err.contains("must not be empty"), "{err}");
        config
            .server
            .apply_env(env(&[
                (ENV_SECRET_ID, "AKID"),
                (ENV_SECRET_KEY, "key"),
                (ENV_TOKEN, "0123456789abcdef"),
            ]))
            .unwrap();
        assert!(config.server.has_credentials());
        assert_eq!(config.server.cloud_api_secret.unwrap().secret_id, "AKID");
        assert_eq!(config.server.token.as_deref(), Some("0123456789abcdef"));
    }
}
