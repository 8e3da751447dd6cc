//! Manual pages (roff) of the command line: one for `wecom-groupchat`, one per subcommand
//! (`wecom-groupchat-list.1`, `wecom-groupchat-join-way-add.1` …), as `cargo xtask man` writes them.

use std::path::{Path, PathBuf};

/// Every page: its file name and its roff text, the top-level page first.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut command = crate::command().bin_name(crate::BIN_NAME);
    command.build();
    let mut out = Vec::new();
    collect(&command, crate::BIN_NAME, &mut out);
    out
}

fn collect(command: &clap::Command, name: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let mut roff = Vec::new();
    // Writing to a Vec cannot fail.
    let source = format!("{} {}", crate::BIN_NAME, env!("CARGO_PKG_VERSION"));
    let _ = clap_mangen::Man::new(command.clone().name(name.to_string())).source(source).render(&mut roff);
    out.push((format!("{name}.1"), roff));
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), out);
    }
}

/// Writes every page into `dir` (created if missing); returns the paths written, the top-level page
/// first.
///
/// # Errors
/// When the directory cannot be created or a page cannot be written.
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (file, roff) in pages() {
        let path = dir.join(file);
        std::fs::write(&path, roff)?;
        written.push(path);
    }
    Ok(written)
}
