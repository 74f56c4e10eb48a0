//! # scf: Tencent Cloud SCF functions in Rust
//!
//! Write a handler, annotate it, and get a `bootstrap` that speaks SCF's Custom Runtime
//! API: typed events for every trigger ([`events`]), a runtime that never loses an
//! invocation to a bad event, an error or a panic, and a mock runtime API for tests
//! ([`testing`]).
//!
//! ```no_run
//! use scf::events::cos::CosEvent;
//!
//! #[scf::function]
//! async fn handler(event: CosEvent, ctx: scf::Context) -> Result<usize, scf::Error> {
//!     scf::tracing::info!(request_id = ctx.request_id(), "got {} records", event.records.len());
//!     Ok(event.records.len())
//! }
//! ```
//!
//! Without the macro, run any `tower::Service` over [`Invocation`]s:
//!
//! ```no_run
//! async fn handler(event: serde_json::Value, _ctx: scf::Context) -> Result<serde_json::Value, scf::Error> {
//!     Ok(event)
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), scf::RuntimeError> {
//!     scf::run(scf::service_fn(handler)).await
//! }
//! ```
//!
//! | Crate | Re-exported as | What it holds |
//! |---|---|---|
//! | `scf-runtime` | [`Context`], [`Error`], [`run`], [`service_fn`], [`Runtime`], [`testing`], [`tracing`](mod@tracing) | the function-side runtime |
//! | `scf-macros` | [`function`] | `#[scf::function]` |
//! | `scf-events` | [`events`] | typed trigger events, `IntegratedResponse`, `AnyEvent`, fixtures |
//!
//! | Feature | Default | Enables |
//! |---|---|---|
//! | `events` | yes | every trigger module of [`events`] |
//! | `fixtures` | no | `scf::events::fixtures`: bundled sample events by name |
//! | `http` | no | HTTP adapters: an axum `Router` as an API Gateway handler |
//! | `multi-thread` | no | tokio's multi-thread scheduler, for `#[scf::function(flavor = "multi_thread")]` |

#[cfg(feature = "events")]
#[doc(inline)]
pub use scf_events as events;
pub use scf_macros::function;
pub use scf_runtime::{
    BoxError, Config, ConfigError, Context, ContextBuilder, Credentials, Error, Invocation,
    Runtime, RuntimeError, ServiceFn, config, context, error, run, service_fn, testing, tracing,
};

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

/// The README's Rust snippets, compiled as doctests so they cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
