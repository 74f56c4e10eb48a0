//! [`Host`]: the invoke path every source goes through (invoke API, Cloud API, triggers, queues),
//! and the owner of every instance of every function, event and web.
//!
//! The modules read top-down: [`Host`] (this module) holds one pool per function; a pool places
//! units of work on instances, each an event instance (runtime API) or a [`web`] instance (HTTP
//! proxy), which start processes and log through small helper modules. Instances report back
//! through a lifecycle trait the pool implements, and pools share the memory quota and the
//! [`metrics`]. No module imports one above it.

pub mod activity;
pub(crate) mod instance;
pub mod invoker;
pub(crate) mod lifecycle;
pub(crate) mod logs;
pub mod metrics;
pub(crate) mod pool;
pub(crate) mod process;
pub(crate) mod rss;
pub(crate) mod sandbox;
pub(crate) mod shared;
pub mod web;

pub use invoker::Invoker;
pub use lifecycle::State as InstanceState;
pub use metrics::PoolCounts;
pub use pool::InstanceStatus;
pub use sandbox::check_isolation;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::config::{Config, FunctionConfig, FunctionTrigger, ServerConfig};
use crate::durable::{
    AsyncEvent, DeliveryOutcome, DispatchConfig, Dispatcher, DurableQueue, EventSource, NewEvent,
};
use crate::fault::{Fault, InvokeError, MAX_ASYNC_EVENT_BYTES, MAX_SYNC_EVENT_BYTES};
use crate::host::activity::{ActivityDetail, ActivitySummary, Finished};
use crate::host::lifecycle::{Completion, FunctionSpec, Invocation, Kind, WebRequest, Work};
use crate::host::metrics::Metrics;
use crate::host::pool::{Placed, Pool};
use crate::host::shared::Shared;

/// The qualifier of a function's latest code.
pub const LATEST: &str = "$LATEST";

/// Async deliveries at once for a function deployed through the Cloud API after the server
/// started (functions of `scf.toml` get their `max_instances`).
pub const DEPLOYED_ASYNC_CONCURRENCY: usize = 16;

/// The pool of `function` at `version`: `name` for [`LATEST`], `name:N` for version N.
fn pool_key(function: &str, version: &str) -> String {
    if version == LATEST {
        function.to_owned()
    } else {
        format!("{function}:{version}")
    }
}

/// Where an alias sends invocations: to `version`, except the shares of `weights` (a fraction
/// from 0 to 1 per additional version) which go to those versions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AliasRoute {
    /// The alias's main version.
    pub version: String,
    /// Additional versions and the fraction of invocations each gets.
    pub weights: Vec<(String, f64)>,
}

impl AliasRoute {
    /// The version for a draw `u` uniform in [0, 1).
    pub fn pick(&self, u: f64) -> String {
        let mut edge = 0.0;
        for (version, weight) in &self.weights {
            edge += weight;
            if u < edge {
                return version.clone();
            }
        }
        self.version.clone()
    }
}

/// A uniform draw in [0, 1) from the same generator as request ids.
fn rand_unit() -> f64 {
    let (bits, _) = uuid::Uuid::new_v4().as_u64_pair();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// How to run one invocation.
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    /// Use this request id instead of a fresh UUID (e.g. the same id on every retry of an async
    /// event).
    pub request_id: Option<String>,
    /// The event came in asynchronously: the 128 KB limit applies instead of 6 MB.
    pub is_async: bool,
    /// The version or alias to run (`None`, `""` and `$LATEST` mean the latest code; see
    /// [`Host::set_aliases`]).
    pub qualifier: Option<String>,
}

/// How one invocation ended.
#[derive(Debug, Clone)]
pub struct InvokeOutcome {
    /// The request id (`request_id` header the bootstrap saw, `FunctionRequestId`).
    pub request_id: String,
    /// The function's result body, or the error with its SCF code.
    pub result: Result<Bytes, InvokeError>,
    /// Execution time: from the event's dispatch to the first result (zero when nothing ran).
    pub duration: Duration,
    /// Peak resident memory of the instance during the invocation, bytes.
    pub mem_usage: u64,
    /// The last 4 KB of the invocation's log (the SCF lines and the function's output).
    pub log: String,
    /// Whether a new instance was started for it (its first invocation).
    pub cold_start: bool,
}

impl InvokeOutcome {
    fn refused(request_id: String, error: InvokeError) -> InvokeOutcome {
        InvokeOutcome {
            request_id,
            result: Err(error),
            duration: Duration::ZERO,
            mem_usage: 0,
            log: String::new(),
            cold_start: false,
        }
    }
}

/// One function (event or web) in `/status`.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionStatus {
    /// Name.
    pub name: String,
    /// `event` or `web`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `memory_mb`.
    pub memory_mb: u32,
    /// `max_instances`.
    pub max_instances: usize,
    /// `min_instances`.
    pub min_instances: usize,
    /// Requests one instance takes at once (`max_concurrency` of a web function; 1 for an event
    /// function).
    pub max_concurrency: usize,
    /// What its instances run in: `namespaces` (each its own sandbox) or `none`.
    pub isolation: &'static str,
    /// Instance and queue counts.
    pub counts: PoolCounts,
    /// The instances.
    pub instances: Vec<InstanceStatus>,
}

/// One function as the dashboard lists it: its `/status` entry, its totals from the metrics and
/// its recent activity.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionOverview {
    /// As in `/status`.
    #[serde(flatten)]
    pub status: FunctionStatus,
    /// `scf_invocations_total`.
    pub invocations_total: u64,
    /// `scf_cold_starts_total`.
    pub cold_starts_total: u64,
    /// The last minutes.
    pub activity: ActivitySummary,
}

#[derive(Debug)]
struct HostInner {
    shared: Arc<Shared>,
    /// One pool per function (`name`, its `$LATEST`) and per published version (`name:N`).
    pools: RwLock<BTreeMap<String, Arc<Pool>>>,
    /// Each function's aliases.
    aliases: RwLock<HashMap<String, Arc<BTreeMap<String, AliasRoute>>>>,
    server: ServerConfig,
    closing: AtomicBool,
    in_flight: AtomicUsize,
    async_pending: Arc<AtomicUsize>,
    async_limit: usize,
    durable: OnceLock<DurableQueue>,
    triggers: BTreeMap<String, Vec<FunctionTrigger>>,
    region: String,
    namespace: String,
}

/// The invoke path of the server: a cheap, cloneable handle on every function's scheduler.
///
/// Every source of events (the invoke API, the Cloud API, API gateway and Function URL triggers,
/// timers, queues) calls [`Host::invoke`] or [`Host::invoke_async`], and every request to a web
/// function goes through [`Host::invoke_web`], so limits, scheduling, logs and metrics are the
/// same for all of them. [`Host`] also implements the triggers' [`Invoker`] trait.
///
/// ```no_run
/// # async fn demo(config: scf_runtime_server::Config) {
/// use scf_runtime_server::{Host, InvokeOptions};
///
/// let host = Host::new(&config).expect("every bootstrap is known");
/// host.start();
/// let outcome = host
///     .invoke("echo", bytes::Bytes::from_static(b"{\"hi\":1}"), InvokeOptions::default())
///     .await;
/// match outcome.result {
///     Ok(body) => println!("{} answered {body:?}", outcome.request_id),
///     Err(e) => println!("failed with SCF code {}: {}", e.code(), e.message),
/// }
/// host.shutdown(std::time::Duration::from_secs(5)).await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

/// A function whose executable is not known yet (a `package` not built).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbuiltFunction(pub String);

impl std::fmt::Display for UnbuiltFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "function {}: its package has not been built (no executable to start)",
            self.0
        )
    }
}

impl std::error::Error for UnbuiltFunction {}

impl Host {
    /// A host for every function of `config`, event and web. Instances start on demand; call
    /// [`start`](Self::start) inside the tokio runtime to start `min_instances` and the reapers.
    pub fn new(config: &Config) -> Result<Host, UnbuiltFunction> {
        let shared = Arc::new(Shared {
            metrics: Metrics::new(),
            quota_mb: config.server.quota_mb,
            used_mb: Mutex::new(0),
            next_instance: AtomicU64::new(0),
            pools: Mutex::new(Vec::new()),
        });
        let mut pools = BTreeMap::new();
        for function in &config.functions {
            let spec = function_spec(function, &config.server, LATEST, false)?;
            pools.insert(
                function.name.clone(),
                Pool::new(Arc::new(spec), shared.clone()),
            );
        }
        let triggers = config
            .functions
            .iter()
            .map(|f| (f.name.clone(), f.triggers.clone()))
            .collect();
        Ok(Host {
            inner: Arc::new(HostInner {
                shared,
                pools: RwLock::new(pools),
                aliases: RwLock::new(HashMap::new()),
                server: config.server.clone(),
                closing: AtomicBool::new(false),
                in_flight: AtomicUsize::new(0),
                async_pending: Arc::new(AtomicUsize::new(0)),
                async_limit: config.server.async_queue_length,
                durable: OnceLock::new(),
                triggers,
                region: config.server.region.clone(),
                namespace: config.server.namespace.clone(),
            }),
        })
    }

    /// Starts each function's idle reaper and its `min_instances` (event and web).
    pub fn start(&self) {
        for pool in self.pools() {
            pool.start();
        }
    }

    /// The event functions' names (their latest code; published versions not listed).
    pub fn functions(&self) -> Vec<String> {
        self.read_pools()
            .iter()
            .filter(|(key, pool)| !pool.spec.is_web() && !key.contains(':'))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether `function` (its latest code) is hosted.
    pub fn has_function(&self, function: &str) -> bool {
        self.read_pools().contains_key(function)
    }

    fn read_pools(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Pool>>> {
        self.inner.pools.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of every pool.
    fn pools(&self) -> Vec<Arc<Pool>> {
        self.read_pools().values().cloned().collect()
    }

    /// Hosts `function` (its `$LATEST` when `version` is [`LATEST`], else that published
    /// version) with `executable` under `code_root`: a new pool starts one instance and, once it is ready,
    /// takes over from the pool it replaces (queued work moves over, running work finishes on
    /// the old instances). Nothing changes when the new instance fails to start: the error (an
    /// SCF code such as 405 or 450) and its log are returned. Call inside the tokio runtime.
    pub async fn deploy(
        &self,
        function: &FunctionConfig,
        version: &str,
    ) -> Result<(), (InvokeError, String)> {
        let spec = function_spec(function, &self.inner.server, version, true)
            .map_err(|e| (Fault::HandlerNotFound.error(e.to_string()), String::new()))?;
        let key = pool_key(&function.name, version);
        let activity = self
            .read_pools()
            .get(&key)
            .map(|old| old.activity.clone())
            .unwrap_or_default();
        let pool = Pool::with_activity(Arc::new(spec), self.inner.shared.clone(), activity);
        pool.start();
        let probed = pool.probe().await.unwrap_or_else(|_| {
            Err((
                Fault::Internal.error("the instance ended without reporting its start"),
                String::new(),
            ))
        });
        if let Err(failure) = probed {
            pool.close();
            return Err(failure);
        }
        if self.inner.closing.load(Ordering::Acquire) {
            pool.close();
            return Err((
                Fault::ShuttingDown.error("the server is shutting down"),
                String::new(),
            ));
        }
        let old = {
            let mut pools = self.inner.pools.write().unwrap_or_else(|e| e.into_inner());
            pools.insert(key, pool.clone())
        };
        if let Some(old) = old {
            old.retire(&pool);
        }
        Ok(())
    }

    /// Stops hosting `function` at `version` ([`LATEST`] or a published version): its queue fails
    /// and its instances stop. Returns whether it was hosted.
    pub fn undeploy(&self, function: &str, version: &str) -> bool {
        let removed = {
            let mut pools = self.inner.pools.write().unwrap_or_else(|e| e.into_inner());
            pools.remove(&pool_key(function, version))
        };
        if version == LATEST {
            let mut aliases = self
                .inner
                .aliases
                .write()
                .unwrap_or_else(|e| e.into_inner());
            aliases.remove(function);
        }
        match removed {
            Some(pool) => {
                pool.close();
                true
            }
            None => false,
        }
    }

    /// Replaces `function`'s aliases: an invocation with an alias as its qualifier runs the
    /// alias's version, or one of its additional versions in their proportions.
    pub fn set_aliases(&self, function: &str, aliases: BTreeMap<String, AliasRoute>) {
        let mut all = self
            .inner
            .aliases
            .write()
            .unwrap_or_else(|e| e.into_inner());
        if aliases.is_empty() {
            all.remove(function);
        } else {
            all.insert(function.to_owned(), Arc::new(aliases));
        }
    }

    /// The version `qualifier` stands for right now (an alias picks one of its versions by
    /// weight): [`LATEST`], a version number, or `None` when `function` has no such version or
    /// alias.
    pub fn resolve(&self, function: &str, qualifier: Option<&str>) -> Option<String> {
        let qualifier = qualifier.map(str::trim).unwrap_or("");
        let version = if qualifier.is_empty() || qualifier == LATEST {
            LATEST.to_owned()
        } else if qualifier.bytes().all(|b| b.is_ascii_digit()) {
            qualifier.to_owned()
        } else {
            let aliases = self
                .inner
                .aliases
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(function)
                .cloned();
            match aliases.as_ref().and_then(|a| a.get(qualifier)) {
                Some(route) => route.pick(rand_unit()),
                // SCF's `$DEFAULT` alias points at `$LATEST` until it is changed.
                None if qualifier == "$DEFAULT" => LATEST.to_owned(),
                None => return None,
            }
        };
        self.read_pools()
            .contains_key(&pool_key(function, &version))
            .then_some(version)
    }

    /// The region functions run in (`TENCENTCLOUD_REGION`).
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The namespace functions live in (`SCF_NAMESPACE`).
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// Checks what can be checked before anything runs; the error is the refusal.
    fn admit(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        is_async: bool,
    ) -> Result<Arc<Pool>, InvokeError> {
        let pool = self.pool(function, qualifier)?;
        if pool.spec.is_web() {
            return Err(Fault::InvalidParameter.error(format!(
                "{function} is a web function: it takes HTTP requests through its triggers, not events"
            )));
        }
        let limit = if is_async {
            MAX_ASYNC_EVENT_BYTES
        } else {
            MAX_SYNC_EVENT_BYTES
        };
        if payload.len() > limit {
            return Err(Fault::RequestTooLarge.error(format!(
                "the event is {} bytes; {} invocations take at most {limit}",
                payload.len(),
                if is_async { "async" } else { "sync" }
            )));
        }
        if let Err(e) = scf_events::json::validate(payload) {
            return Err(Fault::NotJson.error(format!(
                "the event of an event function must be JSON that functions can parse: {e}"
            )));
        }
        Ok(pool)
    }

    fn pool(&self, function: &str, qualifier: Option<&str>) -> Result<Arc<Pool>, InvokeError> {
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(Fault::ShuttingDown.error("the server is shutting down"));
        }
        let plain = qualifier.is_none_or(|q| q.is_empty() || q == LATEST);
        if plain && let Some(pool) = self.read_pools().get(function) {
            return Ok(pool.clone());
        }
        if !self.has_function(function) {
            return Err(
                Fault::FunctionNotFound.error(format!("function {function} does not exist"))
            );
        }
        let q = qualifier.unwrap_or(LATEST);
        let version = self.resolve(function, Some(q)).ok_or_else(|| {
            Fault::FunctionNotFound
                .error(format!("function {function} has no version or alias {q}"))
        })?;
        self.read_pools()
            .get(&pool_key(function, &version))
            .cloned()
            .ok_or_else(|| {
                Fault::FunctionNotFound
                    .error(format!("function {function} has no version {version}"))
            })
    }

    /// Places `work` on `pool` and waits for what `rx` brings, failing it with 432 when it waited
    /// `queue_timeout_s` for an instance; `refused` turns an error into that answer.
    async fn place<T>(
        &self,
        pool: &Pool,
        work: Work,
        mut rx: oneshot::Receiver<T>,
        refused: impl Fn(InvokeError) -> T,
    ) -> T {
        let vanished = || {
            refused(Fault::Internal.error("the instance ended without reporting the invocation"))
        };
        let submitted = match pool.submit(work) {
            // Replaced by a new deployment between lookup and submit: its successor takes it.
            Err((work, _)) if pool.is_retired() => match self.successor_of(pool) {
                Some(next) => next.submit(work),
                None => Err((
                    work,
                    Fault::FunctionNotFound.error("the function was removed"),
                )),
            },
            other => other,
        };
        match submitted {
            Err((_, error)) => refused(error),
            Ok(Placed::Assigned) => rx.await.unwrap_or_else(|_| vanished()),
            Ok(Placed::Queued(ticket)) => {
                tokio::select! {
                    c = &mut rx => c.unwrap_or_else(|_| vanished()),
                    _ = tokio::time::sleep(pool.spec.queue_timeout) => match pool.cancel(ticket) {
                        Some(_) => refused(Fault::Throttled.error(format!(
                            "no instance of {} became free within {:?} (queue_timeout_s); it is at max_instances ({}) or the memory quota",
                            pool.spec.name, pool.spec.queue_timeout, pool.spec.max_instances
                        ))),
                        None => rx.await.unwrap_or_else(|_| vanished()),
                    },
                }
            }
        }
    }

    /// The pool now hosting what `pool` hosted (after a redeploy).
    fn successor_of(&self, pool: &Pool) -> Option<Arc<Pool>> {
        let key = pool_key(&pool.spec.name, &pool.spec.version);
        self.read_pools().get(&key).cloned()
    }

    /// Proxies one HTTP request (body already read, at most
    /// [`MAX_SYNC_EVENT_BYTES`]) to an instance of web function `function`, with the `X-Scf-*`
    /// headers set for `request_id`, and returns its answer. Scheduling is the event functions'
    /// (see [`web`] for the details): an error is the SCF code the trigger turns into an HTTP
    /// answer with [`web::error_response`].
    pub async fn invoke_web(
        &self,
        function: &str,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> Result<http::Response<Bytes>, InvokeError> {
        let metrics = &self.inner.shared.metrics;
        let pool = match self.pool(function, None) {
            Ok(pool) if pool.spec.is_web() => pool,
            Ok(_) => {
                let error = Fault::InvalidParameter.error(format!(
                    "{function} is an event function: it takes events, not HTTP requests"
                ));
                self.refused(function, request_id, &error);
                return Err(error);
            }
            Err(error) => {
                self.refused(function, request_id, &error);
                return Err(error);
            }
        };
        metrics.invocation(function);
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        let _guard = InFlight(&self.inner.in_flight);
        let started = Instant::now();
        let (done, rx) = oneshot::channel();
        let work = Work::Web(Box::new(WebRequest {
            request,
            request_id: request_id.to_owned(),
            done,
        }));
        let result = self.place(&pool, work, rx, Err).await;
        let elapsed = started.elapsed();
        let (status_code, error) = match &result {
            Ok(response) => {
                metrics.duration(function, elapsed);
                (response.status().as_u16(), "")
            }
            Err(e) => {
                metrics.error(function, e.code());
                (e.code(), e.message.as_str())
            }
        };
        pool.activity.record(Finished {
            request_id,
            status_code,
            error,
            duration: elapsed,
            mem_bytes: 0,
            cold_start: false,
            log: "",
        });
        result
    }

    /// Runs `function` once with `payload` (raw event bytes; empty means `{}`) and waits for the
    /// outcome. Never fails otherwise: every problem is an [`InvokeOutcome`] with an SCF code
    /// (see [`Fault`]).
    pub async fn invoke(
        &self,
        function: &str,
        payload: Bytes,
        options: InvokeOptions,
    ) -> InvokeOutcome {
        let request_id = options
            .request_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let payload = if payload.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            payload
        };
        let metrics = &self.inner.shared.metrics;
        let pool = match self.admit(
            function,
            options.qualifier.as_deref(),
            &payload,
            options.is_async,
        ) {
            Ok(pool) => pool,
            Err(error) => {
                self.refused(function, &request_id, &error);
                return InvokeOutcome::refused(request_id, error);
            }
        };
        metrics.invocation(function);
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        let _guard = InFlight(&self.inner.in_flight);
        let (done, rx) = oneshot::channel();
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            done,
        };
        let completion = self
            .place(&pool, Work::Event(invocation), rx, |error| {
                Completion::refused(error, String::new())
            })
            .await;
        if let Err(e) = &completion.result {
            metrics.error(function, e.code());
        }
        if completion.instance.is_some() {
            metrics.duration(function, completion.duration);
        }
        if completion.cold_start.is_some() {
            metrics.cold_start(function);
        }
        let (status_code, error) = match &completion.result {
            Ok(_) => (200, ""),
            Err(e) => (e.code(), e.message.as_str()),
        };
        pool.activity.record(Finished {
            request_id: &request_id,
            status_code,
            error,
            duration: completion.duration,
            mem_bytes: completion.mem_peak,
            cold_start: completion.cold_start.is_some(),
            log: &completion.log,
        });
        InvokeOutcome {
            request_id,
            result: completion.result,
            duration: completion.duration,
            mem_usage: completion.mem_peak,
            log: completion.log,
            cold_start: completion.cold_start.is_some(),
        }
    }

    /// **The async entry point.** Accepts an asynchronous invocation of `function` and returns its
    /// request id once it is accepted; the event runs later through [`invoke`](Self::invoke).
    /// The same as [`invoke_async_from`](Self::invoke_async_from) with [`EventSource::Invoke`].
    pub async fn invoke_async(
        &self,
        function: &str,
        payload: Bytes,
    ) -> Result<String, InvokeError> {
        self.invoke_async_from(function, payload, EventSource::Invoke)
            .await
    }

    /// Accepts an asynchronous invocation of `function` coming from `source` (the invoke API, a
    /// timer, a queue batch) and returns its request id.
    ///
    /// Limits (128 KB, JSON, a known event function) are checked first. With a durable queue
    /// (see [`start_async_queue`](Self::start_async_queue), which `cargo scf serve` always uses) the
    /// event is written to disk and fsynced before this returns, and is delivered with SCF's
    /// retry and dead-letter policy; a function with `async_queue_length` accepted events not
    /// yet done refuses more with 432. Without one (a [`Host`] used as a library), accepted
    /// events are kept in memory only, run once, and are lost if the process stops first.
    pub async fn invoke_async_from(
        &self,
        function: &str,
        payload: Bytes,
        source: EventSource,
    ) -> Result<String, InvokeError> {
        self.invoke_async_ordered(function, payload, source, None)
            .await
    }

    /// [`invoke_async_from`](Self::invoke_async_from) of `function` at `qualifier` (a version
    /// or alias, resolved at each delivery): the Cloud API's `Invoke` with a `Qualifier`.
    pub async fn invoke_async_qualified(
        &self,
        function: &str,
        qualifier: &str,
        payload: Bytes,
        source: EventSource,
    ) -> Result<String, InvokeError> {
        self.accept_async(function, Some(qualifier), payload, source, None)
            .await
    }

    /// [`invoke_async_from`](Self::invoke_async_from) for an event of an ordered stream (a
    /// CKafka partition): with the durable queue, events of one stream run one at a time in
    /// position order (see [`OrderKey`](crate::durable::OrderKey)).
    pub async fn invoke_async_ordered(
        &self,
        function: &str,
        payload: Bytes,
        source: EventSource,
        order: Option<crate::durable::OrderKey>,
    ) -> Result<String, InvokeError> {
        self.accept_async(function, None, payload, source, order)
            .await
    }

    async fn accept_async(
        &self,
        function: &str,
        qualifier: Option<&str>,
        payload: Bytes,
        source: EventSource,
        order: Option<crate::durable::OrderKey>,
    ) -> Result<String, InvokeError> {
        let payload = if payload.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            payload
        };
        let metrics = &self.inner.shared.metrics;
        if let Err(error) = self.admit(function, qualifier, &payload, source.async_sized()) {
            self.refused(function, "", &error);
            return Err(error);
        }
        if let Some(queue) = self.inner.durable.get() {
            let mut event = NewEvent::new(function, payload, source);
            event.order = order;
            if let Some(q) = qualifier.filter(|q| !q.is_empty()) {
                event.qualifier = q.to_owned();
            }
            return match queue.enqueue(event).await {
                Ok(request_id) => {
                    metrics.async_accepted(function);
                    Ok(request_id)
                }
                Err(e) => {
                    let error = InvokeError::from(e);
                    self.refused(function, "", &error);
                    Err(error)
                }
            };
        }
        let pending = self.inner.async_pending.clone();
        if pending.fetch_add(1, Ordering::AcqRel) >= self.inner.async_limit {
            pending.fetch_sub(1, Ordering::AcqRel);
            let error = Fault::Throttled.error(format!(
                "{} async invocations are already waiting (server.async_queue_length)",
                self.inner.async_limit
            ));
            self.refused(function, "", &error);
            return Err(error);
        }
        metrics.async_accepted(function);
        let request_id = uuid::Uuid::new_v4().to_string();
        let host = self.clone();
        let function = function.to_owned();
        let options = InvokeOptions {
            request_id: Some(request_id.clone()),
            is_async: true,
            qualifier: qualifier.map(str::to_owned),
        };
        tokio::spawn(async move {
            let outcome = host.invoke(&function, payload, options).await;
            pending.fetch_sub(1, Ordering::AcqRel);
            if let Err(e) = outcome.result {
                tracing::warn!(target: "scf::async", function, request_id = outcome.request_id, "async invocation failed: {e}");
            }
        });
        Ok(request_id)
    }

    /// Makes async invocations durable: from now on [`invoke_async_from`](Self::invoke_async_from)
    /// accepts events into `queue`, and the returned [`Dispatcher`] delivers them (and the events
    /// a previous run left queued or in flight) through [`invoke`](Self::invoke) with the same
    /// request id on every attempt. Each function gets at most `max_instances` deliveries at
    /// once, so async events never crowd out its sync invocations' queue; functions deployed
    /// later through the Cloud API get [`DEPLOYED_ASYNC_CONCURRENCY`].
    ///
    /// Call once, inside the tokio runtime; stop the dispatcher before [`shutdown`](Self::shutdown)
    /// so deliveries in flight can finish (those that cannot are delivered again after a restart).
    pub fn start_async_queue(&self, queue: DurableQueue) -> Dispatcher {
        let per_function: HashMap<String, usize> = self
            .read_pools()
            .iter()
            .filter(|(key, pool)| !pool.spec.is_web() && !key.contains(':'))
            .map(|(name, pool)| (name.clone(), pool.spec.max_instances.max(1)))
            .collect();
        let concurrency =
            (per_function.values().sum::<usize>() + DEPLOYED_ASYNC_CONCURRENCY).clamp(1, 4096);
        let config = DispatchConfig {
            concurrency,
            per_function,
            default_per_function: DEPLOYED_ASYNC_CONCURRENCY,
            ..DispatchConfig::default()
        };
        if self.inner.durable.set(queue.clone()).is_err() {
            tracing::warn!(target: "scf::async", "start_async_queue called twice; the first queue stays in use");
        }
        let host = self.clone();
        queue.start_dispatcher(config, move |event| {
            let host = host.clone();
            async move { host.deliver(event).await }
        })
    }

    /// The durable async queue, once [`start_async_queue`](Self::start_async_queue) was called.
    pub fn async_queue(&self) -> Option<&DurableQueue> {
        self.inner.durable.get()
    }

    /// Runs one delivery of a queued async event.
    async fn deliver(&self, event: AsyncEvent) -> DeliveryOutcome {
        let function = event.record.function.clone();
        let options = InvokeOptions {
            request_id: Some(event.record.request_id.clone()),
            is_async: event.record.source.async_sized(),
            qualifier: Some(event.record.qualifier.clone()),
        };
        let outcome = self.invoke(&function, event.payload, options).await;
        match outcome.result {
            Ok(_) => DeliveryOutcome::Success,
            Err(e) => {
                tracing::info!(target: "scf::async", function, request_id = outcome.request_id,
                    attempt = event.record.attempts, "async delivery failed: {e}");
                DeliveryOutcome::from_code(e.code(), e.message)
            }
        }
    }

    /// Counts an invocation refused before it reached the host (e.g. a body over the size limit
    /// seen while reading it), for known functions only (so unknown names cannot grow the
    /// metrics without bound).
    pub fn count_refusal(&self, function: &str, error: &InvokeError) {
        self.refused(function, "", error);
    }

    /// Counts a refused invocation (known functions only) in the metrics and the function's
    /// recent activity.
    fn refused(&self, function: &str, request_id: &str, error: &InvokeError) {
        let pool = self.read_pools().get(function).cloned();
        if let Some(pool) = pool {
            self.inner.shared.metrics.invocation(function);
            self.inner.shared.metrics.error(function, error.code());
            pool.activity.record(Finished {
                request_id,
                status_code: error.code(),
                error: &error.message,
                duration: Duration::ZERO,
                mem_bytes: 0,
                cold_start: false,
                log: "",
            });
        }
    }

    /// Prometheus text of every metric.
    pub fn metrics_text(&self) -> String {
        let mut counts: BTreeMap<&str, PoolCounts> = BTreeMap::new();
        let pools = self.pools();
        for pool in &pools {
            counts
                .entry(&pool.spec.name)
                .or_default()
                .add(&pool.counts());
        }
        for (name, counts) in counts {
            self.inner.shared.metrics.set_counts(name, &counts);
        }
        self.inner.shared.metrics.encode()
    }

    /// Every function (event and web) with its instances, by name.
    pub fn status(&self) -> Vec<FunctionStatus> {
        self.read_pools()
            .iter()
            .map(|(name, pool)| FunctionStatus {
                name: name.clone(),
                kind: if pool.spec.is_web() { "web" } else { "event" },
                memory_mb: pool.spec.memory_mb,
                max_instances: pool.spec.max_instances,
                min_instances: pool.spec.min_instances,
                max_concurrency: pool.spec.capacity(),
                isolation: pool.spec.jail.name(),
                counts: pool.counts(),
                instances: pool.instances(),
            })
            .collect()
    }

    /// Every function with its instances (as [`status`](Self::status)), its totals from the
    /// metrics and its recent activity: what the dashboard lists.
    pub fn overview(&self) -> Vec<FunctionOverview> {
        let metrics = &self.inner.shared.metrics;
        self.status()
            .into_iter()
            .map(|status| FunctionOverview {
                invocations_total: metrics.invocations_total(&status.name),
                cold_starts_total: metrics.cold_starts_total(&status.name),
                activity: self
                    .read_pools()
                    .get(&status.name)
                    .map(|p| p.activity.summary())
                    .unwrap_or_default(),
                status,
            })
            .collect()
    }

    /// `function`'s last invocations (newest first), and its timeline and latency histogram over
    /// the last `seconds` (at most [`activity::TIMELINE_SECONDS`]); `None` for an unknown
    /// function.
    pub fn activity(&self, function: &str, seconds: u64) -> Option<ActivityDetail> {
        let pool = self.read_pools().get(function)?.clone();
        Some(pool.activity.detail(seconds))
    }

    /// `function`'s triggers as `scf.toml` declares them (empty for an unknown function).
    pub fn triggers(&self, function: &str) -> &[FunctionTrigger] {
        self.inner
            .triggers
            .get(function)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Rolls every function (event and web) over to its executable as it is on disk now (after a rebuild):
    /// idle instances stop at once, busy ones after their current invocation, and new instances
    /// take over; nothing queued or running is lost (a web instance stops when its last running
    /// request ends). `cargo scf serve` does this on SIGHUP. Returns
    /// how many instances are being replaced.
    pub fn recycle(&self) -> usize {
        self.pools().iter().map(|p| p.recycle()).sum()
    }

    /// Stops taking new invocations (they get 438); running and queued ones go on.
    pub fn stop_accepting(&self) {
        self.inner.closing.store(true, Ordering::Release);
    }

    /// Graceful stop: refuses new invocations, lets running ones finish for up to `grace`, then
    /// stops every instance (SIGTERM, SIGKILL after 2 s) and waits for them to exit.
    pub async fn shutdown(&self, grace: Duration) {
        self.stop_accepting();
        let deadline = Instant::now() + grace;
        while self.inner.in_flight.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pools = self.pools();
        for pool in &pools {
            pool.close();
        }
        let deadline = Instant::now() + lifecycle::STOP_GRACE + Duration::from_secs(2);
        while pools.iter().any(|p| p.instance_count() > 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Invocations and web requests running or waiting right now.
    pub fn in_flight(&self) -> usize {
        self.pools().iter().map(|p| p.in_flight()).sum()
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Invoker for Host {
    async fn invoke(&self, function: &str, payload: Bytes) -> Result<Bytes, InvokeError> {
        Host::invoke(self, function, payload, InvokeOptions::default())
            .await
            .result
    }

    async fn invoke_async(&self, function: &str, payload: Bytes) -> Result<String, InvokeError> {
        Host::invoke_async(self, function, payload).await
    }

    async fn invoke_event(
        &self,
        function: &str,
        payload: Bytes,
        source: EventSource,
    ) -> Result<String, InvokeError> {
        Host::invoke_async_from(self, function, payload, source).await
    }

    async fn invoke_web(
        &self,
        function: &str,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> Result<http::Response<Bytes>, InvokeError> {
        Host::invoke_web(self, function, request, request_id).await
    }

    fn is_deployed_web(&self, function: &str) -> bool {
        self.read_pools()
            .get(function)
            .is_some_and(|p| p.spec.is_web() && p.spec.deployed)
    }
}

/// The variables every event-function instance gets (those of SCF's
/// [Custom Runtime](https://www.tencentcloud.com/document/product/583/38129)), apart from
/// `SCF_RUNTIME_API` and `SCF_RUNTIME_API_PORT` which name its own listener. A web-function
/// instance gets the same without `SCF_RUNTIME`, plus `PORT`. `_HANDLER` is the function's
/// `handler`.
pub fn instance_env(
    function: &FunctionConfig,
    server: &ServerConfig,
    executable: &Path,
) -> Vec<(String, String)> {
    let code_root = executable
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ".".to_owned());
    let mut env: Vec<(String, String)> = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ("HOME", "/tmp".to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
        ("LD_LIBRARY_PATH", code_root.clone()),
        ("USER_CODE_ROOT", format!("{code_root}/")),
        ("_HANDLER", function.handler.clone()),
        ("SCF_RUNTIME", "CustomRuntime".to_owned()),
        ("SCF_FUNCTIONNAME", function.name.clone()),
        ("SCF_FUNCTIONVERSION", "$LATEST".to_owned()),
        ("SCF_NAMESPACE", server.namespace.clone()),
        ("TENCENTCLOUD_REGION", server.region.clone()),
        ("TENCENTCLOUD_APPID", server.appid.clone()),
        ("TENCENTCLOUD_UIN", server.uin.clone()),
        ("TENCENTCLOUD_RUNENV", "SCF".to_owned()),
        ("TENCENTCLOUD_TZ", "UTC".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(c) = &server.credentials {
        env.push(("TENCENTCLOUD_SECRETID".to_owned(), c.secret_id.clone()));
        env.push(("TENCENTCLOUD_SECRETKEY".to_owned(), c.secret_key.clone()));
        if let Some(token) = &c.session_token {
            env.push(("TENCENTCLOUD_SESSIONTOKEN".to_owned(), token.clone()));
        }
    }
    for (k, v) in &function.env {
        env.retain(|(existing, _)| existing != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

fn function_spec(
    function: &FunctionConfig,
    server: &ServerConfig,
    version: &str,
    deployed: bool,
) -> Result<FunctionSpec, UnbuiltFunction> {
    let executable = function
        .executable()
        .ok_or_else(|| UnbuiltFunction(function.name.clone()))?
        .to_owned();
    let executable = std::path::absolute(&executable).unwrap_or(executable);
    let code_root = executable
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| ".".into());
    let mut env = instance_env(function, server, &executable);
    if let Some(v) = env.iter_mut().find(|(k, _)| k == "SCF_FUNCTIONVERSION") {
        v.1 = version.to_owned();
    }
    let kind = if function.is_web() {
        env.retain(|(k, _)| k != "SCF_RUNTIME");
        let meta = web::FunctionMeta {
            name: function.name.clone(),
            version: version.to_owned(),
            namespace: server.namespace.clone(),
            region: server.region.clone(),
            appid: server.appid.clone(),
            uin: server.uin.clone(),
        };
        Kind::Web {
            max_concurrency: function.max_concurrency,
            headers: meta.headers(function.memory_mb, function.timeout),
        }
    } else {
        Kind::Event
    };
    Ok(FunctionSpec {
        env,
        kind,
        jail: sandbox::Jail::for_mode(server.isolation),
        name: function.name.clone(),
        version: version.to_owned(),
        deployed,
        code_root,
        executable,
        memory_mb: function.memory_mb,
        timeout: function.timeout,
        init_timeout: function.init_timeout,
        max_instances: function.max_instances,
        min_instances: function.min_instances,
        idle_timeout: function.idle_timeout,
        queue_length: function.queue_length,
        queue_bytes: server.queue_bytes,
        queue_timeout: function.queue_timeout,
    })
}
