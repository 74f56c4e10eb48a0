//! The consumer tasks: one supervisor per trigger (connects, finds the partitions, starts one
//! task per partition) and one task per partition (fetch, batch, hand over, store the offset).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rskafka::BackoffConfig;
use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::BatchSink;
use super::batch::{self, EncodedRecord, MAX_BATCH_BYTES};
use crate::config::ckafka::{StartAt, TriggerSettings};
use crate::durable::DurableQueue;
use crate::fault::{Fault, InvokeError};

/// First wait after a failure; it doubles on each further failure.
const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest wait between retries.
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// How often a trigger looks for new partitions (and retries missing ones) once all run.
const REDISCOVER_EVERY: Duration = Duration::from_secs(30);
/// How long one broker operation may retry internally before its error is reported.
const OPERATION_DEADLINE: Duration = Duration::from_secs(5);
/// Hard limit on one broker operation, on top of the deadline.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes asked for in one fetch.
const FETCH_MAX_BYTES: i32 = 4 * 1024 * 1024;
/// Longest long-poll of one fetch while nothing is buffered.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// A fetch that returns nothing sooner than this is followed by a pause (brokers that do not
/// long-poll would otherwise make the loop spin).
const MIN_EMPTY_POLL: Duration = Duration::from_millis(200);
/// Empty fetches in a row that report the partition's end below the offset asked for before the
/// offset counts as out of range.
const BEHIND_CHECKS: u32 = 3;

/// The stop signal shared by every task of a [`super::Consumers`]: `true` once stopping.
pub(crate) type Stop = watch::Receiver<bool>;

/// Resolves once a stop is requested (or the [`super::Consumers`] was dropped).
async fn stopped(stop: &mut Stop) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Whether a stop was requested (or the [`super::Consumers`] was dropped).
fn stop_requested(stop: &Stop) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Waits `d`; `false` if a stop came first.
async fn pause(stop: &mut Stop, d: Duration) -> bool {
    tokio::select! {
        _ = stopped(stop) => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// Failures in a row of one broker operation, and the wait after each: exponential from 1 s,
/// doubling, capped at 30 s (the schedule of [`crate::durable::Backoff`]).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    /// Failures in a row.
    pub(crate) failures: u32,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff { failures: 0 }
    }

    /// The wait after one more failure.
    pub(crate) fn fail(&mut self) -> Duration {
        self.failures += 1;
        crate::durable::Backoff::exponential(BACKOFF_START, BACKOFF_CAP).delay(self.failures)
    }

    pub(crate) fn reset(&mut self) {
        *self = Backoff::new();
    }
}

/// A fetch's `max_wait_ms` for `wait`: at least 1 ms (some brokers answer a 0 ms fetch with an
/// empty response that is not a valid answer).
fn fetch_wait_ms(wait: Duration) -> i32 {
    i32::try_from(wait.as_millis()).unwrap_or(i32::MAX).max(1)
}

/// Runs `op` with the hard operation timeout.
async fn bounded<T>(
    op: impl std::future::Future<Output = Result<T, KafkaError>>,
) -> Result<T, KafkaError> {
    tokio::time::timeout(OPERATION_TIMEOUT, op)
        .await
        .unwrap_or(Err(KafkaError::Timeout))
}

/// The offset `at` stands for now. `latest` is the partition's end: the larger of the broker's
/// `latest` offset and the high watermark a fetch reports (some brokers answer `latest` with the
/// start of the last record batch plus one).
async fn start_at(client: &PartitionClient, at: StartAt) -> Result<i64, KafkaError> {
    match at {
        StartAt::Earliest => bounded(client.get_offset(OffsetAt::Earliest)).await,
        StartAt::Latest => {
            let listed = bounded(client.get_offset(OffsetAt::Latest)).await?;
            let fetched = bounded(client.fetch_records(listed, 1..FETCH_MAX_BYTES, 1)).await;
            Ok(match fetched {
                Ok((_, high_watermark)) => listed.max(high_watermark),
                Err(_) => listed,
            })
        }
    }
}

/// One trigger's consumer: runs until the stop signal.
pub(crate) async fn run_trigger<S: BatchSink>(
    settings: Arc<TriggerSettings>,
    sink: S,
    queue: DurableQueue,
    mut stop: Stop,
) {
    let t = &*settings;
    let brokers = t.brokers.join(",");
    tracing::info!(target: "scf::kafka", function = %t.function, trigger = %t.name, "ckafka trigger {:?} of {} consumes topic {} from {brokers}", t.name, t.function, t.topic);
    let mut backoff = Backoff::new();
    let client = loop {
        let builder = ClientBuilder::new(t.brokers.clone())
            .client_id("scf-serve")
            .backoff_config(BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 3.0,
                deadline: Some(OPERATION_DEADLINE),
            });
        let built = tokio::select! {
            _ = stopped(&mut stop) => return,
            built = bounded(builder.build()) => built,
        };
        match built {
            Ok(client) => break Arc::new(client),
            Err(e) => {
                let wait = backoff.fail();
                tracing::warn!(target: "scf::kafka", function = %t.function, trigger = %t.name, "ckafka trigger {:?} of {}: cannot reach the brokers {brokers}: {e}; retrying in {} s", t.name, t.function, wait.as_secs());
                if !pause(&mut stop, wait).await {
                    return;
                }
            }
        }
    };
    backoff.reset();
    let consumer = Arc::new(settings.consumer_name());
    let mut running: BTreeSet<i32> = BTreeSet::new();
    let mut tasks = JoinSet::new();
    loop {
        let wait = match bounded(client.list_topics()).await {
            Err(e) => {
                let wait = backoff.fail();
                tracing::warn!(target: "scf::kafka", function = %t.function, trigger = %t.name, "ckafka trigger {:?} of {}: cannot list the topics on {brokers}: {e}; retrying in {} s", t.name, t.function, wait.as_secs());
                wait
            }
            Ok(topics) => match topics.into_iter().find(|x| x.name == t.topic) {
                None => {
                    let wait = backoff.fail();
                    tracing::warn!(target: "scf::kafka", function = %t.function, trigger = %t.name, "ckafka trigger {:?} of {}: topic {} does not exist on {brokers}; looking again in {} s", t.name, t.function, t.topic, wait.as_secs());
                    wait
                }
                Some(topic) => {
                    let existing: BTreeSet<i32> = topic.partitions.into_iter().collect();
                    let wanted: Vec<i32> = match &t.partitions {
                        None => existing.iter().copied().collect(),
                        Some(list) => list.clone(),
                    };
                    let missing: Vec<i32> = wanted
                        .iter()
                        .copied()
                        .filter(|p| !existing.contains(p))
                        .collect();
                    for p in wanted.into_iter().filter(|p| existing.contains(p)) {
                        if running.insert(p) {
                            let mut partition = Partition {
                                label: format!(
                                    "ckafka trigger {:?} of {} (topic {} partition {p} on {brokers})",
                                    t.name, t.function, t.topic
                                ),
                                settings: Arc::clone(&settings),
                                consumer: Arc::clone(&consumer),
                                client: Arc::clone(&client),
                                partition: p,
                                sink: sink.clone(),
                                queue: queue.clone(),
                                stop: stop.clone(),
                            };
                            tasks.spawn(async move {
                                let _ = partition.run().await;
                            });
                        }
                    }
                    if missing.is_empty() {
                        backoff.reset();
                        REDISCOVER_EVERY
                    } else {
                        let wait = backoff.fail();
                        tracing::warn!(target: "scf::kafka", function = %t.function, trigger = %t.name, "ckafka trigger {:?} of {}: topic {} on {brokers} has no partition {missing:?} (it has {existing:?}); looking again in {} s", t.name, t.function, t.topic, wait.as_secs());
                        wait
                    }
                }
            },
        };
        if !pause(&mut stop, wait).await {
            break;
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done
            && e.is_panic()
        {
            tracing::error!(target: "scf::kafka", function = %t.function, trigger = %t.name, "a partition consumer panicked: {e}");
        }
    }
}

/// One partition's consumer (runs until the stop signal) and what it holds.
struct Partition<S> {
    settings: Arc<TriggerSettings>,
    consumer: Arc<String>,
    client: Arc<Client>,
    partition: i32,
    sink: S,
    queue: DurableQueue,
    stop: Stop,
    /// How its log lines name it: trigger, function, topic, partition and brokers.
    label: String,
}

/// A stop was requested.
struct Stopped;

impl<S: BatchSink> Partition<S> {
    /// After a failure: logs `what` (an error for a store fault, else a warning) with the wait,
    /// then waits out the backoff; `Stopped` if a stop came first.
    async fn retry_after(
        &mut self,
        backoff: &mut Backoff,
        what: String,
        store_fault: bool,
    ) -> Result<(), Stopped> {
        let wait = backoff.fail();
        if store_fault {
            tracing::error!(target: "scf::kafka", partition = self.partition, "{}: {what}; retrying in {} s", self.label, wait.as_secs());
        } else {
            tracing::warn!(target: "scf::kafka", partition = self.partition, "{}: {what}; retrying in {} s", self.label, wait.as_secs());
        }
        if pause(&mut self.stop, wait).await {
            Ok(())
        } else {
            Err(Stopped)
        }
    }

    async fn run(&mut self) -> Result<(), Stopped> {
        let client = self.connect().await?;
        let mut next = self.start_offset(&client).await?;
        tracing::info!(target: "scf::kafka", function = %self.settings.function, trigger = %self.settings.name, partition = self.partition, "{}: consuming from offset {next}", self.label);
        // Fetched and not yet accepted, in offset order; `fetch_at` is the offset after them.
        let mut buffer: VecDeque<EncodedRecord> = VecDeque::new();
        let mut fetch_at = next;
        let mut backoff = Backoff::new();
        // Empty fetches in a row that saw the broker's end below `fetch_at`.
        let mut behind = 0;
        let mut warned_lossy = false;
        loop {
            // Fill a batch: up to batch_size, waiting at most max_wait after the first message.
            let mut deadline =
                (!buffer.is_empty()).then(|| Instant::now() + self.settings.max_wait);
            while buffer.len() < self.settings.batch_size {
                let wait = match deadline {
                    None => IDLE_POLL,
                    Some(d) => {
                        let left = d.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        left
                    }
                };
                let started = Instant::now();
                let fetched = tokio::select! {
                    _ = stopped(&mut self.stop) => return Err(Stopped),
                    f = bounded(client.fetch_records(
                        fetch_at,
                        1..FETCH_MAX_BYTES,
                        fetch_wait_ms(wait),
                    )) => f,
                };
                match fetched {
                    Ok((records, high_watermark)) => {
                        backoff.reset();
                        let got = records.len();
                        for r in records {
                            if r.offset < fetch_at {
                                continue; // already buffered
                            }
                            let encoded = batch::encode_record(
                                &self.settings.topic,
                                self.partition,
                                r.offset,
                                r.record.key,
                                r.record.value,
                            );
                            if encoded.lossy && !warned_lossy {
                                warned_lossy = true;
                                tracing::warn!(target: "scf::kafka", partition = self.partition, offset = r.offset, "{}: the key or value of the message at offset {} is not UTF-8; it is passed decoded lossily (invalid bytes become U+FFFD); further ones are logged at debug level", self.label, r.offset);
                            } else if encoded.lossy {
                                tracing::debug!(target: "scf::kafka", partition = self.partition, offset = r.offset, "{}: the message at offset {} is not UTF-8; decoded lossily", self.label, r.offset);
                            }
                            fetch_at = fetch_at.max(r.offset + 1);
                            buffer.push_back(encoded);
                        }
                        if got == 0 && (0..fetch_at).contains(&high_watermark) && buffer.is_empty()
                        {
                            behind += 1;
                        } else {
                            behind = 0;
                        }
                        if behind >= BEHIND_CHECKS {
                            // The broker's end is below our offset on several fetches in a row:
                            // the topic was recreated (or the broker lost its data). Brokers that
                            // answer such fetches with OffsetOutOfRange end up here too, below.
                            behind = 0;
                            fetch_at = self.out_of_range(&client, fetch_at).await?;
                            next = fetch_at;
                            continue;
                        }
                        if got == 0 {
                            if high_watermark > fetch_at {
                                // Only control records (transactions) at this offset: nothing
                                // to deliver, but the broker has more; do not spin on it.
                                tracing::debug!(target: "scf::kafka", "{}: no records at offset {fetch_at} below the high watermark {high_watermark}", self.label);
                            }
                            if started.elapsed() < MIN_EMPTY_POLL
                                && !pause(&mut self.stop, MIN_EMPTY_POLL).await
                            {
                                return Err(Stopped);
                            }
                        } else if deadline.is_none() {
                            deadline = Some(Instant::now() + self.settings.max_wait);
                        }
                    }
                    Err(KafkaError::ServerError {
                        protocol_error: ProtocolError::OffsetOutOfRange,
                        ..
                    }) if buffer.is_empty() => {
                        fetch_at = self.out_of_range(&client, fetch_at).await?;
                        next = fetch_at;
                    }
                    Err(e) => {
                        if !buffer.is_empty() {
                            // Hand over what is here; the fetch is retried after it.
                            break;
                        }
                        self.retry_after(
                            &mut backoff,
                            format!("fetch at offset {fetch_at} failed: {e}"),
                            false,
                        )
                        .await?;
                    }
                }
            }
            debug_assert!(buffer.front().is_none_or(|r| r.offset >= next));
            next = self.deliver(&mut buffer, next).await?;
        }
    }

    /// A client for this partition's leader, retried with backoff.
    async fn connect(&mut self) -> Result<PartitionClient, Stopped> {
        let mut backoff = Backoff::new();
        loop {
            let made = tokio::select! {
                _ = stopped(&mut self.stop) => return Err(Stopped),
                c = bounded(self.client.partition_client(
                    self.settings.topic.clone(),
                    self.partition,
                    UnknownTopicHandling::Error,
                )) => c,
            };
            match made {
                Ok(c) => return Ok(c),
                Err(e) => {
                    self.retry_after(
                        &mut backoff,
                        format!("cannot reach the partition leader: {e}"),
                        false,
                    )
                    .await?;
                }
            }
        }
    }

    /// The stored offset, else `latest`/`earliest` from the broker, which is then stored at once
    /// (so a restart before the first message keeps the same start and skips nothing).
    async fn start_offset(&mut self, client: &PartitionClient) -> Result<i64, Stopped> {
        let mut backoff = Backoff::new();
        loop {
            match self.queue.kafka_offset(&self.consumer, self.partition) {
                Ok(Some(stored)) => return Ok(stored),
                Ok(None) => {}
                Err(e) => {
                    self.retry_after(
                        &mut backoff,
                        format!("cannot read the stored offset: {e}"),
                        true,
                    )
                    .await?;
                    continue;
                }
            }
            let asked = tokio::select! {
                _ = stopped(&mut self.stop) => return Err(Stopped),
                o = start_at(client, self.settings.start_at) => o,
            };
            match asked {
                Ok(offset) => {
                    self.store_offset(offset).await?;
                    return Ok(offset);
                }
                Err(e) => {
                    self.retry_after(
                        &mut backoff,
                        format!(
                            "cannot ask for the {:?} offset: {e}",
                            self.settings.start_at
                        ),
                        false,
                    )
                    .await?;
                }
            }
        }
    }

    /// The broker no longer has (or does not yet have) `offset`: restart at the earliest offset
    /// it keeps, which skips only what the broker already removed.
    async fn out_of_range(
        &mut self,
        client: &PartitionClient,
        offset: i64,
    ) -> Result<i64, Stopped> {
        let mut backoff = Backoff::new();
        loop {
            let asked = tokio::select! {
                _ = stopped(&mut self.stop) => return Err(Stopped),
                o = bounded(client.get_offset(OffsetAt::Earliest)) => o,
            };
            match asked {
                Ok(earliest) => {
                    tracing::warn!(target: "scf::kafka", partition = self.partition, "{}: offset {offset} is out of the broker's range (messages removed by retention, or the topic was recreated); continuing at the earliest offset {earliest}", self.label);
                    self.store_offset(earliest).await?;
                    return Ok(earliest);
                }
                Err(e) => {
                    self.retry_after(
                        &mut backoff,
                        format!("cannot ask for the earliest offset: {e}"),
                        false,
                    )
                    .await?;
                }
            }
        }
    }

    /// Stores `next` durably, retrying on store faults. A stop during the retries gives up (the
    /// batch is delivered again after a restart).
    async fn store_offset(&mut self, next: i64) -> Result<(), Stopped> {
        let mut backoff = Backoff::new();
        loop {
            match self
                .queue
                .store_kafka_offset(&self.consumer, self.partition, next)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.retry_after(
                        &mut backoff,
                        format!("cannot store the next offset {next}: {e}"),
                        true,
                    )
                    .await?;
                }
            }
        }
    }

    /// Hands every buffered record to the sink, batch by batch, storing the next offset after
    /// each accepted batch. Returns the new next offset. A refused batch is retried with backoff
    /// (the offset does not move); a stop during that wait returns `Stopped`.
    async fn deliver(
        &mut self,
        buffer: &mut VecDeque<EncodedRecord>,
        mut next: i64,
    ) -> Result<i64, Stopped> {
        let mut backoff = Backoff::new();
        let mut max_records = self.settings.batch_size;
        while !buffer.is_empty() {
            if stop_requested(&self.stop) {
                // What is buffered was not accepted; it is fetched again after a restart.
                return Err(Stopped);
            }
            let n = batch::batch_len(buffer, max_records, MAX_BATCH_BYTES);
            let payload = batch::event(buffer, n);
            let (first, last) = (buffer[0].offset, buffer[n - 1].offset);
            // Not raced with the stop signal: a batch being accepted finishes first.
            match self
                .sink
                .accept(
                    &self.settings.function,
                    payload.clone(),
                    crate::durable::OrderKey {
                        key: format!("{}/{}", self.consumer, self.partition),
                        position: first,
                    },
                )
                .await
            {
                Ok(request_id) => {
                    tracing::debug!(target: "scf::kafka", partition = self.partition, request_id, "{}: offsets {first}..={last} ({n} messages, {} bytes) accepted", self.label, payload.len());
                    if backoff.failures > 0 {
                        tracing::info!(target: "scf::kafka", partition = self.partition, "{}: the function accepts batches again", self.label);
                    }
                    backoff.reset();
                    buffer.drain(..n);
                    next = last + 1;
                    self.store_offset(next).await?;
                    max_records = self.settings.batch_size;
                }
                Err(InvokeError {
                    fault: Fault::RequestTooLarge,
                    ..
                }) if n > 1 => {
                    max_records = n / 2;
                    tracing::debug!(target: "scf::kafka", partition = self.partition, "{}: a batch of {n} messages ({} bytes) is too large for the function; sending at most {max_records}", self.label, payload.len());
                }
                Err(e) if e.fault == Fault::RequestTooLarge => {
                    tracing::error!(target: "scf::kafka", partition = self.partition, offset = first, "{}: the message at offset {first} alone makes an event of {} bytes, which the function refuses ({} {}: {}); it is skipped", self.label, payload.len(), e.code(), e.name(), e.message);
                    buffer.drain(..1);
                    next = first + 1;
                    self.store_offset(next).await?;
                }
                Err(e) => {
                    let wait = backoff.fail();
                    tracing::warn!(target: "scf::kafka", partition = self.partition, code = e.code(), "{}: the batch at offsets {first}..={last} was refused ({} {}: {}); retrying the same batch in {} s", self.label, e.code(), e.name(), e.message, wait.as_secs());
                    if !pause(&mut self.stop, wait).await {
                        return Err(Stopped);
                    }
                }
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let mut b = Backoff::new();
        let waits: Vec<u64> = (0..8).map(|_| b.fail().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.failures, 8);
        b.reset();
        assert_eq!(b.fail(), Duration::from_secs(1));
    }
}
