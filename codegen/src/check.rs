//! Checks a parsed spec and resolves it into the [`model`](crate::model).
//!
//! Every problem is collected (not only the first), each naming its file and the YAML path of the node.

use std::collections::{BTreeSet, HashMap};

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::error::{SpecError, SpecErrors};
use crate::model::{self, *};
use crate::spec::*;

/// Rust keywords, which cannot be field names without a `rust_name`.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
    "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Field names the generated code uses for itself.
const RESERVED_FIELDS: &[&str] = &["extra", "new"];

/// Variant name the generated enums use for values the spec does not list.
const UNKNOWN_VARIANT: &str = "Unknown";

/// Checks the spec and builds the model, or returns every problem found.
pub fn check(files: &SpecFiles) -> Result<Api, SpecErrors> {
    let mut cx = Checker { errors: Vec::new() };
    let api = cx.build(files);
    if cx.errors.is_empty() { Ok(api) } else { Err(SpecErrors(cx.errors)) }
}

struct Checker {
    errors: Vec<SpecError>,
}

/// Where a type declaration lives, for messages and ownership.
#[derive(Clone)]
struct DeclSite {
    file: String,
    path: String,
    owner: Owner,
}

/// A struct waiting to be resolved.
struct PendingStruct<'a> {
    name: String,
    doc: String,
    fields: &'a [FieldSpec],
    rules: &'a [RuleSpec],
    site: DeclSite,
    role: StructRole,
}

impl Checker {
    fn err(&mut self, file: &str, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(SpecError::new(file, path, message));
    }

    fn build(&mut self, files: &SpecFiles) -> Api {
        let api_file = &files.api.file;
        let a = &files.api.value;
        if !(a.base_url.starts_with("https://") || a.base_url.starts_with("http://")) {
            self.err(api_file, "base_url", format!("`{}` is not an http(s) URL", a.base_url));
        }
        if !a.auth.token_endpoint.path.starts_with('/') {
            self.err(api_file, "auth.token_endpoint.path", "a path must start with `/`");
        }
        if a.auth.query_param.is_empty() {
            self.err(api_file, "auth.query_param", "must not be empty");
        }
        if a.envelope.code.is_empty() || a.envelope.message.is_empty() || a.envelope.code == a.envelope.message {
            self.err(api_file, "envelope", "`code` and `message` must be two different, non-empty field names");
        }
        // They become fields of every response type.
        for (key, name) in [("code", &a.envelope.code), ("message", &a.envelope.message)] {
            if !name.is_empty() && (!is_field_name(name) || RESERVED_FIELDS.contains(&name.as_str())) {
                self.err(
                    api_file,
                    format!("envelope.{key}"),
                    format!(
                        "`{name}` is not usable as a Rust field name (snake_case, not a keyword, not `extra` or `new`)"
                    ),
                );
            }
        }
        if a.rate_limit.per_minute == 0 || a.rate_limit.per_hour == 0 {
            self.err(api_file, "rate_limit", "limits must be positive");
        }
        if !(-12..=14).contains(&a.day_utc_offset_hours) {
            self.err(api_file, "day_utc_offset_hours", format!("{} is not a UTC offset", a.day_utc_offset_hours));
        }

        let errors = self.check_errors(&files.errors);

        // Collect every declaration first, so references can point anywhere.
        let mut enum_specs: Vec<(&EnumSpec, DeclSite)> = Vec::new();
        let mut pending: Vec<PendingStruct<'_>> = Vec::new();
        let types_file = &files.types.file;
        for (i, e) in files.types.value.enums.iter().enumerate() {
            let site = DeclSite { file: types_file.clone(), path: format!("enums[{i}]"), owner: Owner::Shared };
            enum_specs.push((e, site));
        }
        for (i, s) in files.types.value.structs.iter().enumerate() {
            let site = DeclSite { file: types_file.clone(), path: format!("structs[{i}]"), owner: Owner::Shared };
            pending.push(PendingStruct {
                name: s.name.clone(),
                doc: s.doc.clone(),
                fields: &s.fields,
                rules: &s.rules,
                site,
                role: StructRole::Object,
            });
        }

        let mut seen_endpoints: HashMap<String, String> = HashMap::new();
        let mut seen_paths: HashMap<String, String> = HashMap::new();
        for ep in &files.endpoints {
            let file = &ep.file;
            let e = &ep.value;
            if !is_snake_case(&e.name) {
                self.err(file, "name", format!("`{}` is not a snake_case name", e.name));
            } else if RUST_KEYWORDS.contains(&e.name.as_str()) {
                self.err(file, "name", format!("`{}` is a Rust keyword: it cannot name the client method", e.name));
            }
            let stem = file.rsplit('/').next().unwrap_or(file).trim_end_matches(".yaml").trim_end_matches(".yml");
            if stem != e.name {
                self.err(file, "name", format!("endpoint `{}` must live in a file named `{}.yaml`", e.name, e.name));
            }
            if let Some(other) = seen_endpoints.insert(e.name.clone(), file.clone()) {
                self.err(file, "name", format!("duplicate endpoint name `{}` (also in {other})", e.name));
            }
            if !e.path.starts_with('/') {
                self.err(file, "path", format!("`{}` must start with `/`", e.path));
            } else if e.path.contains(['?', '#', ' ']) {
                self.err(file, "path", format!("`{}` must be a plain path (no query, fragment or spaces)", e.path));
            }
            if e.method == HttpMethod::Get && !e.request.fields.is_empty() {
                self.err(file, "method", "GET endpoints carry no body: their request must have no fields (use POST)");
            }
            if let Some(other) = seen_paths.insert(e.path.clone(), file.clone()) {
                self.err(file, "path", format!("duplicate path `{}` (also in {other})", e.path));
            }
            if !e.doc_url.starts_with("https://") {
                self.err(file, "doc_url", "must be an https URL");
            }
            for (key, value) in
                [("summary", &e.summary), ("summary_en", &e.summary_en), ("description", &e.description)]
            {
                if value.trim().is_empty() {
                    self.err(file, key, "must not be empty");
                }
            }
            let owner = Owner::Endpoint(e.name.clone());
            for (i, en) in e.enums.iter().enumerate() {
                enum_specs
                    .push((en, DeclSite { file: file.clone(), path: format!("enums[{i}]"), owner: owner.clone() }));
            }
            let camel = e.name.to_upper_camel_case();
            for (role, msg, key) in
                [(StructRole::Request, &e.request, "request"), (StructRole::Response, &e.response, "response")]
            {
                let suffix = if role == StructRole::Request { "Request" } else { "Response" };
                let doc = match &msg.doc {
                    Some(d) => d.clone(),
                    None => format!(
                        "{} body of `{}`: {}",
                        if role == StructRole::Request { "Request" } else { "Response" },
                        e.name,
                        e.summary
                    ),
                };
                pending.push(PendingStruct {
                    name: format!("{camel}{suffix}"),
                    doc,
                    fields: &msg.fields,
                    rules: &msg.rules,
                    site: DeclSite { file: file.clone(), path: key.to_string(), owner: owner.clone() },
                    role,
                });
            }
            for (i, s) in e.structs.iter().enumerate() {
                pending.push(PendingStruct {
                    name: s.name.clone(),
                    doc: s.doc.clone(),
                    fields: &s.fields,
                    rules: &s.rules,
                    site: DeclSite { file: file.clone(), path: format!("structs[{i}]"), owner: owner.clone() },
                    role: StructRole::Object,
                });
            }
        }

        // Names: valid, and unique across enums and structs of every file.
        let mut names: HashMap<String, (String, String)> = HashMap::new();
        let mut duplicated: BTreeSet<String> = BTreeSet::new();
        let mut enum_names = BTreeSet::new();
        let mut struct_names = BTreeSet::new();
        let mut check_name = |cx: &mut Checker, name: &str, site: &DeclSite, generated: bool| {
            let at = if generated { site.path.clone() } else { format!("{}.name", site.path) };
            if !generated && let Err(why) = type_name_problem(name) {
                cx.err(&site.file, &at, format!("type name `{name}` {why}"));
            }
            if let Some((file, path)) = names.get(name) {
                cx.err(&site.file, &at, format!("duplicate type name `{name}` (also at {file}: {path})"));
                duplicated.insert(name.to_string());
            } else {
                names.insert(name.to_string(), (site.file.clone(), at));
            }
        };
        for (e, site) in &enum_specs {
            check_name(self, &e.name, site, false);
            enum_names.insert(e.name.clone());
        }
        for p in &pending {
            check_name(self, &p.name, &p.site, p.role != StructRole::Object);
            struct_names.insert(p.name.clone());
        }

        let enums: Vec<Enum> = enum_specs.iter().map(|(e, site)| self.check_enum(e, site)).collect();
        let resolver = Resolver { enums: &enum_names, structs: &struct_names, enum_specs: &enums };

        let mut structs: Vec<Struct> = pending.iter().map(|p| self.check_struct(p, &resolver)).collect();
        for (name, cycle) in self_containing(&structs) {
            if duplicated.contains(&name) {
                continue;
            }
            let (file, path) = names.get(&name).cloned().unwrap_or_default();
            self.err(
                &file,
                path,
                format!(
                    "struct `{name}` contains itself ({}) outside an array: no Rust type can hold that; \
                     make one of these fields an `array<…>`",
                    cycle.join(" → ")
                ),
            );
        }

        // Endpoints, with paging, bulk, windows and examples resolved against their structs.
        let mut endpoints = Vec::new();
        for ep in &files.endpoints {
            endpoints.push(self.check_endpoint(ep, &structs, a.rate_limit));
        }
        endpoints.sort_by(|x, y| x.name.cmp(&y.name));

        // Usage: walk from every request and response root.
        let mut enums = enums;
        let roots: Vec<(String, bool)> = structs
            .iter()
            .filter(|s| s.role != StructRole::Object)
            .map(|s| (s.name.clone(), s.role == StructRole::Request))
            .collect();
        for (root, is_request) in roots {
            mark_usage(&root, is_request, &mut structs, &mut enums);
        }
        // A duplicated name is already reported; which of the two is "unused" would only confuse.
        for s in structs.iter().filter(|s| s.role == StructRole::Object && !duplicated.contains(&s.name)) {
            if !s.usage.request && !s.usage.response {
                let (file, path) = names.get(&s.name).cloned().unwrap_or_default();
                self.err(&file, path, format!("struct `{}` is declared but no endpoint uses it", s.name));
            }
        }
        for e in enums.iter().filter(|e| !duplicated.contains(&e.name)) {
            if !e.usage.request && !e.usage.response {
                let (file, path) = names.get(&e.name).cloned().unwrap_or_default();
                self.err(&file, path, format!("enum `{}` is declared but no endpoint uses it", e.name));
            }
        }

        Api {
            name: a.name.clone(),
            title: a.title.clone(),
            base_url: a.base_url.trim_end_matches('/').to_string(),
            token_query_param: a.auth.query_param.clone(),
            token_method: a.auth.token_endpoint.method,
            token_path: a.auth.token_endpoint.path.clone(),
            token_doc_url: a.auth.token_endpoint.doc_url.clone(),
            envelope_code: a.envelope.code.clone(),
            envelope_message: a.envelope.message.clone(),
            rate_limit: a.rate_limit,
            day_utc_offset_hours: a.day_utc_offset_hours,
            enums,
            structs,
            endpoints,
            errors,
        }
    }

    fn check_errors(&mut self, file: &Located<ErrorsFile>) -> Vec<ErrorCode> {
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for (i, e) in file.value.errors.iter().enumerate() {
            if let Some(prev) = seen.insert(e.code, i) {
                self.err(
                    &file.file,
                    format!("errors[{i}].code"),
                    format!("duplicate error code {} (also errors[{prev}])", e.code),
                );
            }
            if e.zh.trim().is_empty() || e.en.trim().is_empty() {
                self.err(&file.file, format!("errors[{i}]"), "`zh` and `en` must not be empty");
            }
            out.push(ErrorCode { code: e.code, zh: e.zh.clone(), en: e.en.clone(), retry: e.retry });
        }
        out.sort_by_key(|e| e.code);
        out
    }

    fn check_enum(&mut self, e: &EnumSpec, site: &DeclSite) -> Enum {
        if e.values.is_empty() {
            self.err(&site.file, format!("{}.values", site.path), "an enum needs at least one value");
        }
        let mut values_seen = HashMap::new();
        let mut names_seen = HashMap::new();
        for (i, v) in e.values.iter().enumerate() {
            let at = format!("{}.values[{i}]", site.path);
            if let Some(prev) = values_seen.insert(v.value, i) {
                self.err(
                    &site.file,
                    format!("{at}.value"),
                    format!("duplicate value {} (also values[{prev}])", v.value),
                );
            }
            if let Some(prev) = names_seen.insert(v.name.clone(), i) {
                self.err(
                    &site.file,
                    format!("{at}.name"),
                    format!("duplicate variant `{}` (also values[{prev}])", v.name),
                );
            }
            if let Err(why) = type_name_problem(&v.name) {
                self.err(&site.file, format!("{at}.name"), format!("variant `{}` {why}", v.name));
            }
            if v.name == UNKNOWN_VARIANT {
                self.err(&site.file, format!("{at}.name"), "`Unknown` is reserved for values the spec does not list");
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

    fn check_struct(&mut self, p: &PendingStruct<'_>, resolver: &Resolver<'_>) -> Struct {
        let file = &p.site.file;
        let base = format!("{}.fields", p.site.path);
        let mut json_seen: HashMap<&str, usize> = HashMap::new();
        let mut rust_seen: HashMap<String, usize> = HashMap::new();
        let mut fields = Vec::new();
        for (i, f) in p.fields.iter().enumerate() {
            let at = format!("{base}[{i}]");
            if f.name.is_empty() {
                self.err(file, format!("{at}.name"), "a field needs a name");
            }
            if let Some(prev) = json_seen.insert(&f.name, i) {
                self.err(file, format!("{at}.name"), format!("duplicate field `{}` (also fields[{prev}])", f.name));
            }
            let rust_name = match &f.rust_name {
                Some(r) => {
                    if !is_snake_case(r) || RUST_KEYWORDS.contains(&r.as_str()) {
                        self.err(
                            file,
                            format!("{at}.rust_name"),
                            format!("`{r}` is not a usable snake_case Rust name"),
                        );
                    }
                    r.clone()
                }
                None => {
                    if RUST_KEYWORDS.contains(&f.name.as_str()) {
                        self.err(
                            file,
                            format!("{at}.name"),
                            format!("`{}` is a Rust keyword: give the field a `rust_name`", f.name),
                        );
                    } else if !is_snake_case(&f.name) {
                        self.err(
                            file,
                            format!("{at}.name"),
                            format!("`{}` is not snake_case: give the field a `rust_name`", f.name),
                        );
                    }
                    f.name.clone()
                }
            };
            if RESERVED_FIELDS.contains(&rust_name.as_str()) {
                self.err(
                    file,
                    format!("{at}.name"),
                    format!("`{rust_name}` is reserved by the generated code: give the field a `rust_name`"),
                );
            }
            if p.role == StructRole::Response && (f.name == "errcode" || f.name == "errmsg") {
                self.err(
                    file,
                    format!("{at}.name"),
                    format!("`{}` belongs to the response envelope and is added to every response", f.name),
                );
            }
            if let Some(prev) = rust_seen.insert(rust_name.clone(), i) {
                self.err(
                    file,
                    format!("{at}.rust_name"),
                    format!("Rust name `{rust_name}` is used twice (also fields[{prev}])"),
                );
            }
            let ty = match resolver.parse(&f.ty) {
                Ok(t) => t,
                Err(msg) => {
                    self.err(file, format!("{at}.type"), msg);
                    Type::String
                }
            };
            let default =
                f.default.as_ref().and_then(|d| self.check_default(file, &format!("{at}.default"), d, &ty, resolver));
            if f.required && default.is_some() {
                self.err(file, format!("{at}.default"), "a required field cannot have a default");
            }
            if f.doc.trim().is_empty() {
                self.err(file, format!("{at}.doc"), "every field needs doc text");
            }
            let constraints = self.check_constraints(file, &format!("{at}.constraints"), &f.constraints, &ty);
            if let (Some(DefaultValue::Int(d)), Some(min)) = (&default, constraints.min)
                && *d < min.value
            {
                self.err(file, format!("{at}.default"), format!("default {d} is below the minimum {}", min.value));
            }
            if let (Some(DefaultValue::Int(d)), Some(max)) = (&default, constraints.max)
                && *d > max.value
            {
                self.err(file, format!("{at}.default"), format!("default {d} is above the maximum {}", max.value));
            }
            fields.push(Field {
                json_name: f.name.clone(),
                rust_name,
                ty,
                required: f.required,
                default,
                doc: f.doc.trim().to_string(),
                constraints,
            });
        }

        let mut rules = Vec::new();
        for (i, r) in p.rules.iter().enumerate() {
            let at = format!("{}.rules[{i}]", p.site.path);
            match &r.day_span {
                Some(span) => {
                    let mut lookup = |name: &str, key: &str| -> Option<&Field> {
                        match fields.iter().find(|f| f.json_name == name) {
                            Some(f) if f.ty == Type::Day => Some(f),
                            Some(f) => {
                                self.errors.push(SpecError::new(
                                    file,
                                    format!("{at}.day_span.{key}"),
                                    format!("field `{name}` is `{}`, a day span needs `day` fields", f.ty.spec_name()),
                                ));
                                None
                            }
                            None => {
                                self.errors.push(SpecError::new(
                                    file,
                                    format!("{at}.day_span.{key}"),
                                    format!("no field `{name}` in this struct"),
                                ));
                                None
                            }
                        }
                    };
                    let begin =
                        lookup(&span.begin, "begin").map(|f| (f.rust_name.clone(), f.json_name.clone(), f.required));
                    let end = lookup(&span.end, "end").map(|f| (f.rust_name.clone(), f.json_name.clone(), f.required));
                    if span.max_days < 1 {
                        self.err(
                            file,
                            format!("{at}.day_span.max_days"),
                            format!("{} is not a usable span (at least 1 day)", span.max_days),
                        );
                    }
                    if let (Some(b), Some(e)) = (begin, end) {
                        if !b.2 {
                            self.err(
                                file,
                                format!("{at}.day_span.begin"),
                                "the first day of a span must be a required field",
                            );
                        }
                        rules.push(Rule::DaySpan {
                            begin: (b.0, b.1),
                            end: (e.0, e.1),
                            end_optional: !e.2,
                            max_days: span.max_days,
                            errcode: span.errcode,
                        });
                    }
                }
                None => self.err(file, &at, "a rule needs one kind (`day_span`)"),
            }
        }

        Struct {
            name: p.name.clone(),
            doc: p.doc.trim().to_string(),
            fields,
            rules,
            owner: p.site.owner.clone(),
            role: p.role,
            usage: Usage::default(),
        }
    }

    fn check_default(
        &mut self,
        file: &str,
        at: &str,
        value: &serde_yaml::Value,
        ty: &Type,
        resolver: &Resolver<'_>,
    ) -> Option<DefaultValue> {
        let wrong = |cx: &mut Checker| {
            cx.err(file, at, format!("default `{}` does not fit type `{}`", yaml_scalar(value), ty.spec_name()));
            None
        };
        match ty {
            Type::Int | Type::Timestamp | Type::Day => match value.as_i64() {
                Some(v) => Some(DefaultValue::Int(v)),
                None => wrong(self),
            },
            Type::Bool => match value.as_bool() {
                Some(v) => Some(DefaultValue::Bool(v)),
                None => wrong(self),
            },
            Type::String => match value.as_str() {
                Some(v) => Some(DefaultValue::String(v.to_string())),
                None => wrong(self),
            },
            Type::Enum(name) => {
                let Some(v) = value.as_i64() else { return wrong(self) };
                let e = resolver.enum_specs.iter().find(|e| &e.name == name)?;
                match e.values.iter().find(|x| x.value == v) {
                    Some(x) => Some(DefaultValue::Enum { ty: name.clone(), variant: x.name.clone(), value: v }),
                    None => {
                        self.err(file, at, format!("default {v} is not a value of enum `{name}`"));
                        None
                    }
                }
            }
            Type::Struct(_) | Type::Array(_) => {
                self.err(
                    file,
                    at,
                    format!("defaults are only supported for scalars and enums, not `{}`", ty.spec_name()),
                );
                None
            }
        }
    }

    fn check_constraints(&mut self, file: &str, at: &str, c: &ConstraintsSpec, ty: &Type) -> model::Constraints {
        let mut out = model::Constraints::default();
        let is_array = matches!(ty, Type::Array(_));
        let is_string = *ty == Type::String;
        let is_int = ty.is_integer();
        let kind_check = |cx: &mut Checker, key: &str, present: bool, ok: bool, what: &str| {
            if present && !ok {
                cx.err(file, format!("{at}.{key}"), format!("`{key}` applies to {what}, not to `{}`", ty.spec_name()));
            }
        };
        kind_check(self, "min_items", c.min_items.is_some(), is_array, "arrays");
        kind_check(self, "max_items", c.max_items.is_some(), is_array, "arrays");
        kind_check(self, "each", c.each.is_some(), is_array, "arrays");
        kind_check(self, "min", c.min.is_some(), is_int, "integers");
        kind_check(self, "max", c.max.is_some(), is_int, "integers");
        kind_check(self, "min_chars", c.min_chars.is_some(), is_string, "strings");
        kind_check(self, "max_chars", c.max_chars.is_some(), is_string, "strings");
        kind_check(self, "truncated_chars", c.truncated_chars.is_some(), is_string, "strings");
        kind_check(self, "days_ago", c.days_ago.is_some(), *ty == Type::Day, "`day` fields");

        let lim = |l: Option<LimitSpec>| l.map(|l| Limit { value: l.value(), errcode: l.errcode() });
        out.min_items = lim(c.min_items);
        out.max_items = lim(c.max_items);
        out.min = lim(c.min);
        out.max = lim(c.max);
        out.min_chars = lim(c.min_chars);
        out.max_chars = lim(c.max_chars);
        out.truncated_chars = c.truncated_chars;
        out.days_ago = c.days_ago.map(|d| DaysAgo { min: d.min, max: d.max, errcode: d.errcode });

        for (key, l) in [
            ("min_items", out.min_items),
            ("max_items", out.max_items),
            ("min_chars", out.min_chars),
            ("max_chars", out.max_chars),
        ] {
            if let Some(l) = l
                && l.value < 0
            {
                self.err(file, format!("{at}.{key}"), format!("{} is negative", l.value));
            }
        }
        if let Some(l) = out.max_items
            && l.value == 0
        {
            self.err(file, format!("{at}.max_items"), "0 allows no items at all");
        }
        if let Some(l) = out.max_chars
            && l.value == 0
        {
            self.err(file, format!("{at}.max_chars"), "0 allows only the empty string");
        }
        for (lo, hi, what) in [
            (out.min_items, out.max_items, "min_items"),
            (out.min, out.max, "min"),
            (out.min_chars, out.max_chars, "min_chars"),
        ] {
            if let (Some(lo), Some(hi)) = (lo, hi)
                && lo.value > hi.value
            {
                self.err(
                    file,
                    format!("{at}.{what}"),
                    format!("impossible range: minimum {} is above maximum {}", lo.value, hi.value),
                );
            }
        }
        if let Some(t) = out.truncated_chars
            && t < 1
        {
            self.err(file, format!("{at}.truncated_chars"), format!("{t} is not a usable length"));
        }
        if let Some(d) = out.days_ago {
            if d.min < 0 {
                self.err(file, format!("{at}.days_ago.min"), format!("{} lies in the future", d.min));
            }
            if d.min > d.max {
                self.err(
                    file,
                    format!("{at}.days_ago"),
                    format!("impossible range: min {} is above max {}", d.min, d.max),
                );
            }
        }
        if let Some(each) = &c.each
            && let Type::Array(inner) = ty
        {
            let inner_c = self.check_constraints(file, &format!("{at}.each"), each, inner);
            out.each = Some(Box::new(inner_c));
        }
        out
    }

    fn check_endpoint(&mut self, ep: &Located<EndpointFile>, structs: &[Struct], default_rate: RateLimit) -> Endpoint {
        let file = &ep.file;
        let e = &ep.value;
        let camel = e.name.to_upper_camel_case();
        let request_name = format!("{camel}Request");
        let response_name = format!("{camel}Response");
        let find = |name: &str| structs.iter().find(|s| s.name == name);
        let request = find(&request_name);
        let response = find(&response_name);

        let fref = |f: &Field| FieldRef {
            json_name: f.json_name.clone(),
            rust_name: f.rust_name.clone(),
            optional: !f.required,
        };

        let paging = match (&e.paging, request, response) {
            (Some(PagingSpec::Cursor { cursor, next, items }), Some(req), Some(resp)) => {
                let c = self.field_of(file, "paging.cursor", req, cursor, |t| *t == Type::String, "a string");
                let n = self.field_of(file, "paging.next", resp, next, |t| *t == Type::String, "a string");
                let it = self.field_of(file, "paging.items", resp, items, |t| matches!(t, Type::Array(_)), "an array");
                if let Some(c) = c
                    && c.required
                {
                    self.err(
                        file,
                        "paging.cursor",
                        format!("cursor field `{cursor}` must be optional (the first call has none)"),
                    );
                }
                match (c, n, it) {
                    (Some(c), Some(n), Some(it)) => Some(Paging::Cursor {
                        cursor: fref(c),
                        next: fref(n),
                        items: fref(it),
                        item_type: array_item(&it.ty),
                    }),
                    _ => None,
                }
            }
            (Some(PagingSpec::Offset { offset, next, total, items, limit }), Some(req), Some(resp)) => {
                let o = self.field_of(file, "paging.offset", req, offset, |t| *t == Type::Int, "an int");
                let l = match limit {
                    Some(limit) => match self.field_of(file, "paging.limit", req, limit, |t| *t == Type::Int, "an int")
                    {
                        Some(l) => {
                            let default = match l.default {
                                Some(DefaultValue::Int(d)) => Some(d),
                                _ => None,
                            };
                            Some(Some((fref(l), default)))
                        }
                        None => None,
                    },
                    None => Some(None),
                };
                let n = self.field_of(file, "paging.next", resp, next, |t| *t == Type::Int, "an int");
                let t = self.field_of(file, "paging.total", resp, total, |t| *t == Type::Int, "an int");
                let it = self.field_of(file, "paging.items", resp, items, |t| matches!(t, Type::Array(_)), "an array");
                if let Some(o) = o
                    && o.required
                {
                    self.err(file, "paging.offset", format!("offset field `{offset}` must be optional"));
                }
                match (o, n, t, it, l) {
                    (Some(o), Some(n), Some(t), Some(it), Some(limit)) => Some(Paging::Offset {
                        offset: fref(o),
                        next: fref(n),
                        total: fref(t),
                        items: fref(it),
                        item_type: array_item(&it.ty),
                        limit,
                    }),
                    _ => None,
                }
            }
            _ => None,
        };

        let bulk = match (&e.bulk, request, response) {
            (Some(b), Some(req), Some(resp)) => self.check_bulk(file, b, req, resp, structs, &fref),
            _ => None,
        };
        let windows = match (&e.windows, request, response) {
            (Some(w), Some(req), Some(resp)) => self.check_windows(file, w, req, resp, structs, &fref),
            _ => None,
        };

        let mut examples = Vec::new();
        for (i, ex) in e.examples.iter().enumerate() {
            let mut parse = |key: &str, text: &Option<String>| -> Option<serde_json::Value> {
                let text = text.as_ref()?;
                match serde_json::from_str(text) {
                    Ok(v) => Some(v),
                    Err(err) => {
                        self.errors.push(SpecError::new(
                            file,
                            format!("examples[{i}].{key}"),
                            format!("not valid JSON: {err}"),
                        ));
                        None
                    }
                }
            };
            let request = parse("request", &ex.request);
            let response = parse("response", &ex.response);
            if ex.request.is_none() && ex.response.is_none() {
                self.err(file, format!("examples[{i}]"), "an example needs a `request`, a `response` or both");
            }
            examples.push(Example { name: ex.name.clone(), request, response });
        }

        Endpoint {
            name: e.name.clone(),
            method: e.method,
            path: e.path.clone(),
            summary: e.summary.trim().to_string(),
            summary_en: e.summary_en.trim().to_string(),
            description: e.description.trim().to_string(),
            doc_url: e.doc_url.clone(),
            retry: e.retry,
            paging,
            bulk,
            windows,
            rate_limit: e.rate_limit.unwrap_or(default_rate),
            request: request_name,
            response: response_name,
            examples,
            file: file.clone(),
        }
    }

    /// Looks up a field of a struct for an annotation, checking its type.
    fn field_of<'s>(
        &mut self,
        file: &str,
        at: &str,
        s: &'s Struct,
        name: &str,
        ok: impl Fn(&Type) -> bool,
        what: &str,
    ) -> Option<&'s Field> {
        match s.field(name) {
            Some(f) if ok(&f.ty) => Some(f),
            Some(f) => {
                self.err(file, at, format!("`{}.{name}` is `{}`, it must be {what}", s.name, f.ty.spec_name()));
                None
            }
            None => {
                self.err(file, at, format!("`{}` has no field `{name}`", s.name));
                None
            }
        }
    }

    fn check_bulk(
        &mut self,
        file: &str,
        b: &BulkSpec,
        req: &Struct,
        resp: &Struct,
        structs: &[Struct],
        fref: &dyn Fn(&Field) -> FieldRef,
    ) -> Option<Bulk> {
        let split = self.field_of(
            file,
            "bulk.split",
            req,
            &b.split,
            |t| *t == Type::Array(Box::new(Type::String)),
            "array<string>",
        )?;
        let Some(batch) = split.constraints.max_items else {
            self.err(file, "bulk.split", format!("`{}` needs a `max_items` constraint to size the batches", b.split));
            return None;
        };
        if !split.required {
            self.err(file, "bulk.split", format!("`{}` must be a required field", b.split));
        }
        let failures = self.field_of(
            file,
            "bulk.failures",
            resp,
            &b.failures,
            |t| matches!(t, Type::Array(inner) if matches!(**inner, Type::Struct(_))),
            "an array of structs",
        )?;
        let Type::Array(inner) = &failures.ty else { return None };
        let Type::Struct(fname) = &**inner else { return None };
        let fstruct = structs.iter().find(|s| &s.name == fname)?;
        let key = self.field_of(file, "bulk.key", fstruct, &b.key, |t| *t == Type::String, "a string")?;
        if !key.required {
            self.err(file, "bulk.key", format!("`{}.{}` must be required", fstruct.name, b.key));
        }
        let code = self.field_of(file, "bulk.failures", fstruct, "errcode", |t| *t == Type::Int, "an int")?;
        let msg = self.field_of(file, "bulk.failures", fstruct, "errmsg", |t| *t == Type::String, "a string")?;
        Some(Bulk {
            split: fref(split),
            batch_size: batch.value,
            failures: fref(failures),
            failure_type: fname.clone(),
            key: fref(key),
            failure_code: fref(code),
            failure_message: fref(msg),
        })
    }

    fn check_windows(
        &mut self,
        file: &str,
        w: &WindowsSpec,
        req: &Struct,
        resp: &Struct,
        structs: &[Struct],
        fref: &dyn Fn(&Field) -> FieldRef,
    ) -> Option<Windows> {
        let begin = self.field_of(file, "windows.begin", req, &w.begin, |t| *t == Type::Day, "a day")?;
        let end = self.field_of(file, "windows.end", req, &w.end, |t| *t == Type::Day, "a day")?;
        let span = req.rules.iter().find_map(|r| match r {
            Rule::DaySpan { begin: b, end: e, max_days, .. } if b.1 == w.begin && e.1 == w.end => Some(*max_days),
            _ => None,
        });
        let Some(max_days) = span else {
            self.err(
                file,
                "windows",
                format!("the request needs a `day_span` rule over `{}` and `{}`", w.begin, w.end),
            );
            return None;
        };
        let Some(days) = begin.constraints.days_ago else {
            self.err(file, "windows.begin", format!("`{}` needs a `days_ago` constraint", w.begin));
            return None;
        };
        let Some((parent_name, child_name)) = w.owners.split_once('.') else {
            self.err(file, "windows.owners", "give the owners as `filter_field.array_field`");
            return None;
        };
        let parent =
            self.field_of(file, "windows.owners", req, parent_name, |t| matches!(t, Type::Struct(_)), "a struct")?;
        if !parent.required {
            self.err(file, "windows.owners", format!("`{parent_name}` must be a required field"));
        }
        let Type::Struct(pname) = &parent.ty else { return None };
        let pstruct = structs.iter().find(|s| &s.name == pname)?;
        let owners = self.field_of(
            file,
            "windows.owners",
            pstruct,
            child_name,
            |t| *t == Type::Array(Box::new(Type::String)),
            "array<string>",
        )?;
        let Some(batch) = owners.constraints.max_items else {
            self.err(file, "windows.owners", format!("`{}` needs a `max_items` constraint", w.owners));
            return None;
        };
        if !owners.required {
            self.err(file, "windows.owners", format!("`{}` must be required", w.owners));
        }
        let items =
            self.field_of(file, "windows.items", resp, &w.items, |t| matches!(t, Type::Array(_)), "an array")?;
        Some(Windows {
            begin: fref(begin),
            end: fref(end),
            max_days,
            oldest_days_ago: days.max,
            newest_days_ago: days.min,
            owners_parent: fref(parent),
            owners_struct: pname.clone(),
            owners: fref(owners),
            owner_batch: batch.value,
            items: fref(items),
            item_type: array_item(&items.ty),
        })
    }
}

/// Resolves type expressions.
struct Resolver<'a> {
    enums: &'a BTreeSet<String>,
    structs: &'a BTreeSet<String>,
    enum_specs: &'a [Enum],
}

impl Resolver<'_> {
    fn parse(&self, text: &str) -> Result<Type, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("array<") {
            let Some(inner) = rest.strip_suffix('>') else {
                return Err(format!("`{text}`: missing `>`"));
            };
            let inner = self.parse(inner)?;
            if matches!(inner, Type::Array(_)) {
                return Err(format!("`{text}`: arrays of arrays are not supported"));
            }
            return Ok(Type::Array(Box::new(inner)));
        }
        match text {
            "string" => Ok(Type::String),
            "int" => Ok(Type::Int),
            "bool" => Ok(Type::Bool),
            "timestamp" => Ok(Type::Timestamp),
            "day" => Ok(Type::Day),
            "" => Err("missing type".into()),
            name if self.enums.contains(name) => Ok(Type::Enum(name.to_string())),
            name if self.structs.contains(name) => Ok(Type::Struct(name.to_string())),
            name => {
                let known: Vec<&str> = self.structs.iter().chain(self.enums.iter()).map(String::as_str).collect();
                let hint = closest(name, &known).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
                Err(format!(
                    "unknown type `{name}`{hint}; expected string, int, bool, timestamp, day, array<T> or a declared struct or enum"
                ))
            }
        }
    }
}

fn array_item(ty: &Type) -> Type {
    match ty {
        Type::Array(inner) => (**inner).clone(),
        other => other.clone(),
    }
}

/// The structs that contain themselves through fields that are not arrays (a `Vec` breaks the recursion, an
/// `Option` does not), each with its cycle of `Struct.field` steps.
fn self_containing(structs: &[Struct]) -> Vec<(String, Vec<String>)> {
    let direct = |name: &str| -> Vec<(String, String)> {
        structs
            .iter()
            .find(|s| s.name == name)
            .map(|s| {
                s.fields
                    .iter()
                    .filter_map(|f| match &f.ty {
                        Type::Struct(t) => Some((format!("{}.{}", s.name, f.json_name), t.clone())),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for s in structs {
        // Depth-first, remembering the path to each struct reached.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(s.name.clone(), Vec::new())];
        while let Some((name, path)) = stack.pop() {
            if name == s.name && !path.is_empty() {
                out.push((s.name.clone(), path));
                break;
            }
            if !seen.insert(name.clone()) {
                continue;
            }
            for (step, next) in direct(&name) {
                let mut path = path.clone();
                path.push(step);
                stack.push((next, path));
            }
        }
    }
    out
}

/// Marks every struct and enum reachable from `root` as used in requests or responses.
fn mark_usage(root: &str, is_request: bool, structs: &mut [Struct], enums: &mut [Enum]) {
    let mut stack = vec![root.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(s) = structs.iter_mut().find(|s| s.name == name) else { continue };
        if is_request {
            s.usage.request = true
        } else {
            s.usage.response = true
        }
        let refs: Vec<Type> = s.fields.iter().map(|f| array_item(&f.ty)).collect();
        for t in refs {
            match t {
                Type::Struct(n) => stack.push(n),
                Type::Enum(n) => {
                    if let Some(e) = enums.iter_mut().find(|e| e.name == n) {
                        if is_request { e.usage.request = true } else { e.usage.response = true }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Why `name` cannot name a type or an enum variant: it must be an ASCII UpperCamelCase identifier.
fn type_name_problem(name: &str) -> Result<(), &'static str> {
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

/// Whether `name` can be a Rust field name as it is.
fn is_field_name(name: &str) -> bool {
    is_snake_case(name) && !RUST_KEYWORDS.contains(&name)
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.to_snake_case() == s
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn yaml_scalar(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

/// The known name closest to `name` (case-insensitive edit distance ≤ 3), for "did you mean" hints.
fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}
