//! `cargo xtask codegen [--check]`: regenerate (or check) `wecom-groupchat/src/generated/` from `api-spec/`.
//! `cargo xtask bench [--quick] [--only SECTIONS] [--no-peer] [--out FILE]`: run the benchmarks, write
//! `docs/benchmarks.md` (a complete run) or `target/bench/benchmarks.md` (any other).
//! `cargo xtask fuzz [--seconds N] [--target NAME]`: run the cargo-fuzz targets of `fuzz/`.
//! `cargo xtask fuzz-corpus`: write their seed corpora (from the spec; the callback samples).
//! `cargo xtask man`: write the CLI's manual pages into `target/man/`.

mod callback_seeds;
mod fuzz;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask codegen [--check]
       cargo xtask bench [--quick] [--only SECTION[,SECTION…]] [--no-peer] [--out FILE]
       cargo xtask fuzz [--seconds N] [--target NAME]
       cargo xtask fuzz-corpus
       cargo xtask man

  codegen           regenerate wecom-groupchat/src/generated/ from api-spec/
  codegen --check   exit 1 and name the stale files when they differ from what the spec produces
  bench             run every benchmark (release build) and write docs/benchmarks.md; a run that is
                    not complete (any option below, a peer skipped for want of PyPI, a failed
                    section) writes target/bench/benchmarks.md instead and leaves docs/ alone
    --quick         few iterations, a smoke run
    --only S,…      only these sections (overhead, throughput, sync, stampede, memory, codec, peer,
                    codegen, callback, fleet, mirror)
    --no-peer       skip the peer SDK (wechatpy from PyPI): the peer section and the wechatpy side
                    of the callback section
    --out FILE      write the report to FILE (an incomplete one still says so at its top)
  fuzz              run every cargo-fuzz target of fuzz/ (response: any endpoint's answer; spec: the
                    spec loader and generator; cli_body: the CLI's --body input; event: any decrypted
                    callback message into its typed event and back; envelope: any request
                    to a callback receiver; decrypt: the callback crypto) with libFuzzer, each
                    from its seeds in fuzz/corpus/<target>/ (what it learns is kept in
                    fuzz/target/corpus/<target>/); exit 1 when one crashes, naming the input saved in
                    fuzz/artifacts/<target>/. Needs cargo-fuzz (`cargo install cargo-fuzz`) and
                    nightly (without it: the default toolchain with RUSTC_BOOTSTRAP=1)
    --seconds N     run each target N seconds (default 60)
    --target NAME   only this target
  fuzz-corpus       write the seed corpora fuzz/corpus/<target>/ from api-spec/: every example request
                    and response, every spec file, every documented event message; for envelope and
                    decrypt the official sample of doc 90968, sealed events (the library's
                    seal_callback example) and broken variants (kept: other files there, e.g. crash
                    regressions)
  man               write the manual pages of the wecom-groupchat command (wecom-groupchat.1 and one
                    per subcommand, e.g. wecom-groupchat-list.1) into target/man/ and print their paths;
                    read them with `man -l target/man/wecom-groupchat.1`";

/// The sections `bench --only` accepts, as `wecom-groupchat-bench` names them.
const SECTIONS: [&str; 11] =
    ["overhead", "throughput", "sync", "stampede", "memory", "codec", "peer", "codegen", "callback", "fleet", "mirror"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["bench", rest @ ..] => bench(rest),
        ["fuzz", rest @ ..] => fuzz::run(&workspace_root(), rest),
        ["fuzz-corpus"] => fuzz::corpus(&workspace_root()),
        ["man"] => man(),
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
    let openapi_path = root.join(codegen::emit::OPENAPI_PATH);
    let api = match codegen::load(&spec_dir, "api-spec") {
        Ok(api) => api,
        Err(errors) => {
            eprintln!("error: the spec has {} problem(s):\n{errors}", errors.0.len());
            return ExitCode::FAILURE;
        }
    };
    let files = codegen::emit::generate(&api);
    let openapi = codegen::emit::openapi(&api);
    let relative = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let count = files.len() + 1;
    let sync = || -> std::io::Result<Vec<codegen::sync::Staleness>> {
        let (mut changes, openapi_change) = if check {
            (codegen::sync::compare(&files, &out_dir)?, codegen::sync::compare_file(&openapi_path, &openapi)?)
        } else {
            (codegen::sync::write(&files, &out_dir)?, codegen::sync::write_file(&openapi_path, &openapi)?)
        };
        changes.extend(openapi_change);
        Ok(changes)
    };
    let result = sync();
    match result {
        Ok(changes) if changes.is_empty() => {
            println!("generated code is up to date ({count} files)");
            ExitCode::SUCCESS
        }
        Ok(stale) if check => {
            eprintln!("error: generated code is stale:");
            for s in &stale {
                eprintln!("  {}", stale_line(s, &relative));
            }
            eprintln!("run `{}` and commit the result", codegen::REGENERATE_COMMAND);
            ExitCode::FAILURE
        }
        Ok(changed) => {
            for s in &changed {
                println!("updated {}", stale_line(s, &relative));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot {} the generated files: {e}", if check { "read" } else { "write" });
            ExitCode::FAILURE
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

/// Where `man` writes the manual pages, under the workspace root.
const MAN_DIR: &str = "target/man";

/// The manual pages, rendered by the CLI's library from the command line the binary parses with (an
/// example of the CLI crate: xtask itself does not build the library it regenerates code for).
fn man() -> ExitCode {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut render = Command::new(&cargo);
    render
        .current_dir(&root)
        .args(["run", "--quiet", "-p", "wecom-groupchat-cli", "--example", "man", "--"])
        .arg(root.join(MAN_DIR));
    if run(&mut render) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs the codec benchmark with criterion (when the codec section is selected), then the benchmark
/// program, which reads criterion's results, measures everything else and writes the report.
fn bench(args: &[&str]) -> ExitCode {
    let quick = args.contains(&"--quick");
    let mut only: Vec<String> = Vec::new();
    let mut pass: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        match arg {
            "--quick" | "--no-peer" => pass.push(arg.to_string()),
            "--only" => match rest.next() {
                Some(list) => only.extend(list.split(',').map(str::to_string)),
                None => return usage_error("--only needs a list of sections"),
            },
            "--out" => match rest.next() {
                Some(file) => pass.push(format!("--out={}", absolute(file).display())),
                None => return usage_error("--out needs a file"),
            },
            _ => match (arg.strip_prefix("--only="), arg.strip_prefix("--out=")) {
                (Some(list), _) => only.extend(list.split(',').map(str::to_string)),
                (_, Some(file)) => pass.push(format!("--out={}", absolute(file).display())),
                _ => return usage_error(&format!("unknown argument `{arg}`")),
            },
        }
    }
    if let Some(bad) = only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
        return usage_error(&format!("unknown section `{bad}`"));
    }
    if !only.is_empty() {
        pass.push(format!("--only={}", only.join(",")));
    }
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    if only.is_empty() || only.iter().any(|s| s == "codec") {
        // criterion writes into a directory emptied first, so that the report reads the results of
        // this run's benchmarks only: not those of a payload since renamed, nor of an earlier run.
        let criterion_dir = root.join(CRITERION_DIR);
        if let Err(e) = fresh_dir(&criterion_dir) {
            eprintln!("error: cannot empty {}: {e}", criterion_dir.display());
            return ExitCode::FAILURE;
        }
        let mut criterion = Command::new(&cargo);
        criterion.current_dir(&root).env("CRITERION_HOME", &criterion_dir).args([
            "bench",
            "-p",
            "wecom-groupchat",
            "--bench",
            "codec",
            "--",
        ]);
        if quick {
            criterion.args(["--warm-up-time", "0.1", "--measurement-time", "0.3"]);
        }
        if !run(&mut criterion) {
            return ExitCode::FAILURE;
        }
        pass.push(format!("--criterion-dir={}", criterion_dir.display()));
    }

    let shown = std::iter::once("cargo xtask bench".to_string()).chain(args.iter().map(|a| a.to_string()));
    let mut program = Command::new(&cargo);
    program
        .current_dir(&root)
        .args(["run", "--quiet", "--release", "-p", "wecom-groupchat-bench", "--"])
        .args(&pass)
        .arg("--root")
        .arg(&root)
        .arg("--command")
        .arg(shown.collect::<Vec<_>>().join(" "));
    if run(&mut program) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `file` against the directory `cargo xtask` was started in (the program runs in the workspace root).
fn absolute(file: &str) -> PathBuf {
    std::env::current_dir().map(|d| d.join(file)).unwrap_or_else(|_| PathBuf::from(file))
}

/// Where `bench` has criterion write the codec results (its `CRITERION_HOME`), emptied on every run.
const CRITERION_DIR: &str = "target/bench/criterion";

/// Removes `dir` with everything in it, then creates it empty.
fn fresh_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(dir)
}

pub(crate) fn run(command: &mut Command) -> bool {
    eprintln!("$ {command:?}");
    match command.status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!("error: {status}");
            false
        }
        Err(e) => {
            eprintln!("error: cannot run it: {e}");
            false
        }
    }
}

pub(crate) fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}\n\n{USAGE}");
    ExitCode::from(2)
}
