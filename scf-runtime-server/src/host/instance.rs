//! One event-function instance: a bootstrap process, its own runtime API listener, and the task that
//! supervises both through the instance lifecycle (one invocation at a time). In a sandbox
//! (`sandbox.rs`) the listener is `127.0.0.1:9001` inside the instance's own network namespace.
//!
//! ```text
//!             ready                 assign
//! Starting ─────────> Idle ─────────────────> Busy
//!    │                 ^ │  <── first result ──┘ │
//!    │ init timeout    │ │ reap / shutdown       │ exec timeout, memory over the limit
//!    v                 │ v                       v
//!    └───────────> Stopping ─── process exit ──> Exited
//! (any state) ─────────────────── process exit ──^
//! ```
//!
//! [`State::can_become`] is the one table of allowed transitions. Every change of state goes
//! through `Supervisor::set_state`, which checks it.
//!
//! The supervisor task owns the process, both output pipes and the timers, so every event of an
//! instance (a runtime API call, an assignment, output, exit, a deadline) is handled in one place,
//! one at a time. The runtime API listener (127.0.0.1, ephemeral port, exactly the four routes of
//! the protocol) forwards each call to it as a message; the listener's address is the instance's
//! identity, so a bootstrap may use a new connection for every request.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use nix::sys::signal::Signal;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::fault::{Fault, InvokeError, MAX_RESPONSE_BYTES};
use crate::host::lifecycle::{
    self, Completion, Control, FunctionSpec, Gone, InstanceHandle, Invocation, Lifecycle,
    STOP_GRACE, Starting, State, StopReason, Timer, Work,
};
use crate::host::logs::{self, LineSplitter, LogBuf, drain_now, read_chunk};
use crate::host::process::{self, Spawned};
use crate::host::sandbox::{self, Jail, Netns};
/// How long the runtime API of an instance killed for a timeout keeps answering late result posts
/// with 410 (the recent-timeout window).
pub(crate) const LATE_POST_WINDOW: Duration = Duration::from_secs(5);
/// How often the memory of a busy instance is measured (a few microseconds a sample), so a burst
/// past `memory_mb` is caught within a few milliseconds of work; the result post is measured too.
pub(crate) const MEMORY_POLL: Duration = Duration::from_millis(5);

const PATH_READY: &str = "/runtime/init/ready";
const PATH_NEXT: &str = "/runtime/invocation/next";
const PATH_RESPONSE: &str = "/runtime/invocation/response";
const PATH_ERROR: &str = "/runtime/invocation/error";

// The event's headers on `/next`, parsed once.
const HEADER_REQUEST_ID: HeaderName = HeaderName::from_static("request_id");
const HEADER_MEMORY_LIMIT: HeaderName = HeaderName::from_static("memory_limit_in_mb");
const HEADER_TIME_LIMIT: HeaderName = HeaderName::from_static("time_limit_in_ms");

/// Messages to the supervisor.
enum Msg {
    Ready,
    Next(oneshot::Sender<NextReply>),
    Post {
        error: bool,
        body: Option<Bytes>,
        reply: oneshot::Sender<Response<Full<Bytes>>>,
    },
}

enum NextReply {
    Event {
        request_id: String,
        payload: Bytes,
        memory_mb: u32,
        timeout_ms: u128,
    },
    Gone,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Ready => "Ready",
            Msg::Next(_) => "Next",
            Msg::Post { .. } => "Post",
        })
    }
}

/// Starts instance `id` of `spec` and returns its handle at once: binding its runtime API and
/// spawning the bootstrap happen in the instance's own task, so a burst starts its instances side
/// by side and never holds up the pool. A start that fails is reported as an init failure
/// ([`Gone::InitFailed`], 404 `HandlerNotFound` for a missing bootstrap).
pub(crate) fn spawn(
    spec: Arc<FunctionSpec>,
    id: u64,
    events: Weak<dyn Lifecycle>,
) -> InstanceHandle {
    lifecycle::spawn_task(id, |starting| start(spec, id, events, starting))
}

/// The bootstrap with its runtime API listener (and its namespace in a sandbox).
async fn launch(
    spec: &FunctionSpec,
) -> std::io::Result<(std::net::TcpListener, Spawned, Option<Netns>)> {
    let env = |port: u16| {
        let mut env = spec.env.clone();
        env.push(("SCF_RUNTIME_API".to_owned(), "127.0.0.1".to_owned()));
        env.push(("SCF_RUNTIME_API_PORT".to_owned(), port.to_string()));
        env
    };
    match spec.jail {
        Jail::Namespaces(sandbox) => {
            let port = sandbox::RUNTIME_API_PORT;
            let started = sandbox
                .spawn(
                    spec.executable.clone(),
                    spec.code_root.clone(),
                    env(port),
                    Some(port),
                )
                .await?;
            let listener = started
                .listener
                .ok_or_else(|| std::io::Error::other("the sandbox bound no runtime API"))?;
            Ok((listener, started.spawned, Some(started.net)))
        }
        Jail::None => {
            let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
            listener.set_nonblocking(true)?;
            let env = env(listener.local_addr()?.port());
            let spawned = spec.spawn_here(&env)?;
            Ok((listener, spawned, None))
        }
        Jail::Missing(reason) => Err(std::io::Error::other(reason)),
    }
}

/// The instance's task: starts the process, then supervises it until it is gone.
async fn start(spec: Arc<FunctionSpec>, id: u64, events: Weak<dyn Lifecycle>, starting: Starting) {
    let launched = launch(&spec).await.and_then(|(listener, spawned, net)| {
        let port = listener.local_addr()?.port();
        Ok((
            tokio::net::TcpListener::from_std(listener)?,
            port,
            spawned,
            net,
        ))
    });
    let (listener, port, spawned, net) = match launched {
        Ok(launched) => launched,
        Err(e) => return lifecycle::start_failed(&spec, id, &events, &e),
    };
    let Spawned {
        child,
        pid,
        out,
        err,
    } = spawned;
    starting.pid.store(pid, Ordering::Relaxed);

    let (api_tx, rx) = mpsc::unbounded_channel();
    // The namespace lives as long as the listener; the handle goes with the listener's task.
    let api = tokio::spawn(serve_runtime_api(listener, api_tx, net));
    let supervisor = Supervisor {
        spec,
        id,
        pid,
        events,
        state: State::Starting,
        spawned_at: starting.spawned_at,
        init: None,
        init_log: LogBuf::default(),
        running: None,
        answered: None,
        timed_out: None,
        parked: Vec::new(),
        kill_at: None,
        linger_until: None,
        init_failure: None,
        probe: crate::host::rss::Probe::default(),
        log_budget: logs::OutputBudget::default(),
    };
    tracing::debug!(target: "scf::instance", id, pid, port, "instance spawned");
    supervisor
        .run(child, rx, starting.control, out, err, api)
        .await;
}

/// The running event of a busy instance.
struct Running {
    invocation: Invocation,
    assigned_at: Instant,
    fetched_at: Option<Instant>,
    log: LogBuf,
    mem_peak: u64,
    cold_start: Option<Duration>,
}

struct Supervisor {
    spec: Arc<FunctionSpec>,
    id: u64,
    pid: u32,
    events: Weak<dyn Lifecycle>,
    state: State,
    spawned_at: Instant,
    /// Init duration and memory at ready; taken by the first invocation (cold start).
    init: Option<(Duration, u64)>,
    init_log: LogBuf,
    running: Option<Running>,
    /// The request id of the last answered invocation (for 409 AlreadyAnswered).
    answered: Option<String>,
    /// The request id of the invocation that timed out (for 410 on late posts).
    timed_out: Option<String>,
    parked: Vec<oneshot::Sender<NextReply>>,
    kill_at: Option<Instant>,
    linger_until: Option<Instant>,
    /// Set when the instance is being stopped because init failed (450).
    init_failure: Option<InvokeError>,
    probe: crate::host::rss::Probe,
    /// What its output may still take of the server log.
    log_budget: logs::OutputBudget,
}

enum Stream {
    Out,
    Err,
}

enum Event {
    /// How many bytes `read_chunk` put in that stream's buffer (0 at end of file).
    Output(Stream, std::io::Result<usize>),
    Exit(std::io::Result<std::process::ExitStatus>),
    Msg(Option<Msg>),
    Control(Option<Control>),
    Deadline,
    MemoryTick,
}

impl Supervisor {
    async fn run(
        mut self,
        mut child: tokio::process::Child,
        mut rx: mpsc::UnboundedReceiver<Msg>,
        mut control: mpsc::UnboundedReceiver<Control>,
        out: pipe::Receiver,
        err: pipe::Receiver,
        api: tokio::task::JoinHandle<()>,
    ) {
        let mut out_lines = LineSplitter::default();
        let mut err_lines = LineSplitter::default();
        let (mut out_open, mut err_open, mut exited) = (true, true, false);
        let mut control_open = true;
        let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
        let mut memory_tick = tokio::time::interval(MEMORY_POLL);
        memory_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut timer = Timer::new();
        // One wait for the whole life of the process (a new one per turn would register anew),
        // polled once its pidfd says it has exited.
        let wait = child.wait();
        tokio::pin!(wait);
        let exit_watch = process::exit_watch(self.pid);
        let mut was_busy = false;
        loop {
            let deadline = self.deadline();
            let busy = self.state == State::Busy;
            if busy && !was_busy {
                // The first sample of an invocation is one period in: one that ends sooner is
                // measured once, when it ends.
                memory_tick.reset();
            }
            was_busy = busy;
            let event = tokio::select! {
                biased;
                r = read_chunk(&out, &mut out_buf), if out_open => Event::Output(Stream::Out, r),
                r = read_chunk(&err, &mut err_buf), if err_open => Event::Output(Stream::Err, r),
                s = process::exit_status(exit_watch.as_ref(), wait.as_mut()), if !exited => Event::Exit(s),
                m = rx.recv() => Event::Msg(m),
                c = control.recv(), if control_open => Event::Control(c),
                () = timer.until(deadline), if deadline.is_some() => Event::Deadline,
                _ = memory_tick.tick(), if busy => Event::MemoryTick,
            };
            match event {
                Event::Output(stream, r) => {
                    let (splitter, open, buf) = match stream {
                        Stream::Out => (&mut out_lines, &mut out_open, &out_buf),
                        Stream::Err => (&mut err_lines, &mut err_open, &err_buf),
                    };
                    match r {
                        Ok(n) if n > 0 => {
                            for line in splitter.feed(&buf[..n]) {
                                self.output_line(&line);
                            }
                        }
                        _ => {
                            *open = false;
                            if let Some(line) = splitter.finish() {
                                self.output_line(&line);
                            }
                        }
                    }
                }
                Event::Exit(status) => {
                    exited = true;
                    // Whatever it printed before dying belongs to what it was doing.
                    self.drain(&out, &err, &mut out_lines, &mut err_lines);
                    for splitter in [&mut out_lines, &mut err_lines] {
                        if let Some(line) = splitter.finish() {
                            self.output_line(&line);
                        }
                    }
                    self.on_exit(status);
                    self.bounce_assignments(&mut control);
                }
                Event::Msg(None) => {
                    // Nobody can reach this instance any more.
                    if !exited {
                        self.kill();
                        let _ = (&mut wait).await;
                    }
                    break;
                }
                Event::Control(None) => {
                    // The pool dropped its handle: nobody can give this instance work any more.
                    control_open = false;
                    if !exited {
                        self.kill();
                        let _ = (&mut wait).await;
                        break;
                    }
                }
                Event::Control(Some(Control::Assign(work))) => self.on_assign(work),
                Event::Control(Some(Control::Stop(reason))) => self.on_stop(reason),
                Event::Msg(Some(msg)) => {
                    if matches!(msg, Msg::Post { .. }) {
                        self.drain(&out, &err, &mut out_lines, &mut err_lines);
                    }
                    self.on_msg(msg);
                }
                Event::Deadline => self.on_deadline(),
                Event::MemoryTick => self.check_memory(),
            }
            if exited && self.linger_until.is_none_or(|t| Instant::now() >= t) {
                break;
            }
        }
        api.abort();
        tracing::debug!(target: "scf::instance", id = self.id, "instance supervisor ended");
    }

    fn drain(
        &mut self,
        out: &pipe::Receiver,
        err: &pipe::Receiver,
        out_lines: &mut LineSplitter,
        err_lines: &mut LineSplitter,
    ) {
        for line in out_lines.feed(&drain_now(out)) {
            self.output_line(&line);
        }
        for line in err_lines.feed(&drain_now(err)) {
            self.output_line(&line);
        }
    }

    /// The one place the state changes (see [`State::advance`]).
    fn set_state(&mut self, next: State) {
        self.state.advance(next, self.id);
    }

    fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Starting => Some(self.spawned_at + self.spec.init_timeout),
            State::Busy => self
                .running
                .as_ref()
                .map(|r| r.assigned_at + self.spec.timeout),
            State::Stopping => self.kill_at,
            State::Exited => self.linger_until,
            State::Idle => None,
        }
    }

    fn request_id(&self) -> Option<&str> {
        self.running
            .as_ref()
            .map(|r| r.invocation.request_id.as_str())
    }

    fn output_line(&mut self, line: &str) {
        let Some(line) = self.log_budget.admit(line) else {
            return;
        };
        let line = line.as_ref();
        logs::emit(&self.spec.name, self.id, self.request_id(), line);
        match (&mut self.running, self.state) {
            (Some(running), _) => running.log.push(line),
            (None, State::Starting | State::Stopping) if self.init.is_none() => {
                self.init_log.push(line)
            }
            _ => {}
        }
    }

    fn events(&self) -> Option<Arc<dyn Lifecycle>> {
        self.events.upgrade()
    }

    fn on_msg(&mut self, msg: Msg) {
        match msg {
            Msg::Ready => self.on_ready(),
            Msg::Next(reply) => self.on_next(reply),
            Msg::Post { error, body, reply } => {
                let answer = self.on_post(error, body);
                let _ = reply.send(answer);
            }
        }
    }

    fn on_ready(&mut self) {
        if self.state != State::Starting {
            return; // repeated ready calls are tolerated; the first one counts
        }
        let init = self.spawned_at.elapsed();
        tracing::debug!(target: "scf::instance", id = self.id, init_us = init.as_micros() as u64, "instance ready");
        let mem = self.probe.tree_rss_bytes(self.pid).unwrap_or(0);
        self.init = Some((init, mem));
        self.set_state(State::Idle);
        if let Some(events) = self.events() {
            events.ready(self.id, init);
        }
    }

    fn on_next(&mut self, reply: oneshot::Sender<NextReply>) {
        match self.state {
            State::Busy => self.answer_next(reply),
            State::Starting | State::Idle => {
                if self.state == State::Starting {
                    tracing::warn!(target: "scf::instance", function = %self.spec.name, id = self.id,
                        "the bootstrap asked for an event before POST /runtime/init/ready; it stays initialising");
                }
                self.parked.retain(|p| !p.is_closed());
                self.parked.push(reply);
            }
            State::Stopping | State::Exited => {
                let _ = reply.send(NextReply::Gone);
            }
        }
    }

    /// Sends the current event (the same one again on a repeated `/next`).
    fn answer_next(&mut self, reply: oneshot::Sender<NextReply>) {
        let Some(running) = &mut self.running else {
            return;
        };
        let event = NextReply::Event {
            request_id: running.invocation.request_id.clone(),
            payload: running.invocation.payload.clone(),
            memory_mb: self.spec.memory_mb,
            timeout_ms: self.spec.timeout.as_millis(),
        };
        if reply.send(event).is_ok() && running.fetched_at.is_none() {
            running.fetched_at = Some(Instant::now());
        }
    }

    fn on_assign(&mut self, work: Work) {
        if self.state != State::Idle {
            // Lost a race with the instance's end: give it back to the pool.
            lifecycle::give_back(&self.events, work);
            return;
        }
        let invocation = match work {
            Work::Event(invocation) => invocation,
            other => {
                other.fail(
                    Fault::Internal.error("an event instance cannot serve an HTTP request"),
                    String::new(),
                );
                return;
            }
        };
        let cold_start = self.init.take();
        let mut running = Running {
            invocation,
            assigned_at: Instant::now(),
            fetched_at: None,
            log: LogBuf::default(),
            mem_peak: cold_start.map(|c| c.1).unwrap_or(0),
            cold_start: cold_start.map(|c| c.0),
        };
        let request_id = running.invocation.request_id.clone();
        self.set_state(State::Busy);
        self.log_budget.start_invocation();
        let start = format!("START RequestId:{request_id}");
        logs::emit(&self.spec.name, self.id, Some(&request_id), &start);
        running.log.push(&start);
        if let Some((init, mem)) = cold_start {
            running.log.append(&self.init_log);
            self.init_log = LogBuf::default();
            let line = logs::init_report_line(
                &request_id,
                logs::duration_ms(init),
                self.spec.memory_mb,
                mem,
            );
            logs::emit(&self.spec.name, self.id, Some(&request_id), &line);
            running.log.push(&line);
        }
        self.running = Some(running);
        for reply in std::mem::take(&mut self.parked) {
            self.answer_next(reply);
        }
    }

    fn on_post(&mut self, error: bool, body: Option<Bytes>) -> Response<Full<Bytes>> {
        if self.state != State::Busy {
            if let Some(id) = &self.timed_out {
                return misuse(
                    StatusCode::GONE,
                    "InvocationTimedOut",
                    &format!("invocation {id} timed out; its result is no longer accepted"),
                );
            }
            return match &self.answered {
                Some(id) => misuse(
                    StatusCode::CONFLICT,
                    "AlreadyAnswered",
                    &format!("invocation {id} was already answered; the first result stands"),
                ),
                None => misuse(
                    StatusCode::CONFLICT,
                    "NoInvocationInFlight",
                    "no invocation was dispatched to this instance",
                ),
            };
        }
        let (result, status) = match body {
            None => (
                Err(Fault::ResponseTooLarge.error(format!(
                    "the function's response is over {} bytes",
                    MAX_RESPONSE_BYTES
                ))),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            Some(body) if error => (Err(InvokeError::from_function(&body)), StatusCode::OK),
            Some(body) => (Ok(body), StatusCode::OK),
        };
        // One last sample: a burst between two ticks still counts against the limit, and it is
        // the sample the invocation ends with.
        self.check_memory();
        if self.running.is_none() {
            return misuse(
                StatusCode::GONE,
                "MemoryLimitExceeded",
                "the instance went over its memory limit; the invocation failed with 434",
            );
        }
        self.end(result);
        self.set_state(State::Idle);
        if let Some(events) = self.events() {
            events.done(self.id);
        }
        if status == StatusCode::OK {
            Response::new(Full::new(Bytes::new()))
        } else {
            misuse(
                status,
                "ResponseTooLarge",
                &format!(
                    "the result is over {MAX_RESPONSE_BYTES} bytes; the invocation fails with 407"
                ),
            )
        }
    }

    /// Ends the running invocation with `result` after a last memory sample.
    fn finish(&mut self, result: Result<Bytes, InvokeError>) {
        if let Some(running) = &mut self.running
            && let Some(rss) = self.probe.tree_rss_bytes(self.pid)
        {
            running.mem_peak = running.mem_peak.max(rss);
        }
        self.end(result);
    }

    /// Ends the running invocation with `result` (its memory already sampled): platform lines,
    /// completion, bookkeeping.
    fn end(&mut self, result: Result<Bytes, InvokeError>) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        let request_id = running.invocation.request_id.clone();
        let duration = running.fetched_at.unwrap_or(running.assigned_at).elapsed();
        let emit = |line: String, log: &mut LogBuf| {
            logs::emit(&self.spec.name, self.id, Some(&request_id), &line);
            log.push(&line);
        };
        if let Err(e) = &result {
            let text = if e.code() == Fault::UserError.code() {
                e.message.clone()
            } else {
                e.to_string()
            };
            emit(
                format!("ERROR RequestId:{request_id} Result:{text}"),
                &mut running.log,
            );
        }
        emit(format!("END RequestId:{request_id}"), &mut running.log);
        emit(
            logs::report_line(
                &request_id,
                logs::duration_ms(duration),
                self.spec.memory_mb,
                running.mem_peak,
            ),
            &mut running.log,
        );
        self.answered = Some(request_id);
        let _ = running.invocation.done.send(Completion {
            result,
            duration,
            mem_peak: running.mem_peak,
            log: running.log.tail(),
            cold_start: running.cold_start,
            instance: Some(self.id),
        });
    }

    fn on_stop(&mut self, reason: StopReason) {
        match self.state {
            State::Starting | State::Idle => {
                tracing::debug!(target: "scf::instance", id = self.id, ?reason, "stopping instance");
                self.set_state(State::Stopping);
                self.signal(Signal::SIGTERM);
                self.kill_at = Some(Instant::now() + STOP_GRACE);
            }
            State::Busy if reason == StopReason::Shutdown => {
                self.finish(Err(
                    Fault::ShuttingDown.error("the server stopped during the invocation")
                ));
                self.set_state(State::Stopping);
                self.signal(Signal::SIGTERM);
                self.kill_at = Some(Instant::now() + STOP_GRACE);
            }
            _ => {}
        }
    }

    fn on_deadline(&mut self) {
        match self.state {
            State::Starting => {
                let message = format!(
                    "the bootstrap did not call POST /runtime/init/ready within {:?} (init_timeout_s)",
                    self.spec.init_timeout
                );
                self.init_failure = Some(Fault::InitTimeout.error(message));
                self.kill();
            }
            State::Busy => {
                let id = self.request_id().map(str::to_owned);
                let message = format!(
                    "the invocation did not finish within {:?} (timeout_s); the instance was killed",
                    self.spec.timeout
                );
                self.finish(Err(Fault::Timeout.error(message)));
                self.timed_out = id;
                self.kill();
            }
            State::Stopping => {
                self.kill_at = None;
                self.signal(Signal::SIGKILL);
            }
            State::Idle | State::Exited => {}
        }
    }

    fn check_memory(&mut self) {
        let Some(running) = &mut self.running else {
            return;
        };
        let Some(rss) = self.probe.tree_rss_bytes(self.pid) else {
            return;
        };
        running.mem_peak = running.mem_peak.max(rss);
        let limit = u64::from(self.spec.memory_mb) * 1024 * 1024;
        if rss > limit {
            let message = format!(
                "the instance used {:.1} MB, over its memory limit of {} MB (memory_mb); it was killed",
                logs::megabytes(rss),
                self.spec.memory_mb
            );
            self.finish(Err(Fault::MemoryLimit.error(message)));
            self.kill();
        }
    }

    /// SIGKILLs the process group now.
    fn kill(&mut self) {
        self.signal(Signal::SIGKILL);
        if self.state != State::Stopping {
            self.set_state(State::Stopping);
        }
        self.kill_at = None;
    }

    fn signal(&self, signal: Signal) {
        process::signal_group(self.pid, signal);
    }

    fn on_exit(&mut self, status: std::io::Result<std::process::ExitStatus>) {
        let status = match status {
            Ok(s) => s.to_string(),
            Err(e) => format!("unknown status ({e})"),
        };
        // Anything else it started goes with it.
        self.signal(Signal::SIGKILL);
        let gone = match self.state {
            State::Starting => Gone::InitFailed {
                error: Fault::ExitBeforeReady.error(format!(
                    "the bootstrap exited before it was ready ({status})"
                )),
                log: self.init_log.tail(),
            },
            State::Stopping if self.init_failure.is_some() => Gone::InitFailed {
                error: self.init_failure.take().expect("checked"),
                log: self.init_log.tail(),
            },
            State::Busy => {
                self.finish(Err(Fault::ProcessExit.error(format!(
                    "the process exited during the invocation ({status})"
                ))));
                Gone::Ended
            }
            State::Idle | State::Stopping | State::Exited => Gone::Ended,
        };
        if let Gone::InitFailed { error, .. } = &gone {
            tracing::warn!(target: "scf::instance", function = %self.spec.name, id = self.id, "init failed: {error}");
        }
        self.set_state(State::Exited);
        for reply in std::mem::take(&mut self.parked) {
            let _ = reply.send(NextReply::Gone);
        }
        if self.timed_out.is_some() {
            self.linger_until = Some(Instant::now() + LATE_POST_WINDOW);
        }
        if let Some(events) = self.events() {
            events.gone(self.id, gone);
        }
    }

    /// Assignments sent before the pool learnt the instance was gone go back to the pool.
    fn bounce_assignments(&mut self, control: &mut mpsc::UnboundedReceiver<Control>) {
        while let Ok(msg) = control.try_recv() {
            match msg {
                Control::Assign(work) => self.on_assign(work),
                Control::Stop(reason) => self.on_stop(reason),
            }
        }
    }
}

fn misuse(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The runtime API of one instance: accepts connections until aborted (which ends them all).
async fn serve_runtime_api(
    listener: tokio::net::TcpListener,
    tx: mpsc::UnboundedSender<Msg>,
    _net: Option<Netns>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let tx = tx.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let tx = tx.clone();
                        async move { Ok::<_, std::convert::Infallible>(runtime_api(request, tx).await) }
                    });
                    // The runtime API's answers need no `Date`.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .auto_date_header(false)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn runtime_api(
    request: Request<Incoming>,
    tx: mpsc::UnboundedSender<Msg>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let route = match path {
        PATH_READY | PATH_RESPONSE | PATH_ERROR => Method::POST,
        PATH_NEXT => Method::GET,
        _ => return status_only(StatusCode::NOT_FOUND),
    };
    if request.method() != route {
        let mut response = status_only(StatusCode::METHOD_NOT_ALLOWED);
        response.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static(if route == Method::GET { "GET" } else { "POST" }),
        );
        return response;
    }
    let gone = || {
        misuse(
            StatusCode::GONE,
            "InstanceStopped",
            "this instance is stopping",
        )
    };
    match path {
        PATH_READY => {
            let _ = request.into_body().collect().await;
            if tx.send(Msg::Ready).is_err() {
                return gone();
            }
            Response::new(Full::new(Bytes::new()))
        }
        PATH_NEXT => {
            let (reply, answer) = oneshot::channel();
            if tx.send(Msg::Next(reply)).is_err() {
                return gone();
            }
            match answer.await {
                Ok(NextReply::Event {
                    request_id,
                    payload,
                    memory_mb,
                    timeout_ms,
                }) => {
                    let mut response = Response::new(Full::new(payload));
                    let headers = response.headers_mut();
                    headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    if let Ok(v) = HeaderValue::from_str(&request_id) {
                        headers.insert(HEADER_REQUEST_ID, v);
                    }
                    headers.insert(HEADER_MEMORY_LIMIT, HeaderValue::from(memory_mb));
                    headers.insert(
                        HEADER_TIME_LIMIT,
                        HeaderValue::from(u64::try_from(timeout_ms).unwrap_or(u64::MAX)),
                    );
                    response
                }
                Ok(NextReply::Gone) | Err(_) => gone(),
            }
        }
        _ => {
            let error = path == PATH_ERROR;
            let body = match Limited::new(request.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
            {
                Ok(collected) => Some(collected.to_bytes()),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => None,
                Err(_) => return status_only(StatusCode::BAD_REQUEST),
            };
            let (reply, answer) = oneshot::channel();
            if tx.send(Msg::Post { error, body, reply }).is_err() {
                return gone();
            }
            answer.await.unwrap_or_else(|_| gone())
        }
    }
}

fn status_only(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}
