#[scf::function(timeout_margin_ms = "200")]
async fn handler(event: serde_json::Value) -> serde_json::Value {
    event
}
