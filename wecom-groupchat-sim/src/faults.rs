//! Injected faults and rate limits: latency, error answers (-1, 45033), HTTP 502 with an HTML body,
//! truncated or oversized bodies, dropped connections (before or after handling the call), forced token
//! expiry, and per-endpoint
//! call-frequency limits answering 45009.
//!
//! Fraction faults are drawn per request, not per arrival: the draw of a call is a hash of the seed, the
//! endpoint, the request's body and how many times that same body came before. So a given seed gives the
//! same faults to the same requests whatever the order or the concurrency they arrive in (a retry of a
//! request gets a draw of its own), and a soak run with a fixed seed is reproducible. Scripted faults
//! ([`Faults::next`]) come first and are fully deterministic: "the next 2 calls of `list` answer -1".

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use wecom_groupchat::endpoints;

use crate::clock::millis;
use crate::counters::GETTOKEN;
use crate::lock;

/// Default size of an oversized body: 8 MiB, twice the client's default cap.
pub const DEFAULT_OVERSIZE_BYTES: usize = 8 << 20;
/// Largest oversized body: 256 MiB is far past any client's cap, and a bigger one would only exhaust
/// the simulator's memory.
pub const MAX_OVERSIZE_BYTES: usize = 256 << 20;

/// The endpoint names faults and rate limits accept: every endpoint of the spec, and `gettoken`.
pub fn endpoint_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = endpoints::ALL.iter().map(|e| e.name).collect();
    names.push(GETTOKEN);
    names
}

/// Refuses a name that is not an endpoint: a typo would otherwise silently inject nothing.
pub(crate) fn check_endpoint(name: &str) -> Result<(), String> {
    if name == GETTOKEN || endpoints::by_name(name).is_some() {
        Ok(())
    } else {
        Err(format!("unknown endpoint `{name}`; valid names: {}", endpoint_names().join(", ")))
    }
}

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// errcode -1, "system busy".
    Busy,
    /// errcode 45033, concurrency limit.
    Concurrency,
    /// errcode 45009, call-frequency limit (a scripted one; see [`Faults::rate_limit`] for real windows).
    RateLimited,
    /// HTTP 502 with an HTML body, like a gateway in front of the API.
    BadGateway,
    /// The real answer cut in half (HTTP 200, invalid JSON).
    Truncated,
    /// The real answer padded to [`Faults::oversize_bytes`] (HTTP 200, valid JSON, too large).
    Oversized,
    /// The connection is closed without an answer.
    Dropped,
    /// The call is handled (a write takes effect), then the connection is closed before the answer: the
    /// fault that makes a client's "outcome unknown" real.
    LostAnswer,
    /// The caller's token expires now and the call answers 42001 (business endpoints only).
    ExpireToken,
    /// Any errcode, with the `errmsg` of the spec's error table: `{"errcode": 40003}` (scripted only).
    Errcode(i64),
}

impl FaultKind {
    /// The snake_case name, as in JSON and in the counters.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Busy => "busy",
            FaultKind::Concurrency => "concurrency",
            FaultKind::RateLimited => "rate_limited",
            FaultKind::BadGateway => "bad_gateway",
            FaultKind::Truncated => "truncated",
            FaultKind::Oversized => "oversized",
            FaultKind::Dropped => "dropped",
            FaultKind::LostAnswer => "lost_answer",
            FaultKind::ExpireToken => "expire_token",
            FaultKind::Errcode(_) => "errcode",
        }
    }
}

/// At most `calls` calls per fixed `window`; further calls in the window answer 45009 (WeCom blocks the
/// endpoint until the window ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateLimitRule {
    /// Calls allowed per window.
    pub calls: u32,
    /// Window length.
    #[serde(rename = "window_ms", with = "millis")]
    pub window: Duration,
}

impl RateLimitRule {
    /// `calls` per `window`.
    pub fn new(calls: u32, window: Duration) -> Self {
        RateLimitRule { calls, window }
    }

    /// `calls` per minute.
    pub fn per_minute(calls: u32) -> Self {
        Self::new(calls, Duration::from_secs(60))
    }

    /// Parses `CALLS/WINDOW`, the window in seconds or with a unit: `2000/60`, `2000/60s`, `200/6s`,
    /// `10/500ms`, `100/1m`.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (calls, window) =
            text.split_once('/').ok_or_else(|| format!("`{text}`: expected CALLS/WINDOW, e.g. 2000/60s"))?;
        let calls: u32 = calls.trim().parse().map_err(|_| format!("`{text}`: calls must be a whole number"))?;
        let window = window.trim();
        let (number, unit_ms) = if let Some(n) = window.strip_suffix("ms") {
            (n, 1)
        } else if let Some(n) = window.strip_suffix('s') {
            (n, 1000)
        } else if let Some(n) = window.strip_suffix('m') {
            (n, 60_000)
        } else {
            (window, 1000)
        };
        let number: u64 = number.trim().parse().map_err(|_| format!("`{text}`: bad window `{window}`"))?;
        if calls == 0 || number == 0 {
            return Err(format!("`{text}`: calls and window must be positive"));
        }
        let window_ms =
            number.checked_mul(unit_ms).ok_or_else(|| format!("`{text}`: window `{window}` is too long"))?;
        Ok(RateLimitRule::new(calls, Duration::from_millis(window_ms)))
    }
}

/// A fault injected into the next matching call(s), before any random one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScriptedFault {
    /// Endpoint name (`list`, `gettoken` …); `None` for any endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The fault.
    pub fault: FaultKind,
    /// How many calls get it: at least 1. Default 1.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

impl ScriptedFault {
    /// `fault` for the next `count` calls of `endpoint` (any endpoint when `None`).
    pub fn new(endpoint: Option<&str>, fault: FaultKind, count: u32) -> Self {
        ScriptedFault { endpoint: endpoint.map(str::to_string), fault, count }
    }

    /// Checks that the endpoint is a known name, the count at least 1 and an injected errcode not 0.
    ///
    /// # Errors
    /// A message saying what is wrong (for an unknown endpoint, listing the valid names).
    pub fn check(&self) -> Result<(), String> {
        if let Some(endpoint) = &self.endpoint {
            check_endpoint(endpoint)?;
        }
        if self.count == 0 {
            return Err(format!("scripted {} fault: count must be at least 1", self.fault.as_str()));
        }
        if self.fault == FaultKind::Errcode(wecom_groupchat::codes::OK) {
            return Err("scripted errcode fault: errcode 0 is a success, not a fault".to_string());
        }
        Ok(())
    }
}

/// Faults and limits. All off by default. Serialized as the JSON of `GET/POST /__sim/faults`
/// (durations in milliseconds: `latency_ms`, `window_ms`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Faults {
    /// Added to every call (control endpoints excepted).
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// Fraction of calls answering -1 (system busy).
    pub busy_fraction: f64,
    /// Fraction of calls answering 45033 (concurrency limit).
    pub concurrency_fraction: f64,
    /// Fraction of calls answering HTTP 502 with an HTML body.
    pub bad_gateway_fraction: f64,
    /// Fraction of calls whose JSON answer is cut in half.
    pub truncate_fraction: f64,
    /// Fraction of calls whose answer is padded to `oversize_bytes`.
    pub oversize_fraction: f64,
    /// Fraction of calls whose connection is closed without an answer.
    pub drop_fraction: f64,
    /// Fraction of calls handled (writes take effect) whose connection is then closed without the answer.
    pub lost_answer_fraction: f64,
    /// Fraction of business calls whose token is expired on the spot (answer 42001).
    pub expire_token_fraction: f64,
    /// Size of an oversized answer; 0 means [`DEFAULT_OVERSIZE_BYTES`]; at most [`MAX_OVERSIZE_BYTES`].
    pub oversize_bytes: usize,
    /// Endpoints the fraction faults apply to (`list`, `gettoken` …); empty for every endpoint.
    pub endpoints: Vec<String>,
    /// Call-frequency limit applied to every endpoint (`gettoken` included), each with its own window.
    pub rate_limit: Option<RateLimitRule>,
    /// Call-frequency limits of single endpoints, overriding `rate_limit`.
    pub rate_limits: BTreeMap<String, RateLimitRule>,
    /// Scripted faults, taken in order before any random one. Setting faults replaces the queue with
    /// these ([`crate::Simulator::inject`] appends one).
    pub next: Vec<ScriptedFault>,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets the latency.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the fraction of calls answering -1.
    #[must_use]
    pub fn busy(mut self, fraction: f64) -> Self {
        self.busy_fraction = fraction;
        self
    }

    /// Sets the fraction of calls answering 45033.
    #[must_use]
    pub fn concurrency(mut self, fraction: f64) -> Self {
        self.concurrency_fraction = fraction;
        self
    }

    /// Sets the fraction of calls answering HTTP 502.
    #[must_use]
    pub fn bad_gateway(mut self, fraction: f64) -> Self {
        self.bad_gateway_fraction = fraction;
        self
    }

    /// Sets the fraction of truncated answers.
    #[must_use]
    pub fn truncate(mut self, fraction: f64) -> Self {
        self.truncate_fraction = fraction;
        self
    }

    /// Sets the fraction of oversized answers.
    #[must_use]
    pub fn oversize(mut self, fraction: f64) -> Self {
        self.oversize_fraction = fraction;
        self
    }

    /// Sets the fraction of dropped connections.
    #[must_use]
    pub fn drop_connections(mut self, fraction: f64) -> Self {
        self.drop_fraction = fraction;
        self
    }

    /// Sets the fraction of calls handled whose answer is then lost (the connection closed).
    #[must_use]
    pub fn lose_answers(mut self, fraction: f64) -> Self {
        self.lost_answer_fraction = fraction;
        self
    }

    /// Sets the fraction of forced token expiries.
    #[must_use]
    pub fn expire_tokens(mut self, fraction: f64) -> Self {
        self.expire_token_fraction = fraction;
        self
    }

    /// Limits fraction faults to these endpoints.
    #[must_use]
    pub fn only_endpoints(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.endpoints = names.into_iter().map(Into::into).collect();
        self
    }

    /// Limits every endpoint to `rule`.
    #[must_use]
    pub fn rate_limit(mut self, rule: RateLimitRule) -> Self {
        self.rate_limit = Some(rule);
        self
    }

    /// Limits one endpoint to `rule`.
    #[must_use]
    pub fn rate_limit_endpoint(mut self, endpoint: impl Into<String>, rule: RateLimitRule) -> Self {
        self.rate_limits.insert(endpoint.into(), rule);
        self
    }

    /// Adds a scripted fault.
    #[must_use]
    pub fn then(mut self, fault: ScriptedFault) -> Self {
        self.next.push(fault);
        self
    }

    fn fractions(&self) -> [(FaultKind, f64); 8] {
        [
            (FaultKind::Busy, self.busy_fraction),
            (FaultKind::Concurrency, self.concurrency_fraction),
            (FaultKind::BadGateway, self.bad_gateway_fraction),
            (FaultKind::Truncated, self.truncate_fraction),
            (FaultKind::Oversized, self.oversize_fraction),
            (FaultKind::Dropped, self.drop_fraction),
            (FaultKind::LostAnswer, self.lost_answer_fraction),
            (FaultKind::ExpireToken, self.expire_token_fraction),
        ]
    }

    /// Checks that every fraction lies in 0..=1 and that they add up to at most 1 (one fault per call),
    /// that every endpoint name is known (`endpoints`, `rate_limits`, `next`), that scripted counts are
    /// at least 1 and that `oversize_bytes` is at most [`MAX_OVERSIZE_BYTES`].
    ///
    /// # Errors
    /// A message naming the bad value (for an unknown endpoint, listing the valid names).
    pub fn check(&self) -> Result<(), String> {
        let mut sum = 0.0;
        for (kind, f) in self.fractions() {
            if !(0.0..=1.0).contains(&f) {
                return Err(format!("{} fraction {f} is not between 0 and 1", kind.as_str()));
            }
            sum += f;
        }
        if sum > 1.0 + 1e-9 {
            return Err(format!("fault fractions add up to {sum}, more than 1"));
        }
        for rule in self.rate_limit.iter().chain(self.rate_limits.values()) {
            if rule.calls == 0 || rule.window.is_zero() {
                return Err("a rate limit needs positive calls and window".into());
            }
        }
        for name in self.endpoints.iter().chain(self.rate_limits.keys()) {
            check_endpoint(name)?;
        }
        for fault in &self.next {
            fault.check()?;
        }
        if self.oversize_bytes > MAX_OVERSIZE_BYTES {
            return Err(format!("oversize_bytes {} is more than {MAX_OVERSIZE_BYTES}", self.oversize_bytes));
        }
        Ok(())
    }

    pub(crate) fn oversize_len(&self) -> usize {
        if self.oversize_bytes == 0 { DEFAULT_OVERSIZE_BYTES } else { self.oversize_bytes }
    }
}

/// Durations as integer milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[derive(Debug)]
struct WindowState {
    /// Simulator clock, Unix milliseconds.
    started_ms: i64,
    calls: u32,
}

/// Decides the faults of each call.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    faults: RwLock<Faults>,
    scripted: Mutex<VecDeque<ScriptedFault>>,
    /// Drawn once from the seed: the key of every fraction draw.
    draw_key: u64,
    /// Per (endpoint, request) hash, how many times it came: the n-th sending of a request gets a draw of
    /// its own.
    seen: Mutex<HashMap<u64, u32>>,
    windows: Mutex<HashMap<String, WindowState>>,
}

/// FNV-1a of some bytes, continuing from `hash` (stable across Rust versions, unlike `DefaultHasher`).
pub(crate) fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// splitmix64's finaliser: a well-mixed 64-bit value from any input.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl FaultEngine {
    pub(crate) fn new(mut faults: Faults, seed: u64) -> Self {
        let scripted = std::mem::take(&mut faults.next).into();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // A stream of its own: fault decisions never shift the data or the ids.
        rng.set_stream(1);
        FaultEngine {
            faults: RwLock::new(faults),
            scripted: Mutex::new(scripted),
            draw_key: rng.random(),
            seen: Mutex::new(HashMap::new()),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The current faults, with the scripted faults still queued.
    pub(crate) fn get(&self) -> Faults {
        let mut faults = lock::read(&self.faults).clone();
        faults.next = lock::mutex(&self.scripted).iter().cloned().collect();
        faults
    }

    /// Replaces the faults (rate-limit windows restart); the new scripted faults replace the queue.
    pub(crate) fn set(&self, mut faults: Faults) {
        let scripted: VecDeque<_> = std::mem::take(&mut faults.next).into();
        *lock::write(&self.faults) = faults;
        *lock::mutex(&self.scripted) = scripted;
        lock::mutex(&self.windows).clear();
    }

    /// Queues a scripted fault.
    pub(crate) fn push(&self, fault: ScriptedFault) {
        lock::mutex(&self.scripted).push_back(fault);
    }

    pub(crate) fn latency(&self) -> Duration {
        lock::read(&self.faults).latency
    }

    pub(crate) fn oversize_len(&self) -> usize {
        lock::read(&self.faults).oversize_len()
    }

    /// Counts the call (at `now_ms` on the simulator clock) against the endpoint's window; `true` when it
    /// is over the limit (answer 45009).
    pub(crate) fn over_rate_limit(&self, endpoint: &str, now_ms: i64) -> bool {
        let rule = {
            let faults = lock::read(&self.faults);
            match faults.rate_limits.get(endpoint).or(faults.rate_limit.as_ref()) {
                Some(rule) => *rule,
                None => return false,
            }
        };
        let mut windows = lock::mutex(&self.windows);
        let state = windows.entry(endpoint.to_string()).or_insert(WindowState { started_ms: now_ms, calls: 0 });
        if now_ms.saturating_sub(state.started_ms) >= millis(rule.window) {
            *state = WindowState { started_ms: now_ms, calls: 0 };
        }
        state.calls = state.calls.saturating_add(1);
        state.calls > rule.calls
    }

    /// The fault of this call, if any: a queued scripted one for the endpoint, else a draw for this
    /// request (`request`: its body; the same body the n-th time gets the n-th draw of that body).
    /// `business` is false for `gettoken` (which has no token to expire).
    pub(crate) fn decide(&self, endpoint: &str, business: bool, request: &[u8]) -> Option<FaultKind> {
        {
            let mut queue = lock::mutex(&self.scripted);
            let pos = queue.iter().position(|s| {
                s.endpoint.as_deref().is_none_or(|e| e == endpoint) && (business || s.fault != FaultKind::ExpireToken)
            });
            if let Some(pos) = pos {
                let fault = queue[pos].fault;
                if queue[pos].count <= 1 {
                    queue.remove(pos);
                } else {
                    queue[pos].count -= 1;
                }
                return Some(fault);
            }
        }
        let faults = lock::read(&self.faults);
        if !faults.endpoints.is_empty() && !faults.endpoints.iter().any(|e| e == endpoint) {
            return None;
        }
        let fractions = faults.fractions();
        if fractions.iter().all(|(_, f)| *f <= 0.0) {
            return None;
        }
        let key = fnv1a(fnv1a(0xcbf2_9ce4_8422_2325, endpoint.as_bytes()), request);
        let nth = {
            let mut seen = lock::mutex(&self.seen);
            let n = seen.entry(key).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let bits = mix(self.draw_key ^ mix(key ^ u64::from(nth).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        // 53 bits, as `rand` makes an f64 in [0, 1).
        let draw = (bits >> 11) as f64 / (1u64 << 53) as f64;
        let mut edge = 0.0;
        for (kind, f) in fractions {
            edge += f;
            if draw < edge {
                if kind == FaultKind::ExpireToken && !business {
                    return None;
                }
                return Some(kind);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rate_limit_rules() {
        assert_eq!(RateLimitRule::parse("2000/60").unwrap(), RateLimitRule::per_minute(2000));
        assert_eq!(RateLimitRule::parse("2000/60s").unwrap(), RateLimitRule::per_minute(2000));
        assert_eq!(RateLimitRule::parse("200/6s").unwrap().window, Duration::from_secs(6));
        assert_eq!(RateLimitRule::parse("10/500ms").unwrap().window, Duration::from_millis(500));
        assert_eq!(RateLimitRule::parse("1/1m").unwrap().window, Duration::from_secs(60));
        assert!(RateLimitRule::parse("0/60").is_err());
        assert!(RateLimitRule::parse("abc").is_err());
        assert!(RateLimitRule::parse("5/x").is_err());
        let too_long = RateLimitRule::parse(&format!("1/{}m", u64::MAX)).unwrap_err();
        assert!(too_long.contains("too long"), "{too_long}");
    }

    #[test]
    fn same_seed_same_faults() {
        let faults = Faults::default().busy(0.3).concurrency(0.2);
        let draws = |seed| {
            let engine = FaultEngine::new(faults.clone(), seed);
            (0..200).map(|i| engine.decide("list", true, format!("page {}", i % 50).as_bytes())).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let busy = draws(7).iter().filter(|f| **f == Some(FaultKind::Busy)).count();
        assert!((30..=90).contains(&busy), "{busy}");
    }

    #[test]
    fn a_request_gets_the_same_faults_whatever_the_order() {
        let faults = Faults::default().busy(0.3).drop_connections(0.2);
        let requests: Vec<String> = (0..100).map(|i| format!("{{\"chat_id\":\"c{i}\"}}")).collect();
        let run = |order: &[usize]| {
            let engine = FaultEngine::new(faults.clone(), 3);
            let mut by_request = vec![Vec::new(); requests.len()];
            for &i in order {
                by_request[i].push(engine.decide("get", true, requests[i].as_bytes()));
            }
            by_request
        };
        let forward: Vec<usize> = (0..100).chain(0..100).collect();
        let mixed: Vec<usize> = (0..100).rev().chain((0..100).step_by(2)).chain((1..100).step_by(2)).collect();
        assert_eq!(run(&forward), run(&mixed), "the first and second sending of each request");
        let all = run(&forward);
        assert!(all.iter().any(|d| d[0] != d[1]), "a retry draws anew");
    }

    #[test]
    fn scripted_faults_come_first_and_run_out() {
        let engine = FaultEngine::new(Faults::default().then(ScriptedFault::new(Some("list"), FaultKind::Busy, 2)), 1);
        assert_eq!(engine.decide("get", true, b""), None);
        assert_eq!(engine.decide("list", true, b""), Some(FaultKind::Busy));
        assert_eq!(engine.decide("list", true, b""), Some(FaultKind::Busy));
        assert_eq!(engine.decide("list", true, b""), None);
    }

    #[test]
    fn windows_block_until_they_end() {
        let engine = FaultEngine::new(Faults::default().rate_limit_endpoint("get", RateLimitRule::per_minute(3)), 1);
        let limited: Vec<bool> = (0..5).map(|_| engine.over_rate_limit("get", 1000)).collect();
        assert_eq!(limited, [false, false, false, true, true]);
        assert!(!engine.over_rate_limit("list", 1000));
        assert!(engine.over_rate_limit("get", 60_999), "still the same window");
        assert!(!engine.over_rate_limit("get", 61_000), "a new window");
    }

    #[test]
    fn checks_fractions() {
        assert!(Faults::default().busy(0.5).concurrency(0.5).check().is_ok());
        assert!(Faults::default().busy(0.7).concurrency(0.5).check().is_err());
        assert!(Faults::default().busy(-0.1).check().is_err());
        assert!(Faults { oversize_bytes: usize::MAX, ..Faults::default() }.check().is_err());
        assert!(Faults { oversize_bytes: MAX_OVERSIZE_BYTES, ..Faults::default() }.check().is_ok());
    }

    #[test]
    fn endpoint_names_are_checked_everywhere() {
        let error = Faults::default().busy(0.1).only_endpoints(["lsit"]).check().unwrap_err();
        assert!(error.contains("`lsit`") && error.contains("list") && error.contains("gettoken"), "{error}");
        assert!(Faults::default().only_endpoints(["list", "gettoken"]).check().is_ok());
        let limit = RateLimitRule::per_minute(1);
        assert!(Faults::default().rate_limit_endpoint("gett", limit).check().is_err());
        assert!(Faults::default().then(ScriptedFault::new(Some("transfr"), FaultKind::Busy, 1)).check().is_err());
        assert!(Faults::default().then(ScriptedFault::new(None, FaultKind::Busy, 1)).check().is_ok());
    }

    #[test]
    fn a_scripted_fault_needs_a_count() {
        let zero = ScriptedFault::new(Some("list"), FaultKind::Busy, 0);
        assert!(zero.check().unwrap_err().contains("count"));
        assert!(Faults::default().then(zero).check().is_err());
    }

    #[test]
    fn faults_round_trip_as_json() {
        let faults = Faults::default()
            .latency(Duration::from_millis(25))
            .busy(0.1)
            .rate_limit(RateLimitRule::new(200, Duration::from_secs(6)))
            .then(ScriptedFault::new(None, FaultKind::Dropped, 1));
        let json = serde_json::to_value(&faults).unwrap();
        assert_eq!(json["latency_ms"], 25);
        assert_eq!(json["rate_limit"]["window_ms"], 6000);
        let back: Faults = serde_json::from_value(json).unwrap();
        assert_eq!(back, faults);
        let partial: Faults = serde_json::from_str(r#"{"busy_fraction": 0.5}"#).unwrap();
        assert_eq!(partial.busy_fraction, 0.5);
    }
}
