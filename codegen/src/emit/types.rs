//! Structs and enums: definitions, constructors, setters, wire conversions and drift reports.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::{docs, validate};
use crate::model::{Api, DefaultValue, Enum, Field, Struct, StructRole, Type};

/// `types.rs`: every enum and struct of the API.
pub fn all(api: &Api) -> TokenStream {
    let enums = api.enums.iter().map(enum_tokens);
    let structs = api.structs.iter().map(|s| struct_tokens(api, s));
    let any_request = api.structs.iter().any(|s| s.usage.request);
    let any_response = api.structs.iter().any(|s| s.usage.response);
    let checks = api.structs.iter().any(|s| s.usage.request && validate::has_checks(s));
    let validate_use = match (any_request, checks, any_response) {
        (true, true, _) => Some(quote! { use crate::validate::{check, FieldPath, Validate, ValidationError}; }),
        (true, false, _) => Some(quote! { use crate::validate::{FieldPath, Validate, ValidationError}; }),
        (false, _, true) => Some(quote! { use crate::validate::FieldPath; }),
        (false, _, false) => None,
    };
    let wire_use = if any_response {
        quote! { use crate::wire::{Drift, Envelope, SpecDrift, WireEnum}; }
    } else {
        quote! { use crate::wire::{Envelope, WireEnum}; }
    };
    quote! {
        use serde::{Deserialize, Serialize};

        #validate_use
        #wire_use

        #(#enums)*
        #(#structs)*
    }
}

pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// An integer literal without a type suffix (`100`, not `100i64`).
pub fn int(value: impl Into<i128>) -> Literal {
    Literal::i128_unsuffixed(value.into())
}

/// A `#[doc]` attribute for one line of text (with the leading space `///` comments have).
pub fn doc_line(text: &str) -> TokenStream {
    let text = format!(" {text}");
    quote! { #[doc = #text] }
}

/// The Rust type of a field's value (without the `Option` of optional fields).
pub fn rust_type(ty: &Type) -> TokenStream {
    match ty {
        Type::String => quote!(String),
        Type::Int | Type::Timestamp | Type::Day => quote!(i64),
        Type::Bool => quote!(bool),
        Type::Struct(n) | Type::Enum(n) => {
            let n = ident(n);
            quote!(#n)
        }
        Type::Array(inner) => {
            let inner = rust_type(inner);
            quote!(Vec<#inner>)
        }
    }
}

/// An enum that keeps unknown values: `From<i64>`/`Into<i64>` and serde through `i64`.
pub fn enum_tokens(e: &Enum) -> TokenStream {
    let name = ident(&e.name);
    let doc = docs::doc_attrs(&e.doc);
    let variants = e.values.iter().map(|v| {
        let vname = ident(&v.name);
        let vdoc = docs::doc_attrs(&format!("`{}` — {}", v.value, v.doc));
        quote! { #vdoc #vname, }
    });
    let from_arms = e.values.iter().map(|v| {
        let vname = ident(&v.name);
        let value = int(v.value);
        quote! { #value => Self::#vname, }
    });
    let into_arms = e.values.iter().map(|v| {
        let vname = ident(&v.name);
        let value = int(v.value);
        quote! { #name::#vname => #value, }
    });
    let known = e.values.iter().map(|v| {
        let value = int(v.value);
        let vname = &v.name;
        quote! { (#value, #vname), }
    });
    let ename = &e.name;
    quote! {
        #doc
        ///
        /// Values the spec does not list decode to `Unknown` and encode back unchanged.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "i64", into = "i64")]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value the spec does not list, kept as received.
            Unknown(i64),
        }

        impl From<i64> for #name {
            fn from(value: i64) -> Self {
                match value {
                    #(#from_arms)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<#name> for i64 {
            fn from(value: #name) -> i64 {
                match value {
                    #(#into_arms)*
                    #name::Unknown(other) => other,
                }
            }
        }

        impl WireEnum for #name {
            const NAME: &'static str = #ename;
            const KNOWN: &'static [(i64, &'static str)] = &[#(#known)*];
        }
    }
}

/// A struct with its constructor, setters, defaults accessors, validation (request side) and drift
/// report (response side).
pub fn struct_tokens(api: &Api, s: &Struct) -> TokenStream {
    let name = ident(&s.name);
    let mut doc_text = s.doc.clone();
    if s.role == StructRole::Request {
        doc_text.push_str("\n\nBuild it with `new` (the required fields) and the setters (the optional ones); unset optional fields are left out of the JSON, so the server applies its own defaults.");
    }
    let doc = docs::doc_attrs(&doc_text);

    let envelope = s.role == StructRole::Response;
    let code = ident(&api.envelope_code);
    let message = ident(&api.envelope_message);
    let envelope_fields = envelope.then(|| {
        quote! {
            /// 返回码 — error code: `Some(0)` or `None` (some successes leave it out) in a response the client
            /// hands back, since non-zero codes become errors.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub #code: Option<i64>,
            /// 对返回码的文本描述内容 — error message, as sent.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub #message: Option<String>,
        }
    });

    // Arrays of answers only: a documented maximum also bounds what decoding allocates.
    let response_only = s.usage.response && !s.usage.request;
    let fields = s.fields.iter().map(|f| field_tokens(f, response_only));
    let keeps_unknown = s.usage.response;
    let extra_field = keeps_unknown.then(|| {
        quote! {
            /// Fields the spec does not know, kept as the server sent them (and sent back on re-encoding).
            #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
    });

    let constructor = constructor_tokens(api, s, keeps_unknown);
    let setters = s.fields.iter().filter(|f| !f.required).map(setter_tokens);
    let defaults = s.fields.iter().filter(|f| !f.required).filter_map(default_accessor_tokens);
    let default_impl = s.fields.iter().all(|f| !f.required).then(|| {
        quote! {
            impl Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }
        }
    });
    let envelope_impl = envelope.then(|| {
        // A success must carry the envelope or the fields a success always has: a gateway's `{}` does not.
        let proves = if s.fields.iter().any(|f| f.required) {
            quote!(true)
        } else {
            quote!(self.#code.is_some() || self.#message.is_some())
        };
        quote! {
            impl Envelope for #name {
                fn errcode(&self) -> i64 {
                    self.#code.unwrap_or(0)
                }

                fn errmsg(&self) -> &str {
                    self.#message.as_deref().unwrap_or("")
                }

                fn proves_status(&self) -> bool {
                    #proves
                }
            }
        }
    });
    let validate_impl = s.usage.request.then(|| validate::validate_impl(s));
    let drift_impl = keeps_unknown.then(|| drift_impl(s));

    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct #name {
            #envelope_fields
            #(#fields)*
            #extra_field
        }

        impl #name {
            #constructor
            #(#setters)*
            #(#defaults)*
        }

        #default_impl
        #envelope_impl
        #validate_impl
        #drift_impl
    }
}

fn field_tokens(f: &Field, response_only: bool) -> TokenStream {
    let doc = docs::doc_attrs(&docs::field_doc(f));
    let fname = ident(&f.rust_name);
    let ty = rust_type(&f.ty);
    let rename = (f.rust_name != f.json_name).then(|| {
        let json = &f.json_name;
        quote! { #[serde(rename = #json)] }
    });
    let bound = match (&f.ty, f.constraints.max_items) {
        (Type::Array(_), Some(max)) if response_only => Some(int(max.value)),
        _ => None,
    };
    match (f.required, bound) {
        (true, None) => quote! { #doc #rename pub #fname: #ty, },
        (true, Some(max)) => {
            let with = format!("crate::wire::bounded::<_, _, {max}>");
            quote! { #doc #rename #[serde(deserialize_with = #with)] pub #fname: #ty, }
        }
        (false, None) => quote! {
            #doc
            #rename
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub #fname: Option<#ty>,
        },
        (false, Some(max)) => {
            let with = format!("crate::wire::bounded_option::<_, _, {max}>");
            quote! {
                #doc
                #rename
                #[serde(default, deserialize_with = #with, skip_serializing_if = "Option::is_none")]
                pub #fname: Option<#ty>,
            }
        }
    }
}

/// How a constructor or setter takes a value: the parameter type and the conversion into the field type.
fn param(ty: &Type, value: &Ident) -> (TokenStream, TokenStream) {
    match ty {
        Type::String => (quote!(impl Into<String>), quote!(#value.into())),
        Type::Array(inner) if **inner == Type::String => {
            (quote!(impl IntoIterator<Item = impl Into<String>>), quote!(#value.into_iter().map(Into::into).collect()))
        }
        Type::Array(inner) => {
            let inner = rust_type(inner);
            (quote!(impl IntoIterator<Item = #inner>), quote!(#value.into_iter().collect()))
        }
        other => (rust_type(other), quote!(#value)),
    }
}

fn constructor_tokens(api: &Api, s: &Struct, keeps_unknown: bool) -> TokenStream {
    let required: Vec<&Field> = s.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|f| {
        let fname = ident(&f.rust_name);
        let (ty, _) = param(&f.ty, &fname);
        quote! { #fname: #ty }
    });
    let inits = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        if f.required {
            match param(&f.ty, &fname) {
                // Shorthand when the parameter is stored as is.
                (_, conv) if fname == conv.to_string() => quote! { #fname, },
                (_, conv) => quote! { #fname: #conv, },
            }
        } else {
            quote! { #fname: None, }
        }
    });
    let envelope = (s.role == StructRole::Response).then(|| {
        let code = ident(&api.envelope_code);
        let message = ident(&api.envelope_message);
        quote! { #code: Some(0), #message: Some("ok".to_string()), }
    });
    let extra = keeps_unknown.then(|| quote! { extra: serde_json::Map::new(), });
    let doc = if required.is_empty() {
        "Creates a value with every optional field unset.".to_string()
    } else {
        let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.json_name)).collect();
        format!("Creates a value from its required fields ({}); optional fields start unset.", names.join(", "))
    };
    let doc = if s.role == StructRole::Response {
        format!("{doc} The envelope says success (`errcode` 0, `errmsg` \"ok\").")
    } else {
        doc
    };
    let doc = doc_line(&doc);
    let allow = (required.len() > 7).then(|| quote! { #[allow(clippy::too_many_arguments)] });
    quote! {
        #doc
        #allow
        pub fn new(#(#params),*) -> Self {
            Self {
                #envelope
                #(#inits)*
                #extra
            }
        }
    }
}

fn setter_tokens(f: &Field) -> TokenStream {
    let fname = ident(&f.rust_name);
    let value = ident("value");
    let (ty, conv) = param(&f.ty, &value);
    let doc = doc_line(&format!("Sets `{}`.", f.json_name));
    quote! {
        #doc
        #[must_use]
        pub fn #fname(mut self, value: #ty) -> Self {
            self.#fname = Some(#conv);
            self
        }
    }
}

/// `<field>_or_default()` for optional fields with a documented server default: what the server will use.
fn default_accessor_tokens(f: &Field) -> Option<TokenStream> {
    let default = f.default.as_ref()?;
    let fname = ident(&f.rust_name);
    let accessor = format_ident!("{}_or_default", f.rust_name);
    let ty = rust_type(&f.ty);
    let value = match default {
        DefaultValue::Int(v) => {
            let v = int(*v);
            quote!(#v)
        }
        DefaultValue::Bool(v) => quote!(#v),
        DefaultValue::String(_) => return None,
        DefaultValue::Enum { ty, variant, .. } => {
            let ty = ident(ty);
            let variant = ident(variant);
            quote!(#ty::#variant)
        }
    };
    let doc =
        doc_line(&format!("`{}` as the server will read it: the value set, or the documented default.", f.json_name));
    Some(quote! {
        #doc
        pub fn #accessor(&self) -> #ty {
            self.#fname.unwrap_or(#value)
        }
    })
}

/// `SpecDrift`: reports fields and enum values the spec does not know.
fn drift_impl(s: &Struct) -> TokenStream {
    let name = ident(&s.name);
    let steps: Vec<TokenStream> = s.fields.iter().filter_map(drift_step).collect();
    quote! {
        impl SpecDrift for #name {
            fn drift_into(&self, path: &FieldPath<'_>, out: &mut Vec<Drift>) {
                for key in self.extra.keys() {
                    out.push(Drift::UnknownField(path.field(key).to_string()));
                }
                #(#steps)*
            }
        }
    }
}

fn drift_step(f: &Field) -> Option<TokenStream> {
    let fname = ident(&f.rust_name);
    let json = &f.json_name;
    // `place` names the value as a place expression; `copied` reads an enum out of it.
    let visit_one = |place: TokenStream, copied: TokenStream, at: TokenStream, ty: &Type| -> Option<TokenStream> {
        match ty {
            Type::Struct(_) => Some(quote! { #place.drift_into(&#at, out); }),
            Type::Enum(_) => Some(quote! { Drift::check_enum(#copied, &#at, out); }),
            _ => None,
        }
    };
    match (&f.ty, f.required) {
        (Type::Array(inner), required) => {
            let body = visit_one(quote!(item), quote!(*item), quote!(path.field(#json).index(i)), inner)?;
            let iter = if required { quote!(self.#fname.iter()) } else { quote!(self.#fname.iter().flatten()) };
            Some(quote! {
                for (i, item) in #iter.enumerate() {
                    #body
                }
            })
        }
        (ty, true) => visit_one(quote!(self.#fname), quote!(self.#fname), quote!(path.field(#json)), ty),
        (ty, false) => {
            let body = visit_one(quote!(value), quote!(*value), quote!(path.field(#json)), ty)?;
            Some(quote! {
                if let Some(value) = &self.#fname {
                    #body
                }
            })
        }
    }
}
