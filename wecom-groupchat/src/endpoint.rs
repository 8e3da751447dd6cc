//! What the runtime knows about an endpoint. The generated code fills one [`EndpointInfo`] per endpoint
//! and implements [`Endpoint`] for its request type.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::validate::Validate;
use crate::wire::{Envelope, SpecDrift};

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST` with a JSON body.
    Post,
}

impl HttpMethod {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// Whether an endpoint may be called again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryClass {
    /// Reads: retried on transient failures (system busy, concurrency limit, HTTP 5xx, timeouts).
    Idempotent,
    /// Writes: retried only when the request provably never reached the server (connect refused, DNS).
    NonIdempotent,
}

impl RetryClass {
    /// `read` or `write`, as in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryClass::Idempotent => "read",
            RetryClass::NonIdempotent => "write",
        }
    }
}

/// How an endpoint pages its results (JSON field names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Paging {
    /// One call returns everything.
    None,
    /// Follow `next` into `cursor` until it is empty or absent.
    Cursor {
        /// Request field taking the cursor.
        cursor: &'static str,
        /// Response field with the next cursor.
        next: &'static str,
        /// Response array with the page's items.
        items: &'static str,
    },
    /// Follow `next` into `offset` until it reaches `total`.
    Offset {
        /// Request field taking the offset.
        offset: &'static str,
        /// Response field with the next offset.
        next: &'static str,
        /// Response field with the total.
        total: &'static str,
        /// Response array with the page's items.
        items: &'static str,
    },
}

impl Paging {
    /// `none`, `cursor` or `offset`.
    pub fn style(&self) -> &'static str {
        match self {
            Paging::None => "none",
            Paging::Cursor { .. } => "cursor",
            Paging::Offset { .. } => "offset",
        }
    }
}

/// Documented call-frequency limits of one endpoint (per corp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Calls per minute.
    pub per_minute: u32,
    /// Calls per hour.
    pub per_hour: u32,
}

/// One row of the endpoint table ([`crate::endpoints::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct EndpointInfo {
    /// snake_case name, also the client method name.
    pub name: &'static str,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path below the base URL.
    pub path: &'static str,
    /// Official Chinese title.
    pub summary: &'static str,
    /// English summary.
    pub summary_en: &'static str,
    /// Official documentation.
    pub doc_url: &'static str,
    /// Retry class.
    pub retry: RetryClass,
    /// Paging style.
    pub paging: Paging,
    /// Largest batch of the endpoint's bulk id list, when it has one.
    pub batch_size: Option<usize>,
    /// Documented rate limit.
    pub rate_limit: RateLimit,
    /// Rust name of the request type.
    pub request_type: &'static str,
    /// Rust name of the response type.
    pub response_type: &'static str,
}

/// A request type: it knows its endpoint and its response type. Implemented by generated code only.
pub trait Endpoint: Serialize + DeserializeOwned + Validate + Clone + fmt::Debug + Send + Sync + 'static {
    /// The response body.
    type Response: Serialize + DeserializeOwned + Envelope + SpecDrift + Clone + fmt::Debug + Send + 'static;
    /// The endpoint's table row.
    const INFO: &'static EndpointInfo;
}

/// One documented example exchange of an endpoint (`crate::examples::EXAMPLES`), as compact JSON text.
/// Not part of the API: the simulator answers with these.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Example {
    /// The endpoint.
    pub endpoint: &'static str,
    /// Where it comes from, when not the original documentation page.
    pub name: Option<&'static str>,
    /// The request body.
    pub request: Option<&'static str>,
    /// The answer.
    pub response: Option<&'static str>,
}

impl Example {
    /// The first documented answer of an endpoint.
    pub fn first_response(endpoint: &str) -> Option<&'static str> {
        crate::examples::EXAMPLES.iter().filter(|e| e.endpoint == endpoint).find_map(|e| e.response)
    }
}

/// Code that learns an endpoint's name only at run time gets its types through
/// [`crate::endpoints::visit`], which calls `visit::<R>()` with the endpoint's request type.
pub trait EndpointVisitor {
    /// What the visit produces.
    type Output;
    /// Called with `R` the endpoint's request type.
    fn visit<R: Endpoint>(self) -> Self::Output;
}
