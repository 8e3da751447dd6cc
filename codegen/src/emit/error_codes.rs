//! The error-code table as data.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Api, ErrorRetry};

/// `error_codes.rs`.
pub fn all(api: &Api) -> TokenStream {
    let rows = api.errors.iter().map(|e| {
        let code = super::types::int(e.code);
        let zh = &e.zh;
        let en = &e.en;
        let retry = match e.retry {
            ErrorRetry::Backoff => quote!(ErrorRetry::Backoff),
            ErrorRetry::Refresh => quote!(ErrorRetry::RefreshToken),
            ErrorRetry::Later => quote!(ErrorRetry::Later),
            ErrorRetry::None => quote!(ErrorRetry::Never),
        };
        quote! { ErrorCodeInfo { code: #code, zh: #zh, en: #en, retry: #retry }, }
    });
    quote! {
        use crate::error_code::{ErrorCodeInfo, ErrorRetry};

        /// Error codes relevant to this API, sorted by code (official Chinese text, English gloss, what to do).
        pub static ERROR_CODES: &[ErrorCodeInfo] = &[#(#rows)*];
    }
}
