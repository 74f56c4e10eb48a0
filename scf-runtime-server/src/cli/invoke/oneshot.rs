//! The one-shot run of `cargo scf invoke`: the function alone in an in-process [`Host`], one event,
//! then the instance is stopped.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;

use super::{InvokeArgs, InvokeReport};
use crate::cli::ToolError;
use crate::config::{Code, Config, FunctionConfig, check_env, check_handler};
use crate::host::{Host, InvokeOptions, logs};

/// Why the function runs here rather than on a server.
#[derive(Debug, Clone)]
pub(super) enum Why {
    /// Nothing listens at this `host:port`.
    NoServer(String),
    /// `--local`.
    Forced,
    /// `--bootstrap PATH`.
    Bootstrap(PathBuf),
}

/// What a one-shot run gives back.
#[derive(Debug)]
pub(super) struct Local {
    /// The function's name.
    pub(super) function: String,
    /// How it went.
    pub(super) outcome: InvokeReport,
    /// The line saying where it ran.
    pub(super) line: String,
}

/// How long the one instance may take to stop at the end (the host sends SIGTERM, then SIGKILL).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Runs the function once here with `event`, writing notes (the build) to `out`.
pub(super) async fn run(
    args: &InvokeArgs,
    cwd: &Path,
    why: Why,
    event: Vec<u8>,
    out: &mut (dyn Write + Send),
) -> Result<Local, ToolError> {
    if args.is_async {
        let function = args
            .function
            .as_deref()
            .map(|f| format!("`{f}`"))
            .unwrap_or_else(|| "the function".to_owned());
        let why = match &why {
            Why::NoServer(addr) => format!("no server answers on {addr}"),
            Why::Forced => "--local runs it here".to_owned(),
            Why::Bootstrap(_) => "--bootstrap runs it here".to_owned(),
        };
        return Err(ToolError::new(format!(
            "--async needs a running `cargo scf serve` to keep the queued event, but {why}: start `cargo scf serve` (or pass --remote URL), or drop --async to run {function} once here and wait for its result"
        )));
    }
    let (mut config, name) = match &why {
        Why::Bootstrap(path) => bootstrap_config(cwd, path, args.function.as_deref())?,
        Why::NoServer(_) | Why::Forced => {
            let name = args.function.as_deref().ok_or_else(|| {
                ToolError::new("name the function to invoke: cargo scf invoke <FUNCTION>")
            })?;
            (
                project_config(cwd, &args.config, name, &why)?,
                name.to_owned(),
            )
        }
    };
    let mut function = config
        .function(&name)
        .cloned()
        .ok_or_else(|| ToolError::new(format!("no function `{name}` in the config")))?;
    one_shot_settings(&mut function, args)?;
    config.server.quota_mb = config.server.quota_mb.max(u64::from(function.memory_mb));
    config.functions = vec![function];

    // Nothing else runs on this runtime yet: the build may block it.
    // The release build: the durations and memory it reports are what SCF would see.
    let profile = crate::cli::cargo::HostProfile::Release;
    crate::cli::cargo::build_packages(&mut config, profile, |package| {
        note(
            args,
            out,
            &format!("building `{package}` ({})", profile.describe(package)),
        );
    })?;
    let function = &config.functions[0];
    let executable = function
        .executable()
        .ok_or_else(|| ToolError::new(format!("function `{name}` has no executable")))?;
    if !executable.is_file() {
        let hint = match (&why, &function.code) {
            (Why::Bootstrap(_), _) => "pass the path of a built executable".to_owned(),
            (_, Code::Bootstrap(_)) => format!(
                "build it, or fix `bootstrap =` of [functions.{name}] in {}",
                args.config.display()
            ),
            (_, Code::Package { .. }) => "the package's binary was not built".to_owned(),
        };
        return Err(ToolError::new(format!(
            "the bootstrap of `{name}` does not exist: {} ({hint})",
            executable.display()
        )));
    }

    crate::host::check_isolation(config.server.isolation).map_err(ToolError::new)?;
    let host = Host::new(&config).map_err(|e| ToolError::new(e.to_string()))?;
    host.start();
    let outcome = host
        .invoke(&name, Bytes::from(event), InvokeOptions::default())
        .await;
    host.shutdown(SHUTDOWN_GRACE).await;

    let (status, body) = match &outcome.result {
        Ok(body) => (200, body.to_vec()),
        Err(e) => (e.code(), e.to_json().to_string().into_bytes()),
    };
    let line = match &why {
        Why::NoServer(addr) => format!("(no server on {addr}: ran `{name}` once locally)"),
        Why::Forced => format!("(--local: ran `{name}` once locally)"),
        Why::Bootstrap(path) => format!(
            "(--bootstrap: ran {} once locally as `{name}`)",
            path.display()
        ),
    };
    Ok(Local {
        function: name,
        outcome: InvokeReport {
            status,
            request_id: Some(outcome.request_id),
            body,
            log: Some(outcome.log),
            duration_ms: Some(logs::duration_ms(outcome.duration)),
            mem_usage: Some(outcome.mem_usage),
            cold_start: Some(outcome.cold_start),
        },
        line,
    })
}

/// A progress note: on `out`, or on stderr with `--quiet` (stdout is only the result then).
fn note(args: &InvokeArgs, out: &mut (dyn Write + Send), text: &str) {
    if args.quiet {
        eprintln!("{text}");
    } else {
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// The project's config, checked to host `name` as an event function.
fn project_config(cwd: &Path, file: &Path, name: &str, why: &Why) -> Result<Config, ToolError> {
    let path = cwd.join(file);
    if !path.is_file() {
        let context = match why {
            Why::NoServer(addr) => format!("no server answers on {addr}, and "),
            _ => String::new(),
        };
        return Err(ToolError::new(format!(
            "{context}there is no {} to run `{name}` from: start `cargo scf serve` (or pass --remote URL), run in the directory of your scf.toml (or pass --config FILE), or run an executable with --bootstrap PATH",
            path.display()
        )));
    }
    let config = Config::load(&path).map_err(|e| ToolError::new(e.to_string()))?;
    let Some(function) = config.function(name) else {
        let names: Vec<&str> = config.functions.iter().map(|f| f.name.as_str()).collect();
        let known = if names.is_empty() {
            "it has no [functions.<name>] table".to_owned()
        } else {
            format!("its functions: {}", names.join(", "))
        };
        return Err(ToolError::new(format!(
            "no function `{name}` in {} ({known})",
            path.display()
        )));
    };
    if function.is_web() {
        return Err(ToolError::new(format!(
            "`{name}` is a web function (type = \"web\"): it serves HTTP on $PORT and takes no events; host it with `cargo scf serve` and send it requests through its trigger"
        )));
    }
    Ok(config)
}

/// A config of one function running `bootstrap`, named `function` or after the file (its name
/// without extension, when that is a valid function name; else `function`).
fn bootstrap_config(
    cwd: &Path,
    bootstrap: &Path,
    function: Option<&str>,
) -> Result<(Config, String), ToolError> {
    let path = cwd.join(bootstrap);
    let name = match function {
        Some(name) => name.to_owned(),
        None => path
            .file_stem()
            .and_then(|n| n.to_str())
            .filter(|n| crate::config::check_function_name(n).is_ok())
            .unwrap_or("function")
            .to_owned(),
    };
    let text = path.to_str().ok_or_else(|| {
        ToolError::new(format!(
            "--bootstrap {}: the path is not UTF-8",
            path.display()
        ))
    })?;
    let mut table = toml::Table::new();
    table.insert("bootstrap".to_owned(), toml::Value::String(text.to_owned()));
    let mut functions = toml::Table::new();
    functions.insert(name.clone(), toml::Value::Table(table));
    let mut root = toml::Table::new();
    root.insert("functions".to_owned(), toml::Value::Table(functions));
    let source = toml::to_string(&root)
        .map_err(|e| ToolError::new(format!("cannot describe --bootstrap as a config: {e}")))?;
    let config = Config::parse(&source, Path::new("--bootstrap"), cwd)
        .map_err(|e| ToolError::new(e.to_string()))?;
    Ok((config, name))
}

/// One instance, no triggers, the flags' memory, timeout and variables, and a wait for the
/// instance long enough for its init to fail on its own (450) rather than as a throttle (432).
fn one_shot_settings(function: &mut FunctionConfig, args: &InvokeArgs) -> Result<(), ToolError> {
    function.max_instances = 1;
    function.min_instances = 0;
    function.triggers.clear();
    if let Some(mb) = args.memory {
        function.memory_mb = mb;
    }
    if let Some(s) = args.timeout {
        function.timeout = Duration::from_secs_f64(s);
    }
    function.queue_timeout = function.init_timeout + Duration::from_secs(30);
    if let Some(handler) = &args.handler {
        check_handler(handler).map_err(|e| ToolError::new(format!("--handler: {e}")))?;
        function.handler = handler.clone();
    }
    if !args.env.is_empty() {
        let mut env: BTreeMap<String, String> = function.env.iter().cloned().collect();
        env.extend(args.env.iter().cloned());
        check_env(&env).map_err(|e| ToolError::new(format!("--env: {e}")))?;
        function.env = env.into_iter().collect();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bootstrap_alone_gets_the_documented_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let (config, name) =
            bootstrap_config(dir.path(), Path::new("target/release/hello"), None).unwrap();
        assert_eq!(name, "hello");
        let f = config.function("hello").unwrap();
        assert_eq!(f.memory_mb, 128);
        assert_eq!(f.timeout, Duration::from_secs(3));
        assert_eq!(
            f.executable(),
            Some(dir.path().join("target/release/hello").as_path())
        );

        let (_, name) = bootstrap_config(dir.path(), Path::new("bootstrap.py"), None).unwrap();
        assert_eq!(name, "bootstrap");
        let (_, name) = bootstrap_config(dir.path(), Path::new("./1.sh"), None).unwrap();
        assert_eq!(name, "function");
        let err = bootstrap_config(dir.path(), Path::new("x"), Some("no spaces"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid function name"), "{err}");
    }

    #[test]
    fn flags_adjust_the_one_instance() {
        let dir = tempfile::tempdir().unwrap();
        let (config, _) = bootstrap_config(dir.path(), Path::new("b"), Some("f")).unwrap();
        let mut f = config.function("f").unwrap().clone();
        let args = InvokeArgs {
            memory: Some(256),
            timeout: Some(0.5),
            env: vec![("GREETING".to_owned(), "hi".to_owned())],
            handler: Some("other.run".to_owned()),
            ..InvokeArgs::default()
        };
        assert_eq!(f.handler, "index.main_handler");
        one_shot_settings(&mut f, &args).unwrap();
        assert_eq!(f.handler, "other.run");
        assert_eq!(f.max_instances, 1);
        assert_eq!(f.memory_mb, 256);
        assert_eq!(f.timeout, Duration::from_millis(500));
        assert!(f.queue_timeout > f.init_timeout);
        assert_eq!(f.env, [("GREETING".to_owned(), "hi".to_owned())]);

        let args = InvokeArgs {
            env: vec![("SCF_X".to_owned(), "1".to_owned())],
            ..InvokeArgs::default()
        };
        let err = one_shot_settings(&mut f, &args).unwrap_err().to_string();
        assert!(err.contains("reserved prefix"), "{err}");
        let args = InvokeArgs {
            handler: Some("two words".to_owned()),
            ..InvokeArgs::default()
        };
        let err = one_shot_settings(&mut f, &args).unwrap_err().to_string();
        assert!(err.starts_with("--handler: "), "{err}");
    }
}
