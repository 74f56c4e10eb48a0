//! The CKafka trigger end to end through `cargo scf serve`, against a real Kafka-protocol broker: every
//! produced message reaches the function, in order per partition, across a SIGKILL of the server
//! and a restart on the same state folder, with none skipped.
//!
//! The broker is installed by the test itself (see `tests/kafka/mod.rs`); without it the test
//! prints `SKIPPED: …` and returns.

use crate::support::host;
use crate::support::kafka;
use crate::support::recorder as support;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use host::TempDir;
use kafka::{Broker, broker_or_skip, wait_until};
use rskafka::client::partition::Compression;
use serde_json::Value;
use support::{Serve, deliveries, write_config};

/// `(partition, offset, body)` of every message the function ran, in the order it ran them
/// (a batch's records in their order).
fn delivered_messages(dir: &std::path::Path) -> Vec<(i64, i64, String)> {
    deliveries(dir)
        .into_iter()
        .flat_map(|(_, event)| {
            event["Records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|r: Value| {
                    let m = &r["Ckafka"];
                    (
                        m["partition"].as_i64().unwrap(),
                        m["offset"].as_i64().unwrap(),
                        m["msgBody"].as_str().unwrap_or_default().to_owned(),
                    )
                })
        })
        .collect()
}

async fn produce(broker: &Broker, from: usize, to: usize) {
    for partition in 0..2 {
        let messages = (from..to)
            .filter(|i| i % 2 == partition as usize)
            .map(|i| {
                (
                    Some(format!("k{i}").into_bytes()),
                    Some(format!("m{i}").into_bytes()),
                )
            })
            .collect();
        broker
            .produce("orders", partition, messages, Compression::NoCompression)
            .await;
    }
}

async fn wait_for_messages(dir: &std::path::Path, want: usize, server: &Serve, broker: &Broker) {
    let distinct = || {
        delivered_messages(dir)
            .into_iter()
            .map(|(p, o, _)| (p, o))
            .collect::<HashSet<(i64, i64)>>()
            .len()
    };
    assert!(
        wait_until(Duration::from_secs(60), || distinct() >= want).await,
        "{} of {want} messages delivered within 60 s\nserver:\n{}\nbroker:\n{}",
        distinct(),
        server.output(),
        broker.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_reaches_the_function_in_order_across_a_sigkill() {
    let Some(broker) =
        broker_or_skip("every_message_reaches_the_function_in_order_across_a_sigkill").await
    else {
        return;
    };
    broker.create_topic("orders", 2).await;
    let dir = TempDir::new("ckafka-serve");
    let trigger = format!(
        "max_instances = 2\n\n[[functions.rec.triggers]]\ntype = \"ckafka\"\nname = \"orders\"\nbrokers = [\"{}\"]\ntopic = \"orders\"\nbatch_size = 10\nmax_wait_s = 1\noffset = \"earliest\"\n",
        broker.address()
    );
    let Some(addr) = write_config(dir.path(), "", &trigger) else {
        return;
    };

    let server = Serve::start(dir.path(), addr);
    produce(&broker, 0, 100).await;
    wait_for_messages(dir.path(), 100, &server, &broker).await;

    // Killed without warning, more produced while it is down, then started again.
    server.sigkill();
    produce(&broker, 100, 200).await;
    let server = Serve::start(dir.path(), addr);
    wait_for_messages(dir.path(), 200, &server, &broker).await;

    let all = delivered_messages(dir.path());
    // Per partition, offsets are 0..100 without a gap, first seen in order, with the body
    // that was produced at that offset.
    let mut first_seen: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (partition, offset, body) in &all {
        let n = offset * 2 + partition;
        assert_eq!(
            body,
            &format!("m{n}"),
            "partition {partition} offset {offset}"
        );
        if seen.insert((*partition, *offset)) {
            first_seen.entry(*partition).or_default().push(*offset);
        }
    }
    for (partition, offsets) in &first_seen {
        assert_eq!(
            offsets,
            &(0..100).collect::<Vec<i64>>(),
            "partition {partition}: every offset, in order"
        );
    }
    println!(
        "200 messages over 2 partitions delivered across a SIGKILL: {} deliveries, {} duplicates",
        all.len(),
        all.len() - seen.len()
    );

    // The batches were async events from the CKafka source.
    let listing = host::send(addr, host::get("/async/events?source=CKAFKA&limit=1"))
        .await
        .json();
    assert!(listing["total"].as_u64().unwrap() >= 20, "{listing}");
    assert_eq!(listing["events"][0]["source"], "CKAFKA");
    drop(server);
}
