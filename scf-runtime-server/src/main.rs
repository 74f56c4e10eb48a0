//! `scf`: see `scf --help`.

fn main() -> std::process::ExitCode {
    scf_runtime_server::cli::main()
}
