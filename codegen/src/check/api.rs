//! `api.yaml` (metadata shared by every endpoint) and `errors.yaml` (the error-code table).

use std::collections::HashMap;

use heck::ToShoutySnakeCase;

use super::Checker;
use crate::model::{ErrorCode, Fact, RateLimit};
use crate::spec::{ApiFile, ErrorsFile, FactSpec, Located};

/// What `api.yaml` says, checked.
pub(super) struct Meta {
    pub(super) name: String,
    pub(super) title: String,
    pub(super) base_url: String,
    pub(super) token_query_param: String,
    pub(super) envelope_code: String,
    pub(super) envelope_message: String,
    pub(super) rate_limit: RateLimit,
    pub(super) day_utc_offset_hours: i64,
    pub(super) facts: Vec<Fact>,
}

/// Documented numbers: names snake_case and unique, docs present.
pub(super) fn check_facts(cx: &mut Checker, file: &str, at: &str, facts: &[FactSpec]) -> Vec<Fact> {
    let mut seen = HashMap::new();
    facts
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if !super::is_snake_case(&f.name) {
                cx.err(file, format!("{at}[{i}].name"), format!("`{}` is not a snake_case name", f.name));
            }
            if let Some(prev) = seen.insert(f.name.clone(), i) {
                cx.err(file, format!("{at}[{i}].name"), format!("duplicate fact `{}` (also {at}[{prev}])", f.name));
            }
            if f.doc.trim().is_empty() {
                cx.err(file, format!("{at}[{i}].doc"), "every fact needs doc text");
            }
            Fact { name: f.name.to_shouty_snake_case(), value: f.value, doc: f.doc.trim().to_string() }
        })
        .collect()
}

pub(super) fn check_api(cx: &mut Checker, file: &Located<ApiFile>) -> Meta {
    let (f, a) = (&file.file, &file.value);
    if !(a.base_url.starts_with("https://") || a.base_url.starts_with("http://")) {
        cx.err(f, "base_url", format!("`{}` is not an http(s) URL", a.base_url));
    }
    if !a.auth.token_endpoint.path.starts_with('/') {
        cx.err(f, "auth.token_endpoint.path", "a path must start with `/`");
    }
    if !super::is_snake_case(&a.auth.token_endpoint.name) {
        cx.err(f, "auth.token_endpoint.name", format!("`{}` is not a snake_case name", a.auth.token_endpoint.name));
    }
    if a.auth.query_param.is_empty() {
        cx.err(f, "auth.query_param", "must not be empty");
    }
    if a.envelope.code.is_empty() || a.envelope.message.is_empty() || a.envelope.code == a.envelope.message {
        cx.err(f, "envelope", "`code` and `message` must be two different, non-empty field names");
    }
    for (key, name) in [("code", &a.envelope.code), ("message", &a.envelope.message)] {
        // They become fields of every response type.
        if !name.is_empty() && (!super::is_field_name(name) || super::RESERVED_FIELDS.contains(&name.as_str())) {
            cx.err(
                f,
                format!("envelope.{key}"),
                format!(
                    "`{name}` is not usable as a Rust field name (snake_case, not a keyword, not `extra` or `new`)"
                ),
            );
        }
    }
    if a.rate_limit.per_minute == 0 || a.rate_limit.per_hour == 0 {
        cx.err(f, "rate_limit", "limits must be positive");
    }
    if !(-12..=14).contains(&a.day_utc_offset_hours) {
        cx.err(f, "day_utc_offset_hours", format!("{} is not a UTC offset", a.day_utc_offset_hours));
    }
    Meta {
        name: a.name.clone(),
        title: a.title.clone(),
        base_url: a.base_url.trim_end_matches('/').to_string(),
        token_query_param: a.auth.query_param.clone(),
        envelope_code: a.envelope.code.clone(),
        envelope_message: a.envelope.message.clone(),
        rate_limit: a.rate_limit,
        day_utc_offset_hours: a.day_utc_offset_hours,
        facts: check_facts(cx, f, "facts", &a.facts),
    }
}

/// The error table, sorted by code: codes and names unique, names SHOUTY_SNAKE, texts present.
pub(super) fn check_errors(cx: &mut Checker, file: &Located<ErrorsFile>) -> Vec<ErrorCode> {
    let mut codes = HashMap::new();
    let mut names = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in file.value.errors.iter().enumerate() {
        if let Some(prev) = codes.insert(e.code, i) {
            cx.err(
                &file.file,
                format!("errors[{i}].code"),
                format!("duplicate error code {} (also errors[{prev}])", e.code),
            );
        }
        if e.name.is_empty()
            || e.name.to_shouty_snake_case() != e.name
            || e.name.starts_with(|c: char| c.is_ascii_digit())
        {
            cx.err(&file.file, format!("errors[{i}].name"), format!("`{}` must be a SHOUTY_SNAKE_CASE name", e.name));
        }
        if let Some(prev) = names.insert(e.name.clone(), i) {
            cx.err(
                &file.file,
                format!("errors[{i}].name"),
                format!("duplicate error name `{}` (also errors[{prev}])", e.name),
            );
        }
        if e.zh.trim().is_empty() || e.en.trim().is_empty() {
            cx.err(&file.file, format!("errors[{i}]"), "`zh` and `en` must not be empty");
        }
        out.push(ErrorCode {
            code: e.code,
            name: e.name.clone(),
            zh: e.zh.clone(),
            en: e.en.clone(),
            errmsg: e.errmsg.clone(),
            retry: e.retry,
        });
    }
    out.sort_by_key(|e| e.code);
    out
}
