#[scf::function(init)]
async fn handler(event: serde_json::Value) -> serde_json::Value {
    event
}
