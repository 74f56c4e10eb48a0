#[scf::function(main = "no")]
async fn handler(event: serde_json::Value) -> serde_json::Value {
    event
}

fn main() {}
