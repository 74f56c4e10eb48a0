//! `cargo scf new`: a ready function project.
//!
//! The project has a Cargo.toml depending on `scf-rs` (imported as `scf`): `--scf-path` /
//! `--scf-git` / `--crates-io` when given, else the checkout around the project, else the source
//! this tool was built from while it exists, else the crates.io release; a `src/main.rs` with an
//! annotated handler taking the trigger's typed event, a unit test that runs the handler on the
//! bundled fixture for that trigger, and an `scf.toml` that hosts it with `cargo scf serve`. The release
//! profile keeps `panic = "unwind"` so a panicking handler is reported, not fatal.

use std::fmt;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use clap::{Args, ValueEnum};

use super::ToolError;

/// The trigger a new project's handler is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
#[non_exhaustive]
pub enum Trigger {
    /// API Gateway: `ApiGatewayRequest` in, an integrated response out.
    #[default]
    Apigw,
    /// Timer: `TimerEvent`.
    Timer,
    /// COS object notifications: `CosEvent`.
    Cos,
    /// CKafka batches: `CkafkaEvent`.
    Ckafka,
    /// CMQ topic messages: `CmqEvent`.
    Cmq,
    /// An axum `Router` behind API Gateway or a Function URL (the `http` feature).
    HttpRouter,
}

impl Trigger {
    /// The bundled fixture the generated test runs the handler on.
    pub fn fixture(self) -> &'static str {
        match self {
            Trigger::Apigw | Trigger::HttpRouter => "apigw-get",
            Trigger::Timer => "timer-doc",
            Trigger::Cos => "cos-put",
            Trigger::Ckafka => "ckafka-doc",
            Trigger::Cmq => "cmq-doc-2021",
        }
    }

    /// The name `--trigger` takes.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Apigw => "apigw",
            Trigger::Timer => "timer",
            Trigger::Cos => "cos",
            Trigger::Ckafka => "ckafka",
            Trigger::Cmq => "cmq",
            Trigger::HttpRouter => "http-router",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Arguments of `cargo scf new`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf new hello                         an API Gateway function in ./hello
  cargo scf new thumbnails --trigger cos      a COS-triggered function
  cargo scf new api --trigger http-router     an axum Router behind API Gateway
  cargo scf new tick --trigger timer --path functions/tick

Then: cd <name> && cargo test && cargo scf build --release && cargo scf package")]
pub struct NewArgs {
    /// The package name (letters, digits, `-` and `_`); also the function's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The trigger the handler is written for.
    #[arg(long, short, value_enum, default_value_t = Trigger::Apigw)]
    pub trigger: Trigger,
    /// Create the project in this directory (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Depend on the scf-rs checkout at this path. Default: the checkout around the new project,
    /// else the source this tool was built from (while it is there), else the crates.io release.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["scf_git", "crates_io"])]
    pub scf_path: Option<PathBuf>,
    /// Depend on scf-rs from this git repository.
    #[arg(long, value_name = "URL", conflicts_with = "crates_io")]
    pub scf_git: Option<String>,
    /// Depend on the crates.io release of scf-rs, even from inside a checkout.
    #[arg(long)]
    pub crates_io: bool,
}

/// Where the new project's `scf-rs` dependency comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ScfSource {
    /// A checkout on this machine, and why it was chosen.
    Path(PathBuf, &'static str),
    /// A git repository.
    Git(String),
    /// The crates.io release.
    CratesIo,
}

impl ScfSource {
    /// The dependency's table body (without braces), as seen from the project in `project`.
    fn spec(&self, project: &Path) -> String {
        match self {
            ScfSource::Path(path, BUILT_FROM) => format!("path = \"{}\"", path.display()),
            ScfSource::Path(path, _) => {
                format!("path = \"{}\"", relative(project, path).display())
            }
            ScfSource::Git(url) => format!("git = \"{url}\""),
            ScfSource::CratesIo => format!("version = \"{}\"", scf_version()),
        }
    }

    /// One line for the user on what was chosen.
    fn describe(&self) -> String {
        match self {
            ScfSource::Path(path, why) => format!("scf-rs from {} ({why})", path.display()),
            ScfSource::Git(url) => format!("scf-rs from git {url}"),
            ScfSource::CratesIo => format!("scf-rs {} from crates.io", scf_version()),
        }
    }
}

/// Why [`built_from`]'s checkout was chosen.
const BUILT_FROM: &str = "the source this tool was built from";

/// The scf-rs source this tool was built from, when it is a checkout that still exists (a tool
/// installed from crates.io was built from the registry's copy, which is not one).
fn built_from() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    is_scf_facade(dir).then(|| dir.to_path_buf())
}

/// Runs `cargo scf new` in the current directory, printing what it created.
pub fn run_new(args: &NewArgs) -> Result<PathBuf, ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    new_in(args, &cwd, &mut std::io::stdout().lock())
}

/// Runs `cargo scf new` as if started in `cwd`; returns the project directory.
pub fn new_in(args: &NewArgs, cwd: &Path, out: &mut dyn Write) -> Result<PathBuf, ToolError> {
    check_name(&args.name)?;
    let dir = normalize(
        &cwd.join(
            args.path
                .clone()
                .unwrap_or_else(|| PathBuf::from(&args.name)),
        ),
    );
    if dir.exists() {
        let empty = std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(ToolError::new(format!(
                "{} already exists and is not empty: choose another name or --path",
                dir.display()
            )));
        }
    }

    let source = if let Some(path) = &args.scf_path {
        let path = normalize(&cwd.join(path));
        if !is_scf_facade(&path) {
            return Err(ToolError::new(format!(
                "--scf-path {}: no Cargo.toml of the `scf-rs` package there",
                path.display()
            )));
        }
        ScfSource::Path(path, "--scf-path")
    } else if let Some(url) = &args.scf_git {
        ScfSource::Git(url.clone())
    } else if args.crates_io {
        ScfSource::CratesIo
    } else if let Some(path) = find_scf_checkout(&dir) {
        ScfSource::Path(path, "around the project")
    } else if let Some(path) = built_from() {
        ScfSource::Path(path, BUILT_FROM)
    } else {
        ScfSource::CratesIo
    };
    let spec = source.spec(&dir);
    let scf_dep = |features: &[&str]| -> String {
        let features = if features.is_empty() {
            String::new()
        } else {
            format!(
                ", features = [{}]",
                features
                    .iter()
                    .map(|f| format!("\"{f}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        format!("{{ {spec}{features} }}")
    };
    let inside_workspace = enclosing_workspace(&dir).is_some();

    let files = render(args.trigger, &args.name, &scf_dep, inside_workspace);
    for (rel, contents) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| ToolError::new(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| ToolError::new(format!("cannot write {}: {e}", path.display())))?;
    }

    let shown = relative(cwd, &dir);
    let _ = writeln!(
        out,
        "created `{}` ({} trigger) in {}",
        args.name,
        args.trigger,
        shown.display()
    );
    for (rel, _) in &files {
        let _ = writeln!(out, "  {rel}");
    }
    let _ = writeln!(out, "dependency: {}", source.describe());
    if inside_workspace {
        let _ = writeln!(
            out,
            "note: the project has its own [workspace] table because it sits inside another \
             workspace; to make it a member instead, remove that table and add it to the \
             workspace's members"
        );
    }
    let _ = writeln!(
        out,
        "next:\n  cd {}\n  cargo test\n  cargo scf build --release\n  cargo scf package",
        shown.display()
    );
    Ok(dir)
}

fn check_name(name: &str) -> Result<(), ToolError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !valid {
        return Err(ToolError::new(format!(
            "`{name}` is not a valid function name: start with a letter, then use letters, digits, `-` or `_`"
        )));
    }
    const RESERVED: &[&str] = &[
        "test",
        "scf",
        "scf-rs",
        "std",
        "core",
        "alloc",
        "proc_macro",
        "self",
        "crate",
        "super",
    ];
    if RESERVED.contains(&name) {
        return Err(ToolError::new(format!(
            "`{name}` clashes with a crate the project uses: choose another name"
        )));
    }
    Ok(())
}

/// The `scf` version a crates.io dependency asks for: this tool's own `major.minor`.
fn scf_version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => version.to_owned(),
    }
}

/// Whether `dir/Cargo.toml` is the manifest of the `scf-rs` facade package.
fn is_scf_facade(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return false;
    };
    let Ok(manifest) = toml::from_str::<toml::Table>(&text) else {
        return false;
    };
    manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        == Some("scf-rs")
}

/// The scf-rs checkout the new project sits in, if any.
fn find_scf_checkout(project: &Path) -> Option<PathBuf> {
    project
        .ancestors()
        .skip(1)
        .find(|d| is_scf_facade(d))
        .map(Path::to_path_buf)
}

/// The nearest ancestor with a `[workspace]` manifest.
fn enclosing_workspace(project: &Path) -> Option<PathBuf> {
    project
        .ancestors()
        .skip(1)
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .ok()
                .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
                .is_some_and(|m| m.contains_key("workspace"))
        })
        .map(Path::to_path_buf)
}

/// Removes `.` and `..` without touching the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `to` relative to `from` (both absolute and normalized), `../..`-style.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from_n = normalize(from);
    let from: Vec<_> = from_n.components().collect();
    let to_n = normalize(to);
    let to: Vec<_> = to_n.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return to_n;
    }
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to[common..] {
        rel.push(c);
    }
    if rel.as_os_str().is_empty() {
        rel.push(".");
    }
    rel
}

/// The project's files, as (relative path, contents).
fn render(
    trigger: Trigger,
    name: &str,
    scf_dep: &dyn Fn(&[&str]) -> String,
    own_workspace: bool,
) -> Vec<(String, String)> {
    let http = trigger == Trigger::HttpRouter;
    let mut deps = format!("scf-rs = {}\n", scf_dep(if http { &["http"] } else { &[] }));
    deps.push_str("serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n");
    if http {
        deps.push_str(
            "axum = { version = \"0.8\", default-features = false, features = [\"tokio\", \"http1\", \"json\", \"query\"] }\n",
        );
    }
    let dev_features: &[&str] = if http {
        &["http", "fixtures"]
    } else {
        &["fixtures"]
    };
    let workspace = if own_workspace {
        "\n# Not a member of the enclosing workspace.\n[workspace]\n"
    } else {
        ""
    };
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
{deps}
[dev-dependencies]
scf-rs = {dev_scf}
tokio = {{ version = "1", features = ["rt", "macros"] }}

[profile.release]
# What SCF runs: small, fast, and a panicking handler stays a reported function error
# (never panic = "abort").
lto = true
codegen-units = 1
strip = true
panic = "unwind"
{workspace}"#,
        dev_scf = scf_dep(dev_features),
    );

    let main_rs = main_rs(trigger, name);
    let scf_toml = scf_toml(trigger, name);
    // `.scf/` is where `cargo scf serve` keeps its durable state.
    let gitignore = "/target\n/.scf/\n".to_owned();
    vec![
        (".gitignore".to_owned(), gitignore),
        ("Cargo.toml".to_owned(), cargo_toml),
        ("scf.toml".to_owned(), scf_toml),
        ("src/main.rs".to_owned(), main_rs),
    ]
}

fn main_rs(trigger: Trigger, name: &str) -> String {
    let fixture = trigger.fixture();
    let header = format!(
        "//! `{name}`: an SCF function ({trigger} trigger).\n//!\n\
         //! Test: `cargo test`. Run locally: `cargo scf serve` (hosts it per scf.toml), then\n\
         //! `cargo scf invoke {name} --event {fixture_trigger}`. Deploy: `cargo scf build --release && cargo scf package`,\n\
         //! then upload the zip as a Custom Runtime function.\n\n",
        fixture_trigger = fixture.split('-').next().unwrap_or("custom"),
    );
    let body = match trigger {
        Trigger::Apigw => APIGW_RS,
        Trigger::Timer => TIMER_RS,
        Trigger::Cos => COS_RS,
        Trigger::Ckafka => CKAFKA_RS,
        Trigger::Cmq => CMQ_RS,
        Trigger::HttpRouter => HTTP_ROUTER_RS,
    };
    format!("{header}{}", body.replace("{fixture}", fixture))
}

fn scf_toml(trigger: Trigger, name: &str) -> String {
    let triggers = match trigger {
        Trigger::Apigw | Trigger::HttpRouter => format!(
            "\n[[functions.{name}.triggers]]\ntype = \"apigw\"\npath = \"/{name}\"\nmethods = [\"GET\", \"POST\"]\n"
        ),
        Trigger::Timer => format!(
            "\n[[functions.{name}.triggers]]\ntype = \"timer\"\nname = \"every-minute\"\ncron = \"0 */1 * * * * *\"\nmessage = \"tick\"\n"
        ),
        Trigger::Ckafka => format!(
            "\n# A CKafka trigger needs a reachable Kafka broker:\n\
             # [[functions.{name}.triggers]]\n# type = \"ckafka\"\n# brokers = [\"127.0.0.1:9092\"]\n# topic = \"test-topic\"\n"
        ),
        Trigger::Cos | Trigger::Cmq => format!(
            "\n# Locally, send it the bundled sample event: cargo scf invoke {name} --event {}\n",
            trigger.fixture().split('-').next().unwrap_or("custom")
        ),
    };
    format!(
        r#"# Hosts this function locally: `cargo scf serve` (then `cargo scf invoke {name} ...`).

[server]
listen = "127.0.0.1:9000"

[functions.{name}]
package = "{name}"        # built with `cargo build --release` before serving
type = "event"
memory_mb = 128
timeout_s = 3
{triggers}"#
    )
}

const APIGW_RS: &str = r#"use scf::events::IntegratedResponse;
use scf::events::apigw::ApiGatewayRequest;
use serde::Serialize;

/// What the function answers, as JSON.
#[derive(Debug, Serialize)]
struct Greeting {
    message: String,
    path: String,
}

/// Answers every API Gateway request with a JSON greeting.
#[scf::function]
async fn handler(event: ApiGatewayRequest, ctx: scf::Context) -> Result<IntegratedResponse, scf::Error> {
    scf::tracing::info!(request_id = ctx.request_id(), path = %event.path, "request");
    let greeting = Greeting {
        message: format!("Hello from {}!", event.http_method),
        path: event.path,
    };
    Ok(IntegratedResponse::json(200, &greeting)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_the_bundled_request() {
        let event = serde_json::from_str(scf::events::fixtures::get("{fixture}").unwrap()).unwrap();
        let reply = handler(event, scf::Context::default()).await.unwrap();
        assert_eq!(reply.status_code, 200);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["message"], "Hello from GET!");
    }
}
"#;

const TIMER_RS: &str = r#"use scf::events::timer::TimerEvent;
use serde::Serialize;

/// What the function answers for each tick.
#[derive(Debug, Serialize)]
struct Tick {
    trigger: String,
    message: String,
}

/// Runs on every timer tick.
#[scf::function]
async fn handler(event: TimerEvent, ctx: scf::Context) -> Result<Tick, scf::Error> {
    scf::tracing::info!(request_id = ctx.request_id(), trigger = %event.trigger_name, "tick");
    Ok(Tick {
        trigger: event.trigger_name,
        message: event.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handles_the_bundled_tick() {
        let event = serde_json::from_str(scf::events::fixtures::get("{fixture}").unwrap()).unwrap();
        let tick = handler(event, scf::Context::default()).await.unwrap();
        assert!(!tick.trigger.is_empty());
    }
}
"#;

const COS_RS: &str = r#"use scf::events::cos::CosEvent;
use serde::Serialize;

/// One object named by the notification.
#[derive(Debug, Serialize)]
struct Object {
    bucket: String,
    key: String,
    size: u64,
}

/// Lists the objects a COS notification names.
#[scf::function]
async fn handler(event: CosEvent, ctx: scf::Context) -> Result<Vec<Object>, scf::Error> {
    scf::tracing::info!(request_id = ctx.request_id(), records = event.records.len(), "cos event");
    Ok(event
        .records
        .iter()
        .map(|record| Object {
            bucket: record.cos.cos_bucket.name.clone(),
            key: record.cos.cos_object.object_key().to_owned(),
            size: record.cos.cos_object.size,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lists_the_bundled_upload() {
        let event = serde_json::from_str(scf::events::fixtures::get("{fixture}").unwrap()).unwrap();
        let objects = handler(event, scf::Context::default()).await.unwrap();
        assert_eq!(objects.len(), 1);
        assert!(!objects[0].key.is_empty());
    }
}
"#;

const CKAFKA_RS: &str = r#"use scf::events::ckafka::CkafkaEvent;
use serde::Serialize;

/// What the function answers for a batch.
#[derive(Debug, Serialize)]
struct Batch {
    count: usize,
    last_offset: Option<i64>,
}

/// Handles one batch of Kafka messages.
#[scf::function]
async fn handler(event: CkafkaEvent, ctx: scf::Context) -> Result<Batch, scf::Error> {
    for message in event.messages() {
        scf::tracing::info!(request_id = ctx.request_id(), topic = %message.topic, offset = message.offset, "message");
    }
    Ok(Batch {
        count: event.records.len(),
        last_offset: event.messages().map(|m| m.offset).max(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handles_the_bundled_batch() {
        let event = serde_json::from_str(scf::events::fixtures::get("{fixture}").unwrap()).unwrap();
        let batch = handler(event, scf::Context::default()).await.unwrap();
        assert!(batch.count > 0);
        assert!(batch.last_offset.is_some());
    }
}
"#;

const CMQ_RS: &str = r#"use scf::events::cmq::CmqEvent;

/// Returns the bodies of the CMQ messages received.
#[scf::function]
async fn handler(event: CmqEvent, ctx: scf::Context) -> Result<Vec<String>, scf::Error> {
    scf::tracing::info!(request_id = ctx.request_id(), records = event.records.len(), "cmq event");
    Ok(event.messages().map(|m| m.msg_body.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_the_bundled_message() {
        let event = serde_json::from_str(scf::events::fixtures::get("{fixture}").unwrap()).unwrap();
        let bodies = handler(event, scf::Context::default()).await.unwrap();
        assert_eq!(bodies.len(), 1);
        assert!(!bodies[0].is_empty());
    }
}
"#;

const HTTP_ROUTER_RS: &str = r#"use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use scf::events::IntegratedResponse;
use scf::events::http::{HttpEvent, call_service};

/// The routes. API Gateway and Function URL events are routed on their path.
fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello!" }))
        .route("/test/{name}", get(hello))
}

/// `GET /test/{name}`: a greeting.
async fn hello(Path(name): Path<String>) -> String {
    format!("Hello, {name}!")
}

/// Every API Gateway / Function URL event through the router.
#[scf::function]
async fn handler(event: HttpEvent, ctx: scf::Context) -> Result<IntegratedResponse, scf::Error> {
    scf::tracing::info!(request_id = ctx.request_id(), "request");
    Ok(call_service(&mut router(), event).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn routes_the_bundled_request() {
        // The bundled API Gateway sample is `GET /test/value`.
        let event = serde_json::from_str(scf::events::fixtures::get("{fixture}").unwrap()).unwrap();
        let reply = handler(event, scf::Context::default()).await.unwrap();
        assert_eq!(reply.status_code, 200);
        assert_eq!(reply.body, "Hello, value!");
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_walk_up_and_down() {
        assert_eq!(
            relative(Path::new("/work/main/fns/a"), Path::new("/work/main")),
            PathBuf::from("../..")
        );
        assert_eq!(
            relative(Path::new("/tmp/x"), Path::new("/work/main")),
            PathBuf::from("../../work/main")
        );
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("hello-fn_2").is_ok());
        for bad in ["", "2fast", "a b", "tést", "test", "../x"] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }
}
