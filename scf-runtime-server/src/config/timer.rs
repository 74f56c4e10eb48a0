//! A `timer` trigger table ([`TimerTriggerConfig`]) and its check into the schedule the timer
//! connector runs ([`TimerTrigger`]); the keys, the event and the delivery are described in
//! [`crate::triggers::timer`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use scf_events::timer::cron::Cron;
use serde::Deserialize;

/// Longest `Message` the platform accepts, bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// A `timer` trigger as written in `scf.toml` (without `type`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerTriggerConfig {
    /// The trigger's name (`TriggerName`).
    pub name: String,
    /// The cron expression.
    pub cron: String,
    /// The message (`Message`), default `""`.
    #[serde(default)]
    pub message: Option<String>,
    /// IANA time zone the cron is read in, default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A checked timer trigger of one function.
#[derive(Debug, Clone)]
pub struct TimerTrigger {
    /// The function it invokes.
    pub function: String,
    /// `TriggerName`.
    pub name: String,
    /// The schedule.
    pub cron: Cron,
    /// `Message`.
    pub message: String,
    /// The zone the cron is read in.
    pub timezone: Tz,
}

/// A timer trigger config that cannot be used; the message starts with the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerConfigError {
    /// The config key at fault.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TimerConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for TimerConfigError {}

impl TimerTrigger {
    /// Checks a trigger's config: the name's form, the cron, the message size and the time zone.
    pub fn new(
        function: &str,
        config: &TimerTriggerConfig,
    ) -> Result<TimerTrigger, TimerConfigError> {
        let err = |key, message: String| Err(TimerConfigError { key, message });
        let name = &config.name;
        let valid_name = name.len() <= 60
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return err(
                "name",
                format!(
                    "{name:?} must be 1 to 60 characters of letters, digits, '_' or '-', starting with a letter"
                ),
            );
        }
        let cron = match Cron::parse(&config.cron) {
            Ok(cron) => cron,
            Err(e) => return err("cron", e.to_string()),
        };
        let message = config.message.clone().unwrap_or_default();
        if message.len() > MAX_MESSAGE_BYTES {
            return err(
                "message",
                format!(
                    "{} bytes is more than the platform's {MAX_MESSAGE_BYTES}-byte limit",
                    message.len()
                ),
            );
        }
        let timezone = match config.timezone.as_deref() {
            None => Tz::UTC,
            Some(zone) => match zone.parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    return err(
                        "timezone",
                        format!(
                            "{zone:?} is not an IANA time zone name like \"UTC\" or \"Asia/Shanghai\""
                        ),
                    );
                }
            },
        };
        Ok(TimerTrigger {
            function: function.to_owned(),
            name: name.clone(),
            cron,
            message,
            timezone,
        })
    }

    /// The first fire time strictly after `after`.
    pub fn next_fire(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .next_after(&after.with_timezone(&self.timezone))
            .map(|t| t.with_timezone(&Utc))
    }

    /// The next `n` fire times strictly after `after` (fewer if the schedule ends).
    pub fn next_fires(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.cron
            .iter_after(after.with_timezone(&self.timezone))
            .take(n)
            .map(|t| t.with_timezone(&Utc))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{SecondsFormat, TimeZone as _};

    fn config(cron: &str) -> TimerTriggerConfig {
        TimerTriggerConfig {
            name: "every".into(),
            cron: cron.into(),
            message: Some("tick".into()),
            timezone: None,
        }
    }

    #[test]
    fn seven_and_five_field_schedules() {
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 30).unwrap();
        let t = TimerTrigger::new("f", &config("*/10 * * * * * *")).unwrap();
        let fires: Vec<String> = t
            .next_fires(start, 3)
            .into_iter()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .collect();
        assert_eq!(
            fires,
            [
                "2024-01-01T00:00:40Z",
                "2024-01-01T00:00:50Z",
                "2024-01-01T00:01:00Z"
            ]
        );
        let t = TimerTrigger::new("f", &config("*/15 * * * *")).unwrap();
        let fires: Vec<String> = t
            .next_fires(start, 2)
            .into_iter()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .collect();
        assert_eq!(fires, ["2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z"]);
    }

    #[test]
    fn bad_configs_name_the_key() {
        let mut c = config("0 0 9 * * * *");
        c.timezone = Some("Mars/Olympus".into());
        assert_eq!(TimerTrigger::new("f", &c).unwrap_err().key, "timezone");
        assert_eq!(
            TimerTrigger::new("f", &config("* * *")).unwrap_err().key,
            "cron"
        );
        let mut c = config("* * * * *");
        c.name = "9lives".into();
        assert_eq!(TimerTrigger::new("f", &c).unwrap_err().key, "name");
        let mut c = config("* * * * *");
        c.message = Some("x".repeat(MAX_MESSAGE_BYTES + 1));
        assert_eq!(TimerTrigger::new("f", &c).unwrap_err().key, "message");
    }
}
