//! The durable async event queue: SCF's async delivery ([error types and retry
//! policies](https://www.tencentcloud.com/document/product/583/39851)) on an embedded store.
//!
//! An accepted async event (invoke API with `X-Scf-Invocation-Type: Event`, Cloud API `Invoke`
//! with `InvocationType: Event`, a timer fire, a CKafka batch) is written to a redb file in the
//! state folder (`server.state_dir`, default `.scf/` beside `scf.toml`) and **fsynced before it
//! is acknowledged**. Concurrent enqueues share one commit (group commit, see [`store`]), so
//! acknowledging thousands of events per second costs a few fsyncs, not thousands.
//!
//! A [`Dispatcher`] delivers due events through a function the caller provides and applies
//! SCF's [`RetryPolicy`] to each [`DeliveryOutcome`]: function errors are retried twice a minute
//! apart, throttles and system errors back off exponentially up to 5 minutes until the event is
//! 6 hours old, and then the event is dead-lettered (`FAILED`) with its request id, error code
//! and message. The request id is the same on every retry.
//!
//! # Guarantees
//!
//! * **Durable acceptance:** [`DurableQueue::enqueue`] returns only after the commit holding
//!   the event is on disk; an acknowledged event survives `kill -9` and power loss (as far as
//!   the disk honours fsync).
//! * **At least once:** an outcome is recorded after the delivery returns, and fsynced by the
//!   next acceptance's commit or within [`QueueConfig::outcome_sync`] (100 ms). An event that was
//!   in flight when the process died, or whose outcome was not fsynced yet, is delivered again
//!   after the restart, so **duplicates are possible after a crash** (never lost events).
//!   Handlers must be idempotent, as on SCF.
//! * **Bounded memory:** per function at most `max_pending_per_function` events are accepted
//!   and not done; past it enqueue fails with [`DurableError::QueueFull`] (SCF 432) and nothing
//!   already accepted is dropped. Memory holds only ids and due times; payloads are read from
//!   disk when delivered.
//!
//! # Lifecycle
//!
//! States and transitions are in [`state`]: `Queued → InFlight → Finished | Queued (retry) |
//! Failed (dead letter)`, `Failed → Queued` (replay), `Queued → Aborted`. SCF's statuses are
//! `RUNNING` (queued or in flight), `FINISHED`, `FAILED` and `ABORTED`.
//!
//! # Operations
//!
//! [`DurableQueue::get`] (`GetAsyncEventStatus`), [`DurableQueue::list`] (`ListAsyncEvents`),
//! [`DurableQueue::dead_letters`], [`DurableQueue::replay`] (same or fresh request id),
//! [`DurableQueue::purge`] and [`DurableQueue::abort`]. Finished and aborted events are pruned
//! after `retention` (72 h), or earlier, oldest first, past `max_kept` (100,000); dead letters
//! stay until purged. Listings read an index, never every stored event (see [`store`]). [`view`] has what the `/async`
//! routes and `cargo scf events` / `cargo scf dlq` show of them ([`EventView`], [`DeadLetterView`]).
//!
//! # Time
//!
//! Every time is read from a [`Clock`]: the wall clock in production, a [`ScaledClock`] in tests
//! so a shortened policy's intervals, backoff and max age run in milliseconds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use scf_runtime_server::durable::{DeliveryOutcome, DispatchConfig, DurableQueue, EventSource, NewEvent, QueueConfig};
//!
//! let queue = DurableQueue::open(".scf".as_ref(), QueueConfig::default())?;
//! let dispatcher = queue.start_dispatcher(DispatchConfig::default(), |event| async move {
//!     println!("run {} with {} bytes", event.function(), event.payload.len());
//!     DeliveryOutcome::Success
//! });
//! let id = queue.enqueue(NewEvent::new("echo", "{}", EventSource::Invoke)).await?;
//! println!("accepted {id}");
//! dispatcher.stop(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

mod clock;
mod dispatcher;
mod error;
mod policy;
mod queue;
mod record;
pub mod state;
pub mod store;
pub mod view;

pub use clock::{Clock, ScaledClock, SystemClock, format_scf_time, parse_scf_time, unix_ms};
pub use dispatcher::{DispatchConfig, Dispatcher};
pub use error::DurableError;
pub use policy::{Backoff, Decision, DeliveryOutcome, FailureCounts, GiveUp, RetryPolicy};
pub use queue::{
    COUNT_CAP, DeadLetterFilter, DurableQueue, ListQuery, PRUNE_BATCH, Page, QueueConfig,
    QueueTotals, ReplayId, StateCounts,
};
pub use record::{
    AsyncEvent, DeadLetter, EventError, EventRecord, EventSource, NewEvent, OrderKey,
};
pub use state::{AsyncStatus, EventState, InvalidTransition, Transition};
pub use view::{DeadLetterPage, DeadLetterView, EventPage, EventView};
