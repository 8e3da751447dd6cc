//! Helpers every emitter uses: identifiers, literals, doc lines and Rust types.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use crate::model::{Api, Type};

/// An identifier.
pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// An integer literal without a type suffix (`100`, not `100i64`).
pub fn int(value: impl Into<i128>) -> Literal {
    Literal::i128_unsuffixed(value.into())
}

/// A `#[doc]` attribute for one line of text (with the leading space `///` comments have).
pub fn doc_line(text: &str) -> TokenStream {
    // One line: a line break from the spec (a summary, a name) would otherwise end up inside it, and a bare CR
    // in a doc comment is refused by rustc.
    let text = format!(" {}", text.replace(['\r', '\n'], " "));
    quote! { #[doc = #text] }
}

/// The Rust type of a value of `ty` (without the `Option` of optional fields).
pub fn rust_type(api: &Api, ty: &Type) -> TokenStream {
    match ty {
        Type::String => quote!(String),
        Type::Int | Type::Timestamp | Type::Day => quote!(i64),
        Type::Bool => quote!(bool),
        Type::Struct(id) => {
            let n = ident(&api.struct_(*id).name);
            quote!(#n)
        }
        Type::Enum(id) => {
            let n = ident(&api.enum_(*id).name);
            quote!(#n)
        }
        Type::Array(inner) => {
            let inner = rust_type(api, inner);
            quote!(Vec<#inner>)
        }
    }
}

/// `Some(code)` or `None`.
pub fn option_int(value: Option<i64>) -> TokenStream {
    match value {
        Some(v) => {
            let v = int(v);
            quote!(Some(#v))
        }
        None => quote!(None),
    }
}

/// The day zone as people write it: `UTC+8`.
pub fn utc_offset(api: &Api) -> String {
    match api.day_utc_offset_hours {
        0 => "UTC".to_string(),
        h if h > 0 => format!("UTC+{h}"),
        h => format!("UTC{h}"),
    }
}
