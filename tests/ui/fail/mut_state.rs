struct Counter(u64);

async fn setup() -> Result<Counter, scf::Error> {
    Ok(Counter(0))
}

#[scf::function(init = setup)]
async fn handler(event: serde_json::Value, counter: &mut Counter) -> serde_json::Value {
    counter.0 += 1;
    event
}
