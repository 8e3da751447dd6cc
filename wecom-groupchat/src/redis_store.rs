//! A [`TokenStore`] on Redis (feature `redis`), for services that run many instances.
//!
//! - One token per app and server (corp id, host, and an HMAC of base URL and secret) under
//!   `{prefix}:token:{key}`, kept for the token's lifetime minus the refresh margin. Only tokens are stored: never the secret.
//! - Fleet-wide single flight: the refresher takes `{prefix}:lock:{key}` with `SET NX PX` and a unique value,
//!   released only by its owner (a Lua compare-and-delete); a crashed holder's lock expires on its own.
//!   The others poll for the new token (backoff with jitter, never past the lock's expiry) instead of
//!   fetching their own.
//! - Compare-and-invalidate is one Lua script, so one dead token causes one refresh across the fleet.
//! - When Redis is unreachable, calls keep working on an in-process store (with a warning), unless the
//!   store is configured to fail instead. Tokens read from or written to Redis are mirrored there, so a
//!   process keeps its token through an outage.
//! - `redis://` and `rediss://` (TLS, with the system's root certificates; feature `rustls` or `native-tls`)
//!   URLs are accepted.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::redis_health::{Health, Transition, lock};
use crate::secret::Secret;
use crate::token::{MemoryTokenStore, RefreshLock, StoreError, StoredToken, TokenStore};

/// What the store does when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenUnavailable {
    /// Keep working on an in-process store and log a warning (the default): calls go on, each process
    /// refreshes on its own until Redis is back.
    FallBackToMemory,
    /// Fail: every store operation reports a [`StoreError`], so a call that needs the store fails with
    /// [`TokenError::Store`](crate::TokenError::Store) instead of using a token fetched without the
    /// fleet's coordination. For fleets whose `gettoken` quota matters more than availability.
    Fail,
}

/// Settings of a [`RedisTokenStore`].
#[derive(Debug, Clone)]
pub struct RedisStoreOptions {
    /// Prefix of every key (default `wecom-groupchat`).
    pub prefix: String,
    /// Behaviour when Redis is unreachable.
    pub when_unavailable: WhenUnavailable,
    /// Timeout for connecting to Redis.
    pub connect_timeout: Duration,
    /// Timeout for one Redis command.
    pub response_timeout: Duration,
    /// First pause of an instance waiting for the token another instance is fetching (default 25 ms); each
    /// further look waits twice as long, up to [`max_poll_interval`](Self::max_poll_interval), each pause
    /// jittered (50–100 %) so that waiting instances do not poll in step.
    pub poll_interval: Duration,
    /// Longest pause between two looks of a waiting instance (default 400 ms). Never waits past the
    /// expiry of the lock it waits on.
    pub max_poll_interval: Duration,
    /// After Redis failed, how long to use the in-process store before trying Redis again.
    pub retry_after: Duration,
}

impl Default for RedisStoreOptions {
    fn default() -> Self {
        RedisStoreOptions {
            prefix: "wecom-groupchat".into(),
            when_unavailable: WhenUnavailable::FallBackToMemory,
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(2),
            poll_interval: Duration::from_millis(25),
            max_poll_interval: Duration::from_millis(400),
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Tokens in Redis, shared by every process that uses the same Redis and prefix.
#[derive(Clone)]
pub struct RedisTokenStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    options: RedisStoreOptions,
    fallback: MemoryTokenStore,
    health: Mutex<Health>,
    /// Per key, the pause a waiter reached when its last wait timed out: the manager waits in slices, and
    /// the backoff goes on from one slice to the next.
    backoff: Mutex<HashMap<String, (Duration, Instant)>>,
    set_script: Script,
    invalidate_script: Script,
    unlock_script: Script,
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.inner.client.get_connection_info();
        f.debug_struct("RedisTokenStore")
            .field("addr", &info.addr().to_string())
            .field("prefix", &self.inner.options.prefix)
            .field("when_unavailable", &self.inner.options.when_unavailable)
            .finish_non_exhaustive()
    }
}

/// `pause` scaled by a random factor in [0.5, 1).
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

impl RedisTokenStore {
    /// A store on the Redis at `url`: `redis://[user:password@]host:port/db`, or `rediss://…` for TLS
    /// (verified against the system's root certificates). Connects lazily, on first use.
    ///
    /// # Errors
    /// When the URL is not a Redis URL.
    pub fn new(url: &str, options: RedisStoreOptions) -> Result<Self, StoreError> {
        let client = crate::redis_health::client(url).map_err(StoreError)?;
        Ok(RedisTokenStore {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                options,
                fallback: MemoryTokenStore::new(),
                health: Mutex::new(Health::default()),
                backoff: Mutex::new(HashMap::new()),
                // HSET + PEXPIRE in one step, so a token is never stored without its expiry.
                set_script: Script::new(
                    "redis.call('HSET', KEYS[1], 'token', ARGV[1], 'expires_at', ARGV[2]) \
                     redis.call('PEXPIRE', KEYS[1], ARGV[3]) return 1",
                ),
                invalidate_script: Script::new(
                    "if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
                ),
                unlock_script: Script::new(
                    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
                ),
            }),
        })
    }

    /// A store with the default options.
    ///
    /// # Errors
    /// When the URL is not a Redis URL.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::new(url, RedisStoreOptions::default())
    }

    fn token_key(&self, key: &str) -> String {
        format!("{}:token:{key}", self.inner.options.prefix)
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:lock:{key}", self.inner.options.prefix)
    }

    async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let inner = &self.inner;
        // Fail fast: a call waiting on a dead Redis is worse than a call using the in-process store.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(inner.options.connect_timeout))
            .set_response_timeout(Some(inner.options.response_timeout))
            .set_min_delay(Duration::from_millis(20))
            .set_number_of_retries(1);
        let create = || async { ConnectionManager::new_lazy_with_config(inner.client.clone(), config) };
        inner.connection.get_or_try_init(create).await.cloned()
    }

    fn unavailable<T>(&self, what: &str, error: &dyn fmt::Display) -> Result<Option<T>, StoreError> {
        match self.inner.options.when_unavailable {
            WhenUnavailable::FallBackToMemory => Ok(None),
            WhenUnavailable::Fail => Err(StoreError(format!("Redis {what}: {error}"))),
        }
    }

    /// Runs `op` on Redis; when Redis fails, reports it once per outage and falls back (`Ok(None)`) or fails.
    async fn with_redis<T, F, Fut>(&self, what: &str, op: F) -> Result<Option<T>, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let retry_after = self.inner.options.retry_after;
        let Some(epoch) = lock(&self.inner.health).begin(Instant::now(), retry_after) else {
            return self.unavailable(what, &"unreachable");
        };
        let result = match self.connection().await {
            Ok(conn) => op(conn).await,
            Err(e) => Err(e),
        };
        let transition = lock(&self.inner.health).finish(epoch, result.is_ok(), Instant::now(), retry_after);
        match transition {
            Transition::Lost => tracing::warn!(
                error = %result.as_ref().err().map(ToString::to_string).unwrap_or_default(), operation = what,
                "Redis token store unreachable; using an in-process store until it is back"
            ),
            Transition::Back => tracing::info!("Redis token store reachable again"),
            Transition::None => {}
        }
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e) => self.unavailable(what, &e),
        }
    }

    /// The pause a waiter on `key` starts with: where the last timed-out wait left off, if that was just now.
    fn first_pause(&self, key: &str) -> Duration {
        let options = &self.inner.options;
        let mut backoff = lock(&self.inner.backoff);
        match backoff.remove(key) {
            Some((pause, at)) if at.elapsed() < options.max_poll_interval * 2 => pause,
            _ => options.poll_interval,
        }
    }
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, StoreError> {
        let k = self.token_key(key);
        let found = self
            .with_redis("get", |mut c| async move {
                // MULTI/EXEC: the token and its TTL are read at the same instant.
                let ((token, expires_at), ttl_ms): ((Option<String>, Option<i64>), i64) = redis::pipe()
                    .atomic()
                    .cmd("HMGET")
                    .arg(&k)
                    .arg("token")
                    .arg("expires_at")
                    .cmd("PTTL")
                    .arg(&k)
                    .query_async(&mut c)
                    .await?;
                let stored = token.map(|t| StoredToken { token: Secret::new(t), expires_at: expires_at.unwrap_or(0) });
                Ok(stored.map(|s| (s, ttl_ms)))
            })
            .await?;
        match found {
            Some(Some((token, ttl_ms))) => {
                // Keep a copy in memory, so this process can go on with it if Redis goes away.
                if ttl_ms > 0 && self.inner.fallback.get(key).await?.as_ref() != Some(&token) {
                    self.inner.fallback.set(key, &token, Duration::from_millis(ttl_ms as u64)).await?;
                }
                Ok(Some(token))
            }
            Some(None) => Ok(None),
            None => self.inner.fallback.get(key).await,
        }
    }

    async fn set(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), StoreError> {
        // Write through: if Redis goes away later, this process still has the token.
        self.inner.fallback.set(key, token, ttl).await?;
        let k = self.token_key(key);
        let script = &self.inner.set_script;
        let ms = ttl.as_millis().max(1) as u64;
        self.with_redis("set", |mut c| async move {
            script.key(&k).arg(token.token.expose()).arg(token.expires_at).arg(ms).invoke_async::<i64>(&mut c).await
        })
        .await?;
        Ok(())
    }

    async fn invalidate_if_equal(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        let local = self.inner.fallback.invalidate_if_equal(key, token).await?;
        let k = self.token_key(key);
        let script = &self.inner.invalidate_script;
        let removed =
            self.with_redis("invalidate", |mut c| async move {
                script.key(&k).arg(token).invoke_async::<i64>(&mut c).await
            })
            .await?;
        Ok(removed.map_or(local, |n| n > 0))
    }

    async fn try_lock_refresh(&self, key: &str, ttl: Duration) -> Result<Option<RefreshLock>, StoreError> {
        let owner = format!("{:032x}", rand::random::<u128>());
        let k = self.lock_key(key);
        let ms = ttl.as_millis().max(1) as u64;
        let o = owner.clone();
        let taken = self
            .with_redis("lock", |mut c| async move {
                let reply: Option<String> =
                    redis::cmd("SET").arg(&k).arg(&o).arg("NX").arg("PX").arg(ms).query_async(&mut c).await?;
                Ok(reply.is_some())
            })
            .await?;
        match taken {
            Some(true) => Ok(Some(RefreshLock { owner })),
            Some(false) => Ok(None),
            None => self.inner.fallback.try_lock_refresh(key, ttl).await,
        }
    }

    async fn unlock_refresh(&self, key: &str, lock: &RefreshLock) -> Result<(), StoreError> {
        self.inner.fallback.unlock_refresh(key, lock).await?;
        let k = self.lock_key(key);
        let script = &self.inner.unlock_script;
        let owner = lock.owner.clone();
        self.with_redis("unlock", |mut c| async move { script.key(&k).arg(owner).invoke_async::<i64>(&mut c).await })
            .await?;
        Ok(())
    }

    async fn wait_for_refresh(&self, key: &str, timeout: Duration) -> Result<(), StoreError> {
        // Polling keeps the protocol to plain commands (no pub/sub connection per process). It backs off
        // (with jitter, so a fleet of waiters does not poll in step) and returns as soon as the token is
        // there or the lock is gone; the manager then re-reads the token or takes the lock.
        let deadline = Instant::now() + timeout;
        let max = self.inner.options.max_poll_interval;
        let (token_key, lock_key) = (self.token_key(key), self.lock_key(key));
        let mut pause = self.first_pause(key);
        // The caller just found the lock taken: look again only after a pause, and never after its expiry.
        let mut lock_left = Duration::MAX;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let sleep = jittered(pause).min(lock_left).min(left);
            tokio::time::sleep(sleep).await;
            pause = pause.saturating_mul(2).min(max);
            if Instant::now() >= deadline {
                lock(&self.inner.backoff).insert(key.to_string(), (pause, Instant::now()));
                return Ok(());
            }
            let (t, l) = (&token_key, &lock_key);
            let seen = self
                .with_redis("wait", |mut c| async move {
                    let (has_token, lock_ms): (bool, i64) =
                        redis::pipe().atomic().exists(t).pttl(l).query_async(&mut c).await?;
                    Ok((has_token, lock_ms))
                })
                .await?;
            match seen {
                // Redis went away: the lock is now the in-process store's, and so is the wait.
                None => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    return self.inner.fallback.wait_for_refresh(key, left).await;
                }
                // The token is there, or the lock is free (PTTL -2: no such key).
                Some((true, _)) | Some((false, -2)) => return Ok(()),
                Some((false, ms)) => {
                    // +1 ms: Redis expires a key once its time has passed, not at it.
                    lock_left = u64::try_from(ms).map_or(Duration::MAX, |ms| Duration::from_millis(ms + 1));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(RedisTokenStore::open("redis://127.0.0.1:6379/0").is_ok());
        assert!(RedisTokenStore::open("http://127.0.0.1:6379").is_err());
    }

    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[test]
    fn rediss_with_a_tls_feature() {
        assert!(RedisTokenStore::open("rediss://cache.example.com:6380/0").is_ok(), "TLS is built in");
    }

    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    #[test]
    fn rediss_without_a_tls_feature_is_refused() {
        let error = RedisTokenStore::open("rediss://cache.example.com:6380/0").unwrap_err();
        assert!(error.to_string().contains("`rustls`") && error.to_string().contains("`native-tls`"), "{error}");
    }
}
