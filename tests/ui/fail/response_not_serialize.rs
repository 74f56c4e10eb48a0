struct Receipt {
    total: u32,
}

#[scf::function]
async fn handler(qty: u32, _ctx: scf::Context) -> Result<Receipt, scf::Error> {
    Ok(Receipt { total: qty })
}
