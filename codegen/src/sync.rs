//! Keeping the checked-in generated files in step with the spec.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::emit::GeneratedFile;

/// How a checked-in file differs from what the generator makes now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    /// The file's contents differ.
    Differs(PathBuf),
    /// The generator makes the file but it is not checked in.
    Missing(PathBuf),
    /// The file is checked in but the generator no longer makes it.
    Extra(PathBuf),
}

impl std::fmt::Display for Staleness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Staleness::Differs(p) => write!(f, "{} differs from what the spec produces", p.display()),
            Staleness::Missing(p) => write!(f, "{} is missing", p.display()),
            Staleness::Extra(p) => write!(f, "{} is no longer generated", p.display()),
        }
    }
}

/// Compares `files` with the `.rs` files in `dir`; empty when everything is fresh.
pub fn compare(files: &[GeneratedFile], dir: &Path) -> io::Result<Vec<Staleness>> {
    let mut out = Vec::new();
    for f in files {
        let path = dir.join(&f.name);
        match fs::read_to_string(&path) {
            // A checkout with CRLF line endings (git's autocrlf on Windows) is not stale.
            Ok(current) if current.replace("\r\n", "\n") == f.contents => {}
            Ok(_) => out.push(Staleness::Differs(path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => out.push(Staleness::Missing(path)),
            Err(e) => return Err(e),
        }
    }
    for path in existing_rs_files(dir)? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !files.iter().any(|f| f.name == name) {
            out.push(Staleness::Extra(path));
        }
    }
    Ok(out)
}

/// Writes `files` into `dir` (only those that changed) and removes `.rs` files no longer generated.
/// Returns what changed.
pub fn write(files: &[GeneratedFile], dir: &Path) -> io::Result<Vec<Staleness>> {
    let changes = compare(files, dir)?;
    fs::create_dir_all(dir)?;
    for change in &changes {
        match change {
            Staleness::Differs(path) | Staleness::Missing(path) => {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if let Some(f) = files.iter().find(|f| f.name == name) {
                    fs::write(path, &f.contents)?;
                }
            }
            Staleness::Extra(path) => fs::remove_file(path)?,
        }
    }
    Ok(changes)
}

/// Compares one file outside the generated directory (the OpenAPI document) with `contents`.
pub fn compare_file(path: &Path, contents: &str) -> io::Result<Option<Staleness>> {
    match fs::read_to_string(path) {
        Ok(current) if current.replace("\r\n", "\n") == contents => Ok(None),
        Ok(_) => Ok(Some(Staleness::Differs(path.to_path_buf()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(Staleness::Missing(path.to_path_buf()))),
        Err(e) => Err(e),
    }
}

/// Writes one file outside the generated directory if it changed; returns what changed.
pub fn write_file(path: &Path, contents: &str) -> io::Result<Option<Staleness>> {
    let change = compare_file(path, contents)?;
    if change.is_some() {
        fs::write(path, contents)?;
    }
    Ok(change)
}

fn existing_rs_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "rs"))
                .collect();
            files.sort();
            Ok(files)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
