//! The declared minimum Rust version is true of the dependencies: no package in `Cargo.lock` declares a
//! newer `rust-version` than the workspace. (That our own code needs no newer Rust than declared is
//! clippy's `incompatible_msrv`, which runs with `cargo clippy` in CI; no second toolchain is needed.)

use std::process::Command;

fn version(text: &str) -> Vec<u64> {
    text.split('.').map(|part| part.parse().unwrap_or_else(|_| panic!("not a version: {text}"))).collect()
}

#[test]
fn no_locked_dependency_needs_a_newer_rust_than_the_workspace_declares() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--manifest-path", manifest])
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let members = metadata["workspace_members"].as_array().unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let rust_version = |p: &serde_json::Value| p["rust_version"].as_str().map(str::to_string);

    let ours: Vec<String> = packages
        .iter()
        .filter(|p| members.contains(&p["id"]))
        .map(|p| rust_version(p).unwrap_or_else(|| panic!("{} declares no rust-version", p["name"])))
        .collect();
    assert!(ours.windows(2).all(|w| w[0] == w[1]), "workspace members disagree: {ours:?}");
    let declared = version(&ours[0]);

    let newer: Vec<String> = packages
        .iter()
        .filter(|p| !members.contains(&p["id"]))
        .filter_map(|p| rust_version(p).map(|v| (p, v)))
        .filter(|(_, v)| version(v) > declared)
        .map(|(p, v)| {
            format!("{} {} needs Rust {v}", p["name"].as_str().unwrap_or("?"), p["version"].as_str().unwrap_or("?"))
        })
        .collect();
    assert!(newer.is_empty(), "rust-version {} is not true: {newer:?}", ours[0]);
}
