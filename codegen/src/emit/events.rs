//! `events.rs`: the callback forms as header structs, the event enums, one struct per event, and
//! `CallbackEvent`, which reads a decrypted message into them and writes them back as XML or JSON.
//! The reading and writing primitives live in the library (`callback::codec`); this emits only what
//! depends on the spec.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::docs::{doc_attrs, doc_paragraphs};
use super::tokens::{doc_line, ident, int};
use crate::model::{Api, CallbackCrypto, CallbackForm, ElementType, EventEnum, EventType, Events, XmlElement};

/// The whole `events.rs`.
pub fn all(api: &Api) -> TokenStream {
    let ev = &api.events;
    let forms = ev.forms.iter().map(|f| form_tokens(ev, f));
    let enums = ev.enums.iter().map(enum_tokens);
    let events = ev.events.iter().map(|e| event_tokens(ev, e));
    let crypto = ev.crypto.as_ref().map(crypto_tokens);
    let header = header_enum(ev);
    let event_enum = event_enum(ev);
    let callback_event = callback_event(ev);
    let names = ev.events.iter().map(|e| &e.name);
    let kinds = ev.forms.iter().map(|f| &f.kind);
    let examples = ev.events.iter().flat_map(|e| {
        e.examples.iter().map(move |x| {
            let (event, name, doc, xml) = (&e.name, &x.name, &x.doc, &x.xml);
            quote! { EventExample { event: #event, name: #name, doc: #doc, xml: #xml } }
        })
    });
    quote! {
        use serde_json::{Map, Value};

        use crate::callback::codec::{self, EventError, EventExample, JsonWriter, RawEvent, XmlWriter};
        use crate::callback::xml::Element;

        /// The names of the events this crate has types for.
        pub const EVENT_NAMES: &[&str] = &[#(#names),*];

        /// The elements that name the event, one per form; the first present picks the form.
        pub const KIND_ELEMENTS: &[&str] = &[#(#kinds),*];

        /// The documented messages of every event, from the spec.
        pub const EXAMPLES: &[EventExample] = &[#(#examples),*];

        #crypto
        #(#forms)*
        #header
        #(#enums)*
        #(#events)*
        #event_enum
        #callback_event
    }
}

/// `events::crypto`: WXBizMsgCrypt's sizes and the names around a sealed message, for the runtime's crypto
/// and receiver.
fn crypto_tokens(c: &CallbackCrypto) -> TokenStream {
    let key_chars = proc_macro2::Literal::usize_unsuffixed(c.encoding_aes_key_chars as usize);
    let pad_block = proc_macro2::Literal::usize_unsuffixed(c.pad_block as usize);
    let (q, e, r) = (&c.query, &c.envelope, &c.reply);
    let name = |ident: &str, value: &str, doc: &str| {
        let ident = format_ident!("{ident}");
        let doc = doc_line(&format!("{doc}: `{value}`."));
        quote! { #doc pub const #ident: &str = #value; }
    };
    let query = [
        name("SIGNATURE", &q.signature, "The signature"),
        name("TIMESTAMP", &q.timestamp, "The timestamp"),
        name("NONCE", &q.nonce, "The nonce"),
        name("ECHO", &q.echo, "The sealed echo of a URL verification"),
    ];
    let envelope = [
        name("ROOT", &e.root, "The root element"),
        name("TO_USER_NAME", &e.to_user_name, "The receiver (corp id or suite id), not covered by the signature"),
        name(
            "AGENT_ID",
            &e.agent_id,
            "The app's agent id, not covered by the signature; absent from third-party callbacks",
        ),
        name("ENCRYPTED", &e.encrypted, "The sealed message"),
    ];
    let reply = [
        name("SIGNATURE", &r.signature, "The signature"),
        name("TIMESTAMP", &r.timestamp, "The timestamp"),
        name("NONCE", &r.nonce, "The nonce"),
    ];
    quote! {
        /// WXBizMsgCrypt (doc 90968): the key, the padding, and the names on the wire around a sealed
        /// message.
        pub mod crypto {
            /// Length of an EncodingAESKey, in characters (base64 without its `=`).
            pub const ENCODING_AES_KEY_CHARS: usize = #key_chars;
            /// PKCS#7 pads the message to a multiple of this many bytes.
            pub const PAD_BLOCK: usize = #pad_block;

            /// The query parameters of a callback request.
            pub mod query {
                #(#query)*
            }

            /// The elements of the envelope WeCom posts.
            pub mod envelope {
                #(#envelope)*
            }

            /// The elements of an encrypted passive reply, besides [`envelope::ENCRYPTED`] in an
            /// [`envelope::ROOT`] root.
            pub mod reply {
                #(#reply)*
            }
        }
    }
}

fn rust_type(ev: &Events, ty: &ElementType) -> TokenStream {
    match ty {
        ElementType::String => quote!(String),
        ElementType::Int | ElementType::Timestamp => quote!(i64),
        ElementType::Enum(id) => {
            let n = ident(&ev.enums[*id].name);
            quote!(#n)
        }
        ElementType::List { .. } => quote!(Vec<String>),
    }
}

fn is_int(ev: &Events, ty: &ElementType) -> bool {
    match ty {
        ElementType::Int | ElementType::Timestamp => true,
        ElementType::Enum(id) => !ev.enums[*id].strings,
        _ => false,
    }
}

fn element_doc(e: &XmlElement) -> TokenStream {
    let mut text = format!("`{}`: {}", e.xml_name, e.doc.trim());
    if let ElementType::List { item, comma_separated } = &e.ty {
        text.push_str(&format!("\n\nRead from `<{item}>` children"));
        text.push_str(if *comma_separated { " or a comma-separated text." } else { "." });
    }
    doc_attrs(&text)
}

/// The struct fields of some elements.
fn fields(ev: &Events, elements: &[XmlElement]) -> Vec<TokenStream> {
    elements
        .iter()
        .map(|e| {
            let name = ident(&e.field);
            let ty = rust_type(ev, &e.ty);
            let doc = element_doc(e);
            if e.required {
                quote! { #doc pub #name: #ty, }
            } else {
                quote! { #doc pub #name: Option<#ty>, }
            }
        })
        .collect()
}

/// `check`: the required elements are present and the integer ones are integers; nothing is taken.
/// How an element must look to be read as its type, as a `codec::Shape` expression.
fn shape(ev: &Events, ty: &ElementType) -> TokenStream {
    match ty {
        ElementType::List { item, comma_separated } => {
            quote! { codec::Shape::List { item: #item, comma_separated: #comma_separated } }
        }
        ty if is_int(ev, ty) => quote! { codec::Shape::Int },
        _ => quote! { codec::Shape::Text },
    }
}

/// `check`: the required elements are present and read as their types; nothing is taken.
fn check_fn(ev: &Events, elements: &[XmlElement]) -> TokenStream {
    let steps = elements.iter().filter(|e| e.required).map(|e| {
        let name = &e.xml_name;
        let shape = shape(ev, &e.ty);
        quote! { codec::check_required(elements, #name, #shape)?; }
    });
    quote! {
        /// Whether `elements` hold this message's required elements, each readable as its type.
        fn check(elements: &[Element]) -> Result<(), EventError> {
            #(#steps)*
            Ok(())
        }
    }
}

/// The expression that reads `taken`, an `Option<Element>` that fits its shape, as an `Option` of the
/// element's type.
fn read_expr(ev: &Events, ty: &ElementType, taken: TokenStream) -> TokenStream {
    match ty {
        ElementType::String => quote! { #taken.map(Element::into_text) },
        ElementType::Int | ElementType::Timestamp => quote! { #taken.map(codec::int_of) },
        ElementType::Enum(id) => {
            let en = ident(&ev.enums[*id].name);
            if ev.enums[*id].strings {
                quote! { #taken.map(|e| #en::from(e.text())) }
            } else {
                quote! { #taken.map(|e| #en::from(codec::int_of(e))) }
            }
        }
        ElementType::List { item, comma_separated } => {
            quote! { #taken.map(|e| codec::list(e, #item, #comma_separated)) }
        }
    }
}

fn decode_fn(ev: &Events, elements: &[XmlElement], extra: bool) -> TokenStream {
    if !extra {
        // A header: its elements taken out in one pass (`codec::take_header`), each then read as its type.
        let n = elements.len();
        let specs = elements.iter().map(|e| {
            let (name, required) = (&e.xml_name, e.required);
            let shape = shape(ev, &e.ty);
            quote! { codec::HeaderElement { name: #name, shape: #shape, required: #required } }
        });
        let taken = elements.iter().map(|e| ident(&e.field));
        let inits = elements.iter().map(|e| {
            let f = ident(&e.field);
            let value = read_expr(ev, &e.ty, quote!(#f));
            let name = &e.xml_name;
            if e.required {
                quote! { #f: #value.ok_or(EventError::Missing(#name))?, }
            } else {
                quote! { #f: #value, }
            }
        });
        return quote! {
            /// Takes this header's elements out of `elements`, with the element naming the event (at `kind`),
            /// and leaves the others in their order; on an error only the element naming the event is taken.
            fn decode(elements: &mut Vec<Element>, kind: usize) -> Result<Self, EventError> {
                const HEADER: [codec::HeaderElement; #n] = [#(#specs),*];
                let [#(#taken),*] = codec::take_header(elements, kind, &HEADER)?;
                Ok(Self { #(#inits)* })
            }
        };
    }
    // An event: one pass over its elements. The first element of each name is read when it fits its
    // shape; every other element — unknown, repeated, or not fitting — goes to `extra` in document order.
    let n = elements.len();
    let locals = elements.iter().map(|e| {
        let f = ident(&e.field);
        let ty = rust_type(ev, &e.ty);
        quote! { let mut #f: Option<#ty> = None; }
    });
    let slots = elements.iter().enumerate().map(|(i, e)| {
        let name = &e.xml_name;
        quote! { #name => #i, }
    });
    let shapes = elements.iter().map(|e| shape(ev, &e.ty));
    let reads = elements.iter().enumerate().map(|(i, e)| {
        let f = ident(&e.field);
        let value = match &e.ty {
            ElementType::String => quote! { element.into_text() },
            ElementType::Int | ElementType::Timestamp => quote! { codec::int_of(element) },
            ElementType::Enum(id) => {
                let en = ident(&ev.enums[*id].name);
                if ev.enums[*id].strings {
                    quote! { #en::from(element.text()) }
                } else {
                    quote! { #en::from(codec::int_of(element)) }
                }
            }
            ElementType::List { item, comma_separated } => quote! { codec::list(element, #item, #comma_separated) },
        };
        quote! { #i => #f = Some(#value), }
    });
    let inits = elements.iter().map(|e| {
        let f = ident(&e.field);
        let name = &e.xml_name;
        if e.required {
            quote! { #f: #f.ok_or(EventError::Missing(#name))?, }
        } else {
            quote! { #f, }
        }
    });
    quote! {
        /// Takes this message's elements out of `elements` and keeps the others in `extra`; on an error
        /// nothing is taken.
        fn decode(elements: &mut Vec<Element>) -> Result<Self, EventError> {
            const SHAPES: [codec::Shape; #n] = [#(#shapes),*];
            Self::check(elements)?;
            #(#locals)*
            let mut seen = [false; #n];
            let mut extra = Vec::new();
            for element in std::mem::take(elements) {
                let slot = match element.name() {
                    #(#slots)*
                    _ => usize::MAX,
                };
                match seen.get_mut(slot) {
                    Some(seen) if !*seen => *seen = true,
                    _ => {
                        extra.push(element);
                        continue;
                    }
                }
                if !SHAPES[slot].fits(&element) {
                    extra.push(element);
                    continue;
                }
                match slot {
                    #(#reads)*
                    _ => extra.push(element),
                }
            }
            Ok(Self { #(#inits)* extra })
        }
    }
}

fn write_fns(ev: &Events, elements: &[XmlElement], extra: bool) -> TokenStream {
    // Each element's value as a reference, as a place (for method calls) and by value (for Copy types).
    let access = |e: &XmlElement| {
        let f = ident(&e.field);
        if e.required {
            (quote!(&self.#f), quote!(self.#f), quote!(self.#f))
        } else {
            (quote!(v), quote!(v), quote!(*v))
        }
    };
    let guard = |e: &XmlElement, write: TokenStream| {
        let f = ident(&e.field);
        if e.required {
            quote! { #write; }
        } else {
            quote! { if let Some(v) = &self.#f { #write; } }
        }
    };
    let xml = elements.iter().map(|e| {
        let name = &e.xml_name;
        let (by_ref, place, by_value) = access(e);
        let write = match &e.ty {
            ElementType::String => quote! { w.string(#name, #by_ref) },
            ElementType::Int | ElementType::Timestamp => quote! { w.int(#name, #by_value) },
            ElementType::Enum(id) if ev.enums[*id].strings => quote! { w.string(#name, #place.as_str()) },
            ElementType::Enum(_) => quote! { w.int(#name, i64::from(#by_value)) },
            ElementType::List { item, .. } => quote! { w.list(#name, #item, #by_ref) },
        };
        guard(e, write)
    });
    let json = elements.iter().map(|e| {
        let key = &e.field;
        let (by_ref, place, by_value) = access(e);
        let write = match &e.ty {
            ElementType::String => quote! { w.value(#key, #place.as_str()) },
            ElementType::Int | ElementType::Timestamp => quote! { w.value(#key, #by_value) },
            ElementType::Enum(id) if ev.enums[*id].strings => quote! { w.value(#key, #place.as_str()) },
            ElementType::Enum(_) => quote! { w.value(#key, i64::from(#by_value)) },
            ElementType::List { .. } => quote! { w.list(#key, #by_ref) },
        };
        guard(e, write)
    });
    let extra = extra.then(|| quote! { for e in &self.extra { w.element(e); } });
    quote! {
        /// Writes the elements as XML, in the spec's order.
        fn write_xml(&self, w: &mut XmlWriter) {
            #(#xml)*
            #extra
        }

        /// Writes the elements as JSON values under their snake_case names.
        fn write_json(&self, w: &mut JsonWriter) {
            #(#json)*
            #extra
        }
    }
}

/// `new`: the required elements as arguments (strings without a default as `impl Into<String>`), the
/// defaults filled in, the optional elements `None`.
fn new_fn(ev: &Events, type_name: &str, elements: &[XmlElement], extra: bool) -> TokenStream {
    let mut args = Vec::new();
    let mut inits = Vec::new();
    let mut defaults = Vec::new();
    for e in elements {
        let f = ident(&e.field);
        match (&e.default, e.required) {
            (Some(d), _) => {
                defaults.push(format!("`{}` = `{d}`", e.xml_name));
                let value = if e.required { quote!(#d.to_string()) } else { quote!(Some(#d.to_string())) };
                inits.push(quote! { #f: #value, });
            }
            (None, true) if e.ty == ElementType::String => {
                args.push(quote! { #f: impl Into<String> });
                inits.push(quote! { #f: #f.into(), });
            }
            (None, true) => {
                let ty = rust_type(ev, &e.ty);
                args.push(quote! { #f: #ty });
                inits.push(quote! { #f, });
            }
            (None, false) => inits.push(quote! { #f: None, }),
        }
    }
    let extra = extra.then(|| quote! { extra: Vec::new(), });
    let mut text = format!("A `{type_name}` with the required elements given");
    if !defaults.is_empty() {
        text.push_str(&format!(", {}", defaults.join(", ")));
    }
    text.push_str(", and no optional element.");
    let doc = doc_line(&text);
    quote! {
        #doc
        pub fn new(#(#args),*) -> Self {
            Self { #(#inits)* #extra }
        }
    }
}

fn form_tokens(ev: &Events, form: &CallbackForm) -> TokenStream {
    let name = ident(&form.struct_name);
    let doc = doc_attrs(&form.doc);
    let fields = fields(ev, &form.elements);
    let (form_name, kind, reply) = (&form.name, &form.kind, &form.reply);
    let kind_doc = doc_line(&format!("`{kind}`, the element naming the event in this form: {}", form.kind_doc.trim()));
    let reply_doc = if reply.is_empty() {
        doc_line("The body a callback of this form is answered with: empty.")
    } else {
        doc_line(&format!("The body a callback of this form is answered with: `{reply}`."))
    };
    let new = new_fn(ev, &form.struct_name, &form.elements, false);
    let decode = decode_fn(ev, &form.elements, false);
    let write = write_fns(ev, &form.elements, false);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            /// The form's name in the spec.
            pub const FORM: &'static str = #form_name;
            #kind_doc
            pub const KIND: &'static str = #kind;
            #reply_doc
            pub const REPLY: &'static str = #reply;
            #new
            #decode
            #write
        }
    }
}

fn header_enum(ev: &Events) -> TokenStream {
    let form_variants = ev.forms.iter().map(|f| {
        let v = ident(&f.variant);
        let doc = doc_line(&format!("`{}`: named by `{}`.", f.name, f.kind));
        quote! { #doc #v, }
    });
    let form_arms = |what: TokenStream| {
        let arms = ev.forms.iter().map(|f| {
            let (v, s) = (ident(&f.variant), ident(&f.struct_name));
            quote! { Form::#v => #s::#what, }
        });
        quote! { match self { #(#arms)* } }
    };
    let (name, kind, reply) = (form_arms(quote!(FORM)), form_arms(quote!(KIND)), form_arms(quote!(REPLY)));
    let all = ev.forms.iter().map(|f| {
        let v = ident(&f.variant);
        quote! { Form::#v }
    });
    let variants = ev.forms.iter().map(|f| {
        let (v, s) = (ident(&f.variant), ident(&f.struct_name));
        let doc = doc_line(&format!("The `{}` form.", f.name));
        quote! { #doc #v(#s), }
    });
    let header_form = ev.forms.iter().map(|f| {
        let v = ident(&f.variant);
        quote! { Header::#v(_) => Form::#v, }
    });
    let write = ev.forms.iter().map(|f| {
        let v = ident(&f.variant);
        quote! { Header::#v(h) => h.write_xml(w), }
    });
    let write_json = ev.forms.iter().map(|f| {
        let v = ident(&f.variant);
        quote! { Header::#v(h) => h.write_json(w), }
    });
    let froms = ev.forms.iter().map(|f| {
        let (v, s) = (ident(&f.variant), ident(&f.struct_name));
        quote! {
            impl From<#s> for Header {
                fn from(header: #s) -> Self {
                    Header::#v(header)
                }
            }
        }
    });
    quote! {
        /// The forms a callback message comes in, each named by the element that carries the event's name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Form {
            #(#form_variants)*
        }

        impl Form {
            /// Every form, in the order a message is tried against them.
            pub const ALL: &'static [Form] = &[#(#all),*];

            /// The form's name in the spec.
            pub fn name(self) -> &'static str {
                #name
            }

            /// The element naming the event in this form.
            pub fn kind_element(self) -> &'static str {
                #kind
            }

            /// The body a callback of this form is answered with.
            pub fn reply(self) -> &'static str {
                #reply
            }
        }

        /// The header of a message: which form it came in, with that form's elements.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Header {
            #(#variants)*
        }

        impl Header {
            /// The form of this header.
            pub fn form(&self) -> Form {
                match self { #(#header_form)* }
            }

            fn write_xml(&self, w: &mut XmlWriter) {
                match self { #(#write)* }
            }

            fn write_json(&self, w: &mut JsonWriter) {
                match self { #(#write_json)* }
            }
        }

        #(#froms)*
    }
}

fn enum_tokens(e: &EventEnum) -> TokenStream {
    let name = ident(&e.name);
    let doc = doc_attrs(&e.doc);
    let variants = e.values.iter().map(|v| {
        let n = ident(&v.name);
        let doc = doc_line(&format!("`{}` — {}", v.wire, v.doc));
        quote! { #doc #n, }
    });
    if e.strings {
        let from = e.values.iter().map(|v| {
            let (n, w) = (ident(&v.name), &v.wire);
            quote! { #w => Self::#n, }
        });
        let from_str = from.clone();
        let as_str = e.values.iter().map(|v| {
            let (n, w) = (ident(&v.name), &v.wire);
            quote! { Self::#n => #w, }
        });
        let known = e.values.iter().map(|v| &v.wire);
        quote! {
            #doc
            ///
            /// Values the spec does not list are kept in `Unknown`.
            #[derive(Debug, Clone, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum #name {
                #(#variants)*
                /// A value the spec does not list, kept as received.
                Unknown(String),
            }

            impl #name {
                /// The documented values.
                pub const KNOWN: &'static [&'static str] = &[#(#known),*];

                /// The value as written in the XML.
                pub fn as_str(&self) -> &str {
                    match self {
                        #(#as_str)*
                        Self::Unknown(other) => other,
                    }
                }
            }

            impl From<String> for #name {
                fn from(value: String) -> Self {
                    match value.as_str() {
                        #(#from)*
                        _ => Self::Unknown(value),
                    }
                }
            }

            impl From<&str> for #name {
                fn from(value: &str) -> Self {
                    match value {
                        #(#from_str)*
                        _ => Self::Unknown(value.to_string()),
                    }
                }
            }

            impl std::fmt::Display for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        }
    } else {
        let values: Vec<i64> = e.values.iter().map(|v| v.wire.parse().unwrap_or_default()).collect();
        let from = e.values.iter().zip(&values).map(|(v, w)| {
            let (n, w) = (ident(&v.name), int(*w));
            quote! { #w => Self::#n, }
        });
        let into = e.values.iter().zip(&values).map(|(v, w)| {
            let (n, w) = (ident(&v.name), int(*w));
            quote! { #name::#n => #w, }
        });
        let known = values.iter().map(|w| int(*w));
        quote! {
            #doc
            ///
            /// Values the spec does not list are kept in `Unknown`.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum #name {
                #(#variants)*
                /// A value the spec does not list, kept as received.
                Unknown(i64),
            }

            impl #name {
                /// The documented values.
                pub const KNOWN: &'static [i64] = &[#(#known),*];
            }

            impl From<i64> for #name {
                fn from(value: i64) -> Self {
                    match value {
                        #(#from)*
                        other => Self::Unknown(other),
                    }
                }
            }

            impl From<#name> for i64 {
                fn from(value: #name) -> i64 {
                    match value {
                        #(#into)*
                        #name::Unknown(other) => other,
                    }
                }
            }

            impl std::fmt::Display for #name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    write!(f, "{}", i64::from(*self))
                }
            }
        }
    }
}

fn event_tokens(ev: &Events, e: &EventType) -> TokenStream {
    let name = ident(&e.rust_name);
    let mut paragraphs = vec![e.title.clone()];
    paragraphs.push(e.doc.clone());
    let forms: Vec<String> = e.forms.iter().map(|f| format!("`{}`", ev.forms[*f].name)).collect();
    paragraphs.push(format!(
        "Event `{}`, in the forms {}. Elements the spec does not list are kept in `extra`. Official documentation: {}",
        e.name,
        forms.join(", "),
        e.doc_url
    ));
    let doc = doc_paragraphs(&paragraphs);
    let fields = fields(ev, &e.elements);
    let wire = &e.name;
    let form_names = e.forms.iter().map(|f| &ev.forms[*f].name);
    let new = new_fn(ev, &e.rust_name, &e.elements, true);
    let check = check_fn(ev, &e.elements);
    let decode = decode_fn(ev, &e.elements, true);
    let write = write_fns(ev, &e.elements, true);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
            /// Elements the spec does not list, as received.
            pub extra: Vec<Element>,
        }

        impl #name {
            /// The event's name, as the element naming the event carries it.
            pub const NAME: &'static str = #wire;
            /// The forms the event comes in.
            pub const FORMS: &'static [&'static str] = &[#(#form_names),*];
            #new
            #check
            #decode
            #write
        }

        impl From<#name> for Event {
            fn from(event: #name) -> Self {
                Event::#name(event)
            }
        }
    }
}

fn event_enum(ev: &Events) -> TokenStream {
    let variants = ev.events.iter().map(|e| {
        let n = ident(&e.rust_name);
        let doc = doc_line(&format!("`{}`", e.name));
        quote! { #doc #n(#n), }
    });
    let decode_arms = ev.events.iter().map(|e| {
        let n = ident(&e.rust_name);
        quote! {
            #n::NAME => match #n::decode(&mut elements) {
                Ok(event) => Event::#n(event),
                Err(error) => Event::Other(RawEvent { name, elements, error: Some(error) }),
            },
        }
    });
    let name_arms = ev.events.iter().map(|e| {
        let n = ident(&e.rust_name);
        quote! { Event::#n(_) => #n::NAME, }
    });
    let xml_arms = ev.events.iter().map(|e| {
        let n = ident(&e.rust_name);
        quote! { Event::#n(event) => event.write_xml(w), }
    });
    let json_arms = ev.events.iter().map(|e| {
        let n = ident(&e.rust_name);
        quote! { Event::#n(event) => event.write_json(w), }
    });
    quote! {
        /// An event: one of the typed events, or any other, kept as received.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Event {
            #(#variants)*
            /// An event this crate has no type for (a callback URL receives every event of the app), or a
            /// typed one that could not be read (its `error` says why): its elements as received.
            Other(RawEvent),
        }

        impl Event {
            /// The event's name (`change_external_chat`).
            pub fn name(&self) -> &str {
                match self {
                    #(#name_arms)*
                    Event::Other(raw) => &raw.name,
                }
            }

            /// Reads the body elements (header and kind element taken out) of an event named `name`.
            fn decode(name: String, mut elements: Vec<Element>) -> Self {
                match name.as_str() {
                    #(#decode_arms)*
                    _ => Event::Other(RawEvent { name, elements, error: None }),
                }
            }

            fn write_xml(&self, w: &mut XmlWriter) {
                match self {
                    #(#xml_arms)*
                    Event::Other(raw) => raw.elements.iter().for_each(|e| w.element(e)),
                }
            }

            fn write_json(&self, w: &mut JsonWriter) {
                match self {
                    #(#json_arms)*
                    Event::Other(raw) => {
                        raw.elements.iter().for_each(|e| w.element(e));
                        if let Some(error) = &raw.error {
                            w.value("decode_error", error.to_string());
                        }
                    }
                }
            }
        }
    }
}

fn callback_event(ev: &Events) -> TokenStream {
    let tries = ev.forms.iter().map(|f| {
        let (v, s, kind) = (ident(&f.variant), ident(&f.struct_name), &f.kind);
        quote! {
            if let Some((kind, name)) = codec::kind_element(&elements, #kind) {
                return match #s::decode(&mut elements, kind) {
                    Ok(header) => {
                        CallbackEvent {
                            form: Some(Form::#v),
                            header: Some(Header::#v(header)),
                            event: Event::decode(name, elements),
                        }
                    }
                    Err(error) => CallbackEvent {
                        form: Some(Form::#v),
                        header: None,
                        event: Event::Other(RawEvent { name, elements, error: Some(error) }),
                    },
                };
            }
        }
    });
    quote! {
        /// A decrypted callback message, read: its form, its header and its event.
        ///
        /// Reading never fails on a well-formed message, and never drops an element: an event this crate has
        /// no type for, or one whose required elements do not read (missing, not an integer, shaped
        /// otherwise), is kept as [`Event::Other`] with every element; an optional element that does not
        /// read stays in the event's `extra`. A message in no known form (no element naming an event) has
        /// no form, no header and an `Other` event with an empty name.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct CallbackEvent {
            /// The form, picked by the element naming the event — known even when the header does not read.
            pub form: Option<Form>,
            /// The header elements; `None` when the message is in no known form or its header does not read
            /// (then every element but the one naming the event is in the raw event).
            pub header: Option<Header>,
            /// The event.
            pub event: Event,
        }

        impl CallbackEvent {
            /// A message of this header and event (to send one: simulators, tests).
            pub fn new(header: impl Into<Header>, event: impl Into<Event>) -> Self {
                let header = header.into();
                CallbackEvent { form: Some(header.form()), header: Some(header), event: event.into() }
            }

            /// Reads a decrypted message (its `<xml>` root, see [`crate::callback::xml::parse`]).
            pub fn decode(root: Element) -> Self {
                let mut elements = root.into_children();
                #(#tries)*
                CallbackEvent {
                    form: None,
                    header: None,
                    event: Event::Other(RawEvent { name: String::new(), elements, error: None }),
                }
            }

            /// The event's name as the element naming it carries it; empty for a message in no known form.
            pub fn name(&self) -> &str {
                self.event.name()
            }

            /// The body the callback is answered with: its form's reply (see [`Form::reply`]); empty for a
            /// message in no known form.
            pub fn reply(&self) -> &'static str {
                self.form.map_or("", Form::reply)
            }

            /// The message as XML, the way WeCom writes it (strings in CDATA): the header, the element
            /// naming the event, the event's elements, then the elements kept as received.
            pub fn to_xml(&self) -> String {
                let mut w = XmlWriter::new();
                if let Some(header) = &self.header {
                    header.write_xml(&mut w);
                }
                if let Some(form) = self.form {
                    w.string(form.kind_element(), self.name());
                }
                self.event.write_xml(&mut w);
                w.finish()
            }

            /// The message as one JSON object: each element under the snake_case of its name (the element
            /// naming the event too), integers as numbers, lists as arrays of strings, and for an event
            /// that could not be read, the reason under `error`.
            pub fn to_json(&self) -> Map<String, Value> {
                let mut w = JsonWriter::new();
                if let Some(header) = &self.header {
                    header.write_json(&mut w);
                }
                if let Some(form) = self.form {
                    w.value(&codec::snake_case(form.kind_element()), self.name());
                }
                self.event.write_json(&mut w);
                w.finish()
            }
        }
    }
}
