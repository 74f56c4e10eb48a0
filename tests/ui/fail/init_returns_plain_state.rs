struct Db;

async fn setup() -> Db {
    Db
}

#[scf::function(init = setup)]
async fn handler(event: serde_json::Value, db: &Db) -> serde_json::Value {
    let _ = db;
    event
}
