//! Bundled sample events (feature `fixtures`), one per trigger and documented variant, so handler
//! tests need no copied JSON.
//!
//! Names are the file stems under `scf-events/fixtures/`: `<trigger>-<variant>`, e.g. `cos-put`,
//! `apigw-get`, `apigw-ws-connect`, `function-url-post`, `clb-doc-new`, `timer-doc`,
//! `eventbridge-batch`, `custom-object`. Integrated replies are named `apigw-response-*`. Each file
//! is our own sample following a documented layout; `fixtures/*.md` lists where each comes from.
//!
//! ```
//! let raw = scf_events::fixtures::get("timer-doc").expect("bundled");
//! let event: scf_events::AnyEvent = serde_json::from_str(raw).unwrap();
//! # #[cfg(feature = "timer")]
//! assert_eq!(event.kind(), "timer");
//! assert!(scf_events::fixtures::names().any(|n| n == "apigw-get"));
//! ```

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// The JSON text of the fixture `name`, or `None` when there is none by that name.
pub fn get(name: &str) -> Option<&'static str> {
    FIXTURES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| FIXTURES[i].1)
}

/// Every fixture name, sorted.
pub fn names() -> impl ExactSizeIterator<Item = &'static str> {
    FIXTURES.iter().map(|(name, _)| *name)
}

/// Every fixture as `(name, JSON text)`, sorted by name.
pub fn all() -> impl ExactSizeIterator<Item = (&'static str, &'static str)> {
    FIXTURES.iter().copied()
}
