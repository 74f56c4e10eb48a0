struct Db;

async fn setup() -> Result<Db, scf::Error> {
    Ok(Db)
}

#[scf::function(main = false, init = setup)]
async fn handler(event: serde_json::Value, db: &Db) -> serde_json::Value {
    let _ = db;
    event
}

fn main() {}
