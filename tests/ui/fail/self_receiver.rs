struct Service;

impl Service {
    #[scf::function]
    async fn handler(&self, event: serde_json::Value) -> serde_json::Value {
        event
    }
}

fn main() {}
