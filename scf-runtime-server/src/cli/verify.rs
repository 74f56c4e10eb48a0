//! Post-build verification of a `bootstrap`: will this file start on SCF's Custom Runtime image?
//!
//! SCF runs bootstraps on CentOS 7 (glibc 2.17, x86_64). A binary linked on a current
//! distribution usually needs newer glibc symbol versions and fails there with
//! `version 'GLIBC_2.xx' not found`. [`verify`] reads the ELF and reports, with the culprit named:
//!
//! * the machine type (x86_64, or aarch64 when asked);
//! * static or dynamic linking, and the `PT_INTERP` path a dynamic binary needs;
//! * the highest `GLIBC_x.y` among the versions it requires (`.gnu.version_r`), with the symbols
//!   and library behind every version above the target (`getrandom@GLIBC_2.25 from libc.so.6`);
//! * the `DT_NEEDED` libraries that are not on the CentOS 7 base image;
//! * the executable bit.
//!
//! ```no_run
//! use scf_runtime_server::cli::verify::{verify, VerifyOptions};
//! let report = verify("target/x86_64-unknown-linux-musl/release/bootstrap".as_ref(), &VerifyOptions::default())?;
//! print!("{report}");
//! assert!(report.is_ok());
//! # Ok::<(), scf_runtime_server::cli::ToolError>(())
//! ```

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use goblin::elf::Elf;
use goblin::elf::header::{EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC};

use super::ToolError;

/// The CPU architecture a bootstrap must be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Arch {
    /// x86_64: SCF's Custom Runtime architecture.
    #[default]
    X86_64,
    /// 64-bit ARM.
    Aarch64,
}

impl Arch {
    /// The name used in target triples and reports (`x86_64`, `aarch64`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The dynamic loader a glibc binary of this architecture names in `PT_INTERP`.
    pub fn glibc_interpreter(self) -> &'static str {
        match self {
            Arch::X86_64 => "/lib64/ld-linux-x86-64.so.2",
            Arch::Aarch64 => "/lib/ld-linux-aarch64.so.1",
        }
    }

    /// The dynamic loader's `DT_NEEDED` name for this architecture.
    fn loader_soname(self) -> &'static str {
        match self {
            Arch::X86_64 => "ld-linux-x86-64.so.2",
            Arch::Aarch64 => "ld-linux-aarch64.so.1",
        }
    }

    fn machine(self) -> u16 {
        match self {
            Arch::X86_64 => EM_X86_64,
            Arch::Aarch64 => EM_AARCH64,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = ToolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x86_64" | "amd64" | "x86-64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            other => Err(ToolError::new(format!(
                "unknown architecture `{other}`: expected x86_64 or aarch64 (arm64)"
            ))),
        }
    }
}

/// A dotted symbol version such as `2.17` or `2.2.5` (the part after `GLIBC_`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(Vec<u32>);

impl Version {
    /// glibc 2.17: what CentOS 7, and so SCF's Custom Runtime image, ships.
    pub fn glibc_2_17() -> Self {
        Version(vec![2, 17])
    }

    /// The version's numeric parts (`[2, 2, 5]` for `2.2.5`).
    pub fn parts(&self) -> &[u32] {
        &self.0
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // Missing trailing parts count as zero: 2.17 == 2.17.0 < 2.17.1.
        let len = self.0.len().max(other.0.len());
        for i in 0..len {
            let a = self.0.get(i).copied().unwrap_or(0);
            let b = other.0.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Version {
    type Err = ToolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Result<Vec<u32>, _> = s.split('.').map(str::parse::<u32>).collect();
        match parts {
            Ok(parts) if !parts.is_empty() => Ok(Version(parts)),
            _ => Err(ToolError::new(format!(
                "`{s}` is not a version: expected numbers separated by dots, such as 2.17"
            ))),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{part}")?;
        }
        Ok(())
    }
}

/// The libraries on the CentOS 7 base image that a bootstrap may link dynamically: glibc's own
/// libraries, the GCC runtime and zlib.
pub const CENTOS7_LIBRARIES: &[&str] = &[
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libcrypt.so.1",
    "libnsl.so.1",
    "libanl.so.1",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libz.so.1",
];

/// What [`verify`] checks a binary against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The architecture the binary must be built for (default x86_64).
    pub arch: Arch,
    /// The newest glibc symbol version the binary may require (default 2.17).
    pub max_glibc: Version,
    /// `DT_NEEDED` names the target image provides (default [`CENTOS7_LIBRARIES`]).
    pub allowed_libraries: Vec<String>,
    /// Require a statically linked binary (a musl build): any interpreter or needed library is
    /// then a problem.
    pub require_static: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            arch: Arch::X86_64,
            max_glibc: Version::glibc_2_17(),
            allowed_libraries: CENTOS7_LIBRARIES.iter().map(|s| (*s).to_owned()).collect(),
            require_static: false,
        }
    }
}

/// Version caps for the other versioned libraries of CentOS 7 (GCC 4.8.5's runtime).
const OTHER_VERSION_CAPS: &[(&str, &[u32])] = &[
    ("GCC_", &[4, 8, 0]),
    ("GLIBCXX_", &[3, 4, 19]),
    ("CXXABI_", &[1, 3, 7]),
];

/// How the binary is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Linking {
    /// No interpreter and no needed libraries: runs anywhere with the right kernel.
    Static,
    /// Position-independent and static (what the musl target produces).
    StaticPie,
    /// Loaded by a dynamic loader (`PT_INTERP`) with needed libraries.
    Dynamic,
    /// A script started through its `#!` line.
    Script,
}

impl fmt::Display for Linking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Linking::Static => "static",
            Linking::StaticPie => "static-pie",
            Linking::Dynamic => "dynamic",
            Linking::Script => "script",
        })
    }
}

/// One versioned symbol the binary imports: `getrandom@GLIBC_2.25 from libc.so.6`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SymbolRequirement {
    /// The symbol's name (`getrandom`).
    pub symbol: String,
    /// The full version name (`GLIBC_2.25`).
    pub version: String,
    /// The library that must define it (`libc.so.6`).
    pub library: String,
}

impl fmt::Display for SymbolRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} from {}", self.symbol, self.version, self.library)
    }
}

/// One reason the binary would not start on the target image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Not an ELF file and not a `#!` script.
    NotElf {
        /// Why it was not read as ELF.
        reason: String,
    },
    /// An ELF file that is not an executable (an object file, a core dump...).
    NotExecutableElf {
        /// The ELF type found (`REL`, `CORE`...).
        kind: String,
    },
    /// The executable bit is not set.
    NotExecutable {
        /// The file's permission bits.
        mode: u32,
    },
    /// Built for another CPU.
    WrongArch {
        /// The machine found in the header.
        found: String,
        /// The machine expected.
        expected: Arch,
    },
    /// 32-bit or big-endian where a 64-bit little-endian binary is needed.
    WrongClass {
        /// What was found.
        found: String,
    },
    /// A dynamic loader other than the target's.
    Interpreter {
        /// The `PT_INTERP` found.
        found: String,
        /// The loader the target has.
        expected: &'static str,
    },
    /// Dynamically linked although a static binary was required.
    NotStatic {
        /// The `PT_INTERP` found, if any.
        interpreter: Option<String>,
    },
    /// Requires symbol versions newer than the target's library provides.
    VersionTooNew {
        /// The highest version required (`GLIBC_2.34`).
        required: String,
        /// The highest version the target has (`GLIBC_2.17`).
        available: String,
        /// The imported symbols that need a version above `available`, newest first.
        symbols: Vec<SymbolRequirement>,
    },
    /// Requires `GLIBC_PRIVATE`, which differs between every glibc build.
    PrivateGlibc {
        /// The symbols that need it.
        symbols: Vec<SymbolRequirement>,
    },
    /// Needs a library the target image does not have.
    MissingLibrary {
        /// The `DT_NEEDED` name.
        name: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotElf { reason } => write!(
                f,
                "not an ELF executable ({reason}): a bootstrap is a Linux binary or a `#!` script"
            ),
            Problem::NotExecutableElf { kind } => write!(
                f,
                "an ELF file of type {kind}, not an executable: package the binary cargo built, not an object or library"
            ),
            Problem::NotExecutable { mode } => write!(
                f,
                "not executable (mode {:o}): SCF refuses a bootstrap without the executable bit; run `chmod 755` on it",
                mode & 0o7777
            ),
            Problem::WrongArch { found, expected } => write!(
                f,
                "built for {found}, but the target runs {expected}: build with `cargo scf build` (target {expected}-unknown-linux-musl)"
            ),
            Problem::WrongClass { found } => write!(
                f,
                "a {found} ELF file, but the target needs a 64-bit little-endian one"
            ),
            Problem::Interpreter { found, expected } => write!(
                f,
                "loader {found} does not exist on the target (it has {expected}): build with `cargo scf build --target musl` for a static binary"
            ),
            Problem::NotStatic { interpreter } => match interpreter {
                Some(interp) => write!(
                    f,
                    "dynamically linked (loader {interp}) where a static binary was expected: build for x86_64-unknown-linux-musl"
                ),
                None => f.write_str(
                    "needs shared libraries where a static binary was expected: build for x86_64-unknown-linux-musl",
                ),
            },
            Problem::VersionTooNew {
                required,
                available,
                symbols,
            } => {
                write!(
                    f,
                    "requires {required}, but the target provides at most {available} (SCF runs CentOS 7)"
                )?;
                write_symbols(f, symbols)?;
                write!(
                    f,
                    "\n    fix: `cargo scf build --target musl` (static; `rustup target add x86_64-unknown-linux-musl`) \
                     or `cargo scf build --target glibc2.17` (cargo-zigbuild with zig)"
                )
            }
            Problem::PrivateGlibc { symbols } => {
                f.write_str("requires GLIBC_PRIVATE symbols, which only the glibc build it was linked against has")?;
                write_symbols(f, symbols)?;
                f.write_str("\n    fix: `cargo scf build --target musl`")
            }
            Problem::MissingLibrary { name } => write!(
                f,
                "needs {name}, which the CentOS 7 image does not have\n    \
                 fix: link it statically (the musl target, or the crate's `vendored`/`static` feature), \
                 or ship it in a layer under /opt (on LD_LIBRARY_PATH with /var/user)"
            ),
        }
    }
}

/// How many offending symbols a report prints per problem before summarising.
const SHOWN_SYMBOLS: usize = 12;

fn write_symbols(f: &mut fmt::Formatter<'_>, symbols: &[SymbolRequirement]) -> fmt::Result {
    for symbol in symbols.iter().take(SHOWN_SYMBOLS) {
        write!(f, "\n    {symbol}")?;
    }
    if symbols.len() > SHOWN_SYMBOLS {
        write!(f, "\n    … and {} more", symbols.len() - SHOWN_SYMBOLS)?;
    }
    Ok(())
}

/// What [`verify`] found in one file: its shape and every problem, empty when it will start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The file checked.
    pub path: PathBuf,
    /// The machine type in the ELF header (`x86_64`, `aarch64`, …); `None` for a script or a
    /// file that is not ELF.
    pub machine: Option<String>,
    /// How the file is linked or started; `None` when it is not ELF.
    pub linking: Option<Linking>,
    /// The dynamic loader (`PT_INTERP`), or the `#!` line of a script.
    pub interpreter: Option<String>,
    /// The `DT_NEEDED` libraries, in file order.
    pub needed: Vec<String>,
    /// The highest `GLIBC_x.y` version the binary requires, if it uses versioned glibc symbols.
    pub max_glibc: Option<Version>,
    /// The glibc version checked against.
    pub glibc_limit: Version,
    /// Every reason the file would not start on the target; empty when it passes.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether the file passed every check.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Every offending symbol of the glibc-version problems (`getrandom@GLIBC_2.25 from libc.so.6`).
    pub fn offending_symbols(&self) -> impl Iterator<Item = &SymbolRequirement> {
        self.problems.iter().flat_map(|p| match p {
            Problem::VersionTooNew { symbols, .. } | Problem::PrivateGlibc { symbols } => {
                symbols.as_slice()
            }
            _ => &[],
        })
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.is_ok() {
            "ok"
        } else {
            "WILL NOT RUN ON SCF"
        };
        writeln!(f, "verify {}: {verdict}", self.path.display())?;
        if let Some(machine) = &self.machine {
            writeln!(f, "  architecture: {machine}")?;
        }
        if let Some(linking) = self.linking {
            writeln!(f, "  linking:      {linking}")?;
        }
        if let Some(interp) = &self.interpreter {
            writeln!(f, "  interpreter:  {interp}")?;
        }
        if !self.needed.is_empty() {
            writeln!(f, "  needs:        {}", self.needed.join(", "))?;
        }
        match &self.max_glibc {
            Some(v) => writeln!(
                f,
                "  glibc:        requires GLIBC_{v} (limit GLIBC_{})",
                self.glibc_limit
            )?,
            None if self.linking == Some(Linking::Dynamic) => {
                writeln!(f, "  glibc:        no versioned glibc symbols")?
            }
            None => {}
        }
        for problem in &self.problems {
            writeln!(f, "  error: {problem}")?;
        }
        Ok(())
    }
}

/// Reads the file at `path` and checks that it will start on the target `options` describe.
///
/// Fails only when the file cannot be read; everything wrong with its contents is a
/// [`Problem`] in the report.
pub fn verify(path: &Path, options: &VerifyOptions) -> Result<VerifyReport, ToolError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ToolError::new(format!("cannot read {}: {e}", path.display())))?;
    let mode = file_mode(path)?;
    let mut report = verify_bytes(path, &bytes, options);
    if mode & 0o111 == 0 {
        report.problems.insert(0, Problem::NotExecutable { mode });
    }
    Ok(report)
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Result<u32, ToolError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| ToolError::new(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(ToolError::new(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(meta.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Result<u32, ToolError> {
    Ok(0o755)
}

/// Checks an in-memory file as [`verify`] does, except for the executable bit.
pub fn verify_bytes(path: &Path, bytes: &[u8], options: &VerifyOptions) -> VerifyReport {
    let mut report = VerifyReport {
        path: path.to_owned(),
        machine: None,
        linking: None,
        interpreter: None,
        needed: Vec::new(),
        max_glibc: None,
        glibc_limit: options.max_glibc.clone(),
        problems: Vec::new(),
    };
    if let Some(rest) = bytes.strip_prefix(b"#!") {
        let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
        report.linking = Some(Linking::Script);
        report.interpreter = Some(String::from_utf8_lossy(line).trim().to_owned());
        return report;
    }
    let elf = match Elf::parse(bytes) {
        Ok(elf) => elf,
        Err(e) => {
            report.problems.push(Problem::NotElf {
                reason: e.to_string(),
            });
            return report;
        }
    };
    check_elf(&elf, options, &mut report);
    report
}

fn check_elf(elf: &Elf<'_>, options: &VerifyOptions, report: &mut VerifyReport) {
    let header = &elf.header;
    report.machine = Some(machine_name(header.e_machine));
    if header.e_machine != options.arch.machine() {
        report.problems.push(Problem::WrongArch {
            found: machine_name(header.e_machine),
            expected: options.arch,
        });
    }
    if !elf.is_64 || !elf.little_endian {
        report.problems.push(Problem::WrongClass {
            found: format!(
                "{}-bit {}-endian",
                if elf.is_64 { 64 } else { 32 },
                if elf.little_endian { "little" } else { "big" }
            ),
        });
    }
    if header.e_type != ET_EXEC && header.e_type != ET_DYN {
        report.problems.push(Problem::NotExecutableElf {
            kind: goblin::elf::header::et_to_str(header.e_type).to_owned(),
        });
    }

    report.interpreter = elf.interpreter.map(str::to_owned);
    report.needed = elf.libraries.iter().map(|s| (*s).to_owned()).collect();
    let dynamic = report.interpreter.is_some() || !report.needed.is_empty();
    report.linking = Some(if dynamic {
        Linking::Dynamic
    } else if header.e_type == ET_DYN {
        Linking::StaticPie
    } else {
        Linking::Static
    });

    if options.require_static && dynamic {
        report.problems.push(Problem::NotStatic {
            interpreter: report.interpreter.clone(),
        });
    }
    if let Some(interp) = &report.interpreter {
        let expected = options.arch.glibc_interpreter();
        if interp != expected {
            report.problems.push(Problem::Interpreter {
                found: interp.clone(),
                expected,
            });
        }
    }
    for name in &report.needed {
        let allowed = options.allowed_libraries.iter().any(|a| a == name)
            || name == options.arch.loader_soname();
        if !allowed {
            report
                .problems
                .push(Problem::MissingLibrary { name: name.clone() });
        }
    }
    check_versions(elf, options, report);
}

/// One `.gnu.version_r` entry: a version name required from a library.
struct Needed {
    library: String,
    version: String,
}

fn check_versions(elf: &Elf<'_>, options: &VerifyOptions, report: &mut VerifyReport) {
    let Some(verneed) = &elf.verneed else {
        return;
    };
    // Version index (vna_other) -> what it names.
    let mut needed: BTreeMap<u16, Needed> = BTreeMap::new();
    for file in verneed.iter() {
        let library = elf.dynstrtab.get_at(file.vn_file).unwrap_or("?").to_owned();
        for aux in file.iter() {
            let version = elf.dynstrtab.get_at(aux.vna_name).unwrap_or("?").to_owned();
            needed.insert(
                aux.vna_other,
                Needed {
                    library: library.clone(),
                    version,
                },
            );
        }
    }

    // Symbols per version index. The loader checks every required version whether or not a
    // symbol uses it, so the versions come from .gnu.version_r and the symbols only name them.
    let mut symbols: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    if let Some(versym) = &elf.versym {
        for (i, sym) in elf.dynsyms.iter().enumerate() {
            if sym.st_shndx != 0 {
                continue; // defined here, not imported
            }
            let Some(vs) = versym.get_at(i) else { continue };
            let index = vs.version();
            if needed.contains_key(&index)
                && let Some(name) = elf.dynstrtab.get_at(sym.st_name)
                && !name.is_empty()
            {
                symbols.entry(index).or_default().push(name.to_owned());
            }
        }
    }

    let limit = &options.max_glibc;
    let mut too_new: BTreeMap<String, (Version, Vec<SymbolRequirement>)> = BTreeMap::new();
    let mut private = Vec::new();
    for (index, need) in &needed {
        let requirements = || -> Vec<SymbolRequirement> {
            let mut names = symbols.get(index).cloned().unwrap_or_default();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|symbol| SymbolRequirement {
                    symbol,
                    version: need.version.clone(),
                    library: need.library.clone(),
                })
                .collect()
        };
        if need.version == "GLIBC_PRIVATE" {
            private.extend(requirements());
            continue;
        }
        if let Some(v) = need.version.strip_prefix("GLIBC_") {
            let Ok(version) = v.parse::<Version>() else {
                continue;
            };
            if report.max_glibc.as_ref().is_none_or(|max| version > *max) {
                report.max_glibc = Some(version.clone());
            }
            if version > *limit {
                let entry = too_new
                    .entry("GLIBC_".to_owned())
                    .or_insert_with(|| (version.clone(), Vec::new()));
                if version > entry.0 {
                    entry.0 = version;
                }
                entry.1.extend(requirements());
            }
            continue;
        }
        for (prefix, cap) in OTHER_VERSION_CAPS {
            if let Some(v) = need.version.strip_prefix(prefix)
                && let Ok(version) = v.parse::<Version>()
                && version > Version(cap.to_vec())
            {
                let entry = too_new
                    .entry((*prefix).to_owned())
                    .or_insert_with(|| (version.clone(), Vec::new()));
                if version > entry.0 {
                    entry.0 = version;
                }
                entry.1.extend(requirements());
            }
        }
    }

    for (prefix, (version, mut symbols)) in too_new {
        // Newest version first, then by name, so the worst offenders lead the list.
        symbols.sort_by(|a, b| {
            let va = version_of(&a.version);
            let vb = version_of(&b.version);
            vb.cmp(&va).then_with(|| a.cmp(b))
        });
        let available = if prefix == "GLIBC_" {
            format!("GLIBC_{limit}")
        } else {
            let cap = OTHER_VERSION_CAPS
                .iter()
                .find(|(p, _)| *p == prefix)
                .map(|(_, cap)| Version(cap.to_vec()))
                .unwrap_or_else(|| Version(vec![0]));
            format!("{prefix}{cap}")
        };
        report.problems.push(Problem::VersionTooNew {
            required: format!("{prefix}{version}"),
            available,
            symbols,
        });
    }
    if !private.is_empty() {
        report
            .problems
            .push(Problem::PrivateGlibc { symbols: private });
    }
}

fn version_of(full: &str) -> Version {
    full.rsplit_once('_')
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| Version(vec![0]))
}

fn machine_name(machine: u16) -> String {
    match machine {
        EM_X86_64 => "x86_64".to_owned(),
        EM_AARCH64 => "aarch64".to_owned(),
        other => goblin::elf::header::machine_to_str(other).to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically_with_missing_parts_as_zero() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert!(v("2.2.5") < v("2.17"));
        assert!(v("2.17") < v("2.25"));
        assert_eq!(v("2.17").cmp(&v("2.17.0")), Ordering::Equal);
        assert!(v("2.17.1") > v("2.17"));
        assert_eq!(v("2.2.5").to_string(), "2.2.5");
        assert!("2.x".parse::<Version>().is_err());
        assert!("".parse::<Version>().is_err());
    }

    #[test]
    fn a_script_is_reported_with_its_interpreter() {
        let report = verify_bytes(
            Path::new("scf_bootstrap"),
            b"#!/bin/bash\nexec ./server\n",
            &VerifyOptions::default(),
        );
        assert!(report.is_ok());
        assert_eq!(report.linking, Some(Linking::Script));
        assert_eq!(report.interpreter.as_deref(), Some("/bin/bash"));
    }

    #[test]
    fn garbage_is_not_elf() {
        let report = verify_bytes(
            Path::new("bootstrap"),
            b"hello world, not a binary",
            &VerifyOptions::default(),
        );
        assert!(!report.is_ok());
        assert!(matches!(report.problems[0], Problem::NotElf { .. }));
        assert!(report.to_string().contains("not an ELF executable"));
    }

    #[test]
    fn arch_parses_common_spellings() {
        assert_eq!("arm64".parse::<Arch>().unwrap(), Arch::Aarch64);
        assert_eq!("x86_64".parse::<Arch>().unwrap(), Arch::X86_64);
        let err = "mips".parse::<Arch>().unwrap_err();
        assert!(err.to_string().contains("mips"));
    }
}
