#[scf::function]
async fn handler(event: impl serde::de::DeserializeOwned) -> Result<(), scf::Error> {
    let _ = event;
    Ok(())
}
