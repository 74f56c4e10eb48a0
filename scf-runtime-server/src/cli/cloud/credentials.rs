//! Finding the key pair and the region the way Tencent's own tools do.
//!
//! The key pair, first found wins:
//! 1. `--profile NAME`: tccli's `~/.tccli/NAME.credential` (JSON `secretId`, `secretKey`,
//!    optional `token`);
//! 2. `TENCENTCLOUD_SECRET_ID` + `TENCENTCLOUD_SECRET_KEY` (+ `TENCENTCLOUD_SESSION_TOKEN`);
//! 3. `[deploy] profile` in `scf.toml`, read like 1;
//! 4. tccli's `default` profile, when `~/.tccli/default.credential` exists.
//!
//! The region: `--region`, `TENCENTCLOUD_REGION`, `[deploy] region`, then the profile's
//! `~/.tccli/NAME.configure` (`_sys_param.region`, or `region` in older files).
//!
//! Nothing here prints a secret: [`Credential`]'s `Debug` shows the SecretId and where the pair
//! came from only.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::ToolError;

/// The variables and the home folder credentials are looked up in; [`Environment::from_process`]
/// reads this process's, tests build their own.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("home", &self.home)
            .finish()
    }
}

/// The variables read from the process environment.
const VARS: [&str; 4] = [
    "TENCENTCLOUD_SECRET_ID",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "TENCENTCLOUD_REGION",
];

impl Environment {
    /// This process's `TENCENTCLOUD_*` variables and `HOME`.
    pub fn from_process() -> Environment {
        let mut env = Environment {
            vars: BTreeMap::new(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        };
        for name in VARS {
            if let Ok(value) = std::env::var(name) {
                env.vars.insert(name.to_owned(), value);
            }
        }
        env
    }

    /// An environment with no variables and `home` as the home folder.
    pub fn with_home(home: impl Into<PathBuf>) -> Environment {
        Environment {
            vars: BTreeMap::new(),
            home: Some(home.into()),
        }
    }

    /// Sets a variable.
    pub fn var(mut self, name: &str, value: &str) -> Environment {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn tccli_file(&self, profile: &str, ext: &str) -> Option<PathBuf> {
        self.home
            .as_ref()
            .map(|h| h.join(".tccli").join(format!("{profile}.{ext}")))
    }
}

/// A key pair (and session token) to sign with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The SecretId.
    pub secret_id: String,
    pub(crate) secret_key: String,
    pub(crate) token: Option<String>,
    /// Where it was found, for messages: `TENCENTCLOUD_SECRET_ID/KEY` or a file path.
    pub source: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("source", &self.source)
            .finish()
    }
}

/// What the command line and `scf.toml` say about credentials and region.
#[derive(Debug, Clone, Default)]
pub struct Asked<'a> {
    /// `--profile`.
    pub profile: Option<&'a str>,
    /// `[deploy] profile`.
    pub config_profile: Option<&'a str>,
    /// `--region`.
    pub region: Option<&'a str>,
    /// `[deploy] region`.
    pub config_region: Option<&'a str>,
}

/// The key pair, or `None` when none is found anywhere (the caller decides whether that is an
/// error); a profile that was asked for but cannot be read is an error.
pub fn find_credential(
    env: &Environment,
    asked: &Asked<'_>,
) -> Result<Option<Credential>, ToolError> {
    if let Some(profile) = asked.profile {
        return read_profile(env, profile, "--profile").map(Some);
    }
    if let Some(id) = env.get("TENCENTCLOUD_SECRET_ID") {
        let key = env.get("TENCENTCLOUD_SECRET_KEY").ok_or_else(|| {
            ToolError::new(
                "TENCENTCLOUD_SECRET_ID is set but TENCENTCLOUD_SECRET_KEY is not: set both (or neither)",
            )
        })?;
        return Ok(Some(Credential {
            secret_id: id.to_owned(),
            secret_key: key.to_owned(),
            token: env.get("TENCENTCLOUD_SESSION_TOKEN").map(str::to_owned),
            source: "TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY".to_owned(),
        }));
    }
    if env.get("TENCENTCLOUD_SECRET_KEY").is_some() {
        return Err(ToolError::new(
            "TENCENTCLOUD_SECRET_KEY is set but TENCENTCLOUD_SECRET_ID is not: set both (or neither)",
        ));
    }
    if let Some(profile) = asked.config_profile {
        return read_profile(env, profile, "[deploy] profile").map(Some);
    }
    match env.tccli_file("default", "credential") {
        Some(path) if path.is_file() => read_profile(env, "default", "tccli's default").map(Some),
        _ => Ok(None),
    }
}

/// The message for "no key pair anywhere".
pub fn missing_credential_message(env: &Environment) -> String {
    let file = env
        .tccli_file("NAME", "credential")
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.tccli/NAME.credential".to_owned());
    format!(
        "no Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY \
         (and TENCENTCLOUD_SESSION_TOKEN for temporary keys), or pass --profile NAME to read {file} \
         (written by `tccli configure --profile NAME`)"
    )
}

/// The region: `--region`, `TENCENTCLOUD_REGION`, `[deploy] region`, then the tccli profile's
/// configure file (the asked profile, `[deploy] profile`, or `default`).
pub fn find_region(env: &Environment, asked: &Asked<'_>) -> Result<Option<String>, ToolError> {
    if let Some(region) = asked.region.map(str::trim).filter(|r| !r.is_empty()) {
        return Ok(Some(region.to_owned()));
    }
    if let Some(region) = env.get("TENCENTCLOUD_REGION") {
        return Ok(Some(region.to_owned()));
    }
    if let Some(region) = asked.config_region.map(str::trim).filter(|r| !r.is_empty()) {
        return Ok(Some(region.to_owned()));
    }
    let profile = asked.profile.or(asked.config_profile).unwrap_or("default");
    let Some(path) = env.tccli_file(profile, "configure") else {
        return Ok(None);
    };
    if !path.is_file() {
        return Ok(None);
    }
    let json = read_json(&path)?;
    let region = json
        .pointer("/_sys_param/region")
        .or_else(|| json.get("region"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty());
    Ok(region.map(str::to_owned))
}

fn read_profile(env: &Environment, profile: &str, asked_by: &str) -> Result<Credential, ToolError> {
    let valid = !profile.is_empty()
        && profile
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !profile.starts_with('.');
    if !valid {
        return Err(ToolError::new(format!(
            "{asked_by} {profile:?} is not a profile name (letters, digits, '-', '_' and '.')"
        )));
    }
    let path = env.tccli_file(profile, "credential").ok_or_else(|| {
        ToolError::new(format!(
            "{asked_by} {profile}: HOME is not set, so ~/.tccli/{profile}.credential cannot be found"
        ))
    })?;
    if !path.is_file() {
        return Err(ToolError::new(format!(
            "{asked_by} {profile}: {} does not exist (create it with `tccli configure --profile {profile}`)",
            path.display()
        )));
    }
    let json = read_json(&path)?;
    let field = |name: &str| {
        json.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (Some(secret_id), Some(secret_key)) = (field("secretId"), field("secretKey")) else {
        return Err(ToolError::new(format!(
            "{}: needs the string fields \"secretId\" and \"secretKey\"",
            path.display()
        )));
    };
    Ok(Credential {
        secret_id,
        secret_key,
        token: field("token"),
        source: path.display().to_string(),
    })
}

fn read_json(path: &Path) -> Result<Value, ToolError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ToolError::new(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| ToolError::new(format!("{} is not JSON: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Environment) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".tccli")).unwrap();
        let env = Environment::with_home(dir.path());
        (dir, env)
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) {
        std::fs::write(dir.path().join(".tccli").join(name), text).unwrap();
    }

    #[test]
    fn variables_then_profiles_then_tccli_default() {
        let (dir, env) = home();
        assert_eq!(find_credential(&env, &Asked::default()).unwrap(), None);
        let message = missing_credential_message(&env);
        assert!(message.contains("TENCENTCLOUD_SECRET_ID"), "{message}");
        assert!(message.contains("--profile"), "{message}");

        write(
            &dir,
            "default.credential",
            r#"{"secretId":"AKIDdef","secretKey":"kdef"}"#,
        );
        let c = find_credential(&env, &Asked::default()).unwrap().unwrap();
        assert_eq!(
            (c.secret_id.as_str(), c.secret_key.as_str()),
            ("AKIDdef", "kdef")
        );

        write(
            &dir,
            "work.credential",
            r#"{"secretId":"AKIDwork","secretKey":"kwork","token":"tok"}"#,
        );
        let from_config = Asked {
            config_profile: Some("work"),
            ..Asked::default()
        };
        let c = find_credential(&env, &from_config).unwrap().unwrap();
        assert_eq!(c.secret_id, "AKIDwork");
        assert_eq!(c.token.as_deref(), Some("tok"));

        let env = env
            .var("TENCENTCLOUD_SECRET_ID", "AKIDenv")
            .var("TENCENTCLOUD_SECRET_KEY", "kenv");
        let c = find_credential(&env, &from_config).unwrap().unwrap();
        assert_eq!(c.secret_id, "AKIDenv");
        assert_eq!(c.token, None);

        // --profile beats the variables.
        let flag = Asked {
            profile: Some("work"),
            ..Asked::default()
        };
        let c = find_credential(&env, &flag).unwrap().unwrap();
        assert_eq!(c.secret_id, "AKIDwork");
        // The secret never shows in Debug.
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("kwork") && !shown.contains("tok\""),
            "{shown}"
        );
        assert!(shown.contains("AKIDwork"), "{shown}");
    }

    #[test]
    fn bad_profiles_and_half_pairs_are_clear_errors() {
        let (dir, env) = home();
        let missing = Asked {
            profile: Some("nope"),
            ..Asked::default()
        };
        let err = find_credential(&env, &missing).unwrap_err().to_string();
        assert!(err.contains("nope.credential does not exist"), "{err}");
        write(&dir, "bad.credential", r#"{"secretId":"x"}"#);
        let bad = Asked {
            profile: Some("bad"),
            ..Asked::default()
        };
        let err = find_credential(&env, &bad).unwrap_err().to_string();
        assert!(err.contains("\"secretKey\""), "{err}");
        let traversal = Asked {
            profile: Some("../x"),
            ..Asked::default()
        };
        assert!(find_credential(&env, &traversal).is_err());
        let half = env.clone().var("TENCENTCLOUD_SECRET_ID", "AKID");
        let err = find_credential(&half, &Asked::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("TENCENTCLOUD_SECRET_KEY is not"), "{err}");
    }

    #[test]
    fn region_order_is_flag_variable_config_tccli() {
        let (dir, env) = home();
        assert_eq!(find_region(&env, &Asked::default()).unwrap(), None);
        write(
            &dir,
            "default.configure",
            r#"{"_sys_param":{"region":"ap-beijing","output":"json"}}"#,
        );
        write(&dir, "old.configure", r#"{"region":"ap-chengdu"}"#);
        assert_eq!(
            find_region(&env, &Asked::default()).unwrap().as_deref(),
            Some("ap-beijing")
        );
        let old = Asked {
            profile: Some("old"),
            ..Asked::default()
        };
        assert_eq!(
            find_region(&env, &old).unwrap().as_deref(),
            Some("ap-chengdu")
        );
        let config = Asked {
            config_region: Some("ap-shanghai"),
            ..old.clone()
        };
        assert_eq!(
            find_region(&env, &config).unwrap().as_deref(),
            Some("ap-shanghai")
        );
        let env = env.var("TENCENTCLOUD_REGION", "ap-hongkong");
        assert_eq!(
            find_region(&env, &config).unwrap().as_deref(),
            Some("ap-hongkong")
        );
        let flag = Asked {
            region: Some("na-ashburn"),
            ..config
        };
        assert_eq!(
            find_region(&env, &flag).unwrap().as_deref(),
            Some("na-ashburn")
        );
    }
}
