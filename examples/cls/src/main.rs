//! CLS: counts the log lines a CLS trigger ships by level and lists the errors.
//!
//! Shows the CLS payload handling: on the wire `clslogs.data` is base64 of gzip-compressed JSON;
//! `ClsEvent` decodes it while the event is parsed, so the handler reads plain records (a payload
//! that does not decode fails before the handler, with a message naming the step). Each line's
//! level comes from a JSON line's `level` field, a leading level word (`ERROR …`, `[warn] …`), or
//! the status of an access-log line (`GET /index.html 200`: 5xx is an error, 4xx a warning);
//! anything else counts as `unknown`.
//!
//! Try it: `cargo run -p scf-runtime-server -- serve` hosts it as `cls`, then
//! `cargo run -p scf-runtime-server -- invoke cls --event cls:multi-record`, or
//! `curl --data-binary @scf-events/fixtures/cls-multi-record.json http://127.0.0.1:9000/functions/cls/invocations`.

use std::collections::BTreeMap;

use scf::events::cls::{ClsEvent, ClsRecord};
use serde::{Deserialize, Serialize};

/// A level, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `error`, `err`, `fatal`, `critical`, `panic`; HTTP 5xx.
    Error,
    /// `warn`, `warning`; HTTP 4xx.
    Warn,
    /// `info`, `notice`; HTTP 1xx to 3xx.
    Info,
    /// `debug`, `trace`.
    Debug,
    /// No level found.
    Unknown,
}

impl Level {
    fn from_word(word: &str) -> Option<Level> {
        match word.to_ascii_lowercase().as_str() {
            "error" | "err" | "fatal" | "critical" | "panic" => Some(Level::Error),
            "warn" | "warning" => Some(Level::Warn),
            "info" | "notice" => Some(Level::Info),
            "debug" | "trace" => Some(Level::Debug),
            _ => None,
        }
    }

    fn from_status(status: u16) -> Option<Level> {
        match status {
            100..=399 => Some(Level::Info),
            400..=499 => Some(Level::Warn),
            500..=599 => Some(Level::Error),
            _ => None,
        }
    }
}

/// The level of one log line.
pub fn level_of(line: &str) -> Level {
    #[derive(Deserialize)]
    struct Structured {
        level: String,
    }
    let line = line.trim();
    if let Ok(Structured { level }) = serde_json::from_str::<Structured>(line) {
        return Level::from_word(&level).unwrap_or(Level::Unknown);
    }
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or_default();
    if let Some(level) = Level::from_word(first.trim_matches(|c| matches!(c, '[' | ']' | ':'))) {
        return level;
    }
    // An access-log line: `METHOD /path STATUS …`.
    let is_method = !first.is_empty() && first.bytes().all(|b| b.is_ascii_uppercase());
    if let (true, Some(path), Some(status)) = (is_method, words.next(), words.next())
        && path.starts_with('/')
        && let Some(level) = status.parse().ok().and_then(Level::from_status)
    {
        return level;
    }
    Level::Unknown
}

/// An error line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorLine {
    /// When it was logged, microseconds since the epoch.
    pub timestamp_micros: Option<i64>,
    /// The line.
    pub line: String,
}

/// The answer for one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogReport {
    /// The log topic.
    pub topic_name: String,
    /// Lines in the batch.
    pub lines: usize,
    /// Lines per level (levels with no line are left out).
    pub by_level: BTreeMap<Level, usize>,
    /// The error lines, in order.
    pub errors: Vec<ErrorLine>,
    /// The earliest and latest timestamps, microseconds since the epoch.
    pub span_micros: Option<(i64, i64)>,
}

/// Counts the batch's lines by level.
#[scf::function]
pub fn handler(event: ClsEvent, ctx: &scf::Context) -> LogReport {
    let logs = event.logs();
    let mut by_level = BTreeMap::new();
    let mut errors = Vec::new();
    for record in &logs.records {
        let level = level_of(&record.content);
        *by_level.entry(level).or_default() += 1;
        if level == Level::Error {
            errors.push(ErrorLine {
                timestamp_micros: record.timestamp_micros(),
                line: record.content.clone(),
            });
        }
    }
    let times = logs.records.iter().filter_map(ClsRecord::timestamp_micros);
    let span_micros = times.clone().min().zip(times.max());
    scf::tracing::info!(
        request_id = ctx.request_id(),
        topic = %logs.topic_name,
        lines = logs.records.len(),
        errors = errors.len(),
        "logs counted"
    );
    LogReport {
        topic_name: logs.topic_name.clone(),
        lines: logs.records.len(),
        by_level,
        errors,
        span_micros,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf::events::cls::ClsLogs;

    fn fixture(name: &str) -> ClsEvent {
        let raw = scf::events::fixtures::get(name).expect("the fixture is bundled");
        serde_json::from_str(raw).unwrap()
    }

    #[test]
    fn an_access_log_batch_with_one_structured_error() {
        let report = handler(fixture("cls-multi-record"), &scf::Context::default());
        assert_eq!(report.topic_name, "web-access");
        assert_eq!(report.lines, 3);
        assert_eq!(
            report.by_level,
            BTreeMap::from([(Level::Error, 1), (Level::Info, 2)])
        );
        assert_eq!(
            report.errors,
            [ErrorLine {
                timestamp_micros: Some(1_605_578_090_123_456),
                line: r#"{"level":"error","msg":"upstream timeout","latency_ms":5003}"#.into(),
            }]
        );
        assert_eq!(
            report.span_micros,
            Some((1_605_578_090_000_000, 1_605_578_091_000_001))
        );
    }

    #[test]
    fn a_line_without_a_level_is_unknown() {
        let report = handler(fixture("cls-doc"), &scf::Context::default());
        assert_eq!(report.by_level, BTreeMap::from([(Level::Unknown, 1)]));
        assert!(report.errors.is_empty());
    }

    #[test]
    fn levels_from_words_json_and_statuses() {
        for (line, level) in [
            ("ERROR disk full", Level::Error),
            ("[warn] slow query", Level::Warn),
            ("Fatal: out of memory", Level::Error),
            (r#"{"level":"DEBUG","msg":"x"}"#, Level::Debug),
            (r#"{"level":"verbose"}"#, Level::Unknown),
            ("GET /health 204 1ms", Level::Info),
            ("DELETE /items/7 404", Level::Warn),
            ("POST /api/pay 503", Level::Error),
            ("GET /api 999", Level::Unknown),
            ("errors are fine", Level::Unknown),
            ("", Level::Unknown),
        ] {
            assert_eq!(level_of(line), level, "{line:?}");
        }
    }

    #[test]
    fn a_batch_built_here_goes_through_base64_and_gzip() {
        let logs: ClsLogs = serde_json::from_value(serde_json::json!({
            "topic_id": "t-1",
            "topic_name": "payments",
            "records": [
                {"timestamp": "1700000000000002", "content": "ERROR card declined"},
                {"timestamp": "not a time", "content": "POST /pay 502"},
                {"timestamp": "1700000000000001", "content": "INFO started"},
            ],
        }))
        .unwrap();
        // What the trigger sends: `data` is base64 of gzip.
        let wire = serde_json::to_string(&ClsEvent::from_logs(logs)).unwrap();
        assert!(!wire.contains("card declined"), "{wire}");
        let event: ClsEvent = serde_json::from_str(&wire).unwrap();

        let report = handler(event, &scf::Context::default());
        assert_eq!(
            report.by_level,
            BTreeMap::from([(Level::Error, 2), (Level::Info, 1)])
        );
        assert_eq!(report.errors[1].timestamp_micros, None);
        assert_eq!(
            report.span_micros,
            Some((1_700_000_000_000_001, 1_700_000_000_000_002))
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["by_level"], serde_json::json!({"error": 2, "info": 1}));
    }

    #[test]
    fn a_payload_that_does_not_decode_never_reaches_the_handler() {
        let err = serde_json::from_str::<ClsEvent>(r#"{"clslogs":{"data":"%%% not base64"}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
    }
}
