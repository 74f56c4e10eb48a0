//! `cargo scf deploy`: builds and packages a function exactly as `cargo scf package` does, then
//! creates or updates it on SCF through the Cloud API (or on a local `cargo scf serve` with
//! `--endpoint http://127.0.0.1:PORT`).
//!
//! For each function: the zip ([`package_in`]; at most [`MAX_ZIP_BYTES`], as SCF takes a
//! base64 `ZipFile`), the read actions ([`apply::read_current`]), the [`plan::Plan`] printed as a
//! table, then (unless `--dry-run`) `CreateFunction` or `UpdateFunctionCode`, a wait for
//! `Active`, `UpdateFunctionConfiguration` with only the fields that differ, the timer triggers,
//! the async retry settings, reserved concurrency, and with `--publish` / `--alias`
//! `PublishVersion`, provisioned concurrency and `CreateAlias` / `UpdateAlias`.
//!
//! Credentials and region are resolved before anything is built ([`Cloud::resolve`]), so a
//! missing key is one error up front.

pub mod apply;
pub mod plan;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::ToolError;
use super::cargo::Metadata;
use super::cloud::{Cloud, CloudArgs, Environment, load_config};
use super::package::{PackageArgs, package_in};
use crate::config::{Code, Config, FunctionConfig};
use plan::{Desired, Plan, Release};

/// The largest zip deploy uploads (SCF's limit for a `ZipFile` sent through the API).
pub const MAX_ZIP_BYTES: u64 = 20 * 1024 * 1024;

/// Arguments of `cargo scf deploy`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_help = "\
Examples:
  cargo scf deploy -p orders                          build, package, create or update `orders` on SCF
  cargo scf deploy --all --dry-run                    the plan of every function in scf.toml, nothing changed
  cargo scf deploy -p orders --publish --alias live --weight 3=10
                                                      publish, point `live` at it (90%) and version 3 (10%)
  cargo scf deploy --endpoint http://127.0.0.1:9000   onto a local `cargo scf serve` (no credentials needed)

Credentials: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (+ TENCENTCLOUD_SESSION_TOKEN), or
--profile NAME for tccli's ~/.tccli/NAME.credential. Region: --region, TENCENTCLOUD_REGION,
[deploy] region in scf.toml, or the tccli profile. Requests to a loopback --endpoint go unsigned
when no credentials are set.")]
pub struct DeployArgs {
    /// The package to deploy: its functions in scf.toml, else one function named after it.
    #[arg(short, long, value_name = "SPEC", conflicts_with = "all")]
    pub package: Option<String>,
    /// Deploy every function of scf.toml.
    #[arg(long)]
    pub all: bool,
    /// The function to deploy (default: the scf.toml functions of the package).
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub function: Option<String>,
    /// Where to deploy.
    #[command(flatten)]
    pub cloud: CloudArgs,
    /// Publish a version of the deployed code and configuration (`PublishVersion`).
    #[arg(long)]
    pub publish: bool,
    /// Create or update this alias, pointing at the published version (or, without --publish,
    /// the newest published one).
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,
    /// Send PCT percent of the alias's traffic to VERSION (repeatable), e.g. --weight 2=10.
    #[arg(long = "weight", value_name = "VERSION=PCT", requires = "alias", value_parser = plan::parse_weight)]
    pub weights: Vec<(String, u32)>,
    /// Print the plan and change nothing (the code is still built, only read actions are sent).
    #[arg(long)]
    pub dry_run: bool,
    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// The cargo target directory (default: cargo's, which honours CARGO_TARGET_DIR).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
}

/// What one function's deploy did.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    /// The plan that was printed (and carried out unless `--dry-run`).
    pub plan: Plan,
    /// The version `--publish` made.
    pub version: Option<String>,
}

/// Runs `cargo scf deploy` in the current directory with this process's environment.
pub fn run_deploy(args: &DeployArgs) -> Result<Vec<Deployed>, ToolError> {
    let cwd = std::env::current_dir()
        .map_err(|e| ToolError::new(format!("cannot read the current directory: {e}")))?;
    deploy_in(
        args,
        &cwd,
        &Environment::from_process(),
        &mut std::io::stdout().lock(),
    )
}

/// Runs `cargo scf deploy` as if started in `cwd` with `env`, printing to `out`.
pub fn deploy_in(
    args: &DeployArgs,
    cwd: &Path,
    env: &Environment,
    out: &mut dyn Write,
) -> Result<Vec<Deployed>, ToolError> {
    let config = load_config(args.cloud.config.as_deref(), cwd)?;
    let deploy_config = config
        .as_ref()
        .map(|c| c.deploy.clone())
        .unwrap_or_default();
    // Before any build: a missing credential or region fails here.
    let cloud = Cloud::resolve(&args.cloud, &deploy_config, env)?;
    let server = match &config {
        Some(c) => c.server.clone(),
        None => synthesize("_", "_", cwd)?.server,
    };
    let functions = select(args, config.as_ref(), cwd)?;
    let release = Release {
        publish: args.publish,
        alias: args.alias.clone().map(|a| (a, args.weights.clone())),
    };
    let mut done = Vec::new();
    for function in &functions {
        let desired = Desired::new(function, &server)?;
        let code = package_function(args, function, cwd, out)?;
        let title = format!(
            "{} {} (namespace {}, region {}, {}):",
            if args.dry_run {
                "Plan (dry run) for"
            } else {
                "Plan for"
            },
            function.name,
            cloud.namespace,
            cloud.client.region(),
            cloud.client.endpoint()
        );
        let deployed = super::cloud::block_on(async {
            let current = apply::read_current(
                &cloud.client,
                &cloud.namespace,
                &function.name,
                &desired,
                args.alias.as_deref(),
            )
            .await?;
            let plan = Plan::new(&desired, &current, &release, code.len() as u64)?;
            let _ = write!(out, "{}", plan.render(&title));
            if args.dry_run {
                let _ = writeln!(out, "dry run: nothing changed");
                return Ok(Deployed {
                    plan,
                    version: None,
                });
            }
            let version =
                apply::apply(&cloud.client, &cloud.namespace, &desired, &plan, &code, out).await?;
            let _ = writeln!(
                out,
                "deployed {}{}",
                function.name,
                version
                    .as_ref()
                    .map(|v| format!(" (version {v})"))
                    .unwrap_or_default()
            );
            Ok::<_, ToolError>(Deployed { plan, version })
        })??;
        done.push(deployed);
    }
    Ok(done)
}

/// The functions to deploy: `--all`, `--function`, or those of the package (`-p`, else the
/// package in `cwd`), from scf.toml; a package with none there is one function named after it
/// with the default settings.
fn select(
    args: &DeployArgs,
    config: Option<&Config>,
    cwd: &Path,
) -> Result<Vec<FunctionConfig>, ToolError> {
    let names = |c: &Config| {
        c.functions
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if args.all {
        let Some(config) = config.filter(|c| !c.functions.is_empty()) else {
            return Err(ToolError::new(
                "--all deploys the functions of scf.toml, and there are none (no scf.toml here, or no [functions.<name>] in it; pass --config PATH)",
            ));
        };
        return Ok(config.functions.clone());
    }
    let package_of = |f: &FunctionConfig| match &f.code {
        Code::Package { name, .. } => Some(name.clone()),
        Code::Bootstrap(_) => None,
    };
    if let Some(name) = &args.function {
        if let Some(function) = config.and_then(|c| c.function(name)) {
            if let Some(p) = &args.package
                && package_of(function).as_ref() != Some(p)
            {
                return Err(ToolError::new(format!(
                    "--function {name} is not built from package `{p}` in scf.toml"
                )));
            }
            return Ok(vec![function.clone()]);
        }
        if let (Some(config), None) = (config, &args.package) {
            return Err(ToolError::new(format!(
                "no function `{name}` in scf.toml (its functions: {}); pass -p PACKAGE to deploy a package under that name",
                names(config)
            )));
        }
        let package = match &args.package {
            Some(p) => p.clone(),
            None => current_package(args, cwd)?,
        };
        return Ok(synthesize(name, &package, cwd)?.functions);
    }
    let package = match &args.package {
        Some(p) => p.clone(),
        None => current_package(args, cwd)?,
    };
    let from_config: Vec<FunctionConfig> = config
        .map(|c| {
            c.functions
                .iter()
                .filter(|f| package_of(f).as_ref() == Some(&package))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if !from_config.is_empty() {
        return Ok(from_config);
    }
    Ok(synthesize(&package, &package, cwd)?.functions)
}

fn current_package(args: &DeployArgs, cwd: &Path) -> Result<String, ToolError> {
    let metadata = Metadata::load(
        cwd,
        args.manifest_path.as_deref(),
        args.target_dir.as_deref(),
    )?;
    Ok(metadata.package(None, cwd)?.name.clone())
}

/// A config with one function `name` built from `package`, every other key at its default.
fn synthesize(name: &str, package: &str, cwd: &Path) -> Result<Config, ToolError> {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let text = format!(
        "[functions.{}]\npackage = {}\n",
        quote(name),
        quote(package)
    );
    Config::parse(&text, Path::new("<deploy>"), cwd).map_err(|e| {
        ToolError::new(format!(
            "cannot deploy `{name}` with the default settings: {}",
            e.message
        ))
    })
}

/// Builds and zips `function` through `cargo scf package`'s code path; gives the zip's bytes.
fn package_function(
    args: &DeployArgs,
    function: &FunctionConfig,
    cwd: &Path,
    out: &mut dyn Write,
) -> Result<Vec<u8>, ToolError> {
    let mut package = PackageArgs {
        web: function.is_web(),
        manifest_path: args.manifest_path.clone(),
        target_dir: args.target_dir.clone(),
        ..PackageArgs::default()
    };
    let scratch = std::env::temp_dir().join(format!(
        "scf-deploy-{}-{}",
        std::process::id(),
        function.name
    ));
    match &function.code {
        Code::Package { name, .. } => package.package = Some(name.clone()),
        Code::Bootstrap(path) => {
            package.bootstrap = Some(path.clone());
            package.output = Some(scratch.join("bootstrap.zip"));
        }
    }
    let outcome = package_in(&package, cwd, out);
    let bytes = outcome.and_then(|o| {
        std::fs::read(&o.zip)
            .map_err(|e| ToolError::new(format!("cannot read {}: {e}", o.zip.display())))
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let bytes = bytes?;
    check_zip_size(&function.name, bytes.len() as u64)?;
    Ok(bytes)
}

/// Refuses a zip over [`MAX_ZIP_BYTES`].
pub fn check_zip_size(function: &str, size: u64) -> Result<(), ToolError> {
    if size > MAX_ZIP_BYTES {
        return Err(ToolError::new(format!(
            "the zip of {function} is {} ({size} bytes): SCF takes at most 20 MB through the API. \
             Larger code goes through a COS bucket (CosBucketName/CosObjectName), which deploy does \
             not support yet: make the bootstrap smaller (strip, opt-level = \"z\", fewer --include files)",
            super::package::human_size(size)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_over_20_mb_are_refused_naming_cos() {
        assert!(check_zip_size("echo", MAX_ZIP_BYTES).is_ok());
        let err = check_zip_size("echo", MAX_ZIP_BYTES + 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 20 MB"), "{err}");
        assert!(err.contains("COS"), "{err}");
        assert!(err.contains("echo"), "{err}");
    }

    #[test]
    fn functions_are_selected_from_the_config() {
        let config = Config::parse(
            "[functions.a]\npackage = \"pa\"\n[functions.b]\npackage = \"pb\"\n[functions.c]\nbootstrap = \"x\"\n",
            Path::new("scf.toml"),
            Path::new("/srv"),
        )
        .unwrap();
        let cwd = Path::new("/srv");
        let names = |args: DeployArgs| -> Vec<String> {
            select(&args, Some(&config), cwd)
                .unwrap()
                .into_iter()
                .map(|f| f.name)
                .collect()
        };
        let all = DeployArgs {
            all: true,
            ..DeployArgs::default()
        };
        assert_eq!(names(all), ["a", "b", "c"]);
        let by_package = DeployArgs {
            package: Some("pb".into()),
            ..DeployArgs::default()
        };
        assert_eq!(names(by_package), ["b"]);
        let by_name = DeployArgs {
            function: Some("c".into()),
            ..DeployArgs::default()
        };
        assert_eq!(names(by_name), ["c"]);
        // A package without a function in scf.toml deploys under its own name.
        let other = DeployArgs {
            package: Some("orders".into()),
            ..DeployArgs::default()
        };
        let functions = select(&other, Some(&config), cwd).unwrap();
        assert_eq!(functions[0].name, "orders");
        assert_eq!(functions[0].memory_mb, 128);
        let unknown = DeployArgs {
            function: Some("zz".into()),
            ..DeployArgs::default()
        };
        let err = select(&unknown, Some(&config), cwd)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no function `zz`") && err.contains("a, b, c"),
            "{err}"
        );
    }
}
