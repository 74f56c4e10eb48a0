//! Talking to SCF for one function: reading what it has ([`read_current`], read actions only,
//! all `--dry-run` does) and carrying out a [`Plan`] ([`apply`]), waiting for `Status` `Active`
//! after every change that moves it (`CreateFunction`, `UpdateFunctionCode`,
//! `UpdateFunctionConfiguration`, `PublishVersion`), as SCF requires before the next one.

use std::io::Write;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::plan::{Current, Desired, Plan, TriggerSpec, TriggerStep, routing_config};
use crate::cli::ToolError;
use crate::cli::cloud::{CloudClient, CloudError, text};

/// How long a function may stay `Creating` / `Updating` / `Publishing` before deploy gives up.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Reads what SCF has for `desired.name` (for the alias, `alias`).
pub async fn read_current(
    client: &CloudClient,
    namespace: &str,
    name: &str,
    desired: &Desired,
    alias: Option<&str>,
) -> Result<Current, ToolError> {
    let function = json!({"FunctionName": name, "Namespace": namespace});
    let found = match client.call("GetFunction", &function).await {
        Ok(found) => found,
        Err(e) if e.is("ResourceNotFound.Function") || e.is("ResourceNotFound.FunctionName") => {
            return Ok(Current::default());
        }
        Err(e) => return Err(e.into()),
    };
    let mut current = Current {
        function: Some(found),
        ..Current::default()
    };
    let listed = client
        .call(
            "ListTriggers",
            &json!({"FunctionName": name, "Namespace": namespace, "Offset": 0, "Limit": 100}),
        )
        .await?;
    current.triggers = array(&listed, "Triggers");
    let invoke = client
        .call("GetFunctionEventInvokeConfig", &function)
        .await?;
    current.async_retry = invoke.get("AsyncTriggerConfig").map(|c| {
        let retry = c
            .pointer("/RetryConfig/0/RetryNum")
            .and_then(Value::as_u64)
            .unwrap_or(u64::from(super::plan::DEFAULT_ASYNC.0)) as u32;
        let ttl = c
            .get("MsgTTL")
            .and_then(Value::as_u64)
            .unwrap_or(u64::from(super::plan::DEFAULT_ASYNC.1)) as u32;
        (retry, ttl)
    });
    if desired.reserved_mb.is_some() {
        let reserved = client
            .call("GetReservedConcurrencyConfig", &function)
            .await?;
        current.reserved_mb = reserved.get("ReservedMem").and_then(Value::as_u64);
    }
    if let Some(alias) = alias {
        let asked = json!({"FunctionName": name, "Namespace": namespace, "Name": alias});
        current.alias = match client.call("GetAlias", &asked).await {
            Ok(found) => Some(found),
            Err(e) if e.is("ResourceNotFound") => None,
            Err(e) => return Err(e.into()),
        };
        let versions = client
            .call(
                "ListVersionByFunction",
                &json!({"FunctionName": name, "Namespace": namespace, "Offset": 0, "Limit": 100, "Order": "DESC", "OrderBy": "AddTime"}),
            )
            .await?;
        current.latest_version = newest_version(&versions);
    }
    Ok(current)
}

/// The highest numbered version of a `ListVersionByFunction` answer.
fn newest_version(answer: &Value) -> Option<String> {
    let mut numbers: Vec<u64> = array(answer, "Versions")
        .iter()
        .filter_map(|v| text(v, "Version").parse().ok())
        .collect();
    if numbers.is_empty() {
        numbers = array(answer, "FunctionVersion")
            .iter()
            .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
            .collect();
    }
    numbers.into_iter().max().map(|n| n.to_string())
}

fn array(answer: &Value, field: &str) -> Vec<Value> {
    answer
        .get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Carries out `plan` with the zip `code`; prints one line per action to `out`.
pub async fn apply(
    client: &CloudClient,
    namespace: &str,
    desired: &Desired,
    plan: &Plan,
    code: &[u8],
    out: &mut dyn Write,
) -> Result<Option<String>, ToolError> {
    let name = desired.name.as_str();
    let base = || json!({"FunctionName": name, "Namespace": namespace});
    let zip = base64::engine::general_purpose::STANDARD.encode(code);
    let mut say = |line: String| {
        let _ = writeln!(out, "{line}");
    };
    if plan.create {
        let mut params = base();
        params["Runtime"] = json!("CustomRuntime");
        params["Type"] = json!(desired.kind);
        params["Handler"] = json!(desired.handler);
        params["Code"] = json!({"ZipFile": zip});
        for change in &plan.config {
            params[change.field] = change.value.clone();
        }
        client.call("CreateFunction", &params).await?;
        say(format!("CreateFunction {name}: done"));
        wait_active(client, namespace, name, "CreateFunction", &mut say).await?;
    } else {
        let mut params = base();
        params["Handler"] = json!(desired.handler);
        params["ZipFile"] = json!(zip);
        client.call("UpdateFunctionCode", &params).await?;
        say(format!("UpdateFunctionCode {name}: done"));
        wait_active(client, namespace, name, "UpdateFunctionCode", &mut say).await?;
        if !plan.config.is_empty() {
            let mut params = base();
            for change in &plan.config {
                params[change.field] = change.value.clone();
            }
            client.call("UpdateFunctionConfiguration", &params).await?;
            let fields: Vec<&str> = plan.config.iter().map(|c| c.field).collect();
            say(format!(
                "UpdateFunctionConfiguration {name}: {}",
                fields.join(", ")
            ));
            wait_active(
                client,
                namespace,
                name,
                "UpdateFunctionConfiguration",
                &mut say,
            )
            .await?;
        }
    }
    for step in &plan.triggers {
        let (spec, replace) = match step {
            TriggerStep::Create(spec) => (spec, false),
            TriggerStep::Replace { spec, .. } => (spec, true),
            TriggerStep::Keep(_) | TriggerStep::Skip(_) => continue,
        };
        let TriggerSpec::Timer {
            name: trigger,
            cron,
            argument,
        } = spec
        else {
            continue;
        };
        if replace {
            let mut params = base();
            params["TriggerName"] = json!(trigger);
            params["Type"] = json!("timer");
            client.call("DeleteTrigger", &params).await?;
            say(format!("DeleteTrigger {name}/{trigger}: done"));
        }
        let mut params = base();
        params["TriggerName"] = json!(trigger);
        params["Type"] = json!("timer");
        params["TriggerDesc"] = json!(cron);
        params["CustomArgument"] = json!(argument);
        params["Enable"] = json!("OPEN");
        client.call("CreateTrigger", &params).await?;
        say(format!("CreateTrigger {name}/{trigger}: timer {cron}"));
    }
    if let Some((_, (retry, ttl))) = plan.async_retry {
        let mut params = base();
        params["AsyncTriggerConfig"] = json!({"RetryConfig": [{"RetryNum": retry}], "MsgTTL": ttl});
        client
            .call("UpdateFunctionEventInvokeConfig", &params)
            .await?;
        say(format!(
            "UpdateFunctionEventInvokeConfig {name}: RetryNum {retry}, MsgTTL {ttl}"
        ));
    }
    if let Some((_, mb)) = plan.reserved {
        let mut params = base();
        params["ReservedConcurrencyMem"] = json!(mb);
        client.call("PutReservedConcurrencyConfig", &params).await?;
        say(format!("PutReservedConcurrencyConfig {name}: {mb} MB"));
    }
    let mut published = None;
    if plan.publish {
        let answer = client.call("PublishVersion", &base()).await?;
        let version = match answer.get("FunctionVersion") {
            Some(Value::String(v)) => v.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ToolError::new(format!(
                    "PublishVersion {name}: the answer names no FunctionVersion"
                )));
            }
        };
        say(format!("PublishVersion {name}: version {version}"));
        wait_active(client, namespace, name, "PublishVersion", &mut say).await?;
        published = Some(version);
    }
    if let (Some(Ok(n)), Some(version)) = (&plan.provisioned, &published) {
        let mut params = base();
        params["Qualifier"] = json!(version);
        params["VersionProvisionedConcurrencyNum"] = json!(n);
        client
            .call("PutProvisionedConcurrencyConfig", &params)
            .await?;
        say(format!(
            "PutProvisionedConcurrencyConfig {name}: {n} on version {version}"
        ));
    }
    if let Some(alias) = &plan.alias {
        let Some(version) = alias.version.clone().or_else(|| published.clone()) else {
            return Err(ToolError::new(format!(
                "--alias {}: no version to point at",
                alias.name
            )));
        };
        let mut params = base();
        params["Name"] = json!(alias.name);
        params["FunctionVersion"] = json!(version);
        params["RoutingConfig"] = routing_config(&alias.weights);
        let action = if alias.exists {
            "UpdateAlias"
        } else {
            "CreateAlias"
        };
        client.call(action, &params).await?;
        say(format!("{action} {name}/{}: version {version}", alias.name));
    }
    Ok(published)
}

/// Polls `GetFunction` until `Status` is `Active`; a `…Failed` status is an error with its
/// `StatusReasons`; so is still not being `Active` after [`ACTIVE_TIMEOUT`].
async fn wait_active(
    client: &CloudClient,
    namespace: &str,
    name: &str,
    after: &str,
    say: &mut dyn FnMut(String),
) -> Result<(), ToolError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    let params = json!({"FunctionName": name, "Namespace": namespace});
    loop {
        let function = client
            .call("GetFunction", &params)
            .await
            .map_err(|e: CloudError| ToolError::new(format!("after {after}: {e}")))?;
        let status = text(&function, "Status");
        if status.is_empty() || status == "Active" {
            if started.elapsed() >= Duration::from_secs(1) {
                say(format!(
                    "{name} is Active ({:.1} s after {after})",
                    started.elapsed().as_secs_f64()
                ));
            }
            return Ok(());
        }
        if status.ends_with("Failed") {
            return Err(ToolError::new(format!(
                "{after} {name}: the function is {status}{}",
                reasons(&function)
            )));
        }
        if started.elapsed() >= ACTIVE_TIMEOUT {
            return Err(ToolError::new(format!(
                "{after} {name}: still {status} after {} s (SCF did not finish; see `cargo scf info {name}`)",
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// `: StatusDesc; ErrorCode: ErrorMessage; …` from a `GetFunction` answer.
fn reasons(function: &Value) -> String {
    let mut parts = Vec::new();
    let desc = text(function, "StatusDesc");
    if !desc.is_empty() {
        parts.push(desc.to_owned());
    }
    for reason in array(function, "StatusReasons") {
        parts.push(format!(
            "{}: {}",
            text(&reason, "ErrorCode"),
            text(&reason, "ErrorMessage")
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_reasons_read_well() {
        let answer =
            json!({"Versions": [{"Version": "$LATEST"}, {"Version": "2"}, {"Version": "10"}]});
        assert_eq!(newest_version(&answer).as_deref(), Some("10"));
        let old = json!({"FunctionVersion": ["$LATEST", "1"]});
        assert_eq!(newest_version(&old).as_deref(), Some("1"));
        assert_eq!(newest_version(&json!({})), None);
        let failed = json!({"Status": "UpdateFailed", "StatusDesc": "init failed",
            "StatusReasons": [{"ErrorCode": "InitTimeout", "ErrorMessage": "bootstrap did not start"}]});
        assert_eq!(
            reasons(&failed),
            ": init failed; InitTimeout: bootstrap did not start"
        );
    }
}
