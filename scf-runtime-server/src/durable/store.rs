//! The on-disk store: one redb file, written by a single writer thread with group commit.
//!
//! Every write goes through a bounded channel to the writer thread. The thread takes the first
//! waiting job, then every job already waiting behind it (up to [`MAX_BATCH`]), applies them all
//! in **one** write transaction committed with [`Durability::Immediate`] (fsync), and only then
//! answers each job. Jobs that arrive while a commit is being synced form the next batch, so the
//! cost of an fsync is shared by every concurrent writer.
//!
//! A delivery's outcome needs no fsync before anyone is answered: a batch of nothing but
//! outcomes (`Store::write_outcome`) is committed with [`Durability::None`] (visible at once,
//! not synced), and the next durable commit makes it durable with everything before it. When no
//! durable commit comes within the queue's `outcome_sync`, the writer commits an empty durable
//! transaction (and it does before it compacts and when the store closes). Commits reach the
//! disk in order, so after a crash the file holds a prefix of them: an outcome lost that way
//! leaves its event queued as it was before the delivery, and it is delivered again (at least
//! once), with its indexes and counts as they were.
//!
//! Tables:
//!
//! | Table | Key | Value |
//! |---|---|---|
//! | `events` | request id | [`EventRecord`] as JSON |
//! | `payloads` | request id | the raw event (dropped when the event finishes or is aborted) |
//! | `pending` | request id | due time (Unix ms) of every event not yet done |
//! | `timeline` | (created ms, request id) | — (listing order) |
//! | `by_function_status` | (function, status, created ms, request id) | — (listings by function) |
//! | `by_status` | (status, created ms, request id) | — (listings by status) |
//! | `ended` | (ended ms, request id) | — (finished and aborted events, oldest pruned first) |
//! | `counts` | (function, bucket: queued, retrying, in flight, finished, failed, aborted) | how many events are in it |
//! | `dead_letters` | (failed ms, request id) | — |
//! | `dead_letters_by_function` | (function, failed ms, request id) | — |
//! | `kafka_offsets` | (consumer, partition) | the next offset to read |
//! | `meta` | `schema` | the layout's version ([`SCHEMA`]) |
//!
//! Every index is kept in step with `events` in the same transaction, so a listing reads only
//! the index range it needs and the records of the page, and the counts answer totals without
//! reading any record. A file written before the indexes existed is indexed once when opened.
//!
//! Freed pages are reused by later writes, so the file stays at the size of the most events it
//! held at once; after a burst has been pruned, the writer compacts the file (at most every
//! [`COMPACT_EVERY`]) when less than half of it is in use and it is over [`COMPACT_MIN_BYTES`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use tokio::sync::{mpsc, oneshot};

use super::error::DurableError;
use super::record::EventRecord;
use super::state::{AsyncStatus, EventState};

const EVENTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("events");
const PAYLOADS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("payloads");
const PENDING: TableDefinition<'_, &str, u64> = TableDefinition::new("pending");
const TIMELINE: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("timeline");
const DEAD: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("dead_letters");
const OFFSETS: TableDefinition<'_, (&str, i32), i64> = TableDefinition::new("kafka_offsets");
const BY_FN_STATUS: TableDefinition<'_, (&str, u8, u64, &str), ()> =
    TableDefinition::new("by_function_status");
const BY_STATUS: TableDefinition<'_, (u8, u64, &str), ()> = TableDefinition::new("by_status");
const ENDED: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("ended");
const COUNTS: TableDefinition<'_, (&str, u8), u64> = TableDefinition::new("counts");
const DEAD_BY_FN: TableDefinition<'_, (&str, u64, &str), ()> =
    TableDefinition::new("dead_letters_by_function");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// The version of the store's layout: 2 added the indexes and counts.
pub const SCHEMA: u64 = 2;

/// The store's page cache: hot index and record pages stay in memory; the rest is read from
/// the file (the operating system's page cache keeps it warm).
pub const CACHE_BYTES: usize = 64 << 20;

/// A file smaller than this is never compacted.
pub const COMPACT_MIN_BYTES: u64 = 32 << 20;

/// Least time between two compactions.
pub const COMPACT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Where an event is in its life, as the counts table counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Bucket {
    /// Waiting for its first delivery.
    Queued = 0,
    /// Failed at least once and waiting for a retry.
    Retrying = 1,
    /// Stored as in flight (only by files of earlier versions).
    InFlight = 2,
    /// Finished.
    Finished = 3,
    /// Dead-lettered.
    Failed = 4,
    /// Aborted.
    Aborted = 5,
}

impl Bucket {
    fn of(record: &EventRecord) -> Bucket {
        match record.state {
            EventState::Queued if record.attempts > 0 => Bucket::Retrying,
            EventState::Queued => Bucket::Queued,
            EventState::InFlight => Bucket::InFlight,
            EventState::Finished => Bucket::Finished,
            EventState::Failed => Bucket::Failed,
            EventState::Aborted => Bucket::Aborted,
        }
    }

    fn from_u8(n: u8) -> Option<Bucket> {
        [
            Bucket::Queued,
            Bucket::Retrying,
            Bucket::InFlight,
            Bucket::Finished,
            Bucket::Failed,
            Bucket::Aborted,
        ]
        .into_iter()
        .find(|b| *b as u8 == n)
    }

    /// The SCF status of the events in it.
    pub(crate) fn status(self) -> AsyncStatus {
        match self {
            Bucket::Queued | Bucket::Retrying | Bucket::InFlight => AsyncStatus::Running,
            Bucket::Finished => AsyncStatus::Finished,
            Bucket::Failed => AsyncStatus::Failed,
            Bucket::Aborted => AsyncStatus::Aborted,
        }
    }
}

/// The number a status has in the index keys.
fn status_code(status: AsyncStatus) -> u8 {
    match status {
        AsyncStatus::Running => 0,
        AsyncStatus::Finished => 1,
        AsyncStatus::Aborted => 2,
        AsyncStatus::Failed => 3,
    }
}

/// The index entries one record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Keys {
    status: u8,
    bucket: Bucket,
    /// End time, for the events a prune may remove (finished and aborted).
    ended: Option<u64>,
    /// Failure time, for dead letters.
    dead: Option<u64>,
}

impl Keys {
    fn of(record: &EventRecord) -> Keys {
        let bucket = Bucket::of(record);
        Keys {
            status: status_code(record.status()),
            bucket,
            ended: matches!(bucket, Bucket::Finished | Bucket::Aborted)
                .then(|| record.ended_ms.unwrap_or(0)),
            dead: (bucket == Bucket::Failed).then(|| record.ended_ms.unwrap_or(0)),
        }
    }
}

/// Which index a listing walks and over which part of it.
#[derive(Debug, Clone)]
pub(crate) struct IndexScan<'q> {
    /// Only this function's events.
    pub function: Option<&'q str>,
    /// Only these statuses (empty: all).
    pub statuses: &'q [AsyncStatus],
    /// Accepted within this range of Unix ms.
    pub created: std::ops::Range<u64>,
    /// Oldest first.
    pub ascending: bool,
}

/// The file inside the state folder.
pub const FILE_NAME: &str = "async-queue.redb";

/// Most jobs committed in one transaction.
pub const MAX_BATCH: usize = 2048;

/// Jobs that may wait for the writer before writers wait for room.
const CHANNEL: usize = 8192;

/// One change to the store.
#[derive(Debug)]
// Ops live only until their commit; boxing the record would add an allocation per event.
#[allow(clippy::large_enum_variant)]
pub(crate) enum WriteOp {
    /// Insert or replace a record (and its payload when given), keeping every index in step.
    Put {
        record: EventRecord,
        payload: Option<Bytes>,
    },
    /// Remove an event entirely.
    Delete { request_id: String },
    /// Remove those of `ids` that are finished or aborted (checked again in the write, so an
    /// event replaced since it was picked stays).
    Prune { ids: Vec<String> },
    /// Store a Kafka consumer's next offset.
    Offset {
        consumer: String,
        partition: i32,
        next: i64,
    },
}

enum Job {
    Write {
        ops: Vec<WriteOp>,
        /// Whether the answer waits for an fsync (false: a delivery's outcome).
        durable: bool,
        reply: oneshot::Sender<Result<(), DurableError>>,
    },
    /// Compact the file now (answers whether it was compacted).
    Compact {
        reply: oneshot::Sender<Result<bool, DurableError>>,
    },
}

/// The database, shared by readers and the writer thread; compaction takes it alone.
type Shared = Arc<std::sync::RwLock<Database>>;

fn shared(db: &Shared) -> std::sync::RwLockReadGuard<'_, Database> {
    db.read().unwrap_or_else(|e| e.into_inner())
}

/// The store: readers use the database directly; writers go through the writer thread.
pub(crate) struct Store {
    db: Shared,
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    /// What the writer thread has committed.
    commits: Arc<Commits>,
    /// Records read for queries (what a listing costs).
    reads: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn store_err(path: &Path, what: &str, e: impl std::fmt::Display) -> DurableError {
    DurableError::Store(format!("{}: {what}: {e}", path.display()))
}

/// Creates `state_dir` (mode 0700) and the `files` in it (0600, empty) when missing, whatever the
/// umask; then checks the modes of the folder and of every file in it, and takes group and
/// other permissions away where they were given (with a warning: event payloads live there).
pub fn make_private(state_dir: &Path, files: &[&str]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
    if !state_dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)?;
    }
    for file in files {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(state_dir.join(file))
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    let tighten = |path: &Path, mode: u32| -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(path)?;
        if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
            return Ok(());
        }
        tracing::warn!(target: "scf::serve",
            "{} was readable by other users (mode {:o}); setting it to {mode:o}",
            path.display(), meta.permissions().mode() & 0o777);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    };
    tighten(state_dir, 0o700)?;
    for entry in std::fs::read_dir(state_dir)? {
        let path = entry?.path();
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        tighten(&path, mode)?;
    }
    Ok(())
}

impl Store {
    /// Opens (or creates) the store in `state_dir`; outcomes written with
    /// [`write_outcome`](Self::write_outcome) are fsynced at most `outcome_sync` after their
    /// commit.
    pub(crate) fn open(state_dir: &Path, outcome_sync: Duration) -> Result<Store, DurableError> {
        let path = state_dir.join(FILE_NAME);
        make_private(state_dir, &[FILE_NAME])
            .map_err(|e| store_err(state_dir, "cannot make the state folder private", e))?;
        let db = match redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
        {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(DurableError::Store(format!(
                    "{}: the async queue is already open in another process (a running `cargo scf serve` with the same state_dir?)",
                    path.display()
                )));
            }
            Err(e) => return Err(store_err(&path, "cannot open the async queue", e)),
        };
        // Create every table so readers never meet a missing one, and index a file of an
        // earlier layout.
        let mut txn = db
            .begin_write()
            .map_err(|e| store_err(&path, "begin write", e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| store_err(&path, "durability", e))?;
        {
            let mut tables =
                Tables::open(&txn).map_err(|e| store_err(&path, "create tables", e))?;
            let schema = tables
                .meta
                .get("schema")
                .map_err(|e| store_err(&path, "read the layout version", e))?
                .map(|v| v.value());
            match schema {
                Some(SCHEMA) => {}
                Some(newer) if newer > SCHEMA => {
                    return Err(DurableError::Store(format!(
                        "{}: written by a newer version (layout {newer}; this one reads {SCHEMA})",
                        path.display()
                    )));
                }
                _ => {
                    let indexed = tables
                        .reindex()
                        .map_err(|e| store_err(&path, "index the stored events", e))?;
                    if indexed > 0 {
                        tracing::info!(target: "scf::async", path = %path.display(), "indexed {indexed} stored async events");
                    }
                    tables
                        .meta
                        .insert("schema", SCHEMA)
                        .map_err(|e| store_err(&path, "write the layout version", e))?;
                }
            }
        }
        txn.commit().map_err(|e| store_err(&path, "commit", e))?;
        let db: Shared = Arc::new(std::sync::RwLock::new(db));

        let (tx, rx) = mpsc::channel(CHANNEL);
        let writer_db = db.clone();
        let writer_path = path.clone();
        let commits = Arc::new(Commits::default());
        let writer_commits = commits.clone();
        let writer = std::thread::Builder::new()
            .name("scf-async-queue-writer".into())
            .spawn(move || {
                Writer {
                    db: &writer_db,
                    path: &writer_path,
                    outcome_sync,
                    commits: &writer_commits,
                }
                .run(rx)
            })
            .map_err(|e| store_err(&path, "cannot start the writer thread", e))?;
        Ok(Store {
            db,
            path,
            jobs: Some(tx),
            writer: Some(writer),
            commits,
            reads: AtomicU64::new(0),
        })
    }

    /// Durable write transactions (each one fsync) committed since the store was opened.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.durable.load(Ordering::Relaxed)
    }

    /// Write transactions of outcomes only, committed without an fsync of their own.
    pub(crate) fn unsynced_commits(&self) -> u64 {
        self.commits.unsynced.load(Ordering::Relaxed)
    }

    /// Records read by queries since the store was opened.
    pub(crate) fn records_read(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The store's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `ops` atomically and durably; returns once they are fsynced.
    pub(crate) async fn write(&self, ops: Vec<WriteOp>) -> Result<(), DurableError> {
        self.send(ops, true).await
    }

    /// Applies a delivery's outcome atomically; returns once it is committed (readers see it),
    /// maybe before it is fsynced: it becomes durable with the next durable commit, at most
    /// `outcome_sync` later. A crash before that leaves the event as it was before the delivery,
    /// so it is delivered again.
    pub(crate) async fn write_outcome(&self, ops: Vec<WriteOp>) -> Result<(), DurableError> {
        self.send(ops, false).await
    }

    async fn send(&self, ops: Vec<WriteOp>, durable: bool) -> Result<(), DurableError> {
        let (reply, answer) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or(DurableError::Closed)?;
        jobs.send(Job::Write {
            ops,
            durable,
            reply,
        })
        .await
        .map_err(|_| DurableError::Closed)?;
        answer.await.map_err(|_| DurableError::Closed)?
    }

    /// Compacts the file now, after the writes already sent; `false` when there was nothing to
    /// gain or a reader held the file.
    pub(crate) async fn compact(&self) -> Result<bool, DurableError> {
        let (reply, answer) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or(DurableError::Closed)?;
        jobs.send(Job::Compact { reply })
            .await
            .map_err(|_| DurableError::Closed)?;
        answer.await.map_err(|_| DurableError::Closed)?
    }

    /// The size of the file in bytes.
    pub(crate) fn file_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    fn read(&self) -> Result<ReadTransaction, DurableError> {
        shared(&self.db)
            .begin_read()
            .map_err(|e| store_err(&self.path, "begin read", e))
    }

    /// Per function, how many events are in each [`Bucket`] (read from the counts, not the
    /// events).
    pub(crate) fn counts(&self) -> Result<Vec<(String, Bucket, u64)>, DurableError> {
        let txn = self.read()?;
        let counts = txn
            .open_table(COUNTS)
            .map_err(|e| store_err(&self.path, "counts", e))?;
        let mut out = Vec::new();
        for entry in counts
            .iter()
            .map_err(|e| store_err(&self.path, "read counts", e))?
        {
            let (key, n) = entry.map_err(|e| store_err(&self.path, "read counts", e))?;
            let (function, bucket) = key.value();
            if let Some(bucket) = Bucket::from_u8(bucket)
                && n.value() > 0
            {
                out.push((function.to_owned(), bucket, n.value()));
            }
        }
        Ok(out)
    }

    /// Visits the events `scan` selects in acceptance order, newest first unless ascending,
    /// reading only the index ranges it needs: `visit` gets each request id and a loader of its
    /// record, and returns whether to go on.
    pub(crate) fn scan_index(
        &self,
        scan: &IndexScan<'_>,
        mut visit: impl FnMut(
            &str,
            &mut dyn FnMut() -> Result<Option<EventRecord>, DurableError>,
        ) -> Result<bool, DurableError>,
    ) -> Result<(), DurableError> {
        type Keys<'i> = Box<dyn Iterator<Item = Result<(u64, String), redb::StorageError>> + 'i>;
        let err = |what: &str, e: redb::Error| store_err(&self.path, what, e);
        let txn = self.read()?;
        let events = txn
            .open_table(EVENTS)
            .map_err(|e| err("events", e.into()))?;
        let by_fn = txn
            .open_table(BY_FN_STATUS)
            .map_err(|e| err("index", e.into()))?;
        let by_status = txn
            .open_table(BY_STATUS)
            .map_err(|e| err("index", e.into()))?;
        let timeline = txn
            .open_table(TIMELINE)
            .map_err(|e| err("timeline", e.into()))?;
        let (from, to) = (scan.created.start, scan.created.end);
        let statuses: Vec<u8> = if scan.statuses.is_empty() {
            AsyncStatus::ALL.into_iter().map(status_code).collect()
        } else {
            scan.statuses.iter().copied().map(status_code).collect()
        };
        let mut ranges: Vec<Keys<'_>> = Vec::new();
        match scan.function {
            Some(function) => {
                for status in statuses {
                    let range = by_fn
                        .range((function, status, from, "")..(function, status, to, ""))
                        .map_err(|e| err("index", e.into()))?
                        .map(|entry| entry.map(|(k, _)| (k.value().2, k.value().3.to_owned())));
                    ranges.push(if scan.ascending {
                        Box::new(range)
                    } else {
                        Box::new(range.rev())
                    });
                }
            }
            None if !scan.statuses.is_empty() => {
                for status in statuses {
                    let range = by_status
                        .range((status, from, "")..(status, to, ""))
                        .map_err(|e| err("index", e.into()))?
                        .map(|entry| entry.map(|(k, _)| (k.value().1, k.value().2.to_owned())));
                    ranges.push(if scan.ascending {
                        Box::new(range)
                    } else {
                        Box::new(range.rev())
                    });
                }
            }
            None => {
                let range = timeline
                    .range((from, "")..(to, ""))
                    .map_err(|e| err("timeline", e.into()))?
                    .map(|entry| entry.map(|(k, _)| (k.value().0, k.value().1.to_owned())));
                ranges.push(if scan.ascending {
                    Box::new(range)
                } else {
                    Box::new(range.rev())
                });
            }
        }
        // Merge the ranges (each already in order) by (created, id).
        let mut heads: Vec<Option<(u64, String)>> = Vec::with_capacity(ranges.len());
        for range in &mut ranges {
            heads.push(
                range
                    .next()
                    .transpose()
                    .map_err(|e| err("index", e.into()))?,
            );
        }
        loop {
            let pick = heads
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.as_ref().map(|h| (i, h)))
                .reduce(|a, b| {
                    let b_first = if scan.ascending { b.1 < a.1 } else { b.1 > a.1 };
                    if b_first { b } else { a }
                })
                .map(|(i, _)| i);
            let Some(i) = pick else {
                return Ok(());
            };
            let (_, id) = heads[i].take().expect("picked a head");
            heads[i] = ranges[i]
                .next()
                .transpose()
                .map_err(|e| err("index", e.into()))?;
            let mut load = || -> Result<Option<EventRecord>, DurableError> {
                let found = events
                    .get(id.as_str())
                    .map_err(|e| err("read event", e.into()))?;
                self.reads.fetch_add(1, Ordering::Relaxed);
                found.map(|v| decode(&self.path, v.value())).transpose()
            };
            if !visit(&id, &mut load)? {
                return Ok(());
            }
        }
    }

    /// Up to `limit` finished or aborted events, oldest end first: those that ended before
    /// `before_ms`, and past them as many as `excess` more.
    pub(crate) fn prunable(
        &self,
        before_ms: u64,
        excess: u64,
        limit: usize,
    ) -> Result<Vec<String>, DurableError> {
        let txn = self.read()?;
        let ended = txn
            .open_table(ENDED)
            .map_err(|e| store_err(&self.path, "ended", e))?;
        let mut ids = Vec::new();
        for entry in ended
            .iter()
            .map_err(|e| store_err(&self.path, "scan ended", e))?
        {
            let (key, _) = entry.map_err(|e| store_err(&self.path, "scan ended", e))?;
            let (at, id) = key.value();
            if ids.len() >= limit || (at >= before_ms && ids.len() as u64 >= excess) {
                break;
            }
            ids.push(id.to_owned());
        }
        Ok(ids)
    }

    /// One event's record.
    pub(crate) fn get(&self, request_id: &str) -> Result<Option<EventRecord>, DurableError> {
        self.read_record(&self.read()?, request_id)
    }

    /// One event's record and payload, read in one transaction (what a delivery needs).
    pub(crate) fn get_with_payload(
        &self,
        request_id: &str,
    ) -> Result<(Option<EventRecord>, Option<Bytes>), DurableError> {
        let txn = self.read()?;
        let Some(record) = self.read_record(&txn, request_id)? else {
            return Ok((None, None));
        };
        Ok((Some(record), self.read_payload(&txn, request_id)?))
    }

    /// One event's payload.
    pub(crate) fn payload(&self, request_id: &str) -> Result<Option<Bytes>, DurableError> {
        self.read_payload(&self.read()?, request_id)
    }

    fn read_record(
        &self,
        txn: &ReadTransaction,
        request_id: &str,
    ) -> Result<Option<EventRecord>, DurableError> {
        let events = txn
            .open_table(EVENTS)
            .map_err(|e| store_err(&self.path, "events", e))?;
        let found = events
            .get(request_id)
            .map_err(|e| store_err(&self.path, "read event", e))?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        found.map(|v| decode(&self.path, v.value())).transpose()
    }

    fn read_payload(
        &self,
        txn: &ReadTransaction,
        request_id: &str,
    ) -> Result<Option<Bytes>, DurableError> {
        let payloads = txn
            .open_table(PAYLOADS)
            .map_err(|e| store_err(&self.path, "payloads", e))?;
        let found = payloads
            .get(request_id)
            .map_err(|e| store_err(&self.path, "read payload", e))?;
        Ok(found.map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// Every event not yet done (for rebuilding the schedule at startup).
    pub(crate) fn pending(&self) -> Result<Vec<EventRecord>, DurableError> {
        let txn = self.read()?;
        let pending = txn
            .open_table(PENDING)
            .map_err(|e| store_err(&self.path, "pending", e))?;
        let events = txn
            .open_table(EVENTS)
            .map_err(|e| store_err(&self.path, "events", e))?;
        let mut out = Vec::new();
        for entry in pending
            .iter()
            .map_err(|e| store_err(&self.path, "scan pending", e))?
        {
            let (id, _) = entry.map_err(|e| store_err(&self.path, "scan pending", e))?;
            if let Some(v) = events
                .get(id.value())
                .map_err(|e| store_err(&self.path, "read event", e))?
            {
                out.push(decode(&self.path, v.value())?);
            }
        }
        Ok(out)
    }

    /// Dead-lettered events (of `function`, or all), oldest first: their records and payloads.
    pub(crate) fn dead_letters(
        &self,
        function: Option<&str>,
        mut visit: impl FnMut(EventRecord, Option<Bytes>) -> bool,
    ) -> Result<(), DurableError> {
        let txn = self.read()?;
        let dead = txn
            .open_table(DEAD)
            .map_err(|e| store_err(&self.path, "dead letters", e))?;
        let by_fn = txn
            .open_table(DEAD_BY_FN)
            .map_err(|e| store_err(&self.path, "dead letters", e))?;
        let events = txn
            .open_table(EVENTS)
            .map_err(|e| store_err(&self.path, "events", e))?;
        let payloads = txn
            .open_table(PAYLOADS)
            .map_err(|e| store_err(&self.path, "payloads", e))?;
        let ids: Box<dyn Iterator<Item = Result<String, redb::StorageError>>> = match function {
            Some(f) => Box::new(
                by_fn
                    .range((f, 0, "")..=(f, u64::MAX, "\u{10ffff}"))
                    .map_err(|e| store_err(&self.path, "scan dead letters", e))?
                    .map(|entry| entry.map(|(k, _)| k.value().2.to_owned())),
            ),
            None => Box::new(
                dead.iter()
                    .map_err(|e| store_err(&self.path, "scan dead letters", e))?
                    .map(|entry| entry.map(|(k, _)| k.value().1.to_owned())),
            ),
        };
        for id in ids {
            let id = id.map_err(|e| store_err(&self.path, "scan dead letters", e))?;
            let id = id.as_str();
            let Some(v) = events
                .get(id)
                .map_err(|e| store_err(&self.path, "read event", e))?
            else {
                continue;
            };
            self.reads.fetch_add(1, Ordering::Relaxed);
            let record = decode(&self.path, v.value())?;
            let payload = payloads
                .get(id)
                .map_err(|e| store_err(&self.path, "read payload", e))?
                .map(|p| Bytes::copy_from_slice(p.value()));
            if !visit(record, payload) {
                break;
            }
        }
        Ok(())
    }

    /// A Kafka consumer's stored next offset for `partition`.
    pub(crate) fn offset(
        &self,
        consumer: &str,
        partition: i32,
    ) -> Result<Option<i64>, DurableError> {
        let txn = self.read()?;
        let offsets = txn
            .open_table(OFFSETS)
            .map_err(|e| store_err(&self.path, "offsets", e))?;
        let found = offsets
            .get((consumer, partition))
            .map_err(|e| store_err(&self.path, "read offset", e))?;
        Ok(found.map(|v| v.value()))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the channel ends the writer after the jobs already sent; joining it makes sure
        // the file is closed when the store is gone (so it can be opened again at once).
        self.jobs.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn decode(path: &Path, bytes: &[u8]) -> Result<EventRecord, DurableError> {
    serde_json::from_slice(bytes).map_err(|e| store_err(path, "corrupt event record", e))
}

struct Tables<'t> {
    events: redb::Table<'t, &'static str, &'static [u8]>,
    payloads: redb::Table<'t, &'static str, &'static [u8]>,
    pending: redb::Table<'t, &'static str, u64>,
    timeline: redb::Table<'t, (u64, &'static str), ()>,
    dead: redb::Table<'t, (u64, &'static str), ()>,
    offsets: redb::Table<'t, (&'static str, i32), i64>,
    by_fn: redb::Table<'t, (&'static str, u8, u64, &'static str), ()>,
    by_status: redb::Table<'t, (u8, u64, &'static str), ()>,
    ended: redb::Table<'t, (u64, &'static str), ()>,
    counts: redb::Table<'t, (&'static str, u8), u64>,
    dead_by_fn: redb::Table<'t, (&'static str, u64, &'static str), ()>,
    meta: redb::Table<'t, &'static str, u64>,
    /// Changes to the counts, written once per commit by [`Tables::flush_counts`].
    deltas: std::collections::HashMap<(String, u8), i64>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Tables<'t>, redb::TableError> {
        Ok(Tables {
            events: txn.open_table(EVENTS)?,
            payloads: txn.open_table(PAYLOADS)?,
            pending: txn.open_table(PENDING)?,
            timeline: txn.open_table(TIMELINE)?,
            dead: txn.open_table(DEAD)?,
            offsets: txn.open_table(OFFSETS)?,
            by_fn: txn.open_table(BY_FN_STATUS)?,
            by_status: txn.open_table(BY_STATUS)?,
            ended: txn.open_table(ENDED)?,
            counts: txn.open_table(COUNTS)?,
            dead_by_fn: txn.open_table(DEAD_BY_FN)?,
            meta: txn.open_table(META)?,
            deltas: std::collections::HashMap::new(),
        })
    }

    fn record(&self, id: &str) -> Result<Option<EventRecord>, String> {
        let found = self.events.get(id).map_err(|e| e.to_string())?;
        match found {
            None => Ok(None),
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(|e| format!("corrupt event record {id}: {e}")),
        }
    }

    /// Builds every index and count from the events (for a file of an earlier layout).
    fn reindex(&mut self) -> Result<usize, String> {
        let e = |e: redb::StorageError| e.to_string();
        self.by_fn.retain(|_, _| false).map_err(e)?;
        self.by_status.retain(|_, _| false).map_err(e)?;
        self.ended.retain(|_, _| false).map_err(e)?;
        self.counts.retain(|_, _| false).map_err(e)?;
        self.dead_by_fn.retain(|_, _| false).map_err(e)?;
        let mut records = Vec::new();
        for entry in self.events.iter().map_err(e)? {
            let (id, v) = entry.map_err(e)?;
            let record: EventRecord = serde_json::from_slice(v.value())
                .map_err(|err| format!("corrupt event record {}: {err}", id.value()))?;
            records.push(record);
        }
        for record in &records {
            self.move_keys(record, None, Some(Keys::of(record)))?;
        }
        self.flush_counts()?;
        Ok(records.len())
    }

    fn apply(&mut self, op: &WriteOp) -> Result<(), String> {
        match op {
            WriteOp::Put { record, payload } => self.put(record, payload.as_deref()),
            WriteOp::Delete { request_id } => self.delete(request_id),
            WriteOp::Prune { ids } => self.prune(ids),
            WriteOp::Offset {
                consumer,
                partition,
                next,
            } => self
                .offsets
                .insert((consumer.as_str(), *partition), *next)
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }

    /// Moves the index entries and the count of `record` from the keys `old` to the keys `new`
    /// (`None`: not indexed), touching only the entries that differ: `(None, Some)` indexes a
    /// new event, `(Some, None)` unindexes a removed one, and `(Some, Some)` is a state change of
    /// the same event (same function and acceptance time), whose timeline entry stays.
    fn move_keys(
        &mut self,
        record: &EventRecord,
        old: Option<Keys>,
        new: Option<Keys>,
    ) -> Result<(), String> {
        if old == new {
            return Ok(());
        }
        let e = |e: redb::StorageError| e.to_string();
        let id = record.request_id.as_str();
        let function = record.function.as_str();
        let created = record.created_ms;
        match (old, new) {
            (None, Some(_)) => drop(self.timeline.insert((created, id), ()).map_err(e)?),
            (Some(_), None) => drop(self.timeline.remove((created, id)).map_err(e)?),
            _ => {}
        }
        let (old_status, new_status) = (old.map(|k| k.status), new.map(|k| k.status));
        if old_status != new_status {
            if let Some(status) = old_status {
                self.by_fn
                    .remove((function, status, created, id))
                    .map_err(e)?;
                self.by_status.remove((status, created, id)).map_err(e)?;
            }
            if let Some(status) = new_status {
                self.by_fn
                    .insert((function, status, created, id), ())
                    .map_err(e)?;
                self.by_status
                    .insert((status, created, id), ())
                    .map_err(e)?;
            }
        }
        let (old_ended, new_ended) = (old.and_then(|k| k.ended), new.and_then(|k| k.ended));
        if old_ended != new_ended {
            if let Some(at) = old_ended {
                self.ended.remove((at, id)).map_err(e)?;
            }
            if let Some(at) = new_ended {
                self.ended.insert((at, id), ()).map_err(e)?;
            }
        }
        let (old_dead, new_dead) = (old.and_then(|k| k.dead), new.and_then(|k| k.dead));
        if old_dead != new_dead {
            if let Some(at) = old_dead {
                self.dead.remove((at, id)).map_err(e)?;
                self.dead_by_fn.remove((function, at, id)).map_err(e)?;
            }
            if let Some(at) = new_dead {
                self.dead.insert((at, id), ()).map_err(e)?;
                self.dead_by_fn.insert((function, at, id), ()).map_err(e)?;
            }
        }
        let (old_bucket, new_bucket) = (old.map(|k| k.bucket), new.map(|k| k.bucket));
        if old_bucket != new_bucket {
            for (bucket, delta) in [(old_bucket, -1), (new_bucket, 1)] {
                if let Some(bucket) = bucket {
                    *self
                        .deltas
                        .entry((function.to_owned(), bucket as u8))
                        .or_default() += delta;
                }
            }
        }
        Ok(())
    }

    /// Writes the counts changed since the last flush (one read and one write per function
    /// and bucket, however many events of the commit changed it).
    fn flush_counts(&mut self) -> Result<(), String> {
        let e = |e: redb::StorageError| e.to_string();
        for ((function, bucket), delta) in std::mem::take(&mut self.deltas) {
            if delta == 0 {
                continue;
            }
            let key = (function.as_str(), bucket);
            let count = self.counts.get(key).map_err(e)?.map_or(0, |v| v.value());
            let count = count.saturating_add_signed(delta);
            if count == 0 {
                self.counts.remove(key).map_err(e)?;
            } else {
                self.counts.insert(key, count).map_err(e)?;
            }
        }
        Ok(())
    }

    fn put(&mut self, record: &EventRecord, payload: Option<&[u8]>) -> Result<(), String> {
        let id = record.request_id.as_str();
        let e = |e: redb::StorageError| e.to_string();
        let json = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        // The record it replaces comes back from the insert: no lookup of its own.
        let old: Option<EventRecord> = match self.events.insert(id, json.as_slice()).map_err(e)? {
            None => None,
            Some(v) => Some(
                serde_json::from_slice(v.value())
                    .map_err(|err| format!("corrupt event record {id}: {err}"))?,
            ),
        };
        if let Some(payload) = payload {
            self.payloads.insert(id, payload).map_err(e)?;
        }
        let keys = Keys::of(record);
        match &old {
            // A state change of the same event (a delivery's outcome): only the entries whose
            // keys changed move; the timeline entry stays.
            Some(old) if old.created_ms == record.created_ms && old.function == record.function => {
                self.move_keys(record, Some(Keys::of(old)), Some(keys))?;
            }
            Some(old) => {
                self.move_keys(old, Some(Keys::of(old)), None)?;
                self.move_keys(record, None, Some(keys))?;
            }
            None => self.move_keys(record, None, Some(keys))?,
        }
        match record.state {
            EventState::Queued | EventState::InFlight => {
                self.pending.insert(id, record.due_ms).map_err(e)?;
            }
            EventState::Failed => {
                self.pending.remove(id).map_err(e)?;
            }
            EventState::Finished | EventState::Aborted => {
                self.pending.remove(id).map_err(e)?;
                self.payloads.remove(id).map_err(e)?;
            }
        }
        Ok(())
    }

    fn delete(&mut self, id: &str) -> Result<(), String> {
        let e = |e: redb::StorageError| e.to_string();
        let Some(old) = self.record(id)? else {
            return Ok(());
        };
        self.events.remove(id).map_err(e)?;
        self.payloads.remove(id).map_err(e)?;
        self.pending.remove(id).map_err(e)?;
        self.move_keys(&old, Some(Keys::of(&old)), None)
    }

    fn prune(&mut self, ids: &[String]) -> Result<(), String> {
        for id in ids {
            if let Some(record) = self.record(id)?
                && matches!(record.state, EventState::Finished | EventState::Aborted)
            {
                self.delete(id)?;
            }
        }
        Ok(())
    }
}

/// Write transactions committed since the store was opened.
#[derive(Default)]
struct Commits {
    /// Durable ones (each one fsync).
    durable: AtomicU64,
    /// Outcomes only, left unsynced.
    unsynced: AtomicU64,
}

/// The writer thread's settings and counters.
struct Writer<'w> {
    db: &'w Shared,
    path: &'w Path,
    outcome_sync: Duration,
    commits: &'w Commits,
}

impl Writer<'_> {
    fn run(&self, mut rx: mpsc::Receiver<Job>) {
        // To wait for a job with a time limit (unsynced outcomes, gathering a batch).
        let waiter = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        let mut batch = Gathered::default();
        let mut compaction = Compaction::default();
        // Outcomes committed without an fsync since the last durable commit.
        let mut unsynced = false;
        // Durable jobs the next batch waits for, and until when.
        let mut expect: Option<(usize, Instant)> = None;
        let mut closed = false;
        while !closed || !batch.jobs.is_empty() || batch.compact.is_some() {
            if batch.jobs.is_empty() && batch.compact.is_none() {
                let first = match (&waiter, unsynced) {
                    (Ok(waiter), true) => {
                        let within = self.outcome_sync;
                        match waiter
                            .block_on(async { tokio::time::timeout(within, rx.recv()).await })
                        {
                            Ok(job) => job,
                            Err(_) => {
                                unsynced = !self.sync();
                                continue;
                            }
                        }
                    }
                    // Without a timer every outcome is synced at once (below).
                    _ => rx.blocking_recv(),
                };
                match first {
                    Some(job) => batch.take(job),
                    None => break,
                }
            }
            closed |= batch.drain(&mut rx);
            // The writers answered by the last durable commit usually send their next event
            // within a round trip: a batch waits for them (no longer than that commit took, at
            // most MAX_LINGER), so concurrent writers keep sharing one fsync instead of
            // splitting into groups that take turns, and outcomes ride along with it instead of
            // taking a commit of their own.
            if let (Ok(waiter), Some((wanted, until))) = (&waiter, expect.take()) {
                while !closed && batch.gathering() && batch.durable < wanted {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match waiter.block_on(async { tokio::time::timeout(left, rx.recv()).await }) {
                        Ok(Some(job)) => batch.take(job),
                        Ok(None) => closed = true,
                        Err(_) => break,
                    }
                }
            }
            let committing = std::mem::take(&mut batch);
            if !committing.jobs.is_empty() {
                let durable = waiter.is_err() || committing.durable > 0;
                let started = Instant::now();
                let result = commit(&shared(self.db), &committing.jobs, durable);
                let took = started.elapsed();
                if result.is_ok() {
                    let counter = if durable {
                        &self.commits.durable
                    } else {
                        &self.commits.unsynced
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    unsynced = !durable;
                }
                // What came in during the commit is the next batch; the writers answered now
                // are expected back.
                if !closed && committing.compact.is_none() {
                    closed |= batch.drain(&mut rx);
                }
                if durable {
                    expect = Some((
                        batch.durable + committing.durable,
                        Instant::now() + took.min(MAX_LINGER),
                    ));
                }
                let result = result.map_err(|message| {
                    tracing::error!(target: "scf::async", path = %self.path.display(), "async queue write failed: {message}");
                    DurableError::Store(format!("{}: write failed: {message}", self.path.display()))
                });
                let pruned = committing
                    .jobs
                    .iter()
                    .any(|(ops, _)| ops.iter().any(|op| matches!(op, WriteOp::Prune { .. })));
                for (_, reply) in committing.jobs {
                    let _ = reply.send(result.clone());
                }
                if pruned && compaction.due(self.db, self.path) {
                    unsynced = unsynced && !self.sync();
                    let _ = compaction.run(self.db, self.path);
                }
            }
            if let Some(reply) = committing.compact {
                unsynced = unsynced && !self.sync();
                let _ = reply.send(compaction.run(self.db, self.path));
            }
        }
        if unsynced {
            self.sync();
        }
    }

    /// Makes every commit so far durable (an empty durable commit); whether it did.
    fn sync(&self) -> bool {
        match commit(&shared(self.db), &Vec::new(), true) {
            Ok(()) => {
                self.commits.durable.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(message) => {
                tracing::error!(target: "scf::async", path = %self.path.display(), "syncing the async queue failed: {message}");
                false
            }
        }
    }
}

/// Longest a durable batch waits for the writers the last commit answered.
const MAX_LINGER: Duration = Duration::from_millis(2);

/// The next batch, as the writer gathers it.
#[derive(Default)]
struct Gathered {
    jobs: Batch,
    /// How many of the jobs wait for an fsync.
    durable: usize,
    /// A compaction asked for: run after the batch; nothing after it joins the batch.
    compact: Option<oneshot::Sender<Result<bool, DurableError>>>,
}

impl Gathered {
    fn take(&mut self, job: Job) {
        match job {
            Job::Write {
                ops,
                durable,
                reply,
            } => {
                self.durable += usize::from(durable);
                self.jobs.push((ops, reply));
            }
            Job::Compact { reply } => self.compact = Some(reply),
        }
    }

    /// Whether more jobs may join.
    fn gathering(&self) -> bool {
        self.compact.is_none() && self.jobs.len() < MAX_BATCH
    }

    /// Takes the jobs already waiting; whether the channel is closed.
    fn drain(&mut self, rx: &mut mpsc::Receiver<Job>) -> bool {
        while self.gathering() {
            match rx.try_recv() {
                Ok(job) => self.take(job),
                Err(mpsc::error::TryRecvError::Empty) => return false,
                Err(mpsc::error::TryRecvError::Disconnected) => return true,
            }
        }
        false
    }
}

/// When the writer last compacted and checked whether to.
#[derive(Default)]
struct Compaction {
    last_check: Option<std::time::Instant>,
    last_run: Option<std::time::Instant>,
}

impl Compaction {
    /// After a prune: whether the file is over [`COMPACT_MIN_BYTES`], less than half used, and
    /// was not compacted in the last [`COMPACT_EVERY`] (checked at most once a minute).
    fn due(&mut self, db: &Shared, path: &Path) -> bool {
        let now = std::time::Instant::now();
        let recent = |at: Option<std::time::Instant>, every| {
            at.is_some_and(|t: std::time::Instant| now.duration_since(t) < every)
        };
        if recent(self.last_check, std::time::Duration::from_secs(60))
            || recent(self.last_run, COMPACT_EVERY)
        {
            return false;
        }
        self.last_check = Some(now);
        let file = std::fs::metadata(path).map_or(0, |m| m.len());
        if file < COMPACT_MIN_BYTES {
            return false;
        }
        let used = (|| -> Result<u64, redb::Error> {
            let txn = shared(db).begin_write()?;
            let stats = txn.stats()?;
            txn.abort()?;
            Ok(stats.allocated_pages() * stats.page_size() as u64)
        })();
        used.is_ok_and(|used| used < file / 2)
    }

    /// Compacts the file; `false` when a reader held it or there was nothing to gain.
    fn run(&mut self, db: &Shared, path: &Path) -> Result<bool, DurableError> {
        self.last_run = Some(std::time::Instant::now());
        let before = std::fs::metadata(path).map_or(0, |m| m.len());
        let mut db = db.write().unwrap_or_else(|e| e.into_inner());
        match db.compact() {
            Ok(done) => {
                let after = std::fs::metadata(path).map_or(0, |m| m.len());
                tracing::info!(target: "scf::async", path = %path.display(), "compacted the async queue from {before} to {after} bytes");
                Ok(done)
            }
            Err(redb::CompactionError::TransactionInProgress) => Ok(false),
            Err(e) => Err(store_err(path, "compaction", e)),
        }
    }
}

type Batch = Vec<(Vec<WriteOp>, oneshot::Sender<Result<(), DurableError>>)>;

/// Commits `batch` in one transaction, fsynced when `durable` (which also makes every unsynced
/// commit before it durable).
fn commit(db: &Database, batch: &Batch, durable: bool) -> Result<(), String> {
    let mut txn = db.begin_write().map_err(|e| e.to_string())?;
    let durability = if durable {
        Durability::Immediate
    } else {
        Durability::None
    };
    txn.set_durability(durability).map_err(|e| e.to_string())?;
    {
        let mut tables = Tables::open(&txn).map_err(|e| e.to_string())?;
        for (ops, _) in batch {
            for op in ops {
                tables.apply(op)?;
            }
        }
        tables.flush_counts()?;
    }
    txn.commit().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::{DurableQueue, EventSource, ListQuery, NewEvent, QueueConfig};

    #[tokio::test]
    async fn a_file_of_the_first_layout_is_indexed_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        {
            let queue = DurableQueue::open(dir.path(), QueueConfig::default()).unwrap();
            for (function, n) in [("a", 3), ("b", 2)] {
                for i in 0..n {
                    let event = NewEvent::new(function, format!("{i}"), EventSource::Invoke);
                    queue.enqueue(event).await.unwrap();
                }
            }
        }
        // What the first layout left: events and the timeline, no indexes, no version.
        {
            let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut tables = Tables::open(&txn).unwrap();
                tables.meta.remove("schema").unwrap();
                tables.by_fn.retain(|_, _| false).unwrap();
                tables.by_status.retain(|_, _| false).unwrap();
                tables.counts.retain(|_, _| false).unwrap();
            }
            txn.commit().unwrap();
        }
        let queue = DurableQueue::open(dir.path(), QueueConfig::default()).unwrap();
        let page = queue
            .list(&ListQuery {
                function: Some("a".into()),
                ..ListQuery::default()
            })
            .unwrap();
        assert_eq!((page.total, page.items.len()), (3, 3));
        let counts = queue.state_counts().unwrap();
        assert_eq!((counts["a"].queued, counts["b"].queued), (3, 2));
    }

    #[tokio::test]
    async fn a_file_of_a_newer_layout_is_refused_with_its_version() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), Duration::ZERO).unwrap());
        {
            let db = Database::create(dir.path().join(FILE_NAME)).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert("schema", SCHEMA + 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = Store::open(dir.path(), Duration::ZERO)
            .unwrap_err()
            .to_string();
        assert!(err.contains("newer version"), "{err}");
        assert!(err.contains(FILE_NAME), "{err}");
    }
}
