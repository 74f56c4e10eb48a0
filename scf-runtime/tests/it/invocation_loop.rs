//! The invocation loop against the mock runtime API, over real HTTP on loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scf_runtime::testing::{EventOptions, MockApi, Outcome};
use scf_runtime::{Context, Error, Invocation, Runtime, RuntimeErrorKind, service_fn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

async fn echo(event: Value, _ctx: Context) -> Result<Value, Error> {
    Ok(event)
}

/// Runs `service` for exactly `events.len()` invocations and returns the outcomes in order.
async fn drive<S, E, R>(mock: &MockApi, service: S, events: &[&str]) -> Vec<Outcome>
where
    S: tower::Service<Invocation<E>, Response = R>,
    S::Error: Into<scf_runtime::BoxError>,
    E: serde::de::DeserializeOwned,
    R: Serialize,
{
    for event in events {
        mock.push_event(event.to_string());
    }
    tokio::time::timeout(
        Duration::from_secs(20),
        Runtime::new(service)
            .config(mock.config())
            .max_invocations(events.len() as u64)
            .handle_sigterm(false)
            .run(),
    )
    .await
    .expect("the runtime finished in time")
    .expect("the runtime ran");
    let mut outcomes = Vec::new();
    for _ in events {
        outcomes.push(mock.next_outcome().await);
    }
    outcomes
}

#[tokio::test]
async fn success_posts_the_serialised_result_after_ready() {
    let mock = MockApi::start().await;
    let outcomes = drive(&mock, service_fn(echo), &[r#"{"a":[1,2,{"b":null}]}"#]).await;
    assert_eq!(mock.ready_count(), 1);
    assert!(!outcomes[0].is_error());
    assert_eq!(outcomes[0].json(), json!({"a":[1,2,{"b":null}]}));
    assert_eq!(outcomes[0].request_id(), "mock-1");
}

#[derive(Debug)]
struct PaymentDeclined {
    card: String,
}
impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "card {} was declined", self.card)
    }
}
impl std::error::Error for PaymentDeclined {}

#[tokio::test]
async fn handler_error_reports_the_concrete_type_name() {
    let mock = MockApi::start().await;
    let service = service_fn(|_: Value, _: Context| async {
        Err::<Value, _>(PaymentDeclined {
            card: "4242".into(),
        })
    });
    let outcomes = drive(&mock, service, &["{}"]).await;
    let outcome = &outcomes[0];
    assert!(outcome.is_error());
    assert_eq!(
        outcome.json(),
        json!({"errorType": "PaymentDeclined", "errorMessage": "card 4242 was declined"})
    );
}

#[tokio::test]
async fn boxed_errors_are_not_named_box() {
    let mock = MockApi::start().await;
    let service = service_fn(|_: Value, _: Context| async {
        Err::<Value, Box<dyn std::error::Error + Send + Sync>>("boom".into())
    });
    let outcomes = drive(&mock, service, &["{}"]).await;
    assert_eq!(outcomes[0].error_type().as_deref(), Some("Error"));
    assert_eq!(outcomes[0].error_message().as_deref(), Some("boom"));
}

#[tokio::test]
async fn string_errors_and_scf_errors_in_a_box_keep_what_they_say() {
    let mock = MockApi::start().await;
    let service = service_fn(|n: u32, _: Context| async move {
        match n {
            0 => Err::<Value, String>("a plain string".to_string()),
            _ => Ok(json!(n)),
        }
    });
    let outcomes = drive(&mock, service, &["0"]).await;
    assert_eq!(
        outcomes[0].json(),
        json!({"errorType": "Error", "errorMessage": "a plain string"})
    );

    let service = service_fn(|_: Value, _: Context| async {
        let err: scf_runtime::BoxError = Error::new("Declined", "card declined").into();
        Err::<Value, _>(err)
    });
    let outcomes = drive(&mock, service, &["{}"]).await;
    assert_eq!(
        outcomes[0].json(),
        json!({"errorType": "Declined", "errorMessage": "card declined"})
    );
}

#[derive(Debug, Deserialize, Serialize)]
struct Order {
    id: u64,
    items: Vec<Item>,
}
#[derive(Debug, Deserialize, Serialize)]
struct Item {
    sku: String,
    qty: u32,
}

#[tokio::test]
async fn bad_event_names_the_path_and_type_and_skips_the_handler() {
    let mock = MockApi::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let service = service_fn(move |order: Order, _: Context| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, Error>(order.id) }
    });
    let outcomes = drive(
        &mock,
        service,
        &[
            r#"{"id":7,"items":[{"sku":"a","qty":1},{"sku":"b","qty":"two"}]}"#,
            "not json",
            r#"{"id":8,"items":[]}"#,
        ],
    )
    .await;
    let message = outcomes[0].error_message().unwrap();
    assert_eq!(
        outcomes[0].error_type().as_deref(),
        Some("DeserializeError")
    );
    assert!(message.contains("items[1].qty"), "{message}");
    assert!(message.contains("Order"), "{message}");
    assert_eq!(
        outcomes[1].error_type().as_deref(),
        Some("DeserializeError")
    );
    // The instance lives on and the third event is served.
    assert_eq!(outcomes[2].body().as_ref(), b"8");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the handler ran only for the good event"
    );
}

#[tokio::test]
async fn panics_inside_the_future_and_while_building_it_are_reported_and_survived() {
    let mock = MockApi::start().await;
    let service = service_fn(|event: Value, _: Context| {
        if event == json!("panic-now") {
            panic!("refused to even start");
        }
        async move {
            if event == json!("panic-later") {
                panic!("gave up halfway: {}", 42);
            }
            Ok::<_, Error>(event)
        }
    });
    let outcomes = drive(
        &mock,
        service,
        &[r#""panic-later""#, r#""panic-now""#, r#""fine""#],
    )
    .await;
    assert_eq!(outcomes[0].error_type().as_deref(), Some("Panic"));
    assert_eq!(
        outcomes[0].error_message().as_deref(),
        Some("handler panicked: gave up halfway: 42")
    );
    assert_eq!(outcomes[1].error_type().as_deref(), Some("Panic"));
    assert_eq!(
        outcomes[1].error_message().as_deref(),
        Some("handler panicked: refused to even start")
    );
    assert_eq!(outcomes[2].json(), json!("fine"));
}

#[tokio::test]
async fn capitalised_headers_are_read() {
    let mock = MockApi::builder().title_case_headers(true).start().await;
    mock.push_event_with(
        "1",
        EventOptions::default()
            .request_id("Req-Upper")
            .memory_limit_mb(512)
            .time_limit_ms(9000),
    );
    let service = service_fn(|_: Value, ctx: Context| async move {
        Ok::<_, Error>(json!({
            "id": ctx.request_id(),
            "mb": ctx.memory_limit_mb(),
            "ms": ctx.time_limit().as_millis() as u64,
        }))
    });
    Runtime::new(service)
        .config(mock.config())
        .max_invocations(1)
        .run()
        .await
        .unwrap();
    assert_eq!(
        mock.next_outcome().await.json(),
        json!({"id": "Req-Upper", "mb": 512, "ms": 9000})
    );
}

#[tokio::test]
async fn deadline_is_receipt_plus_limit_and_remaining_counts_down() {
    let mock = MockApi::start().await;
    mock.push_event_with("1", EventOptions::default().time_limit_ms(2000));
    let before = Instant::now();
    let service = service_fn(move |_: Value, ctx: Context| async move {
        let first = ctx.remaining();
        tokio::time::sleep(Duration::from_millis(120)).await;
        let second = ctx.remaining();
        let after = Instant::now();
        Ok::<_, Error>(json!({
            "deadline_ok": ctx.deadline() >= before + Duration::from_millis(2000)
                && ctx.deadline() <= after + Duration::from_millis(2000),
            "first_ms": first.as_millis() as u64,
            "drop_ms": (first - second).as_millis() as u64,
        }))
    });
    Runtime::new(service)
        .config(mock.config())
        .max_invocations(1)
        .run()
        .await
        .unwrap();
    let json = mock.next_outcome().await.json();
    assert_eq!(json["deadline_ok"], true, "{json}");
    assert!(json["first_ms"].as_u64().unwrap() <= 2000, "{json}");
    assert!(json["first_ms"].as_u64().unwrap() > 1500, "{json}");
    assert!(json["drop_ms"].as_u64().unwrap() >= 100, "{json}");
}

#[tokio::test]
async fn six_megabyte_event_and_non_ascii_round_trip() {
    let mock = MockApi::start().await;
    let big = "é".repeat(3 * 1024 * 1024); // 6 MiB of UTF-8
    let big_event = serde_json::to_string(&json!({ "blob": big })).unwrap();
    let unicode = r#"{"名前":"雲関数","emoji":"🦀","escaped":"\u00e9\ud83e\udd80"}"#;
    let outcomes = drive(&mock, service_fn(echo), &[&big_event, unicode]).await;
    assert_eq!(
        outcomes[0].json()["blob"].as_str().unwrap().len(),
        big.len()
    );
    assert_eq!(
        outcomes[1].json(),
        json!({"名前":"雲関数","emoji":"🦀","escaped":"é🦀"})
    );
}

#[tokio::test]
async fn next_is_a_long_poll_without_client_timeout() {
    let mock = MockApi::start().await;
    let pusher = mock.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        pusher.push_event(r#""late""#);
    });
    let started = Instant::now();
    Runtime::new(service_fn(echo))
        .config(mock.config())
        .max_invocations(1)
        .run()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(mock.next_outcome().await.json(), json!("late"));
    assert_eq!(
        mock.next_count(),
        1,
        "one /next request, held open, not re-polled"
    );
}

#[tokio::test]
async fn soft_deadline_reports_timeout_and_keeps_serving() {
    let mock = MockApi::start().await;
    mock.push_event_with(r#""slow""#, EventOptions::default().time_limit_ms(400));
    mock.push_event_with(r#""fast""#, EventOptions::default().time_limit_ms(400));
    let service = service_fn(|event: Value, _: Context| async move {
        if event == json!("slow") {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        Ok::<_, Error>(event)
    });
    let started = Instant::now();
    Runtime::new(service)
        .config(mock.config())
        .timeout_margin(Duration::from_millis(100))
        .max_invocations(2)
        .run()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    let first = mock.next_outcome().await;
    assert_eq!(first.error_type().as_deref(), Some("Timeout"));
    assert_eq!(
        first.error_message().as_deref(),
        Some("handler exceeded the deadline minus 100 ms")
    );
    assert_eq!(mock.next_outcome().await.json(), json!("fast"));
}

#[tokio::test]
async fn unreachable_runtime_api_is_a_clear_error() {
    // Bind then drop a listener to get a port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = scf_runtime::Config::with_runtime_api(([127, 0, 0, 1], port).into());
    let started = Instant::now();
    let err = Runtime::new(service_fn(echo))
        .config(config)
        .run()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), RuntimeErrorKind::Transport);
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("/runtime/init/ready"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gives up after about a second"
    );
}

#[tokio::test]
async fn repeated_next_in_one_invocation_replays_the_event() {
    // Exercise the mock itself the way a bootstrap that re-polls would.
    let mock = MockApi::start().await;
    mock.push_event(r#""only""#);
    let url = format!("http://{}/runtime/invocation/next", mock.addr());
    let first = raw_get(&url).await;
    let second = raw_get(&url).await;
    assert_eq!(first, second);
    assert!(first.contains("\"only\""));
}

async fn raw_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(
            format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out.split_once("\r\n\r\n").unwrap().1.to_owned()
}

#[tokio::test]
async fn testing_invoke_runs_one_event() {
    let outcome = scf_runtime::testing::invoke(service_fn(echo), r#"[1,"two"]"#).await;
    assert_eq!(outcome.json(), json!([1, "two"]));
}

/// A handler that expects its own shape, not a trigger's.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Upload {
    #[serde(rename = "Records")]
    records: Vec<UploadRecord>,
}
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct UploadRecord {
    event: UploadEvent,
}
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct UploadEvent {
    #[serde(rename = "eventTime")]
    event_time: String,
}

#[cfg(feature = "hint")]
#[tokio::test]
async fn a_trigger_event_into_the_wrong_type_names_the_trigger_and_the_path() {
    let cos = scf_events::fixtures::get("cos-put").expect("the cos-put fixture is bundled");
    let mock = MockApi::start().await;
    let outcomes = drive(
        &mock,
        service_fn(|_: Upload, _: Context| async { Ok::<_, Error>(0) }),
        &[cos],
    )
    .await;
    assert_eq!(
        outcomes[0].error_type().as_deref(),
        Some("DeserializeError")
    );
    let message = outcomes[0].error_message().unwrap();
    assert!(
        message.contains("at `Records[0].event.eventTime`"),
        "{message}"
    );
    assert!(message.contains("Upload"), "{message}");
    assert!(
        message.ends_with("(this looks like a COS event)"),
        "{message}"
    );

    // The same at the top level, and for another trigger.
    let timer = scf_events::fixtures::get("timer-doc").expect("the timer-doc fixture is bundled");
    let mock = MockApi::start().await;
    let outcomes = drive(
        &mock,
        service_fn(|order: Order, _: Context| async move { Ok::<_, Error>(order.id) }),
        &[cos, timer],
    )
    .await;
    let message = outcomes[0].error_message().unwrap();
    assert!(message.contains("at the top level"), "{message}");
    assert!(message.contains("missing field `id`"), "{message}");
    assert!(
        message.ends_with("(this looks like a COS event)"),
        "{message}"
    );
    let message = outcomes[1].error_message().unwrap();
    assert!(
        message.ends_with("(this looks like a timer event)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_payload_of_no_known_trigger_gets_no_hint() {
    let mock = MockApi::start().await;
    let outcomes = drive(
        &mock,
        service_fn(|order: Order, _: Context| async move { Ok::<_, Error>(order.id) }),
        &[r#"{"Records":[{"sku":"a"}]}"#, "not json"],
    )
    .await;
    for outcome in &outcomes {
        let message = outcome.error_message().unwrap();
        assert_eq!(outcome.error_type().as_deref(), Some("DeserializeError"));
        assert!(!message.contains("looks like"), "{message}");
    }
}

/// How the raw host below treats a connection after each answer.
#[derive(Clone, Copy)]
enum Closing {
    /// `Connection: close`, then close.
    Announced,
    /// Answer as if keeping the connection alive, wait this long (the handler is still
    /// running), then close it without a word.
    Silently(Duration),
    /// Keep it alive, but cut the first `/next` answer short of its `Content-Length` and
    /// close.
    TruncateFirstNext,
}

/// What the raw host saw: posted outcomes as `(path, body)`, and connections accepted.
#[derive(Default)]
struct RawHostLog {
    posts: Vec<(String, String)>,
    connections: usize,
    /// The `User-Agent` of the ready call.
    ready_user_agent: Option<String>,
}

/// A bare HTTP/1.1 runtime API host over plain TCP, for closing connections in ways the
/// hyper-based mock does not. Serves `events` in order, one per `/next`.
async fn raw_host(
    closing: Closing,
    events: Vec<&'static str>,
) -> (std::net::SocketAddr, Arc<std::sync::Mutex<RawHostLog>>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(std::sync::Mutex::new(RawHostLog::default()));
    let state = Arc::new(std::sync::Mutex::new((events, 0usize, false)));
    let host_log = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            host_log.lock().unwrap().connections += 1;
            let (log, state) = (host_log.clone(), state.clone());
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0usize;
                    let mut user_agent = None;
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("user-agent")
                        {
                            user_agent = Some(value.trim().to_owned());
                        }
                    }
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).await.unwrap();
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                    let mut truncate = false;
                    let (head, answer) = if path == "/runtime/invocation/next" {
                        let event = {
                            let mut state = state.lock().unwrap();
                            let event = state.0[state.1];
                            if matches!(closing, Closing::TruncateFirstNext) && !state.2 {
                                state.2 = true;
                                truncate = true;
                            }
                            event
                        };
                        (
                            "request_id: raw\r\nmemory_limit_in_mb: 128\r\ntime_limit_in_ms: 3000\r\n",
                            event.to_owned(),
                        )
                    } else {
                        if path == "/runtime/init/ready" {
                            log.lock().unwrap().ready_user_agent = user_agent;
                        } else {
                            let mut state = state.lock().unwrap();
                            state.1 += 1;
                            log.lock()
                                .unwrap()
                                .posts
                                .push((path, String::from_utf8_lossy(&body).into_owned()));
                        }
                        ("", String::new())
                    };
                    let connection = match closing {
                        Closing::Announced => "Connection: close\r\n",
                        _ => "",
                    };
                    let sent = if truncate {
                        &answer[..answer.len() / 2]
                    } else {
                        &answer[..]
                    };
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\n{head}{connection}Content-Length: {}\r\n\r\n{sent}",
                        answer.len()
                    );
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                    let _ = stream.flush().await;
                    match closing {
                        Closing::Announced => return,
                        Closing::Silently(after) => {
                            tokio::time::sleep(after).await;
                            return;
                        }
                        Closing::TruncateFirstNext if truncate => return,
                        Closing::TruncateFirstNext => {}
                    }
                }
            });
        }
    });
    (addr, log)
}

async fn run_against_raw_host(
    closing: Closing,
    events: Vec<&'static str>,
    handler_sleep: Duration,
) -> RawHostLog {
    let count = events.len() as u64;
    let (addr, log) = raw_host(closing, events).await;
    let service = service_fn(move |event: Value, _: Context| async move {
        tokio::time::sleep(handler_sleep).await;
        Ok::<_, Error>(json!({ "echo": event }))
    });
    tokio::time::timeout(
        Duration::from_secs(30),
        Runtime::new(service)
            .config(scf_runtime::Config::with_runtime_api(addr))
            .max_invocations(count)
            .handle_sigterm(false)
            .run(),
    )
    .await
    .expect("the runtime finished in time (no hang on a closed connection)")
    .expect("the runtime kept going across closed connections");
    std::mem::take(&mut *log.lock().unwrap())
}

fn expected_posts(events: &[&str]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|event| {
            let value: Value = serde_json::from_str(event).unwrap();
            (
                "/runtime/invocation/response".to_owned(),
                json!({ "echo": value }).to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_host_that_closes_every_connection_is_followed() {
    let events = vec![r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#];
    let log = run_against_raw_host(Closing::Announced, events.clone(), Duration::ZERO).await;
    assert_eq!(log.posts, expected_posts(&events));
    // ready, then a /next and a post per event, each on its own connection.
    assert_eq!(log.connections, 1 + 2 * events.len());
    assert_eq!(
        log.ready_user_agent,
        Some(format!("scf-rust/{}", env!("CARGO_PKG_VERSION")))
    );
}

#[tokio::test]
async fn a_connection_closed_while_the_handler_runs_is_replaced() {
    let events = vec![r#"{"n":1}"#, r#"{"n":2}"#];
    let log = run_against_raw_host(
        Closing::Silently(Duration::from_millis(50)),
        events.clone(),
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(log.posts, expected_posts(&events));
    // The ready call, then every /next and post, each on a connection of its own.
    assert!(log.connections > 2 * events.len(), "{}", log.connections);
}

#[tokio::test]
async fn a_connection_closed_right_after_each_answer_is_replaced() {
    let events = vec![r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#];
    let log = run_against_raw_host(
        Closing::Silently(Duration::ZERO),
        events.clone(),
        Duration::ZERO,
    )
    .await;
    assert_eq!(log.posts, expected_posts(&events));
}

#[tokio::test]
async fn an_event_cut_short_is_fetched_again_not_handled_truncated() {
    let events = vec![
        r#"{"payload":"0123456789abcdef0123456789abcdef"}"#,
        r#"{"n":2}"#,
    ];
    let log =
        run_against_raw_host(Closing::TruncateFirstNext, events.clone(), Duration::ZERO).await;
    assert_eq!(log.posts, expected_posts(&events));
    assert_eq!(log.connections, 2, "one reconnection after the cut");
}
