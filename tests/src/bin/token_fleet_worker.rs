//! One instance of a service sharing tokens through Redis, for the multi-process tests in
//! `tests/redis_fleet.rs`.
//!
//! Protocol: once its client is built and its Redis connection is up it prints `ready`; then, for each
//! phase, it waits for a line on stdin (the start barrier: the test releases every worker at once), makes
//! `CALLS` concurrent `get` calls and prints one line:
//! `phase N: ok=X err=Y lock_taken=A lock_busy=B waits=C [first error]`, where `lock_taken` counts refresh
//! locks this process took, `lock_busy` the attempts that found another instance holding it, and `waits`
//! the waits for that other instance's token — all during that phase.
//!
//! Usage: WECOM_CORP_SECRET=… token-fleet-worker BASE_URL CORP_ID REDIS_URL PREFIX CHAT_ID CALLS PHASES LOCK_TTL_MS
//! (the secret comes from the environment: a command line is visible to every user of the machine).

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use wecom_groupchat::Client;
use wecom_groupchat::ratelimit::RateLimits;
use wecom_groupchat::redis_store::{RedisStoreOptions, RedisTokenStore};
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat::token::{RefreshLock, StoreError, StoredToken, TokenStore};
use wecom_groupchat::types::GetRequest;

/// The Redis store, counting how this process fared with the fleet's refresh lock.
#[derive(Debug)]
struct Counting {
    store: RedisTokenStore,
    taken: AtomicU64,
    busy: AtomicU64,
    waits: AtomicU64,
}

impl Counting {
    /// The counts since the last call, reset.
    fn take_counts(&self) -> (u64, u64, u64) {
        (
            self.taken.swap(0, Ordering::SeqCst),
            self.busy.swap(0, Ordering::SeqCst),
            self.waits.swap(0, Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl TokenStore for Counting {
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, StoreError> {
        self.store.get(key).await
    }

    async fn set(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), StoreError> {
        self.store.set(key, token, ttl).await
    }

    async fn invalidate_if_equal(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        self.store.invalidate_if_equal(key, token).await
    }

    async fn try_lock_refresh(&self, key: &str, ttl: Duration) -> Result<Option<RefreshLock>, StoreError> {
        let lock = self.store.try_lock_refresh(key, ttl).await?;
        let counter = if lock.is_some() { &self.taken } else { &self.busy };
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(lock)
    }

    async fn unlock_refresh(&self, key: &str, lock: &RefreshLock) -> Result<(), StoreError> {
        self.store.unlock_refresh(key, lock).await
    }

    async fn wait_for_refresh(&self, key: &str, timeout: Duration) -> Result<(), StoreError> {
        self.waits.fetch_add(1, Ordering::SeqCst);
        self.store.wait_for_refresh(key, timeout).await
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secret = std::env::var("WECOM_CORP_SECRET").unwrap_or_default();
    let ([base_url, corp_id, redis_url, prefix, chat_id, calls, phases, lock_ttl_ms], false) =
        (args.as_slice(), secret.is_empty())
    else {
        eprintln!(
            "usage: WECOM_CORP_SECRET=… token-fleet-worker BASE_URL CORP_ID REDIS_URL PREFIX CHAT_ID CALLS PHASES LOCK_TTL_MS"
        );
        std::process::exit(2);
    };
    let number = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("not a number: {s}"));
    let options = RedisStoreOptions { prefix: prefix.clone(), ..RedisStoreOptions::default() };
    let store = Arc::new(Counting {
        store: RedisTokenStore::new(redis_url, options).expect("redis url"),
        taken: AtomicU64::new(0),
        busy: AtomicU64::new(0),
        waits: AtomicU64::new(0),
    });
    let client = Client::builder()
        .base_url(base_url.clone())
        .corp_credentials(corp_id.clone(), secret.as_str())
        .token_store(store.clone())
        .refresh_lock_ttl(Duration::from_millis(number(lock_ttl_ms)))
        .retry(RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(50)))
        .rate_limits(RateLimits::off())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    // Connect to Redis before the barrier, so that every worker starts its calls at the same time.
    store.get("warm-up").await.expect("Redis");
    let request = GetRequest::new(chat_id.clone());
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready").and_then(|()| stdout.flush()).expect("stdout");
    let mut stdin = std::io::stdin().lock();
    for phase in 1..=number(phases) {
        let mut go = String::new();
        if stdin.read_line(&mut go).expect("stdin") == 0 {
            return;
        }
        let results = join_all((0..number(calls)).map(|_| client.get(&request))).await;
        let errors: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().map(ToString::to_string)).collect();
        let first = errors.first().cloned().unwrap_or_default();
        let (taken, busy, waits) = store.take_counts();
        writeln!(
            stdout,
            "phase {phase}: ok={} err={} lock_taken={taken} lock_busy={busy} waits={waits} {first}",
            results.len() - errors.len(),
            errors.len()
        )
        .and_then(|()| stdout.flush())
        .expect("stdout");
    }
}
