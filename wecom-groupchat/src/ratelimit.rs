//! Which call-frequency limits a client keeps to, per endpoint: WeCom's documented ones by default, so
//! that bulk work stays under them instead of tripping 45009 (which blocks the endpoint for the whole
//! window). The calls of those windows are handed out by a [rate budget](crate::budget), of one process
//! or of a whole fleet.

use std::collections::HashMap;
use std::time::Duration;

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
    /// `calls` per `period`.
    pub fn new(calls: u32, period: Duration) -> Self {
        Window { calls, period }
    }

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

/// Each endpoint's windows under `limits` (endpoints with none left out): what the client asks its budget for.
pub(crate) fn windows_by_endpoint(
    limits: &RateLimits,
    endpoints: &[&'static EndpointInfo],
) -> HashMap<&'static str, Vec<Window>> {
    endpoints
        .iter()
        .map(|info| (info.name, limits.windows_for(info).into_iter().filter(|w| w.calls > 0).collect::<Vec<_>>()))
        .filter(|(_, w)| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_come_from_the_spec_unless_overridden() {
        let get = crate::endpoints::by_name("get").unwrap();
        let list = crate::endpoints::by_name("list").unwrap();
        let documented = windows_by_endpoint(&RateLimits::documented(), &[get, list]);
        assert_eq!(
            documented["get"],
            [Window::per_minute(crate::api::RATE_LIMIT_PER_MINUTE), Window::per_hour(crate::api::RATE_LIMIT_PER_HOUR)]
        );
        let scaled = Window::new(600, Duration::from_secs(6));
        let limits = RateLimits::off().endpoint("get", [scaled]);
        let windows = windows_by_endpoint(&limits, &[get, list]);
        assert_eq!(windows["get"], [scaled]);
        assert!(!windows.contains_key("list"), "other endpoints are not limited");
        assert!(windows_by_endpoint(&RateLimits::off(), &[get]).is_empty());
    }
}
