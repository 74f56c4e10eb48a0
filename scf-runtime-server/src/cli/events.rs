//! `cargo scf events` and `cargo scf dlq`: async events and dead letters from the command line.
//!
//! Each command talks to the running `cargo scf serve` of the config (its `server.listen`, or
//! `--remote URL`) over the routes of [`crate::http::events`]. When no server answers there, it
//! opens the state folder (`server.state_dir`, or `--state-dir`) itself; the store allows one
//! process at a time, so that works only while the server is stopped.
//!
//! ```text
//! cargo scf events list [--function F] [--status RUNNING,FAILED] [--source TIMER] [--limit N] [--asc]
//! cargo scf events show <request id>
//! cargo scf events abort <request id>
//! cargo scf dlq list [--function F]
//! cargo scf dlq replay (<request id>… | --function F | --all) [--fresh-id]
//! cargo scf dlq purge (<request id>… | --function F | --all)
//! ```
//!
//! Add `--json` for the routes' JSON instead of the table.

use std::fmt::Write as _;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::ToolError;
use crate::cli::client::{SendError, ServerUrl};
use crate::config::Config;
use crate::durable::view::{
    self, DeadLetterPage, DlqSelection, EventFilter, EventPage, EventView, Purged, Replayed,
};
use crate::durable::{DurableError, DurableQueue};

/// The options `cargo scf events` and `cargo scf dlq` share: where the queue is (a running server or a
/// state folder) and how to print its answer.
#[derive(Debug, Clone, Args)]
pub struct QueueOptions {
    /// The config naming the server's address and state folder.
    #[arg(long, short, default_value = "scf.toml", global = true)]
    pub config: PathBuf,
    /// Talk to this server (`http://127.0.0.1:9000`) instead of the config's `server.listen`.
    #[arg(long, global = true)]
    pub remote: Option<String>,
    /// Open this state folder directly (only while no server holds it).
    #[arg(long, global = true, conflicts_with = "remote")]
    pub state_dir: Option<PathBuf>,
    /// Print the JSON answer instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `cargo scf events`.
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: EventsCommand,
    /// Where the events are, and how to print them.
    #[command(flatten)]
    pub options: QueueOptions,
}

/// The `cargo scf events` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum EventsCommand {
    /// Lists async events, newest first.
    List {
        /// Only this function's.
        #[arg(long, short)]
        function: Option<String>,
        /// Only these statuses: RUNNING, FINISHED, FAILED, ABORTED (comma list).
        #[arg(long, short)]
        status: Option<String>,
        /// Only these sources: INVOKE, TIMER, CKAFKA (comma list).
        #[arg(long)]
        source: Option<String>,
        /// Most events to list.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// Events to skip.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Oldest first.
        #[arg(long)]
        asc: bool,
    },
    /// Shows one event with its payload.
    Show {
        /// The request id.
        request_id: String,
    },
    /// Stops a queued event (it becomes ABORTED).
    Abort {
        /// The request id.
        request_id: String,
    },
}

/// `cargo scf dlq`.
#[derive(Debug, Clone, Args)]
pub struct DlqArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DlqCommand,
    /// Where the dead letters are, and how to print them.
    #[command(flatten)]
    pub options: QueueOptions,
}

/// Which dead letters `replay` and `purge` act on.
#[derive(Debug, Clone, Args)]
pub struct Selection {
    /// These request ids.
    pub request_ids: Vec<String>,
    /// Every dead letter of this function.
    #[arg(long, short)]
    pub function: Option<String>,
    /// Every dead letter.
    #[arg(long)]
    pub all: bool,
}

/// The `cargo scf dlq` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum DlqCommand {
    /// Lists dead letters, oldest first, with their last error.
    List {
        /// Only this function's.
        #[arg(long, short)]
        function: Option<String>,
        /// Most dead letters to list.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// Dead letters to skip.
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// Queues dead letters for delivery again (same request ids unless `--fresh-id`).
    Replay {
        /// Which ones.
        #[command(flatten)]
        selection: Selection,
        /// Give the replayed events new request ids (the dead letters are removed).
        #[arg(long)]
        fresh_id: bool,
    },
    /// Deletes dead letters.
    Purge {
        /// Which ones.
        #[command(flatten)]
        selection: Selection,
    },
}

fn fail(message: impl std::fmt::Display) -> ToolError {
    ToolError::new(message.to_string())
}

/// One operation, run against a server or a state folder.
enum Op {
    List(EventFilter),
    Show(String),
    Abort(String),
    Dlq {
        function: Option<String>,
        offset: usize,
        limit: usize,
    },
    Replay(DlqSelection),
    Purge(DlqSelection),
}

impl Op {
    /// The route's method, path and JSON body.
    fn request(&self) -> (http::Method, String, Vec<u8>) {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        match self {
            Op::List(f) => {
                let mut q = format!(
                    "limit={}&offset={}",
                    f.limit.unwrap_or(20),
                    f.offset.unwrap_or(0)
                );
                for (key, value) in [
                    ("function", &f.function),
                    ("status", &f.status),
                    ("source", &f.source),
                    ("order", &f.order),
                ] {
                    if let Some(v) = value {
                        let _ = write!(q, "&{key}={}", enc(v));
                    }
                }
                (http::Method::GET, format!("/async/events?{q}"), Vec::new())
            }
            Op::Show(id) => (
                http::Method::GET,
                format!("/async/events/{}", enc(id)),
                Vec::new(),
            ),
            Op::Abort(id) => (
                http::Method::POST,
                format!("/async/events/{}/abort", enc(id)),
                Vec::new(),
            ),
            Op::Dlq {
                function,
                offset,
                limit,
            } => {
                let mut q = format!("limit={limit}&offset={offset}");
                if let Some(f) = function {
                    let _ = write!(q, "&function={}", enc(f));
                }
                (http::Method::GET, format!("/async/dlq?{q}"), Vec::new())
            }
            Op::Replay(s) => (
                http::Method::POST,
                "/async/dlq/replay".to_owned(),
                serde_json::to_vec(s).expect("plain data serialises"),
            ),
            Op::Purge(s) => (
                http::Method::POST,
                "/async/dlq/purge".to_owned(),
                serde_json::to_vec(s).expect("plain data serialises"),
            ),
        }
    }

    async fn run_local(&self, queue: &DurableQueue) -> Result<Answer, DurableError> {
        Ok(match self {
            Op::List(f) => Answer::Events(view::list_events(queue, f).await?),
            Op::Show(id) => Answer::Event(Box::new(view::show_event(queue, id)?)),
            Op::Abort(id) => Answer::Event(Box::new(view::abort_event(queue, id).await?)),
            Op::Dlq {
                function,
                offset,
                limit,
            } => Answer::DeadLetters(view::list_dead_letters(
                queue,
                function.clone(),
                *offset,
                *limit,
            )?),
            Op::Replay(s) => Answer::Replayed(view::replay(queue, s).await?),
            Op::Purge(s) => Answer::Purged(view::purge(queue, s).await?),
        })
    }

    /// The answer in a server's JSON.
    fn parse(&self, body: &[u8]) -> serde_json::Result<Answer> {
        Ok(match self {
            Op::List(_) => Answer::Events(serde_json::from_slice(body)?),
            Op::Show(_) | Op::Abort(_) => Answer::Event(serde_json::from_slice(body)?),
            Op::Dlq { .. } => Answer::DeadLetters(serde_json::from_slice(body)?),
            Op::Replay(_) => Answer::Replayed(serde_json::from_slice(body)?),
            Op::Purge(_) => Answer::Purged(serde_json::from_slice(body)?),
        })
    }
}

fn selection(s: &Selection, fresh_id: bool, verb: &str) -> Result<DlqSelection, ToolError> {
    if s.request_ids.is_empty() && s.function.is_none() && !s.all {
        return Err(fail(format!(
            "say which dead letters to {verb}: request ids, --function NAME, or --all"
        )));
    }
    Ok(DlqSelection {
        function: s.function.clone(),
        request_ids: s.request_ids.clone(),
        fresh_id,
    })
}

/// Runs `cargo scf events`.
pub fn run_events(args: &EventsArgs) -> Result<(), ToolError> {
    let op = match &args.command {
        EventsCommand::List {
            function,
            status,
            source,
            limit,
            offset,
            asc,
        } => Op::List(EventFilter {
            function: function.clone(),
            status: status.clone(),
            source: source.clone(),
            offset: Some(*offset),
            limit: Some(*limit),
            order: asc.then(|| "asc".to_owned()),
        }),
        EventsCommand::Show { request_id } => Op::Show(request_id.clone()),
        EventsCommand::Abort { request_id } => Op::Abort(request_id.clone()),
    };
    let answer = execute(&args.options, &op)?;
    print_answer(&args.options, &answer);
    Ok(())
}

/// Runs `cargo scf dlq`.
pub fn run_dlq(args: &DlqArgs) -> Result<(), ToolError> {
    let op = match &args.command {
        DlqCommand::List {
            function,
            limit,
            offset,
        } => Op::Dlq {
            function: function.clone(),
            offset: *offset,
            limit: *limit,
        },
        DlqCommand::Replay {
            selection: s,
            fresh_id,
        } => Op::Replay(selection(s, *fresh_id, "replay")?),
        DlqCommand::Purge { selection: s } => Op::Purge(selection(s, false, "purge")?),
    };
    let answer = execute(&args.options, &op)?;
    print_answer(&args.options, &answer);
    Ok(())
}

/// Where to send the operation.
enum Via {
    Server(ServerUrl),
    Folder(PathBuf),
}

fn execute(options: &QueueOptions, op: &Op) -> Result<Answer, ToolError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match locate(options)? {
            (Via::Server(server), config) => match (call(&server, op).await, config) {
                (Ok(answer), _) => Ok(answer),
                (Err(CallError::Unreachable(e)), Some(config)) => {
                    tracing::debug!("no server on {server} ({e}); opening the state folder");
                    let dir = config.server.state_dir.clone();
                    run_on_folder(&dir, &Some(config), op).await
                }
                (Err(CallError::Unreachable(e)), None) => {
                    Err(fail(format!("no server answers on {server}: {e}")))
                }
                (Err(CallError::Refused(message)), _) => Err(fail(message)),
            },
            (Via::Folder(dir), config) => run_on_folder(&dir, &config, op).await,
        }
    })
}

fn locate(options: &QueueOptions) -> Result<(Via, Option<Config>), ToolError> {
    if let Some(url) = &options.remote {
        let server = ServerUrl::parse(url).map_err(|e| fail(e.to_string()))?;
        return Ok((Via::Server(server), None));
    }
    if let Some(dir) = &options.state_dir {
        return Ok((Via::Folder(dir.clone()), None));
    }
    let config = Config::load(&options.config).map_err(|e| {
        fail(format!(
            "{e}\n(pass --remote URL to reach a server, or --state-dir DIR to open a state folder)"
        ))
    })?;
    let mut addr = config.server.listen;
    if addr.port() == 0 {
        let dir = config.server.state_dir.clone();
        return Ok((Via::Folder(dir), Some(config)));
    }
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let server = ServerUrl::parse(&format!("http://{addr}"))
        .map_err(|e| fail(e.to_string()))?
        .with_token(config.server.token.clone());
    Ok((Via::Server(server), Some(config)))
}

async fn run_on_folder(
    dir: &std::path::Path,
    config: &Option<Config>,
    op: &Op,
) -> Result<Answer, ToolError> {
    if !dir.join(crate::durable::store::FILE_NAME).is_file() {
        return match op {
            Op::List(_) => Ok(Answer::Events(EventPage::default())),
            Op::Dlq { .. } => Ok(Answer::DeadLetters(DeadLetterPage::default())),
            _ => Err(fail(format!(
                "no async events are stored in {} (no server has run with this state folder)",
                dir.display()
            ))),
        };
    }
    let queue_config = match config {
        Some(c) => c.server.queue_config(),
        None => crate::durable::QueueConfig::default(),
    };
    let queue = DurableQueue::open(dir, queue_config).map_err(|e| {
        fail(format!(
            "cannot open the async event store in {}: {e}\n(is a server running on it? pass --remote URL)",
            dir.display()
        ))
    })?;
    op.run_local(&queue).await.map_err(fail)
}

enum CallError {
    Unreachable(String),
    Refused(String),
}

/// The `message` of a route's error answer.
#[derive(serde::Deserialize)]
struct RouteError {
    message: String,
}

async fn call(server: &ServerUrl, op: &Op) -> Result<Answer, CallError> {
    let (method, path, body) = op.request();
    let mut client = server
        .connect(Duration::from_secs(5))
        .await
        .map_err(|e| CallError::Unreachable(e.to_string()))?;
    let answer = client
        .send(client.request(method, &path), body)
        .await
        .map_err(|e| {
            CallError::Refused(match e {
                SendError::Request(e) => format!("the server at {server} failed: {e}"),
                SendError::Body(e) => format!("reading the server's answer failed: {e}"),
                e => e.to_string(),
            })
        })?;
    let odd = || {
        CallError::Refused(format!(
            "the server at {server} answered {} with {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        ))
    };
    if answer.status.is_success() {
        return op.parse(&answer.body).map_err(|_| odd());
    }
    match serde_json::from_slice::<RouteError>(&answer.body) {
        Ok(error) => Err(CallError::Refused(error.message)),
        Err(_) if serde_json::from_slice::<serde::de::IgnoredAny>(&answer.body).is_ok() => Err(
            CallError::Refused(String::from_utf8_lossy(&answer.body).into_owned()),
        ),
        Err(_) => Err(odd()),
    }
}

/// What an operation answered.
enum Answer {
    Events(EventPage),
    Event(Box<EventView>),
    DeadLetters(DeadLetterPage),
    Replayed(Replayed),
    Purged(Purged),
}

impl Answer {
    /// The answer as the routes send it, pretty.
    fn json(&self) -> String {
        match self {
            Answer::Events(a) => serde_json::to_string_pretty(a),
            Answer::Event(a) => serde_json::to_string_pretty(a),
            Answer::DeadLetters(a) => serde_json::to_string_pretty(a),
            Answer::Replayed(a) => serde_json::to_string_pretty(a),
            Answer::Purged(a) => serde_json::to_string_pretty(a),
        }
        .unwrap_or_default()
    }

    /// The answer for people.
    fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Answer::Events(page) => {
                let _ = writeln!(
                    out,
                    "{:<36}  {:<16}  {:<7}  {:<8}  {:>5}  {:<26}  LAST ERROR",
                    "REQUEST ID", "FUNCTION", "SOURCE", "STATUS", "TRIES", "CREATED"
                );
                for e in &page.events {
                    let error = e
                        .error
                        .as_ref()
                        .map(|e| format!("{} {}", e.code, e.message))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "{:<36}  {:<16}  {:<7}  {:<8}  {:>5}  {:<26}  {}",
                        e.request_id,
                        e.function,
                        e.source.invoke_type(),
                        e.status.as_str(),
                        e.attempts,
                        e.created,
                        error
                    );
                }
                let _ = writeln!(out, "{} of {} event(s)", page.events.len(), page.total);
            }
            Answer::Event(e) => render_event(&mut out, e),
            Answer::DeadLetters(page) => {
                for d in &page.dead_letters {
                    let _ = writeln!(
                        out,
                        "{}  {}  {} retries  {} {}  ({})",
                        d.request_id,
                        d.function_name,
                        d.retry_num,
                        d.error_code,
                        d.error_message,
                        d.reason
                    );
                }
                let _ = writeln!(
                    out,
                    "{} of {} dead letter(s)",
                    page.dead_letters.len(),
                    page.total
                );
            }
            Answer::Replayed(replayed) => {
                for id in &replayed.queued {
                    let _ = writeln!(out, "{id}");
                }
                let _ = writeln!(out, "replayed {} dead letter(s)", replayed.queued.len());
            }
            Answer::Purged(purged) => {
                let _ = writeln!(out, "purged {} dead letter(s)", purged.purged);
            }
        }
        out
    }
}

/// One event, a field a line (`-` for none), then its payload.
fn render_event(out: &mut String, e: &EventView) {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let error = e.error.as_ref().map_or_else(
        || "-".to_owned(),
        |error| serde_json::to_string(error).unwrap_or_default(),
    );
    let fields: [(&str, String); 15] = [
        ("attempts", e.attempts.to_string()),
        ("created", e.created.clone()),
        ("ended", or_dash(&e.ended)),
        ("error", error),
        ("function", e.function.clone()),
        ("give_up", or_dash(&e.give_up)),
        ("next_attempt", or_dash(&e.next_attempt)),
        ("payload_bytes", e.payload_bytes.to_string()),
        ("qualifier", e.qualifier.clone()),
        ("request_id", e.request_id.clone()),
        ("retry_num", e.retry_num.to_string()),
        ("source", e.source.invoke_type().to_owned()),
        ("started", or_dash(&e.started)),
        ("state", e.state.as_str().to_owned()),
        ("status", e.status.as_str().to_owned()),
    ];
    for (key, shown) in fields {
        let _ = writeln!(out, "{key:<14} {shown}");
    }
    if let Some(payload) = e.payload.as_ref().or(e.payload_base64.as_ref()) {
        let _ = writeln!(out, "payload\n{payload}");
    }
}

fn print_answer(options: &QueueOptions, answer: &Answer) {
    if options.json {
        println!("{}", answer.json());
        return;
    }
    print!("{}", answer.render());
}
