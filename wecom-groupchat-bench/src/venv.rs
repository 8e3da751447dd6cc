//! The peer's Python: a throwaway virtualenv under `target/bench/` with wechatpy and the libraries it
//! runs on, at the versions pinned in [`REQUIREMENTS`]. Shared by the sections that run wechatpy (the
//! peer's `get`/`list`, the callback decoding): the first one that needs it creates it afresh, the
//! others in the same run reuse it. When it cannot be made (no PyPI, no `venv`), every one of them is
//! skipped with the same reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The pinned versions the virtualenv installs, relative to the workspace root.
pub const REQUIREMENTS: &str = "wecom-groupchat-bench/peer/requirements.txt";
/// The wechatpy release pinned in [`REQUIREMENTS`] (a test keeps the two equal).
pub const WECHATPY_VERSION: &str = "1.8.18";
/// Where the benchmark's virtualenv lives, relative to the workspace root.
pub const VENV_DIR: &str = "target/bench/peer-venv";

/// A virtualenv with the pinned requirements installed.
#[derive(Debug, Clone)]
pub struct Venv {
    /// Its `python`.
    pub python: PathBuf,
    /// How long creating it and `pip install` took (not part of any figure).
    pub install: Duration,
    /// Whether an earlier section of this run made it (then `install` is that section's time).
    pub reused: bool,
}

/// Virtualenvs made by this process: the directory, and the outcome (the reason of a skip included,
/// so that a second section does not wait for pip to fail again).
static PREPARED: Mutex<Vec<(PathBuf, Result<Venv, String>)>> = Mutex::new(Vec::new());

/// The benchmark's virtualenv ([`VENV_DIR`] under `root`, the workspace root): made afresh on the first
/// call of the run, reused after. An error is the reason the peer is skipped.
pub fn prepare(root: &Path) -> Result<Venv, String> {
    prepare_at(&root.join(VENV_DIR), &root.join(REQUIREMENTS))
}

/// [`prepare`] in a directory of the caller's choice (tests use their own, so that they never remove
/// the virtualenv of a benchmark running at the same time).
pub fn prepare_at(dir: &Path, requirements: &Path) -> Result<Venv, String> {
    let mut prepared = PREPARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, outcome)) = prepared.iter().find(|(d, _)| d == dir) {
        return outcome.clone().map(|venv| Venv { reused: true, ..venv });
    }
    let started = Instant::now();
    let outcome = create(dir, requirements).map(|python| Venv { python, install: started.elapsed(), reused: false });
    prepared.push((dir.to_path_buf(), outcome.clone()));
    outcome
}

/// A fresh virtualenv in `venv` with the pinned wechatpy (`requirements`); returns its python. Errors
/// say why the peer is skipped.
fn create(venv: &Path, requirements: &Path) -> Result<PathBuf, String> {
    if venv.exists() {
        std::fs::remove_dir_all(venv)
            .map_err(|e| format!("cannot remove the old virtualenv {}: {e}", venv.display()))?;
    }
    let python3 = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run_quiet(Command::new(&python3).args(["-m", "venv"]).arg(venv))
        .map_err(|e| format!("peer skipped: cannot create a virtualenv with `{python3} -m venv`: {e}"))?;
    let python = venv.join("bin/python");
    run_quiet(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--timeout",
        "15",
        "--retries",
        "1",
        "--requirement",
    ]).arg(requirements))
    .map_err(|e| {
        format!("peer skipped: `pip install -r {REQUIREMENTS}` (wechatpy {WECHATPY_VERSION}) failed (is PyPI reachable?): {e}")
    })?;
    Ok(python)
}

fn run_quiet(command: &mut Command) -> Result<(), String> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!("{} ({})", last_line(&output.stderr), output.status))
}

/// The last non-empty line of a program's error output (the exception, pip's verdict).
pub fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of the requirements pins one exact version, and wechatpy's is the one the report names.
    #[test]
    fn requirements_are_pinned() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let text = std::fs::read_to_string(root.join(REQUIREMENTS)).unwrap();
        let pins: Vec<&str> =
            text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).collect();
        assert!(pins.iter().all(|l| l.contains("==") && !l.contains(['>', '<', '~', '*'])), "{pins:?}");
        assert!(pins.contains(&format!("wechatpy[cryptography]=={WECHATPY_VERSION}").as_str()), "{pins:?}");
    }

    /// A virtualenv that cannot be made is tried once per run: the second section gets the same reason
    /// at once.
    #[test]
    fn a_failure_is_remembered() {
        let dir = std::env::temp_dir().join(format!("cbench-venv-test-{}", std::process::id()));
        // A requirements file that does not exist: pip fails fast, without the network.
        let missing = dir.join("no-such-requirements.txt");
        let first = prepare_at(&dir, &missing);
        let started = Instant::now();
        let second = prepare_at(&dir, &missing);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(first.is_err(), "{first:?}");
        assert_eq!(first.unwrap_err(), second.unwrap_err());
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
