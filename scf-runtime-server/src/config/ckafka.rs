//! A `ckafka` trigger table ([`CkafkaTriggerConfig`]) and its check into the settings a consumer
//! runs with ([`TriggerSettings`]). Loading `scf.toml` runs the check (and refuses two triggers
//! of one function with the same name), so a [`crate::Config`] holds only valid triggers. The
//! keys, the event and the delivery are described in [`crate::kafka`].

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A `ckafka` trigger as written in `scf.toml` (without `type`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CkafkaTriggerConfig {
    /// `name`: the trigger's name (default: the topic).
    #[serde(default)]
    pub name: Option<String>,
    /// `brokers`: bootstrap broker addresses, `host:port`.
    pub brokers: Vec<String>,
    /// `topic`.
    pub topic: String,
    /// `partitions`: which partitions to consume (default: all).
    #[serde(default)]
    pub partitions: Option<Vec<i32>>,
    /// `batch_size`: most messages per event (default 100).
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// `max_wait_s`: longest wait to fill a batch, seconds (default 3).
    #[serde(default)]
    pub max_wait_s: Option<u64>,
    /// `offset`: where to start without a stored offset, `latest` (default) or `earliest`.
    #[serde(default)]
    pub offset: Option<String>,
}

/// `batch_size` when the trigger does not set it.
pub const DEFAULT_BATCH_SIZE: usize = 100;
/// Largest `batch_size` (the platform's `maxMsgNum` limit).
pub const MAX_BATCH_SIZE: usize = 10_000;
/// `max_wait_s` when the trigger does not set it.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(3);
/// Largest `max_wait_s` (the platform's batch window is 1 to 60 s).
pub const MAX_MAX_WAIT_S: u64 = 60;

/// Where a partition without a stored offset starts (`offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// `latest` (the default): only messages produced after the consumer first started.
    Latest,
    /// `earliest`: every message the broker still keeps.
    Earliest,
}

/// One checked `ckafka` trigger of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerSettings {
    /// The function it invokes.
    pub function: String,
    /// The trigger's name: `name`, else the topic.
    pub name: String,
    /// `brokers`, as `host:port`.
    pub brokers: Vec<String>,
    /// `topic`.
    pub topic: String,
    /// `partitions`; `None` consumes every partition of the topic (new ones are picked up).
    pub partitions: Option<Vec<i32>>,
    /// `batch_size`: most messages in one event.
    pub batch_size: usize,
    /// `max_wait_s`: longest time the first message of a batch waits for more.
    pub max_wait: Duration,
    /// `offset`: where a partition without a stored offset starts.
    pub start_at: StartAt,
}

impl TriggerSettings {
    /// Checks one trigger table of `function`.
    pub fn new(
        function: &str,
        config: &CkafkaTriggerConfig,
    ) -> Result<TriggerSettings, SettingsError> {
        let name = config.name.clone().unwrap_or_else(|| config.topic.clone());
        let fail = |key: &'static str, message: String| SettingsError {
            function: function.to_owned(),
            trigger: name.clone(),
            key,
            message,
        };
        if let Some(n) = &config.name
            && (n.is_empty() || n.contains('/'))
        {
            return Err(fail(
                "name",
                format!("must be a non-empty name without '/', got {n:?}"),
            ));
        }
        check_topic(&config.topic).map_err(|m| fail("topic", m))?;
        if config.brokers.is_empty() {
            return Err(fail(
                "brokers",
                "needs at least one broker address (host:port)".into(),
            ));
        }
        for broker in &config.brokers {
            check_broker(broker).map_err(|m| fail("brokers", m))?;
        }
        let partitions = match &config.partitions {
            None => None,
            Some(list) => {
                if list.is_empty() {
                    return Err(fail(
                        "partitions",
                        "is empty; leave it out to consume every partition".into(),
                    ));
                }
                let mut seen = BTreeSet::new();
                for &p in list {
                    if p < 0 {
                        return Err(fail(
                            "partitions",
                            format!("partition numbers start at 0, got {p}"),
                        ));
                    }
                    if !seen.insert(p) {
                        return Err(fail("partitions", format!("lists partition {p} twice")));
                    }
                }
                Some(seen.into_iter().collect())
            }
        };
        let batch_size = match config.batch_size {
            None => DEFAULT_BATCH_SIZE,
            Some(n) if (1..=MAX_BATCH_SIZE).contains(&(n as usize)) => n as usize,
            Some(n) => {
                return Err(fail(
                    "batch_size",
                    format!("must be from 1 to {MAX_BATCH_SIZE}, got {n}"),
                ));
            }
        };
        let max_wait = match config.max_wait_s {
            None => DEFAULT_MAX_WAIT,
            Some(s) if (1..=MAX_MAX_WAIT_S).contains(&s) => Duration::from_secs(s),
            Some(s) => {
                return Err(fail(
                    "max_wait_s",
                    format!("must be from 1 to {MAX_MAX_WAIT_S} seconds, got {s}"),
                ));
            }
        };
        let start_at = match config.offset.as_deref() {
            None => StartAt::Latest,
            Some(s) if s.eq_ignore_ascii_case("latest") => StartAt::Latest,
            Some(s) if s.eq_ignore_ascii_case("earliest") => StartAt::Earliest,
            Some(s) => {
                return Err(fail(
                    "offset",
                    format!(
                        "must be \"latest\" or \"earliest\", got {s:?} (a start timestamp is not supported)"
                    ),
                ));
            }
        };
        Ok(TriggerSettings {
            function: function.to_owned(),
            name,
            brokers: config.brokers.clone(),
            topic: config.topic.clone(),
            partitions,
            batch_size,
            max_wait,
            start_at,
        })
    }

    /// The name its offsets are stored under in the state folder: `<function>/<trigger name>`.
    pub fn consumer_name(&self) -> String {
        format!("{}/{}", self.function, self.name)
    }
}

/// A `ckafka` trigger that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The function.
    pub function: String,
    /// The trigger's name (`name`, else the topic).
    pub trigger: String,
    /// The key at fault, e.g. `brokers`.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "functions.{}.triggers (ckafka {:?}): {}: {}",
            self.function, self.trigger, self.key, self.message
        )
    }
}

impl std::error::Error for SettingsError {}

/// Kafka topic names: 1 to 249 of `[A-Za-z0-9._-]`, not `.` or `..`.
fn check_topic(topic: &str) -> Result<(), String> {
    let ok = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{topic:?} is not a Kafka topic name (1 to 249 of A-Z a-z 0-9 . _ -)"
        ))
    }
}

/// A plaintext bootstrap address: `host:port`.
fn check_broker(broker: &str) -> Result<(), String> {
    if let Some((scheme, _)) = broker.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if scheme.contains("sasl") || scheme.contains("ssl") || scheme.contains("tls") {
            return Err(format!(
                "{broker:?}: SASL and TLS are not supported; the consumer speaks plaintext Kafka only"
            ));
        }
        return Err(format!(
            "{broker:?}: write the address as host:port, without a scheme"
        ));
    }
    let valid = broker
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if valid {
        Ok(())
    } else {
        Err(format!("{broker:?} is not a host:port address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> CkafkaTriggerConfig {
        CkafkaTriggerConfig {
            name: None,
            brokers: vec!["127.0.0.1:9092".into()],
            topic: "orders".into(),
            partitions: None,
            batch_size: None,
            max_wait_s: None,
            offset: None,
        }
    }

    #[test]
    fn defaults() {
        let s = TriggerSettings::new("f", &base()).unwrap();
        assert_eq!(s.name, "orders");
        assert_eq!(s.consumer_name(), "f/orders");
        assert_eq!(s.batch_size, 100);
        assert_eq!(s.max_wait, Duration::from_secs(3));
        assert_eq!(s.start_at, StartAt::Latest);
        assert_eq!(s.partitions, None);
    }

    #[test]
    fn values_are_checked() {
        let bad = |edit: fn(&mut CkafkaTriggerConfig), key: &str, text: &str| {
            let mut c = base();
            edit(&mut c);
            let e = TriggerSettings::new("f", &c).unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(e.to_string().contains(text), "{e}");
            assert!(
                e.to_string().starts_with("functions.f.triggers (ckafka "),
                "{e}"
            );
        };
        bad(|c| c.brokers.clear(), "brokers", "at least one");
        bad(
            |c| c.brokers = vec!["SASL_SSL://k:9093".into()],
            "brokers",
            "SASL and TLS are not supported",
        );
        bad(|c| c.brokers = vec!["k".into()], "brokers", "host:port");
        bad(|c| c.brokers = vec!["k:0".into()], "brokers", "host:port");
        bad(|c| c.topic = "a b".into(), "topic", "not a Kafka topic");
        bad(|c| c.topic = String::new(), "topic", "not a Kafka topic");
        bad(|c| c.partitions = Some(vec![]), "partitions", "is empty");
        bad(
            |c| c.partitions = Some(vec![-1]),
            "partitions",
            "start at 0",
        );
        bad(|c| c.partitions = Some(vec![1, 1]), "partitions", "twice");
        bad(|c| c.batch_size = Some(0), "batch_size", "from 1 to 10000");
        bad(
            |c| c.batch_size = Some(10_001),
            "batch_size",
            "from 1 to 10000",
        );
        bad(|c| c.max_wait_s = Some(0), "max_wait_s", "from 1 to 60");
        bad(|c| c.max_wait_s = Some(61), "max_wait_s", "from 1 to 60");
        bad(
            |c| c.offset = Some("first".into()),
            "offset",
            "\"latest\" or \"earliest\"",
        );
        bad(|c| c.name = Some("a/b".into()), "name", "without '/'");
        let mut c = base();
        c.offset = Some("Earliest".into());
        c.partitions = Some(vec![2, 0]);
        c.batch_size = Some(10_000);
        c.max_wait_s = Some(60);
        let s = TriggerSettings::new("f", &c).unwrap();
        assert_eq!(s.start_at, StartAt::Earliest);
        assert_eq!(s.partitions, Some(vec![0, 2]));
    }
}
