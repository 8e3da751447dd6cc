//! The default token store: tokens in this process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::store::{RefreshLock, StoreError, StoredToken, TokenStore};

/// The default store: tokens in this process's memory, shared by the clients given the same store.
#[derive(Debug, Default, Clone)]
pub struct MemoryTokenStore {
    inner: Arc<MemoryInner>,
}

/// What the clones of one store share.
#[derive(Debug, Default)]
struct MemoryInner {
    /// Tokens and until when they may be handed out.
    tokens: Mutex<HashMap<String, (StoredToken, Instant)>>,
    /// Refresh locks: holder and until when the lock holds.
    locks: Mutex<HashMap<String, (String, Instant)>>,
    /// Wakes the waiters of `wait_for_refresh` when a token is set or a lock released.
    changed: Notify,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, StoreError> {
        let tokens = lock_map(&self.inner.tokens)?;
        Ok(tokens.get(key).filter(|(_, until)| Instant::now() < *until).map(|(t, _)| t.clone()))
    }

    async fn set(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), StoreError> {
        // Everything that can fail happens before the lock: a panic under it would poison the store.
        let until = expiry(ttl)?;
        let entry = (token.clone(), until);
        let mut tokens = lock_map(&self.inner.tokens)?;
        tokens.insert(key.to_string(), entry);
        drop(tokens);
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn invalidate_if_equal(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        let mut tokens = lock_map(&self.inner.tokens)?;
        let equal = tokens.get(key).is_some_and(|(t, _)| t.token.expose() == token);
        if equal {
            tokens.remove(key);
        }
        Ok(equal)
    }

    async fn try_lock_refresh(&self, key: &str, ttl: Duration) -> Result<Option<RefreshLock>, StoreError> {
        let until = expiry(ttl)?;
        let owner = format!("{:032x}", rand::random::<u128>());
        let now = Instant::now();
        let mut locks = lock_map(&self.inner.locks)?;
        if locks.get(key).is_some_and(|(_, until)| now < *until) {
            return Ok(None);
        }
        locks.insert(key.to_string(), (owner.clone(), until));
        Ok(Some(RefreshLock { owner }))
    }

    async fn unlock_refresh(&self, key: &str, lock: &RefreshLock) -> Result<(), StoreError> {
        let mut locks = lock_map(&self.inner.locks)?;
        if locks.get(key).is_some_and(|(owner, _)| *owner == lock.owner) {
            locks.remove(key);
        }
        drop(locks);
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn wait_for_refresh(&self, key: &str, timeout: Duration) -> Result<(), StoreError> {
        let notified = self.inner.changed.notified();
        tokio::pin!(notified);
        // Listen first, then look: a refresh that ended in between would otherwise never wake us.
        notified.as_mut().enable();
        let now = Instant::now();
        let stored = has_live_entry(&self.inner.tokens, key, now)?;
        let locked = has_live_entry(&self.inner.locks, key, now)?;
        if stored || !locked {
            return Ok(());
        }
        let _ = tokio::time::timeout(timeout, notified).await;
        Ok(())
    }
}

/// Locks one of the store's maps. A lock poisoned by a panic is a store error, not another panic.
fn lock_map<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
    mutex.lock().map_err(|_| StoreError("poisoned".into()))
}

/// Whether `map` holds an entry for `key` that lives past `now`.
fn has_live_entry<V>(map: &Mutex<HashMap<String, (V, Instant)>>, key: &str, now: Instant) -> Result<bool, StoreError> {
    Ok(lock_map(map)?.get(key).is_some_and(|(_, until)| now < *until))
}

/// `now + ttl`, or an error for a `ttl` no clock can hold.
fn expiry(ttl: Duration) -> Result<Instant, StoreError> {
    Instant::now()
        .checked_add(ttl)
        .ok_or_else(|| StoreError(format!("a time to live of {}s is out of range", ttl.as_secs())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[tokio::test]
    async fn memory_store_refuses_an_unrepresentable_ttl_and_stays_usable() {
        let store = MemoryTokenStore::new();
        let t = StoredToken { token: Secret::new("t1"), expires_at: 0 };
        assert!(store.set("k", &t, Duration::MAX).await.is_err());
        assert!(store.try_lock_refresh("k", Duration::MAX).await.is_err());
        store.set("k", &t, Duration::from_secs(60)).await.unwrap();
        assert_eq!(store.get("k").await.unwrap(), Some(t));
    }

    #[tokio::test]
    async fn memory_store_compare_and_invalidate() {
        let store = MemoryTokenStore::new();
        let t = StoredToken { token: Secret::new("t1"), expires_at: 0 };
        store.set("k", &t, Duration::from_secs(60)).await.unwrap();
        assert!(!store.invalidate_if_equal("k", "t0").await.unwrap());
        assert_eq!(store.get("k").await.unwrap(), Some(t));
        assert!(store.invalidate_if_equal("k", "t1").await.unwrap());
        assert_eq!(store.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn memory_store_lock_is_exclusive_and_owned() {
        let store = MemoryTokenStore::new();
        let lock = store.try_lock_refresh("k", Duration::from_secs(5)).await.unwrap().unwrap();
        assert!(store.try_lock_refresh("k", Duration::from_secs(5)).await.unwrap().is_none());
        store.unlock_refresh("k", &RefreshLock { owner: "someone else".into() }).await.unwrap();
        assert!(store.try_lock_refresh("k", Duration::from_secs(5)).await.unwrap().is_none());
        store.unlock_refresh("k", &lock).await.unwrap();
        assert!(store.try_lock_refresh("k", Duration::from_secs(5)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn memory_store_lock_expires() {
        let store = MemoryTokenStore::new();
        let _lock = store.try_lock_refresh("k", Duration::from_millis(20)).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(store.try_lock_refresh("k", Duration::from_secs(5)).await.unwrap().is_some());
    }
}
