//! The client: one shared HTTP connection pool, a token manager, a rate budget and the retry loop.
//! Generated code adds one method per endpoint (`client.list(…)`, `client.transfer(…)`, …); every one
//! of them ends in [`Client::call`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tracing::Instrument;

use crate::budget::{BudgetKey, MemoryBudget, RateBudget};
use crate::endpoint::{Endpoint, EndpointInfo, HttpMethod};
use crate::error::{
    self, ApiError, DecodeError, Error, HttpStatusError, Outcome, RateLimitedError, TokenError, TransportError,
    TransportKind,
};
use crate::ratelimit::{RateLimits, Window};
use crate::retry::{self, Decision, RetryPolicy};
use crate::secret::Secret;
use crate::token::{CorpCredentials, MemoryTokenStore, TokenManager, TokenProvider, TokenSource, TokenStore};
use crate::wire::{self, Envelope, Status};

/// A client of the customer group chat API. Cheap to clone: clones share the connection pool, the token
/// cache and the rate budget.
///
/// ```no_run
/// # async fn example() -> Result<(), wecom_groupchat::Error> {
/// use wecom_groupchat::Client;
/// use wecom_groupchat::types::{GetRequest, NeedName};
///
/// let client = Client::builder().corp_credentials("ww0123456789abcdef", "app-secret").build()?;
/// let chat = client.get(&GetRequest::new("wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA").need_name(NeedName::Yes)).await?;
/// println!("{:?}", chat.group_chat.name);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    /// Each endpoint's URL, parsed once (the token is appended per call).
    urls: HashMap<&'static str, url::Url>,
    tokens: TokenManager,
    retry: RetryPolicy,
    /// Where the calls of each endpoint's windows come from.
    budget: Arc<dyn RateBudget>,
    /// Each endpoint's windows (endpoints without any are not limited).
    windows: HashMap<&'static str, Vec<Window>>,
    /// The corp the budget is kept for.
    budget_corp: String,
    max_response_bytes: usize,
    max_response_values: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("tokens", &self.inner.tokens)
            .field("retry", &self.inner.retry)
            .field("budget", &self.inner.budget)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .finish_non_exhaustive()
    }
}

/// Where the client gets access tokens.
#[derive(Clone)]
enum Credentials {
    Fixed(Secret),
    Corp { corp_id: String, secret: Secret },
    Provider(Arc<dyn TokenProvider>),
}

/// Builds a [`Client`]. Defaults: the production base URL, a 5 s connect timeout, a 30 s request timeout,
/// 3 retries with backoff for reads, tokens refreshed 5 minutes before expiry, responses capped at 4 MiB
/// and [`DEFAULT_MAX_RESPONSE_VALUES`] JSON values, WeCom's documented rate limits kept by an in-process
/// [`MemoryBudget`] of the client's own, redirects never followed.
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    store: Option<Arc<dyn TokenStore>>,
    refresh_margin: Duration,
    refresh_lock_ttl: Duration,
    retry: RetryPolicy,
    rate_limits: RateLimits,
    budget: Option<Arc<dyn RateBudget>>,
    budget_corp: Option<String>,
    connect_timeout: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    max_response_values: usize,
    http: Option<reqwest::Client>,
}

/// Default of [`ClientBuilder::max_response_values`]: about four times the largest legitimate answer (a
/// `get` of a 2,000-member chat has some 26,000 values), and at most a few tens of MiB once decoded.
pub const DEFAULT_MAX_RESPONSE_VALUES: usize = 100_000;

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: crate::generated::DEFAULT_BASE_URL.to_string(),
            credentials: None,
            store: None,
            refresh_margin: Duration::from_secs(300),
            refresh_lock_ttl: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::documented(),
            budget: None,
            budget_corp: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_response_bytes: 4 << 20,
            max_response_values: DEFAULT_MAX_RESPONSE_VALUES,
            http: None,
        }
    }
}

impl ClientBuilder {
    /// Sends calls to another server (a simulator, a proxy). Default `https://qyapi.weixin.qq.com`.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Fetches tokens with `gettoken` from the corp id and the secret of the app (the app must be allowed
    /// to call customer-contact APIs). Tokens are cached per (corp id, secret).
    #[must_use]
    pub fn corp_credentials(mut self, corp_id: impl Into<String>, secret: impl Into<Secret>) -> Self {
        self.credentials = Some(Credentials::Corp { corp_id: corp_id.into(), secret: secret.into() });
        self
    }

    /// Uses this access token as is. It cannot be refreshed: a rejection (40014, 42001) is an error.
    #[must_use]
    pub fn access_token(mut self, token: impl Into<Secret>) -> Self {
        self.credentials = Some(Credentials::Fixed(token.into()));
        self
    }

    /// Gets tokens from your own provider (e.g. a central token service).
    #[must_use]
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.credentials = Some(Credentials::Provider(provider));
        self
    }

    /// Keeps tokens in this store (shared by every client given it). Default: a store of this client's own.
    #[must_use]
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Refreshes a token this long before it expires (at most half its lifetime). Default 5 minutes.
    #[must_use]
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// How long one refresher may hold the store's refresh lock before others may take over; it also bounds
    /// one refresh (a `gettoken` slower than this fails rather than outlive the lock). Default 10 s.
    #[must_use]
    pub fn refresh_lock_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_lock_ttl = ttl;
        self
    }

    /// Retry policy for transient failures.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The call-frequency limits the client keeps to, per endpoint: WeCom's documented ones by default
    /// ([`RateLimits::off`] to keep to none: no budget is asked, no 45009 is shared).
    #[must_use]
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Where the calls of those limits come from: a [`RedisBudget`](crate::budget::RedisBudget) shares them
    /// with every instance of a service (and shares the 45009 blocks), a [`MemoryBudget`] with every client
    /// of this process given it. Default: a `MemoryBudget` of this client's own.
    #[must_use]
    pub fn rate_budget(mut self, budget: Arc<dyn RateBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The corp id the budget is kept for (WeCom counts calls per corp). Needed only with an access
    /// token or a token provider of your own: with corp credentials it is their corp id. Without it such a
    /// client keeps a budget of its own app (its provider's cache key, or its fixed token's hash).
    #[must_use]
    pub fn rate_budget_corp(mut self, corp_id: impl Into<String>) -> Self {
        self.budget_corp = Some(corp_id.into());
        self
    }

    /// Timeout for establishing a connection. Default 5 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout for a whole attempt, answer included. Default 30 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest response body accepted; a larger one is a decode error, not an out-of-memory. Default 4 MiB.
    #[must_use]
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Largest number of JSON values (objects, arrays, strings, numbers …) an answer may hold; a larger
    /// one is a decode error before anything is allocated for it. The byte cap alone does not bound
    /// memory: 4 MiB of `{},` decode into over a million structs. Default [`DEFAULT_MAX_RESPONSE_VALUES`].
    #[must_use]
    pub fn max_response_values(mut self, values: usize) -> Self {
        self.max_response_values = values;
        self
    }

    /// Uses this `reqwest` client (its own timeouts and TLS settings then apply). Build it with
    /// `redirect(reqwest::redirect::Policy::none())` and `referer(false)`, as the client's own is: a
    /// followed redirect would carry the token (in the URL, and in `Referer`) to wherever it points.
    #[must_use]
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] when no credentials were given, the base URL is not an http(s) URL, the base URL
    /// is `https` but the crate was built without a TLS feature (`rustls`, `native-tls`) and no
    /// [`http_client`](Self::http_client) was given, or the HTTP stack cannot be set up.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self.base_url.trim_end_matches('/').to_string();
        let https = match url::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => u.scheme() == "https",
            _ => return Err(Error::Config(format!("base URL `{base_url}` is not an http(s) URL without a query"))),
        };
        // Without a TLS backend reqwest fails every https call, each with an error that does not say why.
        // A client of the caller's own may have one: only ours is known to lack it.
        if https && self.http.is_none() && !TLS_BACKEND {
            return Err(Error::Config(format!(
                "base URL `{base_url}` is https, but wecom-groupchat was built without a TLS backend: enable its \
                 `rustls` (default) or `native-tls` feature, or give a reqwest client of your own with \
                 `http_client`"
            )));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.timeout)
                .pool_idle_timeout(Duration::from_secs(60))
                .user_agent(concat!("wecom-groupchat/", env!("CARGO_PKG_VERSION")))
                // Every URL we call carries a secret (the token, or on `gettoken` the corp secret): a followed
                // redirect would hand it, and a `transfer` body, to whatever host the `Location` names.
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .build()
                .map_err(|e| Error::Config(format!("cannot set up HTTP: {}", describe_reqwest(&e))))?,
        };
        // Only the built-in provider's credentials are fixed for the client's life: a custom provider may
        // recover from a configuration error on its next fetch.
        let hold_configuration_errors = matches!(self.credentials, Some(Credentials::Corp { .. }));
        let budget_corp = match (&self.budget_corp, &self.credentials) {
            (Some(corp), _) => corp.clone(),
            (None, Some(Credentials::Corp { corp_id, .. })) => corp_id.clone(),
            (None, Some(Credentials::Provider(p))) => p.cache_key(),
            (None, Some(Credentials::Fixed(token))) => {
                use sha2::Digest;
                format!("token-{}", &hex::encode(sha2::Sha256::digest(token.expose().as_bytes()))[..16])
            }
            (None, None) => String::new(),
        };
        let source = match self.credentials {
            None => {
                return Err(Error::Config(
                    "no credentials: give corp_credentials(corp id, secret), access_token(…) or token_provider(…)"
                        .into(),
                ));
            }
            Some(Credentials::Fixed(token)) => TokenSource::Fixed(token),
            Some(Credentials::Provider(p)) => TokenSource::Provider(p),
            Some(Credentials::Corp { corp_id, secret }) => TokenSource::Provider(Arc::new(CorpCredentials::new(
                corp_id,
                secret,
                http.clone(),
                &base_url,
                self.retry,
                self.max_response_bytes,
            ))),
        };
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new()));
        let tokens =
            TokenManager::new(source, store, self.refresh_margin, self.refresh_lock_ttl, hold_configuration_errors);
        let windows = crate::ratelimit::windows_by_endpoint(&self.rate_limits, crate::endpoints::ALL);
        let budget = self.budget.unwrap_or_else(|| Arc::new(MemoryBudget::default()));
        let mut urls = HashMap::new();
        for info in crate::endpoints::ALL {
            let url = url::Url::parse(&format!("{base_url}{}", info.path))
                .map_err(|e| Error::Config(format!("endpoint `{}`: bad URL: {e}", info.name)))?;
            urls.insert(info.path, url);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                urls,
                tokens,
                retry: self.retry,
                budget,
                windows,
                budget_corp,
                max_response_bytes: self.max_response_bytes,
                max_response_values: self.max_response_values,
            }),
        })
    }
}

/// Whether this build can speak https: one of the TLS features is on.
pub(crate) const TLS_BACKEND: bool = cfg!(any(feature = "rustls", feature = "native-tls"));

/// A request checked against its documented limits and encoded as WeCom will take it: nothing is sent
/// unless this succeeds.
pub(crate) fn prepare<E: Endpoint>(request: &E) -> Result<Bytes, Error> {
    let endpoint = E::INFO.name;
    request.validate().map_err(|error| Error::Validation { endpoint, error })?;
    match wire::encode_request(request) {
        Ok(body) => Ok(Bytes::from(body)),
        Err(wire::RequestEncodingError::Escape(error)) => Err(Error::Validation { endpoint, error }),
        Err(wire::RequestEncodingError::Json(e)) => {
            Err(Error::Protocol { endpoint, message: format!("cannot encode the request: {e}") })
        }
    }
}

/// An HTTP answer, read in full (up to the cap).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
}

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// A valid access token: the cached one, or a fresh one (one fetch at a time).
    ///
    /// # Errors
    /// [`Error::Token`] when no token can be had.
    pub async fn access_token(&self) -> Result<Secret, Error> {
        Ok(self.inner.tokens.token().await?)
    }

    /// Calls the endpoint of `request`: validates it, sends it, retries what may be retried, and decodes
    /// the answer. Every generated endpoint method ends here.
    ///
    /// Reads are retried on transient failures (-1, 45033, HTTP 5xx, timeouts, connection errors) with
    /// exponential backoff and jitter; writes only when the request provably never left (connect failed).
    /// When the API rejects the token (40014, 42001) the token is dropped — only if no one replaced it
    /// already — and the call is replayed once with a fresh one, from the same serialized body.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn call<E: Endpoint>(&self, request: &E) -> Result<E::Response, Error> {
        let body = prepare(request)?;
        self.call_prepared::<E>(body).await
    }

    /// [`Client::call`] with a body [`prepare`]d already (bulk calls check every batch before sending any,
    /// and send those same bytes).
    pub(crate) async fn call_prepared<E: Endpoint>(&self, body: Bytes) -> Result<E::Response, Error> {
        let info = E::INFO;
        let span = tracing::info_span!(
            "wecom.call",
            endpoint = info.name,
            attempt = tracing::field::Empty,
            errcode = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        self.call_loop::<E::Response>(info, body).instrument(span).await
    }

    async fn call_loop<R: serde::de::DeserializeOwned + Envelope>(
        &self,
        info: &'static EndpointInfo,
        body: Bytes,
    ) -> Result<R, Error> {
        let span = tracing::Span::current();
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut retries = 0u32;
        let mut replayed = false;
        loop {
            attempt += 1;
            span.record("attempt", attempt);
            let attempt_started = Instant::now();
            let (result, token) = match self.send(info, &body).await {
                Ok((reply, token)) => (decode::<R>(info, reply, attempt, self.inner.max_response_values), Some(token)),
                Err((error, token)) => (Err(error), token),
            };
            let errcode = match &result {
                Ok(r) => Some(r.errcode()),
                Err(e) => e.code(),
            };
            // A 45009 at the top of the answer blocks the endpoint for everyone sharing the budget (one inside
            // a bulk answer's failed list is one chat's quota: that answer is a success here).
            if let Err(Error::RateLimited(e)) = &result
                && e.sent
            {
                self.record_block(info).await;
            }
            if let Some(code) = errcode {
                span.record("errcode", code);
            }
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            let error = match result {
                Ok(response) => {
                    tracing::debug!(
                        attempt,
                        latency_ms = attempt_started.elapsed().as_millis() as u64,
                        "call succeeded"
                    );
                    return Ok(response);
                }
                Err(error) => error,
            };
            match retry::classify(&error, info.retry) {
                Decision::RefreshAndReplay if !replayed || retries < self.inner.retry.max_retries => {
                    if !self.inner.tokens.can_refresh() {
                        let message = match &error {
                            Error::Api(e) => e.message.clone(),
                            other => other.to_string(),
                        };
                        let code = error.code().unwrap_or_default();
                        return Err(Error::Token(TokenError::CannotRefresh { code, message }));
                    }
                    // The first rejection is replayed at once; a fresh token rejected again (an overlap of old
                    // and new tokens, a flapping server) spends the retry budget, with backoff: never a loop.
                    if replayed {
                        let delay = self.inner.retry.delay(retries);
                        tracing::warn!(
                            attempt,
                            errcode,
                            delay_ms = delay.as_millis() as u64,
                            "fresh token rejected too; retrying"
                        );
                        tokio::time::sleep(delay).await;
                        retries += 1;
                    } else {
                        tracing::info!(attempt, errcode, "token rejected; replaying with a fresh token");
                    }
                    if let Some(token) = &token {
                        self.inner.tokens.invalidate(token).await;
                    }
                    replayed = true;
                }
                Decision::Retry if retries < self.inner.retry.max_retries => {
                    let delay = self.inner.retry.delay(retries);
                    tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, error = %error, "transient failure; retrying");
                    tokio::time::sleep(delay).await;
                    retries += 1;
                }
                _ => {
                    tracing::debug!(attempt, error = %error, "call failed");
                    return Err(error.with_attempts(attempt));
                }
            }
        }
    }

    /// The budget's key of an endpoint.
    fn budget_key(&self, info: &'static EndpointInfo) -> BudgetKey<'_> {
        BudgetKey { base_url: &self.inner.base_url, corp: &self.inner.budget_corp, endpoint: info.name }
    }

    /// Records a 45009 answered for `info`: blocked until the end of its shortest window.
    async fn record_block(&self, info: &'static EndpointInfo) {
        let inner = &self.inner;
        if let Some(shortest) = inner.windows.get(info.name).and_then(|w| w.iter().map(|w| w.period).min()) {
            tracing::warn!(
                endpoint = info.name,
                block_ms = shortest.as_millis() as u64,
                "rate limited: the endpoint is blocked for everyone sharing the budget"
            );
            inner.budget.record_block(&self.budget_key(info), shortest).await;
        }
    }

    /// One attempt: wait for a slot of the rate budget, get a token, send, read the answer (capped).
    /// Returns the token used, so a rejection can invalidate exactly that token.
    async fn send(
        &self,
        info: &'static EndpointInfo,
        body: &Bytes,
    ) -> Result<(Reply, Secret), (Error, Option<Secret>)> {
        let inner = &self.inner;
        // The slot first, then the token: a token taken before a wait may die during it (WeCom drops tokens
        // early), and the call would be spent on a 42001. A refresh between slot and sending (every two
        // hours, a few calls delayed) is what the budget's margin absorbs.
        if let Some(windows) = inner.windows.get(info.name) {
            match inner.budget.acquire(&self.budget_key(info), windows).await {
                Ok(_) => {}
                Err(blocked) => {
                    let message = format!(
                        "not sent: the endpoint is blocked for another {} ms after a {} answer to this or another instance sharing the rate budget",
                        blocked.remaining.as_millis(),
                        crate::codes::API_FREQ_OUT_OF_LIMIT
                    );
                    let error = RateLimitedError {
                        endpoint: info.name,
                        code: crate::codes::API_FREQ_OUT_OF_LIMIT,
                        message,
                        sent: false,
                    };
                    return Err((Error::RateLimited(error), None));
                }
            }
        }
        let token = inner.tokens.token().await.map_err(|e| (Error::Token(e), None))?;
        let mut url = match inner.urls.get(info.path) {
            Some(url) => url.clone(),
            None => url::Url::parse(&format!("{}{}", inner.base_url, info.path))
                .map_err(|e| (Error::Config(format!("endpoint `{}`: bad URL: {e}", info.name)), None))?,
        };
        url.query_pairs_mut().append_pair(crate::generated::TOKEN_QUERY_PARAM, token.expose());
        let builder = match info.method {
            HttpMethod::Post => inner
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
                .body(body.clone()),
            HttpMethod::Get => inner.http.get(url),
        };
        let response = builder.send().await.map_err(|e| (transport_error(info, &e), Some(token.clone())))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err((redirect_error(info, &response), Some(token)));
        }
        let content_type =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = match read_body(response, inner.max_response_bytes).await {
            Ok(body) => body,
            Err(BodyError::TooLarge { limit, partial }) => {
                let error = DecodeError {
                    endpoint: info.name,
                    status,
                    content_type,
                    snippet: error::snippet(&partial),
                    reason: format!("body larger than the {limit}-byte cap"),
                    retry_class: info.retry,
                    truncated: false,
                };
                return Err((Error::Decode(error), Some(token)));
            }
            Err(BodyError::Read(e)) => return Err((transport_error(info, &e), Some(token))),
        };
        Ok((Reply { status, content_type, body }, token))
    }
}

/// Reads an answer as `R`, mapping a non-zero errcode to an error. An answer is a success only when it
/// proves it ([`Envelope::proves_status`]); one with more than `max_values` JSON values is refused before
/// it is decoded.
pub(crate) fn decode<R: serde::de::DeserializeOwned + Envelope>(
    info: &'static EndpointInfo,
    reply: Reply,
    attempts: u32,
    max_values: usize,
) -> Result<R, Error> {
    if !(200..300).contains(&reply.status) {
        return Err(Error::HttpStatus(HttpStatusError {
            endpoint: info.name,
            status: reply.status,
            content_type: reply.content_type,
            snippet: error::snippet(&reply.body),
            retry_class: info.retry,
        }));
    }
    let undecodable = |reply: &Reply, reason: String, truncated: bool| {
        Error::Decode(DecodeError {
            endpoint: info.name,
            status: reply.status,
            content_type: reply.content_type.clone(),
            snippet: error::snippet(&reply.body),
            reason,
            retry_class: info.retry,
            truncated,
        })
    };
    if wire::json_values_upper_bound(&reply.body) > max_values {
        return Err(undecodable(&reply, format!("more than {max_values} JSON values (the client's cap)"), false));
    }
    let status = match serde_json::from_slice::<R>(&reply.body) {
        Ok(response) if response.errcode() == 0 && response.proves_status() => return Ok(response),
        Ok(response) if response.errcode() == 0 => {
            let reason = format!(
                "neither `{}` nor `{}` nor the fields every success carries: not an answer of WeCom (a gateway's?){}",
                crate::generated::ENVELOPE_CODE_FIELD,
                crate::generated::ENVELOPE_MESSAGE_FIELD,
                if info.retry == crate::endpoint::RetryClass::NonIdempotent {
                    "; the write's outcome is unknown"
                } else {
                    ""
                },
            );
            return Err(undecodable(&reply, reason, false));
        }
        Ok(response) => Status::new(response.errcode(), response.errmsg()),
        // An error answer lacks the fields a success has; read just its envelope.
        Err(typed_error) => match serde_json::from_slice::<Status>(&reply.body) {
            Ok(status) if status.errcode != 0 => status,
            _ => {
                // A body cut short (the connection broke inside it) is a transport fault, not a bad answer.
                // An empty body is not: nothing says JSON was on its way.
                let truncated = typed_error.classify() == serde_json::error::Category::Eof
                    && reply.body.trim_ascii_start().starts_with(b"{");
                let reason = if truncated { format!("truncated: {typed_error}") } else { typed_error.to_string() };
                return Err(undecodable(&reply, reason, truncated));
            }
        },
    };
    Err(api_error(info.name, status, attempts))
}

/// A 3xx answer: never followed (it would carry the token elsewhere); named by status and the host it
/// points to, never the whole `Location`, which may hold the token too.
fn redirect_error(info: &'static EndpointInfo, response: &reqwest::Response) -> Error {
    let target = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(|l| match response.url().join(l) {
            Ok(url) => url.host_str().map_or_else(|| "a URL without a host".to_string(), |h| format!("host {h}")),
            Err(_) => "an unreadable URL".to_string(),
        })
        .unwrap_or_else(|| "no Location".to_string());
    Error::Transport(TransportError {
        endpoint: info.name,
        kind: TransportKind::Redirect,
        outcome: Outcome::Unknown,
        retry_class: info.retry,
        message: format!("HTTP {} redirect to {target}; redirects are not followed", response.status().as_u16()),
        attempts: 1,
    })
}

fn api_error(endpoint: &'static str, status: Status, attempts: u32) -> Error {
    if status.errcode == crate::codes::API_FREQ_OUT_OF_LIMIT {
        let message = crate::secret::mask_secrets(&status.errmsg).into_owned();
        Error::RateLimited(RateLimitedError { endpoint, code: status.errcode, message, sent: true })
    } else {
        Error::Api(ApiError::new(endpoint, status.errcode, status.errmsg, attempts))
    }
}

/// Maps a `reqwest` error: connect failures never reached the server; anything later may have.
fn transport_error(info: &'static EndpointInfo, e: &reqwest::Error) -> Error {
    let (kind, outcome) = if e.is_connect() {
        (TransportKind::Connect, Outcome::NotSent)
    } else if e.is_timeout() {
        (TransportKind::Timeout, Outcome::Unknown)
    } else {
        (TransportKind::Connection, Outcome::Unknown)
    };
    Error::Transport(TransportError {
        endpoint: info.name,
        kind,
        outcome,
        retry_class: info.retry,
        message: describe_reqwest(e),
        attempts: 1,
    })
}

/// A `reqwest` error with its causes. The URL is shown without its query, which carries the token (or,
/// for `gettoken`, the secret).
pub(crate) fn describe_reqwest(e: &reqwest::Error) -> String {
    let scrub = |text: String| match e.url() {
        Some(url) if url.query().is_some() => {
            let mut clean = url.clone();
            clean.set_query(None);
            text.replace(url.as_str(), clean.as_str())
        }
        _ => text,
    };
    let mut text = scrub(e.to_string());
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = scrub(s.to_string());
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Why a body could not be read.
pub(crate) enum BodyError {
    /// More than `limit` bytes (the first bytes are kept for the error message).
    TooLarge { limit: usize, partial: Bytes },
    /// The connection failed while reading.
    Read(reqwest::Error),
}

/// Reads a body up to `limit` bytes, refusing more without buffering it.
pub(crate) async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    if let Some(len) = response.content_length()
        && len > limit as u64
    {
        let partial = response.chunk().await.ok().flatten().unwrap_or_default();
        return Err(BodyError::TooLarge { limit, partial });
    }
    // Most answers arrive as one chunk: hand it on as it is. Copying it into a fresh buffer cost a
    // body-sized allocation and copy per call (see docs/benchmarks.md, client overhead).
    let Some(first) = response.chunk().await.map_err(BodyError::Read)? else { return Ok(Bytes::new()) };
    if first.len() > limit {
        return Err(BodyError::TooLarge { limit, partial: first.slice(..error::SNIPPET_BYTES.min(first.len())) });
    }
    let Some(second) = response.chunk().await.map_err(BodyError::Read)? else { return Ok(first) };
    let mut buf = BytesMut::with_capacity(response.content_length().unwrap_or(8 * 1024).min(limit as u64) as usize);
    buf.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buf.len() + chunk.len() > limit {
            buf.extend_from_slice(&chunk[..chunk.len().min(error::SNIPPET_BYTES)]);
            return Err(BodyError::TooLarge { limit, partial: buf.freeze() });
        }
        buf.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(BodyError::Read)?;
    }
    Ok(buf.freeze())
}

/// [`read_body`] with a one-line error, for the token endpoint.
pub(crate) async fn read_capped(response: reqwest::Response, limit: usize) -> Result<Bytes, String> {
    read_body(response, limit).await.map_err(|e| match e {
        BodyError::TooLarge { limit, .. } => format!("answer larger than the {limit}-byte cap"),
        BodyError::Read(e) => describe_reqwest(&e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(base_url: &str) -> ClientBuilder {
        Client::builder().base_url(base_url).access_token("t")
    }

    #[test]
    fn plain_http_needs_no_tls_backend() {
        assert!(builder("http://127.0.0.1:9").build().is_ok());
    }

    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    #[test]
    fn https_without_a_tls_feature_is_refused_at_build() {
        let Err(Error::Config(message)) = builder("https://qyapi.weixin.qq.com").build() else {
            panic!("an https base URL built without a TLS feature");
        };
        assert!(message.contains("`rustls`") && message.contains("`native-tls`"), "{message}");
        // A reqwest client of the caller's own may have a TLS backend of its own.
        let own = reqwest::Client::builder().build().unwrap();
        assert!(builder("https://qyapi.weixin.qq.com").http_client(own).build().is_ok());
    }

    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[test]
    fn https_with_a_tls_feature_builds() {
        assert!(builder("https://qyapi.weixin.qq.com").build().is_ok());
    }
}
