//! The durable async queue on a real redb file: acceptance, group commit, restarts, the retry
//! policy in scaled time, dead letters, queries and the per-function bound.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scf_runtime_server::durable::{
    AsyncStatus, Backoff, Clock, DeadLetterFilter, DeadLetterView, DeliveryOutcome, DispatchConfig,
    DurableError, DurableQueue, EventSource, EventState, GiveUp, ListQuery, NewEvent, QueueConfig,
    ReplayId, RetryPolicy, ScaledClock,
};

/// One delivery as the function saw it.
#[derive(Debug, Clone)]
struct Seen {
    request_id: String,
    attempt: u32,
    at_ms: u64,
    payload: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn event(function: &str, payload: &str) -> NewEvent {
    NewEvent::new(function, payload.to_owned(), EventSource::Invoke)
}

/// Waits (bounded) until `check` holds.
async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A dispatcher whose function answers with `answer(attempt)` and logs every delivery.
fn dispatch(
    queue: &DurableQueue,
    clock: Arc<dyn Clock>,
    answer: impl Fn(u32) -> DeliveryOutcome + Send + Sync + 'static,
) -> (scf_runtime_server::durable::Dispatcher, Log) {
    let log: Log = Arc::default();
    let seen = log.clone();
    let answer = Arc::new(answer);
    let dispatcher = queue.start_dispatcher(DispatchConfig::default(), move |event| {
        let seen = seen.clone();
        let answer = answer.clone();
        let clock = clock.clone();
        async move {
            seen.lock().unwrap().push(Seen {
                request_id: event.request_id().to_owned(),
                attempt: event.record.attempts,
                at_ms: clock.now_ms(),
                payload: String::from_utf8_lossy(&event.payload).into_owned(),
            });
            answer(event.record.attempts)
        }
    });
    (dispatcher, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_events_are_delivered_and_finish() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let queue =
        DurableQueue::open_with_clock(dir.path(), QueueConfig::default(), clock.clone()).unwrap();
    let id = queue.enqueue(event("echo", r#"{"n":1}"#)).await.unwrap();
    let record = queue.get(&id).unwrap().expect("stored");
    assert_eq!(record.status(), AsyncStatus::Running);
    assert_eq!(record.status_code(), 202);
    assert_eq!(record.function, "echo");
    assert_eq!(record.payload_len, 7);
    assert_eq!(queue.pending("echo"), 1);

    let (dispatcher, log) = dispatch(&queue, clock, |_| DeliveryOutcome::Success);
    eventually("FINISHED", Duration::from_secs(10), || {
        queue.get(&id).unwrap().unwrap().state == EventState::Finished
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    let record = queue.get(&id).unwrap().unwrap();
    assert_eq!(
        (record.status(), record.status_code(), record.attempts),
        (AsyncStatus::Finished, 200, 1)
    );
    assert!(record.ended_ms.is_some() && record.started_ms.is_some());
    assert_eq!(queue.pending("echo"), 0);
    assert_eq!(
        queue.payload(&id).unwrap(),
        None,
        "a finished event's payload is dropped"
    );
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].request_id.as_str(), log[0].payload.as_str()),
        (id.as_str(), r#"{"n":1}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enqueues_share_commits_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let queue = DurableQueue::open(dir.path(), QueueConfig::default()).unwrap();
    let before = queue.commits();
    let mut tasks = Vec::new();
    for i in 0..2000 {
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            queue
                .enqueue(event(
                    if i % 2 == 0 { "a" } else { "b" },
                    &format!("{{\"i\":{i}}}"),
                ))
                .await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().expect("accepted"));
    }
    let commits = queue.commits() - before;
    eprintln!("2000 concurrent enqueues took {commits} commits");
    assert!(
        commits < 2000,
        "group commit batches concurrent enqueues ({commits} commits)"
    );
    assert_eq!(queue.pending("a") + queue.pending("b"), 2000);
    drop(queue);

    // Everything acknowledged is there after a reopen, payloads included.
    let queue = DurableQueue::open(dir.path(), QueueConfig::default()).unwrap();
    assert_eq!((queue.pending("a"), queue.pending("b")), (1000, 1000));
    for id in ids.iter().step_by(97) {
        let record = queue.get(id).unwrap().expect("still stored");
        assert_eq!(record.state, EventState::Queued);
        assert!(queue.payload(id).unwrap().is_some());
    }
    let page = queue
        .list(&ListQuery {
            function: Some("a".into()),
            limit: 5,
            ..Default::default()
        })
        .unwrap();
    assert_eq!((page.total, page.items.len()), (1000, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_in_flight_at_a_crash_is_delivered_again() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let queue =
        DurableQueue::open_with_clock(dir.path(), QueueConfig::default(), clock.clone()).unwrap();
    let id = queue.enqueue(event("slow", "{}")).await.unwrap();
    // The function never answers: the "server" dies during the delivery.
    let started = Arc::new(Mutex::new(0));
    let s = started.clone();
    let dispatcher = queue.start_dispatcher(DispatchConfig::default(), move |_| {
        *s.lock().unwrap() += 1;
        std::future::pending::<DeliveryOutcome>()
    });
    eventually("the delivery to start", Duration::from_secs(10), || {
        *started.lock().unwrap() == 1
    })
    .await;
    assert_eq!(queue.get(&id).unwrap().unwrap().state, EventState::InFlight);
    assert_eq!(queue.in_flight(), 1);
    dispatcher.stop(Duration::ZERO).await;
    drop(queue);

    let queue =
        DurableQueue::open_with_clock(dir.path(), QueueConfig::default(), clock.clone()).unwrap();
    let record = queue.get(&id).unwrap().unwrap();
    assert_eq!((record.state, record.attempts), (EventState::Queued, 0));
    let (dispatcher, log) = dispatch(&queue, clock, |_| DeliveryOutcome::Success);
    eventually("redelivery", Duration::from_secs(10), || {
        queue.get(&id).unwrap().unwrap().state == EventState::Finished
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    assert_eq!(
        log.lock().unwrap()[0].request_id,
        id,
        "same request id after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_not_yet_fsynced_at_a_crash_are_delivered_again() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    // No acceptance follows the deliveries and the outcomes' own fsync is an hour away.
    let config = QueueConfig {
        outcome_sync: Duration::from_secs(3600),
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open_with_clock(dir.path(), config.clone(), clock.clone()).unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            queue
                .enqueue(event("f", &format!("{{\"n\":{i}}}")))
                .await
                .unwrap(),
        );
    }
    let synced = queue.commits();
    let (dispatcher, log) = dispatch(&queue, clock.clone(), |_| DeliveryOutcome::Success);
    eventually("the deliveries to finish", Duration::from_secs(10), || {
        queue.totals().finished == 3
    })
    .await;
    // Readers see the outcomes at once; none took an fsync.
    for id in &ids {
        assert_eq!(queue.get(id).unwrap().unwrap().state, EventState::Finished);
    }
    assert_eq!(queue.state_counts().unwrap()["f"].succeeded, 3);
    assert_eq!(queue.commits(), synced, "no outcome was fsynced");
    assert!(queue.unsynced_commits() >= 1);
    // What `kill -9` leaves now: the file as it is, opened by a new process (redb repairs it).
    let file = scf_runtime_server::durable::store::FILE_NAME;
    std::fs::copy(dir.path().join(file), crashed.path().join(file)).unwrap();
    dispatcher.stop(Duration::from_secs(1)).await;
    assert_eq!(log.lock().unwrap().len(), 3);

    // After the crash: the events are queued as before their delivery, indexes and counts too,
    // and they are delivered again.
    let after =
        DurableQueue::open_with_clock(crashed.path(), config.clone(), clock.clone()).unwrap();
    assert_eq!(after.pending("f"), 3);
    for id in &ids {
        let record = after.get(id).unwrap().unwrap();
        assert_eq!((record.state, record.attempts), (EventState::Queued, 0));
        assert!(after.payload(id).unwrap().is_some(), "payload kept");
    }
    let counts = &after.state_counts().unwrap()["f"];
    assert_eq!((counts.queued, counts.succeeded), (3, 0));
    let finished = ListQuery {
        statuses: vec![AsyncStatus::Finished],
        ..ListQuery::default()
    };
    assert_eq!(after.list(&finished).unwrap().total, 0);
    let (redelivery, relog) = dispatch(&after, clock.clone(), |_| DeliveryOutcome::Success);
    eventually("the redeliveries", Duration::from_secs(10), || {
        after.totals().finished == 3
    })
    .await;
    redelivery.stop(Duration::from_secs(1)).await;
    let mut again: Vec<String> = relog
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.request_id.clone())
        .collect();
    again.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        again, expected,
        "each event delivered again, under its request id"
    );

    // A clean stop fsyncs what was not: the original file keeps its outcomes.
    drop(queue);
    let reopened = DurableQueue::open_with_clock(dir.path(), config, clock).unwrap();
    assert_eq!(reopened.pending("f"), 0);
    assert_eq!(reopened.list(&finished).unwrap().total, 3);
    assert_eq!(reopened.state_counts().unwrap()["f"].succeeded, 3);
}

const MIN_MS: u64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_are_retried_twice_a_minute_apart_then_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    // 60 s of policy time pass in 300 ms.
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(200.0));
    let queue =
        DurableQueue::open_with_clock(dir.path(), QueueConfig::default(), clock.clone()).unwrap();
    let id = queue
        .enqueue(event("flaky", r#"{"order":7}"#))
        .await
        .unwrap();
    let (dispatcher, log) = dispatch(&queue, clock.clone(), |_| {
        DeliveryOutcome::from_code(430, "ValueError: bad order")
    });
    eventually("the dead letter", Duration::from_secs(10), || {
        queue.get(&id).unwrap().unwrap().state == EventState::Failed
    })
    .await;

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "the first delivery and 2 retries: {seen:?}");
    assert!(
        seen.iter().all(|s| s.request_id == id),
        "the same request id on every retry"
    );
    assert_eq!(
        seen.iter().map(|s| s.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for pair in seen.windows(2) {
        let gap = pair[1].at_ms - pair[0].at_ms;
        assert!(
            (MIN_MS..2 * MIN_MS).contains(&gap),
            "retries are 60 s apart, got {gap} ms"
        );
    }

    let record = queue.get(&id).unwrap().unwrap();
    assert_eq!(
        (record.status(), record.status_code()),
        (AsyncStatus::Failed, 430)
    );
    assert_eq!(record.give_up, Some(GiveUp::RetriesExhausted));
    assert_eq!(record.retry_num(), 2);
    let dlq = queue
        .dead_letters(&DeadLetterFilter::default(), 0, 10)
        .unwrap();
    assert_eq!(dlq.total, 1);
    let dead = DeadLetterView::from(&dlq.items[0]);
    assert_eq!(
        (
            dead.request_id.as_str(),
            dead.error_code,
            dead.error_message.as_str(),
            dead.retry_num,
            dead.event.as_str()
        ),
        (
            id.as_str(),
            430,
            "ValueError: bad order",
            2,
            r#"{"order":7}"#
        )
    );
    assert_eq!(dead.reason, "function error retries exhausted");
    dispatcher.stop(Duration::from_secs(1)).await;

    // Replay under the same id: RUNNING again, delivered, FINISHED; the dead letter is gone.
    let (dispatcher, log) = dispatch(&queue, clock, |_| DeliveryOutcome::Success);
    let replayed = queue
        .replay(
            &DeadLetterFilter {
                request_ids: vec![id.clone()],
                ..Default::default()
            },
            ReplayId::Same,
        )
        .await
        .unwrap();
    assert_eq!(replayed, vec![id.clone()]);
    eventually("the replay to finish", Duration::from_secs(10), || {
        queue.get(&id).unwrap().unwrap().state == EventState::Finished
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    assert_eq!(log.lock().unwrap()[0].payload, r#"{"order":7}"#);
    assert_eq!(
        queue
            .dead_letters(&DeadLetterFilter::default(), 0, 10)
            .unwrap()
            .total,
        0
    );
    let err = queue
        .replay(
            &DeadLetterFilter {
                request_ids: vec![id.clone()],
                ..Default::default()
            },
            ReplayId::Same,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DurableError::WrongState { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttles_back_off_exponentially() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(50.0));
    let queue =
        DurableQueue::open_with_clock(dir.path(), QueueConfig::default(), clock.clone()).unwrap();
    let id = queue.enqueue(event("busy", "{}")).await.unwrap();
    let (dispatcher, log) = dispatch(&queue, clock, |attempt| {
        if attempt <= 4 {
            DeliveryOutcome::from_code(432, "no instance free")
        } else {
            DeliveryOutcome::Success
        }
    });
    eventually("FINISHED", Duration::from_secs(10), || {
        queue.get(&id).unwrap().unwrap().state == EventState::Finished
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 5);
    let gaps: Vec<u64> = seen.windows(2).map(|p| p[1].at_ms - p[0].at_ms).collect();
    for (gap, expected) in gaps.iter().zip([1_000, 2_000, 4_000, 8_000]) {
        assert!(
            *gap >= expected && *gap < expected + 5_000,
            "throttle backoff doubles from 1 s: gaps {gaps:?}"
        );
    }
    let record = queue.get(&id).unwrap().unwrap();
    assert_eq!(record.failures.throttles, 4);
    assert_eq!(
        record.failures.function_errors, 0,
        "throttles do not use up retries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_errors_stop_at_max_age_and_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(50.0));
    let config = QueueConfig {
        policy: RetryPolicy {
            max_age: Duration::from_secs(20),
            system_backoff: Backoff::exponential(Duration::from_secs(1), Duration::from_secs(300)),
            ..RetryPolicy::default()
        },
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open_with_clock(dir.path(), config, clock.clone()).unwrap();
    let id = queue.enqueue(event("broken", "{}")).await.unwrap();
    let (dispatcher, log) = dispatch(&queue, clock, |_| {
        DeliveryOutcome::from_code(500, "host fault")
    });
    eventually("the dead letter", Duration::from_secs(10), || {
        queue.get(&id).unwrap().unwrap().state == EventState::Failed
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    // Deliveries at about 0, 1, 3, 7 and 15 s; the next (31 s) would pass the 20 s max age.
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 5, "{seen:?}");
    let record = queue.get(&id).unwrap().unwrap();
    assert_eq!(record.give_up, Some(GiveUp::MaxAge));
    assert_eq!(record.status_code(), 500);
    assert!(record.ended_ms.unwrap() - record.created_ms <= 20_000);
    let dead = queue
        .dead_letters(&DeadLetterFilter::default(), 0, 10)
        .unwrap();
    assert_eq!(
        DeadLetterView::from(&dead.items[0]).reason,
        "the event reached its max age"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_events_are_dead_lettered_at_once_and_can_be_replayed_fresh_or_purged() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let queue =
        DurableQueue::open_with_clock(dir.path(), QueueConfig::default(), clock.clone()).unwrap();
    let a = queue.enqueue(event("gone", r#"{"a":1}"#)).await.unwrap();
    let b = queue.enqueue(event("gone", r#"{"b":2}"#)).await.unwrap();
    let c = queue.enqueue(event("other", r#"{"c":3}"#)).await.unwrap();
    let (dispatcher, log) = dispatch(&queue, clock, |_| {
        DeliveryOutcome::from_code(435, "function gone does not exist")
    });
    eventually("3 dead letters", Duration::from_secs(10), || {
        queue
            .dead_letters(&DeadLetterFilter::default(), 0, 10)
            .unwrap()
            .total
            == 3
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    assert_eq!(log.lock().unwrap().len(), 3, "refusals are never retried");
    let only_gone = DeadLetterFilter {
        function: Some("gone".into()),
        ..Default::default()
    };
    let page = queue.dead_letters(&only_gone, 1, 10).unwrap();
    assert_eq!((page.total, page.items.len()), (2, 1), "filtered and paged");

    let fresh = queue
        .replay(
            &DeadLetterFilter {
                request_ids: vec![a.clone()],
                ..Default::default()
            },
            ReplayId::Fresh,
        )
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
    assert_ne!(fresh[0], a);
    assert_eq!(
        queue.get(&a).unwrap(),
        None,
        "a fresh replay removes the dead letter"
    );
    let replayed = queue.get(&fresh[0]).unwrap().unwrap();
    assert_eq!(
        (replayed.state, replayed.function.as_str()),
        (EventState::Queued, "gone")
    );
    assert_eq!(queue.payload(&fresh[0]).unwrap().unwrap(), r#"{"a":1}"#);

    assert_eq!(queue.purge(&only_gone).await.unwrap(), 1);
    assert_eq!(queue.get(&b).unwrap(), None);
    assert_eq!(queue.get(&c).unwrap().unwrap().state, EventState::Failed);
    let err = queue
        .purge(&DeadLetterFilter {
            request_ids: vec!["nope".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        DurableError::NotFound {
            request_id: "nope".into()
        }
    );
    assert_eq!(err.cloud_api_code(), "ResourceNotFound.AsyncEvent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_function_queue_refuses_with_432_and_frees_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = QueueConfig {
        max_pending_per_function: 3,
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open(dir.path(), config).unwrap();
    for _ in 0..3 {
        queue.enqueue(event("f", "{}")).await.unwrap();
    }
    let err = queue.enqueue(event("f", "{}")).await.unwrap_err();
    assert_eq!(
        err,
        DurableError::QueueFull {
            function: "f".into(),
            limit: 3
        }
    );
    assert_eq!(err.scf_code(), 432);
    assert!(
        err.to_string().contains("max_pending_per_function"),
        "{err}"
    );
    // Other functions have their own bound.
    queue.enqueue(event("g", "{}")).await.unwrap();

    let dispatcher = queue.start_dispatcher(DispatchConfig::default(), |_| async {
        DeliveryOutcome::Success
    });
    eventually("the queue to drain", Duration::from_secs(10), || {
        queue.pending("f") == 0
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    queue.enqueue(event("f", "{}")).await.expect("room again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_filters_pages_and_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let queue = DurableQueue::open(dir.path(), QueueConfig::default()).unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let source = if i == 4 {
            EventSource::Timer
        } else {
            EventSource::Invoke
        };
        ids.push(
            queue
                .enqueue(NewEvent::new("f", format!("{{\"i\":{i}}}"), source))
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    queue.enqueue(event("g", "{}")).await.unwrap();

    let newest = queue
        .list(&ListQuery {
            function: Some("f".into()),
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(newest.total, 5);
    assert_eq!(
        newest
            .items
            .iter()
            .map(|r| r.request_id.clone())
            .collect::<Vec<_>>(),
        [ids[4].clone(), ids[3].clone()]
    );
    let oldest = queue
        .list(&ListQuery {
            function: Some("f".into()),
            ascending: true,
            offset: 1,
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        oldest
            .items
            .iter()
            .map(|r| r.request_id.clone())
            .collect::<Vec<_>>(),
        [ids[1].clone(), ids[2].clone()]
    );
    let timers = queue
        .list(&ListQuery {
            sources: vec![EventSource::Timer],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(timers.total, 1);
    assert_eq!(timers.items[0].source.invoke_type(), "TIMER");

    let aborted = queue.abort(&ids[0]).await.unwrap();
    assert_eq!(
        (aborted.status(), aborted.status_code()),
        (AsyncStatus::Aborted, 499)
    );
    assert_eq!(queue.pending("f"), 4);
    let err = queue.abort(&ids[0]).await.unwrap_err();
    assert_eq!(err.cloud_api_code(), "FailedOperation.AsyncEventStatus");
    let by_status = queue
        .list(&ListQuery {
            statuses: vec![AsyncStatus::Aborted],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        by_status
            .items
            .iter()
            .map(|r| r.request_id.clone())
            .collect::<Vec<_>>(),
        [ids[0].clone()]
    );
    let running = queue
        .list(&ListQuery {
            statuses: vec![AsyncStatus::Running],
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(running.total, 5);

    // The aborted event is never delivered.
    let log: Log = Arc::default();
    let seen = log.clone();
    let dispatcher = queue.start_dispatcher(DispatchConfig::default(), move |e| {
        seen.lock().unwrap().push(Seen {
            request_id: e.request_id().into(),
            attempt: 0,
            at_ms: 0,
            payload: String::new(),
        });
        async { DeliveryOutcome::Success }
    });
    eventually("delivery", Duration::from_secs(10), || {
        queue.pending("f") + queue.pending("g") == 0
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    let delivered: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.request_id.clone())
        .collect();
    assert_eq!(delivered.len(), 5);
    assert!(!delivered.contains(&ids[0]));
    assert_eq!(
        queue.get(&ids[0]).unwrap().unwrap().state,
        EventState::Aborted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_events_are_pruned_after_retention_but_dead_letters_stay() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1000.0));
    let config = QueueConfig {
        retention: Duration::from_secs(60),
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open_with_clock(dir.path(), config, clock.clone()).unwrap();
    let ok = queue.enqueue(event("f", r#"{"ok":true}"#)).await.unwrap();
    let bad = queue.enqueue(event("f", r#"{"ok":false}"#)).await.unwrap();
    let bad_id = bad.clone();
    let dispatcher = queue.start_dispatcher(
        DispatchConfig {
            prune_every: Duration::from_millis(20),
            ..DispatchConfig::default()
        },
        move |e| {
            let outcome = if e.request_id() == bad_id {
                DeliveryOutcome::from_code(436, "bad")
            } else {
                DeliveryOutcome::Success
            };
            async move { outcome }
        },
    );
    // 60 s of retention pass in 60 ms.
    eventually(
        "the finished event to be pruned",
        Duration::from_secs(10),
        || queue.get(&ok).unwrap().is_none(),
    )
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    assert_eq!(queue.get(&bad).unwrap().unwrap().state, EventState::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_runs_one_event_at_a_time_in_position_order_and_a_failure_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    // Retries 10 ms apart in real time: a failing stream head is retried twice, then dead-lettered.
    let config = QueueConfig {
        policy: RetryPolicy {
            function_backoff: Backoff::fixed(Duration::from_millis(10)),
            ..RetryPolicy::default()
        },
        ..QueueConfig::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let queue = DurableQueue::open_with_clock(dir.path(), config.clone(), clock.clone()).unwrap();
    // The first event runs; of those waiting behind it, the lowest position goes next.
    let mut ids = Vec::new();
    for position in [0, 20, 10, 30] {
        let e = event("k", &format!(r#"{{"p":{position}}}"#)).ordered("k/t/0", position);
        ids.push(queue.enqueue(e).await.unwrap());
    }
    let other = queue.enqueue(event("k", r#"{"free":1}"#)).await.unwrap();
    // While the first stream event waits, the others are queued and can be aborted.
    let aborted = queue.abort(&ids[3]).await.unwrap();
    assert_eq!(aborted.status(), AsyncStatus::Aborted);

    // Many deliveries at once are allowed, and the event at position 10 fails every time.
    let running = Arc::new(Mutex::new(0usize));
    let overlap = Arc::new(Mutex::new(false));
    let log: Log = Arc::default();
    let dispatcher = {
        let (running, overlap, log, clock) =
            (running.clone(), overlap.clone(), log.clone(), clock.clone());
        queue.start_dispatcher(DispatchConfig::default(), move |event| {
            let (running, overlap, log, clock) =
                (running.clone(), overlap.clone(), log.clone(), clock.clone());
            async move {
                let payload = String::from_utf8_lossy(&event.payload).into_owned();
                let ordered = event.record.order.is_some();
                if ordered {
                    let mut r = running.lock().unwrap();
                    *r += 1;
                    if *r > 1 {
                        *overlap.lock().unwrap() = true;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                if ordered {
                    *running.lock().unwrap() -= 1;
                }
                log.lock().unwrap().push(Seen {
                    request_id: event.request_id().to_owned(),
                    attempt: event.record.attempts,
                    at_ms: clock.now_ms(),
                    payload: payload.clone(),
                });
                if payload.contains(r#""p":10"#) {
                    DeliveryOutcome::FunctionError {
                        code: 430,
                        message: "bad batch".into(),
                    }
                } else {
                    DeliveryOutcome::Success
                }
            }
        })
    };
    eventually("the stream is done", Duration::from_secs(10), || {
        queue.get(&ids[1]).unwrap().unwrap().state == EventState::Finished
    })
    .await;
    eventually("the free event is done", Duration::from_secs(10), || {
        queue.get(&other).unwrap().unwrap().state == EventState::Finished
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    assert!(
        !*overlap.lock().unwrap(),
        "two events of one stream ran at once"
    );
    let order: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.payload.contains(r#""p""#))
        .map(|s| s.payload.clone())
        .collect();
    assert_eq!(
        order,
        [
            r#"{"p":0}"#,
            r#"{"p":10}"#,
            r#"{"p":10}"#,
            r#"{"p":10}"#,
            r#"{"p":20}"#
        ],
        "position order; the failing event is retried before the stream moves on"
    );
    assert_eq!(
        queue.get(&ids[2]).unwrap().unwrap().status(),
        AsyncStatus::Failed
    );
    assert_eq!(
        queue.get(&ids[3]).unwrap().unwrap().status(),
        AsyncStatus::Aborted,
        "the aborted event never ran"
    );
    assert_eq!(queue.pending("k"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_rebuilt_in_position_order_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let queue = DurableQueue::open(dir.path(), QueueConfig::default()).unwrap();
        for position in [5, 1, 3] {
            let e = event("k", &format!(r#"{{"p":{position}}}"#)).ordered("s", position);
            queue.enqueue(e).await.unwrap();
        }
    }
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let queue =
        DurableQueue::open_with_clock(dir.path(), QueueConfig::default(), clock.clone()).unwrap();
    let (dispatcher, log) = dispatch(&queue, clock, |_| DeliveryOutcome::Success);
    eventually("all three ran", Duration::from_secs(10), || {
        log.lock().unwrap().len() == 3
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    let order: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.payload.clone())
        .collect();
    assert_eq!(order, [r#"{"p":1}"#, r#"{"p":3}"#, r#"{"p":5}"#]);
}

/// Retention keeps up: more finished events than one prune commit takes all go in one prune,
/// and dead letters accepted before them neither go nor hold them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_removes_every_expired_event_behind_dead_letters() {
    use scf_runtime_server::durable::PRUNE_BATCH;
    let dir = tempfile::tempdir().unwrap();
    // Real time and 2 s of retention: nothing expires while the events run.
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(1.0));
    let config = QueueConfig {
        retention: Duration::from_secs(2),
        ..QueueConfig::default()
    };
    let queue = DurableQueue::open_with_clock(dir.path(), config, clock.clone()).unwrap();
    let dead: Vec<String> = futures_util::future::join_all(
        (0..20).map(|i| queue.enqueue(event("f", &format!(r#"{{"bad":{i}}}"#)))),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let finished = PRUNE_BATCH + 500;
    let mut accepted = 0;
    while accepted < finished {
        let n = 1000.min(finished - accepted);
        let batch = (0..n).map(|i| queue.enqueue(event("f", &format!(r#"{{"ok":{i}}}"#))));
        for id in futures_util::future::join_all(batch).await {
            id.unwrap();
        }
        accepted += n;
    }
    // A dispatcher that never prunes by itself: the test's own call does.
    let dispatcher = queue.start_dispatcher(
        DispatchConfig {
            prune_every: Duration::from_secs(3600),
            ..DispatchConfig::default()
        },
        |e| {
            let outcome = if e.payload.starts_with(b"{\"bad\"") {
                DeliveryOutcome::from_code(436, "bad")
            } else {
                DeliveryOutcome::Success
            };
            async move { outcome }
        },
    );
    let total = |q: &DurableQueue| q.list(&ListQuery::default()).unwrap().total;
    eventually("every event to end", Duration::from_secs(60), || {
        queue
            .list(&ListQuery {
                statuses: vec![AsyncStatus::Running],
                ..ListQuery::default()
            })
            .unwrap()
            .total
            == 0
    })
    .await;
    dispatcher.stop(Duration::from_secs(1)).await;
    assert_eq!(total(&queue), finished + dead.len());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let pruned = queue.prune().await.unwrap();
    assert_eq!(
        pruned, finished,
        "one prune takes every expired finished event"
    );
    assert_eq!(total(&queue), dead.len(), "the dead letters stay");
    for id in &dead {
        assert_eq!(queue.get(id).unwrap().unwrap().state, EventState::Failed);
    }
    assert_eq!(queue.prune().await.unwrap(), 0);
}
