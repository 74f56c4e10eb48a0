#[scf::function]
async fn handler<'a>(event: serde_json::Value, ctx: &'a scf::Context) -> serde_json::Value {
    let _ = ctx;
    event
}
