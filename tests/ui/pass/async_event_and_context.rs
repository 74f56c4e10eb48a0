//! `async fn(E, Context) -> Result<R, scf::Error>` with a typed event from `scf::events`.

use scf::Context;
use scf::events::timer::TimerEvent;

#[scf::function(main = false)]
async fn handler(event: TimerEvent, ctx: Context) -> Result<String, scf::Error> {
    Ok(format!("{} fired for {}", event.trigger_name, ctx.request_id()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let event: TimerEvent = serde_json::from_value(serde_json::json!({
        "Type": "Timer",
        "TriggerName": "every-minute",
        "Time": "2026-01-01T00:00:00Z",
        "Message": ""
    }))
    .unwrap();
    let ctx = Context::builder().request_id("req-1").build();
    assert_eq!(handler(event, ctx).await.unwrap(), "every-minute fired for req-1");
}
