//! Init state: `cargo run -p example-init-state` under a host (`scf-runtime-server`), or
//! with `SCF_RUNTIME_API`/`SCF_RUNTIME_API_PORT` pointing at a runtime API.
//!
//! The init hook runs once per instance, before the runtime reports ready: it reads its
//! settings from the environment and builds a [`State`] that every invocation borrows.
//! Each answer says which invocation of this instance it was, so a warm instance counts
//! up. Set `INIT_STATE_GREETING` to change the greeting; set it to an empty string to see
//! an init failure (one line on stderr, exit status 1, no ready call).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Built once per instance by [`setup`].
pub struct State {
    greeting: String,
    invocations: AtomicU64,
}

/// Why init failed.
#[derive(Debug)]
pub struct SettingsError {
    source: EmptyValue,
}

/// The cause of a [`SettingsError`].
#[derive(Debug)]
pub struct EmptyValue(&'static str);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot read the settings")
    }
}

impl std::error::Error for SettingsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl std::fmt::Display for EmptyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is set but empty", self.0)
    }
}

impl std::error::Error for EmptyValue {}

/// The init hook: runs once, before the first event.
pub async fn setup() -> Result<State, SettingsError> {
    let greeting = match std::env::var("INIT_STATE_GREETING") {
        Ok(value) if value.is_empty() => {
            return Err(SettingsError {
                source: EmptyValue("INIT_STATE_GREETING"),
            });
        }
        Ok(value) => value,
        Err(_) => "hello".to_owned(),
    };
    scf::tracing::info!(%greeting, "init: state built");
    Ok(State {
        greeting,
        invocations: AtomicU64::new(0),
    })
}

/// The event: who to greet.
#[derive(Debug, Deserialize)]
pub struct Visit {
    /// The visitor's name.
    pub name: String,
}

/// The answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Welcome {
    /// `"<greeting>, <name>"`.
    pub message: String,
    /// Which invocation of this instance this was, from 1.
    pub invocation: u64,
    /// The request id.
    pub request_id: String,
}

/// Greets the visitor and counts the instance's invocations.
#[scf::function(init = setup)]
pub async fn handler(visit: Visit, ctx: &scf::Context, state: &State) -> Welcome {
    let invocation = state.invocations.fetch_add(1, Ordering::SeqCst) + 1;
    Welcome {
        message: format!("{}, {}", state.greeting, visit.name),
        invocation,
        request_id: ctx.request_id().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_invocations_on_shared_state() {
        let state = State {
            greeting: "hi".into(),
            invocations: AtomicU64::new(0),
        };
        let ctx = scf::Context::builder().request_id("r1").build();
        let first = handler(Visit { name: "ada".into() }, &ctx, &state).await;
        let second = handler(Visit { name: "bob".into() }, &ctx, &state).await;
        assert_eq!(first.message, "hi, ada");
        assert_eq!((first.invocation, second.invocation), (1, 2));
        assert_eq!(second.request_id, "r1");
    }

    #[tokio::test]
    async fn a_cos_fixture_is_not_a_visit() {
        // The bundled COS notification has no `name`: the runtime would answer it with a
        // DeserializeError naming the missing field.
        let raw = scf::events::fixtures::get("cos-put").expect("the cos-put fixture is bundled");
        let err = serde_json::from_str::<Visit>(raw).unwrap_err();
        assert!(err.to_string().contains("missing field `name`"), "{err}");
    }
}
