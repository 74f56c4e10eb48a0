//! SCF's async delivery policy ([error types and retry
//! policies](https://www.tencentcloud.com/document/product/583/39851)): what happens after each
//! delivery.
//!
//! | Outcome | Class | Default handling |
//! |---|---|---|
//! | [`Success`](DeliveryOutcome::Success) | — | `FINISHED` |
//! | [`FunctionError`](DeliveryOutcome::FunctionError) (430, 433, 434, 439, 405, 437, 450, …) | execution error | retried `retry_num` = 2 times, `function_backoff` = a fixed 60 s apart |
//! | [`Throttled`](DeliveryOutcome::Throttled) (432, 429, 449) | overrun | retried with `throttle_backoff`: 1 s doubling, capped at 5 min |
//! | [`SystemError`](DeliveryOutcome::SystemError) (500, 438 while the host shuts down, …) | system error | retried with `system_backoff`: 1 s doubling, capped at 5 min |
//! | [`Refused`](DeliveryOutcome::Refused) (400, 406, 435, 436, …) | request or invoker error | never retried |
//!
//! Throttles and system errors are retried until the event is `max_age` old (6 h by default,
//! SCF's `MsgTTL`); a retry that would fall after that is not scheduled. An event that is given
//! up on goes to the dead-letter store (`FAILED`) with its request id, the last error code and
//! message. The first delivery always happens, however old the event (e.g. after a long
//! downtime). SCF documents a fixed 1 min interval for overruns; the host backs off
//! exponentially from 1 s instead, so a local burst drains quickly
//! (`Backoff::fixed(60 s)` restores the documented behaviour).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The result of delivering an event once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The function returned.
    Success,
    /// The function failed: a user error, a timeout, a crash, an init failure (execution errors).
    FunctionError {
        /// SCF status code, e.g. 430.
        code: u16,
        /// What happened.
        message: String,
    },
    /// No capacity to run it now (overrun errors: 432, 429, 449).
    Throttled {
        /// SCF status code.
        code: u16,
        /// What happened.
        message: String,
    },
    /// A fault of the host (system errors).
    SystemError {
        /// SCF status code.
        code: u16,
        /// What happened.
        message: String,
    },
    /// Refused before execution and pointless to retry (request or invoker errors).
    Refused {
        /// SCF status code.
        code: u16,
        /// What happened.
        message: String,
    },
}

impl DeliveryOutcome {
    /// Classifies an SCF [status code](https://www.tencentcloud.com/document/product/583/35311)
    /// by its async class: 200/202 are success,
    /// class E codes are function errors, class O throttles, class S (and the host's 438 while it
    /// shuts down) system errors, class I refusals. Unknown 4xx codes count as function errors,
    /// anything else as a system error.
    pub fn from_code(code: u16, message: impl Into<String>) -> DeliveryOutcome {
        let message = message.into();
        match code {
            200 | 202 => DeliveryOutcome::Success,
            429 | 432 | 449 => DeliveryOutcome::Throttled { code, message },
            // 438 is how this host answers while it stops: the event must run after the restart.
            438 | 444 | 447 | 500..=599 => DeliveryOutcome::SystemError { code, message },
            400..=404 | 406 | 410 | 435 | 436 | 441 | 442 | 499 => {
                DeliveryOutcome::Refused { code, message }
            }
            400..=499 => DeliveryOutcome::FunctionError { code, message },
            _ => DeliveryOutcome::SystemError { code, message },
        }
    }

    /// The error's code and message (`None` for success).
    pub fn error(&self) -> Option<(u16, &str)> {
        match self {
            DeliveryOutcome::Success => None,
            DeliveryOutcome::FunctionError { code, message }
            | DeliveryOutcome::Throttled { code, message }
            | DeliveryOutcome::SystemError { code, message }
            | DeliveryOutcome::Refused { code, message } => Some((*code, message)),
        }
    }
}

/// Delays that start at `initial` and multiply by `factor` per retry, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Backoff {
    /// The delay before the first retry.
    pub initial: Duration,
    /// Multiplier per further retry (1 = fixed interval).
    pub factor: f64,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// The same `interval` before every retry.
    pub fn fixed(interval: Duration) -> Backoff {
        Backoff {
            initial: interval,
            factor: 1.0,
            max: interval,
        }
    }

    /// Doubling from `initial` up to `max`.
    pub fn exponential(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            factor: 2.0,
            max,
        }
    }

    /// The delay before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(64) as i32;
        let secs = self.initial.as_secs_f64() * self.factor.max(1.0).powi(exponent);
        if !secs.is_finite() || secs >= self.max.as_secs_f64() {
            self.max.max(self.initial)
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// The retry and dead-letter policy. [`Default`] is SCF's current policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// How many times a function error is retried (SCF `RetryNum`, default 2).
    pub retry_num: u32,
    /// Delays between function-error retries (default a fixed 60 s).
    pub function_backoff: Backoff,
    /// Delays after throttles (default 1 s doubling to 5 min).
    pub throttle_backoff: Backoff,
    /// Delays after system errors (default 1 s doubling to 5 min).
    pub system_backoff: Backoff,
    /// How long after its acceptance an event may still be retried (SCF `MsgTTL`, default 6 h).
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retry_num: 2,
            function_backoff: Backoff::fixed(Duration::from_secs(60)),
            throttle_backoff: Backoff::exponential(
                Duration::from_secs(1),
                Duration::from_secs(300),
            ),
            system_backoff: Backoff::exponential(Duration::from_secs(1), Duration::from_secs(300)),
            max_age: Duration::from_secs(6 * 3600),
        }
    }
}

impl RetryPolicy {
    /// SCF's legacy policy: function errors retried after 1 min then 2 min; throttles and system
    /// errors backed off up to 1 h, for 24 h.
    pub fn legacy() -> RetryPolicy {
        RetryPolicy {
            retry_num: 2,
            function_backoff: Backoff::exponential(
                Duration::from_secs(60),
                Duration::from_secs(120),
            ),
            throttle_backoff: Backoff::exponential(
                Duration::from_secs(1),
                Duration::from_secs(3600),
            ),
            system_backoff: Backoff::exponential(Duration::from_secs(1), Duration::from_secs(3600)),
            max_age: Duration::from_secs(24 * 3600),
        }
    }

    /// What to do with an event after a delivery ended with `outcome` at `now_ms`.
    ///
    /// `tries` counts the earlier failures of the event by class (not including this one) and
    /// `created_ms` is when it was accepted.
    pub fn decide(
        &self,
        outcome: &DeliveryOutcome,
        tries: &FailureCounts,
        created_ms: u64,
        now_ms: u64,
    ) -> Decision {
        let deadline = created_ms.saturating_add(self.max_age.as_millis() as u64);
        let retry_after = |delay: Duration, reason_if_late: GiveUp| {
            let due = now_ms.saturating_add(delay.as_millis() as u64);
            if due > deadline {
                Decision::DeadLetter(reason_if_late)
            } else {
                Decision::Retry { due_ms: due, delay }
            }
        };
        match outcome {
            DeliveryOutcome::Success => Decision::Finish,
            DeliveryOutcome::Refused { .. } => Decision::DeadLetter(GiveUp::NotRetried),
            DeliveryOutcome::FunctionError { .. } => {
                let retry = tries.function_errors + 1;
                if retry > self.retry_num {
                    Decision::DeadLetter(GiveUp::RetriesExhausted)
                } else {
                    retry_after(self.function_backoff.delay(retry), GiveUp::MaxAge)
                }
            }
            DeliveryOutcome::Throttled { .. } => retry_after(
                self.throttle_backoff.delay(tries.throttles + 1),
                GiveUp::MaxAge,
            ),
            DeliveryOutcome::SystemError { .. } => retry_after(
                self.system_backoff.delay(tries.system_errors + 1),
                GiveUp::MaxAge,
            ),
        }
    }
}

/// How many deliveries of an event failed, by error class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCounts {
    /// Function (execution) errors: counted against `retry_num`.
    pub function_errors: u32,
    /// Throttles (overrun errors).
    pub throttles: u32,
    /// System errors.
    pub system_errors: u32,
}

impl FailureCounts {
    /// The counts after one more failure of `outcome`'s class.
    pub fn after(mut self, outcome: &DeliveryOutcome) -> FailureCounts {
        match outcome {
            DeliveryOutcome::FunctionError { .. } => self.function_errors += 1,
            DeliveryOutcome::Throttled { .. } => self.throttles += 1,
            DeliveryOutcome::SystemError { .. } => self.system_errors += 1,
            DeliveryOutcome::Success | DeliveryOutcome::Refused { .. } => {}
        }
        self
    }
}

/// The policy's verdict after a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Done: `FINISHED`.
    Finish,
    /// Deliver again at `due_ms` (after `delay`).
    Retry {
        /// When, Unix ms on the queue's clock.
        due_ms: u64,
        /// How long after this delivery.
        delay: Duration,
    },
    /// Give up: `FAILED`, into the dead-letter store.
    DeadLetter(GiveUp),
}

/// Why an event was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiveUp {
    /// Function errors used up `retry_num` retries.
    RetriesExhausted,
    /// The next retry would come after `max_age`.
    MaxAge,
    /// The error is a request or invoker error, never retried.
    NotRetried,
}

impl GiveUp {
    /// A short explanation for people.
    pub fn describe(self) -> &'static str {
        match self {
            GiveUp::RetriesExhausted => "function error retries exhausted",
            GiveUp::MaxAge => "the event reached its max age",
            GiveUp::NotRetried => "the error is not retried",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    fn function_error() -> DeliveryOutcome {
        DeliveryOutcome::from_code(430, "boom")
    }

    #[test]
    fn codes_fall_into_scf_classes() {
        assert_eq!(
            DeliveryOutcome::from_code(200, ""),
            DeliveryOutcome::Success
        );
        for code in [405, 407, 430, 433, 434, 437, 439, 443, 446, 450] {
            assert!(
                matches!(
                    DeliveryOutcome::from_code(code, ""),
                    DeliveryOutcome::FunctionError { .. }
                ),
                "{code}"
            );
        }
        for code in [429, 432, 449] {
            assert!(
                matches!(
                    DeliveryOutcome::from_code(code, ""),
                    DeliveryOutcome::Throttled { .. }
                ),
                "{code}"
            );
        }
        for code in [438, 500, 503] {
            assert!(
                matches!(
                    DeliveryOutcome::from_code(code, ""),
                    DeliveryOutcome::SystemError { .. }
                ),
                "{code}"
            );
        }
        for code in [400, 406, 435, 436, 442, 499] {
            assert!(
                matches!(
                    DeliveryOutcome::from_code(code, ""),
                    DeliveryOutcome::Refused { .. }
                ),
                "{code}"
            );
        }
        assert_eq!(
            DeliveryOutcome::from_code(433, "slow").error(),
            Some((433, "slow"))
        );
    }

    #[test]
    fn function_errors_retry_twice_a_minute_apart_then_dead_letter() {
        let policy = RetryPolicy::default();
        let mut tries = FailureCounts::default();
        let mut now = 1_000 * MIN;
        let created = now;
        for _ in 0..2 {
            match policy.decide(&function_error(), &tries, created, now) {
                Decision::Retry { due_ms, delay } => {
                    assert_eq!(delay, Duration::from_secs(60));
                    assert_eq!(due_ms, now + MIN);
                    now = due_ms;
                }
                other => panic!("expected a retry, got {other:?}"),
            }
            tries = tries.after(&function_error());
        }
        assert_eq!(
            policy.decide(&function_error(), &tries, created, now),
            Decision::DeadLetter(GiveUp::RetriesExhausted)
        );
    }

    #[test]
    fn legacy_policy_retries_after_one_then_two_minutes() {
        let policy = RetryPolicy::legacy();
        assert_eq!(policy.function_backoff.delay(1), Duration::from_secs(60));
        assert_eq!(policy.function_backoff.delay(2), Duration::from_secs(120));
        assert_eq!(policy.max_age, Duration::from_secs(86_400));
    }

    #[test]
    fn throttles_back_off_exponentially_capped_at_five_minutes_until_max_age() {
        let policy = RetryPolicy::default();
        let throttled = DeliveryOutcome::from_code(432, "busy");
        let created = 0;
        let mut now = 0;
        let mut tries = FailureCounts::default();
        let mut delays = Vec::new();
        loop {
            match policy.decide(&throttled, &tries, created, now) {
                Decision::Retry { due_ms, delay } => {
                    delays.push(delay.as_secs());
                    now = due_ms;
                    tries = tries.after(&throttled);
                }
                Decision::DeadLetter(reason) => {
                    assert_eq!(reason, GiveUp::MaxAge);
                    break;
                }
                Decision::Finish => panic!("a throttle never finishes"),
            }
        }
        assert_eq!(&delays[..10], &[1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert!(delays[10..].iter().all(|&d| d == 300));
        // Retries stop at 6 h: the last one was scheduled within it, the next would pass it.
        assert!(now <= 6 * 60 * MIN && now + 300_000 > 6 * 60 * MIN, "{now}");
        // Throttles never use up the function-error retries.
        assert_eq!(tries.function_errors, 0);
    }

    #[test]
    fn system_errors_and_refusals() {
        let policy = RetryPolicy::default();
        let system = DeliveryOutcome::from_code(500, "disk");
        let tries = FailureCounts {
            system_errors: 3,
            ..Default::default()
        };
        assert_eq!(
            policy.decide(&system, &tries, 0, 0),
            Decision::Retry {
                due_ms: 8_000,
                delay: Duration::from_secs(8)
            }
        );
        assert_eq!(
            policy.decide(
                &DeliveryOutcome::from_code(435, "gone"),
                &FailureCounts::default(),
                0,
                0
            ),
            Decision::DeadLetter(GiveUp::NotRetried)
        );
        assert_eq!(
            policy.decide(&DeliveryOutcome::Success, &tries, 0, 0),
            Decision::Finish
        );
    }

    #[test]
    fn an_old_event_gets_no_function_error_retry_past_max_age() {
        let policy = RetryPolicy {
            max_age: Duration::from_secs(90),
            ..Default::default()
        };
        // Accepted at 0, failed at 45 s: the retry would be at 105 s > 90 s.
        assert_eq!(
            policy.decide(&function_error(), &FailureCounts::default(), 0, 45_000),
            Decision::DeadLetter(GiveUp::MaxAge)
        );
    }
}
