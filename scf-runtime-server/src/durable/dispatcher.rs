//! The dispatcher: takes due events and delivers them through a caller-provided function.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::policy::{Decision, DeliveryOutcome};
use super::queue::{DurableQueue, Next};
use super::record::{AsyncEvent, EventError};
use super::state::{EventState, Transition};

/// How a [`Dispatcher`] runs deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Most deliveries at once, over all functions (default 64).
    pub concurrency: usize,
    /// Most deliveries at once per function, by name; others use `default_per_function`.
    pub per_function: HashMap<String, usize>,
    /// Most deliveries at once for a function not in `per_function` (default 64).
    pub default_per_function: usize,
    /// How often finished events past their retention or the most kept are pruned (default
    /// 1 s, real time: a prune with nothing to remove reads two index entries).
    pub prune_every: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            concurrency: 64,
            per_function: HashMap::new(),
            default_per_function: 64,
            prune_every: Duration::from_secs(1),
        }
    }
}

/// A running dispatcher (see [`DurableQueue::start_dispatcher`]). Dropping it does not stop it;
/// call [`stop`](Self::stop).
#[derive(Debug)]
pub struct Dispatcher {
    stop: watch::Sender<Option<Duration>>,
    task: tokio::task::JoinHandle<()>,
}

impl Dispatcher {
    /// Stops taking events, lets deliveries in flight finish for up to `grace`, then abandons
    /// the rest (they stay queued on disk and are delivered again after a restart).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(Some(grace));
        let _ = self.task.await;
    }
}

impl DurableQueue {
    /// Starts delivering due events with `deliver` (one call per delivery, at most
    /// `config.concurrency` at once). Each outcome is applied through the queue's
    /// [`RetryPolicy`](super::RetryPolicy) and written before the event's slot is freed (fsynced by
    /// the next acceptance's commit, or within [`QueueConfig::outcome_sync`](super::QueueConfig::outcome_sync)).
    ///
    /// Delivery is **at least once**: the attempt is recorded only after `deliver` returns, so an
    /// event in flight when the process dies, or whose outcome was not fsynced yet, is delivered
    /// again after the restart (a duplicate when the first delivery had in fact run). Functions must be idempotent, as on SCF.
    ///
    /// Must be called inside a tokio runtime.
    pub fn start_dispatcher<F, Fut>(&self, config: DispatchConfig, deliver: F) -> Dispatcher
    where
        F: Fn(AsyncEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = DeliveryOutcome> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(None);
        let queue = self.clone();
        let task = tokio::spawn(run(queue, config, Arc::new(deliver), stopped));
        Dispatcher { stop, task }
    }
}

async fn run<F, Fut>(
    queue: DurableQueue,
    config: DispatchConfig,
    deliver: Arc<F>,
    mut stopped: watch::Receiver<Option<Duration>>,
) where
    F: Fn(AsyncEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = DeliveryOutcome> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let limit = |function: &str| {
        config
            .per_function
            .get(function)
            .copied()
            .unwrap_or(config.default_per_function)
            .max(1)
    };
    let mut deliveries = JoinSet::new();
    // Pruning runs beside the deliveries, so a queue that is never idle is pruned too.
    let pruner = tokio::spawn(prune_every(
        queue.clone(),
        config.prune_every,
        stopped.clone(),
    ));
    let clock = queue.clock().clone();
    'main: loop {
        while deliveries.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("never closed"),
            _ = stopped.changed() => break 'main,
        };
        let (request_id, function) = loop {
            let now = clock.now_ms();
            let wait = match queue.next(now, &limit) {
                Next::Deliver(id, function) => break (id, function),
                Next::WaitUntil(due) => Some(clock.real_duration(Duration::from_millis(due - now))),
                Next::Idle => None,
            };
            tokio::select! {
                _ = queue.inner.wake.notified() => {}
                _ = sleep_opt(wait) => {}
                _ = stopped.changed() => break 'main,
            }
        };
        let queue = queue.clone();
        let deliver = deliver.clone();
        deliveries.spawn(async move {
            deliver_one(&queue, request_id, function, &*deliver, permit).await;
        });
    }
    // Stopped: the pruner ends at the same signal (after the prune it may be in).
    let _ = pruner.await;
    let grace = stopped.borrow().unwrap_or_default();
    let drained = tokio::time::timeout(grace, async {
        while deliveries.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(target: "scf::async", "{} async deliveries still running at shutdown; they will run again after a restart", deliveries.len());
        deliveries.abort_all();
        while deliveries.join_next().await.is_some() {}
    }
}

/// Prunes one period after the start, then every period, until stopped.
async fn prune_every(
    queue: DurableQueue,
    period: Duration,
    mut stopped: watch::Receiver<Option<Duration>>,
) {
    let period = period.max(Duration::from_millis(10));
    let mut prune = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = prune.tick() => {
                if let Err(e) = queue.prune().await {
                    tracing::warn!(target: "scf::async", "pruning old async events failed: {e}");
                }
            }
            _ = stopped.changed() => return,
        }
    }
}

async fn sleep_opt(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

/// Runs one delivery. The concurrency it holds (`permit` and the function's count) is given
/// back as soon as the function has answered; the event stays in flight until its outcome is
/// written, so it is never taken twice.
async fn deliver_one<F, Fut>(
    queue: &DurableQueue,
    request_id: String,
    function: String,
    deliver: &F,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    F: Fn(AsyncEvent) -> Fut,
    Fut: Future<Output = DeliveryOutcome>,
{
    let clock = queue.clock().clone();
    let loaded = queue.inner.store.get_with_payload(&request_id);
    let (record, payload) = match loaded {
        Ok((Some(record), payload)) if record.state == EventState::Queued => (record, payload),
        Ok(_) => {
            // Gone or done meanwhile (purged, aborted): nothing to deliver.
            drop(permit);
            queue.invocation_ended(&function);
            queue.delivered(&function, request_id, None);
            return;
        }
        Err(e) => {
            tracing::error!(target: "scf::async", request_id, "cannot read the async event: {e}; retrying in 1 s");
            let retry = clock.now_ms() + 1000;
            drop(permit);
            queue.invocation_ended(&function);
            queue.delivered(&function, request_id, Some(retry));
            return;
        }
    };
    let start = clock.now_ms();
    let mut record = record;
    record.state = record
        .state
        .apply(Transition::Dispatch)
        .expect("a queued event can be dispatched");
    record.attempts += 1;
    record.started_ms.get_or_insert(start);
    let event = AsyncEvent {
        record: record.clone(),
        payload: payload.unwrap_or_default(),
    };
    let outcome = deliver(event).await;
    drop(permit);
    queue.invocation_ended(&function);
    let end = clock.now_ms();
    let decision = queue.policy_of(&record.function).decide(
        &outcome,
        &record.failures,
        record.created_ms,
        end,
    );
    record.failures = record.failures.after(&outcome);
    if let Some((code, message)) = outcome.error() {
        record.last_error = Some(EventError {
            code,
            message: message.to_owned(),
        });
    }
    let (transition, retry_at) = match decision {
        Decision::Finish => (Transition::Succeed, None),
        Decision::Retry { due_ms, .. } => {
            record.due_ms = due_ms;
            (Transition::Retry, Some(due_ms))
        }
        Decision::DeadLetter(why) => {
            record.give_up = Some(why);
            if let Some(error) = &record.last_error {
                tracing::warn!(target: "scf::async", request_id, function, code = error.code, "async event dead-lettered ({}): {}", why.describe(), error.message);
            }
            (Transition::DeadLetter, None)
        }
    };
    record.state = record
        .state
        .apply(transition)
        .expect("an in-flight event can end this way");
    if record.state.is_terminal() {
        record.ended_ms = Some(end);
    }
    let ended = match record.state {
        EventState::Finished => Some(1),
        EventState::Failed => Some(2),
        _ => None,
    };
    match queue.put_outcome(record).await {
        Ok(()) => {
            if let Some(i) = ended {
                queue.inner.totals[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            queue.delivered(&function, request_id, retry_at)
        }
        Err(e) => {
            // Still queued on disk: deliver it again (a duplicate if it had succeeded).
            tracing::error!(target: "scf::async", request_id, "cannot record the delivery outcome: {e}; it will be delivered again");
            let retry = clock.now_ms() + 1000;
            queue.delivered(&function, request_id, Some(retry));
        }
    }
}
