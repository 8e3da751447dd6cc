//! The one error type. Every variant says which endpoint failed and carries what a caller needs to act;
//! none carries a secret, an access token or a URL with a token in it.

use std::fmt;

use crate::endpoint::RetryClass;
use crate::error_code::{self, ErrorCodeInfo, ErrorRetry};
use crate::validate::ValidationError;

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request value breaks a documented limit; nothing was sent.
    #[error("{endpoint}: invalid request: {error}")]
    Validation {
        /// Endpoint name.
        endpoint: &'static str,
        /// What is wrong.
        #[source]
        error: ValidationError,
    },
    /// The API answered a non-zero `errcode` (other than 45009, see [`Error::RateLimited`]).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The API answered 45009: the endpoint's call-frequency limit is reached for the rest of its window.
    #[error(transparent)]
    RateLimited(RateLimitedError),
    /// No usable access token: the secret or corp id was rejected, the token endpoint failed, or a
    /// custom provider failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The request failed in transport (connect, timeout, connection reset).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The server answered with an HTTP error status.
    #[error(transparent)]
    HttpStatus(#[from] HttpStatusError),
    /// The body could not be read as the endpoint's response: not JSON, truncated, HTML, too large.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The client is misconfigured (no credentials, a bad base URL).
    #[error("configuration: {0}")]
    Config(String),
    /// The server broke the paging protocol (e.g. returned the same cursor again).
    #[error("{endpoint}: {message}")]
    Protocol {
        /// Endpoint name.
        endpoint: &'static str,
        /// What happened.
        message: String,
    },
}

impl Error {
    /// The errcode, for API, rate-limit and token-rejection errors (of `gettoken`, or of a fixed token).
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Api(e) => Some(e.code),
            Error::RateLimited(e) => Some(e.code),
            Error::Token(TokenError::Rejected { code, .. } | TokenError::CannotRefresh { code, .. }) => Some(*code),
            _ => None,
        }
    }

    /// The endpoint the error belongs to (`gettoken` for token errors).
    pub fn endpoint(&self) -> &'static str {
        match self {
            Error::Validation { endpoint, .. } | Error::Protocol { endpoint, .. } => endpoint,
            Error::Api(e) => e.endpoint,
            Error::RateLimited(e) => e.endpoint,
            Error::Token(_) => "gettoken",
            Error::Config(_) => "",
            Error::Transport(e) => e.endpoint,
            Error::HttpStatus(e) => e.endpoint,
            Error::Decode(e) => e.endpoint,
        }
    }

    /// Whether calling again later may succeed: transient API codes (-1, 45033 …), rate limits, HTTP 5xx,
    /// timeouts and connection failures. Validation errors and configuration errors are not retryable, and
    /// neither is a write that may have reached the server ([`Error::outcome_unknown`]): replaying a
    /// `transfer` or an `add_join_way` could do it twice; look the outcome up first.
    pub fn is_retryable(&self) -> bool {
        if self.outcome_unknown() {
            return false;
        }
        match self {
            Error::Api(e) => matches!(e.info.map(|i| i.retry), Some(ErrorRetry::Backoff | ErrorRetry::Later)),
            Error::RateLimited(_) => true,
            Error::Token(e) => e.is_retryable(),
            Error::Transport(e) => e.kind != TransportKind::Redirect,
            Error::HttpStatus(e) => e.status >= 500,
            Error::Decode(e) => e.truncated,
            Error::Validation { .. } | Error::Protocol { .. } | Error::Config(_) => false,
        }
    }

    /// Records how many times the call was sent, on the variants that report it.
    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        match &mut self {
            Error::Api(e) => e.attempts = attempts,
            Error::Transport(e) => e.attempts = attempts,
            _ => {}
        }
        self
    }

    /// Whether a write may have taken effect although it failed: the request may have reached the server
    /// (timeout, reset, HTTP 5xx, unreadable answer). Always `false` for reads and for errors raised
    /// before anything was sent.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Transport(e) => e.retry_class == RetryClass::NonIdempotent && e.outcome == Outcome::Unknown,
            Error::HttpStatus(e) => e.retry_class == RetryClass::NonIdempotent,
            Error::Decode(e) => e.retry_class == RetryClass::NonIdempotent,
            _ => false,
        }
    }
}

/// A non-zero `errcode` from a business call.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub struct ApiError {
    /// Endpoint name.
    pub endpoint: &'static str,
    /// The errcode.
    pub code: i64,
    /// The errmsg as sent (WeCom appends hints and a help link that vary; decide on `code`).
    pub message: String,
    /// The table row for the code, when the spec lists it.
    pub info: Option<&'static ErrorCodeInfo>,
    /// How many times the call was sent.
    pub attempts: u32,
}

impl ApiError {
    /// Builds the error, looking the code up in the table. Secrets the message quotes are masked.
    pub fn new(endpoint: &'static str, code: i64, message: impl Into<String>, attempts: u32) -> Self {
        let message = crate::secret::mask_secrets(&message.into()).into_owned();
        ApiError { endpoint, code, message, info: error_code::lookup(code), attempts }
    }

    /// The meaning from the error table: `中文 — English`.
    pub fn meaning(&self) -> Option<String> {
        self.info.map(|i| format!("{} — {}", i.zh, i.en))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: errcode {}: {}", self.endpoint, self.code, sanitize_text(self.message.trim()))?;
        if let Some(meaning) = self.meaning() {
            write!(f, " [{meaning}]")?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// 45009: the endpoint's call-frequency limit is reached.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{endpoint}: rate limited (errcode {code}: {}){}; WeCom blocks the endpoint for the rest of the window",
    sanitize_text(message),
    meaning_suffix(*code)
)]
#[non_exhaustive]
pub struct RateLimitedError {
    /// Endpoint name.
    pub endpoint: &'static str,
    /// The errcode (45009).
    pub code: i64,
    /// The errmsg as sent, or, when the call was not sent, why.
    pub message: String,
    /// Whether the call was sent and the server answered 45009. `false`: the client's rate budget knew the
    /// endpoint blocked (a 45009 answered to this or another instance sharing it) and, set to fail fast,
    /// sent nothing.
    pub sent: bool,
}

/// Why no access token could be had.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token endpoint answered a non-zero errcode. With 40001 (bad secret) or 40013 (bad corp id)
    /// this is a configuration error: it is reported at once, never retried.
    #[error("gettoken: errcode {code}: {}{}", sanitize_text(message), meaning_suffix(*code))]
    Rejected {
        /// The errcode.
        code: i64,
        /// The errmsg as sent.
        message: String,
    },
    /// The token endpoint could not be reached or answered something unreadable.
    #[error("gettoken: {0}")]
    Fetch(String),
    /// A fixed access token was rejected and there is no way to get another one.
    #[error(
        "the access token given to the client was rejected (errcode {code}: {}){} and cannot be refreshed; give the corp id and secret instead",
        sanitize_text(message),
        meaning_suffix(*code)
    )]
    CannotRefresh {
        /// The errcode of the rejection (40014, 42001 …).
        code: i64,
        /// The errmsg of the rejection.
        message: String,
    },
    /// A custom token provider failed.
    #[error("token provider: {0}")]
    Provider(String),
    /// Other instances held the refresh lock for too long.
    #[error("timed out waiting for another instance to refresh the access token")]
    LockTimeout,
    /// The token store failed (and is configured to fail rather than fall back).
    #[error("{0}")]
    Store(String),
}

fn meaning_suffix(code: i64) -> String {
    error_code::lookup(code).map(|i| format!(" [{} — {}]", i.zh, i.en)).unwrap_or_default()
}

impl TokenError {
    /// Whether the secret or corp id is wrong (40001, 40013): fix the configuration.
    pub fn is_configuration(&self) -> bool {
        use crate::codes::{INVALID_CORP_ID, INVALID_SECRET};
        matches!(self, TokenError::Rejected { code: INVALID_SECRET | INVALID_CORP_ID, .. })
    }

    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            TokenError::Rejected { code, .. } => {
                matches!(error_code::lookup(*code).map(|i| i.retry), Some(ErrorRetry::Backoff | ErrorRetry::Later))
            }
            TokenError::Fetch(_) | TokenError::LockTimeout | TokenError::Store(_) => true,
            TokenError::CannotRefresh { .. } | TokenError::Provider(_) => false,
        }
    }
}

/// Whether a failed request may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The request never left: connection refused, DNS failure, rate limiter.
    NotSent,
    /// The request may have been processed.
    Unknown,
}

/// What failed in transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// Connecting failed (refused, DNS, TLS handshake).
    Connect,
    /// The connect or request timeout passed.
    Timeout,
    /// The connection broke while sending or receiving.
    Connection,
    /// The server answered with a redirect (3xx), which is never followed: it would carry the access
    /// token (or the corp secret) to the host it names. Not retried.
    Redirect,
}

/// A transport failure. Its message never contains the URL (which carries the token).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{endpoint}: {kind_text}: {message}{}{}", outcome_suffix(*retry_class, *outcome), attempts_suffix(*attempts), kind_text = kind_text(*kind))]
#[non_exhaustive]
pub struct TransportError {
    /// Endpoint name.
    pub endpoint: &'static str,
    /// What failed.
    pub kind: TransportKind,
    /// Whether the request may have reached the server.
    pub outcome: Outcome,
    /// The endpoint's retry class.
    pub retry_class: RetryClass,
    /// What the HTTP stack said, without the URL.
    pub message: String,
    /// How many times the call was sent.
    pub attempts: u32,
}

fn kind_text(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Connect => "cannot connect",
        TransportKind::Timeout => "timed out",
        TransportKind::Connection => "connection failed",
        TransportKind::Redirect => "redirected",
    }
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 { format!(" (after {attempts} attempts)") } else { String::new() }
}

fn outcome_suffix(class: RetryClass, outcome: Outcome) -> &'static str {
    match (class, outcome) {
        (RetryClass::NonIdempotent, Outcome::Unknown) => {
            " (the request may have reached the server: outcome unknown, not retried)"
        }
        _ => "",
    }
}

/// The server answered with an HTTP error status.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{endpoint}: HTTP {status}{} {}", content_type.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), body_excerpt(snippet))]
#[non_exhaustive]
pub struct HttpStatusError {
    /// Endpoint name.
    pub endpoint: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` of the answer.
    pub content_type: Option<String>,
    /// The first bytes of the body, as text.
    pub snippet: String,
    /// The endpoint's retry class.
    pub retry_class: RetryClass,
}

/// A body that could not be read as the endpoint's response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{endpoint}: cannot decode the response (HTTP {status}{}): {reason} {}", content_type.as_deref().map(|c| format!(", {c}")).unwrap_or_default(), body_excerpt(snippet))]
#[non_exhaustive]
pub struct DecodeError {
    /// Endpoint name.
    pub endpoint: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` of the answer.
    pub content_type: Option<String>,
    /// The first bytes of the body, as text.
    pub snippet: String,
    /// Why it could not be decoded.
    pub reason: String,
    /// The endpoint's retry class.
    pub retry_class: RetryClass,
    /// The body ended early (valid JSON so far, cut short): a transport fault, retried for reads.
    pub truncated: bool,
}

fn body_excerpt(snippet: &str) -> String {
    if snippet.is_empty() { "(empty body)".to_string() } else { format!("body starts: {snippet:?}") }
}

/// How many bytes of a body an error shows.
pub(crate) const SNIPPET_BYTES: usize = 200;

/// The first [`SNIPPET_BYTES`] of a body as text, cut at a character boundary, secrets masked (a page that
/// echoes the request URI would show the token). Shown with `{:?}`, so control characters are escaped.
pub(crate) fn snippet(body: &[u8]) -> String {
    let cut = &body[..body.len().min(SNIPPET_BYTES)];
    let text = String::from_utf8_lossy(cut);
    // A multi-byte character cut in half shows as U+FFFD at the end; drop it.
    crate::secret::mask_secrets(text.trim_end_matches('\u{FFFD}')).into_owned()
}

/// Text the server wrote (an `errmsg`), made safe to print: secrets masked and control characters escaped,
/// so a hostile message can neither leak a token into a log nor drive a terminal with escape sequences.
pub fn sanitize_text(text: &str) -> String {
    let masked = crate::secret::mask_secrets(text);
    if !masked.chars().any(char::is_control) {
        return masked.into_owned();
    }
    masked.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    #[test]
    fn api_error_says_code_message_and_meaning() {
        let e = Error::Api(ApiError::new(
            "transfer",
            codes::OWNER_NOT_RESIGNED,
            "the owner of this chat is not resigned",
            1,
        ));
        assert_eq!(
            e.to_string(),
            "transfer: errcode 90500: the owner of this chat is not resigned [群主并未离职 — the owner of this chat has not resigned]"
        );
        assert_eq!(e.code(), Some(codes::OWNER_NOT_RESIGNED));
        assert!(!e.is_retryable());
        assert!(Error::Api(ApiError::new("get", codes::SYSTEM_BUSY, "system busy", 4)).is_retryable());
    }

    #[test]
    fn server_text_is_printed_safely() {
        let e = ApiError::new(
            "get",
            codes::INVALID_PARAMETER,
            "bad \u{1b}[31mred\u{1b}[0m at /x?access_token=SECRETTOKEN",
            1,
        );
        let shown = e.to_string();
        assert!(!shown.contains('\u{1b}') && shown.contains("\\u{1b}[31mred"), "{shown}");
        assert!(!shown.contains("SECRETTOKEN") && shown.contains("access_token=***"), "{shown}");
        let body = b"<html>GET /cgi-bin/gettoken?corpid=ww1&corpsecret=TOPSECRET HTTP/1.1</html>";
        assert!(!snippet(body).contains("TOPSECRET"));
    }

    #[test]
    fn snippets_cut_on_char_boundaries() {
        let body = "群".repeat(100);
        let s = snippet(body.as_bytes());
        assert!(s.len() <= SNIPPET_BYTES);
        assert!(s.chars().all(|c| c == '群'));
    }
}
