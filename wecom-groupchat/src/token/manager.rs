//! The single-flight manager: hands out a client's tokens from the store, refreshes them shortly before
//! they expire (one refresh at a time, in this process and across the store's users), holds failures
//! for the callers queued behind them, and drops a token the API rejected early.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tracing::Instrument;

use super::store::{StoreError, StoredToken, TokenStore};
use super::{TokenProvider, lifetime};
use crate::error::TokenError;
use crate::secret::Secret;
use crate::time::now_unix;

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
    /// Where the tokens come from.
    source: TokenSource,
    /// Where they are kept.
    store: Arc<dyn TokenStore>,
    /// The provider's cache key in the store.
    key: String,
    /// How long before expiry a token is refreshed.
    margin: Duration,
    /// The lifetime of the store's refresh lock, which bounds a refresh.
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
    /// A manager handing out the tokens of `source`, kept in `store`: refreshed `margin` before they
    /// expire, under a store lock of `lock_ttl`.
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

    /// The token in the store, if any.
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
    /// Where the token comes from.
    provider: Arc<dyn TokenProvider>,
    /// See [`TokenManager::store`].
    store: Arc<dyn TokenStore>,
    /// See [`TokenManager::key`].
    key: String,
    /// See [`TokenManager::margin`].
    margin: Duration,
    /// See [`TokenManager::lock_ttl`].
    lock_ttl: Duration,
}

impl Refresher {
    /// The token in the store, if any.
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

    /// Asks the provider for a token and stores it for its lifetime less the refresh margin.
    async fn fetch_and_store(&self) -> Result<Secret, TokenError> {
        let started = Instant::now();
        let fetched = self.provider.fetch().await?;
        let lifetime = fetched.expires_in;
        // Any provider's claim is checked: a lifetime beyond every clock would poison the store.
        if !lifetime::in_range(lifetime) {
            return Err(lifetime::refusal(format_args!("{:.3}", lifetime.as_secs_f64())));
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

/// The stored token. A store error is the store's verdict (stores that can fall back do so themselves).
async fn stored_token(store: &dyn TokenStore, key: &str) -> Result<Option<Secret>, TokenError> {
    Ok(store.get(key).await.map_err(store_error)?.map(|t| t.token))
}

/// A store's failure as the token error callers see.
fn store_error(e: StoreError) -> TokenError {
    TokenError::Store(e.to_string())
}
