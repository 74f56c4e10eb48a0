#[scf::function(timeout_margin_ms = 200, timeout_margin_ms = 500)]
async fn handler(event: serde_json::Value) -> serde_json::Value {
    event
}
