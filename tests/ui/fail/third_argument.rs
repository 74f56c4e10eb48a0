#[scf::function]
async fn handler(event: serde_json::Value, ctx: scf::Context, retries: u32) -> serde_json::Value {
    let _ = (ctx, retries);
    event
}
