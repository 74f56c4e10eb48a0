//! Triggers: API gateway, Function URL, timers and web functions, all feeding the invoke path.
//!
//! Triggers are connectors: they turn an outside event (an HTTP request, a clock tick) into an
//! SCF event and hand it to the server's invoke path through [`Invoker`](crate::host::Invoker),
//! so limits, scheduling, logs and metrics are the same as for a direct invoke. Web functions are
//! the exception the platform makes too: their requests are passed on as native HTTP
//! ([`Invoker::invoke_web`](crate::host::Invoker::invoke_web)) to instances running the
//! function's own HTTP server ([`crate::host::web`]).
//!
//! | Trigger | `type` in `scf.toml` | Reached at | Module |
//! |---|---|---|---|
//! | API gateway | `apigw` | the configured `path` on the server's listener | [`apigw`] |
//! | Function URL | `function_url` | `/fn/<function>/…` | [`function_url`] |
//! | Timer | `timer` | fires on its cron schedule (async invocations) | [`timer`] |
//! | Web function | function `type = "web"` | through its `apigw` / `function_url` triggers | [`crate::host::web`] |
//!
//! [`setup::TriggerSetup`] takes every function's `[[functions.<name>.triggers]]` tables, as
//! [`crate::Config`] checked them ([`crate::FunctionTrigger`]; the checked specifications, such as
//! [`ApigwRoute`](crate::config::ApigwRoute) and [`TimerTrigger`](crate::config::TimerTrigger),
//! live in [`crate::config`]), and gives [`setup::Triggers`]: [`http::HttpTriggers`] serves the
//! HTTP ones on any path the server does not serve itself, and [`timer::TimerSet`] runs the
//! schedules.

pub mod apigw;
pub mod function_url;
pub mod http;
pub mod request;
pub mod response;
pub mod setup;
pub mod timer;

pub use self::http::HttpTriggers;
pub use setup::{TriggerSetup, Triggers};
pub use timer::TimerSet;
