//! MQTT trigger (TDMQ for MQTT): **untyped** until the platform documents its JSON.
//!
//! What is documented: the platform pulls messages matching a topic filter (`+`/`#`) and an
//! optional property filter, invokes the function synchronously with a batch (1 by default, up to
//! 10000), and can base64-encode the message content. The JSON layout itself is not published, so
//! [`MqttEvent`] holds whatever arrives as a `serde_json::Value`, unchanged, and serialises it back
//! as is.
//!
//! ```
//! use scf_events::mqtt::MqttEvent;
//!
//! let event: MqttEvent = serde_json::from_str(r#"{"Records":[{"topic":"home/kitchen"}]}"#).unwrap();
//! assert_eq!(event.0["Records"][0]["topic"], "home/kitchen");
//! assert_eq!(serde_json::to_string(&event).unwrap(), r#"{"Records":[{"topic":"home/kitchen"}]}"#);
//! ```

use serde::{Deserialize, Serialize};

/// An MQTT trigger event, kept as raw JSON (its layout is not documented yet).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MqttEvent(pub serde_json::Value);

impl MqttEvent {
    /// The raw JSON.
    pub fn as_value(&self) -> &serde_json::Value {
        &self.0
    }

    /// The raw JSON, by value.
    pub fn into_value(self) -> serde_json::Value {
        self.0
    }

    /// Reads the event as your own type `T`, for when you know the layout your account receives.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        T::deserialize(&self.0)
    }
}

impl From<serde_json::Value> for MqttEvent {
    fn from(value: serde_json::Value) -> Self {
        Self(value)
    }
}
