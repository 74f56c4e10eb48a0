//! The server's config loader: any `scf.toml` text is a `Config` or a `ConfigError` naming the
//! file, a position inside the text and what is wrong; never a panic. A loaded config is
//! internally consistent (unique function names, each findable by name, checked limits).
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use scf_runtime_server::Config;

/// An empty folder to anchor relative paths: bootstraps named by the input do not exist there.
static BASE: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("a temporary folder"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = Path::new("scf.toml");
    match Config::parse(text, file, BASE.path()) {
        Ok(config) => {
            for function in &config.functions {
                let found = config
                    .function(&function.name)
                    .expect("a loaded function is found");
                assert!(
                    std::ptr::eq(found, function),
                    "two functions named {}",
                    function.name
                );
                assert!(
                    function.memory_mb >= 64,
                    "{}: memory_mb {}",
                    function.name,
                    function.memory_mb
                );
            }
            assert!(config.server.queue_length > 0 && config.server.max_connections > 0);
            let _ = (config.packages(), config.ckafka_triggers());
        }
        Err(e) => {
            assert_eq!(e.file, file);
            assert!(!e.message.is_empty(), "an error without a message: {e:?}");
            if let Some((line, column)) = e.position {
                let lines = text.split('\n').count();
                assert!(line >= 1 && line <= lines, "line {line} of {lines}: {e}");
                assert!(column >= 1, "{e}");
            }
            let shown = e.to_string();
            assert!(shown.starts_with("scf.toml"), "{shown}");
        }
    }
});
