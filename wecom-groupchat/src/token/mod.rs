//! Access tokens: where they come from ([`TokenProvider`]), where they live ([`TokenStore`]), and the
//! manager that hands them out — single-flight refresh, refresh shortly before expiry, and
//! compare-and-invalidate when the API says a token died early.

mod credentials;
mod lifetime;
mod manager;
mod memory;
mod store;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

pub use credentials::{CorpCredentials, credentials_key};
pub use lifetime::MAX_TOKEN_LIFETIME;
pub(crate) use manager::{TokenManager, TokenSource};
pub use memory::MemoryTokenStore;
pub use store::{RefreshLock, StoreError, StoredToken, TokenStore};

use crate::error::TokenError;
use crate::secret::Secret;

/// A token just issued by a provider.
#[derive(Debug, Clone)]
pub struct FetchedToken {
    /// The token.
    pub token: Secret,
    /// How long it lives, from now: at least 1 s and at most [`MAX_TOKEN_LIFETIME`], or the token is refused.
    pub expires_in: Duration,
}

/// Where tokens come from. The built-in one calls `gettoken` with corp id and secret
/// ([`CorpCredentials`]); implement this for tokens managed elsewhere (a central token service).
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Identifies the app the tokens belong to; tokens are cached under it. Two apps (two secrets) of
    /// one corp must have different keys. Must not contain the secret itself.
    fn cache_key(&self) -> String;

    /// Fetches a fresh token.
    async fn fetch(&self) -> Result<FetchedToken, TokenError>;
}
