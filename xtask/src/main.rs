//! `cargo xtask codegen [--check]`: regenerate (or check) `wecom-groupchat/src/generated/` from `api-spec/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask codegen [--check]

  codegen           regenerate wecom-groupchat/src/generated/ from api-spec/
  codegen --check   exit 1 and name the stale files when they differ from what the spec produces";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn codegen(check: bool) -> ExitCode {
    let root = workspace_root();
    let spec_dir = root.join("api-spec");
    let out_dir = root.join("wecom-groupchat/src/generated");
    let files = match codegen::generate_from_dir(&spec_dir, "api-spec") {
        Ok(files) => files,
        Err(errors) => {
            eprintln!("error: the spec has {} problem(s):\n{errors}", errors.0.len());
            return ExitCode::FAILURE;
        }
    };
    let relative = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    if check {
        match codegen::sync::compare(&files, &out_dir) {
            Ok(stale) if stale.is_empty() => {
                println!("generated code is up to date ({} files)", files.len());
                ExitCode::SUCCESS
            }
            Ok(stale) => {
                eprintln!("error: generated code is stale:");
                for s in &stale {
                    eprintln!("  {}", stale_line(s, &relative));
                }
                eprintln!("run `{}` and commit the result", codegen::REGENERATE_COMMAND);
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", relative(&out_dir));
                ExitCode::FAILURE
            }
        }
    } else {
        match codegen::sync::write(&files, &out_dir) {
            Ok(changed) if changed.is_empty() => {
                println!("generated code is up to date ({} files)", files.len());
                ExitCode::SUCCESS
            }
            Ok(changed) => {
                for s in &changed {
                    println!("updated {}", stale_line(s, &relative));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", relative(&out_dir));
                ExitCode::FAILURE
            }
        }
    }
}

fn stale_line(s: &codegen::sync::Staleness, relative: &dyn Fn(&Path) -> String) -> String {
    use codegen::sync::Staleness;
    match s {
        Staleness::Differs(p) => format!("{} (differs)", relative(p)),
        Staleness::Missing(p) => format!("{} (missing)", relative(p)),
        Staleness::Extra(p) => format!("{} (no longer generated)", relative(p)),
    }
}
