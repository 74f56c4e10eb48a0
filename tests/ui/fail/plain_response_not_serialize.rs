struct Receipt {
    total: u32,
}

#[scf::function]
fn handler(qty: u32) -> Receipt {
    Receipt { total: qty }
}
