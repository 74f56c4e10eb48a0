struct Db;
struct Cache;

async fn setup() -> Result<Db, scf::Error> {
    Ok(Db)
}

#[scf::function(init = setup)]
async fn handler(event: serde_json::Value, cache: &Cache) -> serde_json::Value {
    let _ = cache;
    event
}
