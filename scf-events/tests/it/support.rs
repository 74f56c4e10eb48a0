//! Helpers shared by the test modules.

use serde_json::Value;

/// The bundled fixture `fixtures/<name>.json`, parsed.
pub(crate) fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
}

/// Whether the cargo feature that types events of `kind` is on (`custom`, and any kind without a
/// feature, is always "typed").
pub(crate) fn feature_on(kind: &str) -> bool {
    const FEATURES: &[(&str, bool)] = &[
        ("apigw", cfg!(feature = "apigw")),
        ("apigw_websocket", cfg!(feature = "apigw")),
        ("function_url", cfg!(feature = "function_url")),
        ("clb", cfg!(feature = "clb")),
        ("timer", cfg!(feature = "timer")),
        ("cos", cfg!(feature = "cos")),
        ("ckafka", cfg!(feature = "ckafka")),
        ("cmq", cfg!(feature = "cmq")),
        ("cls", cfg!(feature = "cls")),
        ("mps", cfg!(feature = "mps")),
        ("eventbridge", cfg!(feature = "eventbridge")),
    ];
    FEATURES
        .iter()
        .find(|(name, _)| *name == kind)
        .is_none_or(|(_, on)| *on)
}
