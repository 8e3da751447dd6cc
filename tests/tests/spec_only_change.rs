//! The design's promise, checked end to end: an endpoint with its own struct, a named error code and a
//! join-way field, added to `api-spec/` and nowhere else, reach the typed client, the simulator and the
//! command line once the code is regenerated.
//!
//! The test copies the workspace into `target/tmp/spec-only-change/`, applies the files of
//! `tests/spec-only-change/` to the copy's spec, runs `cargo xtask codegen` there, checks that nothing but
//! `api-spec/` and the generated code changed, builds the copy's CLI with the proof program and runs it
//! (see `tests/spec-only-change/README.md`). The copy has its own target directory: the first run compiles
//! the dependencies once, later runs only what changed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Building the copy from nothing on a small CI machine takes minutes; a hang must still end.
const BUILD_DEADLINE: Duration = Duration::from_secs(30 * 60);
const PROOF_DEADLINE: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

fn fixture(name: &str) -> String {
    let path = root().join("tests/spec-only-change").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The workspace's files as git sees them: tracked ones and new ones not ignored (so an uncommitted
/// change is tested too), never build output.
fn workspace_files() -> Vec<PathBuf> {
    let output = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root())
        .output()
        .expect("git runs (the test copies the files git knows)");
    assert!(output.status.success(), "git ls-files: {}", String::from_utf8_lossy(&output.stderr));
    output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        // A file deleted in the work tree but still in the index.
        .filter(|name| root().join(name).is_file())
        .collect()
}

fn copy_workspace(to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    for file in workspace_files() {
        let dest = to.join(&file);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(root().join(&file), &dest).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

/// Every file's content, by path relative to `dir`.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.insert(path.strip_prefix(base).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The spec change: a new endpoint file, a row at the end of the error table, a first field of
/// `JoinWayConfig`.
fn change_the_spec(copy: &Path) {
    let spec = copy.join("api-spec");
    std::fs::write(spec.join("endpoints/proof_widget.yaml"), fixture("endpoint.yaml")).unwrap();
    std::fs::write(spec.join("events/proof_tag_changed.yaml"), fixture("event.yaml")).unwrap();

    let errors = spec.join("errors.yaml");
    let mut table = std::fs::read_to_string(&errors).unwrap();
    if !table.ends_with('\n') {
        table.push('\n');
    }
    table.push_str(&fixture("error.yaml"));
    std::fs::write(&errors, table).unwrap();

    let types = spec.join("types.yaml");
    let text = std::fs::read_to_string(&types).unwrap();
    let at = text.find("  - name: JoinWayConfig\n").expect("JoinWayConfig in types.yaml");
    let fields = at + text[at..].find("    fields:\n").expect("JoinWayConfig's fields") + "    fields:\n".len();
    std::fs::write(&types, format!("{}{}{}", &text[..fields], fixture("join_way_field.yaml"), &text[fields..]))
        .unwrap();
}

/// Runs `cargo ARGS` in the copy with its own target directory.
fn cargo(copy: &Path, target: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(args)
        .current_dir(copy)
        .env("CARGO_TARGET_DIR", target)
        // Smaller and faster to link; nothing here is debugged.
        .env("CARGO_PROFILE_DEV_DEBUG", "0");
    let output = run_bounded(command, BUILD_DEADLINE);
    assert!(output.status.success(), "cargo {}: failed\n{}", args.join(" "), String::from_utf8_lossy(&output.stderr));
}

/// Runs a command to its end, or to the deadline (then kills it and fails), collecting its output.
fn run_bounded(mut command: Command, deadline: Duration) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the command starts");
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                pipe.read_to_end(&mut bytes).ok();
            }
            bytes
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{command:?}: still running after {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

#[test]
fn an_endpoint_an_error_code_and_a_join_way_field_added_in_yaml_reach_client_simulator_and_cli() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spec-only-change");
    let copy = work.join("workspace");
    let target = work.join("target");
    copy_workspace(&copy);
    let before = contents(&copy);

    change_the_spec(&copy);
    cargo(&copy, &target, &["run", "--locked", "--quiet", "-p", "xtask", "--", "codegen"]);

    // Nothing but the spec and the generated code changed.
    let after = contents(&copy);
    let changed: Vec<&PathBuf> =
        after.iter().filter(|(path, text)| before.get(*path) != Some(*text)).map(|(path, _)| path).collect();
    let removed: Vec<&PathBuf> = before.keys().filter(|path| !after.contains_key(*path)).collect();
    assert!(removed.is_empty(), "regenerating removed {removed:?}");
    let written_by_hand: Vec<&&PathBuf> = changed
        .iter()
        .filter(|path| !path.starts_with("api-spec") && !path.starts_with("wecom-groupchat/src/generated"))
        .collect();
    assert!(written_by_hand.is_empty(), "files outside the spec and the generated code changed: {written_by_hand:?}");
    for generated in ["types.rs", "client.rs", "endpoints.rs", "error_codes.rs", "examples.rs", "events.rs"] {
        let path = PathBuf::from("wecom-groupchat/src/generated").join(generated);
        assert!(changed.contains(&&path), "{} was not regenerated; changed: {changed:?}", path.display());
    }

    // The program using the additions (the user's code), built with the copy's CLI.
    let bin = copy.join("tests/src/bin/spec_proof.rs");
    std::fs::write(&bin, fixture("proof.rs")).unwrap();
    cargo(
        &copy,
        &target,
        &[
            "build",
            "--locked",
            "-p",
            "wecom-groupchat-cli",
            "--bin",
            "wecom-groupchat",
            "-p",
            "wecom-groupchat-tests",
            "--bin",
            "spec_proof",
        ],
    );

    let exe = |name: &str| target.join("debug").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut proof = Command::new(exe("spec_proof"));
    proof.arg(exe("wecom-groupchat"));
    let output = run_bounded(proof, PROOF_DEADLINE);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the proof failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for line in [
        "client: proof_widget answered widget wgAAAA",
        "client: refused before sending: label",
        "simulator: answered",
        "cli: call proof_widget printed widget wgAAAA",
        "cli: join-way add/get/update --merge/--clear handle --proof-tag",
        "events: proof_tag_changed reads typed from its example",
        "events: the receiver hands proof_tag_changed over typed",
        "spec-only change: proven",
    ] {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
}
