//! What an endpoint says beyond its fields — paging, bulk, windows, how the simulator answers it, its
//! examples — and the roles of the token endpoint's fields, each resolved to field ids.

use super::Checker;
use super::names::{EndpointDecl, TokenDecl};
use crate::model::{
    Bulk, Endpoint, Example, Field, FieldId, Paging, Rule, Simulated, Struct, StructId, TokenEndpoint, Type, Windows,
};
use crate::spec::{BulkSpec, EnvelopeSpec, PagingSpec, SimulatorSpec, SpecFiles, WindowsSpec};

/// The token endpoint and every endpoint (sorted by name); `None` when a struct they need is missing.
pub(super) fn check(
    cx: &mut Checker,
    files: &SpecFiles,
    endpoints: &[EndpointDecl],
    token: &TokenDecl,
    structs: &[Struct],
) -> (TokenEndpoint, Vec<Endpoint>) {
    let token = check_token(cx, files, token, structs);
    let mut out: Vec<Endpoint> = endpoints.iter().map(|decl| check_endpoint(cx, files, decl, structs)).collect();
    out.sort_by(|x, y| x.name.cmp(&y.name));
    (token, out)
}

/// A field of struct `id` for an annotation, its type checked.
struct Lookup<'s> {
    structs: &'s [Struct],
    file: &'s str,
}

impl Lookup<'_> {
    fn field(
        &self,
        cx: &mut Checker,
        at: &str,
        id: StructId,
        name: &str,
        ok: impl Fn(&Type) -> bool,
        what: &str,
    ) -> Option<FieldId> {
        let s = &self.structs[id.0];
        match s.field(name) {
            Some((index, f)) if ok(&f.ty) => Some(FieldId { owner: id, index }),
            Some((_, f)) => {
                let ty = spec_name(self.structs, &f.ty);
                cx.err(self.file, at, format!("`{}.{name}` is `{ty}`, it must be {what}", s.name));
                None
            }
            None => {
                cx.err(self.file, at, format!("`{}` has no field `{name}`", s.name));
                None
            }
        }
    }

    fn get(&self, id: FieldId) -> &Field {
        &self.structs[id.owner.0].fields[id.index]
    }
}

fn spec_name(structs: &[Struct], ty: &Type) -> String {
    ty.spec_name(&|id| structs[id.0].name.clone(), &|_| "an enum".into())
}

fn check_token(cx: &mut Checker, files: &SpecFiles, decl: &TokenDecl, structs: &[Struct]) -> TokenEndpoint {
    let t = &files.api.value.auth.token_endpoint;
    let look = Lookup { structs, file: &files.api.file };
    let string = |t: &Type| *t == Type::String;
    let at = "auth.token_endpoint.roles";
    let corp_id = look.field(cx, &format!("{at}.corp_id"), decl.query, &t.roles.corp_id, string, "a string");
    let secret = look.field(cx, &format!("{at}.secret"), decl.query, &t.roles.secret, string, "a string");
    let token = look.field(cx, &format!("{at}.token"), decl.response, &t.roles.token, string, "a string");
    let expires_in =
        look.field(cx, &format!("{at}.expires_in"), decl.response, &t.roles.expires_in, |t| *t == Type::Int, "an int");
    if let Some(s) = secret
        && !look.get(s).secret
    {
        cx.err(&files.api.file, format!("{at}.secret"), format!("`{}` must be marked `secret: true`", t.roles.secret));
    }
    if let Some(s) = token
        && !look.get(s).secret
    {
        cx.err(&files.api.file, format!("{at}.token"), format!("`{}` must be marked `secret: true`", t.roles.token));
    }
    // The runtime fills the query from a corp id and a secret: it can fill no other required parameter.
    for (i, f) in structs[decl.query.0].fields.iter().enumerate() {
        let filled = [corp_id, secret].iter().flatten().any(|id| id.index == i);
        if f.required && !filled {
            cx.err(
                &files.api.file,
                format!("auth.token_endpoint.query.fields[{i}]"),
                format!(
                    "`{}` is required but is neither the corp id nor the secret: the client could not send it",
                    f.json_name
                ),
            );
        }
    }
    // A missing role is reported; the model points at field 0 then, and is never used.
    let or_first = |f: Option<FieldId>, owner: StructId| f.unwrap_or(FieldId { owner, index: 0 });
    TokenEndpoint {
        name: t.name.clone(),
        method: t.method,
        path: t.path.clone(),
        doc_url: t.doc_url.clone(),
        query: decl.query,
        response: decl.response,
        corp_id_param: or_first(corp_id, decl.query),
        secret_param: or_first(secret, decl.query),
        token_field: or_first(token, decl.response),
        expires_in_field: or_first(expires_in, decl.response),
    }
}

fn check_endpoint(cx: &mut Checker, files: &SpecFiles, decl: &EndpointDecl, structs: &[Struct]) -> Endpoint {
    let located = &files.endpoints[decl.file_index];
    let (file, e) = (&located.file, &located.value);
    let look = Lookup { structs, file };
    let (req, resp) = (decl.request, decl.response);
    let string = |t: &Type| *t == Type::String;
    let int = |t: &Type| *t == Type::Int;
    let array = |t: &Type| matches!(t, Type::Array(_));

    let paging = match &e.paging {
        Some(PagingSpec::Cursor { cursor, next, items }) => {
            let c = look.field(cx, "paging.cursor", req, cursor, string, "a string");
            let n = look.field(cx, "paging.next", resp, next, string, "a string");
            let it = look.field(cx, "paging.items", resp, items, array, "an array");
            if let Some(c) = c
                && look.get(c).required
            {
                cx.err(
                    file,
                    "paging.cursor",
                    format!("cursor field `{cursor}` must be optional (the first call has none)"),
                );
            }
            match (c, n, it) {
                (Some(cursor), Some(next), Some(items)) => Some(Paging::Cursor { cursor, next, items }),
                _ => None,
            }
        }
        Some(PagingSpec::Offset { offset, next, total, items, limit }) => {
            let o = look.field(cx, "paging.offset", req, offset, int, "an int");
            let l = limit.as_ref().map(|limit| look.field(cx, "paging.limit", req, limit, int, "an int"));
            let n = look.field(cx, "paging.next", resp, next, int, "an int");
            let t = look.field(cx, "paging.total", resp, total, int, "an int");
            let it = look.field(cx, "paging.items", resp, items, array, "an array");
            if let Some(o) = o
                && look.get(o).required
            {
                cx.err(file, "paging.offset", format!("offset field `{offset}` must be optional"));
            }
            match (o, n, t, it, l) {
                (Some(offset), Some(next), Some(total), Some(items), None) => {
                    Some(Paging::Offset { offset, next, total, items, limit: None })
                }
                (Some(offset), Some(next), Some(total), Some(items), Some(Some(limit))) => {
                    Some(Paging::Offset { offset, next, total, items, limit: Some(limit) })
                }
                _ => None,
            }
        }
        None => None,
    };
    let bulk = e.bulk.as_ref().and_then(|b| check_bulk(cx, &look, b, (req, resp), &files.api.value.envelope));
    let windows = e.windows.as_ref().and_then(|w| check_windows(cx, &look, w, req, resp));

    let simulated = match e.simulator {
        SimulatorSpec::Handler => Simulated::Handler,
        SimulatorSpec::Example => {
            if !e.examples.iter().any(|x| x.response.is_some()) {
                cx.err(file, "simulator", "`example` needs an example with a `response` to answer with");
            }
            Simulated::Example
        }
    };

    let mut examples = Vec::new();
    for (i, ex) in e.examples.iter().enumerate() {
        let mut parse = |key: &str, text: &Option<String>| -> Option<serde_json::Value> {
            let text = text.as_ref()?;
            match serde_json::from_str(text) {
                Ok(v) => Some(v),
                Err(err) => {
                    cx.err(file, format!("examples[{i}].{key}"), format!("not valid JSON: {err}"));
                    None
                }
            }
        };
        let request = parse("request", &ex.request);
        let response = parse("response", &ex.response);
        if ex.request.is_none() && ex.response.is_none() {
            cx.err(file, format!("examples[{i}]"), "an example needs a `request`, a `response` or both");
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
        rate_limit: e.rate_limit.unwrap_or(files.api.value.rate_limit),
        request: req,
        response: resp,
        simulated,
        facts: super::api::check_facts(cx, file, "facts", &e.facts),
        examples,
        file: file.clone(),
    }
}

/// Each failure item reports its own status in the envelope's two fields (`errcode`, `errmsg`).
fn check_bulk(
    cx: &mut Checker,
    look: &Lookup<'_>,
    b: &BulkSpec,
    (req, resp): (StructId, StructId),
    envelope: &EnvelopeSpec,
) -> Option<Bulk> {
    let split =
        look.field(cx, "bulk.split", req, &b.split, |t| *t == Type::Array(Box::new(Type::String)), "array<string>")?;
    let split_field = look.get(split);
    let Some(batch) = split_field.constraints.max_items else {
        cx.err(look.file, "bulk.split", format!("`{}` needs a `max_items` constraint to size the batches", b.split));
        return None;
    };
    if !split_field.required {
        cx.err(look.file, "bulk.split", format!("`{}` must be a required field", b.split));
    }
    let failures = look.field(
        cx,
        "bulk.failures",
        resp,
        &b.failures,
        |t| matches!(t, Type::Array(inner) if matches!(**inner, Type::Struct(_))),
        "an array of structs",
    )?;
    let Type::Struct(item) = look.get(failures).ty.item().clone() else { return None };
    let key = look.field(cx, "bulk.key", item, &b.key, |t| *t == Type::String, "a string")?;
    if !look.get(key).required {
        cx.err(look.file, "bulk.key", format!("`{}.{}` must be required", look.structs[item.0].name, b.key));
    }
    let failure_code = look.field(cx, "bulk.failures", item, &envelope.code, |t| *t == Type::Int, "an int")?;
    let failure_message =
        look.field(cx, "bulk.failures", item, &envelope.message, |t| *t == Type::String, "a string")?;
    Some(Bulk { split, batch_size: batch.value, failures, key, failure_code, failure_message })
}

fn check_windows(
    cx: &mut Checker,
    look: &Lookup<'_>,
    w: &WindowsSpec,
    req: StructId,
    resp: StructId,
) -> Option<Windows> {
    let day = |t: &Type| *t == Type::Day;
    let begin = look.field(cx, "windows.begin", req, &w.begin, day, "a day")?;
    let end = look.field(cx, "windows.end", req, &w.end, day, "a day")?;
    let span = look.structs[req.0].rules.iter().find_map(|r| match r {
        Rule::DaySpan { begin: b, end: e, max_days, errcode } if *b == begin && *e == end => {
            Some((*max_days, *errcode))
        }
        _ => None,
    });
    let Some((max_days, span_errcode)) = span else {
        cx.err(look.file, "windows", format!("the request needs a `day_span` rule over `{}` and `{}`", w.begin, w.end));
        return None;
    };
    let Some(days) = look.get(begin).constraints.days_ago else {
        cx.err(look.file, "windows.begin", format!("`{}` needs a `days_ago` constraint", w.begin));
        return None;
    };
    let Some((parent_name, child_name)) = w.owners.split_once('.') else {
        cx.err(look.file, "windows.owners", "give the owners as `filter_field.array_field`");
        return None;
    };
    let owners_parent =
        look.field(cx, "windows.owners", req, parent_name, |t| matches!(t, Type::Struct(_)), "a struct")?;
    let Type::Struct(filter) = look.get(owners_parent).ty else { return None };
    let owners = look.field(
        cx,
        "windows.owners",
        filter,
        child_name,
        |t| *t == Type::Array(Box::new(Type::String)),
        "array<string>",
    )?;
    let Some(batch) = look.get(owners).constraints.max_items else {
        cx.err(look.file, "windows.owners", format!("`{}` needs a `max_items` constraint", w.owners));
        return None;
    };
    if !look.get(owners).required {
        cx.err(look.file, "windows.owners", format!("`{}` must be required", w.owners));
    }
    let items = look.field(cx, "windows.items", resp, &w.items, |t| matches!(t, Type::Array(_)), "an array")?;
    Some(Windows {
        begin,
        end,
        max_days,
        oldest_days_ago: days.max,
        newest_days_ago: days.min,
        days_errcode: days.errcode.or(span_errcode),
        owners_parent,
        owners_filter: filter,
        owners,
        owner_batch: batch.value,
        items,
    })
}
