//! The resolved intermediate model: names are Rust names, type references are resolved, constraints
//! are checked, and every struct knows whether it travels in requests, responses or both.
//!
//! Emitters read only this model, never the raw spec.

pub use crate::spec::{ErrorRetrySpec as ErrorRetry, HttpMethod, RateLimitSpec as RateLimit, RetrySpec as Retry};

/// The whole API.
#[derive(Debug, Clone)]
pub struct Api {
    /// Machine name.
    pub name: String,
    /// Human title.
    pub title: String,
    /// Production base URL.
    pub base_url: String,
    /// Query parameter carrying the access token.
    pub token_query_param: String,
    /// Token endpoint method.
    pub token_method: HttpMethod,
    /// Token endpoint path.
    pub token_path: String,
    /// Token endpoint documentation.
    pub token_doc_url: String,
    /// Name of the error code field of every response.
    pub envelope_code: String,
    /// Name of the error message field of every response.
    pub envelope_message: String,
    /// Default per-endpoint rate limit.
    pub rate_limit: RateLimit,
    /// UTC offset of `day` boundaries, in hours.
    pub day_utc_offset_hours: i64,
    /// Every enum, shared ones first, then per endpoint in endpoint order.
    pub enums: Vec<Enum>,
    /// Every struct: shared ones first, then per endpoint its request, response and local structs.
    pub structs: Vec<Struct>,
    /// Endpoints, sorted by name.
    pub endpoints: Vec<Endpoint>,
    /// Error codes, sorted by code.
    pub errors: Vec<ErrorCode>,
}

impl Api {
    /// The struct with this Rust name.
    pub fn struct_named(&self, name: &str) -> &Struct {
        self.structs.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no struct {name} in model"))
    }

    /// The enum with this Rust name.
    pub fn enum_named(&self, name: &str) -> &Enum {
        self.enums.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no enum {name} in model"))
    }

    /// The endpoint with this name.
    pub fn endpoint_named(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }
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
    /// Declared in `types.yaml`.
    Shared,
    /// Declared in, or generated for, this endpoint.
    Endpoint(String),
}

/// What role a struct plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructRole {
    /// A nested object type.
    Object,
    /// The request body of an endpoint.
    Request,
    /// The response body of an endpoint.
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
    /// Fields in wire order.
    pub fields: Vec<Field>,
    /// Rules over several fields.
    pub rules: Vec<Rule>,
    /// Declaring file.
    pub owner: Owner,
    /// Role.
    pub role: StructRole,
    /// Where it travels.
    pub usage: Usage,
}

impl Struct {
    /// The field with this JSON name.
    pub fn field(&self, json_name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.json_name == json_name)
    }
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
    /// A struct by Rust name.
    Struct(String),
    /// An enum by Rust name.
    Enum(String),
    /// A JSON array.
    Array(Box<Type>),
}

impl Type {
    /// How the type is written in the spec (for messages).
    pub fn spec_name(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Int => "int".into(),
            Type::Bool => "bool".into(),
            Type::Timestamp => "timestamp".into(),
            Type::Day => "day".into(),
            Type::Struct(n) | Type::Enum(n) => n.clone(),
            Type::Array(t) => format!("array<{}>", t.spec_name()),
        }
    }

    /// Integers of any flavour (`int`, `timestamp`, `day`).
    pub fn is_integer(&self) -> bool {
        matches!(self, Type::Int | Type::Timestamp | Type::Day)
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
        /// Enum name.
        ty: String,
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
    /// Server-side truncation length (documentation only).
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

/// A rule over several fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `[begin, end]` (end defaulting to begin) at most `max_days` days long.
    DaySpan {
        /// First-day field (Rust name, JSON name).
        begin: (String, String),
        /// Last-day field (Rust name, JSON name); optional on the wire.
        end: (String, String),
        /// Whether the last-day field is optional.
        end_optional: bool,
        /// Longest span, both ends included.
        max_days: i64,
        /// Server errcode, if documented.
        errcode: Option<i64>,
    },
}

/// A reference to a field of a request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// JSON name.
    pub json_name: String,
    /// Rust name.
    pub rust_name: String,
    /// Whether the field is an `Option`.
    pub optional: bool,
}

/// Paging of an endpoint.
#[derive(Debug, Clone)]
pub enum Paging {
    /// Cursor paging.
    Cursor {
        /// Request cursor field.
        cursor: FieldRef,
        /// Response next-cursor field.
        next: FieldRef,
        /// Response items array.
        items: FieldRef,
        /// Rust type of one item.
        item_type: Type,
    },
    /// Offset paging.
    Offset {
        /// Request offset field.
        offset: FieldRef,
        /// Response next-offset field.
        next: FieldRef,
        /// Response total field.
        total: FieldRef,
        /// Response items array.
        items: FieldRef,
        /// Rust type of one item.
        item_type: Type,
        /// Request page-size field and its documented default.
        limit: Option<(FieldRef, Option<i64>)>,
    },
}

/// Batching of an id list.
#[derive(Debug, Clone)]
pub struct Bulk {
    /// Request array that is split.
    pub split: FieldRef,
    /// Largest batch (the array's `max_items`).
    pub batch_size: i64,
    /// Response array of failures.
    pub failures: FieldRef,
    /// Struct of one failure.
    pub failure_type: String,
    /// Field of a failure naming the item.
    pub key: FieldRef,
    /// Field of a failure holding its errcode.
    pub failure_code: FieldRef,
    /// Field of a failure holding its errmsg.
    pub failure_message: FieldRef,
}

/// Splitting of day ranges and owner lists.
#[derive(Debug, Clone)]
pub struct Windows {
    /// Request first-day field.
    pub begin: FieldRef,
    /// Request last-day field.
    pub end: FieldRef,
    /// Longest window, in days.
    pub max_days: i64,
    /// Oldest allowed day (days before today).
    pub oldest_days_ago: i64,
    /// Most recent allowed day (days before today).
    pub newest_days_ago: i64,
    /// Path to the owners array: the struct field, then the array inside it.
    pub owners_parent: FieldRef,
    /// Struct of the owners filter.
    pub owners_struct: String,
    /// The owners array inside the filter struct.
    pub owners: FieldRef,
    /// Largest owner batch.
    pub owner_batch: i64,
    /// Response items array.
    pub items: FieldRef,
    /// Rust type of one item.
    pub item_type: Type,
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
    /// Request struct name.
    pub request: String,
    /// Response struct name.
    pub response: String,
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

/// An error code.
#[derive(Debug, Clone)]
pub struct ErrorCode {
    /// The errcode.
    pub code: i64,
    /// Official Chinese text.
    pub zh: String,
    /// English gloss.
    pub en: String,
    /// What a client should do.
    pub retry: ErrorRetry,
}
