struct Order {
    qty: u32,
}

#[scf::function]
async fn handler(order: Order) -> u32 {
    order.qty
}
