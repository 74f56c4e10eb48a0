//! The durable async queue at scale: listings read an index, not every stored event, and
//! retention keeps the store bounded under a sustained accept rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scf_runtime_server::durable::{
    AsyncStatus, COUNT_CAP, Clock, DeliveryOutcome, DispatchConfig, DurableQueue, EventSource,
    ListQuery, NewEvent, QueueConfig,
};

const FUNCTIONS: [&str; 4] = ["f0", "f1", "f2", "f3"];

/// Accepts `n` events spread over [`FUNCTIONS`], 2,048 at a time (one group commit each).
async fn accept(queue: &DurableQueue, n: usize) {
    let mut accepted = 0;
    while accepted < n {
        let batch = 2048.min(n - accepted);
        let enqueues = (accepted..accepted + batch).map(|i| {
            let source = if i % 2 == 0 {
                EventSource::Invoke
            } else {
                EventSource::Timer
            };
            queue.enqueue(NewEvent::new(
                FUNCTIONS[i % FUNCTIONS.len()],
                format!(r#"{{"n":{i}}}"#),
                source,
            ))
        });
        for id in futures_util::future::join_all(enqueues).await {
            id.expect("accepted");
        }
        accepted += batch;
    }
}

/// A dispatcher whose function succeeds at once, pruning every `prune_every`. Deliveries share
/// commits: enough run at once that one commit ends hundreds of them.
fn succeed_all(
    queue: &DurableQueue,
    prune_every: Duration,
) -> scf_runtime_server::durable::Dispatcher {
    queue.start_dispatcher(
        DispatchConfig {
            prune_every,
            concurrency: 1024,
            default_per_function: 1024,
            ..DispatchConfig::default()
        },
        |_| async { DeliveryOutcome::Success },
    )
}

/// The events not done yet.
fn running() -> ListQuery {
    ListQuery {
        statuses: vec![AsyncStatus::Running],
        ..ListQuery::default()
    }
}

/// Lists `query`, returning the page and how many records the listing read.
fn list(
    queue: &DurableQueue,
    query: ListQuery,
) -> (
    scf_runtime_server::durable::Page<scf_runtime_server::durable::EventRecord>,
    u64,
) {
    let before = queue.records_read();
    let started = Instant::now();
    let page = queue.list(&query).expect("listing");
    let read = queue.records_read() - before;
    println!(
        "list {:?} {:?} offset {} limit {}: {} items of {} in {:?}, {read} records read",
        query.function,
        query.statuses,
        query.offset,
        query.limit,
        page.items.len(),
        page.total,
        started.elapsed()
    );
    (page, read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_200k_stored_events_reads_only_its_own_records() {
    let dir = tempfile::tempdir().unwrap();
    let config = QueueConfig {
        max_pending_per_function: 100_000,
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open(dir.path(), config).unwrap();
    let started = Instant::now();
    accept(&queue, 200_000).await;
    println!(
        "accepted 200,000 events in {:?} ({} commits), store {} bytes",
        started.elapsed(),
        queue.commits(),
        queue.file_bytes()
    );

    // One function's page, newest first, from the middle of its 50,000 events.
    let (page, read) = list(
        &queue,
        ListQuery {
            function: Some("f1".into()),
            offset: 100,
            limit: 20,
            ..ListQuery::default()
        },
    );
    assert_eq!(page.total, 50_000, "the total comes from the counts");
    assert_eq!(page.items.len(), 20);
    assert!(page.items.iter().all(|r| r.function == "f1"));
    assert!(
        page.items
            .windows(2)
            .all(|w| (w[0].created_ms, &w[0].request_id) > (w[1].created_ms, &w[1].request_id)),
        "newest first"
    );
    assert_eq!(read, 20, "a page reads its own records and no others");

    // The same page through the ascending order and the status index.
    let (page, read) = list(
        &queue,
        ListQuery {
            function: Some("f2".into()),
            statuses: vec![AsyncStatus::Running, AsyncStatus::Failed],
            ascending: true,
            limit: 5,
            ..ListQuery::default()
        },
    );
    assert_eq!((page.total, page.items.len(), read), (50_000, 5, 5));
    assert!(
        page.items
            .windows(2)
            .all(|w| (w[0].created_ms, &w[0].request_id) < (w[1].created_ms, &w[1].request_id)),
        "oldest first"
    );
    let (page, read) = list(
        &queue,
        ListQuery {
            function: Some("f2".into()),
            statuses: vec![AsyncStatus::Finished],
            ..ListQuery::default()
        },
    );
    assert_eq!((page.total, page.items.len(), read), (0, 0, 0));

    // Every function's events.
    let (page, read) = list(
        &queue,
        ListQuery {
            offset: 199_990,
            limit: 20,
            ..ListQuery::default()
        },
    );
    assert_eq!((page.total, page.items.len(), read), (200_000, 10, 10));

    // A filter the indexes do not hold counts at most COUNT_CAP matches past the page.
    let (page, read) = list(
        &queue,
        ListQuery {
            function: Some("f0".into()),
            sources: vec![EventSource::Invoke],
            limit: 20,
            ..ListQuery::default()
        },
    );
    assert_eq!(page.items.len(), 20);
    assert!(page.items.iter().all(|r| r.source == EventSource::Invoke));
    assert_eq!(page.total, 20 + COUNT_CAP);
    assert!(read <= (20 + COUNT_CAP) as u64, "read {read} records");

    // The dashboard's counts read no event at all.
    let before = queue.records_read();
    let counts = queue.state_counts().unwrap();
    assert_eq!(queue.records_read(), before);
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|c| c.queued == 50_000));

    // Pages come from the index the store keeps: a reopened store answers the same.
    drop(queue);
    let queue = DurableQueue::open(dir.path(), QueueConfig::default()).unwrap();
    let (page, read) = list(
        &queue,
        ListQuery {
            function: Some("f3".into()),
            limit: 3,
            ..ListQuery::default()
        },
    );
    assert_eq!((page.total, page.items.len(), read), (50_000, 3, 3));
}

/// A clock the test moves: each second of traffic lasts exactly as long as the machine takes to
/// accept and deliver its events, so the rate is what the test says on any machine.
#[derive(Debug, Default)]
struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sustained_accept_rate_leaves_the_store_bounded_by_retention() {
    const PER_SECOND: usize = 1_200;
    const RETENTION_S: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(1_700_000_000_000)));
    let config = QueueConfig {
        retention: Duration::from_secs(RETENTION_S as u64),
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open_with_clock(dir.path(), config, clock.clone()).unwrap();
    let dispatcher = succeed_all(&queue, Duration::from_millis(100));
    let running = running();
    let mut samples = Vec::new();
    for second in 1..=60usize {
        accept(&queue, PER_SECOND).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        while queue.list(&running).unwrap().total > 0 {
            assert!(
                Instant::now() < deadline,
                "second {second}'s events were not delivered"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        clock.0.fetch_add(1000, Ordering::SeqCst);
        // The background prune runs every 100 ms; this one makes the sample exact.
        queue.prune().await.unwrap();
        let stored = queue.list(&ListQuery::default()).unwrap().total;
        samples.push((second, stored, queue.file_bytes()));
    }
    dispatcher.stop(Duration::from_secs(5)).await;
    for (second, stored, bytes) in samples.iter().step_by(5) {
        println!("t={second:>2}s stored={stored:>6} file={bytes:>9} bytes");
    }
    // 72,000 events accepted and finished at 1,200/s; 4 s of retention keeps the last 4 s.
    for (second, stored, _) in &samples {
        assert_eq!(
            *stored,
            (*second).min(RETENTION_S) * PER_SECOND,
            "events stored after second {second}"
        );
    }
    // Freed pages are reused: the file follows the events alive at once (a few thousand), not
    // the 72,000 accepted, which unpruned take over 100 MB (~1.4 KB each, as the 200,000-event
    // test's file shows). When redb grows its file depends on when readers let pages go, so the
    // bound allows a doubling or two past the ~18 MB it settles at.
    let last = samples.last().unwrap().2;
    assert!(
        last <= 48 << 20,
        "the file is {last} bytes after 72,000 events, of which at most 6,000 were alive at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pruned_store_is_compacted_to_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let config = QueueConfig {
        retention: Duration::ZERO,
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open(dir.path(), config).unwrap();
    accept(&queue, 20_000).await;
    let dispatcher = succeed_all(&queue, Duration::from_secs(3600));
    let running = running();
    let deadline = Instant::now() + Duration::from_secs(120);
    while queue.list(&running).unwrap().total > 0 {
        assert!(Instant::now() < deadline, "the events were not delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dispatcher.stop(Duration::from_secs(5)).await;
    let full = queue.file_bytes();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(queue.prune().await.unwrap(), 20_000);
    assert_eq!(queue.list(&ListQuery::default()).unwrap().total, 0);
    assert!(queue.compact().await.unwrap(), "nothing was compacted");
    let compacted = queue.file_bytes();
    println!("{full} bytes with 20,000 events, {compacted} bytes after pruning and compacting");
    assert!(compacted < full / 4, "{full} -> {compacted} bytes");
    // The compacted store goes on accepting.
    let id = queue
        .enqueue(NewEvent::new("f0", "{}", EventSource::Invoke))
        .await
        .unwrap();
    assert!(queue.get(&id).unwrap().is_some());
}
