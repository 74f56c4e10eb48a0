#[scf::function(flavor = "multi_thread")]
async fn handler(event: serde_json::Value) -> serde_json::Value {
    event
}
