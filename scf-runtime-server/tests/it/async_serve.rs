//! Durable async invocation end to end through `cargo scf serve`: acknowledged events survive SIGKILL,
//! function errors are retried and dead-lettered under a shortened policy, status shows through
//! the Cloud API, the `/async` routes and the `cargo scf events` / `cargo scf dlq` commands (against the
//! server and against the state folder while the server is stopped).

use crate::support::host;
use crate::support::recorder as support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use host::{TempDir, get, send};
use http::Request;
use http_body_util::Full;
use scf_runtime_server::durable::{DeadLetterPage, EventPage};
use serde_json::{Value, json};
use support::{Serve, deliveries, write_config};

/// Sends an async invoke on a new connection; `Some(request id)` on 202, `None` on any failure
/// (connection refused or reset while the server is down, a non-202 answer).
async fn try_async_invoke(addr: SocketAddr, body: String) -> Option<String> {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .ok()?;
        tokio::spawn(connection);
        let request = Request::post("/functions/rec/invocations")
            .header("host", "localhost")
            .header("x-scf-invocation-type", "Event")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = sender.send_request(request).await.ok()?;
        if response.status() != 202 {
            return None;
        }
        Some(
            response.headers()["x-scf-request-id"]
                .to_str()
                .ok()?
                .to_owned(),
        )
    };
    tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .ok()
        .flatten()
}

async fn async_invoke(addr: SocketAddr, event: Value) -> String {
    try_async_invoke(addr, event.to_string())
        .await
        .expect("the async invoke is accepted with 202")
}

/// One Cloud API call: its `Response`.
async fn cloud(addr: SocketAddr, action: &str, params: Value) -> Value {
    host::cloud(addr, action, params).await["Response"].clone()
}

/// A tiny deterministic generator for the kill points (seed printed, so a run can be repeated).
struct Lcg(u64);

impl Lcg {
    fn next_below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_acknowledged_events_survive_five_sigkills() {
    const EVENTS: usize = 10_000;
    const KILLS: usize = 5;
    let dir = TempDir::new("async-kill");
    let Some(addr) = write_config(
        dir.path(),
        "queue_timeout_s = 30",
        "max_instances = 4\ntimeout_s = 10",
    ) else {
        return;
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill schedule seed: {seed}");
    let mut rng = Lcg(seed);

    let server = Arc::new(Mutex::new(Some(Serve::start(dir.path(), addr))));
    let acked: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    // 16 clients send {"n": i} until every i is acknowledged, retrying an i whose answer never
    // came (the server died under it: it may or may not have been accepted).
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (acked, next) = (acked.clone(), next.clone());
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= EVENTS {
                    return;
                }
                let body = json!({ "n": i }).to_string();
                loop {
                    if let Some(id) = try_async_invoke(addr, body.clone()).await {
                        acked.lock().unwrap().insert(i, id);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    // Kill the server at random points while events are accepted and delivered, at least
    // KILLS times, and start it again on the same address and state folder.
    let killer = {
        let (server, acked, done) = (server.clone(), acked.clone(), done.clone());
        let dir = dir.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut kills = Vec::new();
            while kills.len() < KILLS || !done.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(200 + rng.next_below(1300)));
                let old = server.lock().unwrap().take().expect("a server runs");
                let acked_then = acked.lock().unwrap().len();
                let pid = old.pid();
                old.sigkill();
                kills.push((pid, acked_then, deliveries(&dir).len()));
                std::thread::sleep(Duration::from_millis(rng.next_below(300)));
                *server.lock().unwrap() = Some(Serve::start(&dir, addr));
                if kills.len() >= KILLS * 3 {
                    break;
                }
            }
            kills
        })
    };

    for c in clients {
        c.await.unwrap();
    }
    done.store(true, Ordering::Release);
    let kills = killer.await.unwrap();
    for (pid, acked_then, delivered_then) in &kills {
        println!(
            "SIGKILLed cargo scf serve (pid {pid}) with {acked_then} events acknowledged and {delivered_then} deliveries recorded"
        );
    }
    assert!(kills.len() >= KILLS);
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), EVENTS);

    // Every acknowledged event is delivered at least once, with the id it was acknowledged with.
    let deadline = Instant::now() + Duration::from_secs(240);
    let (distinct, total) = loop {
        let all = deliveries(dir.path());
        let seen: HashSet<(usize, String)> = all
            .iter()
            .filter_map(|(id, e)| Some((e["n"].as_u64()? as usize, id.clone())))
            .collect();
        let missing = acked
            .iter()
            .filter(|(n, id)| !seen.contains(&(**n, (*id).clone())))
            .count();
        if missing == 0 {
            break (seen.len(), all.len());
        }
        assert!(
            Instant::now() < deadline,
            "{missing} acknowledged events were not delivered within 240 s of the last kill; server output:\n{}",
            server
                .lock()
                .unwrap()
                .as_ref()
                .map(Serve::output)
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Events whose 202 was lost when the server died were sent again by the client; the first
    // copy may have been stored and delivered too (under its own request id).
    println!(
        "{EVENTS} events acknowledged across {} SIGKILLs: all {EVENTS} delivered; {} more accepted whose acknowledgement was lost; {total} deliveries in all, {} of them duplicates",
        kills.len(),
        distinct - EVENTS,
        total - distinct
    );

    // Nothing is left running, and the queue says so.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = send(addr, get("/async/events?status=RUNNING&limit=1"))
            .await
            .json();
        if running["total"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still running: {running}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let finished = send(addr, get("/async/events?status=FINISHED&limit=1"))
        .await
        .json();
    assert!(
        finished["total"].as_u64().unwrap() >= EVENTS as u64,
        "{finished}"
    );
    drop(server.lock().unwrap().take());
}

fn scf(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-scf"))
        .args(args)
        .arg("--config")
        .arg(dir.join("scf.toml"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn wait_status(addr: SocketAddr, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = cloud(
            addr,
            "GetAsyncEventStatus",
            json!({ "InvokeRequestId": id }),
        )
        .await;
        if r["Result"]["Status"] == status {
            return r["Result"].clone();
        }
        assert!(Instant::now() < deadline, "{id} never became {status}: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_retried_then_dead_lettered_and_every_view_shows_it() {
    let dir = TempDir::new("async-dlq");
    let Some(addr) = write_config(
        dir.path(),
        "async_retry_num = 2\nasync_retry_interval_s = 0.5",
        "max_instances = 2",
    ) else {
        return;
    };
    let server = Serve::start(dir.path(), addr);

    // A success finishes: 200 in GetAsyncEventStatus, once in the record.
    let ok = async_invoke(addr, json!({ "k": "ok" })).await;
    let status = wait_status(addr, &ok, "FINISHED").await;
    assert_eq!(status["StatusCode"], 200);
    assert_eq!(status["InvokeRequestId"], ok.as_str());

    // A failure runs three times (two retries), half a second apart, with the same request id,
    // then is FAILED with the function's error code.
    let started = Instant::now();
    let bad = async_invoke(addr, json!({ "fail": "no stock for item 7" })).await;
    let running = cloud(
        addr,
        "GetAsyncEventStatus",
        json!({ "InvokeRequestId": bad }),
    )
    .await;
    assert_eq!(running["Result"]["Status"], "RUNNING", "{running}");
    assert_eq!(running["Result"]["StatusCode"], 202);
    let failed = wait_status(addr, &bad, "FAILED").await;
    assert_eq!(failed["StatusCode"], 430, "{failed}");
    let attempts: Vec<_> = deliveries(dir.path())
        .into_iter()
        .filter(|(id, _)| *id == bad)
        .collect();
    assert_eq!(attempts.len(), 3, "first delivery and 2 retries");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "two retries 0.5 s apart took {:?}",
        started.elapsed()
    );

    // The Cloud API lists both, filtered and paged as asked.
    let list = cloud(
        addr,
        "ListAsyncEvents",
        json!({ "FunctionName": "rec", "Status": ["FAILED"], "Limit": 10 }),
    )
    .await;
    assert_eq!(list["TotalCount"], 1, "{list}");
    let event = &list["EventList"][0];
    assert_eq!(event["InvokeRequestId"], bad.as_str());
    assert_eq!(event["InvokeType"], "INVOKE");
    assert_eq!(event["Qualifier"], "$LATEST");
    assert!(event["EndTime"].as_str().unwrap().len() >= 19, "{event}");
    let all = cloud(addr, "ListAsyncEvents", json!({ "FunctionName": "rec" })).await;
    assert_eq!(all["TotalCount"], 2, "{all}");
    let refused = cloud(
        addr,
        "ListAsyncEvents",
        json!({ "FunctionName": "rec", "Limit": 500 }),
    )
    .await;
    assert_eq!(
        refused["Error"]["Code"], "InvalidParameterValue",
        "{refused}"
    );
    let missing = cloud(
        addr,
        "GetAsyncEventStatus",
        json!({ "InvokeRequestId": "nope" }),
    )
    .await;
    assert_eq!(
        missing["Error"]["Code"], "ResourceNotFound.AsyncEvent",
        "{missing}"
    );

    // `cargo scf events` and `cargo scf dlq` against the running server.
    let (ok_run, out, err) = scf(dir.path(), &["events", "list", "--status", "FAILED"]);
    assert!(ok_run, "{err}");
    assert!(
        out.contains(&bad) && out.contains("430 no stock for item 7"),
        "{out}"
    );
    assert!(out.contains("1 of 1 event(s)"), "{out}");
    let (ok_run, out, err) = scf(dir.path(), &["events", "show", &bad]);
    assert!(ok_run, "{err}");
    assert!(
        out.contains("FAILED") && out.contains(r#"{"fail":"no stock for item 7"}"#),
        "{out}"
    );
    let (ok_run, out, err) = scf(dir.path(), &["dlq", "list", "--json"]);
    assert!(ok_run, "{err}");
    let dlq: DeadLetterPage = serde_json::from_str(&out).unwrap();
    assert_eq!(dlq.total, 1, "{out}");
    assert_eq!(dlq.dead_letters[0].request_id, bad);
    assert_eq!(dlq.dead_letters[0].error_code, 430);
    assert_eq!(dlq.dead_letters[0].retry_num, 2);
    let (ok_run, _, err) = scf(dir.path(), &["dlq", "purge"]);
    assert!(
        !ok_run && err.contains("--all"),
        "purging needs a selection: {err}"
    );

    // Replay under the same id: it runs again (and fails again three times).
    let (ok_run, out, err) = scf(dir.path(), &["dlq", "replay", &bad]);
    assert!(ok_run, "{err}");
    assert!(out.contains("replayed 1 dead letter(s)"), "{out}");
    wait_status(addr, &bad, "FAILED").await;
    let runs = deliveries(dir.path())
        .iter()
        .filter(|(id, _)| *id == bad)
        .count();
    assert_eq!(runs, 6);

    // Aborting: a slow event occupies both instances, the next waits queued and is aborted.
    let slow1 = async_invoke(addr, json!({ "sleep": 1.5 })).await;
    let slow2 = async_invoke(addr, json!({ "sleep": 1.5 })).await;
    let waiting = async_invoke(addr, json!({ "k": "never" })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = cloud(
        addr,
        "TerminateAsyncEvent",
        json!({ "FunctionName": "rec", "InvokeRequestId": waiting }),
    )
    .await;
    assert!(r.get("Error").is_none(), "{r}");
    let aborted = wait_status(addr, &waiting, "ABORTED").await;
    assert_eq!(aborted["StatusCode"], 499);
    wait_status(addr, &slow1, "FINISHED").await;
    wait_status(addr, &slow2, "FINISHED").await;
    let again = cloud(
        addr,
        "TerminateAsyncEvent",
        json!({ "FunctionName": "rec", "InvokeRequestId": slow1 }),
    )
    .await;
    assert_eq!(
        again["Error"]["Code"], "FailedOperation.AsyncEventStatus",
        "{again}"
    );
    assert!(
        !deliveries(dir.path()).iter().any(|(id, _)| *id == waiting),
        "the aborted event never ran"
    );

    // With the server stopped, the commands open the state folder themselves.
    server.sigkill();
    let (ok_run, out, err) = scf(dir.path(), &["events", "list", "--json", "-n", "100"]);
    assert!(ok_run, "{err}");
    let listing: EventPage = serde_json::from_str(&out).unwrap();
    assert_eq!(listing.total, 5, "{out}");
    let (ok_run, out, err) = scf(dir.path(), &["dlq", "list", "--json"]);
    assert!(ok_run, "{err}");
    let dlq: DeadLetterPage = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(dlq.total, 1, "{out}");
    let (ok_run, out, err) = scf(dir.path(), &["dlq", "purge", "--function", "rec"]);
    assert!(ok_run, "{err}");
    assert!(out.contains("purged 1 dead letter(s)"), "{out}");
    let (ok_run, out, err) = scf(dir.path(), &["dlq", "list"]);
    assert!(ok_run, "{err}");
    assert!(out.contains("0 of 0 dead letter(s)"), "{out}");
    let (ok_run, _, err) = scf(dir.path(), &["events", "show", "no-such-id"]);
    assert!(!ok_run && err.contains("no-such-id"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_async_queue_refuses_with_432_and_the_timer_source_is_recorded() {
    let dir = TempDir::new("async-full");
    let Some(addr) = write_config(
        dir.path(),
        "async_queue_length = 3",
        "max_instances = 1\n[[functions.rec.triggers]]\ntype = \"timer\"\nname = \"tick\"\ncron = \"*/1 * * * * * *\"\nmessage = \"hi\"",
    ) else {
        return;
    };
    let server = Serve::start(dir.path(), addr);
    // The timer's events are listed with their source.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let timers = send(addr, get("/async/events?source=TIMER&status=FINISHED"))
            .await
            .json();
        if timers["total"].as_u64().unwrap_or(0) >= 1 {
            assert_eq!(timers["events"][0]["source"], "TIMER");
            break;
        }
        assert!(Instant::now() < deadline, "{timers}\n{}", server.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One instance, a slow event each: past 3 accepted-and-not-done events the answer is 432.
    let mut codes = Vec::new();
    for _ in 0..8 {
        let answer = send(
            addr,
            Request::post("/functions/rec/invocations")
                .header("host", "localhost")
                .header("x-scf-invocation-type", "Event")
                .body(Full::new(Bytes::from(r#"{"sleep": 1}"#)))
                .unwrap(),
        )
        .await;
        if answer.status != 202 {
            let body = answer.json();
            assert_eq!(body["code"], 432, "{body}");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("async queue of rec is full"),
                "{body}"
            );
        }
        codes.push(answer.status.as_u16());
    }
    assert!(codes.contains(&432), "{codes:?}");
    assert!(
        codes.iter().filter(|c| **c == 202).count() <= 4,
        "{codes:?}"
    );
}
