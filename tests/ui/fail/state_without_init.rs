struct Db;

#[scf::function]
async fn handler(event: serde_json::Value, db: &Db) -> serde_json::Value {
    let _ = db;
    event
}
