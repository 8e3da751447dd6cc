//! When a failed call is sent again. One classifier, fed by the endpoint's retry class (from the spec)
//! and the error code's retry class (from the error table), decides for every endpoint.

use std::time::Duration;

use crate::endpoint::RetryClass;
use crate::error::{Error, Outcome, TransportKind};
use crate::error_code::ErrorRetry;

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (WeCom's docs: no more than 3 for "system busy"). 0 turns retries off.
    pub max_retries: u32,
    /// Backoff before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Randomise each backoff between half and all of its value, so that many clients do not retry in step.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..Self::default() }
    }

    /// Sets the number of retries.
    #[must_use]
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first and the longest backoff.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The wait before retry number `retry` (0-based): exponential, capped, with jitter.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(2u32.saturating_pow(retry.min(16)));
        let capped = exp.min(self.max_backoff);
        if self.jitter && !capped.is_zero() {
            let half = capped / 2;
            half + capped.mul_f64(rand::random::<f64>() * 0.5)
        } else {
            capped
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send the same body again after a backoff.
    Retry,
    /// The token was rejected: invalidate it, get a new one and replay once.
    RefreshAndReplay,
    /// Give up and report the error.
    Fail,
}

/// The one place that decides whether an error is worth another attempt.
pub(crate) fn classify(error: &Error, class: RetryClass) -> Decision {
    let read = class == RetryClass::Idempotent;
    match error {
        Error::Api(e) => match e.info.map(|i| i.retry) {
            // The server refused the token, so it did not act on the request: safe for writes too.
            Some(ErrorRetry::RefreshToken) => Decision::RefreshAndReplay,
            Some(ErrorRetry::Backoff) if read => Decision::Retry,
            _ => Decision::Fail,
        },
        // A redirect will redirect again; following it is what we refuse to do.
        Error::Transport(e) if e.kind == TransportKind::Redirect => Decision::Fail,
        Error::Transport(e) => match e.outcome {
            Outcome::NotSent => Decision::Retry,
            Outcome::Unknown if read => Decision::Retry,
            Outcome::Unknown => Decision::Fail,
        },
        Error::HttpStatus(e) if read && e.status >= 500 => Decision::Retry,
        // A body cut short is a connection that broke inside the answer, not an answer to give up on.
        Error::Decode(e) if read && e.truncated => Decision::Retry,
        _ => Decision::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::error::ApiError;

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy { jitter: false, ..RetryPolicy::default() };
        assert_eq!(p.delay(0), Duration::from_millis(200));
        assert_eq!(p.delay(1), Duration::from_millis(400));
        assert_eq!(p.delay(10), Duration::from_secs(5));
        let j = RetryPolicy::default();
        for retry in 0..5 {
            let d = j.delay(retry);
            let full = p.delay(retry);
            assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
        }
    }

    #[test]
    fn writes_are_not_retried_on_busy_but_reads_are() {
        let busy = Error::Api(ApiError::new("x", codes::SYSTEM_BUSY, "system busy", 1));
        assert_eq!(classify(&busy, RetryClass::Idempotent), Decision::Retry);
        assert_eq!(classify(&busy, RetryClass::NonIdempotent), Decision::Fail);
        let expired = Error::Api(ApiError::new("x", codes::ACCESS_TOKEN_EXPIRED, "expired", 1));
        assert_eq!(classify(&expired, RetryClass::NonIdempotent), Decision::RefreshAndReplay);
        let limited = Error::Api(ApiError::new("x", codes::API_FREQ_OUT_OF_LIMIT, "freq", 1));
        assert_eq!(classify(&limited, RetryClass::Idempotent), Decision::Fail);
    }
}
