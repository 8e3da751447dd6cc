//! The YAML spec as written: a plain `serde` model of the files under `api-spec/`.
//!
//! Layout of a spec directory:
//!
//! | file | holds |
//! |---|---|
//! | `api.yaml` | API metadata: base URL, token endpoint, response envelope, rate limits |
//! | `types.yaml` | structs and enums shared between endpoints |
//! | `errors.yaml` | the error-code table |
//! | `endpoints/<name>.yaml` | one endpoint each: path, docs, retry class, paging, fields, examples |
//! | `callbacks.yaml` | WXBizMsgCrypt's key length, padding and wire names; the forms of callback messages: their header elements, the element naming the event |
//! | `events/<name>.yaml` | one callback event each: its forms, enums, elements, examples |
//!
//! Nothing here is interpreted: names are not resolved and constraints are not checked. That is the job of
//! [`crate::check`], which turns a [`SpecFiles`] into the resolved [`crate::model::Api`].

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{SpecError, SpecErrors};

/// `api.yaml`: metadata shared by every endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFile {
    /// Short machine name of the API.
    pub name: String,
    /// Human title, used in generated module docs.
    pub title: String,
    /// Production base URL, e.g. `https://qyapi.weixin.qq.com`.
    pub base_url: String,
    /// How business calls are authenticated.
    pub auth: AuthSpec,
    /// Names of the status fields every response carries.
    pub envelope: EnvelopeSpec,
    /// Documented per-endpoint call-frequency limits.
    pub rate_limit: RateLimitSpec,
    /// UTC offset, in hours, of the day boundaries used by `day` fields.
    pub day_utc_offset_hours: i64,
    /// Documented numbers that belong to no field (a quota, a threshold).
    #[serde(default)]
    pub facts: Vec<FactSpec>,
}

/// A documented number that belongs to no field: a quota, a threshold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactSpec {
    /// snake_case name; its constant is the SHOUTY_SNAKE form.
    pub name: String,
    /// The number.
    pub value: i64,
    /// What it is (official Chinese text, then an English gloss).
    pub doc: String,
}

/// Access-token settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// Query parameter carrying the token on business calls.
    pub query_param: String,
    /// The endpoint that issues tokens.
    pub token_endpoint: TokenEndpointSpec,
}

/// The token endpoint (`gettoken`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEndpointSpec {
    /// Name, as counters and faults know it (`gettoken`).
    pub name: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path below the base URL.
    pub path: String,
    /// Official documentation.
    pub doc_url: String,
    /// The query parameters.
    pub query: MessageSpec,
    /// The answer (besides the envelope).
    pub response: MessageSpec,
    /// Which field is which, for the runtime.
    pub roles: TokenRolesSpec,
}

/// The fields of `gettoken` the runtime reads or fills, by JSON name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRolesSpec {
    /// Query parameter holding the corp id.
    pub corp_id: String,
    /// Query parameter holding the secret.
    pub secret: String,
    /// Answer field holding the token.
    pub token: String,
    /// Answer field holding its lifetime in seconds.
    pub expires_in: String,
}

/// Names of the two status fields of every response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSpec {
    /// The error code field (`errcode`), 0 on success.
    pub code: String,
    /// The error message field (`errmsg`).
    pub message: String,
}

/// Call-frequency limits.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// Calls per minute.
    pub per_minute: u32,
    /// Calls per hour.
    pub per_hour: u32,
}

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HttpMethod {
    /// `GET`
    #[serde(rename = "GET")]
    Get,
    /// `POST`
    #[serde(rename = "POST")]
    Post,
}

/// `types.yaml`, and the local type declarations of an endpoint file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypesFile {
    /// Enumerations.
    #[serde(default)]
    pub enums: Vec<EnumSpec>,
    /// Structs.
    #[serde(default)]
    pub structs: Vec<StructSpec>,
}

/// An enumeration of integer values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumSpec {
    /// Rust type name (UpperCamelCase).
    pub name: String,
    /// Doc text.
    pub doc: String,
    /// The documented values.
    pub values: Vec<EnumValueSpec>,
}

/// One documented value of an enumeration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValueSpec {
    /// The value on the wire.
    pub value: i64,
    /// Rust variant name (UpperCamelCase).
    pub name: String,
    /// What the value means.
    pub doc: String,
}

/// A JSON object type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructSpec {
    /// Rust type name (UpperCamelCase).
    pub name: String,
    /// Doc text.
    pub doc: String,
    /// Structs whose fields come first, as if written here.
    #[serde(default)]
    pub include: Vec<IncludeSpec>,
    /// Fields, in wire order.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// Rules that involve more than one field.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// The fields of another struct, taken as they are declared there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncludeSpec {
    /// The struct (declared in `types.yaml` or in the same file).
    #[serde(rename = "struct")]
    pub from: String,
    /// Every included field optional here (in answers, where the server may leave any out).
    #[serde(default)]
    pub optional: bool,
}

/// One field of a struct, request or response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// JSON name.
    pub name: String,
    /// Rust field name when the JSON name cannot be one (e.g. `type`).
    #[serde(default)]
    pub rust_name: Option<String>,
    /// Type expression: `string`, `int`, `bool`, `timestamp`, `day`, a type name, or `array<T>`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Requests: the caller must give it. Responses: the server always sends it.
    #[serde(default)]
    pub required: bool,
    /// The value the server assumes when the field is left out (documentation; never sent).
    #[serde(default)]
    pub default: Option<serde_yaml::Value>,
    /// Doc text (official Chinese text, then an English gloss).
    pub doc: String,
    /// Documented limits.
    #[serde(default)]
    pub constraints: ConstraintsSpec,
    /// The value is a secret (a corp secret, a token): never shown by `Debug`.
    #[serde(default)]
    pub secret: bool,
}

/// Documented limits of a field. Every limit can name the errcode WeCom answers when it is broken.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsSpec {
    /// Arrays: fewest items.
    #[serde(default)]
    pub min_items: Option<LimitSpec>,
    /// Arrays: most items.
    #[serde(default)]
    pub max_items: Option<LimitSpec>,
    /// Integers: smallest value.
    #[serde(default)]
    pub min: Option<LimitSpec>,
    /// Integers: largest value.
    #[serde(default)]
    pub max: Option<LimitSpec>,
    /// Strings: fewest characters (Unicode scalar values).
    #[serde(default)]
    pub min_chars: Option<LimitSpec>,
    /// Strings: most characters (Unicode scalar values).
    #[serde(default)]
    pub max_chars: Option<LimitSpec>,
    /// Strings: the server silently cuts the value to this many characters (documented, not an error).
    #[serde(default)]
    pub truncated_chars: Option<i64>,
    /// `day` fields: how many days before today (UTC+8) the day may lie.
    #[serde(default)]
    pub days_ago: Option<DaysAgoSpec>,
    /// Arrays: limits on every item.
    #[serde(default)]
    pub each: Option<Box<ConstraintsSpec>>,
}

/// A limit: a bare number, or a number with the errcode the server answers when it is broken.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum LimitSpec {
    /// `max_items: 100`
    Plain(i64),
    /// `max_items: { value: 5, errcode: 41091 }`
    Detailed {
        /// The limit.
        value: i64,
        /// The server's errcode when it is broken.
        #[serde(default)]
        errcode: Option<i64>,
    },
}

impl LimitSpec {
    /// The limit.
    pub fn value(self) -> i64 {
        match self {
            LimitSpec::Plain(v) | LimitSpec::Detailed { value: v, .. } => v,
        }
    }

    /// The server's errcode when the limit is broken, if documented.
    pub fn errcode(self) -> Option<i64> {
        match self {
            LimitSpec::Plain(_) => None,
            LimitSpec::Detailed { errcode, .. } => errcode,
        }
    }
}

/// Allowed distance of a day from today, in days (today is 0, yesterday 1).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaysAgoSpec {
    /// Most recent allowed day.
    pub min: i64,
    /// Oldest allowed day.
    pub max: i64,
    /// The server's errcode when it is broken.
    #[serde(default)]
    pub errcode: Option<i64>,
}

/// A rule over several fields of one struct. Exactly one kind is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A closed range of days with a maximum length.
    #[serde(default)]
    pub day_span: Option<DaySpanSpec>,
}

/// `[begin, end]`, both days, `end` defaulting to `begin`, at most `max_days` days long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaySpanSpec {
    /// Field holding the first day.
    pub begin: String,
    /// Field holding the last day (optional on the wire; defaults to `begin`).
    pub end: String,
    /// Longest allowed span, both ends included.
    pub max_days: i64,
    /// The server's errcode when it is broken.
    #[serde(default)]
    pub errcode: Option<i64>,
}

/// `endpoints/<name>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    /// snake_case name; also the client method name.
    pub name: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path below the base URL.
    pub path: String,
    /// Official Chinese title.
    pub summary: String,
    /// English one-line summary.
    pub summary_en: String,
    /// Longer description.
    pub description: String,
    /// Official documentation URL.
    pub doc_url: String,
    /// `read` (safe to retry) or `write` (not idempotent).
    pub retry: RetrySpec,
    /// How results are paged, if at all.
    #[serde(default)]
    pub paging: Option<PagingSpec>,
    /// Splitting of a large id list into batches, with per-item failures in the response.
    #[serde(default)]
    pub bulk: Option<BulkSpec>,
    /// Splitting of a long day range and a long owner list into allowed windows.
    #[serde(default)]
    pub windows: Option<WindowsSpec>,
    /// Overrides the API-wide rate limit.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// The request body.
    pub request: MessageSpec,
    /// The response body (besides the envelope).
    pub response: MessageSpec,
    /// Enums used only by this endpoint.
    #[serde(default)]
    pub enums: Vec<EnumSpec>,
    /// Structs used only by this endpoint.
    #[serde(default)]
    pub structs: Vec<StructSpec>,
    /// Request and response examples from the documentation (JSON text).
    #[serde(default)]
    pub examples: Vec<ExampleSpec>,
    /// How the simulator answers it (default: a handler written for it).
    #[serde(default)]
    pub simulator: SimulatorSpec,
    /// Documented numbers of the endpoint that belong to no field (a quota).
    #[serde(default)]
    pub facts: Vec<FactSpec>,
}

/// How the simulator answers an endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimulatorSpec {
    /// A handler written for the endpoint (the simulator does not compile without it).
    #[default]
    Handler,
    /// The first documented example answer, once the request is valid.
    Example,
}

/// Whether an endpoint may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetrySpec {
    /// Safe to send again: retried on transient failures.
    Idempotent,
    /// Not idempotent (a write): retried only when the request provably never reached the server.
    NonIdempotent,
}

/// How an endpoint pages its results.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum PagingSpec {
    /// A cursor from the previous page; an empty or absent next cursor ends the listing.
    Cursor {
        /// Request field taking the cursor.
        cursor: String,
        /// Response field holding the next cursor.
        next: String,
        /// Response array holding the page's items.
        items: String,
    },
    /// An offset; the listing ends when the next offset reaches the total.
    Offset {
        /// Request field taking the offset.
        offset: String,
        /// Response field holding the next offset.
        next: String,
        /// Response field holding the total number of records.
        total: String,
        /// Response array holding the page's items.
        items: String,
        /// Request field holding the page size: a page that is full but lacks `next` or `total` is then a
        /// broken paging contract, not the last page.
        #[serde(default)]
        limit: Option<String>,
    },
}

/// Batching of an id list with per-item failures.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkSpec {
    /// Request array to split into batches of at most its `max_items`.
    pub split: String,
    /// Response array of per-item failures; each item carries its status in the envelope's two fields.
    pub failures: String,
    /// Field of a failure naming the item (an element of `split`).
    pub key: String,
}

/// Splitting of statistic queries into allowed windows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsSpec {
    /// Request field holding the first day.
    pub begin: String,
    /// Request field holding the last day.
    pub end: String,
    /// Dotted path of the request array holding the owners.
    pub owners: String,
    /// Response array holding the items.
    pub items: String,
}

/// A request or response body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Extra doc text for the generated type.
    #[serde(default)]
    pub doc: Option<String>,
    /// Structs whose fields come first, as if written here.
    #[serde(default)]
    pub include: Vec<IncludeSpec>,
    /// Fields, in wire order.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// Rules over several fields.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A documented example exchange.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleSpec {
    /// Where the example comes from, when not the seed.
    #[serde(default)]
    pub name: Option<String>,
    /// Request body (JSON text).
    #[serde(default)]
    pub request: Option<String>,
    /// Response body (JSON text).
    #[serde(default)]
    pub response: Option<String>,
}

/// `errors.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsFile {
    /// The table.
    pub errors: Vec<ErrorCodeSpec>,
}

/// One error code.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorCodeSpec {
    /// The errcode.
    pub code: i64,
    /// SHOUTY_SNAKE name of its constant in `codes` (`API_FREQ_OUT_OF_LIMIT`).
    pub name: String,
    /// Official Chinese text.
    pub zh: String,
    /// English gloss.
    pub en: String,
    /// The `errmsg` the server sends, where the docs show one (a sample answer).
    #[serde(default)]
    pub errmsg: Option<String>,
    /// What a client should do.
    pub retry: ErrorRetrySpec,
}

/// What a client should do with an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorRetrySpec {
    /// Transient: back off and retry (reads only).
    Backoff,
    /// The token is bad: refresh it and replay.
    RefreshToken,
    /// Retry only after a wait.
    Later,
    /// Do not retry.
    Never,
}

/// `callbacks.yaml`: the forms a decrypted callback message comes in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbacksFile {
    /// How callbacks are signed and sealed, and the names on the wire around the sealed message.
    pub crypto: CryptoSpec,
    /// The forms, in the order a message is tried against them.
    pub forms: Vec<CallbackFormSpec>,
}

/// WXBizMsgCrypt (doc 90968): the key, the padding, and the names of the query parameters and of the XML
/// elements around the sealed message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoSpec {
    /// Length of an EncodingAESKey, in characters (base64 without its `=`).
    pub encoding_aes_key_chars: u32,
    /// PKCS#7 pads the message to a multiple of this many bytes.
    pub pad_block: u32,
    /// The query parameters of a callback request.
    pub query: CryptoQuerySpec,
    /// The elements of the envelope WeCom posts.
    pub envelope: CryptoEnvelopeSpec,
    /// The elements of an encrypted passive reply.
    pub reply: CryptoReplySpec,
}

/// The query parameters of a callback request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoQuerySpec {
    /// The signature (`msg_signature`).
    pub signature: String,
    /// The timestamp.
    pub timestamp: String,
    /// The nonce.
    pub nonce: String,
    /// The sealed echo of a URL verification (`echostr`).
    pub echo: String,
}

/// The elements of the envelope WeCom posts: `<root><to_user_name/><agent_id/><encrypted/></root>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoEnvelopeSpec {
    /// The root element.
    pub root: String,
    /// The receiver (corp id or suite id), not covered by the signature.
    pub to_user_name: String,
    /// The app's agent id, not covered by the signature; absent from third-party callbacks.
    pub agent_id: String,
    /// The sealed message.
    pub encrypted: String,
}

/// The elements of an encrypted passive reply, besides the envelope's `encrypted`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoReplySpec {
    /// The signature.
    pub signature: String,
    /// The timestamp.
    pub timestamp: String,
    /// The nonce.
    pub nonce: String,
}

/// One form of callback message (a self-built app's, a third-party suite's): its header elements.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackFormSpec {
    /// snake_case name, as event files list it (`app`, `third_party`).
    pub name: String,
    /// Rust name of the header struct (UpperCamelCase).
    pub rust_name: String,
    /// Doc text.
    pub doc: String,
    /// The element whose text names the event (`Event`, `InfoType`); its presence picks the form.
    pub kind: KindElementSpec,
    /// The header elements, besides `kind`.
    pub elements: Vec<ElementSpec>,
    /// The body a callback of this form is answered with (`success`); none means an empty body.
    #[serde(default)]
    pub reply: Option<String>,
}

/// The element that names the event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindElementSpec {
    /// XML element name.
    pub name: String,
    /// Doc text.
    pub doc: String,
}

/// One XML element of a callback header or event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElementSpec {
    /// XML element name, as WeCom writes it (`ChatId`); the Rust field and JSON key are its snake_case.
    pub name: String,
    /// `string`, `int`, `timestamp`, an event enum's name, or `array<string>`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether every message has it.
    #[serde(default)]
    pub required: bool,
    /// For an array: the name of its item elements (`Item`).
    #[serde(default)]
    pub item: Option<String>,
    /// For an array: a comma-separated text is accepted as well as item elements.
    #[serde(default)]
    pub comma_separated: bool,
    /// The value a builder fills in (`sys`, `event`).
    #[serde(default)]
    pub default: Option<String>,
    /// Doc text.
    pub doc: String,
}

/// `events/<name>.yaml`: one callback event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFile {
    /// The event's name as the kind element carries it (`change_external_chat`).
    pub name: String,
    /// One-line summary (official Chinese title, then English).
    pub title: String,
    /// Longer doc text.
    #[serde(default)]
    pub doc: String,
    /// Official documentation.
    pub doc_url: String,
    /// The forms (of `callbacks.yaml`) the event comes in.
    pub forms: Vec<String>,
    /// The event's own enumerations (values are integers or strings).
    #[serde(default)]
    pub enums: Vec<EventEnumSpec>,
    /// The event's elements after the header, in the order they are written.
    pub elements: Vec<ElementSpec>,
    /// Documented messages, decoded in tests.
    #[serde(default)]
    pub examples: Vec<EventExampleSpec>,
}

/// An enumeration of an event element: integer or string values, open (unknown values are kept).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnumSpec {
    /// Rust type name (UpperCamelCase).
    pub name: String,
    /// Doc text.
    pub doc: String,
    /// The documented values.
    pub values: Vec<EventEnumValueSpec>,
}

/// One documented value of an event enumeration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnumValueSpec {
    /// The value in the XML: an integer or a string.
    pub value: ScalarSpec,
    /// Rust variant name (UpperCamelCase).
    pub name: String,
    /// What the value means.
    pub doc: String,
}

/// An integer or a string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ScalarSpec {
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
}

/// A documented message of an event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventExampleSpec {
    /// snake_case name.
    pub name: String,
    /// Where it comes from.
    pub doc: String,
    /// The decrypted message.
    pub xml: String,
}

/// A parsed file with the path it came from (relative to the spec directory, for messages).
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// Path as shown in messages, e.g. `api-spec/endpoints/list.yaml`.
    pub file: String,
    /// The parsed content.
    pub value: T,
}

/// Every file of a spec directory, parsed but not checked.
#[derive(Debug, Clone)]
pub struct SpecFiles {
    /// `api.yaml`.
    pub api: Located<ApiFile>,
    /// `types.yaml`.
    pub types: Located<TypesFile>,
    /// `errors.yaml`.
    pub errors: Located<ErrorsFile>,
    /// `endpoints/*.yaml`, sorted by file name.
    pub endpoints: Vec<Located<EndpointFile>>,
    /// `callbacks.yaml`, if there is one (required when there are events).
    pub callbacks: Option<Located<CallbacksFile>>,
    /// `events/*.yaml`, sorted by file name.
    pub events: Vec<Located<EventFile>>,
}

impl SpecFiles {
    /// Reads and parses a spec directory. `display_root` is how the directory is named in messages
    /// (e.g. `api-spec`). Every file that fails to parse is reported, not only the first.
    pub fn load(dir: &Path, display_root: &str) -> Result<SpecFiles, SpecErrors> {
        let mut errors = Vec::new();
        let display = |rel: &str| format!("{display_root}/{rel}");

        let api = parse_file::<ApiFile>(&dir.join("api.yaml"), display("api.yaml"), &mut errors);
        let types = parse_file::<TypesFile>(&dir.join("types.yaml"), display("types.yaml"), &mut errors);
        let errs = parse_file::<ErrorsFile>(&dir.join("errors.yaml"), display("errors.yaml"), &mut errors);

        let endpoints = parse_dir::<EndpointFile>(dir, "endpoints", display_root, true, &mut errors);
        let callbacks_path = dir.join("callbacks.yaml");
        let callbacks = if callbacks_path.exists() {
            parse_file::<CallbacksFile>(&callbacks_path, display("callbacks.yaml"), &mut errors)
        } else {
            None
        };
        let events = parse_dir::<EventFile>(dir, "events", display_root, false, &mut errors);

        match (api, types, errs) {
            (Some(api), Some(types), Some(errs)) if errors.is_empty() => {
                Ok(SpecFiles { api, types, errors: errs, endpoints, callbacks, events })
            }
            _ => Err(SpecErrors(errors)),
        }
    }

    /// Adds callback forms and events held in memory (tests and fixtures). `events` are `(file name, text)`
    /// pairs.
    pub fn with_events(mut self, callbacks: &str, events: &[(&str, &str)]) -> Result<SpecFiles, SpecErrors> {
        let mut errors = Vec::new();
        self.callbacks = parse_str::<CallbacksFile>(callbacks, "api-spec/callbacks.yaml".into(), &mut errors);
        self.events = events
            .iter()
            .filter_map(|(name, text)| parse_str::<EventFile>(text, format!("api-spec/events/{name}"), &mut errors))
            .collect();
        if errors.is_empty() { Ok(self) } else { Err(SpecErrors(errors)) }
    }

    /// Parses a spec held in memory (tests and fixtures). `endpoints` are `(file name, text)` pairs.
    pub fn from_strs(
        api: &str,
        types: &str,
        errors_yaml: &str,
        endpoints: &[(&str, &str)],
    ) -> Result<SpecFiles, SpecErrors> {
        let mut errors = Vec::new();
        let api = parse_str::<ApiFile>(api, "api-spec/api.yaml".into(), &mut errors);
        let types = parse_str::<TypesFile>(types, "api-spec/types.yaml".into(), &mut errors);
        let errs = parse_str::<ErrorsFile>(errors_yaml, "api-spec/errors.yaml".into(), &mut errors);
        let endpoints: Vec<_> = endpoints
            .iter()
            .filter_map(|(name, text)| {
                parse_str::<EndpointFile>(text, format!("api-spec/endpoints/{name}"), &mut errors)
            })
            .collect();
        match (api, types, errs) {
            (Some(api), Some(types), Some(errs)) if errors.is_empty() => {
                Ok(SpecFiles { api, types, errors: errs, endpoints, callbacks: None, events: Vec::new() })
            }
            _ => Err(SpecErrors(errors)),
        }
    }
}

/// Parses every YAML file of a subdirectory, sorted by name. A missing directory is an error when
/// `required`, else no files.
fn parse_dir<T: serde::de::DeserializeOwned>(
    dir: &Path,
    sub: &str,
    display_root: &str,
    required: bool,
    errors: &mut Vec<SpecError>,
) -> Vec<Located<T>> {
    let path = dir.join(sub);
    if !required && !path.exists() {
        return Vec::new();
    }
    match list_yaml_files(&path) {
        Ok(files) => files
            .iter()
            .filter_map(|file| {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                parse_file::<T>(file, format!("{display_root}/{sub}/{name}"), errors)
            })
            .collect(),
        Err(e) => {
            errors.push(SpecError::new(format!("{display_root}/{sub}"), "", format!("cannot list directory: {e}")));
            Vec::new()
        }
    }
}

fn list_yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "yaml" || ext == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

fn parse_file<T: serde::de::DeserializeOwned>(
    path: &Path,
    display: String,
    errors: &mut Vec<SpecError>,
) -> Option<Located<T>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(&text, display, errors),
        Err(e) => {
            errors.push(SpecError::new(display, "", format!("cannot read file: {e}")));
            None
        }
    }
}

/// Parses one YAML document, reporting the YAML path of the node that failed.
fn parse_str<T: serde::de::DeserializeOwned>(
    text: &str,
    display: String,
    errors: &mut Vec<SpecError>,
) -> Option<Located<T>> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(deserializer) {
        Ok(value) => Some(Located { file: display, value }),
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = yaml_message(&path, e.inner());
            errors.push(SpecError::new(display, path, message));
            None
        }
    }
}

/// serde_yaml's message without its own path prefix (we report the path separately), with the location
/// as `(line L, column C)`.
fn yaml_message(path: &str, e: &serde_yaml::Error) -> String {
    let mut message = e.to_string();
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.contains(' ')
        && path.starts_with(prefix)
    {
        message = rest.to_string();
    }
    if let Some(loc) = e.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
        message = format!("{message} (line {}, column {})", loc.line(), loc.column());
    }
    message
}
