//! No return type (the response is `null`), options with a trailing comma, and the
//! handler is still an ordinary function that other code can call.

use std::sync::atomic::{AtomicU32, Ordering};

static SEEN: AtomicU32 = AtomicU32::new(0);

#[scf::function(main = false,)]
async fn handler(_event: serde::de::IgnoredAny) {
    SEEN.fetch_add(1, Ordering::SeqCst);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    handler(serde::de::IgnoredAny).await;
    handler(serde::de::IgnoredAny).await;
    assert_eq!(SEEN.load(Ordering::SeqCst), 2);
}
