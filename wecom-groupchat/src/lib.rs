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
//! - **Paging, bulk, windows** ([`Client::list_stream`], [`bulk`], [`windows`]): streams over every page,
//!   transfers of any number of chats with a per-chat report, statistics over any range of days.
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
//!
//! ## The public API
//!
//! | where | what |
//! |---|---|
//! | [`Client`], [`ClientBuilder`] | one method per endpoint, plus `*_stream`, `*_range` and `*_batched` where the spec annotates paging, windows or bulk; [`Client::call`] for any request type; [`Client::from_env`] |
//! | [`types`], [`schema`] | the request and response types, enums and their documented limits (`LIMIT_MAX` …); what the spec says about a field, at run time |
//! | [`endpoints`], [`endpoint`] | the endpoint table ([`endpoints::ALL`]): path, retry class, paging, rate limit; the [`Endpoint`](endpoint::Endpoint) trait of every request type |
//! | [`events`], [`callback`] | typed callback events; the WXBizMsgCrypt crypto and a framework-agnostic receiver (`callback::axum` with feature `axum`) |
//! | [`Error`] and the types it carries, [`codes`], [`error_codes`], [`error_code`] | errors; every documented errcode by name and what a client should do with it |
//! | [`api`] | API-wide constants from the spec: base URL, token endpoint, rate limits, day zone, environment variables |
//! | [`token`], `redis_store` (feature `redis`) | token providers and stores |
//! | [`budget`], [`ratelimit`], [`retry`] | rate budgets, the limits a client keeps to, when a call is sent again |
//! | [`validate`], [`ValidationError`] | checking a request against the spec before sending it |
//! | [`bulk`], [`windows`], [`time`] | bulk reports, statistics windows, WeCom's days |
//! | [`Secret`], [`mask_secrets`], [`sanitize_text`], [`WireEnum`] | secrets that never print; text made safe to log; integer enums that keep unknown values |
//!
//! Public types that may grow are `#[non_exhaustive]`. Items hidden from these docs (the modules `wire`,
//! `dynamic` and `paging`, `validate::check`, `callback::codec` but for its re-exports, the generated
//! `examples`) are shared with the
//! simulator, the command line and the tests of this workspace. They are not part of the API and may change
//! in any release; those crates require this one at an exact version (`=`), so they always match.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rustls` | yes | HTTPS through rustls (aws-lc-rs, the platform's certificate verifier) |
//! | `native-tls` | no | HTTPS through the platform's TLS library instead (OpenSSL on Linux: `libssl-dev` and `pkg-config` to build) |
//! | `redis` | no | `redis_store::RedisTokenStore` and `budget::RedisBudget`: tokens and the rate budget shared by a fleet |
//! | `axum` | no | `callback::axum::router`: the callback receiver as an axum `Router` |
//!
//! One TLS feature is needed to reach WeCom (`https://qyapi.weixin.qq.com`); for native TLS use
//! `default-features = false, features = ["native-tls"]`. Built with neither, [`ClientBuilder::build`]
//! refuses an `https` base URL with an error naming the features; plain `http` (a simulator on loopback)
//! needs none, nor does a `reqwest::Client` of your own given with [`ClientBuilder::http_client`].

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[rustfmt::skip]
mod generated;

pub mod budget;
pub mod bulk;
pub mod callback;
mod client;
#[doc(hidden)]
pub mod dynamic;
pub mod endpoint;
mod error;
pub mod error_code;
mod from_env;
#[doc(hidden)]
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
#[doc(hidden)]
pub mod wire;

pub use client::{Client, ClientBuilder, DEFAULT_MAX_RESPONSE_VALUES};
pub use error::{
    ApiError, DecodeError, Error, HttpStatusError, Outcome, RateLimitedError, TokenError, TransportError,
    TransportKind, sanitize_text,
};
pub use generated::error_codes::codes;
#[doc(hidden)]
pub use generated::examples;
pub use generated::{endpoints, error_codes, events, types};
pub use secret::{Secret, mask_secrets};
pub use validate::ValidationError;
pub use wire::WireEnum;

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
