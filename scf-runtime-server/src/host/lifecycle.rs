//! The contract between a pool and its instances: the work a pool hands an instance
//! ([`Work`], through an [`InstanceHandle`]), what an instance reports back ([`Lifecycle`]), and
//! the states an instance goes through ([`State`]).
//!
//! Both kinds of instance speak it: the event instance (`instance.rs`, one invocation at a time
//! through its runtime API) and the web instance (`web.rs`, up to `max_concurrency` HTTP
//! requests at once proxied to its port). The pool implements [`Lifecycle`]; instances only hold
//! a `Weak<dyn Lifecycle>`, so they never name the pool. This module imports no other module of
//! the host.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use tokio::sync::{mpsc, oneshot};

use crate::fault::{Fault, InvokeError};
use crate::host::process::{self, Spawned};
use crate::host::sandbox::Jail;

/// How long an instance stopped for reclaim or shutdown gets between SIGTERM and SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(2);

/// What an instance needs to know about its function.
#[derive(Debug)]
pub(crate) struct FunctionSpec {
    pub(crate) name: String,
    /// `$LATEST` or a published version number.
    pub(crate) version: String,
    /// Hosted through [`Host::deploy`](crate::host::Host::deploy) (the control plane), not
    /// from `scf.toml`.
    pub(crate) deployed: bool,
    pub(crate) kind: Kind,
    pub(crate) executable: PathBuf,
    pub(crate) code_root: PathBuf,
    pub(crate) memory_mb: u32,
    pub(crate) timeout: Duration,
    pub(crate) init_timeout: Duration,
    pub(crate) max_instances: usize,
    pub(crate) min_instances: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) queue_length: usize,
    /// Bytes of payload that may wait in the queue (`server.queue_mb`).
    pub(crate) queue_bytes: usize,
    pub(crate) queue_timeout: Duration,
    /// What its instances run in.
    pub(crate) jail: Jail,
    /// The whole environment except what names the instance's own listener or port
    /// (`SCF_RUNTIME_API_PORT`, `PORT`).
    pub(crate) env: Vec<(String, String)>,
}

/// The kind of function, with what only that kind needs.
#[derive(Debug)]
pub(crate) enum Kind {
    /// One event at a time through the runtime API.
    Event,
    /// An HTTP server on 9000 in its sandbox, else on `$PORT`.
    Web {
        /// Requests one instance takes at once.
        max_concurrency: usize,
        /// The `X-Scf-*` headers every request gets, apart from `X-Scf-Request-Id`.
        headers: HeaderMap,
    },
}

impl FunctionSpec {
    /// Spawns the bootstrap outside any sandbox with `env` (the function's variables and the
    /// host's) as its environment variables.
    pub(crate) fn spawn_here(&self, env: &[(String, String)]) -> std::io::Result<Spawned> {
        let env = env.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        // On the calling runtime thread: the child's parent-death signal is tied to the thread
        // that forks it, and runtime threads live as long as the server.
        process::spawn(&self.executable, &self.code_root, env, None)
    }

    /// Work units one instance takes at once: 1 for an event function, `max_concurrency` for a
    /// web function.
    pub(crate) fn capacity(&self) -> usize {
        match &self.kind {
            Kind::Event => 1,
            Kind::Web {
                max_concurrency, ..
            } => (*max_concurrency).max(1),
        }
    }

    /// Whether this is a web function.
    pub(crate) fn is_web(&self) -> bool {
        matches!(self.kind, Kind::Web { .. })
    }

    /// The `X-Scf-*` headers of a web function's requests (`None` for an event function).
    pub(crate) fn scf_headers(&self) -> Option<&HeaderMap> {
        match &self.kind {
            Kind::Web { headers, .. } => Some(headers),
            Kind::Event => None,
        }
    }
}

/// One invocation of an event function on its way to an instance.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) done: oneshot::Sender<Completion>,
}

/// How an invocation ended.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) result: Result<Bytes, InvokeError>,
    pub(crate) duration: Duration,
    pub(crate) mem_peak: u64,
    pub(crate) log: String,
    /// The instance's init time when this was its first invocation.
    pub(crate) cold_start: Option<Duration>,
    /// The instance that ran it (`None` when none did).
    pub(crate) instance: Option<u64>,
}

impl Completion {
    /// An invocation that never ran.
    pub(crate) fn refused(error: InvokeError, log: String) -> Completion {
        Completion {
            result: Err(error),
            duration: Duration::ZERO,
            mem_peak: 0,
            log,
            cold_start: None,
            instance: None,
        }
    }
}

/// One HTTP request to a web function on its way to an instance (body already read and within
/// the request limit).
#[derive(Debug)]
pub(crate) struct WebRequest {
    pub(crate) request: Request<Bytes>,
    pub(crate) request_id: String,
    pub(crate) done: oneshot::Sender<Result<Response<Bytes>, InvokeError>>,
}

/// A unit of work: what the pool places on an instance.
#[derive(Debug)]
pub(crate) enum Work {
    /// An event for an event instance.
    Event(Invocation),
    /// A request for a web instance (boxed: a request is much larger than an invocation).
    Web(Box<WebRequest>),
}

impl Work {
    /// The request id it carries.
    pub(crate) fn request_id(&self) -> &str {
        match self {
            Work::Event(invocation) => &invocation.request_id,
            Work::Web(request) => &request.request_id,
        }
    }

    /// Bytes it holds while it waits: the event, or the request's body.
    pub(crate) fn payload_len(&self) -> usize {
        match self {
            Work::Event(invocation) => invocation.payload.len(),
            Work::Web(request) => request.request.body().len(),
        }
    }

    /// Ends the work without running it.
    pub(crate) fn fail(self, error: InvokeError, log: String) {
        match self {
            Work::Event(invocation) => {
                let _ = invocation.done.send(Completion::refused(error, log));
            }
            Work::Web(request) => {
                let _ = request.done.send(Err(error));
            }
        }
    }
}

/// Why an instance ended, as the pool needs to know.
#[derive(Debug)]
pub(crate) enum Gone {
    /// It never became ready (405, 446, 450, 437): the work it was started for fails with this.
    InitFailed { error: InvokeError, log: String },
    /// It was ready once.
    Ended,
}

/// Why an instance is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// Idle past its idle timeout, or replaced by a recycle.
    Reclaim,
    /// The server is stopping.
    Shutdown,
}

/// The lifecycle states of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Spawned, not ready yet.
    Starting,
    /// Ready, running nothing.
    Idle,
    /// Running work (an event, or at least one web request).
    Busy,
    /// Being stopped (signalled, not exited yet).
    Stopping,
    /// The process has exited.
    Exited,
}

impl State {
    /// The transition table.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Starting, Idle)
                | (Starting, Stopping)
                | (Idle, Busy)
                | (Idle, Stopping)
                | (Busy, Idle)
                | (Busy, Stopping)
                | (Starting | Idle | Busy | Stopping, Exited)
        )
    }
}

impl State {
    /// The one place an instance's state changes: moves `self` to `next`, checking the
    /// transition table (an invalid transition is logged, and fails debug builds).
    pub(crate) fn advance(&mut self, next: State, instance: u64) {
        if *self == next {
            return;
        }
        if !self.can_become(next) {
            tracing::error!(target: "scf::instance", id = instance, from = ?self, to = ?next, "invalid instance transition");
            debug_assert!(false, "invalid instance transition {self:?} -> {next:?}");
        }
        tracing::trace!(target: "scf::instance", id = instance, from = ?self, to = ?next, "transition");
        *self = next;
    }
}

/// A timer for a `select!` loop whose deadline changes now and then: it is re-armed only when the
/// deadline changes (a new `Sleep` per turn of the loop would register a timer every time).
pub(crate) struct Timer {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    armed: Option<Instant>,
}

impl Timer {
    /// A timer with no deadline.
    pub(crate) fn new() -> Timer {
        Timer {
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            armed: None,
        }
    }

    /// Resolves at `deadline` (at once when it passed); never without one.
    pub(crate) async fn until(&mut self, deadline: Option<Instant>) {
        let Some(at) = deadline else {
            return std::future::pending().await;
        };
        if self.armed != Some(at) {
            self.sleep.as_mut().reset(at.into());
            self.armed = Some(at);
        }
        self.sleep.as_mut().await;
    }
}

/// What an instance reports to its pool. Every call names the instance by its id.
pub(crate) trait Lifecycle: Send + Sync {
    /// The instance is ready for work; `init` is spawn to ready.
    fn ready(&self, id: u64, init: Duration);
    /// The instance finished one unit of work.
    fn done(&self, id: u64);
    /// The instance's process ended.
    fn gone(&self, id: u64, gone: Gone);
    /// Work assigned to an instance that could not take it (it was already ending): place it
    /// again, first in line.
    fn give_back(&self, work: Work);
}

/// Gives `work` back to the pool behind `events`, or fails it when the pool is gone.
pub(crate) fn give_back(events: &std::sync::Weak<dyn Lifecycle>, work: Work) {
    match events.upgrade() {
        Some(pool) => pool.give_back(work),
        None => work.fail(
            Fault::ShuttingDown.error("the function is stopping"),
            String::new(),
        ),
    }
}

/// The error of an instance whose process could not be started: a bootstrap that is missing or
/// not executable is 404 `HandlerNotFound`, anything else 500.
pub(crate) fn start_error(executable: &Path, e: &std::io::Error) -> InvokeError {
    let fault = match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            Fault::HandlerNotFound
        }
        _ => Fault::Internal,
    };
    fault.error(format!("cannot start {}: {e}", executable.display()))
}

/// What an instance's own task starts with.
pub(crate) struct Starting {
    /// When the start was asked for: init duration counts from here (the sandbox is part of the
    /// start).
    pub(crate) spawned_at: Instant,
    /// The pool's messages, queued while the process starts.
    pub(crate) control: mpsc::UnboundedReceiver<Control>,
    /// Where the task stores the process id once the process runs.
    pub(crate) pid: Arc<AtomicU32>,
}

/// Starts instance `id` in its own task (`task`, given [`Starting`]) and returns its handle at
/// once, so that a burst starts its instances side by side and never holds up the pool.
pub(crate) fn spawn_task<F>(id: u64, task: impl FnOnce(Starting) -> F) -> InstanceHandle
where
    F: Future<Output = ()> + Send + 'static,
{
    let spawned_at = Instant::now();
    let (tx, control) = mpsc::unbounded_channel();
    let pid = Arc::new(AtomicU32::new(0));
    tokio::spawn(task(Starting {
        spawned_at,
        control,
        pid: pid.clone(),
    }));
    InstanceHandle { id, pid, tx }
}

/// An instance whose process could not be started: logged, and told to the pool as the
/// instance's init failure.
pub(crate) fn start_failed(
    spec: &FunctionSpec,
    id: u64,
    events: &Weak<dyn Lifecycle>,
    e: &std::io::Error,
) {
    let error = start_error(&spec.executable, e);
    tracing::warn!(target: "scf::instance", function = %spec.name, id, "{error}");
    if let Some(events) = events.upgrade() {
        events.gone(
            id,
            Gone::InitFailed {
                error,
                log: String::new(),
            },
        );
    }
}

/// What a pool tells an instance.
#[derive(Debug)]
pub(crate) enum Control {
    /// Run this.
    Assign(Work),
    /// Stop (SIGTERM, then SIGKILL after [`STOP_GRACE`]).
    Stop(StopReason),
}

/// The pool's handle on an instance of either kind. Dropping the last one kills the instance.
#[derive(Debug, Clone)]
pub(crate) struct InstanceHandle {
    pub(crate) id: u64,
    /// The process id, 0 until the process is started (an event instance starts it in the
    /// background).
    pub(crate) pid: Arc<AtomicU32>,
    pub(crate) tx: mpsc::UnboundedSender<Control>,
}

impl InstanceHandle {
    /// The process id (0 while the process is being started).
    pub(crate) fn pid(&self) -> u32 {
        self.pid.load(Ordering::Relaxed)
    }

    /// Gives the instance work; the work comes back when the instance is already gone.
    pub(crate) fn assign(&self, work: Work) -> Result<(), Work> {
        self.tx.send(Control::Assign(work)).map_err(|e| match e.0 {
            Control::Assign(work) => work,
            Control::Stop(_) => unreachable!("sent an Assign"),
        })
    }

    /// Asks the instance to stop (SIGTERM, then SIGKILL after [`STOP_GRACE`]).
    pub(crate) fn stop(&self, reason: StopReason) {
        let _ = self.tx.send(Control::Stop(reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_lifecycle() {
        use State::*;
        assert!(Starting.can_become(Idle));
        assert!(Idle.can_become(Busy));
        assert!(Busy.can_become(Idle));
        assert!(Busy.can_become(Stopping));
        assert!(Stopping.can_become(Exited));
        assert!(!Starting.can_become(Busy));
        assert!(!Exited.can_become(Idle));
        assert!(!Stopping.can_become(Idle));
        assert!(!Idle.can_become(Starting));
    }
}
