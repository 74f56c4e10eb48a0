//! `crate = path`: the generated code reaches `scf` through a re-export.

#![deny(warnings)] // the generated code is warning-free

mod reexport {
    pub use scf as sdk;
}

mod handlers {
    #[scf::function(crate = crate::reexport::sdk, main = false)]
    pub async fn handler(event: serde_json::Value, _ctx: crate::reexport::sdk::Context) -> serde_json::Value {
        event
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let v = serde_json::json!({ "k": 1 });
    assert_eq!(handlers::handler(v.clone(), scf::Context::default()).await, v);
}
