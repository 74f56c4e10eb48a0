//! Links the unwinder statically into dynamically linked glibc bootstraps.
//!
//! Rust's standard library gets its unwinder (panics, backtraces) from `libgcc_s.so.1` on
//! `*-linux-gnu`. Loading that library costs every instance about 80 KiB of resident memory
//! and the loader's time to map and relocate it, for code that runs only when a panic
//! unwinds. Linking `libgcc_eh.a`, the same unwinder as a static archive (what
//! `gcc -static-libgcc` does), ahead of the standard library's `-lgcc_s` satisfies those
//! symbols first, and the linker (`--as-needed`) then drops `libgcc_s.so.1`. Panics are still
//! caught and reported the same way.
//!
//! Only when the linker has the archive: `cc -print-file-name=libgcc_eh.a` prints its path
//! (gcc, and clang on a gcc install, do; `zig cc` for the glibc 2.17 route does not, and then
//! nothing changes). Static and musl builds already link their unwinder statically.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["RUSTC_LINKER", "CC", "SCF_DYNAMIC_LIBGCC"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let crt_static = env::var("CARGO_CFG_TARGET_FEATURE")
        .unwrap_or_default()
        .split(',')
        .any(|feature| feature == "crt-static");
    // An escape hatch, for a bootstrap that must share one unwinder with C++ libraries it
    // loads.
    let opted_out = env::var_os("SCF_DYNAMIC_LIBGCC").is_some();
    if target_os != "linux" || target_env != "gnu" || crt_static || opted_out {
        return;
    }
    let linker = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    if linker_has_libgcc_eh(&linker) {
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}

/// Whether `linker` (a C compiler driver) finds `libgcc_eh.a` in its own search path.
fn linker_has_libgcc_eh(linker: &str) -> bool {
    let Ok(output) = Command::new(linker)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return false;
    };
    let printed = String::from_utf8_lossy(&output.stdout);
    let path = Path::new(printed.trim());
    // Not found, the driver prints the bare name back.
    output.status.success() && path.is_absolute() && path.is_file()
}
