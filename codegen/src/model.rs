//! The intermediate model the emitters read: a checked spec with every name decided and every reference
//! resolved to an id. Types point at structs and enums by [`StructId`] and [`EnumId`], annotations and rules
//! point at fields by [`FieldId`]; looking one up cannot miss, so no emitter looks anything up by name.
//!
//! Only [`crate::check`] builds it; emitters read it and never the raw spec.

pub use crate::spec::{
    CryptoSpec as CallbackCrypto, ErrorRetrySpec as ErrorRetry, HttpMethod, RateLimitSpec as RateLimit,
    RetrySpec as Retry,
};

/// A struct of [`Api::structs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StructId(pub usize);

/// An enum of [`Api::enums`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnumId(pub usize);

/// A field: the struct it belongs to and its position there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId {
    /// The struct.
    pub owner: StructId,
    /// Position in the struct's fields.
    pub index: usize,
}

/// The whole API.
#[derive(Debug, Clone)]
pub struct Api {
    /// Machine name.
    pub name: String,
    /// Human title.
    pub title: String,
    /// Production base URL.
    pub base_url: String,
    /// Query parameter carrying the access token on business calls.
    pub token_query_param: String,
    /// The endpoint that issues tokens (`gettoken`).
    pub token: TokenEndpoint,
    /// Name of the error code field of every response.
    pub envelope_code: String,
    /// Name of the error message field of every response.
    pub envelope_message: String,
    /// Default per-endpoint rate limit.
    pub rate_limit: RateLimit,
    /// UTC offset of `day` boundaries, in hours.
    pub day_utc_offset_hours: i64,
    /// Documented numbers of the whole API that belong to no field.
    pub facts: Vec<Fact>,
    /// Every enum, shared ones first, then per endpoint in endpoint order.
    pub enums: Vec<Enum>,
    /// Every struct: shared ones first, then the token endpoint's, then per endpoint its request, response
    /// and local structs.
    pub structs: Vec<Struct>,
    /// Endpoints, sorted by name.
    pub endpoints: Vec<Endpoint>,
    /// Error codes, sorted by code.
    pub errors: Vec<ErrorCode>,
    /// Callback forms and typed events.
    pub events: Events,
}

impl Api {
    /// A struct by id.
    pub fn struct_(&self, id: StructId) -> &Struct {
        &self.structs[id.0]
    }

    /// An enum by id.
    pub fn enum_(&self, id: EnumId) -> &Enum {
        &self.enums[id.0]
    }

    /// A field by id.
    pub fn field(&self, id: FieldId) -> &Field {
        &self.struct_(id.owner).fields[id.index]
    }

    /// The endpoint with this name.
    pub fn endpoint_named(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The ids of every struct, in order.
    pub fn struct_ids(&self) -> impl Iterator<Item = StructId> + '_ {
        (0..self.structs.len()).map(StructId)
    }

    /// The Rust name of a type (for messages and docs), e.g. `Vec<FailedChat>`.
    pub fn type_name(&self, ty: &Type) -> String {
        match ty {
            Type::String => "String".into(),
            Type::Int | Type::Timestamp | Type::Day => "i64".into(),
            Type::Bool => "bool".into(),
            Type::Struct(id) => self.struct_(*id).name.clone(),
            Type::Enum(id) => self.enum_(*id).name.clone(),
            Type::Array(inner) => format!("Vec<{}>", self.type_name(inner)),
        }
    }

    /// How a type is written in the spec (for messages), e.g. `array<FailedChat>`.
    pub fn spec_type_name(&self, ty: &Type) -> String {
        ty.spec_name(&|id| self.struct_(id).name.clone(), &|id| self.enum_(id).name.clone())
    }
}

/// `gettoken`: its query parameters and its answer, as types.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    /// Name (`gettoken`), as counters and faults know it.
    pub name: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path below the base URL.
    pub path: String,
    /// Official documentation.
    pub doc_url: String,
    /// The query parameters, as a struct.
    pub query: StructId,
    /// The answer, as a response struct (with the envelope).
    pub response: StructId,
    /// The query parameter holding the corp id, and the one holding the secret.
    pub corp_id_param: FieldId,
    /// The query parameter holding the secret.
    pub secret_param: FieldId,
    /// The answer's token field.
    pub token_field: FieldId,
    /// The answer's lifetime field (seconds).
    pub expires_in_field: FieldId,
}

/// Where a type travels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Reachable from some request.
    pub request: bool,
    /// Reachable from some response.
    pub response: bool,
}

/// Which endpoint, if any, a type belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Declared in `types.yaml` or `api.yaml`.
    Shared,
    /// Declared in, or generated for, this endpoint.
    Endpoint(String),
}

/// What role a struct plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructRole {
    /// A nested object type.
    Object,
    /// The request body (or query) of an endpoint.
    Request,
    /// The response body of an endpoint (it carries the envelope).
    Response,
}

/// An enumeration of integers that keeps unknown values.
#[derive(Debug, Clone)]
pub struct Enum {
    /// Rust name.
    pub name: String,
    /// Doc text.
    pub doc: String,
    /// Documented values.
    pub values: Vec<EnumValue>,
    /// Declaring file.
    pub owner: Owner,
    /// Where it travels.
    pub usage: Usage,
}

/// One documented enum value.
#[derive(Debug, Clone)]
pub struct EnumValue {
    /// Wire value.
    pub value: i64,
    /// Rust variant name.
    pub name: String,
    /// Meaning.
    pub doc: String,
}

/// A JSON object type.
#[derive(Debug, Clone)]
pub struct Struct {
    /// Rust name.
    pub name: String,
    /// Doc text.
    pub doc: String,
    /// Fields in wire order (included ones in place of their `include`).
    pub fields: Vec<Field>,
    /// Rules over several fields.
    pub rules: Vec<Rule>,
    /// Declaring file.
    pub owner: Owner,
    /// Role.
    pub role: StructRole,
    /// Where it travels.
    pub usage: Usage,
    /// Structs whose fields this one includes, with which of its fields came from each.
    pub includes: Vec<Include>,
    /// Whether some struct includes this one: it is then generated as a set of optional fields (every field
    /// an `Option`), with a `…Field` enum and merge helpers, the glue between its includers.
    pub included: bool,
}

impl Struct {
    /// The field with this JSON name.
    pub fn field(&self, json_name: &str) -> Option<(usize, &Field)> {
        self.fields.iter().enumerate().find(|(_, f)| f.json_name == json_name)
    }

    /// Whether the struct keeps fields the spec does not list (it travels in answers).
    pub fn keeps_unknown_fields(&self) -> bool {
        self.usage.response && !self.included
    }
}

/// The fields a struct took from another.
#[derive(Debug, Clone)]
pub struct Include {
    /// The included struct.
    pub from: StructId,
    /// Position in the includer of each field of `from`, in `from`'s order.
    pub fields: Vec<usize>,
}

/// A field.
#[derive(Debug, Clone)]
pub struct Field {
    /// JSON name.
    pub json_name: String,
    /// Rust name.
    pub rust_name: String,
    /// Resolved type.
    pub ty: Type,
    /// Requests: mandatory. Responses: always present.
    pub required: bool,
    /// Server-side default when left out.
    pub default: Option<DefaultValue>,
    /// Doc text.
    pub doc: String,
    /// Documented limits.
    pub constraints: Constraints,
    /// The value is a secret (the corp secret, a token): never shown by `Debug`.
    pub secret: bool,
}

/// A resolved type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// UTF-8 text.
    String,
    /// A JSON integer (`i64`).
    Int,
    /// A JSON boolean.
    Bool,
    /// Unix seconds.
    Timestamp,
    /// Unix seconds of a day's 00:00 in the API's day time zone.
    Day,
    /// A struct.
    Struct(StructId),
    /// An enum.
    Enum(EnumId),
    /// A JSON array.
    Array(Box<Type>),
}

impl Type {
    /// How the type is written in the spec, the names of structs and enums given by the caller (a checker
    /// knows them before the model exists).
    pub fn spec_name(&self, struct_name: &dyn Fn(StructId) -> String, enum_name: &dyn Fn(EnumId) -> String) -> String {
        match self {
            Type::String => "string".into(),
            Type::Int => "int".into(),
            Type::Bool => "bool".into(),
            Type::Timestamp => "timestamp".into(),
            Type::Day => "day".into(),
            Type::Struct(id) => struct_name(*id),
            Type::Enum(id) => enum_name(*id),
            Type::Array(inner) => format!("array<{}>", inner.spec_name(struct_name, enum_name)),
        }
    }
}

impl Type {
    /// Integers of any flavour (`int`, `timestamp`, `day`).
    pub fn is_integer(&self) -> bool {
        matches!(self, Type::Int | Type::Timestamp | Type::Day)
    }

    /// The item type of an array; the type itself otherwise.
    pub fn item(&self) -> &Type {
        match self {
            Type::Array(inner) => inner,
            other => other,
        }
    }
}

/// A server-side default value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultValue {
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A string.
    String(String),
    /// An enum variant.
    Enum {
        /// The enum.
        ty: EnumId,
        /// Variant name.
        variant: String,
        /// Wire value.
        value: i64,
    },
}

/// A limit with the errcode the server answers when it is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The limit.
    pub value: i64,
    /// Server errcode, if documented.
    pub errcode: Option<i64>,
}

/// Allowed distance of a day from today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaysAgo {
    /// Most recent allowed day (0 = today).
    pub min: i64,
    /// Oldest allowed day.
    pub max: i64,
    /// Server errcode, if documented.
    pub errcode: Option<i64>,
}

/// The checked limits of a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Fewest array items.
    pub min_items: Option<Limit>,
    /// Most array items.
    pub max_items: Option<Limit>,
    /// Smallest integer.
    pub min: Option<Limit>,
    /// Largest integer.
    pub max: Option<Limit>,
    /// Fewest characters.
    pub min_chars: Option<Limit>,
    /// Most characters.
    pub max_chars: Option<Limit>,
    /// Server-side truncation length (documentation, and what the simulator does).
    pub truncated_chars: Option<i64>,
    /// Allowed days before today.
    pub days_ago: Option<DaysAgo>,
    /// Limits of each array item.
    pub each: Option<Box<Constraints>>,
}

impl Constraints {
    /// Whether any limit produces a validation check.
    pub fn has_checks(&self) -> bool {
        self.min_items.is_some()
            || self.max_items.is_some()
            || self.min.is_some()
            || self.max.is_some()
            || self.min_chars.is_some()
            || self.max_chars.is_some()
            || self.days_ago.is_some()
            || self.each.as_ref().is_some_and(|c| c.has_checks())
    }
}

/// A rule over several fields of one struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `[begin, end]` (end defaulting to begin) at most `max_days` days long. Both are `day` fields of the
    /// struct; `begin` is required.
    DaySpan {
        /// First-day field.
        begin: FieldId,
        /// Last-day field (its `required` says whether it may be left out).
        end: FieldId,
        /// Longest span, both ends included.
        max_days: i64,
        /// Server errcode, if documented.
        errcode: Option<i64>,
    },
}

/// Paging of an endpoint.
#[derive(Debug, Clone)]
pub enum Paging {
    /// Cursor paging.
    Cursor {
        /// Request cursor field.
        cursor: FieldId,
        /// Response next-cursor field.
        next: FieldId,
        /// Response items array.
        items: FieldId,
    },
    /// Offset paging.
    Offset {
        /// Request offset field.
        offset: FieldId,
        /// Response next-offset field.
        next: FieldId,
        /// Response total field.
        total: FieldId,
        /// Response items array.
        items: FieldId,
        /// Request page-size field (its default, if any, is the page size when left out).
        limit: Option<FieldId>,
    },
}

/// Batching of an id list.
#[derive(Debug, Clone)]
pub struct Bulk {
    /// Request array that is split.
    pub split: FieldId,
    /// Largest batch (the array's `max_items`).
    pub batch_size: i64,
    /// Response array of failures.
    pub failures: FieldId,
    /// Field of a failure naming the item.
    pub key: FieldId,
    /// Field of a failure holding its errcode.
    pub failure_code: FieldId,
    /// Field of a failure holding its errmsg.
    pub failure_message: FieldId,
}

/// Splitting of day ranges and owner lists.
#[derive(Debug, Clone)]
pub struct Windows {
    /// Request first-day field.
    pub begin: FieldId,
    /// Request last-day field.
    pub end: FieldId,
    /// Longest window, in days.
    pub max_days: i64,
    /// Oldest allowed day (days before today).
    pub oldest_days_ago: i64,
    /// Most recent allowed day (days before today).
    pub newest_days_ago: i64,
    /// The errcode WeCom answers for a day outside the allowed ones or a span too long.
    pub days_errcode: Option<i64>,
    /// The owners filter field of the request (may be optional: all owners in the app's view).
    pub owners_parent: FieldId,
    /// The struct of the owners filter.
    pub owners_filter: StructId,
    /// The owners array inside the filter struct.
    pub owners: FieldId,
    /// Largest owner batch.
    pub owner_batch: i64,
    /// Response items array.
    pub items: FieldId,
}

/// How the simulator answers an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulated {
    /// By a handler written for it (the simulator does not compile without one).
    Handler,
    /// With the endpoint's first documented example answer, once the request is valid.
    Example,
}

/// An endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// snake_case name.
    pub name: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path.
    pub path: String,
    /// Chinese title.
    pub summary: String,
    /// English summary.
    pub summary_en: String,
    /// Description.
    pub description: String,
    /// Documentation URL.
    pub doc_url: String,
    /// Retry class.
    pub retry: Retry,
    /// Paging.
    pub paging: Option<Paging>,
    /// Batching.
    pub bulk: Option<Bulk>,
    /// Windowing.
    pub windows: Option<Windows>,
    /// Rate limit.
    pub rate_limit: RateLimit,
    /// Request struct.
    pub request: StructId,
    /// Response struct.
    pub response: StructId,
    /// How the simulator answers it.
    pub simulated: Simulated,
    /// Documented numbers of the endpoint that belong to no field.
    pub facts: Vec<Fact>,
    /// Examples.
    pub examples: Vec<Example>,
    /// File the endpoint came from.
    pub file: String,
}

/// A documented example exchange, parsed.
#[derive(Debug, Clone)]
pub struct Example {
    /// Where it comes from.
    pub name: Option<String>,
    /// Request body.
    pub request: Option<serde_json::Value>,
    /// Response body.
    pub response: Option<serde_json::Value>,
}

/// A documented number that belongs to no field (a quota, a threshold).
#[derive(Debug, Clone)]
pub struct Fact {
    /// SHOUTY_SNAKE name of its constant.
    pub name: String,
    /// The number.
    pub value: i64,
    /// What it is.
    pub doc: String,
}

/// An error code.
#[derive(Debug, Clone)]
pub struct ErrorCode {
    /// The errcode.
    pub code: i64,
    /// SHOUTY_SNAKE name of its constant (`API_FREQ_OUT_OF_LIMIT`).
    pub name: String,
    /// Official Chinese text.
    pub zh: String,
    /// English gloss.
    pub en: String,
    /// The `errmsg` the server sends, where the docs show one.
    pub errmsg: Option<String>,
    /// What a client should do.
    pub retry: ErrorRetry,
}

/// A readable outline of the model — every type with its fields and where they travel, every endpoint with
/// its annotations, by name — for snapshot review of what the checker resolved.
pub fn summary(api: &Api) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let field = |id: FieldId| {
        let f = api.field(id);
        format!("{}.{}", api.struct_(id.owner).name, f.json_name)
    };
    let _ = writeln!(
        out,
        "token endpoint {} {} {}",
        api.token.name,
        match api.token.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        },
        api.token.path
    );
    let _ = writeln!(
        out,
        "  roles: corp_id={} secret={} token={} expires_in={}",
        field(api.token.corp_id_param),
        field(api.token.secret_param),
        field(api.token.token_field),
        field(api.token.expires_in_field)
    );
    for e in &api.enums {
        let values: Vec<String> = e.values.iter().map(|v| format!("{}={}", v.name, v.value)).collect();
        let _ = writeln!(out, "enum {} [{}] {:?}", e.name, values.join(" "), e.usage);
    }
    for s in &api.structs {
        let mut flags = vec![format!("{:?}", s.role)];
        if s.included {
            flags.push("included".into());
        }
        let _ = writeln!(out, "struct {} ({}) {:?}", s.name, flags.join(", "), s.usage);
        for inc in &s.includes {
            let _ = writeln!(out, "  include {} -> fields {:?}", api.struct_(inc.from).name, inc.fields);
        }
        for f in &s.fields {
            let mut marks = Vec::new();
            if f.required {
                marks.push("required".to_string());
            }
            if f.secret {
                marks.push("secret".to_string());
            }
            marks.extend(constraint_marks(&f.constraints, ""));
            let _ = writeln!(out, "  {}: {} {}", f.json_name, api.spec_type_name(&f.ty), marks.join(" "));
        }
        for rule in &s.rules {
            let Rule::DaySpan { begin, end, max_days, errcode } = rule;
            let _ =
                writeln!(out, "  rule day_span {}..{} max {max_days} errcode {errcode:?}", field(*begin), field(*end));
        }
    }
    for ep in &api.endpoints {
        let _ = writeln!(
            out,
            "endpoint {} {:?} {} -> {} ({:?}, simulated by {:?})",
            ep.name,
            ep.retry,
            api.struct_(ep.request).name,
            api.struct_(ep.response).name,
            ep.rate_limit,
            ep.simulated
        );
        match &ep.paging {
            Some(Paging::Cursor { cursor, next, items }) => {
                let _ =
                    writeln!(out, "  paging cursor {} next {} items {}", field(*cursor), field(*next), field(*items));
            }
            Some(Paging::Offset { offset, next, total, items, limit }) => {
                let _ = writeln!(
                    out,
                    "  paging offset {} next {} total {} items {} limit {:?}",
                    field(*offset),
                    field(*next),
                    field(*total),
                    field(*items),
                    limit.map(field)
                );
            }
            None => {}
        }
        if let Some(b) = &ep.bulk {
            let _ = writeln!(
                out,
                "  bulk split {} by {} failures {} key {}",
                field(b.split),
                b.batch_size,
                field(b.failures),
                field(b.key)
            );
        }
        if let Some(w) = &ep.windows {
            let _ = writeln!(
                out,
                "  windows {}..{} max {} days {}..{} ago errcode {:?} owners {} in {} by {} items {}",
                field(w.begin),
                field(w.end),
                w.max_days,
                w.newest_days_ago,
                w.oldest_days_ago,
                w.days_errcode,
                field(w.owners),
                field(w.owners_parent),
                w.owner_batch,
                field(w.items)
            );
        }
        let _ = writeln!(out, "  examples {}", ep.examples.len());
    }
    for e in &api.errors {
        let _ = writeln!(out, "error {} {} {:?}", e.code, e.name, e.retry);
    }
    out
}

/// `max_items=5(41091)`-style marks of a field's limits, for [`summary`].
fn constraint_marks(c: &Constraints, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut limit = |key: &str, l: Option<Limit>| {
        if let Some(l) = l {
            let code = l.errcode.map(|c| format!("({c})")).unwrap_or_default();
            out.push(format!("{prefix}{key}={}{code}", l.value));
        }
    };
    limit("min_items", c.min_items);
    limit("max_items", c.max_items);
    limit("min", c.min);
    limit("max", c.max);
    limit("min_chars", c.min_chars);
    limit("max_chars", c.max_chars);
    if let Some(t) = c.truncated_chars {
        out.push(format!("{prefix}truncated_chars={t}"));
    }
    if let Some(d) = c.days_ago {
        let code = d.errcode.map(|c| format!("({c})")).unwrap_or_default();
        out.push(format!("{prefix}days_ago={}..{}{code}", d.min, d.max));
    }
    if let Some(each) = &c.each {
        out.extend(constraint_marks(each, &format!("{prefix}each.")));
    }
    out
}

/// The callbacks: the forms a decrypted message comes in, and the typed events.
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// WXBizMsgCrypt's key and padding, and the names on the wire around a sealed message (none without
    /// `callbacks.yaml`).
    pub crypto: Option<CallbackCrypto>,
    /// The forms, in the order a message is tried against them.
    pub forms: Vec<CallbackForm>,
    /// The events' enumerations, in declaration order (events by name).
    pub enums: Vec<EventEnum>,
    /// The events, sorted by name.
    pub events: Vec<EventType>,
}

/// One form of callback message: a header struct and the element naming the event.
#[derive(Debug, Clone)]
pub struct CallbackForm {
    /// snake_case name (`third_party`).
    pub name: String,
    /// Header struct name (`ThirdPartyHeader`).
    pub struct_name: String,
    /// Variant of `Header` (`ThirdParty`).
    pub variant: String,
    /// Doc text.
    pub doc: String,
    /// The element naming the event (`InfoType`).
    pub kind: String,
    /// Its doc text.
    pub kind_doc: String,
    /// The header elements.
    pub elements: Vec<XmlElement>,
    /// The body a callback of this form is answered with.
    pub reply: String,
}

/// One element of a header or an event, resolved.
#[derive(Debug, Clone)]
pub struct XmlElement {
    /// XML name (`MemChangeList`).
    pub xml_name: String,
    /// Rust field and JSON key (`mem_change_list`).
    pub field: String,
    /// Its type.
    pub ty: ElementType,
    /// Whether every message has it.
    pub required: bool,
    /// The value builders fill in.
    pub default: Option<String>,
    /// Doc text.
    pub doc: String,
}

/// The type of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementType {
    /// Text.
    String,
    /// An integer.
    Int,
    /// Unix seconds.
    Timestamp,
    /// An event enumeration, by index into [`Events::enums`].
    Enum(usize),
    /// A list of strings: `item` children, or a comma-separated text when allowed.
    List {
        /// Name of the item elements.
        item: String,
        /// Whether a comma-separated text is accepted.
        comma_separated: bool,
    },
}

/// An open enumeration of an event element.
#[derive(Debug, Clone)]
pub struct EventEnum {
    /// Rust name.
    pub name: String,
    /// Doc text.
    pub doc: String,
    /// Whether the values are strings (else integers).
    pub strings: bool,
    /// The documented values.
    pub values: Vec<EventEnumValue>,
}

/// One value of an event enumeration.
#[derive(Debug, Clone)]
pub struct EventEnumValue {
    /// The value as written in the XML.
    pub wire: String,
    /// Rust variant name.
    pub name: String,
    /// What it means.
    pub doc: String,
}

/// One typed event.
#[derive(Debug, Clone)]
pub struct EventType {
    /// The name the kind element carries (`change_external_chat`).
    pub name: String,
    /// Rust name of its struct and of its `Event` variant (`ChangeExternalChat`).
    pub rust_name: String,
    /// One-line summary.
    pub title: String,
    /// Longer doc text.
    pub doc: String,
    /// Official documentation.
    pub doc_url: String,
    /// Indices into [`Events::forms`].
    pub forms: Vec<usize>,
    /// Its elements after the header.
    pub elements: Vec<XmlElement>,
    /// Documented messages.
    pub examples: Vec<EventExample>,
}

/// A documented message.
#[derive(Debug, Clone)]
pub struct EventExample {
    /// snake_case name.
    pub name: String,
    /// Where it comes from.
    pub doc: String,
    /// The decrypted XML.
    pub xml: String,
}
