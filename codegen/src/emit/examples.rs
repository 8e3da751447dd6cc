//! The documented examples of every endpoint, as data: the simulator answers with them where the spec
//! says so, and tests round-trip them, with no need to read the spec at run time.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Api;

/// `examples.rs`.
pub fn all(api: &Api) -> TokenStream {
    let rows = api.endpoints.iter().flat_map(|ep| {
        ep.examples.iter().map(move |ex| {
            let endpoint = &ep.name;
            let text = |v: &Option<serde_json::Value>| match v {
                Some(v) => {
                    let compact = v.to_string();
                    quote!(Some(#compact))
                }
                None => quote!(None),
            };
            let name = match &ex.name {
                Some(n) => quote!(Some(#n)),
                None => quote!(None),
            };
            let (request, response) = (text(&ex.request), text(&ex.response));
            quote! { Example { endpoint: #endpoint, name: #name, request: #request, response: #response }, }
        })
    });
    quote! {
        use crate::endpoint::Example;

        /// Every documented example, endpoint by endpoint (sorted by name), as compact JSON text.
        pub static EXAMPLES: &[Example] = &[#(#rows)*];
    }
}
