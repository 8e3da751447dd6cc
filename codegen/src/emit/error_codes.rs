//! The error-code table as data, and a named constant per code.

use proc_macro2::TokenStream;
use quote::quote;

use super::tokens::{doc_line, ident, int};
use crate::model::{Api, ErrorRetry};

/// `error_codes.rs`.
pub fn all(api: &Api) -> TokenStream {
    let rows = api.errors.iter().map(|e| {
        let code = int(e.code);
        let (name, zh, en) = (&e.name, &e.zh, &e.en);
        let retry = match e.retry {
            ErrorRetry::Backoff => quote!(ErrorRetry::Backoff),
            ErrorRetry::RefreshToken => quote!(ErrorRetry::RefreshToken),
            ErrorRetry::Later => quote!(ErrorRetry::Later),
            ErrorRetry::Never => quote!(ErrorRetry::Never),
        };
        let errmsg = match &e.errmsg {
            Some(m) => quote!(Some(#m)),
            None => quote!(None),
        };
        quote! { ErrorCodeInfo { code: #code, name: #name, zh: #zh, en: #en, errmsg: #errmsg, retry: #retry }, }
    });
    let constants = api.errors.iter().map(|e| {
        let name = ident(&e.name);
        let code = int(e.code);
        let doc = doc_line(&format!("`{}`: {} — {}", e.code, e.zh, e.en));
        quote! { #doc pub const #name: i64 = #code; }
    });
    quote! {
        use crate::error_code::{ErrorCodeInfo, ErrorRetry};

        /// Error codes relevant to this API, sorted by code (official Chinese text, English gloss, what to do).
        pub static ERROR_CODES: &[ErrorCodeInfo] = &[#(#rows)*];

        /// Every errcode of the table as a named constant: code names an errcode through these, never as a
        /// bare number.
        pub mod codes {
            #(#constants)*
        }
    }
}
