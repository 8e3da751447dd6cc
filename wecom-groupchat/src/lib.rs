//! # wecom-groupchat
//!
//! A typed async client for the WeCom (企业微信) **customer group chat** (客户群) server API: list and
//! read customer groups, hand the groups of resigned staff to a colleague (离职继承), manage "join group"
//! QR codes, and pull group statistics.
//!
//! Every endpoint, field, limit and error code comes from the YAML spec in `api-spec/`; the types and
//! methods in [`types`], [`endpoints`] and on [`Client`] are generated from it. Underneath, a small
//! hand-written runtime handles tokens, retries, rate limits, paging and errors:
//!
//! - **Tokens** ([`token`]): fetched with `gettoken`, cached per (corp id, secret), refreshed before they
//!   expire, one refresh at a time even under heavy concurrency; a token the API rejects early is dropped
//!   (only if it is still the cached one) and the call replayed once.
//! - **Rate budgets** ([`budget`]): WeCom's per-corp call limits kept by one process or, on Redis, by a
//!   whole fleet, with a 45009 seen by one instance holding back all of them.
//! - **Retries** ([`retry`]): reads retry transient failures with backoff; writes (`transfer`,
//!   `add_join_way` …) are never replayed blindly.
//! - **Validation** ([`validate`]): documented limits are checked before anything is sent.
//! - **Paging, bulk, windows** ([`paging`], [`bulk`], [`windows`]): streams over every page, transfers of
//!   any number of chats with a per-chat report, statistics over any range of days.
//! - **Errors** ([`Error`]): one type to match on; no secret or token ever appears in one.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use wecom_groupchat::Client;
//! use wecom_groupchat::types::{ListRequest, OwnerFilter, StatusFilter};
//!
//! # async fn example() -> Result<(), wecom_groupchat::Error> {
//! let client = Client::builder().corp_credentials("ww0123456789abcdef", "app-secret").build()?;
//! let request = ListRequest::new(1000)
//!     .status_filter(StatusFilter::Resigned)
//!     .owner_filter(OwnerFilter::new(["zhangsan"]));
//! let chats: Vec<_> = client.list_stream(request).try_collect().await?;
//! println!("{} chats await transfer", chats.len());
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[rustfmt::skip]
mod generated;

pub mod budget;
pub mod bulk;
pub mod callback;
mod client;
pub mod dynamic;
pub mod endpoint;
mod error;
pub mod error_code;
mod from_env;
pub mod paging;
pub mod ratelimit;
#[cfg(feature = "redis")]
mod redis_health;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod retry;
pub mod schema;
mod secret;
pub mod time;
pub mod token;
pub mod validate;
pub mod windows;
pub mod wire;

pub use client::{Client, ClientBuilder, DEFAULT_MAX_RESPONSE_VALUES};
pub use error::{
    ApiError, DecodeError, Error, HttpStatusError, Outcome, RateLimitedError, TokenError, TransportError,
    TransportKind, sanitize_text,
};
pub use generated::error_codes::codes;
pub use generated::{endpoints, error_codes, events, examples, types};
pub use secret::{Secret, mask_secrets};
pub use validate::ValidationError;

/// API-wide constants from the spec (base URL, token endpoint, documented rate limits, day offset).
pub mod api {
    /// The environment variables [`Client::from_env`](crate::Client::from_env) reads (the command-line
    /// tool's).
    pub use crate::from_env::{ENV_ACCESS_TOKEN, ENV_BASE_URL, ENV_CORP_ID, ENV_CORP_SECRET};
    pub use crate::generated::token_endpoint::PATH as TOKEN_PATH;
    pub use crate::generated::{
        DAY_UTC_OFFSET_SECONDS, DAY_ZONE, DEFAULT_BASE_URL, ENVELOPE_CODE_FIELD, ENVELOPE_MESSAGE_FIELD,
        RATE_LIMIT_PER_HOUR, RATE_LIMIT_PER_MINUTE, TOKEN_QUERY_PARAM, VISIBLE_STAFF_WITHOUT_OWNER_FILTER,
        token_endpoint,
    };
}
