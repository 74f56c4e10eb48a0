#[scf::function]
async fn handler(event: serde_json::Value, ctx: scf::Context, again: &scf::Context) -> serde_json::Value {
    let _ = (ctx, again);
    event
}
