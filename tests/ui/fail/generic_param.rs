#[scf::function]
async fn handler<E: serde::de::DeserializeOwned>(event: E) -> Result<(), scf::Error> {
    let _ = event;
    Ok(())
}
