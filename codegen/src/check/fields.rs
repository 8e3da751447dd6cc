//! Each struct's fields: names, types (resolved to ids), defaults and limits; `include`s expanded into the
//! fields they stand for; rules over fields resolved to field ids.

use std::collections::{BTreeSet, HashMap};

use super::Checker;
use super::names::{Decls, PendingStruct};
use crate::model::{
    DefaultValue, Enum, EnumId, Field, FieldId, Include, Rule, Struct, StructId, StructRole, Type, Usage,
};
use crate::spec::FieldSpec;

use super::{RESERVED_FIELDS, RUST_KEYWORDS};

/// Resolves every declared struct, in declaration order (so `StructId`s stay those of the declarations).
/// `envelope` holds the names of the two status fields every response carries.
pub(super) fn resolve(cx: &mut Checker, decls: &Decls<'_>, envelope: (&str, &str)) -> Vec<Struct> {
    let resolver = Resolver { decls };
    let own: Vec<Vec<Field>> = decls.structs.iter().map(|p| own_fields(cx, p, &resolver, envelope)).collect();
    let mut included = BTreeSet::new();
    let mut structs = Vec::with_capacity(decls.structs.len());
    for (i, p) in decls.structs.iter().enumerate() {
        let (fields, includes) = expand_includes(cx, p, StructId(i), &own, decls, &mut included);
        structs.push(Struct {
            name: p.name.clone(),
            doc: p.doc.trim().to_string(),
            rules: Vec::new(),
            fields,
            owner: p.site.owner.clone(),
            role: p.role,
            usage: Usage::default(),
            includes,
            included: false,
        });
    }
    for id in included {
        structs[id.0].included = true;
    }
    for (i, p) in decls.structs.iter().enumerate() {
        let rules = rules(cx, p, StructId(i), &structs[i].fields, &resolver);
        structs[i].rules = rules;
    }
    for (id, cycle) in self_containing(&structs) {
        let p = &decls.structs[id.0];
        if decls.duplicated.contains(&p.name) {
            continue;
        }
        cx.err(
            &p.site.file,
            format!("{}.name", p.site.path),
            format!(
                "struct `{}` contains itself ({}) outside an array: no Rust type can hold that; \
                 make one of these fields an `array<…>`",
                p.name,
                cycle.join(" → ")
            ),
        );
    }
    structs
}

/// The structs that contain themselves through fields that are not arrays (a `Vec` breaks the recursion, an
/// `Option` does not), each with its cycle of `Struct.field` steps.
fn self_containing(structs: &[Struct]) -> Vec<(StructId, Vec<String>)> {
    let direct = |id: StructId| -> Vec<(String, StructId)> {
        let s = &structs[id.0];
        s.fields
            .iter()
            .filter_map(|f| match &f.ty {
                Type::Struct(t) => Some((format!("{}.{}", s.name, f.json_name), *t)),
                _ => None,
            })
            .collect()
    };
    let mut out = Vec::new();
    for start in (0..structs.len()).map(StructId) {
        // Depth-first, remembering the path to each struct reached.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(StructId, Vec<String>)> = vec![(start, Vec::new())];
        while let Some((id, path)) = stack.pop() {
            if id == start && !path.is_empty() {
                out.push((start, path));
                break;
            }
            if !seen.insert(id) {
                continue;
            }
            for (step, next) in direct(id) {
                let mut path = path.clone();
                path.push(step);
                stack.push((next, path));
            }
        }
    }
    out
}

/// The fields written in the struct itself.
fn own_fields(
    cx: &mut Checker,
    p: &PendingStruct<'_>,
    resolver: &Resolver<'_, '_>,
    envelope: (&str, &str),
) -> Vec<Field> {
    let file = &p.site.file;
    let base = format!("{}.fields", p.site.path);
    p.fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = format!("{base}[{i}]");
            if p.role == StructRole::Response && (f.name == envelope.0 || f.name == envelope.1) {
                cx.err(
                    file,
                    format!("{at}.name"),
                    format!("`{}` belongs to the response envelope and is added to every response", f.name),
                );
            }
            resolve_field(cx, file, &at, f, resolver)
        })
        .collect()
}

fn resolve_field(cx: &mut Checker, file: &str, at: &str, f: &FieldSpec, resolver: &Resolver<'_, '_>) -> Field {
    if f.name.is_empty() {
        cx.err(file, format!("{at}.name"), "a field needs a name");
    }
    let rust_name = match &f.rust_name {
        Some(r) => {
            if !super::is_snake_case(r) || RUST_KEYWORDS.contains(&r.as_str()) {
                cx.err(file, format!("{at}.rust_name"), format!("`{r}` is not a usable snake_case Rust name"));
            }
            r.clone()
        }
        None => {
            if RUST_KEYWORDS.contains(&f.name.as_str()) {
                cx.err(
                    file,
                    format!("{at}.name"),
                    format!("`{}` is a Rust keyword: give the field a `rust_name`", f.name),
                );
            } else if !f.name.is_empty() && !super::is_snake_case(&f.name) {
                cx.err(
                    file,
                    format!("{at}.name"),
                    format!("`{}` is not snake_case: give the field a `rust_name`", f.name),
                );
            }
            f.name.clone()
        }
    };
    if RESERVED_FIELDS.contains(&rust_name.as_str()) {
        cx.err(
            file,
            format!("{at}.name"),
            format!("`{rust_name}` is reserved by the generated code: give the field a `rust_name`"),
        );
    }
    let ty = match resolver.parse(&f.ty) {
        Ok(t) => t,
        Err(msg) => {
            cx.err(file, format!("{at}.type"), msg);
            Type::String
        }
    };
    let default = f.default.as_ref().and_then(|d| check_default(cx, file, &format!("{at}.default"), d, &ty, resolver));
    if f.required && default.is_some() {
        cx.err(file, format!("{at}.default"), "a required field cannot have a default");
    }
    if f.doc.trim().is_empty() {
        cx.err(file, format!("{at}.doc"), "every field needs doc text");
    }
    if f.secret && ty != Type::String {
        cx.err(file, format!("{at}.secret"), "only a string can be a secret");
    }
    let type_name = resolver.spec_name(&ty);
    let constraints =
        super::constraints::check(cx, file, &format!("{at}.constraints"), &f.constraints, &ty, &type_name, resolver);
    if let (Some(DefaultValue::Int(d)), Some(min)) = (&default, constraints.min)
        && *d < min.value
    {
        cx.err(file, format!("{at}.default"), format!("default {d} is below the minimum {}", min.value));
    }
    if let (Some(DefaultValue::Int(d)), Some(max)) = (&default, constraints.max)
        && *d > max.value
    {
        cx.err(file, format!("{at}.default"), format!("default {d} is above the maximum {}", max.value));
    }
    Field {
        json_name: f.name.clone(),
        rust_name,
        ty,
        required: f.required,
        default,
        doc: f.doc.trim().to_string(),
        constraints,
        secret: f.secret,
    }
}

/// The struct's fields: its own, then those of the structs it includes (in include order); each name once.
fn expand_includes(
    cx: &mut Checker,
    p: &PendingStruct<'_>,
    id: StructId,
    own: &[Vec<Field>],
    decls: &Decls<'_>,
    included: &mut BTreeSet<StructId>,
) -> (Vec<Field>, Vec<Include>) {
    let file = &p.site.file;
    let mut fields: Vec<Field> = own[id.0].clone();
    let own_count = fields.len();
    let mut includes = Vec::new();
    for (i, inc) in p.include.iter().enumerate() {
        let at = format!("{}.include[{i}].struct", p.site.path);
        let Some(&from) = decls.struct_ids.get(&inc.from) else {
            let known: Vec<&str> = decls.struct_ids.keys().map(String::as_str).collect();
            let hint = super::closest(&inc.from, &known).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
            cx.err(file, at, format!("unknown struct `{}`{hint}", inc.from));
            continue;
        };
        let source = &decls.structs[from.0];
        if from == id {
            cx.err(file, at, "a struct cannot include itself");
            continue;
        }
        if source.role != StructRole::Object {
            cx.err(file, at, format!("`{}` is a request or response; include a struct of `structs:`", inc.from));
            continue;
        }
        if !source.include.is_empty() {
            cx.err(file, at, format!("`{}` includes others itself; include the structs it includes instead", inc.from));
            continue;
        }
        if !source.rules.is_empty() {
            cx.err(file, at, format!("`{}` has rules; an included struct must not", inc.from));
            continue;
        }
        included.insert(from);
        let start = fields.len();
        fields.extend(own[from.0].iter().cloned().map(|mut f| {
            if inc.optional {
                f.required = false;
            }
            f
        }));
        includes.push(Include { from, fields: (start..fields.len()).collect() });
    }
    // Each JSON name and Rust name once, included ones too.
    let mut json_seen: HashMap<&str, usize> = HashMap::new();
    let mut rust_seen: HashMap<&str, usize> = HashMap::new();
    for (i, f) in fields.iter().enumerate() {
        let at = |key: &str| {
            if i < own_count {
                format!("{}.fields[{i}].{key}", p.site.path)
            } else {
                format!("{}.include", p.site.path)
            }
        };
        if !f.json_name.is_empty()
            && let Some(prev) = json_seen.insert(&f.json_name, i)
        {
            cx.err(file, at("name"), format!("duplicate field `{}` (also fields[{prev}])", f.json_name));
        } else if let Some(prev) = rust_seen.insert(&f.rust_name, i) {
            cx.err(file, at("rust_name"), format!("Rust name `{}` is used twice (also fields[{prev}])", f.rust_name));
        }
    }
    (fields, includes)
}

fn rules(
    cx: &mut Checker,
    p: &PendingStruct<'_>,
    id: StructId,
    fields: &[Field],
    resolver: &Resolver<'_, '_>,
) -> Vec<Rule> {
    let file = &p.site.file;
    let mut out = Vec::new();
    for (i, r) in p.rules.iter().enumerate() {
        let at = format!("{}.rules[{i}]", p.site.path);
        let Some(span) = &r.day_span else {
            cx.err(file, &at, "a rule needs one kind (`day_span`)");
            continue;
        };
        let mut lookup = |name: &str, key: &str| -> Option<usize> {
            match fields.iter().position(|f| f.json_name == name) {
                Some(index) if fields[index].ty == Type::Day => Some(index),
                Some(index) => {
                    let ty = resolver.spec_name(&fields[index].ty);
                    cx.err(
                        file,
                        format!("{at}.day_span.{key}"),
                        format!("field `{name}` is `{ty}`, a day span needs `day` fields"),
                    );
                    None
                }
                None => {
                    cx.err(file, format!("{at}.day_span.{key}"), format!("no field `{name}` in this struct"));
                    None
                }
            }
        };
        let begin = lookup(&span.begin, "begin");
        let end = lookup(&span.end, "end");
        if span.max_days < 1 {
            cx.err(
                file,
                format!("{at}.day_span.max_days"),
                format!("{} is not a usable span (at least 1 day)", span.max_days),
            );
        }
        if let (Some(begin), Some(end)) = (begin, end) {
            if !fields[begin].required {
                cx.err(file, format!("{at}.day_span.begin"), "the first day of a span must be a required field");
            }
            out.push(Rule::DaySpan {
                begin: FieldId { owner: id, index: begin },
                end: FieldId { owner: id, index: end },
                max_days: span.max_days,
                errcode: span.errcode,
            });
        }
    }
    out
}

fn check_default(
    cx: &mut Checker,
    file: &str,
    at: &str,
    value: &serde_yaml::Value,
    ty: &Type,
    resolver: &Resolver<'_, '_>,
) -> Option<DefaultValue> {
    let wrong = |cx: &mut Checker| {
        cx.err(file, at, format!("default `{}` does not fit type `{}`", yaml_scalar(value), resolver.spec_name(ty)));
        None
    };
    match ty {
        Type::Int | Type::Timestamp | Type::Day => match value.as_i64() {
            Some(v) => Some(DefaultValue::Int(v)),
            None => wrong(cx),
        },
        Type::Bool => match value.as_bool() {
            Some(v) => Some(DefaultValue::Bool(v)),
            None => wrong(cx),
        },
        Type::String => match value.as_str() {
            Some(v) => Some(DefaultValue::String(v.to_string())),
            None => wrong(cx),
        },
        Type::Enum(id) => {
            let Some(v) = value.as_i64() else { return wrong(cx) };
            let e = resolver.enum_(*id);
            match e.values.iter().find(|x| x.value == v) {
                Some(x) => Some(DefaultValue::Enum { ty: *id, variant: x.name.clone(), value: v }),
                None => {
                    cx.err(file, at, format!("default {v} is not a value of enum `{}`", e.name));
                    None
                }
            }
        }
        Type::Struct(_) | Type::Array(_) => {
            cx.err(
                file,
                at,
                format!("defaults are only supported for scalars and enums, not `{}`", resolver.spec_name(ty)),
            );
            None
        }
    }
}

fn yaml_scalar(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

/// Resolves type expressions against the declarations.
pub(super) struct Resolver<'d, 'a> {
    decls: &'d Decls<'a>,
}

impl Resolver<'_, '_> {
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
            name => {
                if let Some(id) = self.decls.enum_ids.get(name) {
                    return Ok(Type::Enum(*id));
                }
                if let Some(id) = self.decls.struct_ids.get(name) {
                    if self.decls.structs[id.0].role != StructRole::Object {
                        return Err(format!("`{name}` is a request or response, not a type fields can have"));
                    }
                    return Ok(Type::Struct(*id));
                }
                let known: Vec<&str> =
                    self.decls.struct_ids.keys().chain(self.decls.enum_ids.keys()).map(String::as_str).collect();
                let hint = super::closest(name, &known).map(|k| format!(" (did you mean `{k}`?)")).unwrap_or_default();
                Err(format!(
                    "unknown type `{name}`{hint}; expected string, int, bool, timestamp, day, array<T> or a declared struct or enum"
                ))
            }
        }
    }

    pub(super) fn enum_(&self, id: EnumId) -> &Enum {
        &self.decls.enums[id.0]
    }

    /// How a type is written in the spec.
    pub(super) fn spec_name(&self, ty: &Type) -> String {
        ty.spec_name(&|id| self.decls.structs[id.0].name.clone(), &|id| self.decls.enums[id.0].name.clone())
    }
}
