//! Putting the triggers of every function together: the one place the server hands its config to.
//!
//! ```text
//! let mut setup = TriggerSetup::new(invoker);
//! for function in &config.functions {
//!     let web = function.is_web().then(|| web_config_for(function));
//!     setup.add_function(&function.name, web, &function.triggers)?;
//! }
//! let triggers = setup.finish();
//! // HTTP: every path the server does not serve itself goes to `triggers.http.handle(request, peer)`.
//! // Timers: print `triggers.describe_timers(now, 3)`, then keep `triggers.start_timers()` alive.
//! ```

use std::fmt;

use chrono::{DateTime, Utc};

use super::http::HttpTriggers;
use super::invoke::Invoker;
use super::timer::{TimerSet, TimerTrigger, describe_schedule};
use crate::config::FunctionTrigger;
use crate::host::web::{WebFunctionConfig, WebPool};

/// A function that cannot be set up (its triggers were checked with the config; this is about
/// the function itself): which function, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// The function.
    pub function: String,
    /// The problem, starting with the config key.
    pub message: String,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "functions.{}.{}", self.function, self.message)
    }
}

impl std::error::Error for SetupError {}

/// Collects the triggers of every function.
#[derive(Debug)]
pub struct TriggerSetup<I> {
    http: HttpTriggers<I>,
    timers: Vec<TimerTrigger>,
}

/// The result of [`TriggerSetup::finish`].
#[derive(Debug)]
pub struct Triggers<I> {
    /// The HTTP triggers and web functions.
    pub http: HttpTriggers<I>,
    /// The timer triggers (not running yet).
    pub timers: Vec<TimerTrigger>,
    invoker: I,
}

impl<I: Invoker> TriggerSetup<I> {
    /// No function yet.
    pub fn new(invoker: I) -> Self {
        TriggerSetup {
            http: HttpTriggers::new(invoker),
            timers: Vec::new(),
        }
    }

    /// Adds `function` with its triggers, as [`crate::Config`] checked them (`ckafka` triggers
    /// are left to [`crate::kafka::Consumers`]). `web` is the pool config when the function is a
    /// web function (`type = "web"`).
    /// Must run inside a tokio runtime when `web` is given (the pool starts its idle reaper).
    pub fn add_function(
        &mut self,
        function: &str,
        web: Option<WebFunctionConfig>,
        triggers: &[FunctionTrigger],
    ) -> Result<(), SetupError> {
        let error = |message: String| SetupError {
            function: function.to_owned(),
            message,
        };
        if let Some(config) = web {
            let pool = WebPool::new(config).map_err(error)?;
            self.http.add_web_function(pool);
        }
        for trigger in triggers {
            match trigger {
                FunctionTrigger::Apigw(route) => self.http.add_apigw(route.clone()),
                FunctionTrigger::FunctionUrl => self.http.add_function_url(function),
                FunctionTrigger::Timer(timer) => self.timers.push((**timer).clone()),
                FunctionTrigger::Ckafka(_) => {}
            }
        }
        Ok(())
    }

    /// Everything collected.
    pub fn finish(self) -> Triggers<I> {
        let invoker = self.http.invoker().clone();
        Triggers {
            http: self.http,
            timers: self.timers,
            invoker,
        }
    }
}

impl<I: Invoker> Triggers<I> {
    /// The next `n` fire times of every timer after `now`, for `scf serve` to print at start
    /// (empty when there is no timer).
    pub fn describe_timers(&self, now: DateTime<Utc>, n: usize) -> String {
        describe_schedule(&self.timers, now, n)
    }

    /// Starts every timer on the current tokio runtime; they stop when the set is dropped.
    pub fn start_timers(&self) -> TimerSet {
        TimerSet::start(self.timers.iter().cloned(), self.invoker.clone())
    }

    /// Starts the `min_instances` of every web function.
    pub async fn start_web_min_instances(&self) -> Result<(), crate::fault::InvokeError> {
        for pool in self.http.web_pools().values() {
            pool.start_min_instances().await?;
        }
        Ok(())
    }

    /// Stops every web function instance.
    pub async fn shutdown(&self) {
        for pool in self.http.web_pools().values() {
            pool.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::InvokeError;
    use bytes::Bytes;

    #[derive(Clone)]
    struct Nop;

    impl Invoker for Nop {
        async fn invoke(&self, _: &str, _: Bytes) -> Result<Bytes, InvokeError> {
            Ok(Bytes::new())
        }
        async fn invoke_async(&self, _: &str, _: Bytes) -> Result<String, InvokeError> {
            Ok(String::new())
        }
    }

    fn config(text: &str) -> crate::Config {
        crate::Config::parse(text, "scf.toml".as_ref(), "/srv".as_ref()).unwrap()
    }

    #[test]
    fn checked_triggers_become_routes_and_timers() {
        let config = config(
            r#"
[functions.f]
bootstrap = "x"
[[functions.f.triggers]]
type = "apigw"
path = "/a"
methods = ["GET"]
[[functions.f.triggers]]
type = "function_url"
[[functions.f.triggers]]
type = "timer"
name = "t1"
cron = "* * * * * * *"
message = "m"
[[functions.f.triggers]]
type = "ckafka"
brokers = ["127.0.0.1:9092"]
topic = "t"
"#,
        );
        let mut setup = TriggerSetup::new(Nop);
        for function in &config.functions {
            setup
                .add_function(&function.name, None, &function.triggers)
                .unwrap();
        }
        let done = setup.finish();
        assert_eq!(done.http.routes().len(), 1);
        assert_eq!(done.timers.len(), 1);
        assert_eq!(done.timers[0].name, "t1");
    }
}
