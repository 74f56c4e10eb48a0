#[scf::function(flavor = "single", timout_margin_ms = 100)]
async fn handler<T>(event: &T, ctx: scf::Context, extra: u8) -> serde_json::Value {
    let _ = (event, ctx, extra);
    serde_json::Value::Null
}
