//! Access tokens: where they come from ([`TokenProvider`]), where they live ([`TokenStore`]), and the
//! manager that hands them out — single-flight refresh, refresh shortly before expiry, and
//! compare-and-invalidate when the API says a token died early.

use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::FutureExt;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::error::TokenError;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::time::now_unix;

/// A token just issued by a provider.
#[derive(Debug, Clone)]
pub struct FetchedToken {
    /// The token.
    pub token: Secret,
    /// How long it lives, from now: at least 1 s and at most [`MAX_TOKEN_LIFETIME`], or the token is refused.
    pub expires_in: Duration,
}

/// The longest lifetime a token may claim. WeCom's are 7,200 s; a claim of years (or of `i64::MAX` seconds,
/// which overflows clocks) is an answer not to trust, refused rather than cached.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A token as kept in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The token.
    pub token: Secret,
    /// Unix time at which the server says it expires.
    pub expires_at: i64,
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
/// one refresh serves everyone. The in-memory [`MemoryTokenStore`] is the default.
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

/// The default store: tokens in this process's memory, shared by the clients given the same store.
#[derive(Debug, Default, Clone)]
pub struct MemoryTokenStore {
    inner: Arc<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    tokens: Mutex<HashMap<String, (StoredToken, Instant)>>,
    locks: Mutex<HashMap<String, (String, Instant)>>,
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
        let tokens = self.inner.tokens.lock().map_err(|_| StoreError("poisoned".into()))?;
        Ok(tokens.get(key).filter(|(_, until)| Instant::now() < *until).map(|(t, _)| t.clone()))
    }

    async fn set(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), StoreError> {
        // Everything that can fail happens before the lock: a panic under it would poison the store.
        let until = expiry(ttl)?;
        let entry = (token.clone(), until);
        let mut tokens = self.inner.tokens.lock().map_err(|_| StoreError("poisoned".into()))?;
        tokens.insert(key.to_string(), entry);
        drop(tokens);
        self.inner.changed.notify_waiters();
        Ok(())
    }

    async fn invalidate_if_equal(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        let mut tokens = self.inner.tokens.lock().map_err(|_| StoreError("poisoned".into()))?;
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
        let mut locks = self.inner.locks.lock().map_err(|_| StoreError("poisoned".into()))?;
        if locks.get(key).is_some_and(|(_, until)| now < *until) {
            return Ok(None);
        }
        locks.insert(key.to_string(), (owner.clone(), until));
        Ok(Some(RefreshLock { owner }))
    }

    async fn unlock_refresh(&self, key: &str, lock: &RefreshLock) -> Result<(), StoreError> {
        let mut locks = self.inner.locks.lock().map_err(|_| StoreError("poisoned".into()))?;
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
        let stored = self
            .inner
            .tokens
            .lock()
            .map_err(|_| StoreError("poisoned".into()))?
            .get(key)
            .is_some_and(|(_, until)| now < *until);
        let locked = self
            .inner
            .locks
            .lock()
            .map_err(|_| StoreError("poisoned".into()))?
            .get(key)
            .is_some_and(|(_, until)| now < *until);
        if stored || !locked {
            return Ok(());
        }
        let _ = tokio::time::timeout(timeout, notified).await;
        Ok(())
    }
}

/// `now + ttl`, or an error for a `ttl` no clock can hold.
fn expiry(ttl: Duration) -> Result<Instant, StoreError> {
    Instant::now()
        .checked_add(ttl)
        .ok_or_else(|| StoreError(format!("a time to live of {}s is out of range", ttl.as_secs())))
}

/// The stored token. A store error is the store's verdict (stores that can fall back do so themselves).
async fn stored_token(store: &dyn TokenStore, key: &str) -> Result<Option<Secret>, TokenError> {
    Ok(store.get(key).await.map_err(store_error)?.map(|t| t.token))
}

fn store_error(e: StoreError) -> TokenError {
    TokenError::Store(e.to_string())
}

/// The cache key of an app on a server: the corp id, the server's host, and an HMAC-SHA256 (keyed with the
/// corp id) of the base URL and the secret — never the secret itself, and not a bare hash of it that a
/// dictionary of likely secrets could reverse. The base URL is part of it so that a staging client given
/// production credentials never shares tokens with production.
pub fn credentials_key(base_url: &str, corp_id: &str, secret: &str) -> String {
    let base_url = base_url.trim_end_matches('/');
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(corp_id.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(base_url.as_bytes());
    mac.update(b"\n");
    mac.update(secret.as_bytes());
    let digest = hex::encode(mac.finalize().into_bytes());
    let host = url::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(|h| u.port().map_or_else(|| h.to_string(), |p| format!("{h}:{p}"))))
        .unwrap_or_else(|| "?".into());
    format!("{corp_id}:{host}:{}", &digest[..32])
}

/// The built-in provider: `GET /cgi-bin/gettoken?corpid=…&corpsecret=…`.
///
/// Transient failures (-1, 45033, HTTP 5xx, transport) are retried with the client's backoff, within the
/// refresh lock's lifetime (`ClientBuilder::refresh_lock_ttl`); 40001 and 40013 (wrong secret or corp id)
/// are configuration errors, reported at once and held for a minute instead of asked again per call.
#[derive(Clone)]
pub struct CorpCredentials {
    corp_id: String,
    secret: Secret,
    http: reqwest::Client,
    base_url: String,
    url: String,
    retry: RetryPolicy,
    max_body: usize,
}

impl fmt::Debug for CorpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpCredentials").field("corp_id", &self.corp_id).field("secret", &self.secret).finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
}

impl CorpCredentials {
    pub(crate) fn new(
        corp_id: String,
        secret: Secret,
        http: reqwest::Client,
        base_url: &str,
        retry: RetryPolicy,
        max_body: usize,
    ) -> Self {
        let base_url = base_url.trim_end_matches('/').to_string();
        let url = format!("{base_url}{}", crate::generated::token_endpoint::PATH);
        CorpCredentials { corp_id, secret, http, base_url, url, retry, max_body }
    }

    async fn fetch_once(&self) -> Result<FetchedToken, (TokenError, bool)> {
        let response = self
            .http
            .get(&self.url)
            .query(&[("corpid", self.corp_id.as_str()), ("corpsecret", self.secret.expose())])
            .send()
            .await
            // The URL holds the secret: never let it into the message.
            .map_err(|e| (TokenError::Fetch(crate::client::describe_reqwest(&e.without_url())), true))?;
        let status = response.status();
        if status.is_redirection() {
            // Not followed: the URL carries the corp secret. Only the host it points to is named.
            let target = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
                .and_then(|u| u.host_str().map(str::to_string))
                .map_or_else(|| "an unnamed host".to_string(), |h| format!("host {h}"));
            return Err((
                TokenError::Fetch(format!("HTTP {} redirect to {target}; not followed", status.as_u16())),
                false,
            ));
        }
        let body =
            crate::client::read_capped(response, self.max_body).await.map_err(|e| (TokenError::Fetch(e), true))?;
        if !status.is_success() {
            return Err((TokenError::Fetch(format!("HTTP {status}")), status.is_server_error()));
        }
        // The body holds the token: errors describe it without quoting it. A body cut short is a connection
        // that broke inside the answer: transient, like the broken connection it is.
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            let truncated =
                e.classify() == serde_json::error::Category::Eof && body.trim_ascii_start().starts_with(b"{");
            (TokenError::Fetch(format!("unreadable answer ({} bytes): {}", body.len(), e.classify_text())), truncated)
        })?;
        if parsed.errcode != 0 {
            let transient = matches!(
                crate::error_code::lookup(parsed.errcode).map(|i| i.retry),
                Some(crate::error_code::ErrorRetry::Backoff)
            );
            let message = crate::secret::mask_secrets(&parsed.errmsg).into_owned();
            return Err((TokenError::Rejected { code: parsed.errcode, message }, transient));
        }
        match (parsed.access_token, parsed.expires_in) {
            (Some(token), Some(expires_in)) if !token.is_empty() => {
                let expires_in = u64::try_from(expires_in)
                    .ok()
                    .map(Duration::from_secs)
                    .filter(|d| lifetime_in_range(*d))
                    .ok_or_else(|| (lifetime_error(expires_in), false))?;
                Ok(FetchedToken { token: Secret::new(token), expires_in })
            }
            _ => Err((TokenError::Fetch("answer without access_token or expires_in".into()), false)),
        }
    }
}

fn lifetime_in_range(lifetime: Duration) -> bool {
    lifetime >= Duration::from_secs(1) && lifetime <= MAX_TOKEN_LIFETIME
}

fn lifetime_error(claimed: impl fmt::Display) -> TokenError {
    TokenError::Fetch(format!(
        "a token said to live {claimed} s; refused (a lifetime must be 1 s to {} s)",
        MAX_TOKEN_LIFETIME.as_secs()
    ))
}

trait ClassifyText {
    fn classify_text(&self) -> &'static str;
}

impl ClassifyText for serde_json::Error {
    fn classify_text(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Eof => "truncated JSON",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected JSON shape",
            serde_json::error::Category::Io => "read error",
        }
    }
}

#[async_trait]
impl TokenProvider for CorpCredentials {
    fn cache_key(&self) -> String {
        credentials_key(&self.base_url, &self.corp_id, self.secret.expose())
    }

    async fn fetch(&self) -> Result<FetchedToken, TokenError> {
        let mut retries = 0;
        loop {
            match self.fetch_once().await {
                Ok(token) => return Ok(token),
                Err((error, transient)) => {
                    if !transient || retries >= self.retry.max_retries {
                        return Err(error);
                    }
                    let delay = self.retry.delay(retries);
                    tracing::warn!(retry = retries + 1, delay_ms = delay.as_millis() as u64, error = %error, "gettoken failed, retrying");
                    tokio::time::sleep(delay).await;
                    retries += 1;
                }
            }
        }
    }
}

/// Where a client's tokens come from.
#[derive(Clone)]
pub(crate) enum TokenSource {
    /// A token given by the caller; it cannot be refreshed.
    Fixed(Secret),
    /// A provider that can fetch new ones.
    Provider(Arc<dyn TokenProvider>),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Fixed(_) => f.write_str("Fixed(***)"),
            TokenSource::Provider(p) => f.debug_tuple("Provider").field(p).finish(),
        }
    }
}

/// Hands out tokens: cached, refreshed shortly before expiry, one refresh at a time.
#[derive(Debug)]
pub(crate) struct TokenManager {
    source: TokenSource,
    store: Arc<dyn TokenStore>,
    key: String,
    margin: Duration,
    lock_ttl: Duration,
    /// Whether a configuration error is held ([`CONFIGURATION_ERROR_HOLD`]): only for the built-in
    /// provider, whose credentials cannot change; a custom provider may recover on its next fetch.
    hold_configuration_errors: bool,
    /// In-process single flight: one task per process refreshes, talking to the store's refresh lock.
    flight: tokio::sync::Mutex<()>,
    /// What the latest refresh left for the callers queued behind it.
    outcome: Arc<Mutex<FlightOutcome>>,
    /// How many refreshes have finished; read before queueing to see whether one finished meanwhile.
    finished: Arc<AtomicU64>,
}

/// How long a wrong secret or corp id (40001, 40013) is the answer without asking `gettoken` again:
/// the credentials of a client never change, and WeCom blocks an IP after enough failed `gettoken`s.
const CONFIGURATION_ERROR_HOLD: Duration = Duration::from_secs(60);

/// What a finished refresh leaves behind.
#[derive(Debug, Default)]
struct FlightOutcome {
    /// The latest refresh's failure, for the callers that queued while it ran (a success needs no
    /// hand-over: its token is in the store, and going through the store keeps compare-and-invalidate).
    failure: Option<TokenError>,
    /// A configuration error and when it was seen.
    configuration_error: Option<(TokenError, Instant)>,
}

impl TokenManager {
    pub(crate) fn new(
        source: TokenSource,
        store: Arc<dyn TokenStore>,
        margin: Duration,
        lock_ttl: Duration,
        hold_configuration_errors: bool,
    ) -> Self {
        let key = match &source {
            TokenSource::Fixed(_) => "fixed".to_string(),
            TokenSource::Provider(p) => p.cache_key(),
        };
        TokenManager {
            source,
            store,
            key,
            margin,
            lock_ttl,
            hold_configuration_errors,
            flight: tokio::sync::Mutex::new(()),
            outcome: Arc::default(),
            finished: Arc::default(),
        }
    }

    /// Whether a rejected token can be replaced.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(self.source, TokenSource::Provider(_))
    }

    /// A token to use now.
    pub(crate) async fn token(&self) -> Result<Secret, TokenError> {
        let provider = match &self.source {
            TokenSource::Fixed(token) => return Ok(token.clone()),
            TokenSource::Provider(p) => p,
        };
        if let Some(token) = self.cached().await? {
            return Ok(token);
        }
        let queued_after = self.finished.load(Ordering::Acquire);
        let _flight = self.flight.lock().await;
        if let Some(error) = self.held_failure(queued_after) {
            return Err(error);
        }
        // Whoever held the flight before us may have refreshed already.
        if let Some(token) = self.cached().await? {
            return Ok(token);
        }
        // The refresh runs as a task of its own, which records its outcome itself: a caller that gives up
        // (a timeout around its call) must neither abandon a half-done refresh (leaving the store's lock to
        // expire before anyone else may refresh) nor lose its verdict.
        let refresher = Refresher {
            provider: provider.clone(),
            store: self.store.clone(),
            key: self.key.clone(),
            margin: self.margin,
            lock_ttl: self.lock_ttl,
        };
        let (outcome, finished, hold) = (self.outcome.clone(), self.finished.clone(), self.hold_configuration_errors);
        let task = async move {
            let result = refresher.refresh().await;
            let mut outcome = outcome.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            outcome.failure = result.as_ref().err().cloned();
            if hold {
                outcome.configuration_error =
                    result.as_ref().err().filter(|e| e.is_configuration()).map(|e| (e.clone(), Instant::now()));
            }
            finished.fetch_add(1, Ordering::Release);
            result
        };
        tokio::spawn(task.instrument(tracing::Span::current()))
            .await
            .unwrap_or_else(|_| Err(TokenError::Fetch("the token refresh was cancelled".into())))
    }

    /// A failure to hand to this caller instead of refreshing again: the one of a refresh that finished
    /// while it queued (so a failing `gettoken` is asked once per burst of callers, not once per caller),
    /// or a configuration error still held.
    fn held_failure(&self, queued_after: u64) -> Option<TokenError> {
        let outcome = self.outcome.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.finished.load(Ordering::Acquire) != queued_after
            && let Some(failure) = &outcome.failure
        {
            return Some(failure.clone());
        }
        match &outcome.configuration_error {
            Some((error, seen)) if seen.elapsed() < CONFIGURATION_ERROR_HOLD => Some(error.clone()),
            _ => None,
        }
    }

    async fn cached(&self) -> Result<Option<Secret>, TokenError> {
        stored_token(self.store.as_ref(), &self.key).await
    }

    /// The API rejected `token` as invalid or expired: drop it, unless a newer one replaced it already.
    pub(crate) async fn invalidate(&self, token: &Secret) {
        if !self.can_refresh() {
            return;
        }
        match self.store.invalidate_if_equal(&self.key, token.expose()).await {
            Ok(true) => tracing::info!("access token rejected by the API; dropped it"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "token store invalidate failed"),
        }
    }
}

/// One refresh, owning what it needs so that it can run as a task of its own.
struct Refresher {
    provider: Arc<dyn TokenProvider>,
    store: Arc<dyn TokenStore>,
    key: String,
    margin: Duration,
    lock_ttl: Duration,
}

impl Refresher {
    async fn cached(&self) -> Result<Option<Secret>, TokenError> {
        stored_token(self.store.as_ref(), &self.key).await
    }

    /// Fetches a token, coordinating with other holders of the store through its refresh lock.
    async fn refresh(self) -> Result<Secret, TokenError> {
        // Wait at most three lock lifetimes for another holder: long enough to outlive a crashed holder's lock.
        let deadline = Instant::now() + self.lock_ttl * 3;
        loop {
            let lock = self.store.try_lock_refresh(&self.key, self.lock_ttl).await.map_err(store_error)?;
            match lock {
                Some(lock) => {
                    let result = self.refresh_holding_lock(Instant::now()).await;
                    if let Err(e) = self.store.unlock_refresh(&self.key, &lock).await {
                        tracing::warn!(error = %e, "token store unlock failed");
                    }
                    return result;
                }
                None => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(TokenError::LockTimeout);
                    }
                    // Stores wake waiters when the token or the lock changes; the cap only bounds the cost
                    // of a store that misses a wake-up.
                    self.store
                        .wait_for_refresh(&self.key, left.min(Duration::from_secs(1)))
                        .await
                        .map_err(store_error)?;
                    if let Some(token) = self.cached().await? {
                        return Ok(token);
                    }
                }
            }
        }
    }

    /// The part of a refresh done under the lock taken at `locked_at`. It must end before the lock does,
    /// or a second refresher could start; a provider that panics fails the refresh but still lets the
    /// lock be released.
    async fn refresh_holding_lock(&self, locked_at: Instant) -> Result<Secret, TokenError> {
        let budget = self.lock_ttl.mul_f64(0.9).saturating_sub(locked_at.elapsed());
        let work = async {
            // Someone may have stored a token between our read and our lock.
            match self.cached().await? {
                Some(token) => Ok(token),
                None => self.fetch_and_store().await,
            }
        };
        match tokio::time::timeout(budget, AssertUnwindSafe(work).catch_unwind()).await {
            Ok(Ok(result)) => result,
            // The panic's message is not repeated: it could hold anything, a secret included.
            Ok(Err(_panic)) => Err(TokenError::Provider("the token provider panicked".into())),
            Err(_) => Err(TokenError::Fetch(format!(
                "no token within {:?}, the refresh lock's lifetime (raise `refresh_lock_ttl` for a slow token source)",
                self.lock_ttl
            ))),
        }
    }

    async fn fetch_and_store(&self) -> Result<Secret, TokenError> {
        let started = Instant::now();
        let fetched = self.provider.fetch().await?;
        let lifetime = fetched.expires_in;
        // Any provider's claim is checked: a lifetime beyond every clock would poison the store.
        if !lifetime_in_range(lifetime) {
            return Err(lifetime_error(format_args!("{:.3}", lifetime.as_secs_f64())));
        }
        // Refresh `margin` before expiry, but keep at least half the lifetime for short-lived tokens.
        let ttl = lifetime.saturating_sub(self.margin.min(lifetime / 2)).saturating_sub(started.elapsed());
        let expires_at = now_unix().saturating_add(lifetime.as_secs() as i64);
        let stored = StoredToken { token: fetched.token.clone(), expires_at };
        tracing::info!(expires_in_s = lifetime.as_secs(), cached_for_s = ttl.as_secs(), "fetched access token");
        if !ttl.is_zero() {
            self.store.set(&self.key, &stored, ttl).await.map_err(store_error)?;
        }
        Ok(fetched.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_the_secret_and_the_server_but_does_not_contain_the_secret() {
        let prod = "https://qyapi.weixin.qq.com";
        let a = credentials_key(prod, "ww1", "secret-a");
        let b = credentials_key(prod, "ww1", "secret-b");
        let staging = credentials_key("https://staging.example", "ww1", "secret-a");
        assert_ne!(a, b);
        assert_ne!(a, staging, "a staging client with production credentials must not share production's tokens");
        assert!(a.starts_with("ww1:qyapi.weixin.qq.com:") && !a.contains("secret-a"), "{a}");
        assert!(staging.starts_with("ww1:staging.example:"), "{staging}");
        // Keyed: the same secret under another corp id gives an unrelated digest.
        let other_corp = credentials_key(prod, "ww2", "secret-a");
        assert_ne!(a.rsplit(':').next(), other_corp.rsplit(':').next());
        // A trailing slash is the same server.
        assert_eq!(a, credentials_key("https://qyapi.weixin.qq.com/", "ww1", "secret-a"));
    }

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
