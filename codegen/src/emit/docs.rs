//! Doc-comment helpers: spec text → `#[doc = "..."]` attributes that `prettyplease` prints as `///` lines.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Api, Constraints, DefaultValue, Field};

/// One `#[doc]` attribute per line of `text`. Outside ``` fences, leading indentation is dropped so that
/// rustdoc never takes a line for an indented code block, and bare URLs are wrapped in `<…>` so they
/// render as links; inside fences, lines are kept as written.
pub fn doc_attrs(text: &str) -> TokenStream {
    let mut out = TokenStream::new();
    let mut in_code = false;
    // A lone `\r` ends a line too: left inside one, it would be a bare CR in a doc comment, which rustc refuses.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    for raw in text.trim().lines() {
        let fence = raw.trim_start().starts_with("```");
        let line = if in_code && !fence {
            // Code keeps its indentation and its URLs as written.
            format!(" {}", raw.trim_end())
        } else {
            let line = raw.trim();
            if line.is_empty() { String::new() } else { format!(" {}", link_urls(line)) }
        };
        if fence {
            in_code = !in_code;
        }
        let line = if line.trim().is_empty() { String::new() } else { line };
        out.extend(quote! { #[doc = #line] });
    }
    out
}

/// Doc attributes from several paragraphs, separated by blank doc lines.
pub fn doc_paragraphs(paragraphs: &[String]) -> TokenStream {
    let text: Vec<&str> = paragraphs.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
    doc_attrs(&text.join("\n\n"))
}

fn link_urls(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("http://").or_else(|| rest.find("https://")) {
        let (before, from) = rest.split_at(start);
        let already_linked = before.ends_with('<') || before.ends_with('(');
        let end = from.find(|c: char| c.is_whitespace() || c == ')' || c == '>').unwrap_or(from.len());
        out.push_str(before);
        if already_linked {
            out.push_str(&from[..end]);
        } else {
            out.push('<');
            out.push_str(&from[..end]);
            out.push('>');
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

/// The doc text of a field: the spec's text, then its limits and server default.
pub fn field_doc(api: &Api, field: &Field) -> String {
    let mut parts = vec![field.doc.clone()];
    let limits = describe_constraints(api, &field.constraints);
    if !limits.is_empty() {
        parts.push(format!("Limits: {}.", limits.join("; ")));
    }
    if let Some(d) = &field.default {
        let shown = match d {
            DefaultValue::Int(v) => v.to_string(),
            DefaultValue::Bool(v) => v.to_string(),
            DefaultValue::String(v) => format!("{v:?}"),
            DefaultValue::Enum { ty, variant, value } => format!("`{}::{variant}` ({value})", api.enum_(*ty).name),
        };
        parts.push(format!("Server default when left out: {shown}."));
    }
    parts.join("\n\n")
}

/// Human sentences for a field's limits, e.g. `1 to 100 items`.
pub fn describe_constraints(api: &Api, c: &Constraints) -> Vec<String> {
    let mut out = Vec::new();
    let code = |e: Option<i64>| e.map(|e| format!(" (server answers {e})")).unwrap_or_default();
    match (c.min_items, c.max_items) {
        (Some(lo), Some(hi)) => {
            out.push(format!("{} to {} items{}", lo.value, hi.value, code(hi.errcode.or(lo.errcode))))
        }
        (Some(lo), None) => out.push(format!("at least {} items{}", lo.value, code(lo.errcode))),
        (None, Some(hi)) => out.push(format!("at most {} items{}", hi.value, code(hi.errcode))),
        (None, None) => {}
    }
    match (c.min, c.max) {
        (Some(lo), Some(hi)) => out.push(format!("{} to {}{}", lo.value, hi.value, code(hi.errcode.or(lo.errcode)))),
        (Some(lo), None) => out.push(format!("at least {}{}", lo.value, code(lo.errcode))),
        (None, Some(hi)) => out.push(format!("at most {}{}", hi.value, code(hi.errcode))),
        (None, None) => {}
    }
    match (c.min_chars, c.max_chars) {
        (Some(lo), Some(hi)) => out.push(format!("{} to {} characters{}", lo.value, hi.value, code(hi.errcode))),
        (Some(lo), None) if lo.value == 1 => out.push("not empty".to_string()),
        (Some(lo), None) => out.push(format!("at least {} characters{}", lo.value, code(lo.errcode))),
        (None, Some(hi)) => out.push(format!("at most {} characters{}", hi.value, code(hi.errcode))),
        (None, None) => {}
    }
    if let Some(t) = c.truncated_chars {
        out.push(format!("the server cuts it to {t} characters"));
    }
    if let Some(d) = c.days_ago {
        let newest = match d.min {
            0 => "today".to_string(),
            1 => "yesterday".to_string(),
            n => format!("{n} days ago"),
        };
        let zone = super::tokens::utc_offset(api);
        out.push(format!("a day from {newest} back to {} days ago ({zone}){}", d.max, code(d.errcode)));
    }
    if let Some(each) = &c.each {
        for item in describe_constraints(api, each) {
            out.push(format!("each item {item}"));
        }
    }
    out
}

/// The English part of a spec text written `中文 — English` (the whole text when it has no such part).
pub fn english(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.rsplit_once(" — ").map_or(text.clone(), |(_, en)| en.to_string())
}
