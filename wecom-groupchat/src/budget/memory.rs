//! [`MemoryBudget`]: the budget of one process.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use super::schedule::{self, Plan, Reservation, State, micros};
use super::{Acquired, Blocked, BudgetKey, BudgetOptions, BudgetStats, Count, Counters, RateBudget};
use crate::error::Error;
use crate::ratelimit::Window;

/// The budget of one process: every client given it (clones share it) shares each endpoint's windows.
/// Each client builds one of its own unless given one ([`ClientBuilder::rate_budget`]).
///
/// [`ClientBuilder::rate_budget`]: crate::ClientBuilder::rate_budget
#[derive(Clone)]
pub struct MemoryBudget {
    inner: Arc<Inner>,
}

struct Inner {
    options: BudgetOptions,
    origin: tokio::time::Instant,
    keys: Mutex<HashMap<String, Entry>>,
    counters: Counters,
}

/// One key's schedule, with the plan of the windows it was last asked for.
struct Entry {
    windows: Vec<Window>,
    plan: Plan,
    state: State,
}

impl fmt::Debug for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBudget").field("options", &self.inner.options).finish_non_exhaustive()
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        Self::with_checked(BudgetOptions::default())
    }
}

impl MemoryBudget {
    /// A budget with these options.
    ///
    /// # Errors
    /// [`Error::Config`] when [`BudgetOptions::check`] refuses them.
    pub fn new(options: BudgetOptions) -> Result<Self, Error> {
        options.check()?;
        Ok(Self::with_checked(options))
    }

    fn with_checked(options: BudgetOptions) -> Self {
        MemoryBudget {
            inner: Arc::new(Inner {
                options,
                origin: tokio::time::Instant::now(),
                keys: Mutex::new(HashMap::new()),
                counters: Counters::default(),
            }),
        }
    }

    fn keys(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn name(key: &BudgetKey<'_>) -> String {
        format!("{}\n{}\n{}", key.base_url, key.corp, key.endpoint)
    }

    /// Takes a slot of `name` at `now` (µs on the budget's clock), and says whether a block was in force
    /// then. `None` when `windows` limit nothing.
    fn reserve(&self, name: &str, windows: &[Window], now: i64) -> Option<(Reservation, bool)> {
        let options = &self.inner.options;
        let mut keys = self.keys();
        let entry = match keys.get_mut(name) {
            Some(entry) if entry.windows == windows => entry,
            _ => {
                let plan = Plan::new(windows, options.share, 1, options.margin)?;
                let state = keys.remove(name).map(|e| e.state).unwrap_or_default();
                keys.entry(name.to_string()).or_insert(Entry { windows: windows.to_vec(), plan, state })
            }
        };
        let blocked = entry.state.blocked_until > now;
        Some((entry.state.reserve(&entry.plan, now, options.fail_fast()), blocked))
    }

    /// Whether a block recorded after a slot was taken covers it (µs on the budget's clock).
    fn blocked_after(&self, name: &str, slot: i64) -> Option<i64> {
        self.keys().get(name).map(|e| e.state.blocked_until).filter(|until| *until > slot)
    }
}

#[async_trait]
impl RateBudget for MemoryBudget {
    async fn acquire(&self, key: &BudgetKey<'_>, windows: &[Window]) -> Result<Acquired, Blocked> {
        let inner = &self.inner;
        let name = Self::name(key);
        let started = super::since(inner.origin);
        let mut block_wait = false;
        let mut late_retries = 0;
        // Each turn sleeps until a block ends (a block is recorded only on a 45009) or gives up a slot it woke
        // too late for (at most LATE_RETRIES times), so this ends.
        loop {
            let now = super::since(inner.origin);
            match self.reserve(&name, windows, now) {
                None => return Ok(Acquired { waited: Duration::ZERO }),
                Some((Reservation::Blocked(until), _)) => {
                    inner.counters.bump(Count::FailedFast);
                    return Err(Blocked { remaining: schedule::from_micros(until - now) });
                }
                Some((Reservation::Slot(slot), blocked)) => {
                    // Sleep only for a slot still ahead: the timer rounds up to the next millisecond, so
                    // sleeping "until now" would cost a call up to a millisecond for nothing.
                    let ahead = slot > super::since(inner.origin);
                    if ahead {
                        tokio::time::sleep_until(super::instant(inner.origin, slot)).await;
                    }
                    // A block recorded while this caller slept (a 45009 answered to a call sent before it):
                    // its slot is given up, and a new one taken after the block (or the call refused).
                    if self.blocked_after(&name, slot).is_some() {
                        block_wait = true;
                        continue; // failing fast, the next reservation refuses it
                    }
                    if ahead
                        && late_retries < super::LATE_RETRIES
                        && super::since(inner.origin) - slot > super::late_limit(inner.options.margin)
                    {
                        late_retries += 1;
                        inner.counters.bump(Count::Late);
                        continue;
                    }
                    inner.counters.bump(Count::Acquired);
                    let waited = schedule::from_micros(super::since(inner.origin) - started);
                    if ahead || block_wait {
                        inner.counters.bump(Count::Waited);
                    }
                    if block_wait || blocked {
                        inner.counters.bump(Count::BlockWaits);
                    }
                    return Ok(Acquired { waited });
                }
            }
        }
    }

    async fn record_block(&self, key: &BudgetKey<'_>, window: Duration) {
        let now = super::since(self.inner.origin);
        let name = Self::name(key);
        let mut keys = self.keys();
        let entry = match keys.get_mut(&name) {
            Some(entry) => entry,
            None => {
                // Never asked for a slot: a schedule that limits nothing but the block (the next `acquire`
                // replaces the plan and keeps the state).
                let windows = vec![Window { calls: u32::MAX, period: window }];
                let Some(plan) = Plan::new(&windows, 1.0, 1, Duration::ZERO) else { return };
                keys.entry(name).or_insert(Entry { windows, plan, state: State::default() })
            }
        };
        entry.state.block(now, micros(window));
        self.inner.counters.bump(Count::BlocksRecorded);
    }

    fn stats(&self) -> BudgetStats {
        self.inner.counters.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: BudgetKey<'static> = BudgetKey { base_url: "http://sim", corp: "ww1", endpoint: "get" };

    fn windows() -> Vec<Window> {
        vec![Window { calls: 10, period: Duration::from_secs(1) }]
    }

    #[tokio::test(start_paused = true)]
    async fn callers_are_paced_in_order_and_a_block_holds_them() {
        let budget = MemoryBudget::new(BudgetOptions { margin: Duration::ZERO, ..BudgetOptions::default() }).unwrap();
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            budget.acquire(&KEY, &windows()).await.unwrap();
        }
        // The paused clock moves only by the sleeps: exactly the pace.
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        budget.record_block(&KEY, Duration::from_secs(1)).await;
        let acquired = budget.acquire(&KEY, &windows()).await.unwrap();
        assert_eq!(acquired.waited, Duration::from_secs(1));
        let stats = budget.stats();
        assert_eq!((stats.acquired, stats.waited, stats.block_waits, stats.blocks_recorded), (4, 3, 1, 1));
        // Other endpoints are not held.
        let other = BudgetKey { endpoint: "list", ..KEY };
        assert_eq!(budget.acquire(&other, &windows()).await.unwrap().waited, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn failing_fast_sends_nothing_while_blocked() {
        let options = BudgetOptions { when_blocked: super::super::WhenBlocked::FailFast, ..BudgetOptions::default() };
        let budget = MemoryBudget::new(options).unwrap();
        budget.acquire(&KEY, &windows()).await.unwrap();
        budget.record_block(&KEY, Duration::from_secs(1)).await;
        let blocked = budget.acquire(&KEY, &windows()).await.unwrap_err();
        assert!(blocked.remaining > Duration::from_millis(900), "{blocked:?}");
        assert_eq!(budget.stats().failed_fast, 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        budget.acquire(&KEY, &windows()).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_block_recorded_while_a_caller_sleeps_holds_it_too() {
        let budget = MemoryBudget::new(BudgetOptions { margin: Duration::ZERO, ..BudgetOptions::default() }).unwrap();
        budget.acquire(&KEY, &windows()).await.unwrap();
        // The next caller's slot is 100 ms away; a 45009 arrives 50 ms into its wait.
        let waiter = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.acquire(&KEY, &windows()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        budget.record_block(&KEY, Duration::from_secs(1)).await;
        let acquired = waiter.await.unwrap().unwrap();
        assert_eq!(acquired.waited, Duration::from_millis(1_050), "held until the block's end");
        assert_eq!(budget.stats().block_waits, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_leaves_its_slot_unused_and_nothing_stuck() {
        let budget = MemoryBudget::new(BudgetOptions { margin: Duration::ZERO, ..BudgetOptions::default() }).unwrap();
        budget.acquire(&KEY, &windows()).await.unwrap();
        // The second caller gives up 10 ms into its 100 ms wait (a timeout drops its future).
        let gave_up = tokio::time::timeout(Duration::from_millis(10), budget.acquire(&KEY, &windows())).await;
        assert!(gave_up.is_err());
        // The third is served after the slot the second left: one call of the budget lost, none overdrawn.
        let third = budget.acquire(&KEY, &windows()).await.unwrap();
        assert_eq!(third.waited, Duration::from_millis(190));
        assert_eq!(budget.stats().acquired, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_wakes_too_late_takes_a_new_slot_instead_of_crowding_the_next() {
        let budget = MemoryBudget::new(BudgetOptions { margin: Duration::ZERO, ..BudgetOptions::default() }).unwrap();
        budget.acquire(&KEY, &windows()).await.unwrap();
        let waiter = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.acquire(&KEY, &windows()).await })
        };
        tokio::task::yield_now().await; // it takes the slot at 100 ms and sleeps
        // The process stalls: the clock jumps 300 ms before the sleeper runs again.
        tokio::time::advance(Duration::from_millis(300)).await;
        let acquired = waiter.await.unwrap().unwrap();
        assert_eq!(acquired.waited, Duration::from_millis(300), "its next slot (200 ms) has come too");
        let stats = budget.stats();
        assert_eq!((stats.late, stats.acquired), (1, 2));
        // The slot after it is 100 ms after the one it took: nothing crowded.
        let start = tokio::time::Instant::now();
        budget.acquire(&KEY, &windows()).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(100));
    }

    #[test]
    fn options_are_checked() {
        for share in [0.0, -0.5, 1.5, f64::NAN] {
            assert!(MemoryBudget::new(BudgetOptions { share, ..BudgetOptions::default() }).is_err(), "{share}");
        }
        assert!(MemoryBudget::new(BudgetOptions { share: 0.9, ..BudgetOptions::default() }).is_ok());
    }
}
