//! Putting the triggers of every function together: the one place the server hands its config to.
//!
//! ```text
//! let mut setup = TriggerSetup::new(invoker);
//! for function in &config.functions {
//!     setup.add_function(&function.name, function.is_web(), &function.triggers);
//! }
//! let triggers = setup.finish();
//! // HTTP: every path the server does not serve itself goes to `triggers.http.handle(request, peer)`.
//! // Timers: print `triggers.describe_timers(now, 3)`, then keep `triggers.start_timers()` alive.
//! ```

use chrono::{DateTime, Utc};

use super::http::HttpTriggers;
use super::timer::{TimerSet, describe_schedule};
use crate::config::{FunctionTrigger, TimerTrigger};
use crate::host::Invoker;

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
    /// are left to [`crate::kafka::Consumers`]). `is_web` says it is a web function
    /// (`type = "web"`): its HTTP requests are passed on through [`Invoker::invoke_web`].
    pub fn add_function(&mut self, function: &str, is_web: bool, triggers: &[FunctionTrigger]) {
        if is_web {
            self.http.add_web_function(function);
        }
        for trigger in triggers {
            match trigger {
                FunctionTrigger::Apigw(route) => self.http.add_apigw(route.clone()),
                FunctionTrigger::FunctionUrl { auth } => {
                    self.http.add_function_url(function);
                    if *auth {
                        self.http.require_auth_on_url(function);
                    }
                }
                FunctionTrigger::Timer(timer) => self.timers.push((**timer).clone()),
                FunctionTrigger::Ckafka(_) => {}
            }
        }
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
    /// The next `n` fire times of every timer after `now`, for `cargo scf serve` to print at start
    /// (empty when there is no timer).
    pub fn describe_timers(&self, now: DateTime<Utc>, n: usize) -> String {
        describe_schedule(&self.timers, now, n)
    }

    /// Starts every timer on the current tokio runtime; they stop when the set is dropped.
    pub fn start_timers(&self) -> TimerSet {
        TimerSet::start(self.timers.iter().cloned(), self.invoker.clone())
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
            setup.add_function(&function.name, false, &function.triggers);
        }
        let done = setup.finish();
        assert_eq!(done.http.routes().len(), 1);
        assert_eq!(done.timers.len(), 1);
        assert_eq!(done.timers[0].name, "t1");
    }
}
