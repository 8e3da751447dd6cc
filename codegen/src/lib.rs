//! The code generator of `wecom-groupchat`.
//!
//! The pipeline, one module per step:
//!
//! 1. [`spec`] — read the YAML files of `api-spec/` into a plain serde model;
//! 2. [`check`] — check them (every error names the file and the YAML path) and resolve them into
//! 3. [`model`] — the intermediate model: Rust names, resolved types, constraints, paging, retry classes;
//! 4. [`emit`] — emit tokens with `quote` and format them with `prettyplease` into the checked-in files of
//!    `wecom-groupchat/src/generated/`.
//!
//! [`sync`] compares or writes those files; `cargo xtask codegen [--check]` is a thin shell over it.

pub mod check;
pub mod emit;
pub mod error;
pub mod model;
pub mod spec;
pub mod sync;

use std::path::Path;

pub use emit::{GeneratedFile, REGENERATE_COMMAND};
pub use error::{SpecError, SpecErrors};

/// Loads and checks a spec directory. `display_root` names the directory in error messages.
pub fn load(dir: &Path, display_root: &str) -> Result<model::Api, SpecErrors> {
    let files = spec::SpecFiles::load(dir, display_root)?;
    check::check(&files)
}

/// Loads a spec directory and emits every generated file.
pub fn generate_from_dir(dir: &Path, display_root: &str) -> Result<Vec<GeneratedFile>, SpecErrors> {
    Ok(emit::generate(&load(dir, display_root)?))
}
