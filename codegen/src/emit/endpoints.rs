//! The endpoint table and, per endpoint, the trait implementations the runtime builds on:
//! `Endpoint` (path, retry class, response type), and where the spec says so `CursorPaged`,
//! `OffsetPaged`, `Batched` and `Windowed`.

use heck::ToShoutySnakeCase;
use proc_macro2::TokenStream;
use quote::quote;

use super::types::{doc_line, ident, int, rust_type};
use crate::model::{Api, Endpoint, FieldRef, HttpMethod, Paging, Retry};

/// `endpoints.rs`.
pub fn all(api: &Api) -> TokenStream {
    let per_endpoint = api.endpoints.iter().map(|ep| endpoint_tokens(api, ep));
    let consts = api.endpoints.iter().map(|ep| const_ident(&ep.name));
    let arms = api.endpoints.iter().map(|ep| {
        let name = &ep.name;
        let request = ident(&ep.request);
        quote! { #name => Some(visitor.visit::<#request>()), }
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
    let request = ident(&ep.request);
    let response = ident(&ep.response);
    let request_name = &ep.request;
    let response_name = &ep.response;
    let method = match ep.method {
        HttpMethod::Get => quote!(HttpMethod::Get),
        HttpMethod::Post => quote!(HttpMethod::Post),
    };
    let retry = match ep.retry {
        Retry::Read => quote!(RetryClass::Idempotent),
        Retry::Write => quote!(RetryClass::NonIdempotent),
    };
    let paging = match &ep.paging {
        None => quote!(Paging::None),
        Some(Paging::Cursor { cursor, next, items, .. }) => {
            let (c, n, i) = (&cursor.json_name, &next.json_name, &items.json_name);
            quote!(Paging::Cursor { cursor: #c, next: #n, items: #i })
        }
        Some(Paging::Offset { offset, next, total, items, .. }) => {
            let (o, n, t, i) = (&offset.json_name, &next.json_name, &total.json_name, &items.json_name);
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
    let bulk_impl = ep.bulk.as_ref().map(|b| {
        let size = int(b.batch_size);
        let split = ident(&b.split.rust_name);
        let split_json = &b.split.json_name;
        let failures = ident(&b.failures.rust_name);
        let key = ident(&b.key.rust_name);
        let code = ident(&b.failure_code.rust_name);
        let message = ident(&b.failure_message.rust_name);
        let iter = if b.failures.optional {
            quote!(response.#failures.iter().flatten())
        } else {
            quote!(response.#failures.iter())
        };
        let code_value = if b.failure_code.optional { quote!(failure.#code) } else { quote!(Some(failure.#code)) };
        let message_value = if b.failure_message.optional {
            quote!(failure.#message.as_deref())
        } else {
            quote!(Some(failure.#message.as_str()))
        };
        quote! {
            impl Batched for #request {
                const BATCH_SIZE: usize = #size;
                const ITEMS_FIELD: &'static str = #split_json;

                fn take_items(&mut self) -> Vec<String> {
                    std::mem::take(&mut self.#split)
                }

                fn set_items(&mut self, items: Vec<String>) {
                    self.#split = items;
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
        let begin = ident(&w.begin.rust_name);
        let end = ident(&w.end.rust_name);
        let parent = ident(&w.owners_parent.rust_name);
        let owners = ident(&w.owners.rust_name);
        let max_days = int(w.max_days);
        let newest = int(w.newest_days_ago);
        let oldest = int(w.oldest_days_ago);
        let batch = int(w.owner_batch);
        let end_get = if w.end.optional { quote!(self.#end) } else { quote!(Some(self.#end)) };
        let begin_json = &w.begin.json_name;
        let end_json = &w.end.json_name;
        let owners_json = format!("{}.{}", w.owners_parent.json_name, w.owners.json_name);
        let item = rust_type(&w.item_type);
        let items_name = ident(&w.items.rust_name);
        let take = if w.items.optional {
            quote!(response.#items_name.unwrap_or_default())
        } else {
            quote!(response.#items_name)
        };
        let end_set = if w.end.optional { quote!(Some(end)) } else { quote!(end) };
        quote! {
            impl Windowed for #request {
                type Item = #item;
                const BEGIN_FIELD: &'static str = #begin_json;
                const END_FIELD: &'static str = #end_json;
                const OWNERS_FIELD: &'static str = #owners_json;
                const MAX_DAYS: i64 = #max_days;
                const NEWEST_DAYS_AGO: i64 = #newest;
                const OLDEST_DAYS_AGO: i64 = #oldest;
                const OWNER_BATCH: usize = #batch;

                fn days(&self) -> (i64, Option<i64>) {
                    (self.#begin, #end_get)
                }

                fn set_days(&mut self, begin: i64, end: i64) {
                    self.#begin = begin;
                    self.#end = #end_set;
                }

                fn take_owners(&mut self) -> Vec<String> {
                    std::mem::take(&mut self.#parent.#owners)
                }

                fn set_owners(&mut self, owners: Vec<String>) {
                    self.#parent.#owners = owners;
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

        #paging_impl
        #bulk_impl
        #windows_impl
    }
}

/// Reads an optional or required response field as an `Option`.
fn optional_get(field: &FieldRef, access: TokenStream) -> TokenStream {
    if field.optional { access } else { quote!(Some(#access)) }
}

fn paging_impl(_api: &Api, ep: &Endpoint, paging: &Paging) -> TokenStream {
    let request = ident(&ep.request);
    let response = ident(&ep.response);
    match paging {
        Paging::Cursor { cursor, next, items, item_type } => {
            let cursor = ident(&cursor.rust_name);
            let next_name = ident(&next.rust_name);
            let next_get = if next.optional {
                quote!(response.#next_name.as_deref())
            } else {
                quote!(Some(response.#next_name.as_str()))
            };
            let items_name = ident(&items.rust_name);
            let take = if items.optional {
                quote!(response.#items_name.unwrap_or_default())
            } else {
                quote!(response.#items_name)
            };
            let len = if items.optional {
                quote!(response.#items_name.as_ref().map_or(0, Vec::len))
            } else {
                quote!(response.#items_name.len())
            };
            let item = rust_type(item_type);
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
        Paging::Offset { offset, next, total, items, item_type, limit } => {
            let offset = ident(&offset.rust_name);
            let limit_get = match limit {
                None => quote!(None),
                Some((field, default)) => {
                    let l = ident(&field.rust_name);
                    match (field.optional, default) {
                        (false, _) => quote!(Some(self.#l)),
                        (true, Some(d)) => {
                            let d = int(*d);
                            quote!(Some(self.#l.unwrap_or(#d)))
                        }
                        (true, None) => quote!(self.#l),
                    }
                }
            };
            let next_get = optional_get(next, {
                let n = ident(&next.rust_name);
                quote!(response.#n)
            });
            let total_get = optional_get(total, {
                let t = ident(&total.rust_name);
                quote!(response.#t)
            });
            let items_name = ident(&items.rust_name);
            let take = if items.optional {
                quote!(response.#items_name.unwrap_or_default())
            } else {
                quote!(response.#items_name)
            };
            let len = if items.optional {
                quote!(response.#items_name.as_ref().map_or(0, Vec::len))
            } else {
                quote!(response.#items_name.len())
            };
            let item = rust_type(item_type);
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
