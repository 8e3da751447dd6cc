//! Structs and enums: definitions, constructors, setters, limits as constants, wire conversions, drift
//! reports, and the glue between a struct and those that include it.

use heck::{ToShoutySnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::tokens::{doc_line, ident, int, rust_type};
use super::{docs, validate};
use crate::model::{Api, Constraints, DefaultValue, Enum, Field, Include, Struct, StructId, StructRole, Type};

/// `types.rs`: every enum and struct of the API.
pub fn all(api: &Api) -> TokenStream {
    let enums = api.enums.iter().map(|e| enum_tokens(api, e));
    let structs = api.struct_ids().map(|id| struct_tokens(api, id));
    let wire = |s: &&Struct| !s.included;
    let any_request = api.structs.iter().filter(wire).any(|s| s.usage.request);
    let any_response = api.structs.iter().filter(wire).any(|s| s.usage.response);
    let checks = api.struct_ids().any(|id| api.struct_(id).usage.request && validate::has_checks(api, id));
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

/// An enum that keeps unknown values: `From<i64>`/`Into<i64>` and serde through `i64`.
pub fn enum_tokens(_api: &Api, e: &Enum) -> TokenStream {
    let name = ident(&e.name);
    let doc = docs::doc_attrs(&e.doc);
    let variants = e.values.iter().map(|v| {
        let vname = ident(&v.name);
        let vdoc = docs::doc_attrs(&format!("`{}` — {}", v.value, v.doc));
        quote! { #vdoc #vname, }
    });
    let from_arms = e.values.iter().map(|v| {
        let (vname, value) = (ident(&v.name), int(v.value));
        quote! { #value => Self::#vname, }
    });
    let into_arms = e.values.iter().map(|v| {
        let (vname, value) = (ident(&v.name), int(v.value));
        quote! { #name::#vname => #value, }
    });
    let known = e.values.iter().map(|v| {
        let (value, vname) = (int(v.value), &v.name);
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

/// A struct with everything generated for it.
pub fn struct_tokens(api: &Api, id: StructId) -> TokenStream {
    let s = api.struct_(id);
    if s.included {
        return field_set_tokens(api, s);
    }
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

    // Arrays of an answer's top level: a documented maximum also bounds what decoding allocates.
    let bounded = s.role == StructRole::Response;
    let fields = s.fields.iter().map(|f| field_tokens(api, f, bounded));
    let keeps_unknown = s.keeps_unknown_fields();
    let extra_field = keeps_unknown.then(|| {
        quote! {
            /// Fields the spec does not know, kept as the server sent them (and sent back on re-encoding).
            #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
            pub extra: serde_json::Map<String, serde_json::Value>,
        }
    });

    let constructor = constructor_tokens(api, s, keeps_unknown);
    let setters = s.fields.iter().filter(|f| !f.required).map(|f| setter_tokens(api, f));
    let defaults = s.fields.iter().filter(|f| !f.required).filter_map(|f| default_accessor_tokens(api, f));
    let limits = limit_constants(s);
    let names = s.fields.iter().map(|f| &f.json_name);
    let field_names = quote! {
        /// The JSON names of the fields the spec lists, in wire order (the envelope and unknown fields aside).
        pub const FIELDS: &'static [&'static str] = &[#(#names),*];
    };
    let glue = s.includes.iter().map(|inc| include_glue(api, s, inc));
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
    let validate_impl = s.usage.request.then(|| validate::validate_impl(api, id));
    let drift_impl = keeps_unknown.then(|| drift_impl(api, s));
    let has_secret = s.fields.iter().any(|f| f.secret);
    let derive_debug = (!has_secret).then(|| quote!(Debug,));
    let debug_impl = has_secret.then(|| debug_impl(s, envelope.then_some((&api.envelope_code, &api.envelope_message))));

    quote! {
        #doc
        #[derive(#derive_debug Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct #name {
            #envelope_fields
            #(#fields)*
            #extra_field
        }

        impl #name {
            #field_names
            #limits
            #constructor
            #(#setters)*
            #(#defaults)*
            #(#glue)*
        }

        #default_impl
        #debug_impl
        #envelope_impl
        #validate_impl
        #drift_impl
    }
}

fn field_tokens(api: &Api, f: &Field, bounded: bool) -> TokenStream {
    let doc = docs::doc_attrs(&docs::field_doc(api, f));
    let fname = ident(&f.rust_name);
    let ty = rust_type(api, &f.ty);
    let rename = (f.rust_name != f.json_name).then(|| {
        let json = &f.json_name;
        quote! { #[serde(rename = #json)] }
    });
    let bound = match (&f.ty, f.constraints.max_items) {
        (Type::Array(_), Some(max)) if bounded => Some(int(max.value)),
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
fn param(api: &Api, ty: &Type, value: &proc_macro2::Ident) -> (TokenStream, TokenStream) {
    match ty {
        Type::String => (quote!(impl Into<String>), quote!(#value.into())),
        Type::Array(inner) if **inner == Type::String => {
            (quote!(impl IntoIterator<Item = impl Into<String>>), quote!(#value.into_iter().map(Into::into).collect()))
        }
        Type::Array(inner) => {
            let inner = rust_type(api, inner);
            (quote!(impl IntoIterator<Item = #inner>), quote!(#value.into_iter().collect()))
        }
        other => (rust_type(api, other), quote!(#value)),
    }
}

fn constructor_tokens(api: &Api, s: &Struct, keeps_unknown: bool) -> TokenStream {
    let required: Vec<&Field> = s.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|f| {
        let fname = ident(&f.rust_name);
        let (ty, _) = param(api, &f.ty, &fname);
        quote! { #fname: #ty }
    });
    let inits = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        if f.required {
            match param(api, &f.ty, &fname) {
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
        format!("{doc} The envelope says success (`{}` 0, `{}` \"ok\").", api.envelope_code, api.envelope_message)
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

fn setter_tokens(api: &Api, f: &Field) -> TokenStream {
    let fname = ident(&f.rust_name);
    let value = ident("value");
    let (ty, conv) = param(api, &f.ty, &value);
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

/// The server default of an optional field, as a Rust value (strings have none: nothing reads them).
fn default_value(api: &Api, default: &DefaultValue) -> Option<TokenStream> {
    Some(match default {
        DefaultValue::Int(v) => {
            let v = int(*v);
            quote!(#v)
        }
        DefaultValue::Bool(v) => quote!(#v),
        DefaultValue::String(_) => return None,
        DefaultValue::Enum { ty, variant, .. } => {
            let ty = ident(&api.enum_(*ty).name);
            let variant = ident(variant);
            quote!(#ty::#variant)
        }
    })
}

/// `<field>_or_default()` for optional fields with a documented server default: what the server will use.
fn default_accessor_tokens(api: &Api, f: &Field) -> Option<TokenStream> {
    let value = default_value(api, f.default.as_ref()?)?;
    let fname = ident(&f.rust_name);
    let accessor = format_ident!("{}_or_default", f.rust_name);
    let ty = rust_type(api, &f.ty);
    let doc =
        doc_line(&format!("`{}` as the server will read it: the value set, or the documented default.", f.json_name));
    Some(quote! {
        #doc
        pub fn #accessor(&self) -> #ty {
            self.#fname.unwrap_or(#value)
        }
    })
}

/// Every documented limit as an associated constant (`REMARK_TRUNCATED_CHARS`), so that code around the
/// client — the simulator, the command line — reads the spec's numbers instead of copying them.
fn limit_constants(s: &Struct) -> TokenStream {
    let mut out = TokenStream::new();
    for f in &s.fields {
        constants_of(&f.json_name.to_shouty_snake_case(), &f.json_name, &f.constraints, &mut out);
    }
    for rule in &s.rules {
        let crate::model::Rule::DaySpan { begin, max_days, .. } = rule;
        let begin = &s.fields[begin.index].json_name;
        let name = format_ident!("{}_SPAN_MAX_DAYS", begin.to_shouty_snake_case());
        let value = int(*max_days);
        let doc = doc_line(&format!("Longest range of days from `{begin}`, both ends included."));
        out.extend(quote! { #doc pub const #name: i64 = #value; });
    }
    out
}

fn constants_of(prefix: &str, json: &str, c: &Constraints, out: &mut TokenStream) {
    let mut push = |suffix: &str, ty: TokenStream, value: i64, what: &str| {
        let name = format_ident!("{prefix}_{suffix}");
        let value = int(value);
        let doc = doc_line(&format!("`{json}`: {what}."));
        out.extend(quote! { #doc pub const #name: #ty = #value; });
    };
    if let Some(l) = c.min_items {
        push("MIN_ITEMS", quote!(usize), l.value, "fewest items");
    }
    if let Some(l) = c.max_items {
        push("MAX_ITEMS", quote!(usize), l.value, "most items");
    }
    if let Some(l) = c.min {
        push("MIN", quote!(i64), l.value, "smallest value");
    }
    if let Some(l) = c.max {
        push("MAX", quote!(i64), l.value, "largest value");
    }
    if let Some(l) = c.min_chars {
        push("MIN_CHARS", quote!(usize), l.value, "fewest characters");
    }
    if let Some(l) = c.max_chars {
        push("MAX_CHARS", quote!(usize), l.value, "most characters");
    }
    if let Some(t) = c.truncated_chars {
        push("TRUNCATED_CHARS", quote!(usize), t, "the server keeps this many characters and cuts the rest");
    }
    if let Some(d) = c.days_ago {
        push("DAYS_AGO_MIN", quote!(i64), d.min, "most recent allowed day, in days before today");
        push("DAYS_AGO_MAX", quote!(i64), d.max, "oldest allowed day, in days before today");
    }
    if let Some(each) = &c.each {
        constants_of(&format!("{prefix}_EACH"), &format!("{json}[]"), each, out);
    }
}

/// The glue between a struct and one it includes (`C`): the included fields out as a `C`, a `C`'s fields
/// in, and — for a struct with required fields of its own or of `C` — one built from a `C`.
fn include_glue(api: &Api, s: &Struct, inc: &Include) -> TokenStream {
    let from = api.struct_(inc.from);
    let from_ident = ident(&from.name);
    let snake = heck::ToSnakeCase::to_snake_case(from.name.as_str());
    let get = format_ident!("{snake}");
    let set = format_ident!("set_{snake}");
    let pairs: Vec<(&Field, &Field)> =
        inc.fields.iter().zip(&from.fields).map(|(at, source)| (&s.fields[*at], source)).collect();
    let out_fields = pairs.iter().map(|(mine, _)| {
        let f = ident(&mine.rust_name);
        // Integers, booleans and enums are `Copy`: copied, not cloned.
        let copy = matches!(mine.ty, Type::Int | Type::Timestamp | Type::Day | Type::Bool | Type::Enum(_));
        let value = if copy { quote!(self.#f) } else { quote!(self.#f.clone()) };
        if mine.required {
            quote! { #f: Some(#value), }
        } else {
            quote! { #f: #value, }
        }
    });
    let in_fields = pairs.iter().map(|(mine, _)| {
        let f = ident(&mine.rust_name);
        if mine.required {
            quote! { if let Some(value) = fields.#f { self.#f = value; } }
        } else {
            quote! { if let Some(value) = fields.#f { self.#f = Some(value); } }
        }
    });
    let get_doc = doc_line(&format!("The fields this type shares with [`{}`], as one.", from.name));
    let set_doc = doc_line(&format!(
        "Sets every field `fields` holds (those it leaves unset keep their values here): the [`{}`] fields.",
        from.name
    ));
    let mut out = quote! {
        #get_doc
        pub fn #get(&self) -> #from_ident {
            #from_ident { #(#out_fields)* }
        }

        #set_doc
        pub fn #set(&mut self, fields: #from_ident) {
            #(#in_fields)*
        }
    };
    // Built from the shared fields plus its own required ones: a required shared field that is unset is an
    // error naming it, not a default made up behind the caller's back.
    let own_required: Vec<&Field> =
        s.fields.iter().enumerate().filter(|(i, f)| f.required && !inc.fields.contains(i)).map(|(_, f)| f).collect();
    let shared_required: Vec<&Field> = pairs.iter().filter(|(mine, _)| mine.required).map(|(mine, _)| *mine).collect();
    if s.role == StructRole::Request {
        let build = format_ident!("from_{snake}");
        let params = own_required.iter().map(|f| {
            let fname = ident(&f.rust_name);
            let (ty, _) = param(api, &f.ty, &fname);
            quote! { #fname: #ty }
        });
        let takes = shared_required.iter().map(|f| {
            let fname = ident(&f.rust_name);
            let json = &f.json_name;
            quote! {
                let Some(#fname) = fields.#fname.take() else {
                    return Err(ValidationError::missing(#json));
                };
            }
        });
        let new_args = s.fields.iter().filter(|f| f.required).map(|f| {
            let fname = ident(&f.rust_name);
            quote!(#fname)
        });
        let doc = doc_line(&format!(
            "Builds one from the [`{}`] fields and its own required ones; a field this type requires that `fields` leaves unset is a [`ValidationError`] naming it.",
            from.name
        ));
        out.extend(quote! {
            #doc
            ///
            /// # Errors
            /// When `fields` lacks a field this type requires.
            pub fn #build(#(#params,)* mut fields: #from_ident) -> Result<Self, ValidationError> {
                #(#takes)*
                let mut value = Self::new(#(#new_args),*);
                value.#set(fields);
                Ok(value)
            }
        });
    }
    out
}

/// An included struct: a set of optional fields (what its includers share), with a `…Field` enum naming
/// each, and helpers to merge, clear and inspect them — the glue a command line's flags or a simulator's
/// store need, so that a field added to the spec is a field of every includer with no code written.
fn field_set_tokens(api: &Api, s: &Struct) -> TokenStream {
    let name = ident(&s.name);
    let field_enum = format_ident!("{}Field", s.name);
    let doc = docs::doc_attrs(&format!(
        "{}\n\nEvery field is optional here: a value holds the fields set, for building, merging or clearing the types that include them.",
        s.doc
    ));
    let fields = s.fields.iter().map(|f| {
        let fdoc = docs::doc_attrs(&docs::field_doc(api, f));
        let fname = ident(&f.rust_name);
        let ty = rust_type(api, &f.ty);
        let rename = (f.rust_name != f.json_name).then(|| {
            let json = &f.json_name;
            quote! { #[serde(rename = #json)] }
        });
        quote! {
            #fdoc
            #rename
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub #fname: Option<#ty>,
        }
    });
    let variant = |f: &Field| ident(&f.rust_name.to_upper_camel_case());
    let variants = s.fields.iter().map(|f| {
        let v = variant(f);
        let vdoc = doc_line(&format!("`{}`", f.json_name));
        quote! { #vdoc #v, }
    });
    let all = s.fields.iter().map(|f| {
        let v = variant(f);
        quote!(#field_enum::#v)
    });
    let json_arms = s.fields.iter().map(|f| {
        let (v, json) = (variant(f), &f.json_name);
        quote! { #field_enum::#v => #json, }
    });
    let from_json_arms = s.fields.iter().map(|f| {
        let (v, json) = (variant(f), &f.json_name);
        quote! { #json => Some(#field_enum::#v), }
    });
    let required_arms = s.fields.iter().map(|f| {
        let (v, required) = (variant(f), f.required);
        quote! { #field_enum::#v => #required, }
    });
    let info_arms = s.fields.iter().map(|f| {
        let v = variant(f);
        let info = field_info(api, f);
        quote! { #field_enum::#v => &#info, }
    });
    let merges = s.fields.iter().map(|f| {
        let fname = ident(&f.rust_name);
        quote! { if other.#fname.is_some() { self.#fname = other.#fname; } }
    });
    let clears = s.fields.iter().map(|f| {
        let (v, fname) = (variant(f), ident(&f.rust_name));
        quote! { #field_enum::#v => self.#fname = None, }
    });
    let is_set = s.fields.iter().map(|f| {
        let (v, fname) = (variant(f), ident(&f.rust_name));
        quote! { #field_enum::#v => self.#fname.is_some(), }
    });
    let defaults = s.fields.iter().filter_map(|f| default_accessor_tokens(api, f));
    let limits = limit_constants(s);
    let count = int(s.fields.len() as i128);
    let enum_doc = doc_line(&format!("A field of [`{}`].", s.name));
    quote! {
        #doc
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
        }

        #enum_doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #field_enum {
            #(#variants)*
        }

        impl #field_enum {
            /// Every field, in wire order.
            pub const ALL: [#field_enum; #count] = [#(#all),*];

            /// The JSON name.
            pub fn json_name(self) -> &'static str {
                match self {
                    #(#json_arms)*
                }
            }

            /// The field with this JSON name.
            pub fn from_json_name(name: &str) -> Option<Self> {
                match name {
                    #(#from_json_arms)*
                    _ => None,
                }
            }

            /// Whether requests that include these fields require this one.
            pub fn required(self) -> bool {
                match self {
                    #(#required_arms)*
                }
            }

            /// What the spec says about the field: doc, kind of value, limits.
            pub fn info(self) -> &'static crate::schema::FieldInfo {
                match self {
                    #(#info_arms)*
                }
            }
        }

        impl #name {
            #limits

            /// Sets every field `other` sets (it wins), keeping the others.
            pub fn merge(&mut self, other: #name) {
                #(#merges)*
            }

            /// Unsets one field.
            pub fn clear(&mut self, field: #field_enum) {
                match field {
                    #(#clears)*
                }
            }

            /// Whether one field is set.
            pub fn is_set(&self, field: #field_enum) -> bool {
                match field {
                    #(#is_set)*
                }
            }

            #(#defaults)*
        }
    }
}

/// A `FieldInfo` literal describing a field.
fn field_info(api: &Api, f: &Field) -> TokenStream {
    let json = &f.json_name;
    let doc = docs::english(&f.doc);
    let limits = docs::describe_constraints(api, &f.constraints).join("; ");
    let kind = field_kind(api, &f.ty);
    let required = f.required;
    let default = match &f.default {
        Some(DefaultValue::Int(v)) | Some(DefaultValue::Enum { value: v, .. }) => {
            let v = v.to_string();
            quote!(Some(#v))
        }
        Some(DefaultValue::Bool(v)) => {
            let v = v.to_string();
            quote!(Some(#v))
        }
        Some(DefaultValue::String(v)) => quote!(Some(#v)),
        None => quote!(None),
    };
    quote! {
        crate::schema::FieldInfo {
            json_name: #json,
            doc: #doc,
            limits: #limits,
            kind: #kind,
            required: #required,
            default: #default,
        }
    }
}

fn field_kind(api: &Api, ty: &Type) -> TokenStream {
    match ty {
        Type::String => quote!(crate::schema::FieldKind::String),
        Type::Int | Type::Timestamp | Type::Day => quote!(crate::schema::FieldKind::Int),
        Type::Bool => quote!(crate::schema::FieldKind::Bool),
        Type::Enum(id) => {
            let e = ident(&api.enum_(*id).name);
            quote!(crate::schema::FieldKind::Enum(<#e as WireEnum>::KNOWN))
        }
        Type::Struct(_) => quote!(crate::schema::FieldKind::Object),
        Type::Array(inner) => match **inner {
            Type::String => quote!(crate::schema::FieldKind::StringList),
            _ => quote!(crate::schema::FieldKind::List),
        },
    }
}

/// `Debug` that shows `***` for secret fields (the corp secret, a token) and everything else as derived.
fn debug_impl(s: &Struct, envelope: Option<(&String, &String)>) -> TokenStream {
    let name = ident(&s.name);
    let sname = &s.name;
    let envelope = envelope.map(|(code, message)| {
        let (c, m) = (ident(code), ident(message));
        quote! { .field(#code, &self.#c).field(#message, &self.#m) }
    });
    let fields = s.fields.iter().map(|f| {
        let (fname, rust) = (ident(&f.rust_name), &f.rust_name);
        match (f.secret, f.required) {
            (true, true) => quote! { .field(#rust, &"***") },
            (true, false) => quote! { .field(#rust, &self.#fname.as_ref().map(|_| "***")) },
            (false, _) => quote! { .field(#rust, &self.#fname) },
        }
    });
    let extra = s.keeps_unknown_fields().then(|| quote! { .field("extra", &self.extra) });
    quote! {
        impl std::fmt::Debug for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(#sname) #envelope #(#fields)* #extra .finish()
            }
        }
    }
}

/// `SpecDrift`: reports fields and enum values the spec does not know.
fn drift_impl(api: &Api, s: &Struct) -> TokenStream {
    let name = ident(&s.name);
    let steps: Vec<TokenStream> = s.fields.iter().filter_map(|f| drift_step(api, f)).collect();
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

fn drift_step(api: &Api, f: &Field) -> Option<TokenStream> {
    let fname = ident(&f.rust_name);
    let json = &f.json_name;
    // `place` names the value as a place expression; `copied` reads an enum out of it.
    let visit_one = |place: TokenStream, copied: TokenStream, at: TokenStream, ty: &Type| -> Option<TokenStream> {
        match ty {
            Type::Struct(id) if api.struct_(*id).keeps_unknown_fields() => {
                Some(quote! { #place.drift_into(&#at, out); })
            }
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
