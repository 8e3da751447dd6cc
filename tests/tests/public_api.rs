//! The library's public surface is deliberate: every public module of `wecom-groupchat/src/lib.rs` (a
//! `pub mod`, or a generated module re-exported with `pub use generated::{…}`) is either listed in the
//! crate docs' "The public API" table or hidden from the docs (`#[doc(hidden)]`) and named in the paragraph
//! that says hidden items are not part of the API. A module made public without a decision fails here.

use std::path::Path;

/// A public module of lib.rs and whether `#[doc(hidden)]` is among the attributes right above it.
#[derive(Debug)]
struct Module {
    name: String,
    hidden: bool,
}

fn lib_rs() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wecom-groupchat/src/lib.rs");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn public_modules(source: &str) -> Vec<Module> {
    let mut modules = Vec::new();
    let mut hidden = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[") || line.starts_with("///") {
            hidden |= line == "#[doc(hidden)]";
            continue;
        }
        if let Some(rest) = line.strip_prefix("pub mod ") {
            let name = rest.trim_end_matches(['{', ';', ' ']).to_string();
            modules.push(Module { name, hidden });
        } else if let Some(rest) = line.strip_prefix("pub use generated::") {
            // Generated modules, one name or `{a, b}` (items of them, `generated::x::Y`, are not modules).
            let names = rest.trim_end_matches(';').trim_start_matches('{').trim_end_matches('}');
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty() && !n.contains("::")) {
                modules.push(Module { name: name.to_string(), hidden });
            }
        }
        hidden = false;
    }
    modules
}

/// The crate docs (`//!` lines), and in them the public API table and the paragraph about hidden items.
fn crate_docs(source: &str) -> (String, String) {
    let docs: String = source.lines().filter_map(|l| l.strip_prefix("//!")).map(|l| format!("{l}\n")).collect();
    let table = docs.split("## The public API").nth(1).expect("crate docs have a '## The public API' section");
    let (table, rest) = table.trim_start().split_once("\n\n").unwrap_or((table, ""));
    let (table, rest) = match rest.split_once("Items hidden from these docs") {
        Some((_, hidden)) => (table.to_string(), hidden.split("\n\n").next().unwrap_or("").to_string()),
        None => (table.to_string(), String::new()),
    };
    assert!(!rest.is_empty(), "the crate docs say which items are hidden ('Items hidden from these docs …')");
    (table, rest)
}

#[test]
fn every_public_module_is_listed_or_hidden_on_purpose() {
    let source = lib_rs();
    let modules = public_modules(&source);
    assert!(modules.len() >= 10, "lib.rs read wrong: {modules:?}");
    let (table, hidden_paragraph) = crate_docs(&source);
    let mut problems = Vec::new();
    for module in &modules {
        let quoted = format!("`{}`", module.name);
        match (module.hidden, table.contains(&quoted), hidden_paragraph.contains(&quoted)) {
            (false, true, false) | (true, false, true) => {}
            (false, false, _) => problems.push(format!("pub mod {} is public but not in the API table", module.name)),
            (true, true, _) => problems.push(format!("pub mod {} is #[doc(hidden)] but in the API table", module.name)),
            (true, false, false) => {
                problems.push(format!("pub mod {} is #[doc(hidden)] but not named as hidden", module.name))
            }
            (false, true, true) => problems.push(format!("pub mod {} is documented but named as hidden", module.name)),
        }
    }
    assert!(problems.is_empty(), "wecom-groupchat/src/lib.rs:\n{}", problems.join("\n"));
}

#[test]
fn the_parser_sees_hidden_and_visible_modules() {
    let source = "pub mod a;\n#[doc(hidden)]\n/// Why.\npub mod b;\n#[cfg(x)]\npub mod c;\nmod d;\n\
                  pub use generated::{e, f};\n#[doc(hidden)]\npub use generated::g;\npub use generated::h::H;\n";
    let modules = public_modules(source);
    let seen: Vec<_> = modules.iter().map(|m| (m.name.as_str(), m.hidden)).collect();
    assert_eq!(seen, [("a", false), ("b", true), ("c", false), ("e", false), ("f", false), ("g", true)]);
}
