//! What `cargo scf deploy` reads from `scf.toml` beyond the keys the local host uses: the
//! `[deploy]` table ([`DeployConfig`]) and the deploy-only keys of a function
//! ([`FunctionDeploy`]). The host ignores all of them; the function keys it does read
//! (`memory_mb`, `timeout_s`, `init_timeout_s`, `env`, `type`, triggers) are deployed too, so one
//! file describes both.

use serde::Deserialize;

/// Longest `Description` SCF accepts, characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// `[deploy]`: where `cargo scf deploy`, `logs`, `info` and `remove` go when no option says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// `region`, e.g. `ap-guangzhou` (after `--region` and `TENCENTCLOUD_REGION`).
    #[serde(default)]
    pub region: Option<String>,
    /// `namespace` (default `default`; `--namespace` overrides).
    #[serde(default)]
    pub namespace: Option<String>,
    /// `endpoint`: the Cloud API URL (default `https://scf.tencentcloudapi.com`; `--endpoint`
    /// overrides), e.g. `http://127.0.0.1:9000` for a local `cargo scf serve`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `profile`: a tccli profile whose `~/.tccli/<profile>.credential` holds the key pair
    /// (used when neither `--profile` nor the `TENCENTCLOUD_SECRET_*` variables are given).
    #[serde(default)]
    pub profile: Option<String>,
}

/// A function's deploy-only keys (all optional; unset means "not managed by deploy").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionDeploy {
    /// `description`: SCF's `Description` (at most [`MAX_DESCRIPTION_CHARS`]).
    pub description: Option<String>,
    /// `reserved_concurrency_mb`: `PutReservedConcurrencyConfig`'s `ReservedConcurrencyMem`.
    pub reserved_concurrency_mb: Option<u64>,
    /// `provisioned_concurrency`: warm instances of the version `deploy --publish` publishes
    /// (`PutProvisionedConcurrencyConfig`'s `VersionProvisionedConcurrencyNum`, at least 1).
    pub provisioned_concurrency: Option<u32>,
}

impl FunctionDeploy {
    /// Checks the raw keys; errors are `(key, message)`.
    pub(crate) fn new(
        description: Option<String>,
        reserved_concurrency_mb: Option<u64>,
        provisioned_concurrency: Option<u32>,
    ) -> Result<FunctionDeploy, (&'static str, String)> {
        if let Some(d) = &description {
            let chars = d.chars().count();
            if chars > MAX_DESCRIPTION_CHARS {
                return Err((
                    "description",
                    format!(
                        "is {chars} characters long; SCF takes at most {MAX_DESCRIPTION_CHARS}"
                    ),
                ));
            }
        }
        if provisioned_concurrency == Some(0) {
            return Err((
                "provisioned_concurrency",
                "must be at least 1 (leave the key out for none)".to_owned(),
            ));
        }
        Ok(FunctionDeploy {
            description,
            reserved_concurrency_mb,
            provisioned_concurrency,
        })
    }
}
