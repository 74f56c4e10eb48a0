//! The plan of one function's deploy: what `scf.toml` wants ([`Desired`]), what SCF has
//! ([`Current`], from read actions only), and the difference ([`Plan`]), printed as an aligned
//! table before anything changes (`--dry-run` stops there).
//!
//! Only what differs is sent: `UpdateFunctionConfiguration` carries the changed fields alone, a
//! timer trigger that exists with the same cron and argument is kept, one whose cron or argument
//! changed is replaced (`DeleteTrigger` then `CreateTrigger`: SCF has no action that updates a
//! trigger's schedule), and triggers on SCF that `scf.toml` does not list are left alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::cli::ToolError;
use crate::cli::cloud::text;
use crate::config::{FunctionConfig, FunctionTrigger, ServerConfig};

/// SCF's default async retry settings (`RetryNum`, `MsgTTL` seconds), what a new function has.
pub const DEFAULT_ASYNC: (u32, u32) = (2, 21_600);
/// SCF's longest `Timeout`, seconds.
pub const MAX_TIMEOUT_S: u32 = 900;

/// The `Handler` sent with the code: the function's `handler` key (default
/// `index.main_handler`), which a custom runtime receives as `_HANDLER`.
pub fn handler(function: &FunctionConfig) -> &str {
    &function.handler
}

/// What `scf.toml` (and the command line) want one function to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// `FunctionName`.
    pub name: String,
    /// `Type`: `Event` or `HTTP`.
    pub kind: &'static str,
    /// `Handler`.
    pub handler: String,
    /// `MemorySize`, MB.
    pub memory_mb: u32,
    /// `Timeout`, whole seconds (rounded up).
    pub timeout_s: u32,
    /// `InitTimeout`, whole seconds (rounded up).
    pub init_timeout_s: u32,
    /// `Environment.Variables`.
    pub env: BTreeMap<String, String>,
    /// `Description`, when `scf.toml` sets one.
    pub description: Option<String>,
    /// `InstanceConcurrencyConfig.MaxConcurrency` of a web function taking more than one request
    /// per instance.
    pub max_concurrency: Option<u32>,
    /// The triggers: those SCF gets, and those it does not with the reason.
    pub triggers: Vec<TriggerSpec>,
    /// `RetryNum` and `MsgTTL` of async invocations.
    pub async_retry: (u32, u32),
    /// `ReservedConcurrencyMem`, when set.
    pub reserved_mb: Option<u64>,
    /// `VersionProvisionedConcurrencyNum` for the published version, when set.
    pub provisioned: Option<u32>,
}

/// One trigger of `scf.toml`, as deploy treats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerSpec {
    /// A timer: `CreateTrigger` with `Type` `timer`, `TriggerDesc` the cron, `CustomArgument`
    /// the message.
    Timer {
        /// `TriggerName`.
        name: String,
        /// The 7-field cron.
        cron: String,
        /// The message.
        argument: String,
    },
    /// Not created, for `reason`.
    Skipped {
        /// What it is (`apigw /path`).
        what: String,
        /// Why it is not deployed.
        reason: String,
    },
}

impl Desired {
    /// Reads a function's keys (and the server's async retry settings).
    pub fn new(function: &FunctionConfig, server: &ServerConfig) -> Result<Desired, ToolError> {
        let whole_seconds = |d: std::time::Duration| d.as_secs_f64().ceil() as u32;
        let timeout_s = whole_seconds(function.timeout).max(1);
        if timeout_s > MAX_TIMEOUT_S {
            return Err(ToolError::new(format!(
                "functions.{}.timeout_s: {timeout_s} s is more than SCF's {MAX_TIMEOUT_S} s",
                function.name
            )));
        }
        let triggers = function.triggers.iter().map(trigger_spec).collect();
        Ok(Desired {
            name: function.name.clone(),
            kind: if function.is_web() { "HTTP" } else { "Event" },
            handler: handler(function).to_owned(),
            memory_mb: function.memory_mb,
            timeout_s,
            init_timeout_s: whole_seconds(function.init_timeout).max(1),
            env: function.env.iter().cloned().collect(),
            description: function.deploy.description.clone(),
            max_concurrency: (function.is_web() && function.max_concurrency > 1)
                .then_some(function.max_concurrency as u32),
            triggers,
            async_retry: (
                server.async_retry_num,
                server.async_max_age.as_secs_f64().ceil() as u32,
            ),
            reserved_mb: function.deploy.reserved_concurrency_mb,
            provisioned: function.deploy.provisioned_concurrency,
        })
    }

    /// The configuration fields as `CreateFunction` / `UpdateFunctionConfiguration` take them,
    /// each with how it reads in a plan.
    fn fields(&self) -> Vec<(&'static str, Value)> {
        let mut fields = vec![
            ("MemorySize", json!(self.memory_mb)),
            ("Timeout", json!(self.timeout_s)),
            ("InitTimeout", json!(self.init_timeout_s)),
            ("Environment", environment(&self.env)),
        ];
        if let Some(d) = &self.description {
            fields.push(("Description", json!(d)));
        }
        if let Some(n) = self.max_concurrency {
            fields.push((
                "InstanceConcurrencyConfig",
                json!({"DynamicEnabled": "FALSE", "MaxConcurrency": n}),
            ));
        }
        fields
    }
}

fn environment(env: &BTreeMap<String, String>) -> Value {
    let variables: Vec<Value> = env
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    json!({ "Variables": variables })
}

fn trigger_spec(trigger: &FunctionTrigger) -> TriggerSpec {
    match trigger {
        FunctionTrigger::Timer(timer) => TriggerSpec::Timer {
            name: timer.name.clone(),
            cron: timer.cron.as_str().to_owned(),
            argument: timer.message.clone(),
        },
        FunctionTrigger::Apigw(route) => TriggerSpec::Skipped {
            what: format!("apigw {}", route.template.as_str()),
            reason: "an API gateway trigger is an API in API Gateway, whose path SCF's CreateTrigger cannot set: create it there".to_owned(),
        },
        FunctionTrigger::FunctionUrl { .. } => TriggerSpec::Skipped {
            what: "function_url".to_owned(),
            reason: "function URLs are not created by deploy yet".to_owned(),
        },
        FunctionTrigger::Ckafka(settings) => TriggerSpec::Skipped {
            what: format!("ckafka {}", settings.name),
            reason: "SCF's CKafka trigger names a CKafka instance (TriggerName <instanceId>-<topic>), scf.toml names brokers".to_owned(),
        },
    }
}

/// What SCF has, read with `GetFunction`, `ListTriggers`, `GetFunctionEventInvokeConfig`,
/// `GetReservedConcurrencyConfig`, `GetAlias` and `ListVersionByFunction`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    /// `GetFunction`'s answer; `None` when the function does not exist.
    pub function: Option<Value>,
    /// `ListTriggers`' `Triggers`.
    pub triggers: Vec<Value>,
    /// `RetryNum` and `MsgTTL` now.
    pub async_retry: Option<(u32, u32)>,
    /// `ReservedMem` now.
    pub reserved_mb: Option<u64>,
    /// `GetAlias`'s answer, when the alias exists.
    pub alias: Option<Value>,
    /// The newest published version.
    pub latest_version: Option<String>,
}

/// `--publish`, `--alias` and `--weight`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    /// `--publish`.
    pub publish: bool,
    /// `--alias` and its `--weight VERSION=PCT` list.
    pub alias: Option<(String, Vec<(String, u32)>)>,
}

/// One configuration field that changes.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The API parameter, e.g. `MemorySize`.
    pub field: &'static str,
    /// Its value now, as shown.
    pub old: String,
    /// Its new value, as shown.
    pub new: String,
    /// Its new value, as sent.
    pub value: Value,
}

/// What happens to one trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerStep {
    /// `CreateTrigger`.
    Create(TriggerSpec),
    /// `DeleteTrigger` then `CreateTrigger` (the cron or argument changed).
    Replace {
        /// The new trigger.
        spec: TriggerSpec,
        /// Its cron and argument now.
        old: (String, String),
    },
    /// Already there as wanted.
    Keep(TriggerSpec),
    /// Not deployed.
    Skip(TriggerSpec),
}

/// Where the alias points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasStep {
    /// `Name`.
    pub name: String,
    /// `UpdateAlias` (it exists) or `CreateAlias`.
    pub exists: bool,
    /// The main version: `None` for the one `--publish` makes.
    pub version: Option<String>,
    /// `AdditionalVersionWeights`, as percentages.
    pub weights: Vec<(String, u32)>,
}

/// Everything one deploy of one function does, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The function.
    pub name: String,
    /// `CreateFunction` (else `UpdateFunctionCode`).
    pub create: bool,
    /// The zip's size, bytes.
    pub zip_size: u64,
    /// `CreateFunction`'s configuration, or the fields `UpdateFunctionConfiguration` sends.
    pub config: Vec<FieldChange>,
    /// The fields that stay as they are.
    pub unchanged: Vec<&'static str>,
    /// The triggers.
    pub triggers: Vec<TriggerStep>,
    /// `UpdateFunctionEventInvokeConfig`: (now, wanted).
    pub async_retry: Option<((u32, u32), (u32, u32))>,
    /// `PutReservedConcurrencyConfig`: (now, wanted).
    pub reserved: Option<(Option<u64>, u64)>,
    /// `PublishVersion`.
    pub publish: bool,
    /// `PutProvisionedConcurrencyConfig` on the published version; `Err(reason)` when it cannot.
    pub provisioned: Option<Result<u32, String>>,
    /// `CreateAlias` / `UpdateAlias`.
    pub alias: Option<AliasStep>,
}

impl Plan {
    /// Compares `desired` with `current`; refuses what SCF cannot do (changing `Type`, an alias
    /// with no version to point at, bad weights).
    pub fn new(
        desired: &Desired,
        current: &Current,
        release: &Release,
        zip_size: u64,
    ) -> Result<Plan, ToolError> {
        let mut config = Vec::new();
        let mut unchanged = Vec::new();
        let create = current.function.is_none();
        if let Some(function) = &current.function {
            let kind = text(function, "Type");
            if !kind.is_empty() && !kind.eq_ignore_ascii_case(desired.kind) {
                return Err(ToolError::new(format!(
                    "function {} is of Type {kind} on SCF and {} in scf.toml: SCF cannot change a function's type (remove it with `cargo scf remove {}` and deploy again, or change `type`)",
                    desired.name, desired.kind, desired.name
                )));
            }
        }
        for (field, value) in desired.fields() {
            let old = current.function.as_ref().and_then(|f| f.get(field));
            let same = old.is_some_and(|old| same_field(field, old, &value));
            if same {
                unchanged.push(field);
            } else {
                config.push(FieldChange {
                    field,
                    old: old.map(|o| show_field(field, o, None)).unwrap_or_else(|| {
                        if create {
                            String::new()
                        } else {
                            "?".to_owned()
                        }
                    }),
                    new: show_field(field, &value, old),
                    value,
                });
            }
        }

        let triggers = desired
            .triggers
            .iter()
            .map(|spec| trigger_step(spec, &current.triggers))
            .collect();
        let now_async = current.async_retry.unwrap_or(DEFAULT_ASYNC);
        let async_retry =
            (now_async != desired.async_retry).then_some((now_async, desired.async_retry));
        let reserved = desired
            .reserved_mb
            .filter(|mb| current.reserved_mb != Some(*mb))
            .map(|mb| (current.reserved_mb, mb));
        let provisioned = desired.provisioned.map(|n| {
            if release.publish {
                Ok(n)
            } else {
                Err("it applies to a published version: deploy with --publish".to_owned())
            }
        });
        let alias = match &release.alias {
            None => None,
            Some((name, weights)) => {
                let version = if release.publish {
                    None
                } else {
                    Some(current.latest_version.clone().ok_or_else(|| {
                        ToolError::new(format!(
                            "--alias {name}: function {} has no published version to point at: add --publish",
                            desired.name
                        ))
                    })?)
                };
                check_weights(weights, version.as_deref())?;
                Some(AliasStep {
                    name: name.clone(),
                    exists: current.alias.is_some(),
                    version,
                    weights: weights.clone(),
                })
            }
        };
        Ok(Plan {
            name: desired.name.clone(),
            create,
            zip_size,
            config,
            unchanged,
            triggers,
            async_retry,
            reserved,
            publish: release.publish,
            provisioned,
            alias,
        })
    }

    /// The plan as rows of (action, what, detail).
    pub fn rows(&self) -> Vec<(String, String, String)> {
        let mut rows = Vec::new();
        let mut row = |a: &str, w: &str, d: String| rows.push((a.to_owned(), w.to_owned(), d));
        let size = crate::cli::package::human_size(self.zip_size);
        if self.create {
            row(
                "create function",
                &self.name,
                format!("CustomRuntime, zip {size}"),
            );
            for c in &self.config {
                row("  with", c.field, c.new.clone());
            }
        } else {
            row("update code", &self.name, format!("zip {size}"));
            for c in &self.config {
                row("update config", c.field, format!("{} -> {}", c.old, c.new));
            }
            if !self.unchanged.is_empty() {
                row("keep config", "unchanged", self.unchanged.join(", "));
            }
        }
        for t in &self.triggers {
            match t {
                TriggerStep::Create(spec) => {
                    row("create trigger", &trigger_what(spec), trigger_detail(spec))
                }
                TriggerStep::Replace { spec, old } => row(
                    "replace trigger",
                    &trigger_what(spec),
                    format!(
                        "{} (was cron {}, argument {:?}; DeleteTrigger + CreateTrigger)",
                        trigger_detail(spec),
                        old.0,
                        old.1
                    ),
                ),
                TriggerStep::Keep(spec) => {
                    row("keep trigger", &trigger_what(spec), "unchanged".to_owned())
                }
                TriggerStep::Skip(spec) => {
                    let reason = match spec {
                        TriggerSpec::Skipped { reason, .. } => reason.clone(),
                        TriggerSpec::Timer { .. } => String::new(),
                    };
                    row("skip trigger", &trigger_what(spec), reason)
                }
            }
        }
        if let Some((old, new)) = self.async_retry {
            row(
                "update async",
                "RetryNum, MsgTTL",
                format!("{}, {} s -> {}, {} s", old.0, old.1, new.0, new.1),
            );
        }
        if let Some((old, new)) = self.reserved {
            let old = old
                .map(|o| format!("{o} MB"))
                .unwrap_or_else(|| "none".to_owned());
            row(
                "set reserved",
                "ReservedConcurrencyMem",
                format!("{old} -> {new} MB"),
            );
        }
        if self.publish {
            row(
                "publish version",
                &self.name,
                "a new version of $LATEST".to_owned(),
            );
        }
        match &self.provisioned {
            Some(Ok(n)) => row(
                "set provisioned",
                "the published version",
                format!("{n} warm instance{}", if *n == 1 { "" } else { "s" }),
            ),
            Some(Err(reason)) => row(
                "skip provisioned",
                "provisioned_concurrency",
                reason.clone(),
            ),
            None => {}
        }
        if let Some(alias) = &self.alias {
            let main = alias
                .version
                .as_ref()
                .map(|v| format!("version {v}"))
                .unwrap_or_else(|| "the published version".to_owned());
            let detail = if alias.weights.is_empty() {
                format!("-> {main}")
            } else {
                let rest: u32 = alias.weights.iter().map(|(_, p)| p).sum();
                let mut d = format!("-> {main} {}%", 100 - rest);
                for (v, p) in &alias.weights {
                    let _ = write!(d, ", version {v} {p}%");
                }
                d
            };
            row(
                if alias.exists {
                    "update alias"
                } else {
                    "create alias"
                },
                &alias.name,
                detail,
            );
        }
        rows
    }

    /// The plan as an aligned table under a title line.
    pub fn render(&self, title: &str) -> String {
        let rows = self.rows();
        let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        let mut out = format!("{title}\n");
        for (a, w, d) in rows {
            let line = format!("  {a:<w0$}  {w:<w1$}  {d}");
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Whether the plan changes nothing besides the code.
    pub fn only_code(&self) -> bool {
        !self.create
            && self.config.is_empty()
            && self
                .triggers
                .iter()
                .all(|t| matches!(t, TriggerStep::Keep(_) | TriggerStep::Skip(_)))
            && self.async_retry.is_none()
            && self.reserved.is_none()
            && !self.publish
            && self.alias.is_none()
    }
}

fn trigger_step(spec: &TriggerSpec, existing: &[Value]) -> TriggerStep {
    let TriggerSpec::Timer {
        name,
        cron,
        argument,
    } = spec
    else {
        return TriggerStep::Skip(spec.clone());
    };
    let found = existing
        .iter()
        .find(|t| text(t, "Type") == "timer" && text(t, "TriggerName") == name);
    match found {
        None => TriggerStep::Create(spec.clone()),
        Some(t) => {
            let old_cron = timer_cron(text(t, "TriggerDesc"));
            let old_argument = text(t, "CustomArgument").to_owned();
            if old_cron == *cron && old_argument == *argument {
                TriggerStep::Keep(spec.clone())
            } else {
                TriggerStep::Replace {
                    spec: spec.clone(),
                    old: (old_cron, old_argument),
                }
            }
        }
    }
}

/// A timer's cron from `TriggerDesc`: the cron itself, or `{"cron": "…"}` as `ListTriggers`
/// gives it back.
pub fn timer_cron(desc: &str) -> String {
    serde_json::from_str::<Value>(desc)
        .ok()
        .and_then(|v| v.get("cron").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| desc.trim().to_owned())
}

fn trigger_what(spec: &TriggerSpec) -> String {
    match spec {
        TriggerSpec::Timer { name, .. } => format!("timer {name}"),
        TriggerSpec::Skipped { what, .. } => what.clone(),
    }
}

fn trigger_detail(spec: &TriggerSpec) -> String {
    match spec {
        TriggerSpec::Timer { cron, argument, .. } => format!("cron {cron}, argument {argument:?}"),
        TriggerSpec::Skipped { reason, .. } => reason.clone(),
    }
}

/// Whether a field SCF has equals the wanted one (numbers as numbers, variables as a map).
fn same_field(field: &str, old: &Value, new: &Value) -> bool {
    match field {
        "Environment" => variables(old) == variables(new),
        "InstanceConcurrencyConfig" => {
            old.get("MaxConcurrency").and_then(Value::as_u64)
                == new.get("MaxConcurrency").and_then(Value::as_u64)
        }
        _ => match (old.as_f64(), new.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => old == new,
        },
    }
}

fn variables(env: &Value) -> BTreeMap<String, String> {
    env.get("Variables")
        .and_then(Value::as_array)
        .map(|vars| {
            vars.iter()
                .map(|v| (text(v, "Key").to_owned(), text(v, "Value").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// How a field reads in a plan. Variables show by name only (values may be secrets); with
/// `before`, the changed and added names are listed.
fn show_field(field: &str, value: &Value, before: Option<&Value>) -> String {
    match field {
        "Environment" => {
            let now = variables(value);
            let count = format!(
                "{} variable{}",
                now.len(),
                if now.len() == 1 { "" } else { "s" }
            );
            let Some(before) = before.map(variables) else {
                let names: Vec<&str> = now.keys().map(String::as_str).collect();
                return if names.is_empty() {
                    count
                } else {
                    format!("{count} ({})", names.join(", "))
                };
            };
            let mut notes = Vec::new();
            let added: Vec<&str> = now
                .keys()
                .filter(|k| !before.contains_key(*k))
                .map(String::as_str)
                .collect();
            let changed: Vec<&str> = now
                .iter()
                .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
                .map(|(k, _)| k.as_str())
                .collect();
            let removed: Vec<&str> = before
                .keys()
                .filter(|k| !now.contains_key(*k))
                .map(String::as_str)
                .collect();
            for (label, names) in [("added", added), ("changed", changed), ("removed", removed)] {
                if !names.is_empty() {
                    notes.push(format!("{label} {}", names.join(", ")));
                }
            }
            if notes.is_empty() {
                count
            } else {
                format!("{count} ({})", notes.join("; "))
            }
        }
        "InstanceConcurrencyConfig" => value
            .get("MaxConcurrency")
            .map(|n| format!("MaxConcurrency {n}"))
            .unwrap_or_else(|| value.to_string()),
        "MemorySize" => format!("{} MB", value_text(value)),
        "Timeout" | "InitTimeout" => format!("{} s", value_text(value)),
        _ => value_text(value),
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `--weight` values: each version published and not the main one, each percentage from 1 to
/// 99, all together under 100.
fn check_weights(weights: &[(String, u32)], main: Option<&str>) -> Result<(), ToolError> {
    let mut total = 0;
    for (version, pct) in weights {
        if main == Some(version.as_str()) {
            return Err(ToolError::new(format!(
                "--weight {version}={pct}: version {version} is the alias's main version already"
            )));
        }
        total += pct;
    }
    if total >= 100 {
        return Err(ToolError::new(format!(
            "--weight: the additional versions take {total}% together; they must leave the main version some traffic (less than 100%)"
        )));
    }
    Ok(())
}

/// Parses `--weight VERSION=PCT` (a published version number and a percentage from 1 to 99).
pub fn parse_weight(text: &str) -> Result<(String, u32), String> {
    let (version, pct) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected VERSION=PERCENT, e.g. 2=10"))?;
    let version = version.trim();
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{text:?}: the version must be a published version number (not $LATEST or an alias)"
        ));
    }
    let pct: u32 = pct
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{text:?}: the percentage must be a whole number"))?;
    if !(1..=99).contains(&pct) {
        return Err(format!("{text:?}: the percentage must be from 1 to 99"));
    }
    Ok((version.to_owned(), pct))
}

/// `RoutingConfig` for the weights: `Weight` is a fraction (10 % is 0.1).
pub fn routing_config(weights: &[(String, u32)]) -> Value {
    let weights: Vec<Value> = weights
        .iter()
        .map(|(v, p)| json!({"Version": v, "Weight": f64::from(*p) / 100.0}))
        .collect();
    json!({ "AdditionalVersionWeights": weights })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn desired(toml: &str) -> Desired {
        let config = Config::parse(toml, Path::new("scf.toml"), Path::new("/srv")).unwrap();
        Desired::new(&config.functions[0], &config.server).unwrap()
    }

    const ECHO: &str = r#"
[functions.echo]
bootstrap = "b"
memory_mb = 256
timeout_s = 2.5
env = { GREETING = "hi", TOKEN = "s3cret" }
description = "says hi"
[[functions.echo.triggers]]
type = "timer"
name = "tick"
cron = "0 */1 * * * * *"
message = "tick"
[[functions.echo.triggers]]
type = "timer"
name = "nightly"
cron = "0 0 2 * * * *"
[[functions.echo.triggers]]
type = "apigw"
path = "/echo"
"#;

    fn existing() -> Current {
        Current {
            function: Some(json!({
                "FunctionName": "echo", "Type": "Event", "Status": "Active",
                "MemorySize": 128, "Timeout": 3, "InitTimeout": 60,
                "Environment": {"Variables": [{"Key": "GREETING", "Value": "hello"}, {"Key": "TOKEN", "Value": "s3cret"}]},
                "Description": "says hi",
            })),
            triggers: vec![
                json!({"Type": "timer", "TriggerName": "tick", "TriggerDesc": "{\"cron\":\"0 */1 * * * * *\"}", "CustomArgument": "tick"}),
                json!({"Type": "timer", "TriggerName": "nightly", "TriggerDesc": "0 0 1 * * * *", "CustomArgument": ""}),
            ],
            async_retry: Some(DEFAULT_ASYNC),
            ..Current::default()
        }
    }

    #[test]
    fn only_differing_fields_are_sent_and_shown() {
        let d = desired(ECHO);
        assert_eq!(
            (d.timeout_s, d.kind, d.handler.as_str()),
            (3, "Event", "index.main_handler")
        );
        let plan = Plan::new(&d, &existing(), &Release::default(), 2048).unwrap();
        assert!(!plan.create);
        let fields: Vec<&str> = plan.config.iter().map(|c| c.field).collect();
        assert_eq!(fields, ["MemorySize", "Environment"]);
        assert_eq!(plan.unchanged, ["Timeout", "InitTimeout", "Description"]);
        assert_eq!(plan.config[0].old, "128 MB");
        assert_eq!(plan.config[0].new, "256 MB");
        assert_eq!(plan.config[1].new, "2 variables (changed GREETING)");
        assert!(matches!(plan.triggers[0], TriggerStep::Keep(_)));
        assert!(
            matches!(&plan.triggers[1], TriggerStep::Replace { old, .. } if old.0 == "0 0 1 * * * *")
        );
        assert!(matches!(plan.triggers[2], TriggerStep::Skip(_)));
        assert_eq!(plan.async_retry, None);
        let table = plan.render("Plan for echo");
        assert!(!table.contains("s3cret"), "{table}");
        assert!(table.contains("update config    MemorySize"), "{table}");
        assert!(table.contains("128 MB -> 256 MB"), "{table}");
        assert!(table.contains("skip trigger     apigw /echo"), "{table}");
    }

    #[test]
    fn a_new_function_sends_everything_and_creates_its_timers() {
        let d = desired(ECHO);
        let plan = Plan::new(&d, &Current::default(), &Release::default(), 10).unwrap();
        assert!(plan.create);
        assert_eq!(plan.config.len(), 5);
        assert!(plan.unchanged.is_empty());
        assert!(matches!(plan.triggers[0], TriggerStep::Create(_)));
        assert!(matches!(plan.triggers[1], TriggerStep::Create(_)));
    }

    #[test]
    fn async_reserved_provisioned_and_alias() {
        let d = desired(
            "[server]\nasync_retry_num = 1\nasync_max_age_s = 3600\n[functions.f]\nbootstrap = \"b\"\nreserved_concurrency_mb = 512\nprovisioned_concurrency = 2\n",
        );
        let current = Current {
            function: Some(json!({"Type": "Event"})),
            latest_version: Some("2".into()),
            ..Current::default()
        };
        let plan = Plan::new(&d, &current, &Release::default(), 1).unwrap();
        assert_eq!(plan.async_retry, Some((DEFAULT_ASYNC, (1, 3600))));
        assert_eq!(plan.reserved, Some((None, 512)));
        assert!(matches!(plan.provisioned, Some(Err(_))));
        let release = Release {
            publish: true,
            alias: Some(("live".into(), vec![("2".into(), 10)])),
        };
        let plan = Plan::new(&d, &current, &release, 1).unwrap();
        assert_eq!(plan.provisioned, Some(Ok(2)));
        let alias = plan.alias.clone().unwrap();
        assert_eq!((alias.exists, alias.version), (false, None));
        let table = plan.render("t");
        assert!(
            table.contains("-> the published version 90%, version 2 10%"),
            "{table}"
        );
        // Without --publish the alias takes the newest version, which cannot also be weighted.
        let release = Release {
            publish: false,
            ..release
        };
        let err = Plan::new(&d, &current, &release, 1).unwrap_err();
        assert!(err.to_string().contains("main version already"), "{err}");
        let none = Current {
            latest_version: None,
            ..current
        };
        let err = Plan::new(&d, &none, &release, 1).unwrap_err();
        assert!(err.to_string().contains("add --publish"), "{err}");
    }

    #[test]
    fn a_type_change_is_refused() {
        let d = desired("[functions.f]\nbootstrap = \"b\"\ntype = \"web\"\n");
        let current = Current {
            function: Some(json!({"Type": "Event"})),
            ..Current::default()
        };
        let err = Plan::new(&d, &current, &Release::default(), 1).unwrap_err();
        assert!(
            err.to_string().contains("cannot change a function's type"),
            "{err}"
        );
    }

    #[test]
    fn weights_parse_and_route_as_fractions() {
        assert_eq!(parse_weight("2=10"), Ok(("2".to_owned(), 10)));
        assert_eq!(parse_weight("3=5%"), Ok(("3".to_owned(), 5)));
        for bad in ["2", "$LATEST=10", "2=0", "2=100", "2=x", "=5"] {
            assert!(parse_weight(bad).is_err(), "{bad}");
        }
        assert_eq!(
            routing_config(&[("2".into(), 10)]),
            json!({"AdditionalVersionWeights": [{"Version": "2", "Weight": 0.1}]})
        );
        assert!(check_weights(&[("1".into(), 60), ("2".into(), 40)], None).is_err());
        assert_eq!(timer_cron("{\"cron\":\"0 * * * * * *\"}"), "0 * * * * * *");
        assert_eq!(timer_cron("0 * * * * * *"), "0 * * * * * *");
    }
}
