//! Post-build verification on real binaries: musl, gcc-linked against new glibc symbols, a native
//! Rust build, a static C program, an unknown shared library and a patched machine type.

use crate::support::tools as support;

use scf_runtime_server::cli::verify::{Arch, Linking, Problem, VerifyOptions, Version, verify};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn a_musl_binary_passes() {
    if !support::have_rust_target("x86_64-unknown-linux-musl") {
        eprintln!(
            "SKIPPED: the x86_64-unknown-linux-musl std is not installed (rustup target add x86_64-unknown-linux-musl)"
        );
        return;
    }
    let dir = tempdir();
    let bin = support::rustc(
        dir.path(),
        "bootstrap",
        support::RUST_HELLO,
        Some("x86_64-unknown-linux-musl"),
    );
    let report = verify(&bin, &VerifyOptions::default()).unwrap();
    println!("{report}");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.machine.as_deref(), Some("x86_64"));
    assert!(matches!(
        report.linking,
        Some(Linking::Static | Linking::StaticPie)
    ));
    assert_eq!(report.interpreter, None);
    assert!(report.needed.is_empty());
    assert_eq!(report.max_glibc, None);
    // A musl build is what `--target musl` requires: static.
    let strict = VerifyOptions {
        require_static: true,
        ..VerifyOptions::default()
    };
    assert!(verify(&bin, &strict).unwrap().is_ok());
    assert!(report.to_string().contains(": ok"));
}

const GETRANDOM_C: &str = r#"
#include <sys/random.h>
#include <stdio.h>
int main(void) {
    unsigned char buf[8];
    if (getrandom(buf, sizeof buf, 0) < 0) return 1;
    printf("%u\n", buf[0]);
    return 0;
}
"#;

#[test]
fn a_new_glibc_symbol_is_named_with_its_library_and_a_fix() {
    if !support::have("gcc") {
        eprintln!("SKIPPED: gcc is not installed");
        return;
    }
    let dir = tempdir();
    let bin = support::gcc(dir.path(), "bootstrap", GETRANDOM_C, &[]);
    let report = verify(&bin, &VerifyOptions::default()).unwrap();
    let text = report.to_string();
    println!("{text}");
    assert!(!report.is_ok());
    assert_eq!(report.linking, Some(Linking::Dynamic));
    assert_eq!(
        report.interpreter.as_deref(),
        Some("/lib64/ld-linux-x86-64.so.2")
    );
    assert!(report.needed.iter().any(|n| n == "libc.so.6"));
    assert!(report.max_glibc.clone().unwrap() >= "2.25".parse::<Version>().unwrap());
    assert!(
        report.offending_symbols().any(|s| s.symbol == "getrandom"
            && s.version == "GLIBC_2.25"
            && s.library == "libc.so.6"),
        "{text}"
    );
    assert!(
        text.contains("getrandom@GLIBC_2.25 from libc.so.6"),
        "{text}"
    );
    assert!(text.contains("WILL NOT RUN ON SCF"), "{text}");
    assert!(text.contains("--target musl"), "{text}");
    assert!(text.contains("glibc2.17"), "{text}");
    // Symbols old enough for CentOS 7 (printf@GLIBC_2.2.5) are not blamed.
    assert!(!report.offending_symbols().any(|s| s.symbol == "printf"));

    // With a newer target glibc, getrandom is fine (2.25 <= 2.40).
    let newer = VerifyOptions {
        max_glibc: "2.40".parse().unwrap(),
        ..VerifyOptions::default()
    };
    let report = verify(&bin, &newer).unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn a_native_rust_build_needs_more_than_glibc_2_17() {
    let dir = tempdir();
    let bin = support::rustc(dir.path(), "bootstrap", support::RUST_HELLO, None);
    let report = verify(&bin, &VerifyOptions::default()).unwrap();
    let text = report.to_string();
    println!("{text}");
    let max = report
        .max_glibc
        .clone()
        .expect("a glibc build has versioned symbols");
    if max <= Version::glibc_2_17() {
        // Only on a host whose glibc is as old as CentOS 7's; then it rightly passes.
        eprintln!("SKIPPED: this host links against GLIBC_{max} only, so nothing is too new");
        assert!(report.is_ok(), "{text}");
        return;
    }
    assert!(!report.is_ok());
    let newest: Vec<_> = report
        .offending_symbols()
        .filter(|s| s.version == format!("GLIBC_{max}"))
        .collect();
    assert!(
        !newest.is_empty(),
        "the newest version's symbols are named: {text}"
    );
    assert!(text.contains(&format!("requires GLIBC_{max}")), "{text}");
    assert!(text.contains(&newest[0].to_string()), "{text}");
}

#[test]
fn a_static_c_program_passes_and_is_static() {
    if !support::have("gcc") {
        eprintln!("SKIPPED: gcc is not installed");
        return;
    }
    let dir = tempdir();
    let src = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n";
    let c = dir.path().join("probe.c");
    std::fs::write(&c, src).unwrap();
    let probe = std::process::Command::new("gcc")
        .args(["-static", "-o"])
        .arg(dir.path().join("probe"))
        .arg(&c)
        .output()
        .unwrap();
    if !probe.status.success() {
        eprintln!("SKIPPED: gcc cannot link statically here (no libc.a)");
        return;
    }
    let report = verify(&dir.path().join("probe"), &VerifyOptions::default()).unwrap();
    println!("{report}");
    assert!(report.is_ok(), "{report}");
    assert!(matches!(
        report.linking,
        Some(Linking::Static | Linking::StaticPie)
    ));
    assert!(report.needed.is_empty());
}

#[test]
fn a_library_missing_from_centos_7_is_named() {
    if !support::have("gcc") {
        eprintln!("SKIPPED: gcc is not installed");
        return;
    }
    let dir = tempdir();
    support::gcc(
        dir.path(),
        "libextra.so",
        "int extra(void) { return 7; }\n",
        &["-shared", "-fPIC"],
    );
    let bin = support::gcc(
        dir.path(),
        "bootstrap",
        "int extra(void);\nint main(void) { return extra() - 7; }\n",
        &["-L.", "-lextra", "-Wl,--no-as-needed"],
    );
    let report = verify(&bin, &VerifyOptions::default()).unwrap();
    let text = report.to_string();
    println!("{text}");
    assert!(
        report.problems.contains(&Problem::MissingLibrary {
            name: "libextra.so".into()
        }),
        "{text}"
    );
    assert!(text.contains("needs libextra.so"), "{text}");
    assert!(text.contains("/opt"), "the layer hint is given: {text}");
    // libc.so.6 is on CentOS 7 and is not blamed.
    assert!(!text.contains("needs libc.so.6"), "{text}");
}

#[test]
fn wrong_architecture_and_missing_exec_bit_are_refused() {
    let dir = tempdir();
    let bin = support::rustc(dir.path(), "bootstrap", "fn main() {}", None);
    let mut bytes = std::fs::read(&bin).unwrap();
    // e_machine (offset 18, little endian): 183 = EM_AARCH64.
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    let patched = dir.path().join("arm-bootstrap");
    std::fs::write(&patched, &bytes).unwrap(); // written without the executable bit
    let options = VerifyOptions {
        max_glibc: "2.99".parse().unwrap(),
        ..VerifyOptions::default()
    };
    let report = verify(&patched, &options).unwrap();
    let text = report.to_string();
    println!("{text}");
    assert_eq!(report.machine.as_deref(), Some("aarch64"));
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            Problem::WrongArch { found, expected: Arch::X86_64 } if found == "aarch64"
        )),
        "{text}"
    );
    assert!(text.contains("built for aarch64"), "{text}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::NotExecutable { .. }))
    );
    assert!(text.contains("chmod 755"), "{text}");

    // Asked for aarch64, the architecture passes, but the x86_64 loader path does not fit it.
    let arm = VerifyOptions {
        arch: Arch::Aarch64,
        ..options
    };
    let report = verify(&patched, &arm).unwrap();
    assert!(
        !report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::WrongArch { .. }))
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::Interpreter { .. }))
    );
}

#[test]
fn an_unreadable_path_is_an_error_naming_it() {
    let err = verify(
        std::path::Path::new("/nonexistent/bootstrap"),
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/bootstrap"), "{err}");
}
