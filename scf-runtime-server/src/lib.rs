//! The scf runtime server: hosts SCF bootstrap functions on one machine the way the platform
//! does, and the `scf` command line.
//!
//! `cargo scf serve` reads an `scf.toml`, and for every event function runs bootstrap processes that
//! speak SCF's Custom Runtime API (any language: the server never links the function side). Each
//! instance is one process with its own runtime API listener on 127.0.0.1; invocations go to the
//! most recently used idle instance, else a new one is started (up to `max_instances` and the
//! memory quota), else they wait in a bounded queue and get SCF's 432. Idle instances are
//! reclaimed after `idle_timeout_s`; `min_instances` are kept. Web functions (`type = "web"`)
//! are scheduled the same way, each instance an HTTP server on `$PORT` taking up to
//! `max_concurrency` requests at once. Faults get the platform's status codes ([`Fault`]).
//!
//! ```text
//! cargo run -p scf-runtime-server -- serve          # hosts the functions of ./scf.toml on :9000
//! curl -d '{"hello":"world"}' http://127.0.0.1:9000/functions/echo/invocations
//! ```
//!
//! # HTTP interface
//!
//! | Path | What |
//! |---|---|
//! | `POST /functions/{name}/invocations` | invoke API ([`http`](mod@http)) |
//! | `POST /` with `X-TC-Action` | Cloud API `Invoke` / `InvokeFunction` ([`http::cloud`]) |
//! | `GET /metrics` | Prometheus metrics ([`host::metrics`]) |
//! | `GET /healthz` | `{"status": "ok"}`, never authenticated |
//! | `GET /status` | JSON: every function (`type` `event` or `web`), its `isolation` (`namespaces` or `none`), its instances (id, pid, state, in flight, invocations; no port) and queue |
//! | anything else | API gateway routes, function URLs (`/fn/<name>/…`) and web functions ([`triggers`]) |
//!
//! # Configuration (`scf.toml`)
//!
//! Relative paths are read from the config file's directory. Durations (`*_s`) are seconds and
//! may be fractional. A bad file is an error naming the key and its position
//! (`scf.toml:12:13: functions.echo.memory_mb: must be from 64 to 122880 (MB), got 10`).
//!
//! | Key | Default | Meaning |
//! |---|---|---|
//! | `server.listen` | `"127.0.0.1:9000"` | HTTP address (`--listen` overrides; port 0 picks one) |
//! | `server.state_dir` | `".scf"` | durable state folder |
//! | `server.region` / `appid` / `uin` / `namespace` | `ap-guangzhou` / `1250000000` / `100000000001` / `default` | identity passed to functions |
//! | `server.quota_mb` | `128000` | memory all instances, event and web, may reserve together (`memory_mb` each) |
//! | `server.queue_length` | `1000` | invocations that may wait for an instance, per function |
//! | `server.queue_timeout_s` | `10` | longest wait for an instance, then 432 |
//! | `server.async_queue_length` | `100000` | accepted async events not yet done, per function, then 432 |
//! | `server.async_retry_num` | `2` | retries of an async event after a function error (0–10) |
//! | `server.async_retry_interval_s` | `60` | wait between those retries |
//! | `server.async_backoff_max_s` | `300` | cap of the exponential backoff (from 1 s) after throttles and system errors |
//! | `server.async_max_age_s` | `21600` | an async event older than this is not retried but dead-lettered |
//! | `server.async_retention_s` | `259200` | how long finished events stay queryable (dead letters stay until purged) |
//! | `server.async_max_kept` | `100000` | most finished and aborted events kept; past it the oldest are pruned early |
//! | `server.shutdown_timeout_s` | `10` | how long running invocations may finish on SIGINT/SIGTERM |
//! | `server.credentials.{secret_id,secret_key,session_token}` | none | passed to functions as `TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN` |
//! | `server.cloud_api.{secret_id,secret_key}` | none | when set (or `SCF_SERVE_SECRET_ID` / `SCF_SERVE_SECRET_KEY`), requests must carry a valid TC3-HMAC-SHA256 signature (or the token) |
//! | `server.token` | none | a bearer token (or `SCF_SERVE_TOKEN`, at least 16 characters) accepted on every protected route ([`http::cloud::auth`]) |
//! | `server.max_connections` | `1024` | connections served at once |
//! | `server.header_timeout_s` | `10` | a request's headers must arrive within it (also the keep-alive idle timeout) |
//! | `server.queue_mb` | `256` | sync payload bytes that may wait per function, then 432 |
//! | `server.isolation` | `"auto"` | `"namespaces"`: each instance in its own network and PID namespaces, or refuse to start; `"none"`: shared loopback, `PORT` for web functions; `"auto"`: namespaces where permitted, else none with a warning |
//! | `functions.<name>.bootstrap` | — | the executable (or `package`) |
//! | `functions.<name>.package` | — | a workspace package `cargo scf serve` builds with `cargo build --release -p` first |
//! | `functions.<name>.type` | `"event"` | or `"web"`: `scf_bootstrap` serving HTTP on port 9000 (`$PORT` without a sandbox) |
//! | `functions.<name>.handler` | `"index.main_handler"` | SCF's `Handler`, passed as `_HANDLER` (1–128 characters, no whitespace) |
//! | `functions.<name>.memory_mb` | `128` | RSS limit (434 past it), 64–122880 |
//! | `functions.<name>.timeout_s` | `3` | longest invocation (433 past it; process group killed) |
//! | `functions.<name>.init_timeout_s` | `60` | spawn to ready (450 past it), at most 300 |
//! | `functions.<name>.max_instances` | `100` | |
//! | `functions.<name>.min_instances` | `0` | started at boot, kept, replaced when they end |
//! | `functions.<name>.idle_timeout_s` | `300` | idle instances are stopped after this (SIGTERM, SIGKILL after 2 s) |
//! | `functions.<name>.max_concurrency` | `1` | web functions only: requests per instance (1–100) |
//! | `functions.<name>.queue_length` / `queue_timeout_s` | the server's | per-function overrides |
//! | `functions.<name>.env` | `{}` | the function's variables: keys `[a-zA-Z][a-zA-Z0-9_]*`, no `SCF_`/`QCLOUD_`/`TENCENTCLOUD_` prefix, 4 KB in all |
//! | `[[functions.<name>.triggers]]` | none | `type = "apigw" \| "function_url" \| "timer" \| "ckafka"` ([`FunctionTrigger`]); `auth = true` on `apigw` / `function_url` requires credentials |
//! | `functions.<name>.description` | none | `cargo scf deploy` only: SCF's `Description` (at most 1000 characters) |
//! | `functions.<name>.reserved_concurrency_mb` | none | `cargo scf deploy` only: `PutReservedConcurrencyConfig` |
//! | `functions.<name>.provisioned_concurrency` | none | `cargo scf deploy --publish` only: warm instances of the published version (≥ 1) |
//! | `deploy.region` / `namespace` / `endpoint` / `profile` | none / `default` / `https://scf.tencentcloudapi.com` / none | where `cargo scf deploy`, `logs`, `info` and `remove` go ([`config::DeployConfig`]) |
//!
//! # The environment of an instance
//!
//! Nothing is inherited from the server, not even a descriptor past stderr. An event-function
//! instance gets `SCF_RUNTIME_API=127.0.0.1`, `SCF_RUNTIME_API_PORT` (its own listener: 9001 in its
//! sandbox), `_HANDLER` (the function's `handler`),
//! `SCF_RUNTIME=CustomRuntime`, `SCF_FUNCTIONNAME`, `SCF_FUNCTIONVERSION=$LATEST`, `SCF_NAMESPACE`,
//! `TENCENTCLOUD_REGION`, `TENCENTCLOUD_APPID`, `TENCENTCLOUD_UIN`, `TENCENTCLOUD_RUNENV=SCF`,
//! `TENCENTCLOUD_TZ=UTC`, `USER_CODE_ROOT` (the executable's directory, also the working
//! directory and `LD_LIBRARY_PATH`), the credentials when configured, the basics
//! `PATH=/usr/local/bin:/usr/bin:/bin`, `HOME=/tmp`, `LANG=C.UTF-8`, and then the function's own
//! `env` (which may override the basics). A web-function instance gets the same without
//! `SCF_RUNTIME` and `SCF_RUNTIME_API*`, plus `PORT` (9000 in its sandbox). See
//! [`host::instance_env`] and the README's "Isolation".
//!
//! # Logs
//!
//! Everything an instance prints is logged line by line through `tracing` (target
//! `scf::function`, fields `function`, `instance`, `request_id`), with the platform's lines
//! `START RequestId:<id>`, `Init Report RequestId:<id> InitDuration: …` (cold starts),
//! `ERROR RequestId:<id> Result:<error>`, `END RequestId:<id>` and
//! `Report RequestId:<id> Duration:<ms>ms Memory:<MB>MB MemUsage:<MB>MB` (measured peak RSS).
//! `cargo scf serve` writes them to stdout (`RUST_LOG` filters).
//!
//! An invocation has one duration figure: the time from the event's dispatch to its result in
//! whole milliseconds rounded up, as SCF bills it. The `Report` line's `Duration:`, the invoke
//! API's `X-Scf-Duration-Ms`, `cargo scf invoke`'s "… ms" and the Cloud API's `BillDuration` all
//! show that same number (the Cloud API's `Duration` keeps Tencent's fractional milliseconds).
//!
//! # Using the invoke path from code
//!
//! [`Host`] is the invoke path: [`Host::invoke`] (sync, returns an [`InvokeOutcome`]),
//! [`Host::invoke_async`] (the async entry point) and [`Host::invoke_web`] (an HTTP request to a
//! web function). Triggers and queues take it through the [`host::Invoker`] trait, which
//! [`Host`] implements.

pub mod cli;
pub mod config;
pub mod control;
pub mod durable;
pub mod fault;
pub mod host;
pub mod http;
pub mod kafka;
pub mod triggers;

pub use config::{Config, ConfigError, FunctionConfig, FunctionTrigger};
pub use fault::{Fault, InvokeError};
pub use host::{
    FunctionStatus, Host, InstanceState, InstanceStatus, InvokeOptions, InvokeOutcome, PoolCounts,
};
