//! The dashboard: `GET /ui`, one page compiled into the binary (the HTML, script and style
//! under `src/http/ui/`, no request leaves the server: it works offline), and the JSON it reads,
//! which scripts can use too.
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /ui` | the page (`/ui/app.js` and `/ui/style.css` are its script and style) |
//! | `GET /ui/api/functions` | `{"time_ms", "in_flight", "functions": [function…]}`, most active first |
//! | `GET /ui/api/functions/{name}?seconds=` | `{"function", "instances", "recent", "timeline", "latency", "fixtures", "suggested_fixtures"}` |
//! | `GET /ui/api/fixtures/{name}` | one event fixture of `scf_events::fixtures`, as JSON |
//! | `GET /ui/api/events?function=&status=&offset=&limit=` | `{"counts": {function: counts}, "total", "events": [event…]}` |
//! | `GET /ui/api/stream?function=` | Server-Sent Events: a `snapshot` event every 500 ms |
//!
//! A **function** is its `/status` entry (name, `type`, limits, instance `counts`, `instances`)
//! plus `invocations_total` and `cold_starts_total` (the `/metrics` counters), `activity`
//! (`per_second` over the last 10 s, `last_minute` counts of invocations, errors and cold starts,
//! `errors_total`, `p50_ms` and `p99_ms` of the last 100 invocations, `mem_peak_bytes`,
//! `last_ended_ms`) and `triggers` (`kind`, `detail`, and a timer's `next_fire`). Its detail adds
//! each instance's `rss_bytes` and current `request_id`; `recent`, its last 100 invocations
//! newest first (`request_id`, `ended_ms`, `status_code`, `error`, `duration_ms`, `mem_bytes`,
//! `cold_start`, `log`: the last 2 KB); `timeline`, per second of the last `seconds` (default
//! 300) `{unix, invocations, errors}`; and `latency`, a histogram `{le_ms, count}` over the same
//! window. Events are as `/async/events` shows them (see [`crate::http::events`]); `counts`
//! holds per function `queued`, `running`, `retrying`, `succeeded`, `dead_lettered` and
//! `aborted`. Kafka consumer lag is not shown.
//!
//! A `snapshot` of the stream is `{"time_ms", "in_flight", "functions", "event_counts",
//! "detail"}`: `event_counts` is refreshed every 2 s, and `detail` (with `?function=`) is that
//! function's detail, whose `recent` is `null` when nothing ended since the previous snapshot.
//!
//! The page acts through the server's other routes: the **Invoke** form posts to the invoke API
//! with `X-Scf-Log-Type: Tail`, and **Replay**, **Purge** and **Abort** post to
//! `/async/dlq/replay`, `/async/dlq/purge` and `/async/events/{request_id}/abort`.
//!
//! **Cost to invocations.** Everything comes from the host's state, the same that feeds
//! `/status` and `/metrics`: the invoke path writes one bounded record per invocation (see
//! [`crate::host::activity`]) whether or not anyone watches, and never waits for or allocates
//! per dashboard client. Each client's stream samples a snapshot when its previous one has been
//! written out, at most every 500 ms, so a slow or stuck browser holds at most one snapshot and
//! skips samples instead of queueing them. Counting and listing async events reads the event
//! store, so it runs on the blocking pool, not on the workers that run invocations.
//!
//! **Authentication.** These are ordinary protected routes of the server's router: with
//! credentials configured, `/ui?token=<token>` sets the `scf_token` cookie the page's requests
//! then carry (see [`crate::http::cloud::auth`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::FunctionTrigger;
use crate::config::route::Methods;
use crate::durable::view::{EventFilter, list_events};
use crate::durable::{DurableQueue, StateCounts};
use crate::host::{FunctionOverview, Host};
use crate::http::AppState;
use crate::http::events::EventsApiError as OpError;
use crate::triggers::timer::format_time;

/// How often a stream samples the host.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// A stream refreshes its event counts every this many samples (they cost a pass over the
/// stored events).
const COUNTS_EVERY: u32 = 4;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const STYLE_CSS: &str = include_str!("ui/style.css");

/// The dashboard's routes, to merge into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(|| asset(INDEX_HTML, "text/html; charset=utf-8")))
        .route(
            "/ui/",
            get(|| asset(INDEX_HTML, "text/html; charset=utf-8")),
        )
        .route(
            "/ui/app.js",
            get(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/ui/style.css",
            get(|| asset(STYLE_CSS, "text/css; charset=utf-8")),
        )
        .route("/ui/api/functions", get(route_functions))
        .route("/ui/api/functions/{name}", get(route_function))
        .route("/ui/api/fixtures/{name}", get(route_fixture))
        .route("/ui/api/events", get(route_events))
        .route("/ui/api/stream", get(route_stream))
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// One trigger of a function, as the dashboard shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TriggerInfo {
    /// `apigw`, `function_url`, `timer` or `ckafka`.
    pub kind: &'static str,
    /// What it listens to: the methods and API path, the URL path, the timer's name and cron,
    /// the topic.
    pub detail: String,
    /// A timer's next fire time (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_fire: Option<String>,
}

/// `trigger` of `function` as the dashboard shows it at `now`.
pub fn trigger_info(
    function: &str,
    trigger: &FunctionTrigger,
    now: chrono::DateTime<chrono::Utc>,
) -> TriggerInfo {
    let info = |kind, detail: String| TriggerInfo {
        kind,
        detail,
        next_fire: None,
    };
    match trigger {
        FunctionTrigger::Apigw(route) => {
            let methods = match &route.methods {
                Methods::Any => "ANY".to_owned(),
                Methods::Only(list) => list
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            };
            info("apigw", format!("{methods} {}", route.template.as_str()))
        }
        FunctionTrigger::FunctionUrl { .. } => info(
            "function_url",
            crate::triggers::function_url::url_path(function),
        ),
        FunctionTrigger::Timer(timer) => TriggerInfo {
            kind: "timer",
            detail: format!("{} \"{}\"", timer.name, timer.cron.as_str()),
            next_fire: timer.next_fire(now).map(format_time),
        },
        FunctionTrigger::Ckafka(c) => info("ckafka", c.topic.clone()),
    }
}

/// Every function, most active first (invocations per second, then the latest invocation,
/// then the name).
fn sorted(host: &Host) -> Vec<FunctionOverview> {
    let mut functions = host.overview();
    functions.sort_by(|a, b| {
        b.activity
            .per_second
            .total_cmp(&a.activity.per_second)
            .then(b.activity.last_ended_ms.cmp(&a.activity.last_ended_ms))
            .then(a.status.name.cmp(&b.status.name))
    });
    functions
}

/// A function of the list: its overview and its triggers.
fn function_json(host: &Host, function: &FunctionOverview) -> (Value, Vec<TriggerInfo>) {
    let now = chrono::Utc::now();
    let name = &function.status.name;
    let triggers: Vec<TriggerInfo> = host
        .triggers(name)
        .iter()
        .map(|t| trigger_info(name, t, now))
        .collect();
    let mut value = json!(function);
    value["triggers"] = json!(triggers);
    (value, triggers)
}

/// Every function as `/ui/api/functions` lists them, most active first.
pub fn functions(host: &Host) -> Vec<Value> {
    sorted(host)
        .iter()
        .map(|f| function_json(host, f).0)
        .collect()
}

/// The fixtures that fit `function`'s triggers (a custom event always fits), then the others.
fn fixtures_for(triggers: &[TriggerInfo]) -> (Vec<&'static str>, Value) {
    let prefixes: Vec<&str> = triggers
        .iter()
        .map(|t| match t.kind {
            "function_url" => "function-url-",
            "apigw" => "apigw-",
            "timer" => "timer-",
            "ckafka" => "ckafka-",
            _ => "custom-",
        })
        .chain(["custom-"])
        .collect();
    let (suggested, others): (Vec<&str>, Vec<&str>) = scf_events::fixtures::names()
        .partition(|name| prefixes.iter().any(|p| name.starts_with(p)));
    let all = suggested.iter().chain(&others).copied().collect::<Vec<_>>();
    (all, json!(suggested))
}

/// One function's detail: `None` when there is no such function.
pub fn function_detail(host: &Host, name: &str, seconds: u64) -> Option<Value> {
    let overview = host
        .overview()
        .into_iter()
        .find(|f| f.status.name == name)?;
    let activity = host.activity(name, seconds)?;
    let mut probe = crate::host::rss::Probe::default();
    let instances: Vec<Value> = overview
        .status
        .instances
        .iter()
        .map(|i| {
            let mut value = json!(i);
            value["rss_bytes"] = json!(probe.tree_rss_bytes(i.pid));
            value
        })
        .collect();
    let (function, triggers) = function_json(host, &overview);
    let (fixtures, suggested) = fixtures_for(&triggers);
    Some(json!({
        "function": function,
        "instances": instances,
        "recent": activity.recent,
        "timeline": activity.timeline,
        "latency": activity.latency,
        "fixtures": fixtures,
        "suggested_fixtures": suggested,
    }))
}

/// Per function, its async events by state (empty when the server keeps no queue). It reads
/// every kept event: call it off the async workers.
pub fn event_counts(
    queue: Option<&DurableQueue>,
) -> Result<BTreeMap<String, StateCounts>, OpError> {
    match queue {
        Some(queue) => Ok(queue.state_counts()?),
        None => Ok(BTreeMap::new()),
    }
}

async fn route_functions(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "time_ms": now_ms(),
        "in_flight": state.host.in_flight(),
        "functions": functions(&state.host),
    }))
}

#[derive(Debug, Deserialize)]
struct DetailQuery {
    seconds: Option<u64>,
}

async fn route_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Json<Value>, OpError> {
    function_detail(&state.host, &name, q.seconds.unwrap_or(300))
        .map(Json)
        .ok_or_else(|| OpError {
            status: StatusCode::NOT_FOUND,
            message: format!("function {name} does not exist"),
        })
}

async fn route_fixture(Path(name): Path<String>) -> Response {
    match scf_events::fixtures::get(&name) {
        Some(text) => asset(text, "application/json").await,
        None => OpError {
            status: StatusCode::NOT_FOUND,
            message: format!("no fixture is named {name:?}"),
        }
        .into_response(),
    }
}

async fn route_events(
    State(state): State<AppState>,
    Query(filter): Query<EventFilter>,
) -> Result<Json<Value>, OpError> {
    let Some(queue) = state.host.async_queue() else {
        return Ok(Json(json!({"counts": {}, "total": 0, "events": []})));
    };
    let mut page = json!(list_events(queue, &filter).await?);
    page["counts"] = json!(event_counts(Some(queue))?);
    Ok(Json(page))
}

#[derive(Debug, Deserialize)]
struct StreamQuery {
    function: Option<String>,
}

/// What one client's stream remembers between samples.
struct Sampler {
    host: Host,
    function: Option<String>,
    tick: tokio::time::Interval,
    samples: u32,
    counts: Value,
    /// `invocations_total` of the detailed function when its `recent` was last sent.
    sent_total: Option<u64>,
}

impl Sampler {
    async fn snapshot(&mut self) -> Value {
        if self.samples.is_multiple_of(COUNTS_EVERY) {
            // A pass over the stored events: off the runtime's workers, which run invocations.
            let queue = self.host.async_queue().cloned();
            let counts = tokio::task::spawn_blocking(move || event_counts(queue.as_ref())).await;
            self.counts = match counts {
                Ok(Ok(counts)) => json!(counts),
                Ok(Err(e)) => json!({ "error": e.message }),
                Err(e) => json!({ "error": e.to_string() }),
            };
        }
        self.samples = self.samples.wrapping_add(1);
        let functions = functions(&self.host);
        let detail = self.function.as_deref().and_then(|name| {
            let total = functions
                .iter()
                .find(|f| f["name"] == name)
                .and_then(|f| f["invocations_total"].as_u64());
            let mut detail = function_detail(&self.host, name, 300)?;
            if total == self.sent_total {
                detail["recent"] = Value::Null;
            }
            self.sent_total = total;
            Some(detail)
        });
        json!({
            "time_ms": now_ms(),
            "in_flight": self.host.in_flight(),
            "functions": functions,
            "event_counts": self.counts,
            "detail": detail,
        })
    }
}

async fn route_stream(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let sampler = Sampler {
        host: state.host.clone(),
        function: q.function.filter(|f| !f.is_empty()),
        tick,
        samples: 0,
        counts: Value::Null,
        sent_total: None,
    };
    // The next sample is taken only once the body asks for it, i.e. once the previous one was
    // written out: a client that does not read gets no more.
    let stream = futures_util::stream::unfold(sampler, |mut sampler| async move {
        sampler.tick.tick().await;
        let data = sampler.snapshot().await.to_string();
        Some((Ok(Event::default().event("snapshot").data(data)), sampler))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApigwRoute, ApigwTriggerConfig, TimerTrigger, TimerTriggerConfig};
    use chrono::{TimeZone as _, Utc};

    fn timer() -> FunctionTrigger {
        let config = TimerTriggerConfig {
            name: "nightly".to_owned(),
            cron: "0 0 2 * * * *".to_owned(),
            message: None,
            timezone: None,
        };
        FunctionTrigger::Timer(Box::new(TimerTrigger::new("orders", &config).unwrap()))
    }

    #[test]
    fn a_timer_shows_its_cron_and_next_fire() {
        let now = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
        let info = trigger_info("orders", &timer(), now);
        assert_eq!(info.kind, "timer");
        assert_eq!(info.detail, r#"nightly "0 0 2 * * * *""#);
        assert_eq!(info.next_fire.as_deref(), Some("2024-01-02T02:00:00Z"));
    }

    #[test]
    fn an_api_route_shows_its_methods_and_path() {
        let config: ApigwTriggerConfig =
            toml::from_str("path = \"/orders/{id}\"\nmethods = [\"GET\", \"POST\"]").unwrap();
        let route = ApigwRoute::new("orders", &config).unwrap();
        let info = trigger_info("orders", &FunctionTrigger::Apigw(route), Utc::now());
        assert_eq!(
            (info.kind, info.detail.as_str()),
            ("apigw", "GET,POST /orders/{id}")
        );
        assert_eq!(info.next_fire, None);
    }

    #[test]
    fn the_fixtures_of_the_triggers_come_first() {
        let info = trigger_info("orders", &timer(), Utc::now());
        let (all, suggested) = fixtures_for(&[info]);
        let suggested: Vec<&str> = suggested
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(suggested.contains(&"timer-doc"), "{suggested:?}");
        assert!(suggested.contains(&"custom-object"), "{suggested:?}");
        assert!(!suggested.contains(&"apigw-get"), "{suggested:?}");
        assert_eq!(all[..suggested.len()], suggested[..]);
        assert_eq!(all.len(), scf_events::fixtures::names().len());
    }
}
