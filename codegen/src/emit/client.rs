//! One `Client` method per endpoint, documented from the spec, with a compiled example built from the
//! endpoint's first documented request.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs;
use super::tokens::{ident, rust_type, utc_offset};
use crate::model::{Api, DefaultValue, Endpoint, Paging, Retry, Struct, Type};

/// `client.rs`.
pub fn all(api: &Api) -> TokenStream {
    let methods = api.endpoints.iter().map(|ep| method_tokens(api, ep));
    let streams = api.endpoints.iter().any(|ep| ep.paging.is_some() || ep.windows.is_some());
    let stream_use = streams.then(|| quote! { use futures::Stream; });
    quote! {
        #stream_use
        use super::types::*;
        use crate::{Client, Error};

        impl Client {
            #(#methods)*
        }
    }
}

/// The methods of one endpoint.
pub fn method_tokens(api: &Api, ep: &Endpoint) -> TokenStream {
    let method = ident(&ep.name);
    let request = ident(&api.struct_(ep.request).name);
    let response = ident(&api.struct_(ep.response).name);
    let json = |id| api.field(id).json_name.as_str();

    let retry = match ep.retry {
        Retry::Idempotent => {
            "Retry class: idempotent. Transient failures (system busy, concurrency limit, HTTP 5xx, timeouts, dropped connections, bodies cut short) are retried with backoff."
        }
        Retry::NonIdempotent => {
            "Retry class: non-idempotent. It is retried only when the request provably never reached the server; otherwise a failure says the outcome is unknown."
        }
    };
    let paging = match &ep.paging {
        Some(Paging::Cursor { cursor, next, .. }) => format!(
            "Returns one page; pass `{}` back as `{}` for the next one, or use `{}_stream` to get every item (`{}` empty or absent ends the listing).",
            json(*next),
            json(*cursor),
            ep.name,
            json(*next)
        ),
        Some(Paging::Offset { next, total, .. }) => format!(
            "Returns one page; use `{}_stream` to get every item (pages end when `{}` reaches `{}`).",
            ep.name,
            json(*next),
            json(*total)
        ),
        None => String::new(),
    };
    let doc = docs::doc_paragraphs(&[
        format!("{} — {}", ep.summary, ep.summary_en),
        ep.description.clone(),
        format!("`{} {}` · official documentation: <{}>", method_name(ep), ep.path, ep.doc_url),
        format!("The request is validated first (no call is made when a documented limit is broken). {retry}"),
        paging,
    ]);
    let example = docs::doc_attrs(&example_doc(api, ep));
    let helpers = helper_methods(api, ep);
    quote! {
        #doc
        ///
        /// # Errors
        ///
        /// [`Error`] when validation fails, the API answers a non-zero `errcode`, or the call fails in transport or decoding.
        ///
        /// # Example
        ///
        #example
        pub async fn #method(&self, request: &#request) -> Result<#response, Error> {
            self.call(request).await
        }

        #helpers
    }
}

/// The paging, batching and windowing helpers the spec's annotations ask for.
fn helper_methods(api: &Api, ep: &Endpoint) -> TokenStream {
    let request = ident(&api.struct_(ep.request).name);
    let json = |id| api.field(id).json_name.as_str();
    let mut out = TokenStream::new();
    match &ep.paging {
        Some(Paging::Cursor { next, items, .. }) => {
            let name = format_ident!("{}_stream", ep.name);
            let item = rust_type(api, api.field(*items).ty.item());
            let doc = docs::doc_paragraphs(&[
                format!("Every item of `{}`, page after page, as a stream: follows `{}` until it is empty or absent. Holds one page in memory at a time.", ep.name, json(*next)),
                "The request's cursor is ignored (the stream starts at the first page). A failed page ends the stream with its error.".to_string(),
            ]);
            out.extend(quote! {
                #doc
                pub fn #name(&self, request: #request) -> impl Stream<Item = Result<#item, Error>> + Send + 'static {
                    crate::paging::cursor_items(self.clone(), request)
                }
            });
        }
        Some(Paging::Offset { next, total, items, .. }) => {
            let name = format_ident!("{}_stream", ep.name);
            let item = rust_type(api, api.field(*items).ty.item());
            let doc = docs::doc_paragraphs(&[
                format!(
                    "Every item of `{}` from the request's offset on, as a stream: follows `{}` until it reaches `{}` (or a page comes back empty). Holds one page in memory at a time.",
                    ep.name,
                    json(*next),
                    json(*total)
                ),
                "A failed page ends the stream with its error.".to_string(),
            ]);
            out.extend(quote! {
                #doc
                pub fn #name(&self, request: #request) -> impl Stream<Item = Result<#item, Error>> + Send + 'static {
                    crate::paging::offset_items(self.clone(), request)
                }
            });
        }
        None => {}
    }
    if let Some(b) = &ep.bulk {
        let name = format_ident!("{}_batched", ep.name);
        let doc = docs::doc_paragraphs(&[
            format!("`{}` for any number of `{}`: sends batches of at most {} and reports the outcome of every id.", ep.name, json(b.split), b.batch_size),
            format!("Ids listed in `{}` failed (with their errcode and errmsg), even when their own errcode is 0; the other ids of a successful batch succeeded; the ids of a batch that failed after it may have reached the server have an unknown outcome. Duplicate ids are sent once. Batches go one after another.", json(b.failures)),
            "# Errors\n\n[`Error::Validation`] when any batch breaks a documented limit; nothing is sent then. Failures of single batches are in the report, not errors.".to_string(),
        ]);
        out.extend(quote! {
            #doc
            pub async fn #name(&self, request: #request) -> Result<crate::bulk::BulkReport, Error> {
                crate::bulk::run(self, request, |_| {}).await
            }
        });
    }
    if let Some(w) = &ep.windows {
        let name = format_ident!("{}_range", ep.name);
        let item = rust_type(api, api.field(w.items).ty.item());
        let zone = utc_offset(api);
        let owners = if api.field(w.owners_parent).required {
            format!("`{}.{}` into batches of at most {}", json(w.owners_parent), json(w.owners), w.owner_batch)
        } else {
            format!(
                "`{}.{}` into batches of at most {} (left out: every owner in the app's view, one call per window)",
                json(w.owners_parent),
                json(w.owners),
                w.owner_batch
            )
        };
        let runner = if matches!(ep.paging, Some(Paging::Offset { .. })) {
            quote!(crate::windows::offset_paged_items)
        } else {
            quote!(crate::windows::items)
        };
        let doc = docs::doc_paragraphs(&[
            format!("`{}` over any range of days and any number of owners: splits `[{}, {}]` into windows of at most {} days (days start at 00:00 {zone}) and {owners}, and streams every item with its window.", ep.name, json(w.begin), json(w.end), w.max_days),
            format!("The range must lie between {} and {} days ago; a range outside it is a validation error before any call (WeCom keeps {} days).", w.oldest_days_ago, w.newest_days_ago, w.oldest_days_ago),
            "# Errors\n\nThe stream's first item is [`Error::Validation`] when the range or the owners are not usable; a failed call ends the stream with its error.".to_string(),
        ]);
        out.extend(quote! {
            #doc
            pub fn #name(&self, request: #request) -> impl Stream<Item = Result<crate::windows::WindowItem<#item>, Error>> + Send + 'static {
                #runner(self.clone(), request)
            }
        });
    }
    out
}

fn method_name(ep: &Endpoint) -> &'static str {
    match ep.method {
        crate::model::HttpMethod::Get => "GET",
        crate::model::HttpMethod::Post => "POST",
    }
}

/// A doc-test that builds the endpoint's first documented request with `new` and the setters.
fn example_doc(api: &Api, ep: &Endpoint) -> String {
    let request = api.struct_(ep.request);
    let json = ep.examples.iter().find_map(|e| e.request.clone()).unwrap_or(serde_json::Value::Null);
    let skip: Option<&str> = match &ep.paging {
        Some(Paging::Cursor { cursor, .. }) => Some(&api.field(*cursor).json_name),
        _ => None,
    };
    let mut uses = BTreeSet::new();
    let expr = struct_expr(api, request, &json, skip, &mut uses, 0);
    let uses: Vec<String> = uses.into_iter().collect();
    let use_line = if uses.len() == 1 {
        format!("use wecom_groupchat::types::{};", uses[0])
    } else {
        format!("use wecom_groupchat::types::{{{}}};", uses.join(", "))
    };
    format!(
        "```no_run\n\
         # async fn example(client: &wecom_groupchat::Client) -> Result<(), wecom_groupchat::Error> {{\n\
         {use_line}\n\
         \n\
         let request = {expr};\n\
         let response = client.{name}(&request).await?;\n\
         println!(\"{{response:?}}\");\n\
         # Ok(())\n\
         # }}\n\
         ```",
        name = ep.name
    )
}

/// Rust source building `s` from an example JSON object: `Type::new(required…)` then `.setter(value)` per
/// optional field present in the example (except `skip`).
fn struct_expr(
    api: &Api,
    s: &Struct,
    json: &serde_json::Value,
    skip: Option<&str>,
    uses: &mut BTreeSet<String>,
    depth: usize,
) -> String {
    uses.insert(s.name.clone());
    let obj = json.as_object();
    let get = |name: &str| obj.and_then(|o| o.get(name));
    let args: Vec<String> = s
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| value_expr(api, &f.ty, get(&f.json_name), uses, depth))
        .collect();
    let mut out = format!("{}::new({})", s.name, args.join(", "));
    let indent = "    ".repeat(depth + 1);
    for f in s.fields.iter().filter(|f| !f.required) {
        if Some(f.json_name.as_str()) == skip {
            continue;
        }
        let Some(value) = get(&f.json_name) else { continue };
        // A value equal to the server default is left out: sending it adds nothing.
        if is_default(&f.default, value) {
            continue;
        }
        out.push_str(&format!("\n{indent}.{}({})", f.rust_name, value_expr(api, &f.ty, Some(value), uses, depth + 1)));
    }
    out
}

fn is_default(default: &Option<DefaultValue>, value: &serde_json::Value) -> bool {
    match default {
        Some(DefaultValue::Int(d)) | Some(DefaultValue::Enum { value: d, .. }) => value.as_i64() == Some(*d),
        Some(DefaultValue::Bool(d)) => value.as_bool() == Some(*d),
        Some(DefaultValue::String(d)) => value.as_str() == Some(d.as_str()),
        None => false,
    }
}

fn value_expr(
    api: &Api,
    ty: &Type,
    value: Option<&serde_json::Value>,
    uses: &mut BTreeSet<String>,
    depth: usize,
) -> String {
    let null = serde_json::Value::Null;
    let value = value.unwrap_or(&null);
    match ty {
        Type::String => format!("{:?}", value.as_str().unwrap_or("")),
        Type::Int | Type::Timestamp | Type::Day => value.as_i64().unwrap_or(0).to_string(),
        Type::Bool => value.as_bool().unwrap_or(false).to_string(),
        Type::Enum(id) => {
            let e = api.enum_(*id);
            let name = &e.name;
            uses.insert(name.clone());
            let v = value.as_i64().or_else(|| e.values.first().map(|x| x.value)).unwrap_or(0);
            match e.values.iter().find(|x| x.value == v) {
                Some(x) => format!("{name}::{}", x.name),
                None => format!("{name}::from({v})"),
            }
        }
        Type::Struct(id) => struct_expr(api, api.struct_(*id), value, None, uses, depth),
        Type::Array(inner) => {
            let items: Vec<String> = value
                .as_array()
                .map(|a| a.iter().map(|v| value_expr(api, inner, Some(v), uses, depth)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
    }
}
