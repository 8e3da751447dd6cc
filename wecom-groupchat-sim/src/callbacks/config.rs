//! Where the simulator pushes its events and how: [`CallbackTarget`] (URL, Token, EncodingAESKey, agent
//! id, retries, timeout, backoff, whether API writes push events) and [`CallbackFaults`] (duplicate, drop,
//! delay, reorder).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wecom_groupchat::Secret;
use wecom_groupchat::callback::CallbackCrypto;

/// `AgentID` of the envelope when none is given (the usual id of a corp's first self-built app).
pub const DEFAULT_AGENT_ID: &str = "1000002";
/// Retries of a delivery not answered 2xx in time, when none is given: WeCom's count, by forum reports.
pub const DEFAULT_CALLBACK_RETRIES: u32 = 3;
/// How long a delivery may take before it counts as failed, when none is given: WeCom's 5 s.
pub const DEFAULT_CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The wait before the first retry, when none is given; it doubles for each further retry.
pub const DEFAULT_CALLBACK_BACKOFF: Duration = Duration::from_millis(200);
/// Delivery attempts kept in the log, when no size is given (the oldest are forgotten first).
pub const DEFAULT_CALLBACK_LOG_SIZE: usize = 10 * 1000;
/// Most retries of one delivery.
pub const MAX_CALLBACK_RETRIES: u32 = 10;
/// Deliveries in flight at once (over all chats), when no bound is given.
pub const DEFAULT_CALLBACK_CONCURRENCY: usize = 64;
/// Events queued and not yet finished (over all chats), when no cap is given.
pub const DEFAULT_CALLBACK_QUEUE_CAP: usize = 100 * 1000;

/// The callback URL of the simulated app and how events are delivered to it. The receive id is the
/// simulator's corp id. `Debug` never shows the token or the key.
///
/// ```
/// use std::time::Duration;
/// use wecom_groupchat_sim::{CallbackTarget, SimConfig};
///
/// let target = CallbackTarget::new(
///     "http://127.0.0.1:8080/wecom/callback",
///     "token",
///     "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
/// )
/// .timeout(Duration::from_secs(1))
/// .retries(2);
/// let config = SimConfig::default().callback(target);
/// # drop(config);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct CallbackTarget {
    /// The callback URL (`http` or `https`); the signature's query parameters are appended to its query.
    pub url: String,
    /// The Token of the callback configuration (never logged).
    pub token: Secret,
    /// The EncodingAESKey: 43 base64 characters (never logged).
    pub encoding_aes_key: Secret,
    /// `AgentID` of the envelope. Default [`DEFAULT_AGENT_ID`].
    pub agent_id: String,
    /// Further attempts after a delivery not answered 2xx within `timeout`. Default 3.
    pub retries: u32,
    /// How long an attempt may take (connecting, sending, the answer's status). Default 5 s.
    pub timeout: Duration,
    /// Wait before the first retry, doubled before each further one. Default 200 ms.
    pub backoff: Duration,
    /// Whether API writes push events: a `transfer` (once it settles) or `onjob_transfer` that changes a
    /// chat's owner pushes `change_owner`. Off by default: WeCom documents that API operations push no
    /// callbacks, and nobody has confirmed either way for transfers.
    pub api_writes: bool,
    /// Delivery faults (changeable at run time).
    pub faults: CallbackFaults,
    /// Delivery attempts kept in the log. Default 10,000.
    pub log_size: usize,
    /// Most deliveries in flight at once, over all chats (a chat's events still go one after the
    /// other). Default [`DEFAULT_CALLBACK_CONCURRENCY`].
    pub max_concurrent: usize,
    /// Most events queued and not yet finished (delivered, given up or dropped), over all chats. A
    /// control path under `/__sim/chats` whose event would not fit answers 503 and changes nothing; an
    /// event of an API write (`--callback-api-writes`) that does not fit is logged as given up
    /// (error `queue full`). Default [`DEFAULT_CALLBACK_QUEUE_CAP`].
    pub max_queued: usize,
}

impl fmt::Debug for CallbackTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackTarget")
            .field("url", &redact_url(&self.url))
            .field("token", &"***")
            .field("encoding_aes_key", &"***")
            .field("agent_id", &self.agent_id)
            .field("retries", &self.retries)
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("api_writes", &self.api_writes)
            .field("faults", &self.faults)
            .field("log_size", &self.log_size)
            .field("max_concurrent", &self.max_concurrent)
            .field("max_queued", &self.max_queued)
            .finish()
    }
}

/// The URL without a password it may carry.
pub(crate) fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

impl CallbackTarget {
    /// A target with this URL, Token and EncodingAESKey and the defaults otherwise.
    pub fn new(url: impl Into<String>, token: impl Into<Secret>, encoding_aes_key: impl Into<Secret>) -> Self {
        CallbackTarget {
            url: url.into(),
            token: token.into(),
            encoding_aes_key: encoding_aes_key.into(),
            agent_id: DEFAULT_AGENT_ID.to_string(),
            retries: DEFAULT_CALLBACK_RETRIES,
            timeout: DEFAULT_CALLBACK_TIMEOUT,
            backoff: DEFAULT_CALLBACK_BACKOFF,
            api_writes: false,
            faults: CallbackFaults::default(),
            log_size: DEFAULT_CALLBACK_LOG_SIZE,
            max_concurrent: DEFAULT_CALLBACK_CONCURRENCY,
            max_queued: DEFAULT_CALLBACK_QUEUE_CAP,
        }
    }

    /// Sets the `AgentID` of the envelope.
    #[must_use]
    pub fn agent_id(mut self, agent_id: impl Into<String>) -> Self {
        self.agent_id = agent_id.into();
        self
    }

    /// Sets the number of retries.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Sets the time an attempt may take.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the wait before the first retry.
    #[must_use]
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Makes owner changes by `transfer` and `onjob_transfer` push `change_owner`.
    #[must_use]
    pub fn api_writes(mut self, on: bool) -> Self {
        self.api_writes = on;
        self
    }

    /// Sets the delivery faults.
    #[must_use]
    pub fn faults(mut self, faults: CallbackFaults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets how many attempts the log keeps.
    #[must_use]
    pub fn log_size(mut self, n: usize) -> Self {
        self.log_size = n;
        self
    }

    /// Sets how many deliveries may be in flight at once, over all chats.
    #[must_use]
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n;
        self
    }

    /// Sets how many events may be queued and not yet finished, over all chats.
    #[must_use]
    pub fn max_queued(mut self, n: usize) -> Self {
        self.max_queued = n;
        self
    }

    /// Checks the target and makes its crypto for `corp_id` (the receive id).
    ///
    /// # Errors
    /// A message naming the bad setting (never quoting the token or the key).
    pub(crate) fn check(&self, corp_id: &str) -> Result<(CallbackCrypto, url::Url), String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("callback URL `{}`: {e}", redact_url(&self.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(format!("callback URL `{}`: must be an http or https URL", redact_url(&self.url)));
        }
        if url.scheme() == "https" && !cfg!(any(feature = "rustls", feature = "native-tls")) {
            return Err(format!(
                "callback URL `{}`: https, but wecom-groupchat-sim was built without a TLS backend (its `rustls` or \
                 `native-tls` feature)",
                redact_url(&self.url)
            ));
        }
        if self.token.expose().is_empty() {
            return Err("callback token: must not be empty".into());
        }
        let crypto = CallbackCrypto::new(self.token.clone(), self.encoding_aes_key.expose(), corp_id)
            .map_err(|e| format!("callback AES key (--callback-aes-key): {e}"))?;
        if self.timeout.is_zero() {
            return Err("callback timeout: must be positive".into());
        }
        if self.retries > MAX_CALLBACK_RETRIES {
            return Err(format!("callback retries: {}, at most {MAX_CALLBACK_RETRIES}", self.retries));
        }
        if self.log_size == 0 {
            return Err("callback log size: must be positive".into());
        }
        if self.max_concurrent == 0 || self.max_concurrent > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(format!("callback concurrency: {}, must be positive", self.max_concurrent));
        }
        if self.max_queued == 0 {
            return Err("callback queue cap: must be positive".into());
        }
        self.faults.check()?;
        Ok((crypto, url))
    }
}

/// Faults of event delivery, for testing a receiver's idempotency and ordering. All off by default.
/// Decided per event when it is queued, from the seed, the chat and the event's number within its chat:
/// the same seed gives the same events of a chat the same faults, whatever the timing. JSON of
/// `GET/POST /__sim/callbacks/faults`: `{"duplicate": P, "drop": P, "delay_ms": N, "reorder": P,
/// "reorder_wait_ms": N}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CallbackFaults {
    /// Probability that an event is delivered twice: once more after the first delivery ends, sealed
    /// afresh (new nonce and timestamp, the same message).
    pub duplicate: f64,
    /// Probability that an event is never delivered (logged as dropped).
    pub drop: f64,
    /// Wait before an event's first attempt, in milliseconds (its chat's later events wait behind it).
    pub delay_ms: u64,
    /// Probability that an event swaps places with the next event of its chat (which then goes first).
    /// An event to be swapped waits up to `reorder_wait_ms` for the next one; none coming, it goes alone.
    pub reorder: f64,
    /// How long an event to be reordered waits for the next event of its chat, in milliseconds; `None`
    /// for [`REORDER_WAIT`]. The wait ends as soon as the next event is queued, so a long one costs
    /// nothing when events come in quick succession (tests set it long to be independent of timing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_wait_ms: Option<u64>,
}

/// How long an event to be reordered waits for the next event of its chat.
pub const REORDER_WAIT: Duration = Duration::from_secs(1);

impl CallbackFaults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the probability of a duplicate delivery.
    #[must_use]
    pub fn duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// Sets the probability of an event never delivered.
    #[must_use]
    pub fn drop_events(mut self, p: f64) -> Self {
        self.drop = p;
        self
    }

    /// Sets the wait before each event's first attempt.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets the probability that an event swaps places with the next one of its chat.
    #[must_use]
    pub fn reorder(mut self, p: f64) -> Self {
        self.reorder = p;
        self
    }

    /// Sets how long an event to be reordered waits for the next one of its chat.
    #[must_use]
    pub fn reorder_wait(mut self, wait: Duration) -> Self {
        self.reorder_wait_ms = Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// How long an event to be reordered waits for the next one of its chat.
    pub(crate) fn reorder_wait_duration(&self) -> Duration {
        self.reorder_wait_ms.map_or(REORDER_WAIT, Duration::from_millis)
    }

    /// Checks that every probability lies in 0..=1 and the delay within an hour.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn check(&self) -> Result<(), String> {
        for (name, p) in [("duplicate", self.duplicate), ("drop", self.drop), ("reorder", self.reorder)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("callback fault {name}: {p} is not a probability between 0 and 1"));
            }
        }
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!("callback fault delay_ms: {}, at most {MAX_DELAY_MS}", self.delay_ms));
        }
        if let Some(wait) = self.reorder_wait_ms
            && wait > MAX_DELAY_MS
        {
            return Err(format!("callback fault reorder_wait_ms: {wait}, at most {MAX_DELAY_MS}"));
        }
        Ok(())
    }
}

/// Longest delivery delay: an hour.
const MAX_DELAY_MS: u64 = 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    #[test]
    fn targets_are_checked_without_quoting_secrets() {
        let ok = CallbackTarget::new("http://127.0.0.1:1/cb?x=1", "tok-secret", KEY);
        assert!(ok.check("ww1").is_ok());
        let short = CallbackTarget::new("http://127.0.0.1:1/cb", "tok-secret", "short-key-secret");
        let error = short.check("ww1").unwrap_err();
        assert!(error.contains("43") && error.contains("16"), "{error}");
        assert!(!error.contains("short-key-secret") && !error.contains("tok-secret"), "{error}");
        assert!(CallbackTarget::new("ftp://127.0.0.1/cb", "t", KEY).check("ww1").is_err());
        assert!(CallbackTarget::new("not a url", "t", KEY).check("ww1").is_err());
        assert!(CallbackTarget::new("http://127.0.0.1/cb", "", KEY).check("ww1").is_err());
        assert!(ok.clone().timeout(Duration::ZERO).check("ww1").is_err());
        assert!(ok.clone().max_concurrent(0).check("ww1").is_err());
        assert!(ok.clone().max_queued(0).check("ww1").is_err());
        assert!(ok.clone().faults(CallbackFaults::none().drop_events(1.5)).check("ww1").is_err());
        let debug = format!("{:?}", CallbackTarget::new("http://u:pw-secret@127.0.0.1/cb", "tok-secret", KEY));
        assert!(!debug.contains("tok-secret") && !debug.contains(KEY) && !debug.contains("pw-secret"), "{debug}");
    }

    #[test]
    fn faults_read_their_json() {
        let f: CallbackFaults = serde_json::from_str(r#"{"duplicate":0.5,"delay_ms":20}"#).unwrap();
        assert_eq!(f, CallbackFaults::none().duplicate(0.5).delay(Duration::from_millis(20)));
        assert!(serde_json::from_str::<CallbackFaults>(r#"{"dupe":1}"#).is_err());
        assert!(CallbackFaults::none().reorder(-0.1).check().is_err());
    }
}
