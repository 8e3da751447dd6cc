//! (8) Codegen: time to regenerate all code from the spec, in-process (no cargo, no process start):
//! `codegen::generate_from_dir` (read + check the YAML, emit, format with prettyplease), and the same
//! plus the comparison with the checked-in files, which is what `cargo xtask codegen --check` does
//! once built.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::stats;

/// Medians of several runs.
#[derive(Debug, Clone)]
pub struct CodegenResult {
    /// Runs measured.
    pub runs: usize,
    /// Spec files read.
    pub spec_files: usize,
    /// Files generated.
    pub files: usize,
    /// Lines generated.
    pub lines: usize,
    /// Median of `generate_from_dir`.
    pub generate: Duration,
    /// Median of `generate_from_dir` + `sync::compare`.
    pub check: Duration,
    /// Whether the checked-in files matched.
    pub fresh: bool,
}

/// Times `runs` generations of `root/api-spec` into (compared with) `root/wecom-groupchat/src/generated`.
pub fn run(root: &Path, runs: usize) -> Result<CodegenResult, String> {
    let spec = root.join("api-spec");
    let out = root.join("wecom-groupchat/src/generated");
    let generate = || codegen::generate_from_dir(&spec, "api-spec").map_err(|e| format!("the spec has problems:\n{e}"));
    // One unmeasured run: file-system caches.
    let files = generate()?;
    let (mut gen_times, mut check_times) = (Vec::new(), Vec::new());
    let mut fresh = true;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        std::hint::black_box(generate()?);
        gen_times.push(started.elapsed());
        let started = Instant::now();
        let files = generate()?;
        let stale = codegen::sync::compare(&files, &out).map_err(|e| e.to_string())?;
        check_times.push(started.elapsed());
        fresh &= stale.is_empty();
    }
    Ok(CodegenResult {
        runs: runs.max(1),
        spec_files: count_yaml(&spec),
        files: files.len(),
        lines: files.iter().map(|f| f.contents.lines().count()).sum(),
        generate: stats::median(gen_times).unwrap_or_default(),
        check: stats::median(check_times).unwrap_or_default(),
        fresh,
    })
}

fn count_yaml(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_yaml(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            }
        })
        .sum()
}
