//! Where each type travels (reachable from a request, a response, or both), and which are declared but
//! never used.

use std::collections::{BTreeSet, HashMap};

use super::Checker;
use crate::model::Struct;
use crate::model::{Enum, StructId, StructRole, Type};

/// Marks usage from every request and response root (the token endpoint's too) and reports unused types.
/// `names` says where each was declared; `duplicated` names are reported already.
pub(super) fn mark(
    cx: &mut Checker,
    mut structs: Vec<Struct>,
    mut enums: Vec<Enum>,
    names: &HashMap<String, (String, String)>,
    duplicated: &BTreeSet<String>,
) -> (Vec<Struct>, Vec<Enum>) {
    let roots: Vec<(StructId, bool)> = structs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.role != StructRole::Object)
        .map(|(i, s)| (StructId(i), s.role == StructRole::Request))
        .collect();
    for (root, is_request) in roots {
        walk(root, is_request, &mut structs, &mut enums);
    }
    // An included struct travels where its includers do: its fields are theirs.
    for i in 0..structs.len() {
        let usage = structs[i].usage;
        for from in structs[i].includes.iter().map(|inc| inc.from).collect::<Vec<_>>() {
            structs[from.0].usage.request |= usage.request;
            structs[from.0].usage.response |= usage.response;
        }
    }
    for s in structs.iter().filter(|s| s.role == StructRole::Object && !duplicated.contains(&s.name)) {
        if !s.usage.request && !s.usage.response {
            let (file, path) = names.get(&s.name).cloned().unwrap_or_default();
            cx.err(&file, path, format!("struct `{}` is declared but no endpoint uses it", s.name));
        }
    }
    for e in enums.iter().filter(|e| !duplicated.contains(&e.name)) {
        if !e.usage.request && !e.usage.response {
            let (file, path) = names.get(&e.name).cloned().unwrap_or_default();
            cx.err(&file, path, format!("enum `{}` is declared but no endpoint uses it", e.name));
        }
    }
    (structs, enums)
}

/// Marks every struct and enum reachable from `root` as used in requests or responses.
fn walk(root: StructId, is_request: bool, structs: &mut [Struct], enums: &mut [Enum]) {
    let mut stack = vec![root];
    let mut seen = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let s = &mut structs[id.0];
        if is_request {
            s.usage.request = true;
        } else {
            s.usage.response = true;
        }
        for f in &s.fields {
            match f.ty.item() {
                Type::Struct(inner) => stack.push(*inner),
                Type::Enum(e) => {
                    let usage = &mut enums[e.0].usage;
                    if is_request {
                        usage.request = true;
                    } else {
                        usage.response = true;
                    }
                }
                _ => {}
            }
        }
    }
}
