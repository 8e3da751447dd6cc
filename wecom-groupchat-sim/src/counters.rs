//! Request counters, for assertions and benchmarks: calls per endpoint (`gettoken` included), 45009
//! answers, tokens issued, answers per errcode and injected faults.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::faults::endpoint_names;
use crate::lock;

/// Name under which token calls are counted.
pub const GETTOKEN: &str = "gettoken";

/// A snapshot of the counters (the JSON of `GET /__sim/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Calls of `gettoken`.
    pub gettoken_calls: u64,
    /// Calls of every endpoint together (`gettoken` included).
    pub total_calls: u64,
    /// Calls per endpoint name; every endpoint is listed, with 0 when never called.
    pub calls: BTreeMap<String, u64>,
    /// Answers with errcode 45009 (rate limited), scripted ones included.
    pub rate_limited: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Tokens still valid now.
    pub live_tokens: u64,
    /// Answers per non-zero top-level errcode.
    pub errcodes: BTreeMap<i64, u64>,
    /// Injected faults per kind (`busy`, `dropped` …).
    pub faults: BTreeMap<String, u64>,
}

impl Stats {
    /// Calls of one endpoint (0 when unknown).
    pub fn calls_of(&self, endpoint: &str) -> u64 {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }

    /// Answers with this errcode.
    pub fn answers_with(&self, errcode: i64) -> u64 {
        self.errcodes.get(&errcode).copied().unwrap_or(0)
    }
}

#[derive(Debug)]
pub(crate) struct Counters {
    names: Vec<&'static str>,
    calls: Vec<AtomicU64>,
    rate_limited: AtomicU64,
    tokens_issued: AtomicU64,
    errcodes: Mutex<BTreeMap<i64, u64>>,
    faults: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub(crate) fn new() -> Self {
        let names = endpoint_names();
        let calls = names.iter().map(|_| AtomicU64::new(0)).collect();
        Counters {
            names,
            calls,
            rate_limited: AtomicU64::new(0),
            tokens_issued: AtomicU64::new(0),
            errcodes: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(BTreeMap::new()),
        }
    }

    pub(crate) fn call(&self, endpoint: &str) {
        if let Some(i) = self.names.iter().position(|n| *n == endpoint) {
            self.calls[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn answered(&self, errcode: i64) {
        if errcode == 0 {
            return;
        }
        if errcode == wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        *lock::mutex(&self.errcodes).entry(errcode).or_default() += 1;
    }

    pub(crate) fn fault(&self, kind: &str) {
        *lock::mutex(&self.faults).entry(kind.to_string()).or_default() += 1;
    }

    pub(crate) fn snapshot(&self, live_tokens: usize) -> Stats {
        let calls: BTreeMap<String, u64> =
            self.names.iter().zip(&self.calls).map(|(n, c)| (n.to_string(), c.load(Ordering::Relaxed))).collect();
        Stats {
            gettoken_calls: calls.get(GETTOKEN).copied().unwrap_or(0),
            total_calls: calls.values().sum(),
            calls,
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            tokens_issued: self.tokens_issued.load(Ordering::Relaxed),
            live_tokens: live_tokens as u64,
            errcodes: lock::mutex(&self.errcodes).clone(),
            faults: lock::mutex(&self.faults).clone(),
        }
    }

    pub(crate) fn reset(&self) {
        for c in &self.calls {
            c.store(0, Ordering::Relaxed);
        }
        self.rate_limited.store(0, Ordering::Relaxed);
        self.tokens_issued.store(0, Ordering::Relaxed);
        lock::mutex(&self.errcodes).clear();
        lock::mutex(&self.faults).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_resets() {
        let c = Counters::new();
        c.call("list");
        c.call("list");
        c.call(GETTOKEN);
        c.call("no-such-endpoint");
        c.answered(wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT);
        c.answered(0);
        c.fault("busy");
        let s = c.snapshot(1);
        assert_eq!(s.calls_of("list"), 2);
        assert_eq!(s.calls_of("transfer"), 0);
        assert!(s.calls.contains_key("statistic_group_by_day"));
        assert_eq!(s.gettoken_calls, 1);
        assert_eq!(s.total_calls, 3);
        assert_eq!(s.rate_limited, 1);
        assert_eq!(s.answers_with(wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT), 1);
        assert_eq!(s.faults["busy"], 1);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Stats>(&json).unwrap(), s);
        c.reset();
        assert_eq!(c.snapshot(0).total_calls, 0);
    }
}
