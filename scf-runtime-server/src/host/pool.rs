//! The scheduler of one function, event or web: its instances, the stack of those with spare
//! capacity and its wait queue.
//!
//! An instance takes `capacity` units of work at once: 1 for an event function (one invocation),
//! `max_concurrency` for a web function (HTTP requests). The pool places [`Work`] on an
//! [`InstanceHandle`] and learns what happens through [`Lifecycle`]; it never looks inside an
//! instance, so the same placement serves both kinds.
//!
//! - Work goes to the most recently used ready instance with spare capacity.
//! - With none, it waits in a bounded queue (`queue_length`, else 432; `queue_timeout_s`, else
//!   432) and instances are started for the waiting work not yet covered by starting ones, while
//!   under `max_instances` and the server's memory quota (`quota_mb`, which instances of both
//!   kinds count against).
//! - An instance that finishes a unit takes the oldest waiting work first.
//! - An instance that fails to start fails the work it was started for with its code (405, 446,
//!   450, 437). Starts are then rate-limited: after each failure the next start waits 100 ms,
//!   doubling up to 30 s, reset by a successful start. While no instance can run and starts are
//!   held back, new work fails at once with the last start failure instead of spinning.
//! - Instances idle past `idle_timeout_s` are stopped, least recently used first, down to
//!   `min_instances`; `min_instances` are started at boot and replaced when they end.
//! - A recycle (SIGHUP) replaces every instance without losing work; a close fails the queue and
//!   stops every instance.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use std::time::{Duration, Instant};
use tokio::sync::oneshot;

use crate::fault::Fault;
use crate::fault::InvokeError;
use crate::host::activity::Activity;
use crate::host::lifecycle::{
    FunctionSpec, Gone, InstanceHandle, Kind, Lifecycle, State, StopReason, Work,
};
use crate::host::metrics::PoolCounts;
use crate::host::shared::{Kick, Shared};
use crate::host::{instance, web};

/// First delay after a failed start.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest delay between failing starts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Where submitted work went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// Straight to an instance with spare capacity.
    Assigned,
    /// Into the wait queue, with this ticket.
    Queued(u64),
}

#[derive(Debug)]
struct Slot {
    handle: InstanceHandle,
    state: State,
    /// Units of work it is running.
    in_flight: usize,
    spawned_for: Option<u64>,
    started: Instant,
    last_used: Instant,
    served: u64,
    /// The pool's generation when it was started (see [`Pool::recycle`]).
    generation: u64,
    /// The request id of the work it took last while it has work (its buffer is reused).
    current: String,
}

impl Slot {
    /// Marks the instance stopping and tells it to stop.
    fn stop(&mut self, reason: StopReason) {
        self.state = State::Stopping;
        self.handle.stop(reason);
    }
}

#[derive(Debug)]
struct Waiter {
    ticket: u64,
    work: Work,
}

#[derive(Debug, Default)]
struct CrashLoop {
    failures: u32,
    hold_until: Option<Instant>,
    last: Option<(InvokeError, String)>,
}

#[derive(Debug, Default)]
struct PoolState {
    slots: BTreeMap<u64, Slot>,
    /// Ready instances with spare capacity, most recently used last.
    available: Vec<u64>,
    waiters: VecDeque<Waiter>,
    crash: CrashLoop,
    next_ticket: u64,
    retry_scheduled: bool,
    closed: bool,
    /// Bumped by [`Pool::recycle`]: instances of an older generation are not given new work.
    generation: u64,
    /// Waiting for one instance to be ready (see [`Pool::probe`]).
    probes: Vec<oneshot::Sender<Result<(), StartFailure>>>,
    /// The pool that took over from this one (see [`Pool::retire`]).
    successor: Option<Weak<Pool>>,
}

/// Why an instance could not start: the error its work would get, and its log.
pub(crate) type StartFailure = (InvokeError, String);

impl PoolState {
    fn starting(&self) -> usize {
        self.slots
            .values()
            .filter(|s| s.state == State::Starting)
            .count()
    }

    fn live(&self) -> usize {
        self.slots
            .values()
            .filter(|s| s.state != State::Stopping && s.state != State::Exited)
            .count()
    }
}

/// A snapshot of one instance for `/status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceStatus {
    /// Instance number (unique in the server).
    pub id: u64,
    /// Process id of the bootstrap.
    pub pid: u32,
    /// Lifecycle state.
    pub state: State,
    /// Units of work running now (at most 1 for an event function, `max_concurrency` for a web
    /// function).
    pub in_flight: usize,
    /// Units of work it has finished.
    pub invocations: u64,
    /// Milliseconds since it started.
    pub age_ms: u64,
    /// Milliseconds since it last finished an invocation (or started).
    pub idle_ms: u64,
    /// The request id of the work it took last, while it runs work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One function's instances.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) spec: Arc<FunctionSpec>,
    /// What the function did lately (the dashboard's view), carried over from the pool this
    /// one replaces.
    pub(crate) activity: Arc<Activity>,
    shared: Arc<Shared>,
    state: Mutex<PoolState>,
    me: Weak<Pool>,
}

impl Pool {
    pub(crate) fn new(spec: Arc<FunctionSpec>, shared: Arc<Shared>) -> Arc<Pool> {
        Pool::with_activity(spec, shared, Arc::new(Activity::new()))
    }

    /// A pool that goes on recording into `activity` (a redeployed function's history).
    pub(crate) fn with_activity(
        spec: Arc<FunctionSpec>,
        shared: Arc<Shared>,
        activity: Arc<Activity>,
    ) -> Arc<Pool> {
        let pool = Arc::new_cyclic(|me| Pool {
            spec,
            activity,
            shared: shared.clone(),
            state: Mutex::new(PoolState::default()),
            me: me.clone(),
        });
        shared.register(pool.me.clone());
        pool
    }

    /// Resolves once an instance of this pool is ready (at once when one is), or with the
    /// failure of the instance started for it. Starts one when none runs.
    pub(crate) fn probe(&self) -> oneshot::Receiver<Result<(), StartFailure>> {
        let (tx, rx) = oneshot::channel();
        let mut st = self.lock();
        let ready = st
            .slots
            .values()
            .any(|s| matches!(s.state, State::Idle | State::Busy));
        if ready {
            let _ = tx.send(Ok(()));
            return rx;
        }
        if st.closed {
            let _ = tx.send(Err((
                Fault::ShuttingDown.error("the function was replaced or removed"),
                String::new(),
            )));
            return rx;
        }
        st.probes.push(tx);
        // A probe asks for a fresh attempt: a start backoff left by older failures is cleared.
        st.crash = CrashLoop::default();
        self.spawn_wanted(&mut st);
        rx
    }

    /// Hands over to `successor` (a new deployment of the same function): no new work is taken
    /// here, queued work moves over, idle instances stop now and busy ones when their work ends.
    pub(crate) fn retire(&self, successor: &Arc<Pool>) {
        let waiters = {
            let mut st = self.lock();
            st.closed = true;
            st.successor = Some(Arc::downgrade(successor));
            st.available.clear();
            for slot in st.slots.values_mut() {
                if slot.in_flight == 0 && slot.state != State::Stopping {
                    slot.stop(StopReason::Reclaim);
                }
            }
            for probe in st.probes.drain(..) {
                let _ = probe.send(Ok(()));
            }
            std::mem::take(&mut st.waiters)
        };
        for waiter in waiters {
            successor.give_back(waiter.work);
        }
    }

    /// Whether [`retire`](Self::retire) handed this pool over (work goes to its successor).
    pub(crate) fn is_retired(&self) -> bool {
        self.lock().successor.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the idle reaper and the `min_instances`. Call inside the tokio runtime.
    pub(crate) fn start(&self) {
        let weak = self.me.clone();
        let period =
            (self.spec.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(pool) = weak.upgrade() else { break };
                if !pool.reap() {
                    break;
                }
            }
        });
        let mut st = self.lock();
        self.spawn_wanted(&mut st);
    }

    /// Places work: on an instance with spare capacity, else in the queue (starting instances as
    /// allowed). Gives the work back with the error when it cannot wait.
    pub(crate) fn submit(&self, work: Work) -> Result<Placed, (Work, InvokeError)> {
        let mut st = self.lock();
        if st.closed {
            return Err((
                work,
                Fault::ShuttingDown.error("the server is shutting down"),
            ));
        }
        let work = match self.assign_available(&mut st, work) {
            Ok(()) => return Ok(Placed::Assigned),
            Err(work) => work,
        };
        let waiting_bytes = st
            .waiters
            .iter()
            .map(|w| w.work.payload_len())
            .fold(work.payload_len(), usize::saturating_add);
        if waiting_bytes > self.spec.queue_bytes && !st.waiters.is_empty() {
            return Err((
                work,
                Fault::Throttled.error(format!(
                    "function {} is at its concurrency limit and its wait queue holds {} MB of payloads, its limit (server.queue_mb)",
                    self.spec.name,
                    self.spec.queue_bytes / (1024 * 1024)
                )),
            ));
        }
        if st.waiters.len() >= self.spec.queue_length {
            return Err((
                work,
                Fault::Throttled.error(format!(
                    "function {} is at its concurrency limit ({} instances, {} MB and {} at once each) and its wait queue is full ({})",
                    self.spec.name, self.spec.max_instances, self.spec.memory_mb, self.spec.capacity(), self.spec.queue_length
                )),
            ));
        }
        if st.live() == 0 && self.held_back(&st) {
            let (error, _log) = st.crash.last.clone().expect("held back after a failure");
            let wait = st
                .crash
                .hold_until
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or_default();
            let error = InvokeError {
                message: format!(
                    "{} (the function keeps failing to start; next start in {} ms)",
                    error.message,
                    wait.as_millis()
                ),
                ..error
            };
            return Err((work, error));
        }
        st.next_ticket += 1;
        let ticket = st.next_ticket;
        st.waiters.push_back(Waiter { ticket, work });
        self.spawn_wanted(&mut st);
        Ok(Placed::Queued(ticket))
    }

    /// Takes waiting work out of the queue (its wait ran out); `None` when an instance already
    /// has it.
    pub(crate) fn cancel(&self, ticket: u64) -> Option<Work> {
        let mut st = self.lock();
        let i = st.waiters.iter().position(|w| w.ticket == ticket)?;
        st.waiters.remove(i).map(|w| w.work)
    }

    /// Puts `work` on the most recently used instance with spare capacity.
    fn assign_available(&self, st: &mut PoolState, mut work: Work) -> Result<(), Work> {
        let capacity = self.spec.capacity();
        while let Some(&id) = st.available.last() {
            let Some(slot) = st.slots.get_mut(&id) else {
                st.available.pop();
                continue;
            };
            slot.current.clear();
            slot.current.push_str(work.request_id());
            match slot.handle.assign(work) {
                Ok(()) => {
                    slot.in_flight += 1;
                    slot.state = State::Busy;
                    if slot.in_flight >= capacity {
                        st.available.pop();
                    }
                    return Ok(());
                }
                Err(back) => {
                    st.available.pop();
                    work = back;
                }
            }
        }
        Err(work)
    }

    /// An instance became ready or finished a unit of work: it takes waiting work, or is
    /// available again (most recently used), or stops when a recycle or close replaced it.
    fn make_available(&self, st: &mut PoolState, id: u64) {
        let capacity = self.spec.capacity();
        let closed = st.closed;
        let current = st.generation;
        let Some(slot) = st.slots.get_mut(&id) else {
            return;
        };
        slot.last_used = Instant::now();
        slot.spawned_for = None;
        if slot.state == State::Stopping {
            return;
        }
        if closed || slot.generation < current {
            // Closing, or started before a recycle (it runs the old executable): it takes no new
            // work and stops once its running work is done; a new instance takes over.
            st.available.retain(|i| *i != id);
            if slot.in_flight == 0 {
                slot.state = State::Idle;
                slot.stop(if closed {
                    StopReason::Shutdown
                } else {
                    StopReason::Reclaim
                });
            }
            self.spawn_wanted(st);
            return;
        }
        while slot.in_flight < capacity {
            let Some(waiter) = st.waiters.pop_front() else {
                break;
            };
            slot.current.clear();
            slot.current.push_str(waiter.work.request_id());
            match slot.handle.assign(waiter.work) {
                Ok(()) => slot.in_flight += 1,
                Err(back) => {
                    st.waiters.push_front(Waiter {
                        ticket: waiter.ticket,
                        work: back,
                    });
                    break;
                }
            }
        }
        slot.state = if slot.in_flight == 0 {
            State::Idle
        } else {
            State::Busy
        };
        st.available.retain(|i| *i != id);
        if slot.in_flight < capacity {
            st.available.push(id);
        }
    }

    fn record_failure(
        &self,
        st: &mut PoolState,
        ticket: Option<u64>,
        error: InvokeError,
        log: String,
    ) {
        st.crash.failures += 1;
        let backoff = BACKOFF_MIN
            .saturating_mul(1 << (st.crash.failures - 1).min(16))
            .min(BACKOFF_MAX);
        st.crash.hold_until = Some(Instant::now() + backoff);
        st.crash.last = Some((error.clone(), log.clone()));
        for probe in st.probes.drain(..) {
            let _ = probe.send(Err((error.clone(), log.clone())));
        }
        if let Some(ticket) = ticket
            && let Some(i) = st.waiters.iter().position(|w| w.ticket == ticket)
            && let Some(waiter) = st.waiters.remove(i)
        {
            waiter.work.fail(error, log);
        }
    }

    fn held_back(&self, st: &PoolState) -> bool {
        st.crash.hold_until.is_some_and(|t| Instant::now() < t)
    }

    /// Starts instances for uncovered waiters and up to `min_instances`, as limits allow.
    fn spawn_wanted(&self, st: &mut PoolState) {
        if st.closed {
            return;
        }
        let capacity = self.spec.capacity();
        loop {
            let covered = st.starting() * capacity;
            let uncovered = st.waiters.len().saturating_sub(covered);
            let wanted = self
                .spec
                .min_instances
                .max(usize::from(!st.probes.is_empty()));
            let below_min = wanted.saturating_sub(st.live());
            if uncovered == 0 && below_min == 0 {
                return;
            }
            if st.live() >= self.spec.max_instances {
                return;
            }
            if self.held_back(st) {
                self.schedule_retry(st);
                return;
            }
            if !self.shared.reserve(self.spec.memory_mb) {
                return;
            }
            let spawned_for = (uncovered > 0).then(|| st.waiters[covered].ticket);
            let id = self.shared.next_instance_id();
            let events: Weak<dyn Lifecycle> = self.me.clone();
            // A start that fails comes back as the instance's init failure (`Lifecycle::gone`).
            let handle = match self.spec.kind {
                Kind::Event => instance::spawn(self.spec.clone(), id, events),
                Kind::Web { .. } => web::spawn(self.spec.clone(), id, events),
            };
            let now = Instant::now();
            st.slots.insert(
                id,
                Slot {
                    handle,
                    state: State::Starting,
                    in_flight: 0,
                    spawned_for,
                    started: now,
                    last_used: now,
                    served: 0,
                    generation: st.generation,
                    current: String::new(),
                },
            );
        }
    }

    fn schedule_retry(&self, st: &mut PoolState) {
        if st.retry_scheduled {
            return;
        }
        let Some(at) = st.crash.hold_until else {
            return;
        };
        st.retry_scheduled = true;
        let weak = self.me.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            if let Some(pool) = weak.upgrade() {
                let mut st = pool.lock();
                st.retry_scheduled = false;
                pool.spawn_wanted(&mut st);
            }
        });
    }

    /// Stops instances idle past the idle timeout, keeping `min_instances`. False once closed.
    fn reap(&self) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        let now = Instant::now();
        // Least recently used first: the front of the stack.
        let mut i = 0;
        while i < st.available.len() {
            if st.live() <= self.spec.min_instances {
                break;
            }
            let id = st.available[i];
            let expired = st.slots.get(&id).is_some_and(|s| {
                s.in_flight == 0 && now.duration_since(s.last_used) >= self.spec.idle_timeout
            });
            if expired {
                st.available.remove(i);
                if let Some(slot) = st.slots.get_mut(&id) {
                    slot.stop(StopReason::Reclaim);
                }
            } else {
                i += 1;
            }
        }
        true
    }

    /// Replaces every instance without losing work: idle instances are stopped now, busy and
    /// starting ones when their running work (or init) ends, and new instances (running the
    /// executable as it is now) take the queue and `min_instances`. A pending start backoff is
    /// cleared, since the new executable may start where the old one failed. Returns how many
    /// instances are being replaced.
    pub(crate) fn recycle(&self) -> usize {
        let mut st = self.lock();
        if st.closed {
            return 0;
        }
        st.generation += 1;
        st.crash = CrashLoop::default();
        for id in std::mem::take(&mut st.available) {
            if let Some(slot) = st.slots.get_mut(&id)
                && slot.in_flight == 0
            {
                slot.stop(StopReason::Reclaim);
            }
        }
        let replaced = st
            .slots
            .values()
            .filter(|s| s.state != State::Exited)
            .count();
        self.spawn_wanted(&mut st);
        replaced
    }

    /// Refuses new work, fails the queue and stops every instance (busy ones included).
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        for waiter in std::mem::take(&mut st.waiters) {
            waiter.work.fail(
                Fault::ShuttingDown.error("the server is shutting down"),
                String::new(),
            );
        }
        st.available.clear();
        for probe in st.probes.drain(..) {
            let _ = probe.send(Err((
                Fault::ShuttingDown.error("the function was removed or the server is stopping"),
                String::new(),
            )));
        }
        for slot in st.slots.values_mut() {
            slot.stop(StopReason::Shutdown);
        }
    }

    /// Instances not yet exited.
    pub(crate) fn instance_count(&self) -> usize {
        self.lock().slots.len()
    }

    /// Units of work running plus waiting.
    pub(crate) fn in_flight(&self) -> usize {
        let st = self.lock();
        st.waiters.len() + st.slots.values().map(|s| s.in_flight).sum::<usize>()
    }

    /// Counts for the metrics and `/status`.
    pub(crate) fn counts(&self) -> PoolCounts {
        let st = self.lock();
        let mut counts = PoolCounts {
            queued: st.waiters.len(),
            ..PoolCounts::default()
        };
        for slot in st.slots.values() {
            match slot.state {
                State::Starting => counts.starting += 1,
                State::Idle => counts.idle += 1,
                State::Busy => counts.busy += 1,
                State::Stopping | State::Exited => counts.stopping += 1,
            }
        }
        counts
    }

    /// Every instance, for `/status`.
    pub(crate) fn instances(&self) -> Vec<InstanceStatus> {
        let st = self.lock();
        let now = Instant::now();
        st.slots
            .values()
            .map(|s| InstanceStatus {
                id: s.handle.id,
                pid: s.handle.pid(),
                state: s.state,
                in_flight: s.in_flight,
                invocations: s.served,
                age_ms: now.duration_since(s.started).as_millis() as u64,
                idle_ms: now.duration_since(s.last_used).as_millis() as u64,
                request_id: (s.in_flight > 0 && !s.current.is_empty()).then(|| s.current.clone()),
            })
            .collect()
    }
}

impl Lifecycle for Pool {
    fn ready(&self, id: u64, init: Duration) {
        self.shared.metrics.init_duration(&self.spec.name, init);
        let mut st = self.lock();
        st.crash = CrashLoop::default();
        for probe in st.probes.drain(..) {
            let _ = probe.send(Ok(()));
        }
        self.make_available(&mut st, id);
    }

    fn done(&self, id: u64) {
        let mut st = self.lock();
        if let Some(slot) = st.slots.get_mut(&id) {
            slot.served += 1;
            slot.in_flight = slot.in_flight.saturating_sub(1);
            if slot.in_flight == 0 {
                slot.current.clear();
            }
        }
        self.make_available(&mut st, id);
    }

    fn gone(&self, id: u64, gone: Gone) {
        let mut st = self.lock();
        let Some(slot) = st.slots.remove(&id) else {
            return;
        };
        st.available.retain(|i| *i != id);
        self.shared.release(self.spec.memory_mb);
        if let Gone::InitFailed { error, log } = gone {
            self.shared
                .metrics
                .init_failure(&self.spec.name, error.code());
            self.record_failure(&mut st, slot.spawned_for, error, log);
        }
        self.spawn_wanted(&mut st);
        drop(st);
        let me: Weak<dyn Kick> = self.me.clone();
        self.shared.kick_others(&me);
    }

    fn give_back(&self, work: Work) {
        let mut st = self.lock();
        if let Some(successor) = st.successor.as_ref().and_then(Weak::upgrade) {
            drop(st);
            successor.give_back(work);
            return;
        }
        if st.closed {
            work.fail(
                Fault::ShuttingDown.error("the server is shutting down"),
                String::new(),
            );
            return;
        }
        if let Err(work) = self.assign_available(&mut st, work) {
            st.next_ticket += 1;
            let ticket = st.next_ticket;
            st.waiters.push_front(Waiter { ticket, work });
            self.spawn_wanted(&mut st);
        }
    }
}

impl Kick for Pool {
    /// Re-checks whether instances can be started (after memory was freed elsewhere).
    fn kick(&self) {
        let mut st = self.lock();
        self.spawn_wanted(&mut st);
    }
}
