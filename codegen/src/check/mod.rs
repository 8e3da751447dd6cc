//! Checks a parsed spec and resolves it into the [`model`](crate::model): every name decided once, every
//! reference resolved to an id. Every problem is collected (not only the first), each naming its file and
//! the YAML path of the node.
//!
//! One module per concern, in the order they run:
//!
//! 1. [`api`] — `api.yaml` and `errors.yaml`;
//! 2. [`names`] — every struct and enum declared, with its id, role and owner, names unique and well-formed;
//! 3. [`fields`] — each struct's fields resolved (types, defaults, limits via [`constraints`]), `include`s
//!    expanded, rules over fields;
//! 4. [`annotations`] — each endpoint's paging, bulk, windows, simulator and examples, and the token
//!    endpoint's roles;
//! 5. [`usage`] — where each type travels, and which are declared but never used;
//! 6. [`events`] — `callbacks.yaml` and `events/`: the callback forms and the typed events.

mod annotations;
pub(crate) mod api;
mod constraints;
mod events;
mod fields;
mod names;
mod usage;

use crate::error::{SpecError, SpecErrors};
use crate::model::Api;
use crate::spec::SpecFiles;

/// Checks the spec and builds the model, or returns every problem found.
pub fn check(files: &SpecFiles) -> Result<Api, SpecErrors> {
    let mut cx = Checker { errors: Vec::new() };
    let api = cx.build(files);
    match api {
        Some(api) if cx.errors.is_empty() => Ok(api),
        _ => Err(SpecErrors(cx.errors)),
    }
}

/// Collects problems as the checks go.
pub(crate) struct Checker {
    errors: Vec<SpecError>,
}

impl Checker {
    pub(crate) fn err(&mut self, file: &str, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(SpecError::new(file, path, message));
    }

    /// Runs every step. The model is only handed out when no step found a problem.
    fn build(&mut self, files: &SpecFiles) -> Option<Api> {
        let meta = api::check_api(self, &files.api);
        let errors = api::check_errors(self, &files.errors);
        let decls = names::declare(self, files);
        let structs = fields::resolve(self, &decls, (&meta.envelope_code, &meta.envelope_message));
        let (token, endpoints) = annotations::check(self, files, &decls.endpoints, &decls.token, &structs);
        let (structs, enums) = usage::mark(self, structs, decls.enums, &decls.names, &decls.duplicated);
        let api_types: Vec<String> =
            structs.iter().map(|s| s.name.clone()).chain(enums.iter().map(|e| e.name.clone())).collect();
        let events = events::check(self, files, &api_types);
        Some(Api {
            name: meta.name,
            title: meta.title,
            base_url: meta.base_url,
            token_query_param: meta.token_query_param,
            token,
            envelope_code: meta.envelope_code,
            envelope_message: meta.envelope_message,
            rate_limit: meta.rate_limit,
            day_utc_offset_hours: meta.day_utc_offset_hours,
            facts: meta.facts,
            enums,
            structs,
            endpoints,
            errors,
            events,
        })
    }
}

/// The known name closest to `name` (case-insensitive edit distance ≤ 3), for "did you mean" hints.
pub(crate) fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Whether `s` is a snake_case identifier.
/// Rust keywords, which cannot be field names without a `rust_name`.
pub(crate) const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
    "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Field names the generated code uses for itself.
pub(crate) const RESERVED_FIELDS: &[&str] = &["extra", "new"];

/// Whether `name` can be a Rust field name as it is.
pub(crate) fn is_field_name(name: &str) -> bool {
    is_snake_case(name) && !RUST_KEYWORDS.contains(&name)
}

/// Why `name` cannot name a type or an enum variant: it must be an ASCII UpperCamelCase identifier.
pub(crate) fn type_name_problem(name: &str) -> Result<(), &'static str> {
    use heck::ToUpperCamelCase;
    let ascii_ident =
        name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && name.chars().all(|c| c.is_ascii_alphanumeric());
    if !ascii_ident || name.to_upper_camel_case() != name {
        Err("must be UpperCamelCase (ASCII letters and digits, a capital first)")
    } else if name == "Self" {
        Err("is a Rust keyword")
    } else {
        Ok(())
    }
}

pub(crate) fn is_snake_case(s: &str) -> bool {
    use heck::ToSnakeCase;
    !s.is_empty()
        && s.to_snake_case() == s
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
