#[scf::function]
async fn handler(ctx: scf::Context, event: serde_json::Value) -> serde_json::Value {
    let _ = ctx;
    event
}
