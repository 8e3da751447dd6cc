//! `Validate` implementations generated from the spec's constraints and rules.
//!
//! Each check calls a small function of the runtime's `validate::check` module with the field path,
//! the value, the limit and the errcode WeCom would answer, so the error names all of them.

use proc_macro2::TokenStream;
use quote::quote;

use super::tokens::{ident, int, option_int};
use crate::model::{Api, Constraints, Limit, Rule, StructId, Type};

/// A value being checked: a place of type `T` (`self.limit`) or a reference `&T` (`value`, `item`).
#[derive(Clone)]
enum Value {
    Place(TokenStream),
    Ref(TokenStream),
}

impl Value {
    fn by_ref(&self) -> TokenStream {
        match self {
            Value::Place(p) => quote!(&#p),
            Value::Ref(r) => r.clone(),
        }
    }

    fn copied(&self) -> TokenStream {
        match self {
            Value::Place(p) => p.clone(),
            Value::Ref(r) => quote!(*#r),
        }
    }

    fn receiver(&self) -> TokenStream {
        match self {
            Value::Place(p) | Value::Ref(p) => p.clone(),
        }
    }
}

/// `impl Validate for <struct>`.
pub fn validate_impl(api: &Api, id: StructId) -> TokenStream {
    let s = api.struct_(id);
    let name = ident(&s.name);
    let mut steps = Vec::new();
    for f in &s.fields {
        let fname = ident(&f.rust_name);
        let json = &f.json_name;
        let at = quote!(path.field(#json));
        if f.required {
            steps.extend(value_checks(&at, &Value::Place(quote!(self.#fname)), &f.ty, &f.constraints));
        } else {
            let inner = value_checks(&at, &Value::Ref(quote!(value)), &f.ty, &f.constraints);
            if !inner.is_empty() {
                steps.push(quote! {
                    if let Some(value) = &self.#fname {
                        #(#inner)*
                    }
                });
            }
        }
    }
    for rule in &s.rules {
        steps.push(rule_check(api, rule));
    }
    let uses_now = s.fields.iter().any(|f| mentions_now(&f.ty, &f.constraints)) || !s.rules.is_empty();
    let (path_param, now_param) = match (steps.is_empty(), uses_now) {
        (true, _) => (quote!(_path), quote!(_now)),
        (false, true) => (quote!(path), quote!(now)),
        (false, false) => (quote!(path), quote!(_now)),
    };
    quote! {
        impl Validate for #name {
            fn validate_in(&self, #path_param: &FieldPath<'_>, #now_param: i64) -> Result<(), ValidationError> {
                #(#steps)*
                Ok(())
            }
        }
    }
}

/// Whether validating the struct calls any `check` function.
pub fn has_checks(api: &Api, id: StructId) -> bool {
    let s = api.struct_(id);
    s.fields.iter().any(|f| !value_checks(&quote!(at), &Value::Place(quote!(v)), &f.ty, &f.constraints).is_empty())
        || !s.rules.is_empty()
}

/// Whether validating a value of this type needs the current time (day limits, or a nested struct).
fn mentions_now(ty: &Type, c: &Constraints) -> bool {
    c.days_ago.is_some()
        || match ty {
            Type::Struct(_) => true,
            Type::Array(inner) => matches!(**inner, Type::Struct(_)),
            _ => false,
        }
}

fn limit_call(func: &str, at: &TokenStream, value: TokenStream, limit: Limit) -> TokenStream {
    let func = ident(func);
    let v = int(limit.value);
    let errcode = option_int(limit.errcode);
    quote! { check::#func(&#at, #value, #v, #errcode)?; }
}

fn value_checks(at: &TokenStream, value: &Value, ty: &Type, c: &Constraints) -> Vec<TokenStream> {
    let mut out = Vec::new();
    match ty {
        Type::String => {
            if let Some(l) = c.min_chars {
                out.push(limit_call("min_chars", at, value.by_ref(), l));
            }
            if let Some(l) = c.max_chars {
                out.push(limit_call("max_chars", at, value.by_ref(), l));
            }
        }
        Type::Int | Type::Timestamp | Type::Day => {
            if let Some(l) = c.min {
                out.push(limit_call("min", at, value.copied(), l));
            }
            if let Some(l) = c.max {
                out.push(limit_call("max", at, value.copied(), l));
            }
            if let Some(d) = c.days_ago {
                let (min, max) = (int(d.min), int(d.max));
                let errcode = option_int(d.errcode);
                let v = value.copied();
                out.push(quote! { check::days_ago(&#at, #v, now, #min, #max, #errcode)?; });
            }
        }
        Type::Bool => {}
        Type::Enum(_) => {
            let v = value.copied();
            out.push(quote! { check::known_value(&#at, #v)?; });
        }
        Type::Struct(_) => {
            let r = value.receiver();
            out.push(quote! { #r.validate_in(&#at, now)?; });
        }
        Type::Array(inner) => {
            let recv = value.receiver();
            if let Some(l) = c.min_items {
                out.push(limit_call("min_items", at, quote!(#recv.len()), l));
            }
            if let Some(l) = c.max_items {
                out.push(limit_call("max_items", at, quote!(#recv.len()), l));
            }
            let item_constraints = c.each.as_deref().cloned().unwrap_or_default();
            let item_at = quote!(#at.index(i));
            let per_item = value_checks(&item_at, &Value::Ref(quote!(item)), inner, &item_constraints);
            if !per_item.is_empty() {
                out.push(quote! {
                    for (i, item) in #recv.iter().enumerate() {
                        #(#per_item)*
                    }
                });
            }
        }
    }
    out
}

fn rule_check(api: &Api, rule: &Rule) -> TokenStream {
    match rule {
        Rule::DaySpan { begin, end, max_days, errcode } => {
            let (begin, end) = (api.field(*begin), api.field(*end));
            let (begin_rust, begin_json) = (ident(&begin.rust_name), &begin.json_name);
            let (end_rust, end_json) = (ident(&end.rust_name), &end.json_name);
            let end_value = if end.required { quote!(Some(self.#end_rust)) } else { quote!(self.#end_rust) };
            let errcode = option_int(*errcode);
            let max_days = int(*max_days);
            quote! {
                check::day_span(path, (#begin_json, self.#begin_rust), (#end_json, #end_value), #max_days, #errcode)?;
            }
        }
    }
}
