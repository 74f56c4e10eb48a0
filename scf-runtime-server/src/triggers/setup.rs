//! Putting the triggers of every function together: the one place the server hands its config to.
//!
//! ```text
//! let mut setup = TriggerSetup::new(invoker);
//! for function in &config.functions {
//!     setup.add_function(&function.name, function.is_web(), &function.triggers)?;
//! }
//! let triggers = setup.finish();
//! // HTTP: every path the server does not serve itself goes to `triggers.http.handle(request, peer)`.
//! // Timers: print `triggers.describe_timers(now, 3)`, then keep `triggers.start_timers()` alive.
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::apigw::{ApigwRoute, ApigwTriggerConfig};
use super::function_url::FunctionUrlTriggerConfig;
use super::http::HttpTriggers;
use super::timer::{TimerSet, TimerTrigger, TimerTriggerConfig, describe_schedule};
use crate::host::Invoker;

/// One `[[functions.<name>.triggers]]` table, by its `type`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TriggerConfig {
    /// `type = "apigw"`.
    Apigw(ApigwTriggerConfig),
    /// `type = "function_url"`.
    FunctionUrl(FunctionUrlTriggerConfig),
    /// `type = "timer"`.
    Timer(TimerTriggerConfig),
}

/// A trigger that cannot be set up: which function, which trigger (0-based index), what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// The function.
    pub function: String,
    /// The trigger's index in the function's list, when the problem is one trigger.
    pub trigger: Option<usize>,
    /// The problem, starting with the config key.
    pub message: String,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.trigger {
            Some(i) => write!(
                f,
                "functions.{}.triggers[{i}].{}",
                self.function, self.message
            ),
            None => write!(f, "functions.{}.{}", self.function, self.message),
        }
    }
}

impl std::error::Error for SetupError {}

/// Collects the triggers of every function.
#[derive(Debug)]
pub struct TriggerSetup<I> {
    http: HttpTriggers<I>,
    timers: Vec<TimerTrigger>,
    names: Vec<(String, String)>,
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
            names: Vec::new(),
        }
    }

    /// Adds `function` with its triggers. `is_web` says it is a web function (`type = "web"`):
    /// its HTTP requests are passed on through [`Invoker::invoke_web`], and it cannot have timer
    /// triggers (as on the platform).
    pub fn add_function(
        &mut self,
        function: &str,
        is_web: bool,
        triggers: &[TriggerConfig],
    ) -> Result<(), SetupError> {
        let error = |trigger, message: String| SetupError {
            function: function.to_owned(),
            trigger,
            message,
        };
        if is_web {
            self.http.add_web_function(function);
        }
        for (i, trigger) in triggers.iter().enumerate() {
            match trigger {
                TriggerConfig::Apigw(config) => {
                    let route = ApigwRoute::new(function, config)
                        .map_err(|e| error(Some(i), e.to_string()))?;
                    self.http.add_apigw(route);
                }
                TriggerConfig::FunctionUrl(_) => self.http.add_function_url(function),
                TriggerConfig::Timer(config) => {
                    if is_web {
                        return Err(error(
                            Some(i),
                            "type: a web function cannot have a timer trigger (it takes HTTP requests only)".to_owned(),
                        ));
                    }
                    let timer = TimerTrigger::new(function, config)
                        .map_err(|e| error(Some(i), e.to_string()))?;
                    if self
                        .names
                        .iter()
                        .any(|(f, n)| f == function && *n == timer.name)
                    {
                        return Err(error(
                            Some(i),
                            format!(
                                "name: {:?} is used by another timer of this function",
                                timer.name
                            ),
                        ));
                    }
                    self.names.push((function.to_owned(), timer.name.clone()));
                    self.timers.push(timer);
                }
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

    fn parse(toml_like: serde_json::Value) -> Vec<TriggerConfig> {
        serde_json::from_value(toml_like).unwrap()
    }

    #[test]
    fn triggers_parse_by_type_and_errors_name_their_place() {
        let triggers = parse(serde_json::json!([
            {"type": "apigw", "path": "/a", "methods": ["GET"]},
            {"type": "function_url"},
            {"type": "timer", "name": "t1", "cron": "* * * * * * *", "message": "m"},
        ]));
        let mut setup = TriggerSetup::new(Nop);
        setup.add_function("f", false, &triggers).unwrap();
        let done = setup.finish();
        assert_eq!(done.http.routes().len(), 1);
        assert_eq!(done.timers.len(), 1);

        let mut setup = TriggerSetup::new(Nop);
        let bad = parse(serde_json::json!([
            {"type": "function_url"},
            {"type": "timer", "name": "t1", "cron": "nope", "message": "m"},
        ]));
        let err = setup.add_function("f", false, &bad).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("functions.f.triggers[1].cron: "),
            "{err}"
        );
        let dup = parse(serde_json::json!([
            {"type": "timer", "name": "t", "cron": "* * * * *"},
            {"type": "timer", "name": "t", "cron": "* * * * *"},
        ]));
        let err = TriggerSetup::new(Nop)
            .add_function("g", false, &dup)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("functions.g.triggers[1].name: "),
            "{err}"
        );
        let unknown: Result<Vec<TriggerConfig>, _> =
            serde_json::from_value(serde_json::json!([{"type": "apigw", "path": "/", "paht": 1}]));
        assert!(unknown.unwrap_err().to_string().contains("paht"));
    }
}
