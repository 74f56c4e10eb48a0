//! [`DurableQueue`]: accepting events, the in-memory schedule, queries and dead-letter operations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

use super::clock::{Clock, SystemClock};
use super::error::DurableError;
use super::policy::{FailureCounts, RetryPolicy};
use super::record::{DeadLetter, EventRecord, EventSource, NewEvent};
use super::state::{AsyncStatus, EventState, Transition};
use super::store::{Bucket, IndexScan, Store, WriteOp};

/// Limits and policy of a [`DurableQueue`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// Accepted events per function that are not done yet (queued, in flight or waiting for a
    /// retry); past it [`DurableQueue::enqueue`] fails with [`DurableError::QueueFull`]
    /// (default 100,000). Memory per waiting event is its id and due time
    /// (about 100 bytes); payloads stay on disk until delivery.
    pub max_pending_per_function: usize,
    /// The retry and dead-letter policy.
    pub policy: RetryPolicy,
    /// How long finished and aborted events stay queryable (default 72 h, as SCF keeps
    /// `GetAsyncEventStatus` answers). Dead letters stay until purged.
    pub retention: Duration,
    /// Most finished and aborted events kept, over all functions (default 100,000): past it
    /// the oldest are pruned before their retention ends, so a sustained rate of events
    /// leaves the store's size bounded.
    pub max_kept: u64,
    /// Longest time a delivery's outcome (finished, retry, dead letter) stays committed but not
    /// fsynced (default 100 ms): outcomes are made durable by the next acceptance's fsync, or
    /// by one of their own after this long. A crash within it delivers the event again (at
    /// least once), as a crash during the delivery would.
    pub outcome_sync: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_pending_per_function: 100_000,
            policy: RetryPolicy::default(),
            retention: Duration::from_secs(72 * 3600),
            max_kept: 100_000,
            outcome_sync: Duration::from_millis(100),
        }
    }
}

/// Most events one commit of [`DurableQueue::prune`] removes (a prune makes as many as needed).
pub const PRUNE_BATCH: usize = 10_000;

/// How many matches past the page a listing counts when its total cannot be read from the
/// counts (a time interval, an invocation type or an end-time filter): `total` is then at most
/// the page's end plus this.
pub const COUNT_CAP: usize = 10_000;

/// How [`DurableQueue::replay`] names the re-queued event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayId {
    /// Keep the dead letter's request id (status queries on it show `RUNNING` again).
    Same,
    /// A fresh request id; the dead letter is removed.
    Fresh,
}

/// Filters and paging for [`DurableQueue::list`] (the `ListAsyncEvents` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this function's events.
    pub function: Option<String>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<AsyncStatus>,
    /// Only these sources (empty: all).
    pub sources: Vec<EventSource>,
    /// Only this request id.
    pub request_id: Option<String>,
    /// Accepted within this range of Unix ms (SCF's `StartTimeInterval`).
    pub created: Option<Range<u64>>,
    /// Ended within this range of Unix ms (SCF's `EndTimeInterval`).
    pub ended: Option<Range<u64>>,
    /// Oldest first (`Order: ASC`); newest first by default.
    pub ascending: bool,
    /// Matches to skip.
    pub offset: usize,
    /// Most matches to return.
    pub limit: usize,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            function: None,
            statuses: Vec::new(),
            sources: Vec::new(),
            request_id: None,
            created: None,
            ended: None,
            ascending: false,
            offset: 0,
            limit: 20,
        }
    }
}

impl ListQuery {
    fn matches(&self, r: &EventRecord) -> bool {
        self.function.as_ref().is_none_or(|f| *f == r.function)
            && (self.statuses.is_empty() || self.statuses.contains(&r.status()))
            && (self.sources.is_empty() || self.sources.contains(&r.source))
            && self
                .request_id
                .as_ref()
                .is_none_or(|id| *id == r.request_id)
            && self
                .created
                .as_ref()
                .is_none_or(|c| c.contains(&r.created_ms))
            && self
                .ended
                .as_ref()
                .is_none_or(|e| r.ended_ms.is_some_and(|t| e.contains(&t)))
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// How many items match in all.
    pub total: usize,
    /// The items of this page.
    pub items: Vec<T>,
}

/// Which dead letters an operation applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeadLetterFilter {
    /// Only this function's.
    pub function: Option<String>,
    /// Only these request ids (empty: all).
    pub request_ids: Vec<String>,
}

impl DeadLetterFilter {
    fn matches(&self, r: &EventRecord) -> bool {
        self.function.as_ref().is_none_or(|f| *f == r.function)
            && (self.request_ids.is_empty() || self.request_ids.contains(&r.request_id))
    }
}

/// Events a queue accepted and ended since it was opened (see [`DurableQueue::totals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueTotals {
    /// Accepted (enqueued; replays not included).
    pub accepted: u64,
    /// Finished by a delivery.
    pub finished: u64,
    /// Dead-lettered by a delivery.
    pub dead_lettered: u64,
}

/// How many of one function's events are in each state (see [`DurableQueue::state_counts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StateCounts {
    /// Accepted and waiting for their first delivery.
    pub queued: usize,
    /// Being delivered right now.
    pub running: usize,
    /// Failed at least once and waiting for a retry.
    pub retrying: usize,
    /// Finished successfully (until pruned after the retention).
    pub succeeded: usize,
    /// Given up on: the dead letters.
    pub dead_lettered: usize,
    /// Stopped by an operator.
    pub aborted: usize,
}

/// The durable async event queue. Cheap to clone; every clone is the same queue.
///
/// ```no_run
/// # async fn demo() -> Result<(), scf_runtime_server::durable::DurableError> {
/// use scf_runtime_server::durable::{DurableQueue, EventSource, NewEvent, QueueConfig};
///
/// let queue = DurableQueue::open(".scf".as_ref(), QueueConfig::default())?;
/// // Returns once the event is fsynced: now it survives a crash.
/// let request_id = queue.enqueue(NewEvent::new("echo", r#"{"k":1}"#, EventSource::Invoke)).await?;
/// let record = queue.get(&request_id)?.expect("just accepted");
/// assert_eq!(record.status().as_str(), "RUNNING");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DurableQueue {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) config: QueueConfig,
    pub(crate) clock: Arc<dyn Clock>,
    index: Mutex<Index>,
    pub(crate) wake: Notify,
    /// Functions with retry settings of their own (`UpdateFunctionEventInvokeConfig`).
    policies: std::sync::RwLock<HashMap<String, RetryPolicy>>,
    /// Since the queue was opened: events accepted, finished and dead-lettered.
    pub(crate) totals: [std::sync::atomic::AtomicU64; 3],
}

/// The schedule: per function, due events by (due time, arrival), and counts.
#[derive(Debug, Default)]
struct Index {
    functions: HashMap<String, FunctionQueue>,
    in_flight: HashSet<String>,
    seq: u64,
    /// Ordered streams: every event not done, by (position, arrival). Only the stream's
    /// active event is scheduled; the others wait here.
    streams: HashMap<String, BTreeMap<(i64, u64), Parked>>,
    /// The stream event that is scheduled or in flight, per stream.
    active: HashMap<String, String>,
    /// Which stream an event waits in: request id -> (stream, its key in the stream).
    stream_of: HashMap<String, (String, (i64, u64))>,
}

/// An ordered event waiting for its turn.
#[derive(Debug, Clone)]
struct Parked {
    request_id: String,
    function: String,
    due_ms: u64,
}

#[derive(Debug, Default)]
struct FunctionQueue {
    due: BTreeMap<(u64, u64), String>,
    /// Accepted and not done: waiting in `due` or in flight.
    pending: usize,
    /// Deliveries whose function has not answered yet (what the per-function limit counts).
    in_flight: usize,
}

impl Index {
    /// Takes an accepted event into the schedule: unordered events are due at `due_ms`; an
    /// ordered one joins its stream and is due only when it is the stream's turn.
    fn admit(
        &mut self,
        function: &str,
        request_id: String,
        due_ms: u64,
        order: Option<&super::record::OrderKey>,
    ) {
        let Some(order) = order else {
            self.schedule(function, request_id, due_ms);
            return;
        };
        self.seq += 1;
        let slot = (order.position, self.seq);
        self.stream_of
            .insert(request_id.clone(), (order.key.clone(), slot));
        self.streams.entry(order.key.clone()).or_default().insert(
            slot,
            Parked {
                request_id,
                function: function.to_owned(),
                due_ms,
            },
        );
        self.activate(&order.key);
    }

    /// Schedules the stream's first event when none is active.
    fn activate(&mut self, stream: &str) {
        if self.active.contains_key(stream) {
            return;
        }
        let Some(first) = self
            .streams
            .get(stream)
            .and_then(|s| s.first_key_value())
            .map(|(_, p)| p.clone())
        else {
            self.streams.remove(stream);
            return;
        };
        self.active
            .insert(stream.to_owned(), first.request_id.clone());
        self.schedule(&first.function, first.request_id, first.due_ms);
    }

    /// An ordered event is done (or aborted while waiting): the stream moves on. False when the
    /// event is in no stream.
    fn leave_stream(&mut self, request_id: &str) -> bool {
        let Some((stream, slot)) = self.stream_of.remove(request_id) else {
            return false;
        };
        if let Some(events) = self.streams.get_mut(&stream) {
            events.remove(&slot);
        }
        if self.active.get(&stream).is_some_and(|a| a == request_id) {
            self.active.remove(&stream);
        }
        self.activate(&stream);
        true
    }

    /// Whether `request_id` waits for its stream's turn (not scheduled yet).
    fn is_parked(&self, request_id: &str) -> bool {
        self.stream_of
            .get(request_id)
            .is_some_and(|(stream, _)| self.active.get(stream).is_none_or(|a| a != request_id))
    }

    fn schedule(&mut self, function: &str, request_id: String, due_ms: u64) {
        self.seq += 1;
        let seq = self.seq;
        self.functions
            .entry(function.to_owned())
            .or_default()
            .due
            .insert((due_ms, seq), request_id);
    }
}

/// What the dispatcher may do next.
pub(crate) enum Next {
    /// Deliver this event (request id, function) now.
    Deliver(String, String),
    /// Nothing is due before this time (Unix ms).
    WaitUntil(u64),
    /// Nothing is waiting (or every function with waiting events is at its limit).
    Idle,
}

impl DurableQueue {
    /// Opens (or creates) the queue in `state_dir` on the wall clock, and reloads every event not
    /// yet done. Events that were in flight when the previous process died are due again at
    /// once: delivery is **at least once**, so a crash may deliver an event twice.
    pub fn open(state_dir: &Path, config: QueueConfig) -> Result<DurableQueue, DurableError> {
        DurableQueue::open_with_clock(state_dir, config, Arc::new(SystemClock))
    }

    /// [`open`](Self::open) with another clock (e.g. a [`ScaledClock`](super::ScaledClock) in tests).
    pub fn open_with_clock(
        state_dir: &Path,
        config: QueueConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<DurableQueue, DurableError> {
        if config.max_pending_per_function == 0 {
            return Err(DurableError::Invalid(
                "max_pending_per_function must be at least 1".into(),
            ));
        }
        let store = Store::open(state_dir, config.outcome_sync)?;
        let mut index = Index::default();
        let mut pending = store.pending()?;
        // Streams are rebuilt by position, whatever order the store lists them in.
        pending.sort_by_key(|r| (r.order.as_ref().map(|o| o.position), r.created_ms));
        for record in &pending {
            index.admit(
                &record.function,
                record.request_id.clone(),
                record.due_ms,
                record.order.as_ref(),
            );
            index
                .functions
                .entry(record.function.clone())
                .or_default()
                .pending += 1;
        }
        if !pending.is_empty() {
            tracing::info!(target: "scf::async", path = %store.path().display(), "{} accepted async events reloaded", pending.len());
        }
        Ok(DurableQueue {
            inner: Arc::new(Inner {
                store,
                config,
                clock,
                index: Mutex::new(index),
                wake: Notify::new(),
                policies: std::sync::RwLock::new(HashMap::new()),
                totals: Default::default(),
            }),
        })
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        // A panic while holding the lock leaves consistent data (every update is one statement).
        self.inner.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The queue's configuration.
    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// Gives `function` retry settings of its own (`None`: the queue's again). Events already
    /// accepted follow them from their next failure on.
    pub fn set_function_policy(&self, function: &str, policy: Option<RetryPolicy>) {
        let mut policies = self
            .inner
            .policies
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match policy {
            Some(p) => policies.insert(function.to_owned(), p),
            None => policies.remove(function),
        };
    }

    /// The retry settings `function`'s events follow.
    pub fn policy_of(&self, function: &str) -> RetryPolicy {
        self.inner
            .policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(function)
            .cloned()
            .unwrap_or_else(|| self.inner.config.policy.clone())
    }

    /// The queue's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Accepts an event: writes it and fsyncs (batched with concurrent enqueues into one
    /// commit) before returning its request id. Fails with [`DurableError::QueueFull`] when the
    /// function has `max_pending_per_function` events not done.
    pub async fn enqueue(&self, event: NewEvent) -> Result<String, DurableError> {
        if event.function.is_empty() {
            return Err(DurableError::Invalid(
                "an async event needs a function name".into(),
            ));
        }
        let request_id = match event.request_id {
            Some(id) if id.is_empty() => {
                return Err(DurableError::Invalid(
                    "an empty request id was given".into(),
                ));
            }
            Some(id) => {
                if self.inner.store.get(&id)?.is_some() {
                    return Err(DurableError::Duplicate { request_id: id });
                }
                id
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        self.reserve(&event.function)?;
        let now = self.inner.clock.now_ms();
        let record = EventRecord {
            request_id: request_id.clone(),
            function: event.function.clone(),
            qualifier: event.qualifier,
            source: event.source,
            state: EventState::Queued,
            attempts: 0,
            failures: FailureCounts::default(),
            created_ms: now,
            started_ms: None,
            due_ms: now,
            ended_ms: None,
            last_error: None,
            give_up: None,
            payload_len: event.payload.len() as u64,
            order: event.order.clone(),
        };
        let written = self
            .inner
            .store
            .write(vec![WriteOp::Put {
                record,
                payload: Some(event.payload),
            }])
            .await;
        if let Err(e) = written {
            self.release(&event.function);
            return Err(e);
        }
        self.index().admit(
            &event.function,
            request_id.clone(),
            now,
            event.order.as_ref(),
        );
        self.inner.totals[0].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.wake.notify_one();
        Ok(request_id)
    }

    /// Since the queue was opened: events accepted, and events that finished or were
    /// dead-lettered by a delivery (what a soak run compares).
    pub fn totals(&self) -> QueueTotals {
        let read = |i: usize| self.inner.totals[i].load(std::sync::atomic::Ordering::Relaxed);
        QueueTotals {
            accepted: read(0),
            finished: read(1),
            dead_lettered: read(2),
        }
    }

    /// Takes a slot of `function`'s bound.
    fn reserve(&self, function: &str) -> Result<(), DurableError> {
        let limit = self.inner.config.max_pending_per_function;
        let mut index = self.index();
        let queue = index.functions.entry(function.to_owned()).or_default();
        if queue.pending >= limit {
            return Err(DurableError::QueueFull {
                function: function.to_owned(),
                limit,
            });
        }
        queue.pending += 1;
        Ok(())
    }

    fn release(&self, function: &str) {
        if let Some(queue) = self.index().functions.get_mut(function) {
            queue.pending = queue.pending.saturating_sub(1);
        }
    }

    /// Accepted events of `function` not done yet (queued, in flight, waiting for a retry).
    pub fn pending(&self, function: &str) -> usize {
        self.index()
            .functions
            .get(function)
            .map_or(0, |q| q.pending)
    }

    /// Write transactions (each one fsync) committed since the queue was opened: with group
    /// commit, far fewer than the events accepted under concurrent load.
    pub fn commits(&self) -> u64 {
        self.inner.store.commits()
    }

    /// Write transactions of delivery outcomes alone, committed without an fsync (made durable
    /// by the next of [`commits`](Self::commits)).
    pub fn unsynced_commits(&self) -> u64 {
        self.inner.store.unsynced_commits()
    }

    /// Event records read by lookups and listings since the queue was opened: a listing reads
    /// the records of its page (and, with a filter the indexes do not hold, those it counts),
    /// never every stored event.
    pub fn records_read(&self) -> u64 {
        self.inner.store.records_read()
    }

    /// Events being delivered right now.
    pub fn in_flight(&self) -> usize {
        self.index().in_flight.len()
    }

    /// The record of `request_id` (its state is `InFlight` while it is being delivered).
    pub fn get(&self, request_id: &str) -> Result<Option<EventRecord>, DurableError> {
        let mut record = self.inner.store.get(request_id)?;
        if let Some(record) = &mut record
            && self.index().in_flight.contains(request_id)
        {
            record.state = EventState::InFlight;
        }
        Ok(record)
    }

    /// The payload of `request_id` (kept until it finishes; dead letters keep theirs).
    pub fn payload(&self, request_id: &str) -> Result<Option<Bytes>, DurableError> {
        self.inner.store.payload(request_id)
    }

    /// Events matching `query`, in acceptance order, with the count of matches.
    ///
    /// The listing walks only the index of the function and statuses asked for, from the
    /// start of the page, and reads only the records it returns; `total` comes from the
    /// stored counts. With a filter the indexes do not hold (a time interval, sources or an
    /// end time), matches are counted up to [`COUNT_CAP`] past the page. Blocking: async code
    /// calls [`list_blocking`](Self::list_blocking).
    pub fn list(&self, query: &ListQuery) -> Result<Page<EventRecord>, DurableError> {
        if let Some(id) = &query.request_id {
            let items: Vec<EventRecord> = self
                .get(id)?
                .filter(|r| query.matches(r))
                .into_iter()
                .collect();
            let total = items.len();
            let items = items
                .into_iter()
                .skip(query.offset)
                .take(query.limit)
                .collect();
            return Ok(Page { total, items });
        }
        let exact = query.created.is_none() && query.sources.is_empty() && query.ended.is_none();
        let total = if exact {
            let counts = self.inner.store.counts()?;
            let total: u64 = counts
                .iter()
                .filter(|(function, bucket, _)| {
                    query.function.as_ref().is_none_or(|f| f == function)
                        && (query.statuses.is_empty() || query.statuses.contains(&bucket.status()))
                })
                .map(|(_, _, n)| n)
                .sum();
            Some(total as usize)
        } else {
            None
        };
        let scan = IndexScan {
            function: query.function.as_deref(),
            statuses: &query.statuses,
            created: query.created.clone().unwrap_or(0..u64::MAX),
            ascending: query.ascending,
        };
        let page_end = query.offset.saturating_add(query.limit);
        let mut matched = 0usize;
        let mut items = Vec::new();
        self.inner.store.scan_index(&scan, |_, load| {
            if exact {
                if matched >= query.offset
                    && let Some(record) = load()?
                {
                    items.push(record);
                }
                matched += 1;
                return Ok(matched < page_end);
            }
            let Some(record) = load()? else {
                return Ok(true);
            };
            if query.matches(&record) {
                if matched >= query.offset && items.len() < query.limit {
                    items.push(record);
                }
                matched += 1;
            }
            Ok(matched < page_end.saturating_add(COUNT_CAP))
        })?;
        let in_flight = &self.index().in_flight;
        for record in &mut items {
            if in_flight.contains(&record.request_id) {
                record.state = EventState::InFlight;
            }
        }
        Ok(Page {
            total: total.unwrap_or(matched),
            items,
        })
    }

    /// [`list`](Self::list) on the blocking threads, so a listing never holds up the threads
    /// that serve invocations.
    pub async fn list_blocking(&self, query: ListQuery) -> Result<Page<EventRecord>, DurableError> {
        let queue = self.clone();
        tokio::task::spawn_blocking(move || queue.list(&query))
            .await
            .map_err(|e| DurableError::Store(format!("listing async events failed: {e}")))?
    }

    /// Per function, how many of its kept events are in each state (read from the stored
    /// counts: a few entries per function, whatever the number of events).
    pub fn state_counts(&self) -> Result<BTreeMap<String, StateCounts>, DurableError> {
        let mut counts: BTreeMap<String, StateCounts> = BTreeMap::new();
        for (function, bucket, n) in self.inner.store.counts()? {
            let c = counts.entry(function).or_default();
            let n = n as usize;
            match bucket {
                Bucket::Queued => c.queued += n,
                Bucket::Retrying => c.retrying += n,
                Bucket::InFlight => c.running += n,
                Bucket::Finished => c.succeeded += n,
                Bucket::Failed => c.dead_lettered += n,
                Bucket::Aborted => c.aborted += n,
            }
        }
        // Events being delivered are stored as queued (or retrying): count them as running.
        let in_flight: Vec<String> = self.index().in_flight.iter().cloned().collect();
        for id in in_flight {
            let Some(record) = self.inner.store.get(&id)? else {
                continue;
            };
            if record.state != EventState::Queued {
                continue;
            }
            let c = counts.entry(record.function).or_default();
            let from = if record.attempts > 0 {
                &mut c.retrying
            } else {
                &mut c.queued
            };
            if *from > 0 {
                *from -= 1;
                c.running += 1;
            }
        }
        Ok(counts)
    }

    /// The size of the store's file in bytes.
    pub fn file_bytes(&self) -> u64 {
        self.inner.store.file_bytes()
    }

    /// Compacts the store's file now (it is also compacted after prunes that leave it less
    /// than half used); `false` when a reader held the file or nothing was gained.
    pub async fn compact(&self) -> Result<bool, DurableError> {
        self.inner.store.compact().await
    }

    /// Dead letters matching `filter`, oldest first, paged.
    pub fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Page<DeadLetter>, DurableError> {
        // Without request ids the total is in the counts, and the walk stops at the page's end.
        let counted = if filter.request_ids.is_empty() {
            let counts = self.inner.store.counts()?;
            Some(
                counts
                    .iter()
                    .filter(|(f, bucket, _)| {
                        *bucket == Bucket::Failed && filter.function.as_ref().is_none_or(|g| g == f)
                    })
                    .map(|(_, _, n)| *n as usize)
                    .sum::<usize>(),
            )
        } else {
            None
        };
        let page_end = offset.saturating_add(limit);
        let mut total = 0;
        let mut items = Vec::new();
        self.inner
            .store
            .dead_letters(filter.function.as_deref(), |record, payload| {
                if filter.matches(&record) {
                    if total >= offset && items.len() < limit {
                        items.push(DeadLetter { record, payload });
                    }
                    total += 1;
                }
                counted.is_none() || total < page_end
            })?;
        Ok(Page {
            total: counted.unwrap_or(total),
            items,
        })
    }

    /// Re-queues the dead letters matching `filter` for delivery now, under the same or a fresh
    /// request id (see [`ReplayId`]). A replay is a new acceptance: the failure counts, the
    /// event's age and its attempts start over. Returns the request ids queued.
    pub async fn replay(
        &self,
        filter: &DeadLetterFilter,
        id: ReplayId,
    ) -> Result<Vec<String>, DurableError> {
        let mut found = Vec::new();
        self.inner
            .store
            .dead_letters(filter.function.as_deref(), |record, payload| {
                if filter.matches(&record) {
                    found.push((record, payload));
                }
                true
            })?;
        if found.is_empty() && filter.request_ids.len() == 1 {
            return Err(self.missing_dead_letter(&filter.request_ids[0]));
        }
        let mut queued = Vec::new();
        for (old, payload) in found {
            let state =
                old.state
                    .apply(Transition::Replay)
                    .map_err(|_| DurableError::WrongState {
                        request_id: old.request_id.clone(),
                        state: old.state,
                        action: "replay",
                    })?;
            self.reserve(&old.function)?;
            let now = self.inner.clock.now_ms();
            let mut record = EventRecord {
                state,
                attempts: 0,
                failures: FailureCounts::default(),
                created_ms: now,
                started_ms: None,
                due_ms: now,
                ended_ms: None,
                give_up: None,
                ..old.clone()
            };
            let mut ops = Vec::new();
            if id == ReplayId::Fresh {
                record.request_id = uuid::Uuid::new_v4().to_string();
                ops.push(WriteOp::Delete {
                    request_id: old.request_id.clone(),
                });
            }
            let new_id = record.request_id.clone();
            ops.push(WriteOp::Put {
                record,
                payload: Some(payload.unwrap_or_default()),
            });
            if let Err(e) = self.inner.store.write(ops).await {
                self.release(&old.function);
                return Err(e);
            }
            self.index()
                .admit(&old.function, new_id.clone(), now, old.order.as_ref());
            self.inner.wake.notify_one();
            queued.push(new_id);
        }
        Ok(queued)
    }

    fn missing_dead_letter(&self, request_id: &str) -> DurableError {
        match self.get(request_id) {
            Ok(Some(record)) => DurableError::WrongState {
                request_id: request_id.to_owned(),
                state: record.state,
                action: "replay or purge (not a dead letter)",
            },
            _ => DurableError::NotFound {
                request_id: request_id.to_owned(),
            },
        }
    }

    /// Deletes the dead letters matching `filter`; returns how many.
    pub async fn purge(&self, filter: &DeadLetterFilter) -> Result<usize, DurableError> {
        let mut ids = Vec::new();
        self.inner
            .store
            .dead_letters(filter.function.as_deref(), |record, _| {
                if filter.matches(&record) {
                    ids.push(record.request_id);
                }
                true
            })?;
        if ids.is_empty() && filter.request_ids.len() == 1 {
            return Err(self.missing_dead_letter(&filter.request_ids[0]));
        }
        let count = ids.len();
        for chunk in ids.chunks(1024) {
            let ops = chunk
                .iter()
                .map(|id| WriteOp::Delete {
                    request_id: id.clone(),
                })
                .collect();
            self.inner.store.write(ops).await?;
        }
        Ok(count)
    }

    /// Stops a queued event before it is delivered again (`ABORTED`, SCF 499). An event being
    /// delivered right now cannot be aborted (the delivery is not interrupted).
    pub async fn abort(&self, request_id: &str) -> Result<EventRecord, DurableError> {
        let record = self
            .inner
            .store
            .get(request_id)?
            .ok_or_else(|| DurableError::NotFound {
                request_id: request_id.to_owned(),
            })?;
        let wrong_state = |state| DurableError::WrongState {
            request_id: request_id.to_owned(),
            state,
            action: "abort",
        };
        let removed = {
            let mut index = self.index();
            if index.in_flight.contains(request_id) {
                return Err(wrong_state(EventState::InFlight));
            }
            let state = record
                .state
                .apply(Transition::Abort)
                .map_err(|e| wrong_state(e.from))?;
            let parked = index.is_parked(request_id);
            let queue = index.functions.get_mut(&record.function);
            let key = queue.as_ref().and_then(|q| {
                q.due
                    .iter()
                    .find(|(_, id)| id.as_str() == request_id)
                    .map(|(key, _)| *key)
            });
            match (queue, key) {
                (Some(queue), Some(key)) => {
                    queue.due.remove(&key);
                    queue.pending = queue.pending.saturating_sub(1);
                }
                (Some(queue), None) if parked => {
                    queue.pending = queue.pending.saturating_sub(1);
                }
                _ => return Err(wrong_state(EventState::InFlight)),
            }
            // An aborted stream event lets the next one of its stream go.
            index.leave_stream(request_id);
            state
        };
        let aborted = EventRecord {
            state: removed,
            ended_ms: Some(self.inner.clock.now_ms()),
            last_error: Some(super::record::EventError {
                code: 499,
                message: "aborted by an operator".into(),
            }),
            ..record
        };
        self.inner
            .store
            .write(vec![WriteOp::Put {
                record: aborted.clone(),
                payload: None,
            }])
            .await?;
        self.inner.wake.notify_one();
        Ok(aborted)
    }

    /// Removes every finished and aborted event that ended more than `retention` ago, and the
    /// oldest of them past [`QueueConfig::max_kept`], in commits of at most [`PRUNE_BATCH`]
    /// deletions; returns how many went. Dead letters and events still queued are kept, and
    /// never hold back the finished events behind them. Reads only what it removes.
    pub async fn prune(&self) -> Result<usize, DurableError> {
        let retention = self.inner.config.retention.as_millis() as u64;
        let before_ms = self.inner.clock.now_ms().saturating_sub(retention);
        let mut pruned = 0;
        loop {
            let kept: u64 = self
                .inner
                .store
                .counts()?
                .iter()
                .filter(|(_, bucket, _)| matches!(bucket, Bucket::Finished | Bucket::Aborted))
                .map(|(_, _, n)| n)
                .sum();
            let excess = kept.saturating_sub(self.inner.config.max_kept);
            let ids = self.inner.store.prunable(before_ms, excess, PRUNE_BATCH)?;
            let n = ids.len();
            if n == 0 {
                return Ok(pruned);
            }
            self.inner.store.write(vec![WriteOp::Prune { ids }]).await?;
            pruned += n;
            if n < PRUNE_BATCH {
                return Ok(pruned);
            }
        }
    }

    /// A Kafka consumer's stored next offset of `partition` (`consumer` names the trigger).
    pub fn kafka_offset(
        &self,
        consumer: &str,
        partition: i32,
    ) -> Result<Option<i64>, DurableError> {
        self.inner.store.offset(consumer, partition)
    }

    /// Stores (fsynced) that `consumer` should next read `partition` at `next`.
    pub async fn store_kafka_offset(
        &self,
        consumer: &str,
        partition: i32,
        next: i64,
    ) -> Result<(), DurableError> {
        self.inner
            .store
            .write(vec![WriteOp::Offset {
                consumer: consumer.to_owned(),
                partition,
                next,
            }])
            .await
    }

    // ---- for the dispatcher ----

    /// Takes the earliest due event of a function under its concurrency limit.
    pub(crate) fn next(&self, now_ms: u64, limit: &dyn Fn(&str) -> usize) -> Next {
        let mut index = self.index();
        let mut best: Option<(&str, (u64, u64))> = None;
        for (function, queue) in &index.functions {
            if queue.in_flight >= limit(function) {
                continue;
            }
            if let Some((key, _)) = queue.due.first_key_value()
                && best.is_none_or(|(_, b)| *key < b)
            {
                best = Some((function, *key));
            }
        }
        let Some((function, key)) = best else {
            return Next::Idle;
        };
        if key.0 > now_ms {
            return Next::WaitUntil(key.0);
        }
        let function = function.to_owned();
        let queue = index.functions.get_mut(&function).expect("just found");
        let request_id = queue.due.remove(&key).expect("just found");
        queue.in_flight += 1;
        index.in_flight.insert(request_id.clone());
        Next::Deliver(request_id, function)
    }

    /// A delivery's function answered (its outcome may still be being written): the function
    /// may take its next event.
    pub(crate) fn invocation_ended(&self, function: &str) {
        if let Some(queue) = self.index().functions.get_mut(function) {
            queue.in_flight = queue.in_flight.saturating_sub(1);
        }
        self.inner.wake.notify_one();
    }

    /// A delivery's outcome is written: the event is due again at `retry_at`, or done.
    pub(crate) fn delivered(&self, function: &str, request_id: String, retry_at: Option<u64>) {
        {
            let mut index = self.index();
            index.in_flight.remove(&request_id);
            if let Some(queue) = index.functions.get_mut(function)
                && retry_at.is_none()
            {
                queue.pending = queue.pending.saturating_sub(1);
            }
            match retry_at {
                Some(due) => index.schedule(function, request_id, due),
                None => {
                    index.leave_stream(&request_id);
                }
            }
        }
        self.inner.wake.notify_one();
    }

    /// Writes a delivery's outcome `record` (no payload change), fsynced by a later commit (see
    /// [`QueueConfig::outcome_sync`]).
    pub(crate) async fn put_outcome(&self, record: EventRecord) -> Result<(), DurableError> {
        self.inner
            .store
            .write_outcome(vec![WriteOp::Put {
                record,
                payload: None,
            }])
            .await
    }
}
