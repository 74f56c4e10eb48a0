//! `async fn(E, &Context) -> R`: a plain (non-`Result`) response and a borrowed context.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Greet {
    name: String,
}

#[derive(Serialize, Debug, PartialEq)]
struct Greeting {
    text: String,
    memory_mb: u64,
}

#[scf::function(main = false)]
async fn handler(event: Greet, ctx: &scf::Context) -> Greeting {
    Greeting {
        text: format!("hello, {}", event.name),
        memory_mb: ctx.memory_limit_mb(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ctx = scf::Context::builder().memory_limit_mb(256).build();
    let answer = handler(Greet { name: "ada".into() }, &ctx).await;
    assert_eq!(
        answer,
        Greeting {
            text: "hello, ada".into(),
            memory_mb: 256
        }
    );
}
