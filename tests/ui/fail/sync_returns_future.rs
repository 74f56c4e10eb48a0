use std::future::Future;

#[scf::function]
fn handler(event: serde_json::Value) -> impl Future<Output = serde_json::Value> {
    async move { event }
}
