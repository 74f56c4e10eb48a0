#[derive(Debug)]
struct Rejected;

#[scf::function]
async fn handler(qty: u32) -> Result<u32, Rejected> {
    if qty == 0 { Err(Rejected) } else { Ok(qty) }
}
