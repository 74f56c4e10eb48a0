//! Time for the queue and its policy: the wall clock, or a scaled one for tests.
//!
//! Every time the queue stores (created, due, ended) is a Unix time in milliseconds read from a
//! [`Clock`], and every wait is a span of that clock turned into a real wait by
//! [`Clock::real_duration`]. With a [`ScaledClock`] of factor 600, SCF's 60 s retry interval passes
//! in 100 ms of real time, so tests check intervals, backoff and the max event age quickly.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time for the durable queue.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Now, as Unix milliseconds on this clock.
    fn now_ms(&self) -> u64;

    /// How long to really wait for `span` of this clock to pass.
    fn real_duration(&self, span: Duration) -> Duration {
        span
    }
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        unix_ms(SystemTime::now())
    }
}

/// A clock that runs `scale` times faster than real time, starting at a given Unix time.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    origin: Instant,
    origin_ms: u64,
    scale: f64,
}

impl ScaledClock {
    /// Starts now (the wall clock's time) and runs `scale` times faster (`scale` ≥ 1 speeds up).
    ///
    /// # Panics
    /// If `scale` is not a finite number above zero (a programming error).
    pub fn new(scale: f64) -> ScaledClock {
        ScaledClock::starting_at(unix_ms(SystemTime::now()), scale)
    }

    /// Starts at `origin_ms` (Unix ms), e.g. where an earlier clock of a test left off.
    ///
    /// # Panics
    /// If `scale` is not a finite number above zero (a programming error).
    pub fn starting_at(origin_ms: u64, scale: f64) -> ScaledClock {
        assert!(
            scale.is_finite() && scale > 0.0,
            "ScaledClock: scale must be a finite number above 0, got {scale}"
        );
        ScaledClock {
            origin: Instant::now(),
            origin_ms,
            scale,
        }
    }

    /// The speed-up factor.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl Clock for ScaledClock {
    fn now_ms(&self) -> u64 {
        let elapsed = self.origin.elapsed().as_secs_f64() * 1000.0 * self.scale;
        self.origin_ms + elapsed as u64
    }

    fn real_duration(&self, span: Duration) -> Duration {
        span.div_f64(self.scale)
    }
}

/// `time` as Unix milliseconds (0 before 1970).
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Formats Unix milliseconds as SCF's Cloud API does: `%Y-%m-%d %H:%M:%S.%f` in UTC
/// (`2026-05-01 12:00:00.250000`).
pub fn format_scf_time(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

/// Parses SCF's Cloud API time (`%Y-%m-%d %H:%M:%S` with optional fractional seconds, UTC) into
/// Unix milliseconds.
pub fn parse_scf_time(text: &str) -> Result<u64, String> {
    let parsed = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|e| format!("{text:?} is not a time like \"2026-05-01 12:00:00\": {e}"))?;
    u64::try_from(parsed.and_utc().timestamp_millis())
        .map_err(|_| format!("{text:?} is before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_faster_and_shrinks_waits() {
        let clock = ScaledClock::starting_at(1_000_000, 1000.0);
        assert_eq!(
            clock.real_duration(Duration::from_secs(60)),
            Duration::from_millis(60)
        );
        std::thread::sleep(Duration::from_millis(20));
        let advanced = clock.now_ms() - 1_000_000;
        assert!(
            advanced >= 20_000,
            "20 ms real at x1000 is at least 20 s, got {advanced} ms"
        );
    }

    #[test]
    fn scf_times_round_trip() {
        let ms = 1_777_636_800_250;
        let text = format_scf_time(ms);
        assert_eq!(text, "2026-05-01 12:00:00.250000");
        assert_eq!(parse_scf_time(&text), Ok(ms));
        assert_eq!(parse_scf_time("2026-05-01 12:00:00"), Ok(ms - 250));
        assert!(
            parse_scf_time("yesterday")
                .unwrap_err()
                .contains("yesterday")
        );
    }
}
