//! `GET /metrics`: the server's Prometheus metrics (OpenMetrics text).
//!
//! | Metric | Type | Labels | Meaning |
//! |---|---|---|---|
//! | `scf_invocations_total` | counter | `function` | invocations asked for (sync, and async when they run or are refused; a web function's requests) |
//! | `scf_errors_total` | counter | `function`, `code` | failed invocations by SCF status code |
//! | `scf_throttles_total` | counter | `function` | invocations refused with 432 |
//! | `scf_async_accepted_total` | counter | `function` | async invocations accepted |
//! | `scf_cold_starts_total` | counter | `function` | invocations that ran on a new instance |
//! | `scf_init_failures_total` | counter | `function`, `code` | instance starts that failed (405, 450, 437) |
//! | `scf_init_duration_seconds` | histogram | `function` | spawn to ready |
//! | `scf_duration_seconds` | histogram | `function` | dispatch to first result (a web request: arrival to answer) |
//! | `scf_instances` | gauge | `function`, `state` (`starting`, `idle`, `busy`, `stopping`) | instances now |
//! | `scf_queued` | gauge | `function` | invocations waiting for an instance now |

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::fault::Fault;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabel {
    function: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    function: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    function: String,
    state: String,
}

/// Counts of one function's instances and queue.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PoolCounts {
    /// Instances starting.
    pub starting: usize,
    /// Instances idle.
    pub idle: usize,
    /// Instances busy.
    pub busy: usize,
    /// Instances being stopped.
    pub stopping: usize,
    /// Invocations waiting for an instance.
    pub queued: usize,
}

impl PoolCounts {
    /// Adds `other`'s counts (several pools of one function: its versions).
    pub fn add(&mut self, other: &PoolCounts) {
        self.starting += other.starting;
        self.idle += other.idle;
        self.busy += other.busy;
        self.stopping += other.stopping;
        self.queued += other.queued;
    }
}

fn histogram() -> Histogram {
    // 1 ms .. about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

type HistogramFamily = Family<FunctionLabel, Histogram, fn() -> Histogram>;

/// The metrics of one server.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    invocations: Family<FunctionLabel, Counter>,
    errors: Family<CodeLabels, Counter>,
    throttles: Family<FunctionLabel, Counter>,
    async_accepted: Family<FunctionLabel, Counter>,
    cold_starts: Family<FunctionLabel, Counter>,
    init_failures: Family<CodeLabels, Counter>,
    init_duration: HistogramFamily,
    duration: HistogramFamily,
    instances: Family<StateLabels, Gauge>,
    queued: Family<FunctionLabel, Gauge>,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::default();
        let invocations = Family::default();
        let errors = Family::default();
        let throttles = Family::default();
        let async_accepted = Family::default();
        let cold_starts = Family::default();
        let init_failures = Family::default();
        let init_duration = HistogramFamily::new_with_constructor(histogram);
        let duration = HistogramFamily::new_with_constructor(histogram);
        let instances = Family::default();
        let queued = Family::default();
        registry.register(
            "scf_invocations",
            "Invocations asked for",
            invocations.clone(),
        );
        registry.register(
            "scf_errors",
            "Failed invocations by SCF status code",
            errors.clone(),
        );
        registry.register(
            "scf_throttles",
            "Invocations refused with 432",
            throttles.clone(),
        );
        registry.register(
            "scf_async_accepted",
            "Async invocations accepted",
            async_accepted.clone(),
        );
        registry.register(
            "scf_cold_starts",
            "Invocations that ran on a new instance",
            cold_starts.clone(),
        );
        registry.register(
            "scf_init_failures",
            "Instance starts that failed, by code",
            init_failures.clone(),
        );
        registry.register(
            "scf_init_duration_seconds",
            "Instance start: spawn to ready",
            init_duration.clone(),
        );
        registry.register(
            "scf_duration_seconds",
            "Execution: dispatch to first result",
            duration.clone(),
        );
        registry.register("scf_instances", "Instances by state", instances.clone());
        registry.register(
            "scf_queued",
            "Invocations waiting for an instance",
            queued.clone(),
        );
        Metrics {
            registry,
            invocations,
            errors,
            throttles,
            async_accepted,
            cold_starts,
            init_failures,
            init_duration,
            duration,
            instances,
            queued,
        }
    }

    fn label(function: &str) -> FunctionLabel {
        FunctionLabel {
            function: function.to_owned(),
        }
    }

    pub(crate) fn invocation(&self, function: &str) {
        self.invocations.get_or_create(&Self::label(function)).inc();
    }

    pub(crate) fn error(&self, function: &str, code: u16) {
        self.errors
            .get_or_create(&CodeLabels {
                function: function.to_owned(),
                code: code.to_string(),
            })
            .inc();
        if code == Fault::Throttled.code() {
            self.throttles.get_or_create(&Self::label(function)).inc();
        }
    }

    pub(crate) fn async_accepted(&self, function: &str) {
        self.async_accepted
            .get_or_create(&Self::label(function))
            .inc();
    }

    pub(crate) fn cold_start(&self, function: &str) {
        self.cold_starts.get_or_create(&Self::label(function)).inc();
    }

    pub(crate) fn init_failure(&self, function: &str, code: u16) {
        self.init_failures
            .get_or_create(&CodeLabels {
                function: function.to_owned(),
                code: code.to_string(),
            })
            .inc();
    }

    pub(crate) fn init_duration(&self, function: &str, d: Duration) {
        self.init_duration
            .get_or_create(&Self::label(function))
            .observe(d.as_secs_f64());
    }

    pub(crate) fn duration(&self, function: &str, d: Duration) {
        self.duration
            .get_or_create(&Self::label(function))
            .observe(d.as_secs_f64());
    }

    /// `scf_invocations_total` of `function`.
    pub(crate) fn invocations_total(&self, function: &str) -> u64 {
        self.invocations.get_or_create(&Self::label(function)).get()
    }

    /// `scf_cold_starts_total` of `function`.
    pub(crate) fn cold_starts_total(&self, function: &str) -> u64 {
        self.cold_starts.get_or_create(&Self::label(function)).get()
    }

    pub(crate) fn set_counts(&self, function: &str, counts: &PoolCounts) {
        for (state, n) in [
            ("starting", counts.starting),
            ("idle", counts.idle),
            ("busy", counts.busy),
            ("stopping", counts.stopping),
        ] {
            self.instances
                .get_or_create(&StateLabels {
                    function: function.to_owned(),
                    state: state.to_owned(),
                })
                .set(n as i64);
        }
        self.queued
            .get_or_create(&Self::label(function))
            .set(counts.queued as i64);
    }

    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_up_in_the_text() {
        let m = Metrics::new();
        m.invocation("echo");
        m.invocation("echo");
        m.error("echo", 432);
        m.duration("echo", Duration::from_millis(3));
        let text = m.encode();
        assert!(
            text.contains("scf_invocations_total{function=\"echo\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("scf_errors_total{function=\"echo\",code=\"432\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("scf_throttles_total{function=\"echo\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("scf_duration_seconds_count{function=\"echo\"} 1"),
            "{text}"
        );
    }
}
