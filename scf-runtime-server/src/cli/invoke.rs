//! `cargo scf invoke`: one invocation, printed for people, against a running `cargo scf serve` or, when
//! none runs, by starting the function's bootstrap once right here.
//!
//! The event is a bundled sample (`--event cos`, `--event cos:delete`, `--event apigw-get`),
//! inline JSON (`--data`), a file (`--file`, `-` for stdin), or `{}`. The answer shows the
//! result (pretty JSON when it is JSON), or the error with its SCF code, then the tail of the
//! invocation's log, its duration and its peak memory, and last a line saying where it ran.
//!
//! Where it runs:
//!
//! - `--remote URL`: that `cargo scf serve` (an error when it cannot be reached);
//! - otherwise the server at `[server].listen` of the config (default `127.0.0.1:9000`) when
//!   something listens there;
//! - when nothing does (the connection is refused), or with `--local`: a one-shot run. The
//!   config's function is taken alone (one instance at most, no triggers), its `package` built
//!   with `cargo build --release`, and the [`Host`](crate::Host) library runs the event once
//!   in-process: it starts the bootstrap with its own runtime API, waits for the result, and
//!   stops the instance (SIGTERM, then SIGKILL);
//! - `--bootstrap PATH`: a one-shot run of that executable without any config (memory 128 MB,
//!   timeout 3 s, init timeout 60 s).
//!
//! `--memory`, `--timeout` and `--env` adjust a one-shot run. `--async` is refused in a one-shot
//! run: nothing would be left to keep the queued event once `cargo scf invoke` exits.

use std::fmt::Write as _;
use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use clap::Args;

use super::ToolError;
use super::client::{SendError, ServerClient, ServerUrl};
use super::package::human_size;

mod oneshot;

/// The server `cargo scf invoke` talks to when neither `--remote` nor a config says otherwise.
pub const DEFAULT_REMOTE: &str = "http://127.0.0.1:9000";

/// How long `cargo scf invoke` waits for a server's answer unless `--timeout` says otherwise, seconds.
pub const DEFAULT_REMOTE_TIMEOUT_S: f64 = 960.0;

/// Arguments of `cargo scf invoke`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf invoke echo                              an empty event ({})
  cargo scf invoke thumbs --event cos                the bundled COS sample (cos-put)
  cargo scf invoke thumbs --event cos:delete         a named variant (fixture cos-delete)
  cargo scf invoke echo --data '{\"name\": \"ann\"}'
  cargo scf invoke echo --file event.json
  cargo scf invoke ticker --event timer --async      queue it on the server; prints the request id
  cargo scf invoke echo --remote http://10.0.0.5:9000
  cargo scf invoke echo --local --timeout 10         run it here even when a server runs
  cargo scf invoke --bootstrap target/release/hello --env GREETING=hi    no scf.toml needed

Where it runs: with --remote, on that `cargo scf serve`. Otherwise on the server at [server].listen
of ./scf.toml (or --config; else 127.0.0.1:9000) when one answers there. When nothing listens
there, the function of scf.toml runs once right here: its package is built (cargo build
--release), its bootstrap is started with a built-in runtime API, sent the event, and stopped
(SIGTERM, then SIGKILL). --local always runs it here. --bootstrap PATH runs an executable
without any scf.toml (memory 128 MB, timeout 3 s, unless --memory or --timeout say otherwise).
The last line printed says where it ran.

--async needs a server: a one-shot run keeps nothing after it exits, so it refuses --async.
Exit status: 0 when the function succeeded (or the server queued the event), 1 otherwise.
Fixture names: `cargo scf invoke --list-events`.")]
pub struct InvokeArgs {
    /// The function's name, as in scf.toml (with --bootstrap: the name it runs as, by default
    /// the executable's file name without extension).
    #[arg(value_name = "FUNCTION", required_unless_present_any = ["list_events", "bootstrap"])]
    pub function: Option<String>,
    /// A bundled sample event: a trigger (`cos`), `trigger:variant` (`cos:delete`) or a
    /// fixture name (`cos-put`).
    #[arg(long, short, value_name = "TRIGGER[:VARIANT]", group = "input")]
    pub event: Option<String>,
    /// The event as inline JSON.
    #[arg(long, short, value_name = "JSON", group = "input")]
    pub data: Option<String>,
    /// Read the event from this file (`-` reads stdin).
    #[arg(long, short, value_name = "FILE", group = "input")]
    pub file: Option<PathBuf>,
    /// Invoke asynchronously: the server queues the event and answers with its request id
    /// (needs a running server).
    #[arg(long = "async")]
    pub is_async: bool,
    /// The server's URL (never runs the function locally).
    #[arg(long, value_name = "URL", conflicts_with_all = ["local", "bootstrap"])]
    pub remote: Option<String>,
    /// Run the function of the config once right here, even when a server answers.
    #[arg(long)]
    pub local: bool,
    /// Run this executable once right here, without any scf.toml.
    #[arg(long, value_name = "PATH", conflicts_with = "local")]
    pub bootstrap: Option<PathBuf>,
    /// The scf.toml: its `[server].listen` is where the server is looked for, and its function
    /// is what runs when no server answers.
    #[arg(long, short, value_name = "FILE", default_value = "scf.toml")]
    pub config: PathBuf,
    /// Print the names of the bundled sample events and exit.
    #[arg(long)]
    pub list_events: bool,
    /// Print only the result body (for scripts).
    #[arg(long, short)]
    pub quiet: bool,
    /// Run locally: the function's timeout_s (default: scf.toml's, with --bootstrap 3). With a
    /// server: how long to wait for its answer (default 960).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<f64>,
    /// Run locally with this memory_mb (64 to 122880; default: scf.toml's, with --bootstrap
    /// 128).
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u32).range(64..=122_880))]
    pub memory: Option<u32>,
    /// Run locally with this `handler` (`_HANDLER`; default: scf.toml's, with --bootstrap
    /// `index.main_handler`).
    #[arg(long, value_name = "HANDLER")]
    pub handler: Option<String>,
    /// Run locally with this environment variable set, over scf.toml's `env` (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    let s: f64 = text
        .trim()
        .parse()
        .map_err(|e| format!("`{text}` is not a number of seconds: {e}"))?;
    if s.is_finite() && s > 0.0 && s <= 86_400.0 {
        Ok(s)
    } else {
        Err(format!(
            "must be more than 0 and at most 86400 seconds, got {text}"
        ))
    }
}

fn parse_env_pair(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

/// What one invocation answered.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeReport {
    /// The HTTP status (200 for a sync success, 202 for an accepted async event, else the SCF code).
    pub status: u16,
    /// The request id (`X-Scf-Request-Id`).
    pub request_id: Option<String>,
    /// The body as answered.
    pub body: Vec<u8>,
    /// The tail of the invocation's log.
    pub log: Option<String>,
    /// Execution time in whole ms rounded up (`X-Scf-Duration-Ms`, the `Report` line's figure).
    pub duration_ms: Option<u64>,
    /// Peak memory in bytes.
    pub mem_usage: Option<u64>,
    /// Whether a new instance was started for it (known for one-shot runs, which always start
    /// one; a server does not say).
    pub cold_start: Option<bool>,
}

impl InvokeReport {
    /// Whether the function (or, async, the queue) accepted and succeeded.
    pub fn is_success(&self) -> bool {
        self.status == 200 || self.status == 202
    }
}

/// Runs `cargo scf invoke` in the current directory, printing to stdout; a failed invocation is an
/// error (after its details are printed), so the exit status tells scripts.
pub fn run_invoke(args: &InvokeArgs) -> Result<InvokeReport, ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ToolError::new(format!("cannot start the async runtime: {e}")))?;
    // A one-shot run hosts the function in this process: its output lines belong in the log
    // section of the summary, not on stdout as server log lines. Everything runs on this thread
    // (a current-thread runtime), so a thread-scoped subscriber covers it; only errors go to
    // stderr unless RUST_LOG asks for more.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .finish();
    let _scoped = tracing::subscriber::set_default(subscriber);
    runtime.block_on(invoke_in(args, &cwd, &mut std::io::stdout()))
}

/// Where the invocation goes.
enum Place {
    /// A server, connected.
    Remote(ServerClient),
    /// A one-shot run here, and why.
    Local(oneshot::Why),
}

/// Runs `cargo scf invoke` as if started in `cwd`, writing what it prints to `out`.
pub async fn invoke_in(
    args: &InvokeArgs,
    cwd: &Path,
    out: &mut (dyn Write + Send),
) -> Result<InvokeReport, ToolError> {
    if args.list_events {
        for name in scf_events::fixtures::names() {
            let _ = writeln!(out, "{name}");
        }
        return Ok(InvokeReport {
            status: 200,
            request_id: None,
            body: Vec::new(),
            log: None,
            duration_ms: None,
            mem_usage: None,
            cold_start: None,
        });
    }
    let (event, source) = event_body(args, cwd)?;
    let place = if let Some(bootstrap) = &args.bootstrap {
        Place::Local(oneshot::Why::Bootstrap(bootstrap.clone()))
    } else if args.local {
        Place::Local(oneshot::Why::Forced)
    } else {
        let explicit = args.remote.is_some();
        let remote = match &args.remote {
            Some(remote) => remote.clone(),
            None => remote_from_config(&cwd.join(&args.config))?,
        };
        let server = ServerUrl::parse(&remote)?.with_token(if explicit {
            None
        } else {
            token_from_config(&cwd.join(&args.config))
        });
        match server.connect(Duration::from_secs(10)).await {
            Ok(client) => Place::Remote(client),
            Err(e) if !explicit && e.nothing_listens() => {
                Place::Local(oneshot::Why::NoServer(server.authority()))
            }
            Err(e) => return Err(unreachable(&server, &e)),
        }
    };
    let (function, outcome, place_line, local) = match place {
        Place::Remote(mut client) => {
            let function = args.function.as_deref().ok_or_else(|| {
                ToolError::new("name the function to invoke: cargo scf invoke <FUNCTION>")
            })?;
            if args.memory.is_some() || !args.env.is_empty() {
                return Err(ToolError::new(format!(
                    "--memory and --env apply to a one-shot run, but a server answers at {}: add --local to run `{function}` here",
                    client.url()
                )));
            }
            let timeout = Duration::from_secs_f64(args.timeout.unwrap_or(DEFAULT_REMOTE_TIMEOUT_S));
            let outcome = post(&mut client, function, event, args.is_async, timeout).await?;
            (
                function.to_owned(),
                outcome,
                format!("(cargo scf serve at {})", client.url()),
                false,
            )
        }
        Place::Local(why) => {
            let local = oneshot::run(args, cwd, why, event, out).await?;
            (local.function, local.outcome, local.line, true)
        }
    };
    let _ = out.write_all(render(&function, &source, args, &outcome).as_bytes());
    if !args.quiet {
        let _ = writeln!(out, "{place_line}");
    } else if local {
        // Scripts read stdout; people still learn that nothing was asked of a server.
        eprintln!("{place_line}");
    }
    if outcome.is_success() {
        Ok(outcome)
    } else {
        Err(ToolError::new(format!(
            "invocation of `{function}` failed with code {}",
            outcome.status
        )))
    }
}

/// The event bytes and a description of where they came from.
fn event_body(args: &InvokeArgs, cwd: &Path) -> Result<(Vec<u8>, String), ToolError> {
    let (bytes, source) = if let Some(spec) = &args.event {
        let name = fixture_name(spec)?;
        let text = scf_events::fixtures::get(&name).unwrap_or_default();
        (text.as_bytes().to_vec(), format!("fixture {name}"))
    } else if let Some(data) = &args.data {
        (data.as_bytes().to_vec(), "--data".to_owned())
    } else if let Some(file) = &args.file {
        if file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| ToolError::new(format!("cannot read the event from stdin: {e}")))?;
            (buf, "stdin".to_owned())
        } else {
            let path = cwd.join(file);
            let bytes = std::fs::read(&path).map_err(|e| {
                ToolError::new(format!(
                    "cannot read the event file {}: {e}",
                    path.display()
                ))
            })?;
            (bytes, path.display().to_string())
        }
    } else {
        (b"{}".to_vec(), "empty event".to_owned())
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(ToolError::new(format!(
            "the event from {source} is not JSON ({e}); SCF events are JSON documents"
        )));
    }
    Ok((bytes, source))
}

/// The fixture a `--event` value names: `cos` -> `cos-put` (or the first `cos-*`),
/// `cos:delete` -> `cos-delete`, `cos-put` -> itself.
pub fn fixture_name(spec: &str) -> Result<String, ToolError> {
    let exists = |name: &str| scf_events::fixtures::get(name).is_some();
    let spec = spec.trim();
    let normalized = spec.replace('_', "-");
    if let Some((trigger, variant)) = normalized.split_once(':') {
        let name = format!("{trigger}-{variant}");
        if exists(&name) {
            return Ok(name);
        }
        return Err(unknown_event(spec, trigger));
    }
    if exists(&normalized) {
        return Ok(normalized);
    }
    let trigger = normalized.as_str();
    let preferred = match trigger {
        "cos" => Some("cos-put"),
        "apigw" => Some("apigw-get"),
        "timer" => Some("timer-doc"),
        "ckafka" => Some("ckafka-doc"),
        "cmq" => Some("cmq-doc-2021"),
        "function-url" => Some("function-url-get"),
        "custom" => Some("custom-object"),
        _ => None,
    };
    if let Some(name) = preferred.filter(|n| exists(n)) {
        return Ok(name.to_owned());
    }
    let prefix = format!("{trigger}-");
    scf_events::fixtures::names()
        .find(|n| n.starts_with(&prefix))
        .map(str::to_owned)
        .ok_or_else(|| unknown_event(spec, trigger))
}

/// The trigger a bundled fixture is for, as `--event` spells it: the longest trigger kind its
/// name starts with (`function-url-get` is `function-url`, not `function`).
fn fixture_trigger(name: &str) -> String {
    let mut kinds: Vec<String> = scf_events::KINDS
        .iter()
        .map(|k| k.replace('_', "-"))
        .collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.len()));
    kinds
        .into_iter()
        .find(|k| name.starts_with(&format!("{k}-")))
        .unwrap_or_else(|| name.split('-').next().unwrap_or(name).to_owned())
}

fn unknown_event(spec: &str, trigger: &str) -> ToolError {
    let prefix = format!("{trigger}-");
    let same: Vec<&str> = scf_events::fixtures::names()
        .filter(|n| n.starts_with(&prefix))
        .collect();
    let listing = if same.is_empty() {
        let triggers: std::collections::BTreeSet<String> =
            scf_events::fixtures::names().map(fixture_trigger).collect();
        let triggers: Vec<String> = triggers.into_iter().collect();
        format!("triggers with samples: {}", triggers.join(", "))
    } else {
        format!("samples for {trigger}: {}", same.join(", "))
    };
    ToolError::new(format!(
        "no bundled event `{spec}`; {listing} (all names: cargo scf invoke --list-events)"
    ))
}

/// `http://<server.listen>` from the config file, or [`DEFAULT_REMOTE`] when there is none.
fn remote_from_config(config: &Path) -> Result<String, ToolError> {
    let Ok(text) = std::fs::read_to_string(config) else {
        return Ok(DEFAULT_REMOTE.to_owned());
    };
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| ToolError::new(format!("{}: {e}", config.display())))?;
    let listen = table
        .get("server")
        .and_then(|s| s.get("listen"))
        .and_then(|l| l.as_str());
    Ok(match listen {
        Some(listen) => {
            // A wildcard listen address is reached through loopback.
            let listen = listen
                .replace("0.0.0.0:", "127.0.0.1:")
                .replace("[::]:", "[::1]:");
            format!("http://{listen}")
        }
        None => DEFAULT_REMOTE.to_owned(),
    })
}

/// The `[server] token` of the config at `config`, when it has one (the server it describes
/// wants it).
fn token_from_config(config: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    table
        .get("server")?
        .get("token")?
        .as_str()
        .map(str::to_owned)
}

/// The error of a server that cannot be reached, with what to do about it.
fn unreachable(server: &ServerUrl, e: &dyn std::fmt::Display) -> ToolError {
    ToolError::new(format!(
        "cannot reach cargo scf serve at {server}: {e}\nstart it with `cargo scf serve` in the directory of your scf.toml, or pass --remote URL (or --local to run the function here)"
    ))
}

/// POSTs the event to `<remote>/functions/<function>/invocations` over `client`.
async fn post(
    client: &mut ServerClient,
    function: &str,
    event: Vec<u8>,
    is_async: bool,
    timeout: Duration,
) -> Result<InvokeReport, ToolError> {
    let encoded: String =
        percent_encoding::utf8_percent_encode(function, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let server = client.url().clone();
    let mut request = client
        .request(
            http::Method::POST,
            &format!("/functions/{encoded}/invocations"),
        )
        .header("x-scf-log-type", "Tail");
    if is_async {
        request = request.header("x-scf-invocation-type", "Event");
    }
    let answer = tokio::time::timeout(timeout, client.send(request, event))
        .await
        .map_err(|_| {
            ToolError::new(format!(
                "no answer from {server} within {} s (--timeout)",
                timeout.as_secs_f64()
            ))
        })?
        .map_err(|e| match e {
            SendError::Build(e) => ToolError::new(format!("cannot build the request: {e}")),
            e => unreachable(&server, &e),
        })?;
    let header = |name: &str| answer.header(name).map(str::to_owned);
    let log = header("x-scf-log").and_then(|b64| {
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    });
    Ok(InvokeReport {
        status: answer.status.as_u16(),
        request_id: header("x-scf-request-id"),
        body: answer.body.to_vec(),
        log,
        duration_ms: header("x-scf-duration-ms").and_then(|d| d.parse().ok()),
        mem_usage: header("x-scf-mem-usage").and_then(|m| m.parse().ok()),
        cold_start: None,
    })
}

/// How many log lines the summary shows.
const LOG_LINES: usize = 20;

/// The human-readable summary of one invocation.
fn render(function: &str, source: &str, args: &InvokeArgs, outcome: &InvokeReport) -> String {
    let body_text = String::from_utf8_lossy(&outcome.body);
    let pretty = serde_json::from_slice::<serde_json::Value>(&outcome.body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body_text.clone().into_owned());
    if args.quiet {
        return format!("{pretty}\n");
    }
    let mut s = String::new();
    let id = outcome.request_id.as_deref().unwrap_or("-");
    if outcome.status == 202 {
        let _ = writeln!(s, "queued `{function}` ({source}): request {id}");
        let remote = args
            .remote
            .as_deref()
            .map(|r| format!(" --remote {r}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "follow it: cargo scf events show {id}{remote}   (all of `{function}`'s: cargo scf events list --function {function}{remote})"
        );
        return s;
    }
    let mut facts = Vec::new();
    if let Some(ms) = outcome.duration_ms.filter(|ms| *ms > 0) {
        facts.push(format!("{ms} ms"));
    }
    if let Some(mem) = outcome.mem_usage.filter(|m| *m > 0) {
        facts.push(format!("peak memory {}", human_size(mem)));
    }
    if outcome.cold_start == Some(true) {
        facts.push("cold start".to_owned());
    }
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(", {}", facts.join(", "))
    };
    if outcome.is_success() {
        let _ = writeln!(s, "ok `{function}` ({source}): request {id}{facts}");
        let _ = writeln!(s, "result:");
    } else {
        let error = serde_json::from_slice::<serde_json::Value>(&outcome.body).ok();
        let field = |k: &str| {
            error.as_ref().and_then(|e| e.get(k)).map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
        };
        let code = field("code").unwrap_or_else(|| outcome.status.to_string());
        let _ = writeln!(
            s,
            "FAILED `{function}` ({source}): code {code} {}: request {id}{facts}",
            field("error").unwrap_or_default()
        );
        if let Some(message) = field("message") {
            let _ = writeln!(s, "message: {message}");
        }
        let _ = writeln!(s, "answer:");
    }
    for line in pretty.lines() {
        let _ = writeln!(s, "  {line}");
    }
    if let Some(log) = outcome.log.as_deref().filter(|l| !l.trim().is_empty()) {
        let lines: Vec<&str> = log.lines().collect();
        let skip = lines.len().saturating_sub(LOG_LINES);
        let _ = writeln!(s, "log{}:", if skip > 0 { " (last lines)" } else { "" });
        for line in &lines[skip..] {
            let _ = writeln!(s, "  | {line}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_specs_pick_fixtures() {
        assert_eq!(fixture_name("cos").unwrap(), "cos-put");
        assert_eq!(fixture_name("cos:delete").unwrap(), "cos-delete");
        assert_eq!(fixture_name("cos-put").unwrap(), "cos-put");
        assert_eq!(fixture_name("timer").unwrap(), "timer-doc");
        assert_eq!(fixture_name("function_url").unwrap(), "function-url-get");
        assert!(fixture_name("cls").unwrap().starts_with("cls-"));
        let err = fixture_name("cos:nope").unwrap_err().to_string();
        assert!(
            err.contains("cos-put") && err.contains("cos-delete"),
            "{err}"
        );
        let err = fixture_name("sqs").unwrap_err().to_string();
        assert!(
            err.contains("triggers with samples") && err.contains("cos"),
            "{err}"
        );
    }

    #[test]
    fn the_remote_comes_from_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("scf.toml");
        assert_eq!(remote_from_config(&config).unwrap(), DEFAULT_REMOTE);
        std::fs::write(&config, "[server]\nlisten = \"0.0.0.0:9100\"\n").unwrap();
        assert_eq!(
            remote_from_config(&config).unwrap(),
            "http://127.0.0.1:9100"
        );
        std::fs::write(&config, "[server\n").unwrap();
        assert!(remote_from_config(&config).is_err());
    }
}
