//! What each function did lately, for the dashboard (`/ui`): the last [`RECENT`] invocations
//! with their outcome and a log excerpt, and a per-second timeline of the last
//! [`TIMELINE_SECONDS`] with counts and a latency histogram.
//!
//! The invoke path writes one record when an invocation ends, in O(1) and without allocating
//! once the ring is full (the oldest record's buffers are reused), under a lock held only for
//! that copy. Readers take snapshots; nothing here knows how many readers there are.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// How many recent invocations each function keeps.
pub const RECENT: usize = 100;
/// How much of an invocation's log a record keeps (its last bytes).
pub const LOG_EXCERPT_BYTES: usize = 2 * 1024;
/// How many seconds the timeline covers.
pub const TIMELINE_SECONDS: usize = 300;
/// Upper bounds, in milliseconds, of the latency histogram's buckets (a last bucket takes the
/// rest).
pub const LATENCY_BOUNDS_MS: [u64; 13] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000,
];
const BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// One finished (or refused) invocation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InvocationRecord {
    /// The request id (empty when the refusal came before one was given).
    pub request_id: String,
    /// When it ended, Unix milliseconds.
    pub ended_ms: u64,
    /// `200` on success, else the SCF status code (a web function: the HTTP status).
    pub status_code: u16,
    /// The error message (empty on success).
    pub error: String,
    /// Execution time in whole milliseconds, rounded up as in the Report line (zero when nothing
    /// ran).
    pub duration_ms: f64,
    /// Peak resident memory of the instance during the invocation, bytes.
    pub mem_bytes: u64,
    /// Whether it ran on a new instance.
    pub cold_start: bool,
    /// The last [`LOG_EXCERPT_BYTES`] of its log.
    pub log: String,
}

/// What the invoke path reports when an invocation ends (borrowed: nothing is copied until the
/// record is written).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finished<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) status_code: u16,
    pub(crate) error: &'a str,
    pub(crate) duration: Duration,
    pub(crate) mem_bytes: u64,
    pub(crate) cold_start: bool,
    pub(crate) log: &'a str,
}

#[derive(Debug, Clone, Copy, Default)]
struct Second {
    /// The Unix second this slot holds (slots are reused round the ring).
    unix: u64,
    invocations: u32,
    errors: u32,
    cold_starts: u32,
    latency: [u32; BUCKETS],
}

#[derive(Debug)]
struct State {
    recent: VecDeque<InvocationRecord>,
    seconds: Box<[Second]>,
    errors_total: u64,
}

/// One function's recent activity.
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<State>,
}

/// Counts over a window of the timeline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Window {
    /// Seconds covered.
    pub seconds: u64,
    /// Invocations that ended in it.
    pub invocations: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Of those, cold starts.
    pub cold_starts: u64,
}

/// One function's activity at a glance.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActivitySummary {
    /// Invocations per second over the last 10 s.
    pub per_second: f64,
    /// The last minute.
    pub last_minute: Window,
    /// Failed invocations since the server started.
    pub errors_total: u64,
    /// Median duration of the recent invocations that ran, milliseconds.
    pub p50_ms: Option<f64>,
    /// 99th percentile duration of the recent invocations that ran, milliseconds.
    pub p99_ms: Option<f64>,
    /// Highest memory peak among the recent invocations, bytes.
    pub mem_peak_bytes: u64,
    /// When the last invocation ended, Unix milliseconds.
    pub last_ended_ms: Option<u64>,
}

/// One second of the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePoint {
    /// Unix second.
    pub unix: u64,
    /// Invocations that ended in it.
    pub invocations: u32,
    /// Of those, failed.
    pub errors: u32,
}

/// One bucket of the latency histogram.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyBucket {
    /// Upper bound in milliseconds (`None`: the last, open bucket).
    pub le_ms: Option<u64>,
    /// Invocations in it.
    pub count: u64,
}

/// One function's activity in detail.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActivityDetail {
    /// The last invocations, newest first.
    pub recent: Vec<InvocationRecord>,
    /// Every second of the window, oldest first.
    pub timeline: Vec<TimelinePoint>,
    /// Durations over the window.
    pub latency: Vec<LatencyBucket>,
}

fn unix_now() -> (u64, u64) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.as_millis() as u64)
}

fn bucket(duration: Duration) -> usize {
    let ms = duration.as_millis() as u64;
    LATENCY_BOUNDS_MS
        .iter()
        .position(|&bound| ms < bound)
        .unwrap_or(LATENCY_BOUNDS_MS.len())
}

fn tail(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

impl Default for Activity {
    fn default() -> Activity {
        Activity::new()
    }
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            state: Mutex::new(State {
                recent: VecDeque::with_capacity(RECENT),
                seconds: vec![Second::default(); TIMELINE_SECONDS].into_boxed_slice(),
                errors_total: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one ended invocation.
    pub(crate) fn record(&self, done: Finished<'_>) {
        let (unix, ms) = unix_now();
        let failed = done.status_code >= 300;
        let mut st = self.lock();
        let slot = &mut st.seconds[(unix % TIMELINE_SECONDS as u64) as usize];
        if slot.unix != unix {
            *slot = Second {
                unix,
                ..Second::default()
            };
        }
        slot.invocations += 1;
        slot.errors += u32::from(failed);
        slot.cold_starts += u32::from(done.cold_start);
        if !done.duration.is_zero() {
            slot.latency[bucket(done.duration)] += 1;
        }
        st.errors_total += u64::from(failed);
        let mut record = if st.recent.len() >= RECENT {
            st.recent.pop_front().unwrap_or_default()
        } else {
            InvocationRecord::default()
        };
        record.request_id.clear();
        record.request_id.push_str(done.request_id);
        record.ended_ms = ms;
        record.status_code = done.status_code;
        record.error.clear();
        record.error.push_str(tail(done.error, LOG_EXCERPT_BYTES));
        // The figure of the Report line and the X-Scf-Duration-Ms header: whole ms, rounded up.
        record.duration_ms = super::logs::duration_ms(done.duration) as f64;
        record.mem_bytes = done.mem_bytes;
        record.cold_start = done.cold_start;
        record.log.clear();
        record.log.push_str(tail(done.log, LOG_EXCERPT_BYTES));
        st.recent.push_back(record);
    }

    /// Sums the last `seconds` seconds (at most [`TIMELINE_SECONDS`]) up to `now`.
    fn window(st: &State, now: u64, seconds: u64) -> Window {
        let seconds = seconds.min(TIMELINE_SECONDS as u64);
        let mut w = Window {
            seconds,
            ..Window::default()
        };
        for s in st.seconds.iter().filter(|s| s.unix + seconds > now) {
            w.invocations += u64::from(s.invocations);
            w.errors += u64::from(s.errors);
            w.cold_starts += u64::from(s.cold_starts);
        }
        w
    }

    /// The numbers of the functions list.
    pub(crate) fn summary(&self) -> ActivitySummary {
        let (now, _) = unix_now();
        let st = self.lock();
        let last_ten = Self::window(&st, now, 10);
        let mut durations: Vec<f64> = st
            .recent
            .iter()
            .filter(|r| r.duration_ms > 0.0)
            .map(|r| r.duration_ms)
            .collect();
        durations.sort_by(f64::total_cmp);
        ActivitySummary {
            per_second: last_ten.invocations as f64 / 10.0,
            last_minute: Self::window(&st, now, 60),
            errors_total: st.errors_total,
            p50_ms: percentile(&durations, 0.5),
            p99_ms: percentile(&durations, 0.99),
            mem_peak_bytes: st.recent.iter().map(|r| r.mem_bytes).max().unwrap_or(0),
            last_ended_ms: st.recent.back().map(|r| r.ended_ms),
        }
    }

    /// The recent invocations, and the timeline and histogram of the last `seconds`.
    pub(crate) fn detail(&self, seconds: u64) -> ActivityDetail {
        let (now, _) = unix_now();
        let seconds = seconds.clamp(1, TIMELINE_SECONDS as u64);
        let st = self.lock();
        let mut latency = [0u64; BUCKETS];
        let timeline = (now + 1 - seconds..=now)
            .map(|unix| {
                let s = &st.seconds[(unix % TIMELINE_SECONDS as u64) as usize];
                if s.unix != unix {
                    return TimelinePoint {
                        unix,
                        invocations: 0,
                        errors: 0,
                    };
                }
                for (sum, n) in latency.iter_mut().zip(s.latency) {
                    *sum += u64::from(n);
                }
                TimelinePoint {
                    unix,
                    invocations: s.invocations,
                    errors: s.errors,
                }
            })
            .collect();
        ActivityDetail {
            recent: st.recent.iter().rev().cloned().collect(),
            timeline,
            latency: latency
                .iter()
                .enumerate()
                .map(|(i, &count)| LatencyBucket {
                    le_ms: LATENCY_BOUNDS_MS.get(i).copied(),
                    count,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(request_id: &str, status_code: u16, ms: u64) -> Finished<'_> {
        Finished {
            request_id,
            status_code,
            error: if status_code == 200 { "" } else { "it broke" },
            duration: Duration::from_millis(ms),
            mem_bytes: ms * 1000,
            cold_start: false,
            log: "START\nhello\nEND\n",
        }
    }

    #[test]
    fn the_ring_keeps_the_last_hundred_newest_first() {
        let a = Activity::new();
        for i in 0..(RECENT + 20) {
            a.record(done(&format!("r{i}"), 200, 3));
        }
        let d = a.detail(60);
        assert_eq!(d.recent.len(), RECENT);
        assert_eq!(d.recent[0].request_id, format!("r{}", RECENT + 19));
        assert_eq!(d.recent[RECENT - 1].request_id, "r20");
        assert_eq!(d.recent[0].log, "START\nhello\nEND\n");
    }

    #[test]
    fn errors_durations_and_the_histogram_add_up() {
        let a = Activity::new();
        a.record(done("a", 200, 3));
        a.record(done("b", 430, 40));
        a.record(done("c", 200, 7));
        let s = a.summary();
        assert_eq!(s.last_minute.invocations, 3);
        assert_eq!(s.last_minute.errors, 1);
        assert_eq!(s.errors_total, 1);
        assert_eq!(s.p50_ms, Some(7.0));
        assert_eq!(s.p99_ms, Some(40.0));
        assert_eq!(s.mem_peak_bytes, 40_000);
        let d = a.detail(60);
        assert_eq!(d.timeline.len(), 60);
        let counted: u32 = d.timeline.iter().map(|p| p.invocations).sum();
        assert_eq!(counted, 3);
        let in_buckets: u64 = d.latency.iter().map(|b| b.count).sum();
        assert_eq!(in_buckets, 3);
        // 3 ms and 7 ms fall under 5 ms and 10 ms, 40 ms under 50 ms.
        let le = |ms| {
            d.latency
                .iter()
                .find(|b| b.le_ms == Some(ms))
                .unwrap()
                .count
        };
        assert_eq!((le(5), le(10), le(50)), (1, 1, 1));
    }

    #[test]
    fn a_log_excerpt_is_bounded_at_a_char_boundary() {
        let a = Activity::new();
        let log = "é".repeat(LOG_EXCERPT_BYTES);
        a.record(Finished {
            log: &log,
            ..done("x", 200, 1)
        });
        let kept = &a.detail(1).recent[0].log;
        assert!(kept.len() <= LOG_EXCERPT_BYTES && kept.len() >= LOG_EXCERPT_BYTES - 1);
    }
}
