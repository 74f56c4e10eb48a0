//! A deployed function's code: the base64 zip of `CreateFunction` / `UpdateFunctionCode`,
//! checked and unpacked once into a folder named after its SHA-256, which never changes after.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// The largest zip the Cloud API takes inline (`ZipFile`, before base64); larger code goes
/// through COS on SCF. See <https://www.tencentcloud.com/document/product/583/11637>.
pub const MAX_ZIP_BYTES: usize = 20 * 1024 * 1024;

/// The most an unpacked code package may hold (SCF's limit for code, unpacked).
pub const MAX_UNPACKED_BYTES: u64 = 500 * 1024 * 1024;

/// Unpacked code: where it is and what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// The folder holding the zip's files.
    pub dir: PathBuf,
    /// Hex SHA-256 of the zip.
    pub sha256: String,
    /// Size of the zip in bytes.
    pub size: u64,
}

/// Why code was refused; the message names the entry or limit at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeError(pub String);

impl std::fmt::Display for CodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Decodes `zip_base64` and unpacks it under `code_dir/<sha256>/` (kept as it is when that
/// folder exists already). Entries that would land outside the folder, links, and packages
/// over [`MAX_ZIP_BYTES`] zipped or [`MAX_UNPACKED_BYTES`] unpacked are refused.
pub fn unpack(zip_base64: &str, code_dir: &Path) -> Result<Unpacked, CodeError> {
    let zip = base64::engine::general_purpose::STANDARD
        .decode(zip_base64.trim())
        .map_err(|e| CodeError(format!("ZipFile is not base64: {e}")))?;
    if zip.len() > MAX_ZIP_BYTES {
        return Err(CodeError(format!(
            "the zip is {} bytes; ZipFile takes at most {MAX_ZIP_BYTES} (upload larger code through COS)",
            zip.len()
        )));
    }
    let sha256 = hex::encode(Sha256::digest(&zip));
    let dir = code_dir.join(&sha256);
    let unpacked = Unpacked {
        dir: dir.clone(),
        sha256,
        size: zip.len() as u64,
    };
    if dir.is_dir() {
        return Ok(unpacked);
    }
    let partial = code_dir.join(format!(".{}.partial", unpacked.sha256));
    let _ = std::fs::remove_dir_all(&partial);
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&partial)
            .map_err(|e| CodeError(format!("cannot create {}: {e}", partial.display())))?;
    }
    if let Err(e) = extract(&zip, &partial) {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &dir)
        .map_err(|e| CodeError(format!("cannot move code into {}: {e}", dir.display())))?;
    Ok(unpacked)
}

fn extract(zip: &[u8], into: &Path) -> Result<(), CodeError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|e| CodeError(format!("ZipFile is not a zip archive: {e}")))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| CodeError(format!("zip entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| CodeError(format!("zip entry {i} has an unreadable name: {e}")))?
            .into_owned();
        let relative = safe_path(&name).ok_or_else(|| {
            CodeError(format!("zip entry {name:?} points outside the code folder"))
        })?;
        let target = into.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| CodeError(format!("zip entry {name:?}: {e}")))?;
            continue;
        }
        let mode = entry.unix_mode().unwrap_or(0o644);
        if mode & 0o170000 == 0o120000 {
            return Err(CodeError(format!(
                "zip entry {name:?} is a symbolic link; code packages hold plain files"
            )));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CodeError(format!("zip entry {name:?}: {e}")))?;
        }
        let mut data = Vec::new();
        let room = MAX_UNPACKED_BYTES - total;
        (&mut entry)
            .take(room + 1)
            .read_to_end(&mut data)
            .map_err(|e| CodeError(format!("zip entry {name:?}: {e}")))?;
        total += data.len() as u64;
        if total > MAX_UNPACKED_BYTES {
            return Err(CodeError(format!(
                "the code is over {MAX_UNPACKED_BYTES} bytes unpacked (at entry {name:?})"
            )));
        }
        std::fs::write(&target, &data)
            .map_err(|e| CodeError(format!("zip entry {name:?}: {e}")))?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o755))
            .map_err(|e| CodeError(format!("zip entry {name:?}: {e}")))?;
    }
    Ok(())
}

/// `name` as a relative path with no `..`, root or prefix; `None` when it is not one.
fn safe_path(name: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn zip_of(entries: &[(&str, &[u8], u32)]) -> String {
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut out);
            for (name, data, mode) in entries {
                let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
                w.start_file(*name, options).unwrap();
                w.write_all(data).unwrap();
            }
            w.finish().unwrap();
        }
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    }

    #[test]
    fn unpacks_once_with_modes_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let zip = zip_of(&[
            ("bootstrap", b"#!/bin/sh\n", 0o755),
            ("lib/data.txt", b"x", 0o644),
        ]);
        let first = unpack(&zip, dir.path()).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(first.dir.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(std::fs::read(first.dir.join("lib/data.txt")).unwrap(), b"x");
        assert_eq!(
            unpack(&zip, dir.path()).unwrap(),
            first,
            "the same zip is the same folder"
        );

        let evil = zip_of(&[("../escape", b"x", 0o644)]);
        let e = unpack(&evil, dir.path()).unwrap_err();
        assert!(e.0.contains("outside the code folder"), "{e}");
        assert!(!dir.path().join("../escape").exists());

        let e = unpack("not base64!", dir.path()).unwrap_err();
        assert!(e.0.contains("not base64"), "{e}");
        let e = unpack(
            &base64::engine::general_purpose::STANDARD.encode(b"plain"),
            dir.path(),
        )
        .unwrap_err();
        assert!(e.0.contains("not a zip"), "{e}");
    }
}
