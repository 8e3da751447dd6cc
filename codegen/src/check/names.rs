//! Declarations: every enum and struct of every file gets its id, its role and its owner, and its name is
//! decided here, once (an endpoint's request and response are `{Name}Request` and `{Name}Response`, the
//! token endpoint's query and answer `{Name}Query` and `{Name}Response`). Names must be well-formed and
//! unique across files.

use std::collections::{BTreeSet, HashMap};

use heck::ToUpperCamelCase;

use super::Checker;
use crate::model::{Enum, EnumId, EnumValue, Owner, StructId, StructRole, Usage};
use crate::spec::{EnumSpec, FieldSpec, IncludeSpec, MessageSpec, RuleSpec, SpecFiles};

/// Variant name the generated enums use for values the spec does not list.
const UNKNOWN_VARIANT: &str = "Unknown";

/// Where a declaration lives, for messages and ownership.
#[derive(Debug, Clone)]
pub(super) struct DeclSite {
    pub(super) file: String,
    pub(super) path: String,
    pub(super) owner: Owner,
}

/// A struct declared, its fields not resolved yet.
pub(super) struct PendingStruct<'a> {
    pub(super) name: String,
    pub(super) doc: String,
    pub(super) include: &'a [IncludeSpec],
    pub(super) fields: &'a [FieldSpec],
    pub(super) rules: &'a [RuleSpec],
    pub(super) site: DeclSite,
    pub(super) role: StructRole,
}

/// An endpoint's own structs.
#[derive(Debug, Clone, Copy)]
pub(super) struct EndpointDecl {
    /// Index in `SpecFiles::endpoints`.
    pub(super) file_index: usize,
    pub(super) request: StructId,
    pub(super) response: StructId,
}

/// The token endpoint's structs.
#[derive(Debug, Clone, Copy)]
pub(super) struct TokenDecl {
    pub(super) query: StructId,
    pub(super) response: StructId,
}

/// Every declaration.
pub(super) struct Decls<'a> {
    pub(super) enums: Vec<Enum>,
    pub(super) structs: Vec<PendingStruct<'a>>,
    pub(super) enum_ids: HashMap<String, EnumId>,
    pub(super) struct_ids: HashMap<String, StructId>,
    /// Where each name was declared (file, YAML path), for messages about unused types.
    pub(super) names: HashMap<String, (String, String)>,
    /// Names declared twice (already reported).
    pub(super) duplicated: BTreeSet<String>,
    pub(super) endpoints: Vec<EndpointDecl>,
    pub(super) token: TokenDecl,
}

pub(super) fn declare<'a>(cx: &mut Checker, files: &'a SpecFiles) -> Decls<'a> {
    let mut enum_specs: Vec<(&EnumSpec, DeclSite)> = Vec::new();
    let mut structs: Vec<PendingStruct<'a>> = Vec::new();
    let types_file = &files.types.file;
    for (i, e) in files.types.value.enums.iter().enumerate() {
        enum_specs.push((e, DeclSite { file: types_file.clone(), path: format!("enums[{i}]"), owner: Owner::Shared }));
    }
    for (i, s) in files.types.value.structs.iter().enumerate() {
        structs.push(PendingStruct {
            name: s.name.clone(),
            doc: s.doc.clone(),
            include: &s.include,
            fields: &s.fields,
            rules: &s.rules,
            site: DeclSite { file: types_file.clone(), path: format!("structs[{i}]"), owner: Owner::Shared },
            role: StructRole::Object,
        });
    }

    // The token endpoint: its query and its answer.
    let api_file = &files.api.file;
    let t = &files.api.value.auth.token_endpoint;
    let camel = t.name.to_upper_camel_case();
    let token = TokenDecl { query: StructId(structs.len()), response: StructId(structs.len() + 1) };
    for (role, msg, key, suffix) in [
        (StructRole::Request, &t.query, "auth.token_endpoint.query", "Query"),
        (StructRole::Response, &t.response, "auth.token_endpoint.response", "Response"),
    ] {
        let doc = msg.doc.clone().unwrap_or_else(|| {
            let what = if role == StructRole::Request { "Query parameters" } else { "Answer" };
            format!("{what} of `{}`, the endpoint that issues access tokens.", t.name)
        });
        structs.push(pending_message(format!("{camel}{suffix}"), doc, msg, api_file, key, Owner::Shared, role));
    }

    let mut seen_endpoints: HashMap<String, String> = HashMap::new();
    let mut seen_paths: HashMap<String, String> = HashMap::new();
    let mut endpoints = Vec::new();
    for (file_index, ep) in files.endpoints.iter().enumerate() {
        let file = &ep.file;
        let e = &ep.value;
        if !super::is_snake_case(&e.name) {
            cx.err(file, "name", format!("`{}` is not a snake_case name", e.name));
        } else if super::RUST_KEYWORDS.contains(&e.name.as_str()) {
            cx.err(file, "name", format!("`{}` is a Rust keyword: it cannot name the client method", e.name));
        }
        let stem = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".yaml").trim_end_matches(".yml");
        if stem != e.name {
            cx.err(file, "name", format!("endpoint `{}` must live in a file named `{}.yaml`", e.name, e.name));
        }
        if e.name == t.name {
            cx.err(file, "name", format!("`{}` is the token endpoint's name (api.yaml)", e.name));
        }
        if let Some(other) = seen_endpoints.insert(e.name.clone(), file.clone()) {
            cx.err(file, "name", format!("duplicate endpoint name `{}` (also in {other})", e.name));
        }
        if !e.path.starts_with('/') {
            cx.err(file, "path", format!("`{}` must start with `/`", e.path));
        } else if e.path.contains(['?', '#', ' ']) {
            cx.err(file, "path", format!("`{}` must be a plain path (no query, fragment or spaces)", e.path));
        } else if e.path == t.path {
            cx.err(file, "path", format!("`{}` is the token endpoint's path (api.yaml)", e.path));
        }
        if e.method == crate::model::HttpMethod::Get && (!e.request.fields.is_empty() || !e.request.include.is_empty())
        {
            cx.err(file, "method", "GET endpoints carry no body: their request must have no fields (use POST)");
        }
        if let Some(other) = seen_paths.insert(e.path.clone(), file.clone()) {
            cx.err(file, "path", format!("duplicate path `{}` (also in {other})", e.path));
        }
        if !e.doc_url.starts_with("https://") {
            cx.err(file, "doc_url", "must be an https URL");
        }
        for (key, value) in [("summary", &e.summary), ("summary_en", &e.summary_en), ("description", &e.description)] {
            if value.trim().is_empty() {
                cx.err(file, key, "must not be empty");
            }
        }
        let owner = Owner::Endpoint(e.name.clone());
        for (i, en) in e.enums.iter().enumerate() {
            enum_specs.push((en, DeclSite { file: file.clone(), path: format!("enums[{i}]"), owner: owner.clone() }));
        }
        let camel = e.name.to_upper_camel_case();
        let request = StructId(structs.len());
        let response = StructId(structs.len() + 1);
        for (role, msg, key, suffix) in [
            (StructRole::Request, &e.request, "request", "Request"),
            (StructRole::Response, &e.response, "response", "Response"),
        ] {
            let doc = msg.doc.clone().unwrap_or_else(|| format!("{suffix} body of `{}`: {}", e.name, e.summary));
            structs.push(pending_message(format!("{camel}{suffix}"), doc, msg, file, key, owner.clone(), role));
        }
        endpoints.push(EndpointDecl { file_index, request, response });
        for (i, s) in e.structs.iter().enumerate() {
            structs.push(PendingStruct {
                name: s.name.clone(),
                doc: s.doc.clone(),
                include: &s.include,
                fields: &s.fields,
                rules: &s.rules,
                site: DeclSite { file: file.clone(), path: format!("structs[{i}]"), owner: owner.clone() },
                role: StructRole::Object,
            });
        }
    }

    // Names: valid, and unique across enums and structs of every file.
    let mut names: HashMap<String, (String, String)> = HashMap::new();
    let mut duplicated = BTreeSet::new();
    let mut check_name = |cx: &mut Checker, name: &str, site: &DeclSite, generated: bool| {
        let at = if generated { site.path.clone() } else { format!("{}.name", site.path) };
        if !generated && let Err(why) = super::type_name_problem(name) {
            cx.err(&site.file, &at, format!("type name `{name}` {why}"));
        }
        if let Some((file, path)) = names.get(name) {
            cx.err(&site.file, &at, format!("duplicate type name `{name}` (also at {file}: {path})"));
            duplicated.insert(name.to_string());
        } else {
            names.insert(name.to_string(), (site.file.clone(), at));
        }
    };
    let mut enum_ids = HashMap::new();
    for (i, (e, site)) in enum_specs.iter().enumerate() {
        check_name(cx, &e.name, site, false);
        enum_ids.entry(e.name.clone()).or_insert(EnumId(i));
    }
    let mut struct_ids = HashMap::new();
    for (i, p) in structs.iter().enumerate() {
        check_name(cx, &p.name, &p.site, p.role != StructRole::Object);
        struct_ids.entry(p.name.clone()).or_insert(StructId(i));
    }
    let enums = enum_specs.iter().map(|(e, site)| check_enum(cx, e, site)).collect();
    Decls { enums, structs, enum_ids, struct_ids, names, duplicated, endpoints, token }
}

fn pending_message<'a>(
    name: String,
    doc: String,
    msg: &'a MessageSpec,
    file: &str,
    key: &str,
    owner: Owner,
    role: StructRole,
) -> PendingStruct<'a> {
    PendingStruct {
        name,
        doc,
        include: &msg.include,
        fields: &msg.fields,
        rules: &msg.rules,
        site: DeclSite { file: file.to_string(), path: key.to_string(), owner },
        role,
    }
}

fn check_enum(cx: &mut Checker, e: &EnumSpec, site: &DeclSite) -> Enum {
    if e.values.is_empty() {
        cx.err(&site.file, format!("{}.values", site.path), "an enum needs at least one value");
    }
    let mut values_seen = HashMap::new();
    let mut names_seen = HashMap::new();
    for (i, v) in e.values.iter().enumerate() {
        let at = format!("{}.values[{i}]", site.path);
        if let Some(prev) = values_seen.insert(v.value, i) {
            cx.err(&site.file, format!("{at}.value"), format!("duplicate value {} (also values[{prev}])", v.value));
        }
        if let Some(prev) = names_seen.insert(v.name.clone(), i) {
            cx.err(&site.file, format!("{at}.name"), format!("duplicate variant `{}` (also values[{prev}])", v.name));
        }
        if let Err(why) = super::type_name_problem(&v.name) {
            cx.err(&site.file, format!("{at}.name"), format!("variant `{}` {why}", v.name));
        }
        if v.name == UNKNOWN_VARIANT {
            cx.err(&site.file, format!("{at}.name"), "`Unknown` is reserved for values the spec does not list");
        }
    }
    Enum {
        name: e.name.clone(),
        doc: e.doc.clone(),
        values: e
            .values
            .iter()
            .map(|v| EnumValue { value: v.value, name: v.name.clone(), doc: v.doc.clone() })
            .collect(),
        owner: site.owner.clone(),
        usage: Usage::default(),
    }
}
