//! With the `multi-thread` feature, `flavor = "multi_thread"` compiles warning-free. The
//! handler lives in a module so its generated `main` is only named here (running it would
//! need the platform's runtime API).

#![deny(warnings)]

mod multi {
    #[scf::function(flavor = "multi_thread")]
    pub async fn handler(event: serde_json::Value) -> serde_json::Value {
        event
    }
}

fn main() {
    let _: fn() = multi::main;
}
