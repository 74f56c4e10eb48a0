//! `cargo scf remove NAME`: deletes a function (`DeleteFunction`) after a y/N question on a
//! terminal, or at once with `--yes`; without a terminal and without `--yes` it refuses.

use std::io::{BufRead, IsTerminal as _, Write};
use std::path::Path;

use clap::Args;
use serde_json::json;

use super::ToolError;
use super::cloud::{Cloud, CloudArgs, Environment, load_config};

/// Arguments of `cargo scf remove`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf remove orders            asks before deleting
  cargo scf remove orders --yes      in scripts (required without a terminal)")]
pub struct RemoveArgs {
    /// The function.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Delete without asking.
    #[arg(long, short)]
    pub yes: bool,
    /// Where the function is.
    #[command(flatten)]
    pub cloud: CloudArgs,
}

/// Runs `cargo scf remove` in the current directory, asking on the terminal.
pub fn run_remove(args: &RemoveArgs) -> Result<(), ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    let stdin = std::io::stdin();
    let mut terminal = stdin.is_terminal().then(|| stdin.lock());
    remove_in(
        args,
        &cwd,
        &Environment::from_process(),
        terminal.as_mut().map(|t| t as &mut dyn BufRead),
        &mut std::io::stdout().lock(),
    )
}

/// Runs `cargo scf remove` as if started in `cwd` with `env`; `terminal` is where the answer to
/// the question is read (`None`: no terminal, so only `--yes` deletes).
pub fn remove_in(
    args: &RemoveArgs,
    cwd: &Path,
    env: &Environment,
    terminal: Option<&mut dyn BufRead>,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    let config = load_config(args.cloud.config.as_deref(), cwd)?;
    let deploy = config.map(|c| c.deploy).unwrap_or_default();
    let cloud = Cloud::resolve(&args.cloud, &deploy, env)?;
    let what = format!(
        "function {} (namespace {}, region {}, {})",
        args.name,
        cloud.namespace,
        cloud.client.region(),
        cloud.client.endpoint()
    );
    if !args.yes {
        let Some(terminal) = terminal else {
            return Err(ToolError::new(format!(
                "refusing to delete {what} without confirmation: there is no terminal to ask on; pass --yes"
            )));
        };
        let _ = write!(
            out,
            "Delete {what}, its versions, aliases and triggers? [y/N] "
        );
        let _ = out.flush();
        let mut answer = String::new();
        terminal
            .read_line(&mut answer)
            .map_err(|e| ToolError::new(format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            let _ = writeln!(out, "not deleted");
            return Ok(());
        }
    }
    super::cloud::block_on(cloud.client.call(
        "DeleteFunction",
        &json!({"FunctionName": args.name, "Namespace": cloud.namespace}),
    ))??;
    let _ = writeln!(out, "deleted {what}");
    Ok(())
}
