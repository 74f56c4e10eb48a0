#[scf::function]
async fn handler(event: serde_json::Value, ctx: std::time::Duration) -> serde_json::Value {
    let _ = ctx;
    event
}
