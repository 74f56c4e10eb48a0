//! Generates the table of bundled fixtures (`fixtures/*.json`) for `scf_events::fixtures`.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=fixtures");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("fixtures");
    let mut fixtures = Vec::new();
    if let Ok(entries) = fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if stem.is_empty()
                || !stem
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                println!("cargo:warning=fixture {path:?} skipped: name must be [a-z0-9_-]");
                continue;
            }
            fixtures.push((stem.to_owned(), path.display().to_string()));
        }
    }
    fixtures.sort();
    let mut out = String::from(
        "/// Every bundled fixture, `(name, JSON)`, sorted by name.\n\
         pub(crate) static FIXTURES: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &fixtures {
        writeln!(out, "    ({name:?}, include_str!({path:?})),").expect("writing to a String");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("fixtures.rs");
    fs::write(&dest, out).expect("writing the fixture table");
}
