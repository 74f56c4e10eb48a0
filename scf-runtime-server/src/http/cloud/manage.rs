//! The management actions: functions, versions, aliases, triggers, logs, concurrency and async
//! settings, read from the request's parameters and answered in the Cloud API's shapes (field
//! names as in the API reference, <https://www.tencentcloud.com/document/api/583/17235>). The
//! work is the [`ControlPlane`]'s.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ApiError;
use super::params::Params;
use crate::control::record::{
    AliasRecord, AsyncConfig, FunctionKind, FunctionRecord, Settings, Status, TriggerRecord,
};
use crate::control::{ConfigChange, ControlError, ControlPlane, NewFunction, now_text};
use crate::host::LATEST;

type Answer = Result<Map<String, Value>, ApiError>;

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        ApiError::new(e.code, e.message)
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The page `Offset` / `Limit` (at most 1000, `default_limit` when absent) pick of `items`.
fn page<T>(params: Params<'_>, items: Vec<T>, default_limit: u64) -> Result<Vec<T>, ApiError> {
    let offset = params.usize("Offset")?.unwrap_or(0);
    let limit = params.int_in("Limit", 0..=1000)?.unwrap_or(default_limit) as usize;
    Ok(items.into_iter().skip(offset).take(limit).collect())
}

/// The `FunctionName` and checked `Namespace` every action takes.
fn function_name<'a>(control: &ControlPlane, params: Params<'a>) -> Result<&'a str, ApiError> {
    control.check_namespace(params.str("Namespace")?)?;
    params.required("FunctionName")
}

/// `MemorySize`: 64, or 128 to 3072 in steps of 128 (SCF's choices).
fn memory_size(params: Params<'_>) -> Result<Option<u32>, ApiError> {
    let m = params.int_in("MemorySize", 64..=3072)?;
    if let Some(m) = m
        && m != 64
        && m % 128 != 0
    {
        return Err(ApiError::new(
            "InvalidParameterValue.MemorySize",
            format!("MemorySize must be 64 or a multiple of 128 up to 3072, got {m}"),
        ));
    }
    Ok(m.map(|m| m as u32))
}

/// `Environment.Variables` as a map, checked like `env` in `scf.toml`.
fn environment(params: Params<'_>) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let Some(env) = params.object("Environment")? else {
        return Ok(None);
    };
    let mut vars = BTreeMap::new();
    for v in env.objects("Variables")? {
        let key = v.required("Key")?;
        let value = v.str("Value")?.unwrap_or("");
        vars.insert(key.to_owned(), value.to_owned());
    }
    crate::config::check_env(&vars)
        .map_err(|m| ApiError::new("InvalidParameterValue.Environment", m))?;
    Ok(Some(vars))
}

fn max_concurrency(params: Params<'_>) -> Result<Option<usize>, ApiError> {
    match params.object("InstanceConcurrencyConfig")? {
        Some(c) => Ok(c.int_in("MaxConcurrency", 1..=100)?.map(|n| n as usize)),
        None => Ok(None),
    }
}

/// The base64 zip of `Code.ZipFile` (or a top-level `ZipFile`); COS and image code is refused.
fn zip_file<'a>(params: Params<'a>) -> Result<&'a str, ApiError> {
    let code = params.object("Code")?;
    for p in std::iter::once(params).chain(code) {
        if p.str("CosBucketName")?.is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::new(
                "InvalidParameterValue.Code",
                "code from COS (CosBucketName) is not supported by this server: send the zip inline as ZipFile (up to 20 MB)",
            ));
        }
        if p.object("ImageConfig")?.is_some() {
            return Err(ApiError::new(
                "InvalidParameterValue.Code",
                "image functions (ImageConfig) are not supported by this server: send a zip as ZipFile",
            ));
        }
        if let Some(zip) = p.str("ZipFile")?.filter(|z| !z.is_empty()) {
            return Ok(zip);
        }
    }
    Err(ApiError::missing("Code.ZipFile"))
}

/// `CreateFunction`.
pub(super) async fn create_function(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    match params.str("Runtime")? {
        None | Some("") => {}
        Some(r) if r.eq_ignore_ascii_case("CustomRuntime") => {}
        Some(r) => {
            return Err(ApiError::new(
                "InvalidParameterValue.Runtime",
                format!("Runtime {r} is not run by this server: it hosts CustomRuntime functions"),
            ));
        }
    }
    let kind = match params.str("Type")? {
        None | Some("") | Some("Event") => FunctionKind::Event,
        Some("HTTP") => FunctionKind::Http,
        Some(other) => {
            return Err(ApiError::new(
                "InvalidParameterValue.Type",
                format!("Type must be Event or HTTP, not {other:?}"),
            ));
        }
    };
    let zip = zip_file(params)?;
    let settings = Settings {
        description: params.str("Description")?.unwrap_or("").to_owned(),
        handler: params
            .str("Handler")?
            .filter(|h| !h.is_empty())
            .unwrap_or("index.main_handler")
            .to_owned(),
        memory_mb: memory_size(params)?.unwrap_or(128),
        timeout_s: params.int_in("Timeout", 1..=900)?.unwrap_or(3) as u32,
        init_timeout_s: params.int_in("InitTimeout", 1..=300)?.unwrap_or(65) as u32,
        env: environment(params)?.unwrap_or_default(),
        kind,
        max_concurrency: max_concurrency(params)?.unwrap_or(1),
        code_sha256: String::new(),
        code_size: 0,
    };
    control
        .create(NewFunction {
            name: name.to_owned(),
            zip_base64: zip.to_owned(),
            settings,
        })
        .await?;
    Ok(Map::new())
}

/// `UpdateFunctionCode`.
pub(super) async fn update_function_code(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    if params
        .str("Publish")?
        .is_some_and(|p| p.eq_ignore_ascii_case("TRUE"))
    {
        return Err(ApiError::new(
            "InvalidParameterValue.Publish",
            "Publish=TRUE is not supported here: wait for Status Active, then call PublishVersion",
        ));
    }
    let zip = zip_file(params)?;
    let handler = params.str("Handler")?.filter(|h| !h.is_empty());
    control
        .update_code(name, zip, handler.map(str::to_owned))
        .await?;
    Ok(Map::new())
}

/// `UpdateFunctionConfiguration`.
pub(super) async fn update_function_configuration(
    control: &ControlPlane,
    params: Params<'_>,
) -> Answer {
    let name = function_name(control, params)?;
    let change = ConfigChange {
        description: params.str("Description")?.map(str::to_owned),
        memory_mb: memory_size(params)?,
        timeout_s: params.int_in("Timeout", 1..=900)?.map(|n| n as u32),
        init_timeout_s: params.int_in("InitTimeout", 1..=300)?.map(|n| n as u32),
        env: environment(params)?,
        max_concurrency: max_concurrency(params)?,
    };
    control.update_config(name, change).await?;
    Ok(Map::new())
}

fn kind_text(kind: FunctionKind) -> &'static str {
    match kind {
        FunctionKind::Event => "Event",
        FunctionKind::Http => "HTTP",
    }
}

fn status_reasons(r: &FunctionRecord) -> Value {
    r.reasons
        .iter()
        .map(|x| json!({ "ErrorCode": x.code, "ErrorMessage": x.message }))
        .collect()
}

fn status_desc(r: &FunctionRecord) -> String {
    r.reasons
        .first()
        .map(|x| x.message.clone())
        .unwrap_or_default()
}

fn environment_json(s: &Settings) -> Value {
    json!({
        "Variables": s.env.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>()
    })
}

fn trigger_json(t: &TriggerRecord, function: &str) -> Value {
    json!({
        "TriggerName": t.name,
        "Type": t.kind,
        "TriggerDesc": t.desc,
        "Enable": i32::from(t.enabled),
        "CustomArgument": t.custom_argument,
        "Qualifier": t.qualifier,
        "Description": t.description,
        "AvailableStatus": "Available",
        "BindStatus": "",
        "TriggerAttribute": "",
        "ResourceId": format!("{function}/{}", t.name),
        "AddTime": t.add_time,
        "ModTime": t.add_time,
    })
}

/// `GetFunction`.
pub(super) async fn get_function(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let view = control.get(name).await?;
    let r = &view;
    let qualifier = params
        .str("Qualifier")?
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .unwrap_or(LATEST);
    let settings = r.settings(qualifier).ok_or_else(|| {
        ApiError::new(
            "ResourceNotFound.Version",
            format!("function {name} has no version {qualifier}"),
        )
    })?;
    let status = if qualifier == LATEST {
        r.status
    } else {
        Status::Active
    };
    let triggers: Vec<Value> = r.triggers.iter().map(|t| trigger_json(t, name)).collect();
    Ok(object(json!({
        "FunctionName": r.name,
        "FunctionId": r.id,
        "FunctionVersion": qualifier,
        "Qualifier": qualifier,
        "Namespace": control.host().namespace(),
        "Runtime": "CustomRuntime",
        "Handler": settings.handler,
        "Description": settings.description,
        "MemorySize": settings.memory_mb,
        "Timeout": settings.timeout_s,
        "InitTimeout": settings.init_timeout_s,
        "Environment": environment_json(settings),
        "Type": kind_text(settings.kind),
        "CodeSize": settings.code_size,
        "CodeInfo": "",
        "CodeResult": if status == Status::CreateFailed { "failed" } else { "success" },
        "CodeError": "",
        "ErrNo": 0,
        "Status": status.as_str(),
        "StatusDesc": status_desc(r),
        "StatusReasons": status_reasons(r),
        "AvailableStatus": if matches!(status, Status::Active | Status::Updating | Status::UpdateFailed) { "Available" } else { "Unavailable" },
        "AddTime": r.add_time,
        "ModTime": r.mod_time,
        "Triggers": triggers,
        "Tags": [],
        "Layers": [],
        "Role": "",
        "InstallDependency": "FALSE",
        "L5Enable": "FALSE",
        "UseGpu": "FALSE",
        "AsyncRunEnable": "FALSE",
        "TraceEnable": "FALSE",
        "ClsLogsetId": "",
        "ClsTopicId": "",
        "InstanceConcurrencyConfig": {"MaxConcurrency": settings.max_concurrency, "DynamicEnabled": "FALSE"},
    })))
}

/// `ListFunctions`: `SearchKey` (substring of the name), `Description`, `Order`, `Orderby`,
/// `Offset`, `Limit` (default 20).
pub(super) async fn list_functions(control: &ControlPlane, params: Params<'_>) -> Answer {
    control.check_namespace(params.str("Namespace")?)?;
    let search = params.str("SearchKey")?.unwrap_or("");
    let description = params.str("Description")?.unwrap_or("");
    let mut all: Vec<FunctionRecord> = control
        .list()
        .await
        .into_iter()
        .filter(|v| v.name.contains(search))
        .filter(|v| v.latest.description.contains(description))
        .collect();
    match params.str("Orderby")? {
        None | Some("FunctionName") => {}
        Some("AddTime") => all.sort_by(|a, b| a.add_time.cmp(&b.add_time)),
        Some("ModTime") => all.sort_by(|a, b| a.mod_time.cmp(&b.mod_time)),
        Some(other) => {
            return Err(ApiError::invalid_value(format!(
                "Orderby must be AddTime, ModTime or FunctionName, not {other:?}"
            )));
        }
    }
    if params
        .str("Order")?
        .is_some_and(|o| o.eq_ignore_ascii_case("DESC"))
    {
        all.reverse();
    }
    let total = all.len();
    let functions: Vec<Value> = page(params, all, 20)?
        .iter()
        .map(|r| {
            json!({
                "FunctionName": r.name,
                "FunctionId": r.id,
                "Namespace": control.host().namespace(),
                "Runtime": "CustomRuntime",
                "Status": r.status.as_str(),
                "StatusDesc": status_desc(r),
                "StatusReasons": status_reasons(r),
                "Description": r.latest.description,
                "Type": kind_text(r.latest.kind),
                "AddTime": r.add_time,
                "ModTime": r.mod_time,
                "Tags": [],
                "ReservedConcurrencyMem": r.reserved_mem.unwrap_or(0),
                "TotalProvisionedConcurrencyMem": r.provisioned.values().sum::<usize>() as u64 * u64::from(r.latest.memory_mb),
                "AsyncRunEnable": "FALSE",
                "TraceEnable": "FALSE",
            })
        })
        .collect();
    Ok(object(
        json!({ "Functions": functions, "TotalCount": total }),
    ))
}

/// `DeleteFunction` (with `Qualifier`: one published version).
pub(super) async fn delete_function(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    control.delete(name, params.str("Qualifier")?).await?;
    Ok(Map::new())
}

/// `PublishVersion`.
pub(super) async fn publish_version(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let (n, v) = control
        .publish(name, params.str("Description")?.map(str::to_owned))
        .await?;
    Ok(object(json!({
        "FunctionVersion": n.to_string(),
        "CodeSize": v.settings.code_size,
        "MemorySize": v.settings.memory_mb,
        "Description": v.description,
        "Handler": v.settings.handler,
        "Timeout": v.settings.timeout_s,
        "Runtime": "CustomRuntime",
        "Namespace": control.host().namespace(),
    })))
}

/// `ListVersionByFunction`: `$LATEST` then the versions (`Order` `ASC` | `DESC` by number).
pub(super) async fn list_versions(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let r = control.get(name).await?;
    let mut versions: Vec<Value> = vec![json!({
        "Version": LATEST, "Description": r.latest.description, "AddTime": r.add_time,
        "ModTime": r.mod_time, "Status": r.status.as_str(),
    })];
    versions.extend(r.versions.iter().map(|(n, v)| {
        json!({
            "Version": n.to_string(), "Description": v.description, "AddTime": v.add_time,
            "ModTime": v.add_time, "Status": v.status.as_str(),
        })
    }));
    if params
        .str("Order")?
        .is_some_and(|o| o.eq_ignore_ascii_case("DESC"))
    {
        versions[1..].reverse();
    }
    let total = versions.len();
    let page = page(params, versions, 1000)?;
    let names: Vec<Value> = page.iter().map(|v| v["Version"].clone()).collect();
    Ok(object(json!({
        "FunctionVersion": names, "Versions": page, "TotalCount": total,
    })))
}

/// `RoutingConfig.AdditionalVersionWeights` as (version, fraction). A `Weight` above 1 is read
/// as a percentage (the console shows percentages; the API documents a fraction).
fn routing(params: Params<'_>) -> Result<Option<Vec<(String, f64)>>, ApiError> {
    let Some(routing) = params.object("RoutingConfig")? else {
        return Ok(None);
    };
    let mut weights = Vec::new();
    for w in routing.objects("AdditionalVersionWeights")? {
        let version = w.required("Version")?.to_owned();
        let weight = w
            .f64("Weight")?
            .ok_or_else(|| ApiError::missing("Weight"))?;
        let fraction = if weight > 1.0 { weight / 100.0 } else { weight };
        weights.push((version, fraction));
    }
    Ok(Some(weights))
}

fn alias_json(name: &str, a: &AliasRecord) -> Value {
    json!({
        "Name": name,
        "FunctionVersion": a.version,
        "Description": a.description,
        "RoutingConfig": {
            "AdditionalVersionWeights": a.weights.iter().map(|(v, w)| json!({"Version": v, "Weight": w})).collect::<Vec<_>>(),
            "AddtionVersionMatchs": [],
        },
        "AddTime": a.add_time,
        "ModTime": a.mod_time,
    })
}

/// `CreateAlias` (`create`) and `UpdateAlias`.
pub(super) async fn put_alias(control: &ControlPlane, params: Params<'_>, create: bool) -> Answer {
    let name = function_name(control, params)?;
    let alias = params.required("Name")?;
    let version = params
        .str("FunctionVersion")?
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    if create && version.is_none() {
        return Err(ApiError::missing("FunctionVersion"));
    }
    control
        .put_alias(
            name,
            alias,
            version,
            routing(params)?,
            params.str("Description")?.map(str::to_owned),
            create,
        )
        .await?;
    Ok(Map::new())
}

/// `GetAlias`.
pub(super) async fn get_alias(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let alias = params.required("Name")?;
    let r = control.get(name).await?;
    let a = r.aliases.get(alias).ok_or_else(|| {
        ApiError::new(
            "ResourceNotFound.Alias",
            format!("function {name} has no alias {alias}"),
        )
    })?;
    Ok(object(alias_json(alias, a)))
}

/// `ListAliases` (`FunctionVersion`: only the aliases pointing at it).
pub(super) async fn list_aliases(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let version = params.str("FunctionVersion")?.filter(|v| !v.is_empty());
    let r = control.get(name).await?;
    let all: Vec<Value> = r
        .aliases
        .iter()
        .filter(|(_, a)| version.is_none_or(|v| a.version == v))
        .map(|(n, a)| alias_json(n, a))
        .collect();
    let total = all.len();
    let page = page(params, all, 20)?;
    Ok(object(json!({ "Aliases": page, "TotalCount": total })))
}

/// `DeleteAlias`.
pub(super) async fn delete_alias(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    control.delete_alias(name, params.required("Name")?).await?;
    Ok(Map::new())
}

/// `CreateTrigger`.
pub(super) async fn create_trigger(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let enabled = match params.str("Enable")? {
        None | Some("") | Some("OPEN") => true,
        Some("CLOSE") => false,
        Some(other) => {
            return Err(ApiError::new(
                "InvalidParameterValue.Enable",
                format!("Enable must be OPEN or CLOSE, not {other:?}"),
            ));
        }
    };
    let trigger = TriggerRecord {
        name: params.required("TriggerName")?.to_owned(),
        kind: params.required("Type")?.to_owned(),
        desc: params.required("TriggerDesc")?.to_owned(),
        enabled,
        custom_argument: params.str("CustomArgument")?.unwrap_or("").to_owned(),
        qualifier: params
            .str("Qualifier")?
            .filter(|q| !q.is_empty())
            .unwrap_or(LATEST)
            .to_owned(),
        description: params.str("Description")?.unwrap_or("").to_owned(),
        add_time: now_text(),
    };
    let t = control.create_trigger(name, trigger).await?;
    Ok(object(json!({ "TriggerInfo": trigger_json(&t, name) })))
}

/// `DeleteTrigger`.
pub(super) async fn delete_trigger(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let trigger = params.required("TriggerName")?;
    let kind = params.str("Type")?.filter(|t| !t.is_empty());
    control.delete_trigger(name, trigger, kind).await?;
    Ok(Map::new())
}

/// `ListTriggers`.
pub(super) async fn list_triggers(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let r = control.get(name).await?;
    let all: Vec<Value> = r.triggers.iter().map(|t| trigger_json(t, name)).collect();
    let total = all.len();
    let page = page(params, all, 20)?;
    Ok(object(json!({ "Triggers": page, "TotalCount": total })))
}

/// `GetFunctionLogs`: the function's recent invocations as this server keeps them (the last
/// 100 per version, each with the end of its log), filtered by `FunctionRequestId`,
/// `Filter.RetCode`, `StartTime` / `EndTime`, ordered by `start_time` (`Order` `desc` by
/// default) or `duration` / `mem_usage`.
pub(super) async fn get_function_logs(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    control.get(name).await?;
    let host = control.host();
    let qualifier = params
        .str("Qualifier")?
        .map(str::trim)
        .filter(|q| !q.is_empty());
    let key = match qualifier {
        None | Some("$LATEST") => name.to_owned(),
        Some(q) => format!("{name}:{q}"),
    };
    let detail = host.activity(&key, 1).ok_or_else(|| {
        ApiError::new(
            "ResourceNotFound.Qualifier",
            format!(
                "function {name} has no version {}",
                qualifier.unwrap_or(LATEST)
            ),
        )
    })?;
    let request_id = params.str("FunctionRequestId")?.filter(|r| !r.is_empty());
    let ret_code = match params.object("Filter")? {
        Some(f) => f.str("RetCode")?.filter(|r| !r.is_empty()),
        None => None,
    };
    let time = |name: &str| -> Result<Option<u64>, ApiError> {
        params
            .str(name)?
            .filter(|t| !t.is_empty())
            .map(|t| {
                crate::durable::parse_scf_time(t).map_err(|_| {
                    ApiError::invalid_value(format!(
                        "{name} must look like 2017-05-16 20:00:00, got {t:?}"
                    ))
                })
            })
            .transpose()
    };
    let (start, end) = (time("StartTime")?, time("EndTime")?);
    let mut records: Vec<_> = detail
        .recent
        .into_iter()
        .filter(|r| request_id.is_none_or(|id| r.request_id == id))
        .filter(|r| match ret_code {
            None => true,
            Some("not0") => r.status_code != 200,
            Some("is0") => r.status_code == 200,
            Some("TimeLimitExceeded") => r.status_code == 433,
            Some("ResourceLimitExceeded") => r.status_code == 434 || r.status_code == 432,
            Some("UserCodeException") => r.status_code == 430,
            Some(_) => true,
        })
        .filter(|r| start.is_none_or(|s| r.ended_ms >= s))
        .filter(|r| end.is_none_or(|e| r.ended_ms < e.saturating_add(1000)))
        .collect();
    match params.str("OrderBy")? {
        Some("duration") => records.sort_by(|a, b| a.duration_ms.total_cmp(&b.duration_ms)),
        Some("mem_usage") => records.sort_by_key(|r| r.mem_bytes),
        _ => records.sort_by_key(|r| r.ended_ms),
    }
    if !params
        .str("Order")?
        .is_some_and(|o| o.eq_ignore_ascii_case("asc"))
    {
        records.reverse();
    }
    let offset = params.usize("Offset")?.unwrap_or(0);
    let limit = params.int_in("Limit", 0..=10_000)?.unwrap_or(10) as usize;
    if offset + limit > 10_000 {
        return Err(ApiError::invalid_value(
            "Offset + Limit must be at most 10000",
        ));
    }
    let total = records.len();
    let data: Vec<Value> = records
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            let started = r.ended_ms.saturating_sub(r.duration_ms as u64);
            json!({
                "FunctionName": name,
                "RequestId": r.request_id,
                "StartTime": crate::durable::format_scf_time(started),
                "RetCode": if r.status_code == 200 { 0 } else { i64::from(r.status_code) },
                "InvokeFinished": 1,
                "Duration": r.duration_ms,
                "BillDuration": r.duration_ms.ceil() as u64,
                "MemUsage": r.mem_bytes,
                "RetMsg": r.error,
                "Log": r.log,
                "Level": if r.status_code == 200 { "INFO" } else { "ERROR" },
                "Source": "",
                "RetryNum": 0,
            })
        })
        .collect();
    Ok(object(json!({
        "Data": data,
        "TotalCount": total,
        "SearchContext": {"Offset": "", "Limit": limit, "Keyword": "", "Type": ""},
    })))
}

/// `PutReservedConcurrencyConfig`.
pub(super) async fn put_reserved(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let mb = params
        .int_in("ReservedConcurrencyMem", 0..=1_024_000)?
        .ok_or_else(|| ApiError::missing("ReservedConcurrencyMem"))?;
    control.set_reserved(name, Some(mb)).await?;
    Ok(Map::new())
}

/// `GetReservedConcurrencyConfig`.
pub(super) async fn get_reserved(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let r = control.get(name).await?;
    Ok(object(json!({ "ReservedMem": r.reserved_mem })))
}

/// `DeleteReservedConcurrencyConfig`.
pub(super) async fn delete_reserved(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    control.set_reserved(name, None).await?;
    Ok(Map::new())
}

/// `PutProvisionedConcurrencyConfig` and `DeleteProvisionedConcurrencyConfig` (`delete`).
pub(super) async fn put_provisioned(
    control: &ControlPlane,
    params: Params<'_>,
    delete: bool,
) -> Answer {
    let name = function_name(control, params)?;
    let qualifier = params.required("Qualifier")?;
    let count = if delete {
        0
    } else {
        params
            .int_in("VersionProvisionedConcurrencyNum", 1..=1000)?
            .ok_or_else(|| ApiError::missing("VersionProvisionedConcurrencyNum"))? as usize
    };
    control.set_provisioned(name, qualifier, count).await?;
    Ok(Map::new())
}

/// `GetProvisionedConcurrencyConfig`.
pub(super) async fn get_provisioned(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let only = params.str("Qualifier")?.filter(|q| !q.is_empty());
    let r = control.get(name).await?;
    let allocated: Vec<Value> = r
        .provisioned
        .iter()
        .filter(|(v, _)| only.is_none_or(|q| q == v.as_str()))
        .map(|(v, n)| {
            json!({
                "AllocatedProvisionedConcurrencyNum": n,
                "AvailableProvisionedConcurrencyNum": n,
                "Status": "Done",
                "StatusReason": "",
                "Qualifier": v,
            })
        })
        .collect();
    let used: usize = r.provisioned.values().sum();
    let reserved = r
        .reserved_mem
        .map(|mb| (mb / u64::from(r.latest.memory_mb.max(1))) as usize);
    Ok(object(json!({
        "UnallocatedConcurrencyNum": reserved.map_or(0, |n| n.saturating_sub(used)),
        "Allocated": allocated,
    })))
}

/// `GetFunctionEventInvokeConfig`.
pub(super) async fn get_event_invoke_config(control: &ControlPlane, params: Params<'_>) -> Answer {
    let name = function_name(control, params)?;
    let c = control.async_config(name).await?;
    Ok(object(json!({
        "AsyncTriggerConfig": {"RetryConfig": [{"RetryNum": c.retry_num}], "MsgTTL": c.msg_ttl_s},
    })))
}

/// `UpdateFunctionEventInvokeConfig`.
pub(super) async fn update_event_invoke_config(
    control: &ControlPlane,
    params: Params<'_>,
) -> Answer {
    let name = function_name(control, params)?;
    let current = control.async_config(name).await?;
    let config = params
        .object("AsyncTriggerConfig")?
        .ok_or_else(|| ApiError::missing("AsyncTriggerConfig"))?;
    let retry_num = match config.objects("RetryConfig")?.first() {
        Some(r) => r
            .int_in("RetryNum", 0..=10)?
            .map_or(current.retry_num, |n| n as u32),
        None => current.retry_num,
    };
    let msg_ttl_s = config
        .int_in("MsgTTL", 60..=21_600)?
        .map_or(current.msg_ttl_s, |n| n as u32);
    control
        .set_async_config(
            name,
            AsyncConfig {
                retry_num,
                msg_ttl_s,
            },
        )
        .await?;
    Ok(Map::new())
}
