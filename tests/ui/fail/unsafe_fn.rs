#[scf::function]
unsafe fn handler(event: serde_json::Value) -> serde_json::Value {
    event
}
