//! An `impl Serialize` return type.

#[scf::function(main = false)]
async fn handler(words: Vec<String>) -> impl serde::Serialize {
    words.len()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let out = handler(vec!["a".into(), "b".into()]).await;
    assert_eq!(serde_json::to_value(out).unwrap(), serde_json::json!(2));
}
