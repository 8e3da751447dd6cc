//! The store contract: where tokens live ([`TokenStore`]), what is kept ([`StoredToken`]), how a store
//! fails ([`StoreError`]) and the proof of holding a key's refresh lock ([`RefreshLock`]).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::secret::Secret;

/// A token as kept in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The token.
    pub token: Secret,
    /// Unix time at which the server says it expires.
    pub expires_at: i64,
}

/// A failure of a token store (e.g. Redis unreachable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("token store: {0}")]
pub struct StoreError(pub String);

/// Proof of holding the refresh lock of a key; give it back to [`TokenStore::unlock_refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshLock {
    /// Unique value identifying the holder.
    pub owner: String,
}

/// Where tokens live, shared by every client (and, for shared stores, every process) using it.
///
/// Minimal on purpose: get, set with a time to live, compare-and-invalidate, and a refresh lock so that
/// one refresh serves everyone. The in-memory [`MemoryTokenStore`](super::MemoryTokenStore) is the default.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The token stored under `key`, if it has not expired.
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, StoreError>;

    /// Stores a token under `key` for `ttl`.
    async fn set(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), StoreError>;

    /// Removes the token under `key` only if it is still `token`; returns whether it removed it.
    /// A burst of failures with one dead token thus causes one refresh, not one per failure.
    async fn invalidate_if_equal(&self, key: &str, token: &str) -> Result<bool, StoreError>;

    /// Tries to become the one refresher of `key` for at most `ttl` (the lock expires on its own if
    /// the holder dies). `None` when someone else holds it.
    async fn try_lock_refresh(&self, key: &str, ttl: Duration) -> Result<Option<RefreshLock>, StoreError>;

    /// Releases the refresh lock, only if `lock` still holds it.
    async fn unlock_refresh(&self, key: &str, lock: &RefreshLock) -> Result<(), StoreError>;

    /// Waits until the token under `key` may have changed, or `timeout` passed.
    async fn wait_for_refresh(&self, key: &str, timeout: Duration) -> Result<(), StoreError>;
}
