//! The control plane: functions created, updated, published and removed through the Cloud API's
//! management actions (`CreateFunction`, `UpdateFunctionCode`, `PublishVersion`, `CreateAlias`,
//! `CreateTrigger`, …), hosted by the same [`Host`] as the functions of `scf.toml`, and kept
//! in the state folder so they survive a restart.
//!
//! - Code arrives as a base64 zip and is unpacked once into `<state_dir>/code/<sha256>/`
//!   ([`code`]); each function's record is `<state_dir>/functions/<name>.json` ([`record`]),
//!   written atomically after every change.
//! - A code or configuration change sets `Status` to `Creating` / `Updating` and answers at
//!   once; the new code's first instance is started in the background, and only once it is ready
//!   does it take over (`Active`). When it fails to start, the status is `CreateFailed` /
//!   `UpdateFailed` with the reason (SCF code and log), and the previous code keeps serving.
//!   A change while one is rolling out is refused, as on SCF: clients wait for `Active`.
//! - `PublishVersion` freezes `$LATEST`'s code and configuration as version N, hosted by a pool
//!   of its own; an alias routes to its version, or to additional versions by weight.
//! - Functions of `scf.toml` are listed and readable but not changed here: their file is
//!   their source of truth.
//!
//! The server hosts one namespace (`server.namespace`); see
//! <https://www.tencentcloud.com/document/product/583/31380> for the functions' API.

pub mod code;
pub mod record;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::TimerTrigger;
use crate::config::{Code, Config, FunctionConfig, FunctionType, ServerConfig, TimerTriggerConfig};
use crate::fault::InvokeError;
use crate::host::{AliasRoute, Host, LATEST};
use record::{
    AliasRecord, AsyncConfig, FunctionKind, FunctionRecord, Reason, Settings, Status,
    TriggerRecord, VersionRecord,
};

/// How long an instance of a deployed function may stay idle (the `idle_timeout_s` default).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// `max_instances` of a deployed function without reserved concurrency.
const DEFAULT_MAX_INSTANCES: usize = 100;

/// A refused management action: the Cloud API error code and a message naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    /// `Error.Code`, e.g. `ResourceNotFound.Function`.
    pub code: &'static str,
    /// `Error.Message`.
    pub message: String,
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ControlError {}

fn fail<T>(code: &'static str, message: impl Into<String>) -> Result<T, ControlError> {
    Err(ControlError {
        code,
        message: message.into(),
    })
}

/// The time format of `AddTime` / `ModTime`.
pub fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// What `CreateFunction` gives.
#[derive(Debug, Clone)]
pub struct NewFunction {
    /// `FunctionName`.
    pub name: String,
    /// `Code.ZipFile`.
    pub zip_base64: String,
    /// Everything else, with defaults filled in.
    pub settings: Settings,
}

/// What `UpdateFunctionConfiguration` changes (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct ConfigChange {
    /// `Description`.
    pub description: Option<String>,
    /// `MemorySize`.
    pub memory_mb: Option<u32>,
    /// `Timeout`.
    pub timeout_s: Option<u32>,
    /// `InitTimeout`.
    pub init_timeout_s: Option<u32>,
    /// `Environment.Variables` (the whole set).
    pub env: Option<BTreeMap<String, String>>,
    /// `InstanceConcurrencyConfig.MaxConcurrency`.
    pub max_concurrency: Option<usize>,
}

#[derive(Debug)]
struct Inner {
    host: Host,
    server: ServerConfig,
    records_dir: PathBuf,
    code_dir: PathBuf,
    file_functions: BTreeMap<String, FunctionConfig>,
    records: tokio::sync::Mutex<BTreeMap<String, FunctionRecord>>,
    timers: Mutex<HashMap<(String, String), JoinHandle<()>>>,
}

/// The control plane of one server; cheap to clone.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    inner: Arc<Inner>,
}

impl ControlPlane {
    /// A control plane for `host`, keeping its state under `config.server.state_dir`. Call
    /// [`restore`](Self::restore) to bring back what an earlier run deployed.
    pub fn new(host: Host, config: &Config) -> std::io::Result<ControlPlane> {
        let state = &config.server.state_dir;
        let records_dir = state.join("functions");
        let code_dir = state.join("code");
        // Private like the rest of the state folder: records hold environment variables.
        for dir in [&records_dir, &code_dir] {
            use std::os::unix::fs::DirBuilderExt as _;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        Ok(ControlPlane {
            inner: Arc::new(Inner {
                host,
                server: config.server.clone(),
                records_dir,
                code_dir,
                file_functions: config
                    .functions
                    .iter()
                    .map(|f| (f.name.clone(), f.clone()))
                    .collect(),
                records: tokio::sync::Mutex::new(BTreeMap::new()),
                timers: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The host the deployed functions run on.
    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    /// Hosts again every function an earlier run deployed (its `$LATEST`, versions, aliases and
    /// timers), waiting until each has an instance ready or failed. Returns how many were
    /// restored; unreadable records are logged and skipped.
    pub async fn restore(&self) -> usize {
        let (records, problems) = record::load_all(&self.inner.records_dir);
        for p in problems {
            tracing::warn!(target: "scf::control", "cannot read a deployed function's record: {p}");
        }
        let mut restored = 0;
        for mut r in records {
            if self.inner.file_functions.contains_key(&r.name) {
                tracing::warn!(target: "scf::control",
                    "function {} is both deployed and in scf.toml; the file's definition is hosted", r.name);
                continue;
            }
            if r.status == Status::Creating || r.status == Status::CreateFailed {
                // Never became active: try again now.
                r.status = Status::Creating;
            } else if !r.status.settled() {
                r.status = Status::Updating;
            }
            let versions: Vec<u32> = r.versions.keys().copied().collect();
            for v in versions {
                let version = v.to_string();
                if let Err((e, _)) = self.host_version(&r, &version).await {
                    tracing::warn!(target: "scf::control", "function {} version {v}: {e}", r.name);
                }
            }
            let outcome = self.host_version(&r, LATEST).await;
            r.status = match outcome {
                Ok(()) => Status::Active,
                Err((e, log)) => {
                    r.reasons = vec![reason(&e, &log)];
                    if r.status == Status::Creating {
                        Status::CreateFailed
                    } else {
                        Status::UpdateFailed
                    }
                }
            };
            self.apply_aliases(&r);
            self.start_timers(&r);
            self.apply_async_config(&r.name, r.async_config);
            let _ = record::save(&self.inner.records_dir, &r);
            self.inner.records.lock().await.insert(r.name.clone(), r);
            restored += 1;
        }
        restored
    }

    fn file_function(&self, name: &str) -> Option<&FunctionConfig> {
        self.inner.file_functions.get(name)
    }

    fn refuse_file_function(&self, name: &str, action: &str) -> Result<(), ControlError> {
        if self.file_function(name).is_some() {
            return fail(
                "FailedOperation.FunctionNameExists",
                format!(
                    "function {name} is defined in scf.toml; {action} it by editing that file (the Cloud API changes deployed functions only)"
                ),
            );
        }
        Ok(())
    }

    /// The server's namespace check: `None`, empty and `server.namespace` pass.
    pub fn check_namespace(&self, namespace: Option<&str>) -> Result<(), ControlError> {
        match namespace.map(str::trim) {
            None | Some("") => Ok(()),
            Some(ns) if ns == self.inner.server.namespace => Ok(()),
            Some(ns) => fail(
                "ResourceNotFound.Namespace",
                format!(
                    "namespace {ns} does not exist (this server hosts namespace {})",
                    self.inner.server.namespace
                ),
            ),
        }
    }

    /// `CreateFunction`: unpacks the code, saves the record as `Creating` and starts rolling it
    /// out in the background.
    pub async fn create(&self, new: NewFunction) -> Result<(), ControlError> {
        if let Err(m) = crate::config::check_function_name(&new.name) {
            return fail("InvalidParameterValue.FunctionName", m);
        }
        if self.file_function(&new.name).is_some() || self.inner.host.has_function(&new.name) {
            return fail(
                "ResourceInUse.Function",
                format!("function {} already exists", new.name),
            );
        }
        let mut records = self.inner.records.lock().await;
        if records.contains_key(&new.name) {
            return fail(
                "ResourceInUse.Function",
                format!("function {} already exists", new.name),
            );
        }
        let unpacked = self.unpack(&new.zip_base64)?;
        let mut settings = new.settings;
        settings.code_sha256 = unpacked.sha256;
        settings.code_size = unpacked.size;
        let now = now_text();
        let r = FunctionRecord {
            id: format!("lam-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            name: new.name.clone(),
            latest: settings,
            status: Status::Creating,
            reasons: Vec::new(),
            add_time: now.clone(),
            mod_time: now,
            versions: BTreeMap::new(),
            aliases: BTreeMap::new(),
            triggers: Vec::new(),
            reserved_mem: None,
            provisioned: BTreeMap::new(),
            async_config: None,
        };
        self.save(&r)?;
        records.insert(r.name.clone(), r.clone());
        drop(records);
        self.roll_out(r.name.clone());
        Ok(())
    }

    /// `UpdateFunctionCode`: new code for `$LATEST` (and a new handler, when given).
    pub async fn update_code(
        &self,
        name: &str,
        zip_base64: &str,
        handler: Option<String>,
    ) -> Result<(), ControlError> {
        // Refused before the zip is unpacked, not only in `change`.
        self.refuse_file_function(name, "update")?;
        let unpacked = self.unpack(zip_base64)?;
        self.change(name, "update", "FailedOperation.UpdateFunctionCode", |r| {
            r.latest.code_sha256 = unpacked.sha256;
            r.latest.code_size = unpacked.size;
            if let Some(h) = handler {
                r.latest.handler = h;
            }
        })
        .await
    }

    /// `UpdateFunctionConfiguration`: the given fields of `$LATEST`.
    pub async fn update_config(
        &self,
        name: &str,
        change: ConfigChange,
    ) -> Result<(), ControlError> {
        let action = "configure";
        self.change(
            name,
            action,
            "FailedOperation.UpdateFunctionConfiguration",
            |r| {
                let s = &mut r.latest;
                if let Some(d) = change.description {
                    s.description = d;
                }
                if let Some(m) = change.memory_mb {
                    s.memory_mb = m;
                }
                if let Some(t) = change.timeout_s {
                    s.timeout_s = t;
                }
                if let Some(t) = change.init_timeout_s {
                    s.init_timeout_s = t;
                }
                if let Some(env) = change.env {
                    s.env = env;
                }
                if let Some(c) = change.max_concurrency {
                    s.max_concurrency = c;
                }
            },
        )
        .await
    }

    /// Applies `edit` to a settled function's `$LATEST`, saves it as `Updating` (`Creating`
    /// after a failed create) and rolls it out; `action` words the refusal for a function of
    /// `scf.toml`, `busy_code` the one while a rollout runs.
    async fn change(
        &self,
        name: &str,
        action: &str,
        busy_code: &'static str,
        edit: impl FnOnce(&mut FunctionRecord),
    ) -> Result<(), ControlError> {
        self.edit_record(name, action, |r| {
            if !r.status.settled() {
                return fail(
                    busy_code,
                    format!(
                        "function {name} is {}; wait until GetFunction shows Status Active",
                        r.status.as_str()
                    ),
                );
            }
            edit(r);
            r.status = if r.status == Status::CreateFailed {
                Status::Creating
            } else {
                Status::Updating
            };
            r.reasons.clear();
            r.mod_time = now_text();
            Ok(())
        })
        .await?;
        self.roll_out(name.to_owned());
        Ok(())
    }

    /// Starts `$LATEST` of `name` as its record says, in the background, and records the outcome.
    fn roll_out(&self, name: String) {
        let me = self.clone();
        tokio::spawn(async move {
            let Some(r) = me.inner.records.lock().await.get(&name).cloned() else {
                return;
            };
            let outcome = me.host_version(&r, LATEST).await;
            let mut records = me.inner.records.lock().await;
            let Some(r) = records.get_mut(&name) else {
                // Deleted meanwhile.
                me.inner.host.undeploy(&name, LATEST);
                return;
            };
            match outcome {
                Ok(()) => r.status = Status::Active,
                Err((e, log)) => {
                    tracing::warn!(target: "scf::control", function = %name, "rollout failed: {e}");
                    r.reasons = vec![reason(&e, &log)];
                    r.status = if r.status == Status::Creating {
                        Status::CreateFailed
                    } else {
                        Status::UpdateFailed
                    };
                }
            }
            let snapshot = r.clone();
            drop(records);
            if let Err(e) = me.save(&snapshot) {
                tracing::warn!(target: "scf::control", function = %name, "{e}");
            }
        });
    }

    /// Hosts `version` of `r`: a new pool that takes over once an instance is ready. When none
    /// starts, nothing changes and the failure (SCF code and log) is returned.
    async fn host_version(
        &self,
        r: &FunctionRecord,
        version: &str,
    ) -> Result<(), (InvokeError, String)> {
        let Some(settings) = r.settings(version) else {
            return Err((
                crate::fault::Fault::FunctionNotFound.error(format!("no version {version}")),
                String::new(),
            ));
        };
        let config = self.function_config(r, settings, version);
        self.inner.host.deploy(&config, version).await
    }

    /// The host's view of a deployed function at `version`.
    fn function_config(&self, r: &FunctionRecord, s: &Settings, version: &str) -> FunctionConfig {
        let root = self.inner.code_dir.join(&s.code_sha256);
        let executable = match s.kind {
            FunctionKind::Event => root.join("bootstrap"),
            FunctionKind::Http => root.join("scf_bootstrap"),
        };
        let max_instances = r
            .reserved_mem
            .map(|mb| (mb / u64::from(s.memory_mb.max(1))) as usize)
            .unwrap_or(DEFAULT_MAX_INSTANCES)
            .max(1);
        let min_instances = r
            .provisioned
            .get(version)
            .copied()
            .unwrap_or(0)
            .min(max_instances);
        let env: Vec<(String, String)> =
            s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        FunctionConfig {
            handler: s.handler.clone(),
            name: r.name.clone(),
            code: Code::Bootstrap(executable),
            kind: match s.kind {
                FunctionKind::Event => FunctionType::Event,
                FunctionKind::Http => FunctionType::Web,
            },
            memory_mb: s.memory_mb,
            timeout: Duration::from_secs(u64::from(s.timeout_s)),
            init_timeout: Duration::from_secs(u64::from(s.init_timeout_s)),
            max_instances,
            min_instances,
            idle_timeout: IDLE_TIMEOUT,
            max_concurrency: s.max_concurrency.max(1),
            queue_length: self.inner.server.queue_length,
            queue_timeout: self.inner.server.queue_timeout,
            env,
            triggers: Vec::new(),
            deploy: crate::config::FunctionDeploy {
                description: Some(s.description.clone()),
                ..Default::default()
            },
        }
    }

    fn unpack(&self, zip_base64: &str) -> Result<code::Unpacked, ControlError> {
        if zip_base64.trim().is_empty() {
            return fail(
                "InvalidParameterValue.Code",
                "Code.ZipFile is empty: give the base64 of a zip with bootstrap (or scf_bootstrap) at its root",
            );
        }
        code::unpack(zip_base64, &self.inner.code_dir).map_err(|e| ControlError {
            code: if e.0.contains("at most") {
                "InvalidParameterValue.ZipFile"
            } else {
                "InvalidParameterValue.Code"
            },
            message: e.0,
        })
    }

    fn save(&self, r: &FunctionRecord) -> Result<(), ControlError> {
        record::save(&self.inner.records_dir, r).map_err(|e| ControlError {
            code: "InternalError",
            message: format!("cannot save function {}: {e}", r.name),
        })
    }

    /// `GetFunction` / the other read actions: a deployed function's record, or a read-only
    /// one made from a function of `scf.toml`.
    pub async fn get(&self, name: &str) -> Result<FunctionRecord, ControlError> {
        if let Some(r) = self.inner.records.lock().await.get(name) {
            return Ok(r.clone());
        }
        self.file_function(name)
            .map(file_record)
            .ok_or_else(|| not_found(name))
    }

    /// `ListFunctions`: every function, from `scf.toml` and deployed, by name.
    pub async fn list(&self) -> Vec<FunctionRecord> {
        let records = self.inner.records.lock().await;
        let mut all: Vec<FunctionRecord> = records
            .values()
            .cloned()
            .chain(self.inner.file_functions.values().map(file_record))
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// `DeleteFunction`: the whole function (its versions, aliases, triggers and record), or
    /// one published version when `qualifier` names one.
    pub async fn delete(&self, name: &str, qualifier: Option<&str>) -> Result<(), ControlError> {
        self.refuse_file_function(name, "remove")?;
        let mut records = self.inner.records.lock().await;
        let r = records.get_mut(name).ok_or_else(|| not_found(name))?;
        match qualifier
            .map(str::trim)
            .filter(|q| !q.is_empty() && *q != LATEST)
        {
            Some(q) => {
                let n = version_number(q)?;
                if !r.versions.contains_key(&n) {
                    return fail(
                        "ResourceNotFound.Version",
                        format!("function {name} has no version {q}"),
                    );
                }
                if let Some((alias, _)) = r
                    .aliases
                    .iter()
                    .find(|(_, a)| a.version == q || a.weights.iter().any(|(v, _)| v == q))
                {
                    return fail(
                        "ResourceInUse.Alias",
                        format!(
                            "version {q} of {name} is used by alias {alias}; change the alias first"
                        ),
                    );
                }
                r.versions.remove(&n);
                r.provisioned.remove(q);
                let snapshot = r.clone();
                self.save(&snapshot)?;
                drop(records);
                self.inner.host.undeploy(name, q);
            }
            None => {
                let r = records.remove(name).expect("checked above");
                drop(records);
                self.stop_timers(name);
                for v in r.versions.keys() {
                    self.inner.host.undeploy(name, &v.to_string());
                }
                self.inner.host.undeploy(name, LATEST);
                self.apply_async_config(name, None);
                let _ = std::fs::remove_file(record::path(&self.inner.records_dir, name));
                self.collect_code().await;
            }
        }
        Ok(())
    }

    /// Removes code folders no record refers to any more.
    async fn collect_code(&self) {
        let records = self.inner.records.lock().await;
        let used: std::collections::HashSet<&str> = records
            .values()
            .flat_map(|r| {
                std::iter::once(r.latest.code_sha256.as_str())
                    .chain(r.versions.values().map(|v| v.settings.code_sha256.as_str()))
            })
            .collect();
        let Ok(entries) = std::fs::read_dir(&self.inner.code_dir) else {
            return;
        };
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !n.starts_with('.') && !used.contains(n.as_str()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// `PublishVersion`: freezes `$LATEST` as the next version, hosted once an instance of it is
    /// ready. Returns the version number and its record.
    pub async fn publish(
        &self,
        name: &str,
        description: Option<String>,
    ) -> Result<(u32, VersionRecord), ControlError> {
        self.refuse_file_function(name, "publish")?;
        let mut records = self.inner.records.lock().await;
        let r = records.get_mut(name).ok_or_else(|| not_found(name))?;
        if r.status != Status::Active {
            return fail(
                "FailedOperation.PublishVersion",
                format!(
                    "function {name} is {}; a version can be published once it is Active",
                    r.status.as_str()
                ),
            );
        }
        let n = r.next_version();
        let version = VersionRecord {
            settings: r.latest.clone(),
            description: description.unwrap_or_default(),
            status: Status::Active,
            add_time: now_text(),
        };
        let mut next = r.clone();
        next.versions.insert(n, version.clone());
        // Hosted before it is listed, so an invocation right after the answer finds it.
        if let Err((e, log)) = self.host_version(&next, &n.to_string()).await {
            return fail(
                "FailedOperation.PublishVersion",
                format!(
                    "version {n} of {name} did not start: {e}{}",
                    log_suffix(&log)
                ),
            );
        }
        self.save(&next)?;
        *r = next;
        Ok((n, version))
    }

    /// Applies `edit` to a copy of deployed function `name`'s record and, when it succeeds,
    /// saves the copy and makes it the record; `action` words the refusal for a function of
    /// `scf.toml`. Returns what `edit` returned and the saved record.
    async fn edit_record<T>(
        &self,
        name: &str,
        action: &str,
        edit: impl FnOnce(&mut FunctionRecord) -> Result<T, ControlError>,
    ) -> Result<(T, FunctionRecord), ControlError> {
        self.refuse_file_function(name, action)?;
        let mut records = self.inner.records.lock().await;
        let r = records.get_mut(name).ok_or_else(|| not_found(name))?;
        let mut next = r.clone();
        let out = edit(&mut next)?;
        self.save(&next)?;
        *r = next.clone();
        Ok((out, next))
    }

    /// `CreateAlias` (`create`) or `UpdateAlias`.
    pub async fn put_alias(
        &self,
        name: &str,
        alias: &str,
        version: Option<String>,
        weights: Option<Vec<(String, f64)>>,
        description: Option<String>,
        create: bool,
    ) -> Result<AliasRecord, ControlError> {
        check_alias_name(alias)?;
        let (a, saved) = self.edit_record(name, "alias", |r| {
        let now = now_text();
        let existing = r.aliases.get(alias).cloned();
        let mut a = match (existing, create) {
            (Some(_), true) => {
                return fail(
                    "ResourceInUse.Alias",
                    format!("function {name} already has alias {alias}"),
                );
            }
            (None, false) => {
                return fail(
                    "ResourceNotFound.Alias",
                    format!("function {name} has no alias {alias}"),
                );
            }
            (Some(a), false) => a,
            (None, true) => AliasRecord {
                version: String::new(),
                weights: Vec::new(),
                description: String::new(),
                add_time: now.clone(),
                mod_time: now.clone(),
            },
        };
        if let Some(v) = version {
            a.version = v;
        }
        if a.version.is_empty() {
            return fail("MissingParameter", "FunctionVersion is required");
        }
        if let Some(w) = weights {
            a.weights = w;
        }
        if let Some(d) = description {
            a.description = d;
        }
        a.mod_time = now;
        let known =
            |v: &str| v == LATEST || v.parse::<u32>().is_ok_and(|n| r.versions.contains_key(&n));
        for v in std::iter::once(&a.version).chain(a.weights.iter().map(|(v, _)| v)) {
            if !known(v) {
                return fail(
                    "ResourceNotFound.Version",
                    format!("function {name} has no version {v}"),
                );
            }
        }
        let total: f64 = a.weights.iter().map(|(_, w)| w).sum();
        if a.weights.iter().any(|(_, w)| !(0.0..=1.0).contains(w)) || total > 1.0 + 1e-9 {
            return fail(
                "InvalidParameterValue.RoutingConfig",
                format!(
                    "additional version weights must be from 0 to 1 and add up to at most 1 (they add up to {total})"
                ),
            );
        }
        r.aliases.insert(alias.to_owned(), a.clone());
        Ok(a)
        })
        .await?;
        self.apply_aliases(&saved);
        Ok(a)
    }

    /// `DeleteAlias`.
    pub async fn delete_alias(&self, name: &str, alias: &str) -> Result<(), ControlError> {
        let ((), saved) = self
            .edit_record(name, "alias", |r| match r.aliases.remove(alias) {
                Some(_) => Ok(()),
                None => fail(
                    "ResourceNotFound.Alias",
                    format!("function {name} has no alias {alias}"),
                ),
            })
            .await?;
        self.apply_aliases(&saved);
        Ok(())
    }

    fn apply_aliases(&self, r: &FunctionRecord) {
        let routes = r
            .aliases
            .iter()
            .map(|(name, a)| {
                (
                    name.clone(),
                    AliasRoute {
                        version: a.version.clone(),
                        weights: a.weights.clone(),
                    },
                )
            })
            .collect();
        self.inner.host.set_aliases(&r.name, routes);
    }

    /// `CreateTrigger`. Timers run here (`TriggerDesc` a cron expression, bare or as
    /// `{"cron": …}`); other types are refused with the reason.
    pub async fn create_trigger(
        &self,
        name: &str,
        t: TriggerRecord,
    ) -> Result<TriggerRecord, ControlError> {
        let ((), saved) = self.edit_record(name, "add a trigger to", |r| {
        if r.triggers
            .iter()
            .any(|x| x.name == t.name && x.kind == t.kind)
        {
            return fail(
                "ResourceInUse.Trigger",
                format!(
                    "function {name} already has a {} trigger named {}",
                    t.kind, t.name
                ),
            );
        }
        if t.kind != "timer" {
            return fail(
                "InvalidParameterValue.Type",
                format!(
                    "trigger type {} is not run by this server (timer triggers are; declare API gateway, Function URL and CKafka triggers in scf.toml)",
                    t.kind
                ),
            );
        }
        if r.latest.kind == FunctionKind::Http {
            return fail(
                "InvalidParameterValue.Type",
                format!("{name} is a web function: timers invoke event functions"),
            );
        }
        timer_of(name, &t)?;
        r.triggers.push(t.clone());
        Ok(())
        })
        .await?;
        self.start_timers(&saved);
        Ok(t)
    }

    /// `DeleteTrigger`.
    pub async fn delete_trigger(
        &self,
        name: &str,
        trigger: &str,
        kind: Option<&str>,
    ) -> Result<(), ControlError> {
        let ((), saved) = self
            .edit_record(name, "remove a trigger of", |r| {
                let before = r.triggers.len();
                r.triggers
                    .retain(|t| !(t.name == trigger && kind.is_none_or(|k| k == t.kind)));
                if r.triggers.len() == before {
                    return fail(
                        "ResourceNotFound.Trigger",
                        format!("function {name} has no trigger {trigger}"),
                    );
                }
                Ok(())
            })
            .await?;
        self.start_timers(&saved);
        Ok(())
    }

    /// (Re)starts `r`'s enabled timers, stopping those it no longer has.
    fn start_timers(&self, r: &FunctionRecord) {
        self.stop_timers(&r.name);
        let mut timers = self.inner.timers.lock().unwrap_or_else(|e| e.into_inner());
        for t in r.triggers.iter().filter(|t| t.kind == "timer" && t.enabled) {
            match timer_of(&r.name, t) {
                Ok(trigger) => {
                    let handle = crate::triggers::timer::spawn(trigger, self.inner.host.clone());
                    timers.insert((r.name.clone(), t.name.clone()), handle);
                }
                Err(e) => {
                    tracing::warn!(target: "scf::control", function = %r.name, trigger = %t.name, "{e}");
                }
            }
        }
    }

    fn stop_timers(&self, name: &str) {
        let mut timers = self.inner.timers.lock().unwrap_or_else(|e| e.into_inner());
        timers.retain(|(function, _), handle| {
            if function == name {
                handle.abort();
                false
            } else {
                true
            }
        });
    }

    /// Applies `edit` to the record of a deployed function, saves it, and re-hosts `rehost`
    /// versions (their instance limits changed).
    async fn edit_limits(
        &self,
        name: &str,
        rehost: Option<&str>,
        edit: impl FnOnce(&mut FunctionRecord) -> Result<(), ControlError>,
    ) -> Result<(), ControlError> {
        self.refuse_file_function(name, "configure")?;
        let mut records = self.inner.records.lock().await;
        let r = records.get_mut(name).ok_or_else(|| not_found(name))?;
        let mut next = r.clone();
        edit(&mut next)?;
        let versions: Vec<String> = match rehost {
            Some(v) => vec![v.to_owned()],
            None => std::iter::once(LATEST.to_owned())
                .chain(next.versions.keys().map(u32::to_string))
                .collect(),
        };
        for v in &versions {
            if (v != LATEST || next.status == Status::Active)
                && let Err((e, log)) = self.host_version(&next, v).await
            {
                return fail(
                    "FailedOperation.ProvisionedConcurrency",
                    format!(
                        "{name} {v} did not start with the new limits: {e}{}",
                        log_suffix(&log)
                    ),
                );
            }
        }
        self.save(&next)?;
        *r = next;
        Ok(())
    }

    /// `PutReservedConcurrencyConfig` (`Some`) / `DeleteReservedConcurrencyConfig` (`None`):
    /// at most `mb / MemorySize` instances of each version.
    pub async fn set_reserved(&self, name: &str, mb: Option<u64>) -> Result<(), ControlError> {
        self.edit_limits(name, None, |r| {
            if let Some(mb) = mb
                && mb < u64::from(r.latest.memory_mb)
            {
                return fail(
                    "InvalidParameterValue.ReservedConcurrencyMem",
                    format!(
                        "ReservedConcurrencyMem {mb} is less than one instance of {} ({} MB)",
                        r.name, r.latest.memory_mb
                    ),
                );
            }
            r.reserved_mem = mb;
            Ok(())
        })
        .await
    }

    /// `PutProvisionedConcurrencyConfig` / `DeleteProvisionedConcurrencyConfig` (`0`): that many
    /// instances of published `version` kept started.
    pub async fn set_provisioned(
        &self,
        name: &str,
        version: &str,
        count: usize,
    ) -> Result<(), ControlError> {
        let n = version_number(version)?;
        self.edit_limits(name, Some(version), |r| {
            if !r.versions.contains_key(&n) {
                return fail(
                    "ResourceNotFound.Version",
                    format!("function {name} has no version {version} (provisioned concurrency applies to published versions)"),
                );
            }
            if count == 0 {
                r.provisioned.remove(version);
            } else {
                r.provisioned.insert(version.to_owned(), count);
            }
            Ok(())
        })
        .await
    }

    /// `UpdateFunctionEventInvokeConfig`.
    pub async fn set_async_config(
        &self,
        name: &str,
        config: AsyncConfig,
    ) -> Result<(), ControlError> {
        if config.retry_num > 10 || !(60..=21_600).contains(&config.msg_ttl_s) {
            return fail(
                "InvalidParameterValue.AsyncTriggerConfig",
                format!(
                    "RetryNum must be from 0 to 10 and MsgTTL from 60 to 21600 seconds (got {} and {})",
                    config.retry_num, config.msg_ttl_s
                ),
            );
        }
        self.edit_record(name, "configure", |r| {
            r.async_config = Some(config);
            Ok(())
        })
        .await?;
        self.apply_async_config(name, Some(config));
        Ok(())
    }

    /// Gives the durable queue `name`'s own retry settings.
    fn apply_async_config(&self, name: &str, config: Option<AsyncConfig>) {
        let Some(queue) = self.inner.host.async_queue() else {
            return;
        };
        let policy = config.map(|c| crate::durable::RetryPolicy {
            retry_num: c.retry_num,
            max_age: Duration::from_secs(u64::from(c.msg_ttl_s)),
            ..queue.config().policy.clone()
        });
        queue.set_function_policy(name, policy);
    }

    /// The async retry settings of `name`: its own, else the server's.
    pub async fn async_config(&self, name: &str) -> Result<AsyncConfig, ControlError> {
        let view = self.get(name).await?;
        Ok(view.async_config.unwrap_or(AsyncConfig {
            retry_num: self.inner.server.async_retry_num,
            msg_ttl_s: self.inner.server.async_max_age.as_secs() as u32,
        }))
    }
}

fn not_found(name: &str) -> ControlError {
    ControlError {
        code: "ResourceNotFound.Function",
        message: format!("function {name} does not exist"),
    }
}

fn version_number(v: &str) -> Result<u32, ControlError> {
    v.trim().parse::<u32>().or_else(|_| {
        fail(
            "InvalidParameterValue.Qualifier",
            format!("{v:?} is not a published version number"),
        )
    })
}

fn check_alias_name(alias: &str) -> Result<(), ControlError> {
    let ok = (1..=64).contains(&alias.len())
        && alias.starts_with(|c: char| c.is_ascii_alphabetic())
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && alias != "$LATEST";
    if ok {
        Ok(())
    } else {
        fail(
            "InvalidParameterValue.Name",
            format!(
                "alias name {alias:?}: 1 to 64 letters, digits, - and _, starting with a letter"
            ),
        )
    }
}

fn reason(e: &InvokeError, log: &str) -> Reason {
    Reason {
        code: e.name().to_owned(),
        message: format!("{} ({}){}", e.message, e.code(), log_suffix(log)),
    }
}

fn log_suffix(log: &str) -> String {
    let log = log.trim();
    if log.is_empty() {
        return String::new();
    }
    let tail: String = log
        .chars()
        .rev()
        .take(1000)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("; log: {tail}")
}

/// The timer a `timer` trigger record stands for.
fn timer_of(function: &str, t: &TriggerRecord) -> Result<TimerTrigger, ControlError> {
    let desc = t.desc.trim();
    let cron = match serde_json::from_str::<serde_json::Value>(desc) {
        Ok(serde_json::Value::Object(m)) => match m.get("cron").and_then(|c| c.as_str()) {
            Some(c) => c.to_owned(),
            None => {
                return fail(
                    "InvalidParameterValue.TriggerDesc",
                    format!("TriggerDesc {desc:?} has no \"cron\" string"),
                );
            }
        },
        Ok(serde_json::Value::String(c)) => c,
        _ => desc.to_owned(),
    };
    TimerTrigger::new(
        function,
        &TimerTriggerConfig {
            name: t.name.clone(),
            cron,
            message: Some(t.custom_argument.clone()),
            timezone: None,
        },
    )
    .map_err(|e| ControlError {
        code: "InvalidParameterValue.TriggerDesc",
        message: e.to_string(),
    })
}

/// A read-only record for a function of `scf.toml`.
fn file_record(f: &FunctionConfig) -> FunctionRecord {
    let settings = Settings {
        description: format!("defined in scf.toml ({})", executable_text(f)),
        handler: f.handler.clone(),
        memory_mb: f.memory_mb,
        timeout_s: f.timeout.as_secs().max(1) as u32,
        init_timeout_s: f.init_timeout.as_secs().max(1) as u32,
        env: f.env.iter().cloned().collect(),
        kind: if f.is_web() {
            FunctionKind::Http
        } else {
            FunctionKind::Event
        },
        max_concurrency: f.max_concurrency,
        code_sha256: String::new(),
        code_size: 0,
    };
    FunctionRecord {
        name: f.name.clone(),
        id: format!("file-{}", f.name),
        latest: settings,
        status: Status::Active,
        reasons: Vec::new(),
        add_time: String::new(),
        mod_time: String::new(),
        versions: BTreeMap::new(),
        aliases: BTreeMap::new(),
        triggers: Vec::new(),
        reserved_mem: None,
        provisioned: BTreeMap::new(),
        async_config: None,
    }
}

fn executable_text(f: &FunctionConfig) -> String {
    match &f.code {
        Code::Package { name, .. } => format!("package {name}"),
        Code::Bootstrap(p) => format!("bootstrap {}", p.display()),
    }
}
