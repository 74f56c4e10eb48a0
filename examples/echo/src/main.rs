//! Echo: answers every event with the event itself.
//!
//! Run it under a host: `cargo run -p scf-runtime-server -- serve` hosts it as `echo`, then
//! `curl -d '{"hello":"world"}' http://127.0.0.1:9000/functions/echo/invocations`.

use scf::{Context, Error};
use serde_json::Value;

/// Returns the event unchanged.
#[scf::function]
async fn echo(event: Value, _ctx: Context) -> Result<Value, Error> {
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn echoes_a_fixture_unchanged() {
        let raw = scf::events::fixtures::get("cos-put").expect("the cos-put fixture is bundled");
        let event: Value = serde_json::from_str(raw).unwrap();
        let answer = echo(event.clone(), Context::default()).await.unwrap();
        assert_eq!(answer, event);
    }
}
