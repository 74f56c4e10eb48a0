//! CKafka trigger: `cargo scf serve` consumes a Kafka topic and invokes the function with batches of
//! messages, in the CKafka event shape ([CKafka trigger](https://www.tencentcloud.com/document/product/583/17530)).
//!
//! ```toml
//! [[functions.orders.triggers]]
//! type = "ckafka"
//! brokers = ["127.0.0.1:9092"]   # bootstrap brokers, host:port (plaintext Kafka)
//! topic = "orders"
//! name = "orders-main"           # optional; default: the topic. Names the stored offsets
//! partitions = [0, 1]            # optional; default: every partition (new ones are picked up)
//! batch_size = 100               # optional; most messages per event, 1 to 10000 (default 100)
//! max_wait_s = 3                 # optional; longest wait to fill a batch, 1 to 60 s (default 3)
//! offset = "latest"              # optional; "latest" (default) or "earliest": where a partition
//!                                # without a stored offset starts
//! ```
//!
//! # The event
//!
//! ```json
//! {"Records":[{"Ckafka":{"topic":"orders","partition":0,"offset":41,"msgKey":"k1","msgBody":"{\"id\":7}"}}, …]}
//! ```
//!
//! * One event holds 1 to `batch_size` messages of **one partition**, in offset order; it is
//!   also cut so that it stays under 6 MB ([`MAX_BATCH_BYTES`], the platform's limit for a
//!   synchronous event). A batch goes out when it is full, or `max_wait_s` after its first
//!   message arrived.
//! * A message without a key has `msgKey` `"None"` (the literal text the platform sends); a
//!   message without a value (a tombstone) has `msgBody` `""`.
//! * A key or value that is not valid UTF-8 is passed **decoded lossily**: each invalid byte
//!   sequence becomes U+FFFD, and a warning names the first such offset of each partition.
//!   Binary payloads do not survive; send text (JSON, base64) through topics that trigger
//!   functions.
//!
//! # Delivery
//!
//! Each batch is handed to a [`BatchSink`]; in `cargo scf serve` that is the durable async queue
//! (`EventSource::Ckafka`), so the function runs with the async retry policy, and the batch
//! shows in `ListAsyncEvents` with `InvokeType` `CKAFKA`.
//!
//! * **Per partition, in order, one batch at a time:** the next batch of a partition is handed
//!   over only after the previous one was accepted, with an [`OrderKey`] naming the partition
//!   and the batch's first offset; the durable queue then runs a partition's batches one at a
//!   time in offset order, and a failing batch holds its partition while it is retried (until
//!   it finishes or is dead-lettered). Partitions are consumed and run independently.
//! * **Offsets are stored after acceptance:** once the sink has accepted a batch (written and
//!   fsynced), the partition's next offset is stored (fsynced) in the state folder
//!   (`server.state_dir`), under `<function>/<trigger name>`. Nothing is committed to the broker.
//! * **At least once, nothing skipped:** on a restart each partition resumes at its stored
//!   offset. If the process dies after a batch was accepted but before its offset was stored,
//!   that batch is accepted **again** after the restart (a duplicate); handlers must be
//!   idempotent, as on SCF. A stop through [`Consumers::stop`] lets a batch being accepted
//!   finish and store its offset, so a clean stop makes no duplicates.
//! * **Refusals:** a batch the sink refuses (queue full, 432; shutting down; any other error)
//!   is retried as the same batch after a backoff of 1 s doubling to 30 s, with a warning; the
//!   offset does not move. A batch refused as too large (406) is halved until it is accepted;
//!   a single message that alone is refused as too large is logged as an error and skipped.
//! * **First start:** a partition without a stored offset starts at `offset` (`latest`: the
//!   broker's end at that moment; `earliest`: the oldest message kept). That start is stored at
//!   once, so a restart before any message arrives keeps it. Changing `offset` later has no
//!   effect on partitions that have a stored offset; rename the trigger to start over.
//! * **Out of range:** if a stored offset is no longer on the broker (retention removed the
//!   messages, or the topic was recreated, e.g. a memory-only development broker restarted), the
//!   partition continues at the earliest offset the broker keeps, with a warning. A broker that
//!   does not report the error is caught after three fetches in a row see its end below the
//!   stored offset.
//!
//! # Failures
//!
//! Unreachable brokers, a missing topic or partition and failed fetches never stop the server:
//! each is logged as a warning naming the trigger, the brokers and the error, and retried after
//! a backoff of 1 s doubling to 30 s. A topic created later is picked up; the partition list is
//! looked at again every 30 s.
//!
//! # Not supported
//!
//! * **Consumer groups**: the consumer reads partitions directly and keeps its offsets locally in
//!   the state folder; it joins no group and commits nothing to the broker, so two servers on one
//!   topic each get every message.
//! * **SASL and TLS**: only plaintext connections. The trigger table has no keys for them
//!   (unknown keys are config errors), and a broker written with a `SASL_SSL://`-style scheme is
//!   refused with an error.
//! * A start **timestamp** for `offset` (the platform accepts one), and `lz4`/`zstd` compressed
//!   messages (gzip, snappy and uncompressed are read).
//!
//! ```no_run
//! # async fn demo(config: scf_runtime_server::Config, queue: scf_runtime_server::durable::DurableQueue) {
//! use scf_runtime_server::durable::{EventSource, NewEvent, OrderKey};
//! use scf_runtime_server::kafka::{BatchSink, Consumers};
//! use scf_runtime_server::fault::{Fault, InvokeError};
//!
//! #[derive(Clone)]
//! struct Enqueue(scf_runtime_server::durable::DurableQueue);
//!
//! impl BatchSink for Enqueue {
//!     async fn accept(&self, function: &str, payload: bytes::Bytes, order: OrderKey) -> Result<String, InvokeError> {
//!         self.0
//!             .enqueue(NewEvent::new(function, payload, EventSource::Ckafka).ordered(order.key, order.position))
//!             .await
//!             .map_err(InvokeError::from)
//!     }
//! }
//!
//! let consumers = Consumers::start(config.ckafka_triggers(), Enqueue(queue.clone()), queue);
//! // … serve …
//! consumers.stop().await;
//! # }
//! ```

mod batch;
mod consumer;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use batch::{MAX_BATCH_BYTES, NO_KEY};

use crate::config::TriggerSettings;
use crate::durable::{DurableQueue, EventSource, OrderKey};
use crate::fault::InvokeError;
use crate::host::Host;

/// Where the consumers hand their batches.
pub trait BatchSink: Clone + Send + Sync + 'static {
    /// Accepts one CKafka batch event for `function` durably; returns the async request id.
    ///
    /// The consumer stores the partition's next offset only after this returns `Ok`, so it must
    /// return only once the batch survives a crash. Any error makes the consumer retry the same
    /// batch after a backoff (406 makes it send smaller batches).
    ///
    /// `order` names the batch's partition stream and its first offset: batches of one
    /// partition must run one at a time, in offset order (see [`OrderKey`]).
    fn accept(
        &self,
        function: &str,
        payload: Bytes,
        order: OrderKey,
    ) -> impl Future<Output = Result<String, InvokeError>> + Send;
}

/// `cargo scf serve`'s sink: each batch goes into the durable async queue through
/// [`Host::invoke_async_ordered`], as a CKafka event of its partition's ordered stream.
impl BatchSink for Host {
    async fn accept(
        &self,
        function: &str,
        payload: Bytes,
        order: OrderKey,
    ) -> Result<String, InvokeError> {
        Host::invoke_async_ordered(self, function, payload, EventSource::Ckafka, Some(order)).await
    }
}

/// The running consumers of every `ckafka` trigger: one task per trigger, and under it one per
/// partition.
#[derive(Debug)]
pub struct Consumers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    triggers: Vec<TriggerSettings>,
}

impl Consumers {
    /// Starts one consumer task per trigger in `triggers` (none → no tasks), e.g.
    /// [`crate::Config::ckafka_triggers`], checked when the config was loaded.
    ///
    /// Must be called within a tokio runtime.
    pub fn start<S: BatchSink>(
        triggers: impl IntoIterator<Item = TriggerSettings>,
        sink: S,
        queue: DurableQueue,
    ) -> Consumers {
        let (stop, stop_rx) = watch::channel(false);
        let started: Vec<TriggerSettings> = triggers.into_iter().collect();
        let handles = started
            .iter()
            .map(|s| {
                tokio::spawn(consumer::run_trigger(
                    Arc::new(s.clone()),
                    sink.clone(),
                    queue.clone(),
                    stop_rx.clone(),
                ))
            })
            .collect();
        Consumers {
            stop,
            handles,
            triggers: started,
        }
    }

    /// Stops every consumer (a batch being accepted finishes first) and waits for them.
    pub async fn stop(self) {
        let Consumers { stop, handles, .. } = self;
        let _ = stop.send(true);
        for handle in handles {
            if let Err(e) = handle.await
                && e.is_panic()
            {
                tracing::error!(target: "scf::kafka", "a ckafka consumer panicked: {e}");
            }
        }
    }

    /// How many triggers are consumed.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether no trigger is consumed.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// The triggers being consumed.
    pub fn triggers(&self) -> &[TriggerSettings] {
        &self.triggers
    }
}
