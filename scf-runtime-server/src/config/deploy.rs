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

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    fn parse(text: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse(text, Path::new("scf.toml"), Path::new("/srv"))
    }

    #[test]
    fn the_deploy_table_and_keys_parse_and_are_checked() {
        let config = parse(
            "[deploy]\nregion = \"ap-shanghai\"\nnamespace = \"prod\"\n[functions.f]\nbootstrap = \"b\"\ndescription = \"d\"\nreserved_concurrency_mb = 512\nprovisioned_concurrency = 2\n",
        )
        .unwrap();
        assert_eq!(config.deploy.region.as_deref(), Some("ap-shanghai"));
        assert_eq!(config.deploy.namespace.as_deref(), Some("prod"));
        let f = &config.functions[0].deploy;
        assert_eq!(f.description.as_deref(), Some("d"));
        assert_eq!(
            (f.reserved_concurrency_mb, f.provisioned_concurrency),
            (Some(512), Some(2))
        );

        let err =
            parse("[functions.f]\nbootstrap = \"b\"\nprovisioned_concurrency = 0\n").unwrap_err();
        assert_eq!(err.key, "functions.f.provisioned_concurrency");
        assert_eq!(err.position, Some((3, 27)), "{err}");
        let long = "x".repeat(1001);
        let err = parse(&format!(
            "[functions.f]\nbootstrap = \"b\"\ndescription = \"{long}\"\n"
        ))
        .unwrap_err();
        assert_eq!(err.key, "functions.f.description");
        assert!(err.message.contains("at most 1000"), "{err}");
        let err = parse("[deploy]\nregoin = \"x\"\n").unwrap_err();
        assert!(err.message.contains("regoin"), "{err}");
    }
}
