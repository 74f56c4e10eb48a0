//! `cargo scf logs NAME`: a function's recent invocations and their logs (`GetFunctionLogs`),
//! oldest first; `--follow` polls for new ones (the window's `StartTime` moves to the newest seen,
//! entries are told apart by `RequestId`), `--failed` keeps failed invocations only,
//! `--request-id` one invocation.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use super::ToolError;
use super::cloud::{Cloud, CloudArgs, Environment, load_config, text};

/// How often `--follow` asks for new entries.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// Arguments of `cargo scf logs`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf logs orders                      the 20 latest invocations of `orders`, oldest first
  cargo scf logs orders --failed --limit 50  failed invocations only
  cargo scf logs orders --follow             keep printing new invocations (Ctrl-C stops)
  cargo scf logs orders --endpoint http://127.0.0.1:9000   from a local `cargo scf serve`")]
pub struct LogsArgs {
    /// The function.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Keep polling for new invocations.
    #[arg(long)]
    pub follow: bool,
    /// Only this invocation.
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    /// Only failed invocations (`RetCode` not 0).
    #[arg(long)]
    pub failed: bool,
    /// How many invocations to show (1 to 10000).
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Where the function is.
    #[command(flatten)]
    pub cloud: CloudArgs,
    /// With --follow: stop after this many polls (for tests; forever when unset).
    #[arg(skip)]
    pub max_polls: Option<usize>,
}

/// Runs `cargo scf logs` in the current directory with this process's environment.
pub fn run_logs(args: &LogsArgs) -> Result<(), ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    logs_in(
        args,
        &cwd,
        &Environment::from_process(),
        &mut std::io::stdout().lock(),
    )
}

/// Runs `cargo scf logs` as if started in `cwd` with `env`, printing to `out`.
pub fn logs_in(
    args: &LogsArgs,
    cwd: &Path,
    env: &Environment,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    let config = load_config(args.cloud.config.as_deref(), cwd)?;
    let deploy = config.map(|c| c.deploy).unwrap_or_default();
    let cloud = Cloud::resolve(&args.cloud, &deploy, env)?;
    super::cloud::block_on(follow(args, &cloud, out))?
}

async fn follow(args: &LogsArgs, cloud: &Cloud, out: &mut dyn Write) -> Result<(), ToolError> {
    let mut params = json!({
        "FunctionName": args.name,
        "Namespace": cloud.namespace,
        "Offset": 0,
        "Limit": args.limit,
        "Order": "desc",
        "OrderBy": "start_time",
    });
    if args.failed {
        params["Filter"] = json!({"RetCode": "not0"});
    }
    if let Some(id) = &args.request_id {
        params["FunctionRequestId"] = json!(id);
    }
    let mut seen = HashSet::new();
    let mut newest = String::new();
    let mut polls = 0;
    loop {
        let answer = cloud.client.call("GetFunctionLogs", &params).await?;
        let mut entries = answer
            .get("Data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if params["Order"] == "desc" {
            entries.reverse();
        }
        for entry in &entries {
            let key = (
                text(entry, "RequestId").to_owned(),
                text(entry, "StartTime").to_owned(),
            );
            if !seen.insert(key) {
                continue;
            }
            let _ = write!(out, "{}", show(entry));
            if text(entry, "StartTime") > newest.as_str() {
                newest = text(entry, "StartTime").to_owned();
            }
        }
        let _ = out.flush();
        if !args.follow || args.max_polls.is_some_and(|max| polls >= max) {
            return Ok(());
        }
        polls += 1;
        // From now on: oldest first, from the newest entry seen (a window of at most a day).
        params["Order"] = json!("asc");
        params["Limit"] = json!(100);
        if let Some(end) = day_after(&newest) {
            params["StartTime"] = json!(newest);
            params["EndTime"] = json!(end);
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

/// `StartTime` plus one day, in the same form (the API takes windows of at most a day).
fn day_after(start: &str) -> Option<String> {
    let t = chrono::NaiveDateTime::parse_from_str(start.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some(
        (t + chrono::Duration::days(1))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    )
}

/// One log entry: a header line, then its log lines indented.
fn show(entry: &Value) -> String {
    let code = entry.get("RetCode").and_then(Value::as_i64).unwrap_or(0);
    let outcome = if code == 0 {
        "ok".to_owned()
    } else {
        format!("failed (RetCode {code})")
    };
    let duration = entry.get("Duration").and_then(Value::as_f64).unwrap_or(0.0);
    let memory = entry.get("MemUsage").and_then(Value::as_f64).unwrap_or(0.0) / 1_048_576.0;
    let mut text_out = format!(
        "{}  {}  {outcome}  {duration:.0} ms  {memory:.1} MB\n",
        text(entry, "StartTime"),
        text(entry, "RequestId"),
    );
    let ret = text(entry, "RetMsg");
    if code != 0 && !ret.is_empty() {
        text_out.push_str(&format!("  result: {ret}\n"));
    }
    for line in text(entry, "Log").lines().filter(|l| !l.trim().is_empty()) {
        text_out.push_str("  ");
        text_out.push_str(line);
        text_out.push('\n');
    }
    text_out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_with_their_logs_and_windows_move_a_day() {
        let entry = json!({"StartTime": "2026-05-01 12:00:00", "RequestId": "r1", "RetCode": 1,
            "Duration": 12.4, "MemUsage": 25165824, "RetMsg": "boom", "Log": "START\nhello\n"});
        assert_eq!(
            show(&entry),
            "2026-05-01 12:00:00  r1  failed (RetCode 1)  12 ms  24.0 MB\n  result: boom\n  START\n  hello\n"
        );
        assert_eq!(
            day_after("2026-05-01 12:00:00.123").as_deref(),
            Some("2026-05-02 12:00:00")
        );
        assert_eq!(day_after("yesterday"), None);
    }
}
