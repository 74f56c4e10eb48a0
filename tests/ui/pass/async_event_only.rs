//! `async fn(E) -> Result<R, scf::Error>`, with `main = false` and the handler called
//! directly.

#![deny(warnings)] // the generated code is warning-free

use serde_json::{Value, json};

#[scf::function(main = false)]
async fn handler(event: Value) -> Result<Value, scf::Error> {
    Ok(json!({ "got": event }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let answer = handler(json!(1)).await.unwrap();
    assert_eq!(answer, json!({ "got": 1 }));
}
