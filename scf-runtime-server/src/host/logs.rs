//! Function logs: instance output split into lines, kept per invocation for `LogType: Tail`, and
//! written through `tracing` (target `scf::function`) tagged with the function, the instance and
//! the request id; the platform's own lines (`START`, `END`, `Report`, …) use the same target.

use std::fmt::Write as _;
use std::time::Duration;

use tokio::net::unix::pipe;

/// How much of an invocation's log `LogType: Tail` returns, bytes.
pub(crate) const TAIL_BYTES: usize = 4 * 1024;
/// How much of one invocation's log is kept in memory, bytes (older lines are dropped).
const KEEP_BYTES: usize = 64 * 1024;
/// Longest line; longer output is split.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// The log of one invocation (or one instance's init), newest last, bounded.
#[derive(Debug, Default, Clone)]
pub(crate) struct LogBuf {
    text: String,
}

impl LogBuf {
    /// Appends one line.
    pub(crate) fn push(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
        if self.text.len() > KEEP_BYTES {
            let mut cut = self.text.len() - KEEP_BYTES;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }

    /// Appends all of `other`.
    pub(crate) fn append(&mut self, other: &LogBuf) {
        for line in other.text.lines() {
            self.push(line);
        }
    }

    /// The last `TAIL_BYTES` bytes, starting at a character boundary.
    pub(crate) fn tail(&self) -> String {
        let mut start = self.text.len().saturating_sub(TAIL_BYTES);
        while !self.text.is_char_boundary(start) {
            start += 1;
        }
        self.text[start..].to_owned()
    }
}

/// Most output of one invocation written to the server log, bytes; past it one truncation
/// marker, then nothing until the next invocation.
pub(crate) const MAX_INVOCATION_LOG_BYTES: usize = 1024 * 1024;
/// Output one instance may write to the server log per second, sustained, bytes (bursts of up to
/// [`LOG_BURST_BYTES`]); past it, lines are dropped with one marker.
pub(crate) const LOG_RATE_BYTES_PER_S: f64 = 512.0 * 1024.0;
/// The burst [`LOG_RATE_BYTES_PER_S`] allows.
pub(crate) const LOG_BURST_BYTES: f64 = 2.0 * 1024.0 * 1024.0;

/// What an instance's output may still take of the server log: the invocation's share and the
/// instance's rate (a token bucket).
#[derive(Debug)]
pub(crate) struct OutputBudget {
    invocation_used: usize,
    truncated: bool,
    throttled: bool,
    tokens: f64,
    refilled: std::time::Instant,
    dropped: u64,
}

impl Default for OutputBudget {
    fn default() -> Self {
        OutputBudget {
            invocation_used: 0,
            truncated: false,
            throttled: false,
            tokens: LOG_BURST_BYTES,
            refilled: std::time::Instant::now(),
            dropped: 0,
        }
    }
}

impl OutputBudget {
    /// A new invocation starts: its share is whole again.
    pub(crate) fn start_invocation(&mut self) {
        self.invocation_used = 0;
        self.truncated = false;
    }

    /// Lines dropped so far.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// What to log for output `line`: the line, a marker saying the rest is dropped, or nothing.
    pub(crate) fn admit<'a>(&mut self, line: &'a str) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        if self.truncated {
            self.dropped += 1;
            return None;
        }
        let cost = line.len() + 1;
        self.invocation_used = self.invocation_used.saturating_add(cost);
        if self.invocation_used > MAX_INVOCATION_LOG_BYTES {
            self.truncated = true;
            self.dropped += 1;
            return Some(Cow::Owned(format!(
                "[log truncated: this invocation wrote more than {} KB; the rest of its output is not logged]",
                MAX_INVOCATION_LOG_BYTES / 1024
            )));
        }
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + elapsed * LOG_RATE_BYTES_PER_S).min(LOG_BURST_BYTES);
        if self.tokens < cost as f64 {
            self.dropped += 1;
            if self.throttled {
                return None;
            }
            self.throttled = true;
            return Some(Cow::Owned(format!(
                "[log rate-limited: this instance writes more than {} KB/s; lines are dropped until it slows down]",
                LOG_RATE_BYTES_PER_S as u64 / 1024
            )));
        }
        self.tokens -= cost as f64;
        self.throttled = false;
        Some(Cow::Borrowed(line))
    }
}

/// Splits a byte stream into lines (lossy UTF-8, `\r\n` trimmed, long lines split).
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `bytes`; returns the complete lines.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(i) = self.pending[start..].iter().position(|b| *b == b'\n') {
            lines.push(line_text(&self.pending[start..start + i]));
            start += i + 1;
        }
        self.pending.drain(..start);
        while self.pending.len() >= MAX_LINE_BYTES {
            let rest = self.pending.split_off(MAX_LINE_BYTES);
            lines.push(line_text(&self.pending));
            self.pending = rest;
        }
        lines
    }

    /// What is left without a final newline.
    pub(crate) fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            None
        } else {
            let line = line_text(&self.pending);
            self.pending.clear();
            Some(line)
        }
    }
}

fn line_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// The most one read takes from a pipe.
const PIPE_CHUNK: usize = 16 * 1024;

/// Reads what is available from a pipe into `buf`, which it empties first; returns how many
/// bytes, 0 at end of file. The only await is for readiness, so this is cancel-safe. `buf` is
/// kept for the pipe's life with [`PIPE_CHUNK`] of capacity and read into without zeroing.
///
/// Readiness is polled with `poll_read_ready` (the pipe's one reader slot) rather than
/// `readable()`, whose waiter is queued and unqueued on every turn of the supervisor's loop.
pub(crate) async fn read_chunk(pipe: &pipe::Receiver, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    loop {
        std::future::poll_fn(|cx| pipe.poll_read_ready(cx)).await?;
        buf.clear();
        buf.reserve(PIPE_CHUNK);
        match pipe.try_read_buf(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reads everything already in a pipe, bypassing the reactor's readiness cache, so output written
/// before a runtime API call is attributed to the invocation that call ends.
pub(crate) fn drain_now(pipe: &pipe::Receiver) -> Vec<u8> {
    // Zeroed once per thread, not per call: this runs on every result post.
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|buf| {
        if buf.len() < PIPE_CHUNK {
            buf.resize(PIPE_CHUNK, 0);
        }
        let mut out = Vec::new();
        while out.len() < 8 * 1024 * 1024 {
            match nix::unistd::read(pipe, buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    })
}

/// Logs every line `pipe` carries (see [`emit`]) until it closes: the output of an instance whose
/// lines belong to no invocation (a web instance's).
pub(crate) async fn pump(pipe: pipe::Receiver, function: String, instance: u64) {
    let mut lines = LineSplitter::default();
    let mut budget = OutputBudget::default();
    let mut buf = Vec::new();
    while let Ok(n @ 1..) = read_chunk(&pipe, &mut buf).await {
        for line in lines.feed(&buf[..n]) {
            // A web instance's output belongs to no invocation: only the rate applies.
            budget.start_invocation();
            if let Some(line) = budget.admit(&line) {
                emit(&function, instance, None, &line);
            }
        }
    }
    if let Some(line) = lines.finish()
        && let Some(line) = budget.admit(&line)
    {
        emit(&function, instance, None, &line);
    }
}

/// Writes one line of function output (or a platform line) through `tracing`.
pub(crate) fn emit(function: &str, instance: u64, request_id: Option<&str>, line: &str) {
    tracing::info!(
        target: "scf::function",
        function,
        instance,
        request_id = request_id.unwrap_or("-"),
        "{line}"
    );
}

/// An invocation's duration as every figure shows it (the `Report` line's `Duration:`, the invoke
/// API's `X-Scf-Duration-Ms`, `cargo scf invoke`, the Cloud API's `BillDuration`): whole
/// milliseconds rounded up, as SCF bills them.
pub(crate) fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// `Report RequestId:<id> Duration:<ms>ms Memory:<MB>MB MemUsage:<MB>MB`.
pub(crate) fn report_line(
    request_id: &str,
    duration_ms: u64,
    memory_mb: u32,
    mem_bytes: u64,
) -> String {
    let mut line = String::with_capacity(96 + request_id.len());
    line.push_str("Report RequestId:");
    line.push_str(request_id);
    let _ = write!(
        line,
        " Duration:{duration_ms}ms Memory:{memory_mb}MB MemUsage:"
    );
    push_megabytes(&mut line, mem_bytes);
    line.push_str("MB");
    line
}

/// Appends [`megabytes`] as `f64`'s `Display` writes it (`29.734375`, `2`), with integer
/// arithmetic: a whole number of KiB over 1024 has at most 10 decimals, all of them exact.
fn push_megabytes(out: &mut String, bytes: u64) {
    let kib = bytes / 1024;
    let _ = write!(out, "{}", kib / 1024);
    // The fraction in units of 10^-10 MB: (kib % 1024) / 1024 = n × 9,765,625 / 10^10.
    let mut fraction = (kib % 1024) * 9_765_625;
    if fraction == 0 {
        return;
    }
    let mut digits = 10;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        digits -= 1;
    }
    let _ = write!(out, ".{fraction:0digits$}");
}

/// `Init Report RequestId:<id> InitDuration: <ms>ms Duration: <ms>ms Memory: <MB>MB MemUsage: <MB>MB`.
pub(crate) fn init_report_line(
    request_id: &str,
    init_ms: u64,
    memory_mb: u32,
    mem_bytes: u64,
) -> String {
    format!(
        "Init Report RequestId:{request_id} InitDuration: {init_ms}ms Duration: {init_ms}ms Memory: {memory_mb}MB MemUsage: {}MB",
        megabytes(mem_bytes)
    )
}

/// Bytes as MB with the platform's precision (`29.734375`).
pub(crate) fn megabytes(bytes: u64) -> f64 {
    // Rounded to 1/1024 MB (1 KiB), which is what /proc reports anyway.
    (bytes / 1024) as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn megabytes_are_written_as_f64_writes_them() {
        let mut values: Vec<u64> = (0..5000).map(|k| k * 1024).collect();
        values.extend((0..2000u64).map(|i| i * 7_340_033 + 1023));
        values.extend([u64::from(u32::MAX) * 1024, 31_178_752, 2 * 1024 * 1024]);
        for bytes in values {
            let mut ours = String::new();
            push_megabytes(&mut ours, bytes);
            assert_eq!(ours, megabytes(bytes).to_string(), "{bytes} bytes");
        }
    }

    #[test]
    fn lines_split_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.feed(b"hel"), Vec::<String>::new());
        assert_eq!(s.feed(b"lo\r\nwor"), ["hello"]);
        assert_eq!(s.feed(b"ld\n\n"), ["world", ""]);
        assert_eq!(s.feed(b"tail"), Vec::<String>::new());
        assert_eq!(s.finish().as_deref(), Some("tail"));
        assert_eq!(s.finish(), None);
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let lines = s.feed(&long);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), MAX_LINE_BYTES);
        assert_eq!(s.finish().unwrap().len(), 10);
    }

    #[test]
    fn durations_are_whole_milliseconds_rounded_up() {
        assert_eq!(duration_ms(Duration::ZERO), 0);
        assert_eq!(duration_ms(Duration::from_micros(221)), 1);
        assert_eq!(duration_ms(Duration::from_micros(1000)), 1);
        assert_eq!(duration_ms(Duration::from_micros(1001)), 2);
    }

    #[test]
    fn an_invocation_s_output_is_cut_with_one_marker_and_the_rate_is_bounded() {
        let mut budget = OutputBudget::default();
        let line = "x".repeat(1023);
        let mut logged = 0;
        let mut markers = Vec::new();
        for _ in 0..4096 {
            match budget.admit(&line) {
                Some(std::borrow::Cow::Borrowed(_)) => logged += 1,
                Some(marker) => markers.push(marker.into_owned()),
                None => {}
            }
        }
        assert_eq!(logged, MAX_INVOCATION_LOG_BYTES / 1024);
        assert_eq!(markers.len(), 1, "{markers:?}");
        assert!(markers[0].starts_with("[log truncated"), "{markers:?}");
        assert_eq!(budget.dropped(), 4096 - 1024);
        // Invocation after invocation: the instance's rate stops it after the burst.
        let mut budget = OutputBudget::default();
        let mut logged = 0;
        let mut markers = 0;
        for _ in 0..64 {
            budget.start_invocation();
            for _ in 0..512 {
                match budget.admit(&line) {
                    Some(std::borrow::Cow::Borrowed(_)) => logged += 1,
                    Some(_) => markers += 1,
                    None => {}
                }
            }
        }
        assert!(logged * 1024 <= 3 * LOG_BURST_BYTES as usize, "{logged}");
        assert!(markers >= 1);
    }

    #[test]
    fn tail_is_the_last_4_kb() {
        let mut log = LogBuf::default();
        for i in 0..2000 {
            log.push(&format!("line {i} é"));
        }
        let tail = log.tail();
        assert!(tail.len() <= TAIL_BYTES);
        assert!(tail.ends_with("line 1999 é\n"));
        assert!(log.text.len() <= KEEP_BYTES);
        assert_eq!(
            report_line("r", 12, 128, 31_178_752),
            "Report RequestId:r Duration:12ms Memory:128MB MemUsage:29.734375MB"
        );
    }
}
