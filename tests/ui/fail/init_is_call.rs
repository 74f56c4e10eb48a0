async fn setup() -> Result<(), scf::Error> {
    Ok(())
}

#[scf::function(init = setup())]
async fn handler(event: serde_json::Value) -> serde_json::Value {
    event
}
