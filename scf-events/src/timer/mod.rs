//! Timer trigger: the event SCF sends when a cron schedule fires, and the cron grammar itself.
//!
//! ```json
//! {
//!   "Type": "Timer",
//!   "TriggerName": "EveryDay",
//!   "Time": "2019-02-21T11:49:00Z",
//!   "Message": "user define msg body"
//! }
//! ```
//!
//! All keys are PascalCase. `Time` is the fire time in RFC 3339 UTC. `Message` is the text the user
//! configured on the trigger (`""` when unset): it is **always a string**, even when it holds JSON;
//! [`TimerEvent::message_json`] parses it.
//!
//! ```
//! use scf_events::timer::TimerEvent;
//!
//! let event: TimerEvent = serde_json::from_str(r#"{
//!     "Type": "Timer", "TriggerName": "EveryDay",
//!     "Time": "2019-02-21T11:49:00Z", "Message": "{\"job\":\"report\"}"
//! }"#).unwrap();
//! assert_eq!(event.trigger_name, "EveryDay");
//! let msg: serde_json::Value = event.message_json().unwrap();
//! assert_eq!(msg["job"], "report");
//! ```
//!
//! The [`cron`] module parses and evaluates the trigger's schedule (`TriggerDesc`).

pub mod cron;

use serde::{Deserialize, Serialize};

/// The event a timer trigger delivers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimerEvent {
    /// Always `"Timer"` for this trigger (the key is `Type`).
    #[serde(rename = "Type")]
    pub kind: String,
    /// The trigger's name: up to 60 characters of `[A-Za-z0-9_-]`, starting with a letter.
    pub trigger_name: String,
    /// When the trigger fired, as sent: RFC 3339 UTC without a fraction, e.g.
    /// `2019-02-21T11:49:00Z`. See [`TimerEvent::time`] (feature `chrono`).
    pub time: String,
    /// The trigger's configured message (≤ 4 KB), `""` when unset. Always a string.
    #[serde(default)]
    pub message: String,
    /// Keys this version does not model, kept so that serialising gives them back.
    #[cfg(feature = "catch-all-fields")]
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl TimerEvent {
    /// Parses [`message`](Self::message) as JSON into `T`.
    ///
    /// The platform hands the message over as a string even when the user typed JSON; this reads
    /// that JSON. An empty message is an error for most `T` (it is not JSON).
    pub fn message_json<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(&self.message)
    }

    /// The fire time; `None` when [`time`](Self::time) is not RFC 3339.
    #[cfg(feature = "chrono")]
    pub fn time(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        chrono::DateTime::parse_from_rfc3339(self.time.trim()).ok()
    }
}
