//! Rate budgets: how many calls a client may make, shared by everyone who shares the budget.
//!
//! WeCom counts calls **per corp and per API** (10,000 a minute and 150,000 an hour at the time of
//! writing; see `rate_limit` in the spec), across every instance of a service, and once a limit is
//! crossed (45009) it blocks that API for the whole corp for the rest of the window. A [`RateBudget`]
//! hands out the calls of those windows:
//!
//! - [`MemoryBudget`] (the default): within one process — every client given the same budget shares it.
//! - [`RedisBudget`] (feature `redis`): across every process using the same Redis, the way the token is
//!   shared; one round trip (a Lua script) per call. When Redis is unreachable each process falls back to
//!   an in-process budget of its share (the limit divided by the expected number of instances).
//!
//! Budgets are keyed by ([`BudgetKey`]) server, corp and endpoint, and take their windows from the
//! client's [`RateLimits`](crate::ratelimit::RateLimits) (WeCom's documented limits by default). How slots
//! are scheduled — paced in the shortest window, counted in the longer ones, first come first served —
//! is described in `docs/rate-budget.md`.
//!
//! A 45009 at the top of an answer (not one inside a bulk answer's `failed_chat_list`, which is one
//! chat's daily quota) **blocks** the endpoint in the budget until the end of its shortest window: every
//! client sharing the budget then waits for the block to end, or fails fast with
//! [`Error::RateLimited`] without sending ([`WhenBlocked`]). The call that got
//! the 45009 itself fails as before: it is not retried.

mod memory;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod schedule;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

pub use memory::MemoryBudget;
#[cfg(feature = "redis")]
pub use redis::{RedisBudget, RedisBudgetOptions};

use crate::error::Error;
use crate::ratelimit::Window;

/// What a budget is kept for: one endpoint of one corp on one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BudgetKey<'a> {
    /// The server's base URL (a staging server has budgets of its own).
    pub base_url: &'a str,
    /// The corp id (WeCom counts per corp, whichever app calls).
    pub corp: &'a str,
    /// The endpoint's name in the spec (`get`, `list` …).
    pub endpoint: &'a str,
}

/// What a call does while its endpoint is blocked after a 45009.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenBlocked {
    /// Wait until the block ends, then take a slot (the default).
    #[default]
    Wait,
    /// Fail at once with [`Error::RateLimited`], sending nothing.
    FailFast,
}

/// Settings every budget takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetOptions {
    /// The share of each limit this budget spends, above 0 and at most 1 (default 1.0): 0.9 leaves a tenth
    /// of the corp's budget to its other systems.
    pub share: f64,
    /// Added to every window (default 500 ms): WeCom counts calls as they arrive, not as they were
    /// scheduled, so calls delayed on their way (a slow connection, a busy process) must not crowd into the
    /// next window. Pacing gives up `margin / window` of the budget: 0.8 % of a minute by default.
    pub margin: Duration,
    /// Waiting or failing fast while an endpoint is blocked.
    pub when_blocked: WhenBlocked,
}

impl Default for BudgetOptions {
    fn default() -> Self {
        BudgetOptions { share: 1.0, margin: Duration::from_millis(500), when_blocked: WhenBlocked::Wait }
    }
}

impl BudgetOptions {
    /// Checks the share (above 0, at most 1) and the margin (less than an hour).
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad value.
    pub fn check(&self) -> Result<(), Error> {
        if !(self.share > 0.0 && self.share <= 1.0) {
            return Err(Error::Config(format!("rate budget share {}: must be above 0 and at most 1", self.share)));
        }
        if self.margin >= Duration::from_secs(3600) {
            return Err(Error::Config(format!("rate budget margin {:?}: must be less than an hour", self.margin)));
        }
        Ok(())
    }

    fn fail_fast(&self) -> bool {
        self.when_blocked == WhenBlocked::FailFast
    }
}

/// A call's slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Acquired {
    /// How long the call waited for it.
    pub waited: Duration,
}

/// The endpoint is blocked (a 45009 was answered to this or another instance) and the budget fails fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Blocked {
    /// How long the block lasts still.
    pub remaining: Duration,
}

/// What a budget did so far, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BudgetStats {
    /// Slots handed out (calls let through).
    pub acquired: u64,
    /// Of those, slots that had to be waited for.
    pub waited: u64,
    /// Of those, slots that waited for a block to end (a 45009 seen by this or another instance).
    pub block_waits: u64,
    /// Calls refused without sending because their endpoint was blocked ([`WhenBlocked::FailFast`]).
    pub failed_fast: u64,
    /// Slots given up because the caller woke too late for them (its process did not run in time): sent
    /// then, the call would have crowded the calls of later slots. It takes a new slot instead.
    pub late: u64,
    /// 45009 answers recorded as blocks.
    pub blocks_recorded: u64,
    /// Slots handed out by the in-process fallback while Redis was unreachable.
    pub fallback: u64,
    /// Times Redis became unreachable.
    pub outages: u64,
    /// Times Redis became reachable again.
    pub recoveries: u64,
}

/// The counters behind [`BudgetStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    acquired: AtomicU64,
    waited: AtomicU64,
    block_waits: AtomicU64,
    failed_fast: AtomicU64,
    late: AtomicU64,
    blocks_recorded: AtomicU64,
    fallback: AtomicU64,
    outages: AtomicU64,
    recoveries: AtomicU64,
}

/// One counter of [`Counters`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Count {
    Acquired,
    Waited,
    BlockWaits,
    FailedFast,
    Late,
    BlocksRecorded,
    // Only a Redis budget falls back, has outages and recovers.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Fallback,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Outages,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Recoveries,
}

impl Counters {
    pub(crate) fn bump(&self, which: Count) {
        let counter = match which {
            Count::Acquired => &self.acquired,
            Count::Waited => &self.waited,
            Count::BlockWaits => &self.block_waits,
            Count::FailedFast => &self.failed_fast,
            Count::Late => &self.late,
            Count::BlocksRecorded => &self.blocks_recorded,
            Count::Fallback => &self.fallback,
            Count::Outages => &self.outages,
            Count::Recoveries => &self.recoveries,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> BudgetStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BudgetStats {
            acquired: get(&self.acquired),
            waited: get(&self.waited),
            block_waits: get(&self.block_waits),
            failed_fast: get(&self.failed_fast),
            late: get(&self.late),
            blocks_recorded: get(&self.blocks_recorded),
            fallback: get(&self.fallback),
            outages: get(&self.outages),
            recoveries: get(&self.recoveries),
        }
    }
}

/// Hands out the calls of an endpoint's windows. Implementations: [`MemoryBudget`], [`RedisBudget`].
///
/// Contract: [`acquire`](RateBudget::acquire) returns when the call may be sent — never more calls in any
/// window than the share of its limit — and callers are served in the order they asked (fair); dropping
/// its future (cancellation) leaves the budget consistent (at worst one call of it unused). A block
/// recorded with [`record_block`](RateBudget::record_block) holds every later call of the key until it
/// ends, or refuses it ([`WhenBlocked::FailFast`]).
#[async_trait]
pub trait RateBudget: Send + Sync + fmt::Debug {
    /// Waits until a call of `key` fits every window of `windows` (the endpoint's limits), and takes it.
    ///
    /// # Errors
    /// [`Blocked`] when the endpoint is blocked and the budget fails fast.
    async fn acquire(&self, key: &BudgetKey<'_>, windows: &[Window]) -> Result<Acquired, Blocked>;

    /// Records that the server answered 45009 for `key`: the endpoint is blocked for `window` from now.
    async fn record_block(&self, key: &BudgetKey<'_>, window: Duration);

    /// What the budget did so far.
    fn stats(&self) -> BudgetStats {
        BudgetStats::default()
    }
}

/// Times a caller that woke too late gives its slot up for a new one; after that it goes, late or not (a
/// process too busy to keep any slot must still make progress).
pub(crate) const LATE_RETRIES: u32 = 2;

/// How late (µs) a caller may wake for its slot and still take it: half the margin, and at least the
/// 2 ms a timer may overrun on an idle machine. Later than that, its call would crowd into the slots after
/// it — the margin is what absorbs such crowding, so it must not be spent on one stall.
pub(crate) fn late_limit(margin: Duration) -> i64 {
    (schedule::micros(margin) / 2).max(2_000)
}

/// A waiter's instant on the budget's monotonic clock: microseconds since `origin`.
pub(crate) fn since(origin: tokio::time::Instant) -> i64 {
    schedule::micros(origin.elapsed())
}

/// The tokio instant `at` microseconds after `origin`.
pub(crate) fn instant(origin: tokio::time::Instant, at: i64) -> tokio::time::Instant {
    origin + schedule::from_micros(at)
}
