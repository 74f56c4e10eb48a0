//! The on-disk store: one redb file, written by a single writer thread with group commit.
//!
//! Every write goes through a bounded channel to the writer thread. The thread takes the first
//! waiting job, then every job already waiting behind it (up to [`MAX_BATCH`]), applies them all
//! in **one** write transaction committed with [`Durability::Immediate`] (fsync), and only then
//! answers each job. Jobs that arrive while a commit is being synced form the next batch, so the
//! cost of an fsync is shared by every concurrent writer.
//!
//! Tables:
//!
//! | Table | Key | Value |
//! |---|---|---|
//! | `events` | request id | [`EventRecord`] as JSON |
//! | `payloads` | request id | the raw event (dropped when the event finishes or is aborted) |
//! | `pending` | request id | due time (Unix ms) of every event not yet done |
//! | `timeline` | (created ms, request id) | — (listing order) |
//! | `dead_letters` | (failed ms, request id) | — |
//! | `kafka_offsets` | (consumer, partition) | the next offset to read |

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use bytes::Bytes;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use tokio::sync::{mpsc, oneshot};

use super::error::DurableError;
use super::record::EventRecord;
use super::state::EventState;

const EVENTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("events");
const PAYLOADS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("payloads");
const PENDING: TableDefinition<'_, &str, u64> = TableDefinition::new("pending");
const TIMELINE: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("timeline");
const DEAD: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("dead_letters");
const OFFSETS: TableDefinition<'_, (&str, i32), i64> = TableDefinition::new("kafka_offsets");

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
    /// Remove those of `ids` that are finished or aborted and ended before `before_ms` (checked
    /// again in the write, so an event that changed since it was picked stays).
    Prune { before_ms: u64, ids: Vec<String> },
    /// Store a Kafka consumer's next offset.
    Offset {
        consumer: String,
        partition: i32,
        next: i64,
    },
}

struct Job {
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<(), DurableError>>,
}

/// The store: readers use the database directly; writers go through the writer thread.
pub(crate) struct Store {
    db: Arc<Database>,
    path: PathBuf,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    commits: Arc<AtomicU64>,
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
    /// Opens (or creates) the store in `state_dir`.
    pub(crate) fn open(state_dir: &Path) -> Result<Store, DurableError> {
        let path = state_dir.join(FILE_NAME);
        make_private(state_dir, &[FILE_NAME])
            .map_err(|e| store_err(state_dir, "cannot make the state folder private", e))?;
        let db = match Database::create(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(DurableError::Store(format!(
                    "{}: the async queue is already open in another process (a running `cargo scf serve` with the same state_dir?)",
                    path.display()
                )));
            }
            Err(e) => return Err(store_err(&path, "cannot open the async queue", e)),
        };
        let db = Arc::new(db);
        // Create every table so readers never meet a missing one.
        let mut txn = db
            .begin_write()
            .map_err(|e| store_err(&path, "begin write", e))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| store_err(&path, "durability", e))?;
        {
            let tables = Tables::open(&txn).map_err(|e| store_err(&path, "create tables", e))?;
            drop(tables);
        }
        txn.commit().map_err(|e| store_err(&path, "commit", e))?;

        let (tx, rx) = mpsc::channel(CHANNEL);
        let writer_db = db.clone();
        let writer_path = path.clone();
        let commits = Arc::new(AtomicU64::new(0));
        let writer_commits = commits.clone();
        let writer = std::thread::Builder::new()
            .name("scf-async-queue-writer".into())
            .spawn(move || writer_loop(&writer_db, &writer_path, rx, &writer_commits))
            .map_err(|e| store_err(&path, "cannot start the writer thread", e))?;
        Ok(Store {
            db,
            path,
            jobs: Some(tx),
            writer: Some(writer),
            commits,
        })
    }

    /// Write transactions committed since the store was opened.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// The store's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `ops` atomically and durably; returns once they are fsynced.
    pub(crate) async fn write(&self, ops: Vec<WriteOp>) -> Result<(), DurableError> {
        let (reply, answer) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or(DurableError::Closed)?;
        jobs.send(Job { ops, reply })
            .await
            .map_err(|_| DurableError::Closed)?;
        answer.await.map_err(|_| DurableError::Closed)?
    }

    fn read(&self) -> Result<ReadTransaction, DurableError> {
        self.db
            .begin_read()
            .map_err(|e| store_err(&self.path, "begin read", e))
    }

    /// One event's record.
    pub(crate) fn get(&self, request_id: &str) -> Result<Option<EventRecord>, DurableError> {
        let txn = self.read()?;
        let events = txn
            .open_table(EVENTS)
            .map_err(|e| store_err(&self.path, "events", e))?;
        let found = events
            .get(request_id)
            .map_err(|e| store_err(&self.path, "read event", e))?;
        found.map(|v| decode(&self.path, v.value())).transpose()
    }

    /// One event's payload.
    pub(crate) fn payload(&self, request_id: &str) -> Result<Option<Bytes>, DurableError> {
        let txn = self.read()?;
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

    /// Visits records in acceptance order (newest first unless `ascending`) until `visit`
    /// returns `false`.
    pub(crate) fn scan_timeline(
        &self,
        ascending: bool,
        mut visit: impl FnMut(EventRecord) -> bool,
    ) -> Result<(), DurableError> {
        let txn = self.read()?;
        let timeline = txn
            .open_table(TIMELINE)
            .map_err(|e| store_err(&self.path, "timeline", e))?;
        let events = txn
            .open_table(EVENTS)
            .map_err(|e| store_err(&self.path, "events", e))?;
        let iter = timeline
            .iter()
            .map_err(|e| store_err(&self.path, "scan timeline", e))?;
        let iter: Box<dyn Iterator<Item = _>> = if ascending {
            Box::new(iter)
        } else {
            Box::new(iter.rev())
        };
        for entry in iter {
            let (key, _) = entry.map_err(|e| store_err(&self.path, "scan timeline", e))?;
            let (_, id) = key.value();
            let Some(v) = events
                .get(id)
                .map_err(|e| store_err(&self.path, "read event", e))?
            else {
                continue;
            };
            if !visit(decode(&self.path, v.value())?) {
                break;
            }
        }
        Ok(())
    }

    /// Dead-lettered events, oldest first: their records and payloads, for `ids` or all.
    pub(crate) fn dead_letters(
        &self,
        mut visit: impl FnMut(EventRecord, Option<Bytes>) -> bool,
    ) -> Result<(), DurableError> {
        let txn = self.read()?;
        let dead = txn
            .open_table(DEAD)
            .map_err(|e| store_err(&self.path, "dead letters", e))?;
        let events = txn
            .open_table(EVENTS)
            .map_err(|e| store_err(&self.path, "events", e))?;
        let payloads = txn
            .open_table(PAYLOADS)
            .map_err(|e| store_err(&self.path, "payloads", e))?;
        for entry in dead
            .iter()
            .map_err(|e| store_err(&self.path, "scan dead letters", e))?
        {
            let (key, _) = entry.map_err(|e| store_err(&self.path, "scan dead letters", e))?;
            let (_, id) = key.value();
            let Some(v) = events
                .get(id)
                .map_err(|e| store_err(&self.path, "read event", e))?
            else {
                continue;
            };
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

    fn apply(&mut self, op: &WriteOp) -> Result<(), String> {
        match op {
            WriteOp::Put { record, payload } => self.put(record, payload.as_deref()),
            WriteOp::Delete { request_id } => self.delete(request_id),
            WriteOp::Prune { before_ms, ids } => self.prune(*before_ms, ids),
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

    fn put(&mut self, record: &EventRecord, payload: Option<&[u8]>) -> Result<(), String> {
        let id = record.request_id.as_str();
        let e = |e: redb::StorageError| e.to_string();
        let old = self.record(id)?;
        let json = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        self.events.insert(id, json.as_slice()).map_err(e)?;
        if let Some(payload) = payload {
            self.payloads.insert(id, payload).map_err(e)?;
        }
        if let Some(old) = &old {
            if old.created_ms != record.created_ms {
                self.timeline.remove((old.created_ms, id)).map_err(e)?;
            }
            if old.state == EventState::Failed {
                self.dead
                    .remove((old.ended_ms.unwrap_or(0), id))
                    .map_err(e)?;
            }
        }
        self.timeline
            .insert((record.created_ms, id), ())
            .map_err(e)?;
        match record.state {
            EventState::Queued | EventState::InFlight => {
                self.pending.insert(id, record.due_ms).map_err(e)?;
            }
            EventState::Failed => {
                self.pending.remove(id).map_err(e)?;
                self.dead
                    .insert((record.ended_ms.unwrap_or(0), id), ())
                    .map_err(e)?;
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
        self.timeline.remove((old.created_ms, id)).map_err(e)?;
        if old.state == EventState::Failed {
            self.dead
                .remove((old.ended_ms.unwrap_or(0), id))
                .map_err(e)?;
        }
        Ok(())
    }

    fn prune(&mut self, before_ms: u64, ids: &[String]) -> Result<(), String> {
        for id in ids {
            if let Some(record) = self.record(id)?
                && prunable(&record, before_ms)
            {
                self.delete(id)?;
            }
        }
        Ok(())
    }
}

/// Whether `record` is finished or aborted and ended before `before_ms`.
pub(crate) fn prunable(record: &EventRecord, before_ms: u64) -> bool {
    matches!(record.state, EventState::Finished | EventState::Aborted)
        && record.ended_ms.is_some_and(|ended| ended < before_ms)
}

fn writer_loop(db: &Database, path: &Path, mut rx: mpsc::Receiver<Job>, commits: &AtomicU64) {
    let mut batch = Vec::with_capacity(64);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let result = commit(db, &batch);
        if result.is_ok() {
            commits.fetch_add(1, Ordering::Relaxed);
        }
        let result = result.map_err(|message| {
            tracing::error!(target: "scf::async", path = %path.display(), "async queue write failed: {message}");
            DurableError::Store(format!("{}: write failed: {message}", path.display()))
        });
        for job in batch.drain(..) {
            let _ = job.reply.send(result.clone());
        }
    }
}

fn commit(db: &Database, batch: &[Job]) -> Result<(), String> {
    let mut txn = db.begin_write().map_err(|e| e.to_string())?;
    txn.set_durability(Durability::Immediate)
        .map_err(|e| e.to_string())?;
    {
        let mut tables = Tables::open(&txn).map_err(|e| e.to_string())?;
        for job in batch {
            for op in &job.ops {
                tables.apply(op)?;
            }
        }
    }
    txn.commit().map_err(|e| e.to_string())
}
