#[scf::function]
async fn handler() -> Result<(), scf::Error> {
    Ok(())
}
