//! What the control plane keeps about a deployed function, as written to
//! `<state_dir>/functions/<name>.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `Status` of a function or version (SCF's states; see
/// <https://www.tencentcloud.com/document/product/583/47175>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Code is being unpacked and its first instance started.
    Creating,
    /// The first instance did not start.
    CreateFailed,
    /// Ready: invocations run it.
    Active,
    /// New code or configuration is being rolled out (the previous one still serves).
    Updating,
    /// The new code or configuration did not start; the previous one still serves.
    UpdateFailed,
    /// A version is being published.
    Publishing,
    /// Publishing failed.
    PublishFailed,
}

impl Status {
    /// The name the Cloud API answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "Creating",
            Status::CreateFailed => "CreateFailed",
            Status::Active => "Active",
            Status::Updating => "Updating",
            Status::UpdateFailed => "UpdateFailed",
            Status::Publishing => "Publishing",
            Status::PublishFailed => "PublishFailed",
        }
    }

    /// Whether a code or configuration change may start (nothing is rolling out).
    pub fn settled(self) -> bool {
        !matches!(
            self,
            Status::Creating | Status::Updating | Status::Publishing
        )
    }
}

/// One `StatusReasons` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// `ErrorCode`.
    pub code: String,
    /// `ErrorMessage`.
    pub message: String,
}

/// `Type`: how the function is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FunctionKind {
    /// `Event`: a `bootstrap` speaking the runtime API.
    Event,
    /// `HTTP`: a web function, `scf_bootstrap` serving HTTP.
    #[serde(rename = "HTTP")]
    Http,
}

/// Code and configuration: what `$LATEST` has now and what a version froze.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// `Description`.
    pub description: String,
    /// `Handler` (`_HANDLER`).
    pub handler: String,
    /// `MemorySize` (MB).
    pub memory_mb: u32,
    /// `Timeout` (s).
    pub timeout_s: u32,
    /// `InitTimeout` (s).
    pub init_timeout_s: u32,
    /// `Environment.Variables`, sorted by key.
    pub env: BTreeMap<String, String>,
    /// `Type`.
    pub kind: FunctionKind,
    /// Requests one instance of a web function takes at once (`InstanceConcurrencyConfig`).
    pub max_concurrency: usize,
    /// SHA-256 of the code zip (its folder under `<state_dir>/code/`).
    pub code_sha256: String,
    /// Size of the code zip.
    pub code_size: u64,
}

/// A published version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// What it runs.
    pub settings: Settings,
    /// `Description` given to `PublishVersion`.
    pub description: String,
    /// `Status`.
    pub status: Status,
    /// `AddTime`.
    pub add_time: String,
}

/// An alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    /// `FunctionVersion`: the main version.
    pub version: String,
    /// `RoutingConfig.AdditionalVersionWeights`: version and fraction (0 to 1).
    pub weights: Vec<(String, f64)>,
    /// `Description`.
    pub description: String,
    /// `AddTime`.
    pub add_time: String,
    /// `ModTime`.
    pub mod_time: String,
}

/// A trigger made with `CreateTrigger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRecord {
    /// `TriggerName`.
    pub name: String,
    /// `Type` (`timer`, …).
    pub kind: String,
    /// `TriggerDesc`, as given.
    pub desc: String,
    /// `Enable`.
    pub enabled: bool,
    /// `CustomArgument` (a timer's message).
    pub custom_argument: String,
    /// `Qualifier` it invokes.
    pub qualifier: String,
    /// `Description`.
    pub description: String,
    /// `AddTime`.
    pub add_time: String,
}

/// `AsyncTriggerConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncConfig {
    /// `RetryConfig[0].RetryNum`.
    pub retry_num: u32,
    /// `MsgTTL` (s).
    pub msg_ttl_s: u32,
}

/// Everything about one deployed function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    /// `FunctionName`.
    pub name: String,
    /// `FunctionId` (stable for the function's life).
    pub id: String,
    /// `$LATEST`.
    pub latest: Settings,
    /// `Status` of `$LATEST`.
    pub status: Status,
    /// `StatusReasons` of the last failed rollout.
    pub reasons: Vec<Reason>,
    /// `AddTime`.
    pub add_time: String,
    /// `ModTime`.
    pub mod_time: String,
    /// Published versions by number.
    pub versions: BTreeMap<u32, VersionRecord>,
    /// Aliases by name.
    pub aliases: BTreeMap<String, AliasRecord>,
    /// Triggers in creation order.
    pub triggers: Vec<TriggerRecord>,
    /// `ReservedConcurrencyMem` (MB), when set.
    pub reserved_mem: Option<u64>,
    /// `VersionProvisionedConcurrencyNum` by version.
    pub provisioned: BTreeMap<String, usize>,
    /// `AsyncTriggerConfig`, when set.
    pub async_config: Option<AsyncConfig>,
}

impl FunctionRecord {
    /// The settings of `version` (`$LATEST` or a number).
    pub fn settings(&self, version: &str) -> Option<&Settings> {
        if version == crate::host::LATEST {
            return Some(&self.latest);
        }
        let n: u32 = version.parse().ok()?;
        self.versions.get(&n).map(|v| &v.settings)
    }

    /// The next version number `PublishVersion` gives.
    pub fn next_version(&self) -> u32 {
        self.versions.keys().next_back().map_or(1, |n| n + 1)
    }
}

/// The file of `function` in `dir`.
pub fn path(dir: &Path, function: &str) -> PathBuf {
    dir.join(format!("{function}.json"))
}

/// Writes `record` so a crash leaves the old file or the new one, never half of one.
pub fn save(dir: &Path, record: &FunctionRecord) -> std::io::Result<()> {
    let target = path(dir, &record.name);
    let partial = dir.join(format!(".{}.json.partial", record.name));
    let text = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)?;
        file.write_all(&text)?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, &target)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Every record in `dir`; files that cannot be read are reported, not fatal.
pub fn load_all(dir: &Path) -> (Vec<FunctionRecord>, Vec<String>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (records, problems);
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort();
    for p in paths {
        match std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<FunctionRecord>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => records.push(r),
            Err(e) => problems.push(format!("{}: {e}", p.display())),
        }
    }
    (records, problems)
}
