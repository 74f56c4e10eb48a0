//! `cargo scf info NAME`: a deployed function as SCF has it: its settings and status
//! (`GetFunction`), versions (`ListVersionByFunction`), aliases (`ListAliases`) and triggers
//! (`ListTriggers`); `--json` prints the four answers as one object.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use clap::Args;
use serde_json::{Value, json};

use super::ToolError;
use super::cloud::{Cloud, CloudArgs, Environment, load_config, text};

/// Arguments of `cargo scf info`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf info orders
  cargo scf info orders --json
  cargo scf info orders --endpoint http://127.0.0.1:9000")]
pub struct InfoArgs {
    /// The function.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Print the answers as one JSON object: Function, Versions, Aliases, Triggers.
    #[arg(long)]
    pub json: bool,
    /// Where the function is.
    #[command(flatten)]
    pub cloud: CloudArgs,
}

/// Runs `cargo scf info` in the current directory with this process's environment.
pub fn run_info(args: &InfoArgs) -> Result<Value, ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    info_in(
        args,
        &cwd,
        &Environment::from_process(),
        &mut std::io::stdout().lock(),
    )
}

/// Runs `cargo scf info` as if started in `cwd` with `env`, printing to `out`; gives the JSON.
pub fn info_in(
    args: &InfoArgs,
    cwd: &Path,
    env: &Environment,
    out: &mut dyn Write,
) -> Result<Value, ToolError> {
    let config = load_config(args.cloud.config.as_deref(), cwd)?;
    let deploy = config.map(|c| c.deploy).unwrap_or_default();
    let cloud = Cloud::resolve(&args.cloud, &deploy, env)?;
    let all = super::cloud::block_on(async {
        let base = json!({"FunctionName": args.name, "Namespace": cloud.namespace});
        let listed = json!({"FunctionName": args.name, "Namespace": cloud.namespace, "Offset": 0, "Limit": 100});
        let function = cloud.client.call("GetFunction", &base).await?;
        let versions = cloud.client.call("ListVersionByFunction", &listed).await?;
        let aliases = cloud.client.call("ListAliases", &listed).await?;
        let triggers = cloud.client.call("ListTriggers", &listed).await?;
        Ok::<_, ToolError>(json!({
            "Function": function,
            "Versions": versions.get("Versions").cloned().unwrap_or_else(|| json!([])),
            "Aliases": aliases.get("Aliases").cloned().unwrap_or_else(|| json!([])),
            "Triggers": triggers.get("Triggers").cloned().unwrap_or_else(|| json!([])),
        }))
    })??;
    let shown = if args.json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&all).unwrap_or_default()
        )
    } else {
        show(&all, &cloud)
    };
    let _ = out.write_all(shown.as_bytes());
    Ok(all)
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn show(all: &Value, cloud: &Cloud) -> String {
    let f = &all["Function"];
    let mut s = format!(
        "{} (namespace {}, region {}, {})\n",
        text(f, "FunctionName"),
        cloud.namespace,
        cloud.client.region(),
        cloud.client.endpoint()
    );
    let number = |field: &str, unit: &str| {
        f.get(field)
            .filter(|v| !v.is_null())
            .map(|v| format!("{v}{unit}"))
            .unwrap_or_default()
    };
    let variables: Vec<&str> = list(&f["Environment"]["Variables"])
        .iter()
        .map(|v| text(v, "Key"))
        .collect();
    let mut status = text(f, "Status").to_owned();
    for reason in list(&f["StatusReasons"]) {
        let _ = write!(
            status,
            " ({}: {})",
            text(reason, "ErrorCode"),
            text(reason, "ErrorMessage")
        );
    }
    let rows = [
        ("Status", status),
        ("Type", text(f, "Type").to_owned()),
        ("Runtime", text(f, "Runtime").to_owned()),
        ("Memory", number("MemorySize", " MB")),
        ("Timeout", number("Timeout", " s")),
        ("InitTimeout", number("InitTimeout", " s")),
        ("CodeSize", number("CodeSize", " bytes")),
        ("Modified", text(f, "ModTime").to_owned()),
        ("Description", text(f, "Description").to_owned()),
        ("Environment", variables.join(", ")),
    ];
    for (name, value) in rows {
        if !value.is_empty() {
            let _ = writeln!(s, "  {name:<12} {value}");
        }
    }
    let versions: Vec<String> = list(&all["Versions"])
        .iter()
        .map(|v| {
            let d = text(v, "Description");
            if d.is_empty() {
                text(v, "Version").to_owned()
            } else {
                format!("{} ({d})", text(v, "Version"))
            }
        })
        .collect();
    let _ = writeln!(
        s,
        "Versions: {}",
        if versions.is_empty() {
            "none published".to_owned()
        } else {
            versions.join(", ")
        }
    );
    let aliases = list(&all["Aliases"]);
    let _ = writeln!(
        s,
        "Aliases:{}",
        if aliases.is_empty() { " none" } else { "" }
    );
    for alias in aliases {
        let weights = list(&alias["RoutingConfig"]["AdditionalVersionWeights"]);
        let rest: f64 = weights
            .iter()
            .filter_map(|w| w.get("Weight").and_then(Value::as_f64))
            .sum();
        let mut line = format!(
            "  {} -> version {}",
            text(alias, "Name"),
            text(alias, "FunctionVersion")
        );
        if !weights.is_empty() {
            let _ = write!(line, " {:.0}%", (1.0 - rest) * 100.0);
            for w in weights {
                let pct = w.get("Weight").and_then(Value::as_f64).unwrap_or(0.0) * 100.0;
                let _ = write!(line, ", version {} {pct:.0}%", text(w, "Version"));
            }
        }
        let _ = writeln!(s, "{line}");
    }
    let triggers = list(&all["Triggers"]);
    let _ = writeln!(
        s,
        "Triggers:{}",
        if triggers.is_empty() { " none" } else { "" }
    );
    for t in triggers {
        let desc = match text(t, "Type") {
            "timer" => crate::cli::deploy::plan::timer_cron(text(t, "TriggerDesc")),
            _ => text(t, "TriggerDesc").to_owned(),
        };
        let enabled = match t.get("Enable") {
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            Some(Value::String(e)) => e.eq_ignore_ascii_case("OPEN"),
            Some(Value::Bool(b)) => *b,
            _ => true,
        };
        let mut line = format!("  {} {}  {desc}", text(t, "Type"), text(t, "TriggerName"));
        let argument = text(t, "CustomArgument");
        if !argument.is_empty() {
            let _ = write!(line, "  argument {argument:?}");
        }
        if !enabled {
            line.push_str("  (disabled)");
        }
        let _ = writeln!(s, "{line}");
    }
    s
}
