//! The endpoint table, the registry macro, and per endpoint the trait implementations the runtime builds
//! on: `Endpoint` (path, retry class, response type), and where the spec says so `CursorPaged`,
//! `OffsetPaged`, `Batched` and `Windowed`.

use heck::ToShoutySnakeCase;
use proc_macro2::TokenStream;
use quote::quote;

use super::tokens::{doc_line, ident, int, option_int, rust_type};
use crate::model::{Api, Endpoint, FieldId, HttpMethod, Paging, Retry, Simulated};

/// `endpoints.rs`.
pub fn all(api: &Api) -> TokenStream {
    let per_endpoint = api.endpoints.iter().map(|ep| endpoint_tokens(api, ep));
    let consts = api.endpoints.iter().map(|ep| const_ident(&ep.name));
    let arms = api.endpoints.iter().map(|ep| {
        let name = &ep.name;
        let request = ident(&api.struct_(ep.request).name);
        quote! { #name => Some(visitor.visit::<#request>()), }
    });
    let registry = api.endpoints.iter().map(|ep| {
        let name = ident(&ep.name);
        let request = ident(&api.struct_(ep.request).name);
        let simulated = match ep.simulated {
            Simulated::Handler => quote!(handler),
            Simulated::Example => quote!(example),
        };
        quote! { (#name, $crate::types::#request, #simulated) }
    });
    let any_bulk = api.endpoints.iter().any(|ep| ep.bulk.is_some());
    let any_cursor = api.endpoints.iter().any(|ep| matches!(ep.paging, Some(Paging::Cursor { .. })));
    let any_offset = api.endpoints.iter().any(|ep| matches!(ep.paging, Some(Paging::Offset { .. })));
    let any_windows = api.endpoints.iter().any(|ep| ep.windows.is_some());
    let bulk_use = any_bulk.then(|| quote! { use crate::bulk::{Batched, ItemFailure}; });
    let paging_use = match (any_cursor, any_offset) {
        (true, true) => Some(quote! { use crate::paging::{CursorPaged, OffsetPaged}; }),
        (true, false) => Some(quote! { use crate::paging::CursorPaged; }),
        (false, true) => Some(quote! { use crate::paging::OffsetPaged; }),
        (false, false) => None,
    };
    let windows_use = any_windows.then(|| quote! { use crate::windows::Windowed; });
    quote! {
        use super::types::*;
        #bulk_use
        use crate::endpoint::{Endpoint, EndpointInfo, EndpointVisitor, HttpMethod, Paging, RateLimit, RetryClass};
        #paging_use
        #windows_use

        /// Every endpoint of the spec, sorted by name.
        pub static ALL: &[&EndpointInfo] = &[#(&#consts),*];

        /// Looks up an endpoint by name.
        pub fn by_name(name: &str) -> Option<&'static EndpointInfo> {
            ALL.iter().copied().find(|info| info.name == name)
        }

        /// Calls `visitor.visit::<R>()` with `R` the request type of the endpoint named `name`, so code that
        /// only knows an endpoint's name at run time (a command line, a test) can use its types.
        /// `None` when no endpoint has that name.
        pub fn visit<V: EndpointVisitor>(name: &str, visitor: V) -> Option<V::Output> {
            match name {
                #(#arms)*
                _ => None,
            }
        }

        /// Calls `$callback!` once with every endpoint of the spec, as `(name, RequestType, simulated)`
        /// entries separated by commas, where `simulated` is `handler` (the simulator has a handler written
        /// for it) or `example` (it answers with the documented example). Code that must cover every
        /// endpoint — the simulator's router — expands it, so that a new endpoint without its handler
        /// does not compile.
        #[macro_export]
        #[doc(hidden)]
        macro_rules! for_each_endpoint {
            ($callback:ident) => {
                $callback! { #(#registry),* }
            };
        }

        #(#per_endpoint)*
    }
}

fn const_ident(name: &str) -> proc_macro2::Ident {
    ident(&name.to_shouty_snake_case())
}

/// The table entry and trait implementations of one endpoint.
pub fn endpoint_tokens(api: &Api, ep: &Endpoint) -> TokenStream {
    let konst = const_ident(&ep.name);
    let name = &ep.name;
    let path = &ep.path;
    let summary = &ep.summary;
    let summary_en = &ep.summary_en;
    let doc_url = &ep.doc_url;
    let request_name = &api.struct_(ep.request).name;
    let response_name = &api.struct_(ep.response).name;
    let (request, response) = (ident(request_name), ident(response_name));
    let method = match ep.method {
        HttpMethod::Get => quote!(HttpMethod::Get),
        HttpMethod::Post => quote!(HttpMethod::Post),
    };
    let retry = match ep.retry {
        Retry::Idempotent => quote!(RetryClass::Idempotent),
        Retry::NonIdempotent => quote!(RetryClass::NonIdempotent),
    };
    let json = |id: FieldId| api.field(id).json_name.clone();
    let paging = match &ep.paging {
        None => quote!(Paging::None),
        Some(Paging::Cursor { cursor, next, items }) => {
            let (c, n, i) = (json(*cursor), json(*next), json(*items));
            quote!(Paging::Cursor { cursor: #c, next: #n, items: #i })
        }
        Some(Paging::Offset { offset, next, total, items, .. }) => {
            let (o, n, t, i) = (json(*offset), json(*next), json(*total), json(*items));
            quote!(Paging::Offset { offset: #o, next: #n, total: #t, items: #i })
        }
    };
    let batch = match &ep.bulk {
        Some(b) => {
            let size = int(b.batch_size);
            quote!(Some(#size))
        }
        None => quote!(None),
    };
    let per_minute = int(ep.rate_limit.per_minute);
    let per_hour = int(ep.rate_limit.per_hour);
    let doc = doc_line(&format!("`{name}`: {summary} — {summary_en}"));

    let paging_impl = ep.paging.as_ref().map(|p| paging_impl(api, ep, p));
    // The endpoint's documented numbers, as constants of its request type.
    let facts = (!ep.facts.is_empty()).then(|| {
        let constants = super::fact_constants(&ep.facts);
        quote! {
            impl #request {
                #constants
            }
        }
    });
    let bulk_impl = ep.bulk.as_ref().map(|b| {
        let size = int(b.batch_size);
        let split = api.field(b.split);
        let (split_rust, split_json) = (ident(&split.rust_name), &split.json_name);
        let failures = api.field(b.failures);
        let failures_rust = ident(&failures.rust_name);
        let key = ident(&api.field(b.key).rust_name);
        let code_field = api.field(b.failure_code);
        let message_field = api.field(b.failure_message);
        let (code, message) = (ident(&code_field.rust_name), ident(&message_field.rust_name));
        let iter = if failures.required {
            quote!(response.#failures_rust.iter())
        } else {
            quote!(response.#failures_rust.iter().flatten())
        };
        let code_value = if code_field.required { quote!(Some(failure.#code)) } else { quote!(failure.#code) };
        let message_value = if message_field.required {
            quote!(Some(failure.#message.as_str()))
        } else {
            quote!(failure.#message.as_deref())
        };
        quote! {
            impl Batched for #request {
                const BATCH_SIZE: usize = #size;
                const ITEMS_FIELD: &'static str = #split_json;

                fn take_items(&mut self) -> Vec<String> {
                    std::mem::take(&mut self.#split_rust)
                }

                fn set_items(&mut self, items: Vec<String>) {
                    self.#split_rust = items;
                }

                fn failures(response: &#response) -> Vec<ItemFailure<'_>> {
                    #iter
                        .map(|failure| ItemFailure {
                            key: failure.#key.as_str(),
                            errcode: #code_value,
                            errmsg: #message_value,
                        })
                        .collect()
                }
            }
        }
    });
    let windows_impl = ep.windows.as_ref().map(|w| {
        let (begin, end) = (api.field(w.begin), api.field(w.end));
        let (parent, owners) = (api.field(w.owners_parent), api.field(w.owners));
        let (begin_rust, end_rust) = (ident(&begin.rust_name), ident(&end.rust_name));
        let (parent_rust, owners_rust) = (ident(&parent.rust_name), ident(&owners.rust_name));
        let max_days = int(w.max_days);
        let newest = int(w.newest_days_ago);
        let oldest = int(w.oldest_days_ago);
        let days_errcode = option_int(w.days_errcode);
        let batch = int(w.owner_batch);
        let end_get = if end.required { quote!(Some(self.#end_rust)) } else { quote!(self.#end_rust) };
        let end_set = if end.required { quote!(end) } else { quote!(Some(end)) };
        let (begin_json, end_json) = (&begin.json_name, &end.json_name);
        let owners_json = format!("{}.{}", parent.json_name, owners.json_name);
        let items = api.field(w.items);
        let item = rust_type(api, items.ty.item());
        let items_rust = ident(&items.rust_name);
        let take = if items.required {
            quote!(response.#items_rust)
        } else {
            quote!(response.#items_rust.unwrap_or_default())
        };
        // Without an owner filter the request covers every owner in the app's view: one batch of "all".
        let filter = ident(&api.struct_(w.owners_filter).name);
        let (take_owners, set_owners) = if parent.required {
            (
                quote!(Some(std::mem::take(&mut self.#parent_rust.#owners_rust))),
                quote! {
                    if let Some(owners) = owners {
                        self.#parent_rust.#owners_rust = owners;
                    }
                },
            )
        } else {
            (
                quote!(self.#parent_rust.take().map(|filter| filter.#owners_rust)),
                quote!(self.#parent_rust = owners.map(#filter::new);),
            )
        };
        quote! {
            impl Windowed for #request {
                type Item = #item;
                const BEGIN_FIELD: &'static str = #begin_json;
                const END_FIELD: &'static str = #end_json;
                const OWNERS_FIELD: &'static str = #owners_json;
                const MAX_DAYS: i64 = #max_days;
                const NEWEST_DAYS_AGO: i64 = #newest;
                const OLDEST_DAYS_AGO: i64 = #oldest;
                const DAYS_ERRCODE: Option<i64> = #days_errcode;
                const OWNER_BATCH: usize = #batch;

                fn days(&self) -> (i64, Option<i64>) {
                    (self.#begin_rust, #end_get)
                }

                fn set_days(&mut self, begin: i64, end: i64) {
                    self.#begin_rust = begin;
                    self.#end_rust = #end_set;
                }

                fn take_owners(&mut self) -> Option<Vec<String>> {
                    #take_owners
                }

                fn set_owners(&mut self, owners: Option<Vec<String>>) {
                    #set_owners
                }

                fn into_items(response: #response) -> Vec<#item> {
                    #take
                }
            }
        }
    });

    quote! {
        #doc
        pub const #konst: EndpointInfo = EndpointInfo {
            name: #name,
            method: #method,
            path: #path,
            summary: #summary,
            summary_en: #summary_en,
            doc_url: #doc_url,
            retry: #retry,
            paging: #paging,
            batch_size: #batch,
            rate_limit: RateLimit { per_minute: #per_minute, per_hour: #per_hour },
            request_type: #request_name,
            response_type: #response_name,
        };

        impl Endpoint for #request {
            type Response = #response;
            const INFO: &'static EndpointInfo = &#konst;
        }

        #facts

        #paging_impl
        #bulk_impl
        #windows_impl
    }
}

/// Reads a response field as an `Option`, whether it is optional or required.
fn optional_get(api: &Api, id: FieldId) -> TokenStream {
    let f = api.field(id);
    let name = ident(&f.rust_name);
    if f.required { quote!(Some(response.#name)) } else { quote!(response.#name) }
}

/// A response array: its length, and the array itself taken out.
fn items_access(api: &Api, id: FieldId) -> (TokenStream, TokenStream) {
    let f = api.field(id);
    let name = ident(&f.rust_name);
    if f.required {
        (quote!(response.#name.len()), quote!(response.#name))
    } else {
        (quote!(response.#name.as_ref().map_or(0, Vec::len)), quote!(response.#name.unwrap_or_default()))
    }
}

fn paging_impl(api: &Api, ep: &Endpoint, paging: &Paging) -> TokenStream {
    let request = ident(&api.struct_(ep.request).name);
    let response = ident(&api.struct_(ep.response).name);
    match paging {
        Paging::Cursor { cursor, next, items } => {
            let cursor = ident(&api.field(*cursor).rust_name);
            let next_field = api.field(*next);
            let next_name = ident(&next_field.rust_name);
            let next_get = if next_field.required {
                quote!(Some(response.#next_name.as_str()))
            } else {
                quote!(response.#next_name.as_deref())
            };
            let (len, take) = items_access(api, *items);
            let item = rust_type(api, api.field(*items).ty.item());
            quote! {
                impl CursorPaged for #request {
                    type Item = #item;

                    fn set_cursor(&mut self, cursor: Option<String>) {
                        self.#cursor = cursor;
                    }

                    fn next_cursor(response: &#response) -> Option<&str> {
                        #next_get
                    }

                    fn items_len(response: &#response) -> usize {
                        #len
                    }

                    fn into_items(response: #response) -> Vec<#item> {
                        #take
                    }
                }
            }
        }
        Paging::Offset { offset, next, total, items, limit } => {
            let offset = ident(&api.field(*offset).rust_name);
            let limit_get = match limit {
                None => quote!(None),
                Some(id) => {
                    let field = api.field(*id);
                    let l = ident(&field.rust_name);
                    let default = match field.default {
                        Some(crate::model::DefaultValue::Int(d)) => Some(d),
                        _ => None,
                    };
                    match (field.required, default) {
                        (true, _) => quote!(Some(self.#l)),
                        (false, Some(d)) => {
                            let d = int(d);
                            quote!(Some(self.#l.unwrap_or(#d)))
                        }
                        (false, None) => quote!(self.#l),
                    }
                }
            };
            let next_get = optional_get(api, *next);
            let total_get = optional_get(api, *total);
            let (len, take) = items_access(api, *items);
            let item = rust_type(api, api.field(*items).ty.item());
            quote! {
                impl OffsetPaged for #request {
                    type Item = #item;

                    fn offset(&self) -> i64 {
                        self.#offset.unwrap_or(0)
                    }

                    fn set_offset(&mut self, offset: i64) {
                        self.#offset = Some(offset);
                    }

                    fn page_size(&self) -> Option<i64> {
                        #limit_get
                    }

                    fn next_offset(response: &#response) -> Option<i64> {
                        #next_get
                    }

                    fn total(response: &#response) -> Option<i64> {
                        #total_get
                    }

                    fn items_len(response: &#response) -> usize {
                        #len
                    }

                    fn into_items(response: #response) -> Vec<#item> {
                        #take
                    }
                }
            }
        }
    }
}
