//! Optional client-side rate limiting, per endpoint, so that bulk work stays under WeCom's
//! call-frequency limits instead of tripping 45009 (which blocks the endpoint for the whole window).

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::endpoint::EndpointInfo;

/// At most `calls` calls in any `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Calls allowed.
    pub calls: u32,
    /// Length of the window.
    pub period: Duration,
}

impl Window {
    /// `calls` per minute.
    pub fn per_minute(calls: u32) -> Self {
        Window { calls, period: Duration::from_secs(60) }
    }

    /// `calls` per hour.
    pub fn per_hour(calls: u32) -> Self {
        Window { calls, period: Duration::from_secs(3600) }
    }
}

/// Which limits the client applies to itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    mode: Mode,
    overrides: HashMap<String, Vec<Window>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Off,
    /// Each endpoint's documented per-corp limits, from the spec.
    Documented,
    /// The same windows for every endpoint.
    Uniform(Vec<Window>),
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::documented()
    }
}

impl RateLimits {
    /// No client-side limiting.
    pub fn off() -> Self {
        RateLimits { mode: Mode::Off, overrides: HashMap::new() }
    }

    /// WeCom's documented per-corp limits of each endpoint (10,000 calls a minute and 150,000 an hour
    /// at the time of writing; see the spec).
    pub fn documented() -> Self {
        RateLimits { mode: Mode::Documented, overrides: HashMap::new() }
    }

    /// The same windows for every endpoint.
    pub fn uniform(windows: impl IntoIterator<Item = Window>) -> Self {
        RateLimits { mode: Mode::Uniform(windows.into_iter().collect()), overrides: HashMap::new() }
    }

    /// Other windows for one endpoint.
    #[must_use]
    pub fn endpoint(mut self, name: &str, windows: impl IntoIterator<Item = Window>) -> Self {
        self.overrides.insert(name.to_string(), windows.into_iter().collect());
        self
    }

    fn windows_for(&self, info: &EndpointInfo) -> Vec<Window> {
        if let Some(w) = self.overrides.get(info.name) {
            return w.clone();
        }
        match &self.mode {
            Mode::Off => Vec::new(),
            Mode::Documented => {
                vec![Window::per_minute(info.rate_limit.per_minute), Window::per_hour(info.rate_limit.per_hour)]
            }
            Mode::Uniform(w) => w.clone(),
        }
    }
}

/// The limiters of one client, one set per endpoint.
pub(crate) struct Limiter {
    per_endpoint: HashMap<&'static str, Vec<DefaultDirectRateLimiter>>,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter").field("endpoints", &self.per_endpoint.len()).finish()
    }
}

impl Limiter {
    pub(crate) fn new(limits: &RateLimits, endpoints: &[&'static EndpointInfo]) -> Self {
        let per_endpoint = endpoints
            .iter()
            .map(|info| (info.name, limits.windows_for(info).into_iter().filter_map(limiter).collect::<Vec<_>>()))
            .filter(|(_, l)| !l.is_empty())
            .collect();
        Limiter { per_endpoint }
    }

    /// Waits until a call to `endpoint` fits every window.
    pub(crate) async fn acquire(&self, endpoint: &str) {
        if let Some(limiters) = self.per_endpoint.get(endpoint) {
            for l in limiters {
                l.until_ready().await;
            }
        }
    }
}

/// A limiter that never allows more than `calls` in any `period`: a burst of 5 % of the window, then
/// the rest spread evenly, so burst + refill stays within the window.
fn limiter(w: Window) -> Option<DefaultDirectRateLimiter> {
    let calls = NonZeroU32::new(w.calls)?;
    let burst = (calls.get() / 20).max(1);
    let steady = calls.get().saturating_sub(burst).max(1);
    let quota = Quota::with_period(w.period / steady)?.allow_burst(NonZeroU32::new(burst)?);
    Some(RateLimiter::direct(quota))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn limits_calls_within_a_window() {
        let info = crate::endpoints::by_name("get").unwrap();
        let limits = RateLimits::off().endpoint("get", [Window { calls: 20, period: Duration::from_millis(400) }]);
        let limiter = Limiter::new(&limits, &[info]);
        let start = Instant::now();
        for _ in 0..20 {
            limiter.acquire("get").await;
        }
        // 1 call of burst, then 19 spread over 400 ms: the 20th cannot come before ~380 ms.
        assert!(start.elapsed() >= Duration::from_millis(300), "{:?}", start.elapsed());
        // Other endpoints are not limited.
        assert!(!limiter.per_endpoint.contains_key("list"));
    }
}
