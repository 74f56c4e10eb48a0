//! The timer trigger: a cron schedule that fires the Timer event ([timer
//! trigger](https://www.tencentcloud.com/document/product/583/9708)) as an asynchronous invocation.
//!
//! ```toml
//! [[functions.report.triggers]]
//! type = "timer"
//! name = "every-5s"                 # TriggerName: ≤ 60 of [A-Za-z0-9_-], starting with a letter
//! cron = "*/5 * * * * * *"          # 7 fields (sec min hour dom month dow year) or the legacy 5
//! message = "tick"                  # Message (≤ 4 KB, default ""); always delivered as a string
//! timezone = "Asia/Shanghai"        # IANA zone the cron is read in (default "UTC")
//! ```
//!
//! - **Event**: `{"Type":"Timer","TriggerName":<name>,"Time":<fire time>,"Message":<message>}`;
//!   `Time` is the scheduled fire time in RFC 3339 UTC without a fraction
//!   (`2019-02-21T11:49:00Z`), whatever the trigger's time zone.
//! - **Delivery**: each fire is one asynchronous invocation through the server's invoke path (so it
//!   is queued durably and retried like any async event). A fire whose enqueue fails is logged, not
//!   retried by the timer.
//! - **Time zone**: the platform does not document one; the server reads cron fields in UTC unless
//!   the trigger sets `timezone` (project decision).
//! - **Downtime**: fires missed while the server was not running, or while the machine was
//!   suspended, are **not replayed**: after a gap the schedule resumes at the next fire time after
//!   now (project decision).

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use scf_events::timer::TimerEvent;
use tokio::task::JoinHandle;

use crate::config::TimerTrigger;
use crate::host::Invoker;

/// How late a fire may be before it counts as missed (not replayed).
pub const MISSED_AFTER: Duration = Duration::from_secs(1);

/// The event `trigger` sends for a fire at `at`.
pub fn event(trigger: &TimerTrigger, at: DateTime<Utc>) -> TimerEvent {
    // Through JSON, so this builds whatever optional fields the event type has.
    serde_json::from_value(serde_json::json!({
        "Type": "Timer",
        "TriggerName": trigger.name,
        "Time": format_time(at),
        "Message": trigger.message,
    }))
    .expect("the Timer event shape parses as TimerEvent")
}

/// Runs `trigger`'s schedule on the current tokio runtime until the handle is aborted (or dropped via
/// [`TimerSet`]): sleeps until each fire time and queues the event with
/// [`Invoker::invoke_event`].
pub fn spawn<I: Invoker>(trigger: TimerTrigger, invoker: I) -> JoinHandle<()> {
    tokio::spawn(run(trigger, invoker))
}

async fn run<I: Invoker>(trigger: TimerTrigger, invoker: I) {
    let mut next = trigger.next_fire(Utc::now());
    while let Some(at) = next {
        loop {
            let now = Utc::now();
            if now >= at {
                break;
            }
            let wait = (at - now).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
        }
        let now = Utc::now();
        let late = (now - at).to_std().unwrap_or_default();
        if late > MISSED_AFTER {
            tracing::warn!(
                function = %trigger.function,
                trigger = %trigger.name,
                scheduled = %format_time(at),
                "timer fire missed (the server was not running or the machine slept); not replayed"
            );
            next = trigger.next_fire(now);
            continue;
        }
        let payload = serde_json::to_vec(&event(&trigger, at)).expect("a timer event serialises");
        match invoker
            .invoke_event(
                &trigger.function,
                Bytes::from(payload),
                crate::durable::EventSource::Timer,
            )
            .await
        {
            Ok(request_id) => tracing::info!(
                function = %trigger.function,
                trigger = %trigger.name,
                time = %format_time(at),
                request_id,
                "timer fired"
            ),
            Err(e) => tracing::error!(
                function = %trigger.function,
                trigger = %trigger.name,
                time = %format_time(at),
                error = %e,
                "timer fire was not accepted"
            ),
        }
        next = trigger.next_fire(at);
    }
    tracing::info!(function = %trigger.function, trigger = %trigger.name, "timer schedule has no more fire times");
}

/// `Time` as the platform writes it: RFC 3339 UTC, whole seconds, `Z`.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The running schedules of every timer trigger; dropping it stops them all.
#[derive(Debug, Default)]
pub struct TimerSet {
    handles: Vec<JoinHandle<()>>,
}

impl TimerSet {
    /// Starts every trigger's schedule on the current tokio runtime.
    pub fn start<I: Invoker>(triggers: impl IntoIterator<Item = TimerTrigger>, invoker: I) -> Self {
        TimerSet {
            handles: triggers
                .into_iter()
                .map(|t| spawn(t, invoker.clone()))
                .collect(),
        }
    }

    /// How many schedules run.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether no schedule runs.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}

impl Drop for TimerSet {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

/// A human-readable table of each trigger's next `n` fire times after `now`, for `cargo scf serve` to
/// print at start. Times are shown in UTC, and in the trigger's zone when it is not UTC.
pub fn describe_schedule<'a>(
    triggers: impl IntoIterator<Item = &'a TimerTrigger>,
    now: DateTime<Utc>,
    n: usize,
) -> String {
    let mut out = String::new();
    for trigger in triggers {
        let zone = if trigger.timezone == Tz::UTC {
            String::new()
        } else {
            format!(", {}", trigger.timezone)
        };
        let _ = writeln!(
            out,
            "timer {}/{} \"{}\"{zone}: next fires",
            trigger.function,
            trigger.name,
            trigger.cron.as_str()
        );
        let fires = trigger.next_fires(now, n);
        if fires.is_empty() {
            let _ = writeln!(out, "  (never fires again)");
        }
        for at in fires {
            if trigger.timezone == Tz::UTC {
                let _ = writeln!(out, "  {}", format_time(at));
            } else {
                let local = at.with_timezone(&trigger.timezone);
                let _ = writeln!(
                    out,
                    "  {} ({})",
                    format_time(at),
                    local.format("%Y-%m-%d %H:%M:%S %Z")
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TimerTriggerConfig;
    use chrono::TimeZone as _;

    fn config(cron: &str) -> TimerTriggerConfig {
        TimerTriggerConfig {
            name: "every".into(),
            cron: cron.into(),
            message: Some("tick".into()),
            timezone: None,
        }
    }

    #[test]
    fn events_have_the_platform_shape() {
        let t = TimerTrigger::new("f", &config("0 */5 * * * * *")).unwrap();
        let at = Utc.with_ymd_and_hms(2019, 2, 21, 11, 49, 0).unwrap();
        let json = serde_json::to_value(event(&t, at)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Type": "Timer", "TriggerName": "every", "Time": "2019-02-21T11:49:00Z", "Message": "tick"})
        );
    }

    #[test]
    fn time_zones_shift_the_schedule_not_the_event_time() {
        let mut c = config("0 0 9 * * * *");
        c.timezone = Some("Asia/Shanghai".into());
        let t = TimerTrigger::new("f", &c).unwrap();
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let next = t.next_fire(start).unwrap();
        assert_eq!(format_time(next), "2024-01-01T01:00:00Z");
        assert_eq!(event(&t, next).time, "2024-01-01T01:00:00Z");
        let text = describe_schedule([&t], start, 2);
        assert!(text.contains("Asia/Shanghai"), "{text}");
        assert!(
            text.contains("2024-01-02T01:00:00Z (2024-01-02 09:00:00 CST)"),
            "{text}"
        );
    }

    #[test]
    fn describe_lists_n_times_per_trigger() {
        let t = TimerTrigger::new("f", &config("0 0 12 * * WED *")).unwrap();
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let text = describe_schedule([&t], start, 3);
        assert_eq!(
            text,
            "timer f/every \"0 0 12 * * WED *\": next fires\n  2024-01-03T12:00:00Z\n  2024-01-10T12:00:00Z\n  2024-01-17T12:00:00Z\n"
        );
    }
}
