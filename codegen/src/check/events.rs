//! `callbacks.yaml` and `events/*.yaml`: the callback forms and the typed events.
//!
//! Element names are XML names as WeCom writes them; their Rust fields and JSON keys are their snake_case,
//! so two elements of one message may not share a snake_case. An event's elements must differ from the
//! header elements of every form it comes in, since they end up side by side in one message.

use std::collections::{BTreeMap, HashMap, HashSet};

use heck::{ToSnakeCase, ToUpperCamelCase};

use super::{Checker, RESERVED_FIELDS, is_field_name, is_snake_case, type_name_problem};
use crate::model::{CallbackForm, ElementType, EventEnum, EventEnumValue, EventExample, EventType, Events, XmlElement};
use crate::spec::{CryptoSpec, ElementSpec, EventFile, Located, ScalarSpec, SpecFiles};

/// Type names the generated `events` module uses for itself, or that would shadow the prelude there.
const RESERVED_TYPE_NAMES: &[&str] = &[
    "CallbackEvent",
    "Event",
    "Header",
    "RawEvent",
    "EventError",
    "EventExample",
    "Element",
    "XmlWriter",
    "JsonWriter",
    "String",
    "Vec",
    "Option",
    "Result",
    "Some",
    "None",
    "Ok",
    "Err",
    "Box",
    "Map",
    "Value",
];

/// Checks the callback forms and the events, and resolves them. `api_types` are the names of the API's
/// structs and enums: events share one namespace with them (the OpenAPI document's schemas).
pub(crate) fn check(cx: &mut Checker, files: &SpecFiles, api_types: &[String]) -> Events {
    let Some(callbacks) = &files.callbacks else {
        if let Some(first) = files.events.first() {
            cx.err(&first.file, "", "events need `callbacks.yaml` (the forms their messages come in)");
        }
        return Events::default();
    };
    let file = callbacks.file.as_str();
    let mut type_names: HashMap<String, String> = HashMap::new();
    let mut claim = |cx: &mut Checker, file: &str, path: &str, name: &str| {
        if let Err(problem) = type_name_problem(name) {
            cx.err(file, path, format!("type name `{name}` {problem}"));
        } else if RESERVED_TYPE_NAMES.contains(&name) {
            cx.err(file, path, format!("type name `{name}` is taken by the generated `events` module"));
        } else if api_types.iter().any(|t| t == name) || name == "Status" {
            cx.err(
                file,
                path,
                format!("type name `{name}` is also a type of the API (one namespace: the OpenAPI schemas)"),
            );
        } else if let Some(other) = type_names.insert(name.to_string(), format!("{file} {path}")) {
            cx.err(file, path, format!("type name `{name}` is also declared at {other}"));
        }
    };

    let mut forms = Vec::new();
    let mut kinds = HashSet::new();
    for (i, form) in callbacks.value.forms.iter().enumerate() {
        let path = format!("forms[{i}]");
        if !is_snake_case(&form.name) {
            cx.err(file, format!("{path}.name"), format!("form name `{}` must be snake_case", form.name));
        }
        if forms.iter().any(|f: &CallbackForm| f.name == form.name) {
            cx.err(file, format!("{path}.name"), format!("form `{}` is declared twice", form.name));
        }
        claim(cx, file, &format!("{path}.rust_name"), &form.rust_name);
        if !kinds.insert(form.kind.name.clone()) {
            cx.err(file, format!("{path}.kind"), format!("another form is named by `{}` too", form.kind.name));
        }
        let mut keys = BTreeMap::new();
        element_name(cx, file, &format!("{path}.kind.name"), &form.kind.name, &mut keys);
        let elements = elements(cx, file, &path, &form.elements, &[], &mut keys);
        forms.push(CallbackForm {
            name: form.name.clone(),
            struct_name: form.rust_name.clone(),
            variant: form.name.to_upper_camel_case(),
            doc: form.doc.clone(),
            kind: form.kind.name.clone(),
            kind_doc: form.kind.doc.clone(),
            elements,
            reply: form.reply.clone().unwrap_or_default(),
        });
    }
    if forms.is_empty() {
        cx.err(file, "forms", "at least one form is needed");
    }

    let mut events_sorted: Vec<&Located<EventFile>> = files.events.iter().collect();
    events_sorted.sort_by(|a, b| a.value.name.cmp(&b.value.name));

    // Enums first: every event may use every event enum.
    let mut enums = Vec::new();
    for event in &events_sorted {
        for (i, e) in event.value.enums.iter().enumerate() {
            let path = format!("enums[{i}]");
            claim(cx, &event.file, &format!("{path}.name"), &e.name);
            enums.push(event_enum(cx, &event.file, &path, e));
        }
    }
    let enum_names: Vec<String> = enums.iter().map(|e| e.name.clone()).collect();

    let mut events = Vec::new();
    let mut event_names = HashSet::new();
    for event in events_sorted {
        let (f, spec) = (event.file.as_str(), &event.value);
        let valid_name = spec.name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && spec.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            cx.err(f, "name", format!("event name `{}` must be lowercase ASCII letters, digits and `_`", spec.name));
        }
        if !event_names.insert(spec.name.clone()) {
            cx.err(f, "name", format!("event `{}` is declared twice", spec.name));
        }
        let rust_name = spec.name.to_upper_camel_case();
        if valid_name {
            claim(cx, f, "name", &rust_name);
        }
        let mut form_ids = Vec::new();
        let mut keys = BTreeMap::new();
        let mut taken = Vec::new();
        for (i, form_name) in spec.forms.iter().enumerate() {
            match forms.iter().position(|form| &form.name == form_name) {
                Some(id) if form_ids.contains(&id) => {
                    cx.err(f, format!("forms[{i}]"), format!("form `{form_name}` is listed twice"))
                }
                Some(id) => {
                    form_ids.push(id);
                    let form = &forms[id];
                    taken.push(form.kind.clone());
                    taken.extend(form.elements.iter().map(|e| e.xml_name.clone()));
                    keys.insert(form.kind.to_snake_case(), format!("the `{}` form's header", form.name));
                    for e in &form.elements {
                        keys.insert(e.field.clone(), format!("the `{}` form's header", form.name));
                    }
                }
                None => {
                    let known: Vec<&str> = forms.iter().map(|form| form.name.as_str()).collect();
                    cx.err(
                        f,
                        format!("forms[{i}]"),
                        format!("no form `{form_name}` in callbacks.yaml (forms: {})", known.join(", ")),
                    );
                }
            }
        }
        if spec.forms.is_empty() {
            cx.err(f, "forms", "an event comes in at least one form");
        }
        let elements = resolve_elements(cx, f, &spec.elements, &enum_names, &taken, &mut keys);
        let mut examples: Vec<EventExample> = Vec::new();
        for (i, ex) in spec.examples.iter().enumerate() {
            if !is_snake_case(&ex.name) {
                cx.err(f, format!("examples[{i}].name"), format!("example name `{}` must be snake_case", ex.name));
            }
            if examples.iter().any(|e| e.name == ex.name) {
                cx.err(f, format!("examples[{i}].name"), format!("example `{}` is declared twice", ex.name));
            }
            if !ex.xml.contains(&spec.name) {
                cx.err(f, format!("examples[{i}].xml"), format!("the example does not name the event `{}`", spec.name));
            }
            examples.push(EventExample { name: ex.name.clone(), doc: ex.doc.clone(), xml: ex.xml.clone() });
        }
        if valid_name {
            for &id in &form_ids {
                claim(cx, f, "forms", &format!("{rust_name}{}", forms[id].variant));
            }
        }
        events.push(EventType {
            name: spec.name.clone(),
            rust_name,
            title: spec.title.clone(),
            doc: spec.doc.clone(),
            doc_url: spec.doc_url.clone(),
            forms: form_ids,
            elements,
            examples,
        });
    }
    Events { crypto: Some(crypto(cx, file, &callbacks.value.crypto)), forms, enums, events }
}

/// The crypto section: sizes that are positive, names that are XML names (the query's too: they are
/// written into Rust string constants and matched byte for byte) and distinct where they share a place.
fn crypto(cx: &mut Checker, file: &str, spec: &CryptoSpec) -> CryptoSpec {
    // The runtime is AES-256-CBC: a 32-byte key, 43 base64 characters without the `=`; padding to whole
    // 16-byte blocks that one PKCS#7 byte can count.
    if spec.encoding_aes_key_chars != 43 {
        cx.err(
            file,
            "crypto.encoding_aes_key_chars",
            format!("must be 43 (a 32-byte AES-256 key in base64), not {}", spec.encoding_aes_key_chars),
        );
    }
    if spec.pad_block == 0 || !spec.pad_block.is_multiple_of(16) || spec.pad_block > 255 {
        cx.err(
            file,
            "crypto.pad_block",
            format!("must be a multiple of the 16-byte AES block up to 240 (one PKCS#7 byte), not {}", spec.pad_block),
        );
    }
    let (q, e, r) = (&spec.query, &spec.envelope, &spec.reply);
    let names: [(&str, &str); 11] = [
        ("query.signature", &q.signature),
        ("query.timestamp", &q.timestamp),
        ("query.nonce", &q.nonce),
        ("query.echo", &q.echo),
        ("envelope.root", &e.root),
        ("envelope.to_user_name", &e.to_user_name),
        ("envelope.agent_id", &e.agent_id),
        ("envelope.encrypted", &e.encrypted),
        ("reply.signature", &r.signature),
        ("reply.timestamp", &r.timestamp),
        ("reply.nonce", &r.nonce),
    ];
    for (key, name) in names {
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            cx.err(file, format!("crypto.{key}"), format!("`{name}` must be a name of ASCII letters, digits and `_`"));
        }
    }
    // Names that share a place must differ: the query's four; the elements of one envelope or reply (a reply
    // carries the envelope's `encrypted` in the envelope's root).
    let places: [&[usize]; 3] = [&[0, 1, 2, 3], &[4, 5, 6, 7], &[4, 7, 8, 9, 10]];
    for place in places {
        for (i, &a) in place.iter().enumerate() {
            if let Some(&b) = place[..i].iter().find(|&&b| names[b].1 == names[a].1) {
                cx.err(
                    file,
                    format!("crypto.{}", names[a].0),
                    format!("`{}` is also crypto.{}", names[a].1, names[b].0),
                );
            }
        }
    }
    spec.clone()
}

/// A form's header elements: only scalar types (no enums).
fn elements(
    cx: &mut Checker,
    file: &str,
    path: &str,
    specs: &[ElementSpec],
    enum_names: &[String],
    keys: &mut BTreeMap<String, String>,
) -> Vec<XmlElement> {
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        if let Some(e) = element(cx, file, &format!("{path}.elements[{i}]"), spec, enum_names, keys) {
            out.push(e);
        }
    }
    out
}

fn resolve_elements(
    cx: &mut Checker,
    file: &str,
    specs: &[ElementSpec],
    enum_names: &[String],
    taken: &[String],
    keys: &mut BTreeMap<String, String>,
) -> Vec<XmlElement> {
    for (i, spec) in specs.iter().enumerate() {
        if taken.contains(&spec.name) {
            cx.err(
                file,
                format!("elements[{i}].name"),
                format!("`{}` is a header element of one of the event's forms", spec.name),
            );
        }
    }
    elements(cx, file, "", specs, enum_names, keys)
}

fn element(
    cx: &mut Checker,
    file: &str,
    path: &str,
    spec: &ElementSpec,
    enum_names: &[String],
    keys: &mut BTreeMap<String, String>,
) -> Option<XmlElement> {
    let path = path.trim_start_matches('.');
    let field = element_name(cx, file, &format!("{path}.name"), &spec.name, keys)?;
    let ty = match spec.ty.as_str() {
        "string" => ElementType::String,
        "int" => ElementType::Int,
        "timestamp" => ElementType::Timestamp,
        "array<string>" => match &spec.item {
            Some(item) if is_xml_name(item) => {
                ElementType::List { item: item.clone(), comma_separated: spec.comma_separated }
            }
            Some(item) => {
                cx.err(
                    file,
                    format!("{path}.item"),
                    format!("`{item}` is not an element name (ASCII letters, digits, `_`)"),
                );
                return None;
            }
            None => {
                cx.err(file, format!("{path}.item"), "an array names its item elements (`item: Item`)");
                return None;
            }
        },
        other => {
            match enum_names.iter().position(|n| n == other) {
                Some(id) => ElementType::Enum(id),
                None => {
                    let hint = super::closest(other, &enum_names.iter().map(String::as_str).collect::<Vec<_>>())
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    cx.err(
                    file,
                    format!("{path}.type"),
                    format!("unknown element type `{other}`: string, int, timestamp, array<string> or an event enum{hint}"),
                );
                    return None;
                }
            }
        }
    };
    let is_list = matches!(ty, ElementType::List { .. });
    if !is_list && (spec.item.is_some() || spec.comma_separated) {
        cx.err(file, path, "`item` and `comma_separated` belong to arrays");
    }
    if spec.default.is_some() && ty != ElementType::String {
        cx.err(file, format!("{path}.default"), "only string elements have a default");
    }
    Some(XmlElement {
        xml_name: spec.name.clone(),
        field,
        ty,
        required: spec.required,
        default: spec.default.clone(),
        doc: spec.doc.clone(),
    })
}

/// Checks an element name and claims its JSON key; returns the key (also its Rust field name).
fn element_name(
    cx: &mut Checker,
    file: &str,
    path: &str,
    name: &str,
    keys: &mut BTreeMap<String, String>,
) -> Option<String> {
    if !is_xml_name(name) {
        cx.err(file, path, format!("`{name}` is not an element name (ASCII letters, digits and `_`, a letter first)"));
        return None;
    }
    let key = name.to_snake_case();
    if !is_field_name(&key) || RESERVED_FIELDS.contains(&key.as_str()) {
        cx.err(file, path, format!("`{name}` would be the field `{key}`, which Rust or the generated code reserves"));
        return None;
    }
    if let Some(other) = keys.insert(key.clone(), path.to_string()) {
        cx.err(file, path, format!("`{name}` has the same snake_case `{key}` as {other}"));
        return None;
    }
    Some(key)
}

fn is_xml_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn event_enum(cx: &mut Checker, file: &str, path: &str, spec: &crate::spec::EventEnumSpec) -> EventEnum {
    let strings = matches!(spec.values.first().map(|v| &v.value), Some(ScalarSpec::Str(_)));
    let mut values: Vec<EventEnumValue> = Vec::new();
    for (i, v) in spec.values.iter().enumerate() {
        let vpath = format!("{path}.values[{i}]");
        let wire = match (&v.value, strings) {
            (ScalarSpec::Str(s), true) => s.clone(),
            (ScalarSpec::Int(n), false) => n.to_string(),
            _ => {
                cx.err(file, format!("{vpath}.value"), "the values of one enum are all integers or all strings");
                continue;
            }
        };
        if let Err(problem) = type_name_problem(&v.name) {
            cx.err(file, format!("{vpath}.name"), format!("variant name `{}` {problem}", v.name));
        } else if v.name == "Unknown" {
            cx.err(file, format!("{vpath}.name"), "`Unknown` is the variant of values the spec does not list");
        }
        if values.iter().any(|o| o.name == v.name) {
            cx.err(file, format!("{vpath}.name"), format!("variant `{}` is declared twice", v.name));
        }
        if values.iter().any(|o| o.wire == wire) {
            cx.err(file, format!("{vpath}.value"), format!("value `{wire}` is declared twice"));
        }
        values.push(EventEnumValue { wire, name: v.name.clone(), doc: v.doc.clone() });
    }
    if spec.values.is_empty() {
        cx.err(file, format!("{path}.values"), "an enum lists at least one value");
    }
    EventEnum { name: spec.name.clone(), doc: spec.doc.clone(), strings, values }
}
