//! The built-in token provider: `gettoken` with a corp id and an app's secret ([`CorpCredentials`]), and
//! the cache key of such an app ([`credentials_key`]).

use crate::generated::token_endpoint;
use crate::types::GettokenResponse;
use crate::wire::Envelope;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{FetchedToken, TokenProvider, lifetime};
use crate::error::TokenError;
use crate::retry::RetryPolicy;
use crate::secret::Secret;

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
    /// The corp id (`corpid`).
    corp_id: String,
    /// The app's secret (`corpsecret`).
    secret: Secret,
    /// The client's HTTP client.
    http: reqwest::Client,
    /// The server, without a trailing slash; part of the cache key.
    base_url: String,
    /// The `gettoken` URL on it.
    url: String,
    /// Backoff for transient failures.
    retry: RetryPolicy,
    /// The largest answer read, in bytes.
    max_body: usize,
}

impl fmt::Debug for CorpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpCredentials").field("corp_id", &self.corp_id).field("secret", &self.secret).finish()
    }
}

impl CorpCredentials {
    /// The provider of the app with this corp id and secret on the server at `base_url`, fetching with
    /// the client's HTTP client, backoff and body cap.
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

    /// One `gettoken` call; an error comes with whether it is transient (worth a retry).
    async fn fetch_once(&self) -> Result<FetchedToken, (TokenError, bool)> {
        let response = self
            .http
            .get(&self.url)
            .query(&token_endpoint::query(&self.corp_id, self.secret.expose()))
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
        let parsed: GettokenResponse = serde_json::from_slice(&body).map_err(|e| {
            let truncated =
                e.classify() == serde_json::error::Category::Eof && body.trim_ascii_start().starts_with(b"{");
            (TokenError::Fetch(format!("unreadable answer ({} bytes): {}", body.len(), e.classify_text())), truncated)
        })?;
        let code = parsed.errcode();
        if code != 0 {
            let transient = matches!(
                crate::error_code::lookup(code).map(|i| i.retry),
                Some(crate::error_code::ErrorRetry::Backoff)
            );
            let message = crate::secret::mask_secrets(parsed.errmsg()).into_owned();
            return Err((TokenError::Rejected { code, message }, transient));
        }
        match (token_endpoint::token(&parsed), token_endpoint::expires_in(&parsed)) {
            (Some(token), Some(expires_in)) if !token.is_empty() => {
                let expires_in = u64::try_from(expires_in)
                    .ok()
                    .map(Duration::from_secs)
                    .filter(|d| lifetime::in_range(*d))
                    .ok_or_else(|| (lifetime::refusal(expires_in), false))?;
                Ok(FetchedToken { token: Secret::new(token.as_str()), expires_in })
            }
            _ => Err((TokenError::Fetch("answer without access_token or expires_in".into()), false)),
        }
    }
}

/// A description of a JSON error that quotes nothing of the body (which may hold the token).
trait ClassifyText {
    /// What kind of error it is, in a few words.
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
}
