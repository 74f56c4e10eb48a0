//! Per-invocation metadata handed to the handler.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::config::{Config, Credentials};

/// What the platform says about one invocation, plus the function's configuration.
///
/// The runtime builds one for every event from the `/runtime/invocation/next` headers
/// (`request_id`, `memory_limit_in_mb`, `time_limit_in_ms`). The deadline is the time the
/// headers arrived plus the time limit: SCF sends no deadline of its own.
///
/// In unit tests, build one with [`Context::default`] or [`Context::builder`]:
///
/// ```
/// use std::time::Duration;
/// let ctx = scf_runtime::Context::builder()
///     .request_id("test-1")
///     .time_limit(Duration::from_secs(3))
///     .build();
/// assert_eq!(ctx.request_id(), "test-1");
/// assert!(ctx.remaining() <= Duration::from_secs(3));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Context {
    request_id: String,
    memory_limit_mb: u64,
    time_limit: Duration,
    deadline: Instant,
    config: Arc<Config>,
}

fn default_config() -> Arc<Config> {
    static DEFAULT: OnceLock<Arc<Config>> = OnceLock::new();
    DEFAULT.get_or_init(|| Arc::new(Config::default())).clone()
}

impl Default for Context {
    /// A context for tests: request id `00000000-0000-0000-0000-000000000000`,
    /// 128 MB, a 3 s limit starting now, and the default [`Config`].
    fn default() -> Self {
        ContextBuilder::default().build()
    }
}

impl Context {
    /// Starts building a context.
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }

    pub(crate) fn from_parts(
        request_id: String,
        memory_limit_mb: u64,
        time_limit: Duration,
        received: Instant,
        config: Arc<Config>,
    ) -> Self {
        Self {
            request_id,
            memory_limit_mb,
            time_limit,
            deadline: received + time_limit,
            config,
        }
    }

    /// The invocation's request id (the `request_id` header).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The function's memory limit in MB (the `memory_limit_in_mb` header).
    pub fn memory_limit_mb(&self) -> u64 {
        self.memory_limit_mb
    }

    /// The execution time limit (the `time_limit_in_ms` header).
    pub fn time_limit(&self) -> Duration {
        self.time_limit
    }

    /// When the platform will stop the invocation: receipt time plus the time limit.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left until [`deadline`](Self::deadline); zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The function's name (`SCF_FUNCTIONNAME`).
    pub fn function_name(&self) -> &str {
        &self.config.function_name
    }

    /// The function's version (`SCF_FUNCTIONVERSION`), e.g. `$LATEST`.
    pub fn function_version(&self) -> &str {
        &self.config.function_version
    }

    /// The function's namespace (`SCF_NAMESPACE`), when the platform set it.
    pub fn namespace(&self) -> Option<&str> {
        self.config.namespace.as_deref()
    }

    /// The region (`TENCENTCLOUD_REGION`).
    pub fn region(&self) -> &str {
        &self.config.region
    }

    /// The account's app id (`TENCENTCLOUD_APPID`).
    pub fn appid(&self) -> &str {
        &self.config.appid
    }

    /// The account's uin (`TENCENTCLOUD_UIN`).
    pub fn uin(&self) -> &str {
        &self.config.uin
    }

    /// The execution role's temporary credentials, when a role is bound.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.config.credentials.as_ref()
    }

    /// The whole configuration the function was started with.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// Builds a [`Context`], for tests and for custom hosts.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    request_id: String,
    memory_limit_mb: u64,
    time_limit: Duration,
    deadline: Option<Instant>,
    config: Option<Arc<Config>>,
}

impl Default for ContextBuilder {
    fn default() -> Self {
        Self {
            request_id: "00000000-0000-0000-0000-000000000000".to_owned(),
            memory_limit_mb: 128,
            time_limit: Duration::from_secs(3),
            deadline: None,
            config: None,
        }
    }
}

impl ContextBuilder {
    /// Sets the request id.
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = id.into();
        self
    }

    /// Sets the memory limit in MB.
    pub fn memory_limit_mb(mut self, mb: u64) -> Self {
        self.memory_limit_mb = mb;
        self
    }

    /// Sets the time limit; the deadline becomes now + limit unless set explicitly.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// Sets the deadline explicitly.
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sets the function configuration (name, version, region, credentials...).
    pub fn config(mut self, config: impl Into<Arc<Config>>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Builds the context.
    pub fn build(self) -> Context {
        let deadline = self
            .deadline
            .unwrap_or_else(|| Instant::now() + self.time_limit);
        Context {
            request_id: self.request_id,
            memory_limit_mb: self.memory_limit_mb,
            time_limit: self.time_limit,
            deadline,
            config: self.config.unwrap_or_else(default_config),
        }
    }
}
