//! Timer: `cargo run -p example-timer` under a host (`scf-runtime-server`) with a timer
//! trigger, or with `SCF_RUNTIME_API`/`SCF_RUNTIME_API_PORT` pointing at a runtime API.
//!
//! A sync handler (no `async` needed for work that never waits) with a soft deadline: if
//! it ever ran within 200 ms of the function's timeout, the runtime would report a
//! `Timeout` error and keep the instance instead of letting the platform kill it.

use scf::events::timer::TimerEvent;
use serde::Serialize;

/// What the function answers for each tick.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Tick {
    /// The trigger's name.
    pub trigger: String,
    /// When the platform fired it.
    pub fired_at: String,
    /// The trigger's message, when it has one.
    pub message: Option<String>,
}

/// Summarises a timer tick.
#[scf::function(timeout_margin_ms = 200)]
pub fn handler(event: TimerEvent, ctx: scf::Context) -> Tick {
    scf::tracing::info!(trigger = %event.trigger_name, remaining_ms = ctx.remaining().as_millis() as u64, "tick");
    Tick {
        trigger: event.trigger_name,
        fired_at: event.time,
        message: Some(event.message).filter(|m| !m.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_the_bundled_timer_event() {
        let raw =
            scf::events::fixtures::get("timer-doc").expect("the timer-doc fixture is bundled");
        let event: TimerEvent = serde_json::from_str(raw).unwrap();
        let expected_trigger = event.trigger_name.clone();
        let tick = handler(event, scf::Context::default());
        assert_eq!(tick.trigger, expected_trigger);
        assert!(!tick.fired_at.is_empty());
    }

    #[test]
    fn an_empty_message_is_none() {
        let raw = scf::events::fixtures::get("timer-empty-message")
            .expect("the timer-empty-message fixture is bundled");
        let event: TimerEvent = serde_json::from_str(raw).unwrap();
        assert_eq!(handler(event, scf::Context::default()).message, None);
    }
}
