//! The function-side runtime for Tencent Cloud SCF's Custom Runtime API.
//!
//! A bootstrap built on this crate reads its configuration from the environment, tells
//! the platform it is ready, then loops: long-poll `GET /runtime/invocation/next`,
//! deserialise the event into the handler's type, call the handler, and post its result
//! to `/runtime/invocation/response` or an error to `/runtime/invocation/error`. A bad
//! event, an error or a panic is reported for that invocation and the instance serves the
//! next one.
//!
//! Most users write `#[scf::function]` on their handler (crate `scf`). Without the macro:
//!
//! ```no_run
//! use scf_runtime::{Context, Error, service_fn};
//! use serde_json::Value;
//!
//! async fn handler(event: Value, ctx: Context) -> Result<Value, Error> {
//!     tracing::info!(request_id = ctx.request_id(), "echoing");
//!     Ok(event)
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), scf_runtime::RuntimeError> {
//!     scf_runtime::tracing::init_default_subscriber();
//!     scf_runtime::run(service_fn(handler)).await
//! }
//! ```
//!
//! Test a handler through the whole raw JSON -> handler -> posted body path with
//! [`testing::MockApi`] or [`testing::invoke`].
//!
//! | Module | What it holds |
//! |---|---|
//! | [`config`] | [`Config::from_env`]: every variable the platform sets |
//! | [`context`] | [`Context`]: request id, limits, deadline, function metadata |
//! | [`error`] | [`Error`] and the `{"errorType","errorMessage"}` body |
//! | [`runtime`] | [`Runtime`], [`run`]: the invocation loop |
//! | [`service`] | [`service_fn`], [`Invocation`]: the `tower::Service` handler model |
//! | [`testing`] | [`testing::MockApi`]: an in-process mock runtime API |
//! | [`tracing`](mod@tracing) | [`tracing::init_default_subscriber`] |
//!
//! | Feature | Default | Enables |
//! |---|---|---|
//! | `hint` | yes | an event that does not fit the handler's type is reported with the trigger it looks like ("this looks like a COS event"), through `scf-events`' detection |
//! | `multi-thread` | no | tokio's multi-thread scheduler, for `#[scf::function(flavor = "multi_thread")]` |
//! | `http` | no | `scf-events`' HTTP adapters |

mod client;
pub mod config;
pub mod context;
pub mod error;
mod hint;
#[doc(hidden)]
pub mod macro_support;
mod panic_report;
pub mod runtime;
mod runtime_error;
pub mod service;
mod sigterm;
pub mod testing;
pub mod tracing;

pub use config::{Config, ConfigError, Credentials};
pub use context::{Context, ContextBuilder};
pub use error::{BoxError, Diagnostic, Error};
pub use runtime::{Runtime, RuntimeError, RuntimeErrorKind, run};
pub use service::{Invocation, ServiceFn, service_fn};
