//! [`RedisBudget`] (feature `redis`): one budget for every process using the same Redis and prefix.
//!
//! - Each (server, corp, endpoint) has one hash, `{prefix}:budget:{corp}:{host}:{endpoint}:{hash of the base
//!   URL}`, holding the schedule of `schedule.rs`; every call runs `reserve.lua` on it once (one round trip,
//!   atomic, on Redis's clock) and sleeps until the slot it was given. A 45009 runs `block.lua`.
//! - When Redis is unreachable each process keeps to its share of the budget in process — the limits
//!   divided by [`RedisBudgetOptions::expected_instances`] — starting after the fleet's last slot it saw
//!   and counting its share of what the fleet had spent in the longer windows; one warning per outage,
//!   one probe of Redis per [`RedisBudgetOptions::retry_after`].
//! - When Redis answers again, each key's first call hands the calls made meanwhile back to the fleet's
//!   schedule (its buckets, its next slot, a block it saw) and holds the fleet's next slot back
//!   [`RedisBudgetOptions::recovery_hold`] after the recovery, the time the other instances need to
//!   notice it and stop spending their local shares.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::schedule::{self, Plan, Reservation, State, micros};
use super::{Acquired, Blocked, BudgetKey, BudgetOptions, BudgetStats, Count, Counters, RateBudget};
use crate::error::Error;
use crate::ratelimit::Window;
use crate::redis_health::{Health, Transition, lock};

/// Settings of a [`RedisBudget`].
#[derive(Debug, Clone)]
pub struct RedisBudgetOptions {
    /// Share, margin and what a blocked call does.
    pub budget: BudgetOptions,
    /// Prefix of every key (default `wecom-groupchat`, as the token store's).
    pub prefix: String,
    /// How many instances share the budget: while Redis is unreachable, each keeps to the limits divided
    /// by this many (default 1).
    pub expected_instances: u32,
    /// Timeout for connecting to Redis (default 1 s).
    pub connect_timeout: Duration,
    /// Timeout for one script (default 1 s).
    pub response_timeout: Duration,
    /// While Redis is unreachable, how long between two attempts to reach it (default 1 s).
    pub retry_after: Duration,
    /// After Redis returns, how long the fleet's next slot is held back (default 2 s): long enough for
    /// every instance to notice (at most [`retry_after`](Self::retry_after) after its next call) and stop
    /// spending its local share.
    pub recovery_hold: Duration,
}

impl Default for RedisBudgetOptions {
    fn default() -> Self {
        RedisBudgetOptions {
            budget: BudgetOptions::default(),
            prefix: "wecom-groupchat".into(),
            expected_instances: 1,
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            retry_after: Duration::from_secs(1),
            recovery_hold: Duration::from_secs(2),
        }
    }
}

/// One budget for every process using the same Redis and prefix (see the [module docs](super)).
#[derive(Clone)]
pub struct RedisBudget {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    options: RedisBudgetOptions,
    /// The clock of the fallback and of every wait (slots from Redis are turned into it on arrival).
    origin: tokio::time::Instant,
    health: Mutex<Health>,
    outages: Mutex<Outages>,
    keys: Mutex<HashMap<String, Key>>,
    reserve: Script,
    block: Script,
    counters: Counters,
}

/// The outages this process saw.
#[derive(Debug, Default)]
struct Outages {
    /// How many began.
    began: u64,
    /// How many ended, and when the last ended (µs on the budget's clock).
    ended: u64,
    ended_at: i64,
}

/// What this process keeps of one key.
#[derive(Debug, Default)]
struct Key {
    /// The windows last asked for, with their plans: the fleet's and the fallback's.
    plans: Option<(Vec<Window>, Plan, Plan)>,
    /// The fallback's schedule, from the first call without Redis until its calls are handed back.
    local: Option<State>,
    /// The fleet's schedule as last seen: when (µs), its next slot (µs), its long windows' counts.
    seen: Option<(i64, i64, Vec<u64>)>,
    /// The end of a block this process knows of (µs).
    blocked_until: i64,
    /// Outages whose calls this key has handed back (or had none to).
    merged: u64,
}

/// The arguments of one `reserve.lua` run, built under the keys' lock.
struct Call {
    args: Vec<i64>,
    /// Whether it hands a fallback's calls back, and for which outages.
    merges: Option<u64>,
    /// The fallback's next slot when the call was built: if the fallback gave slots meanwhile (callers
    /// that did not wait for this probe), its calls are handed back again by the next call — counted
    /// twice rather than lost.
    local_tat: Option<i64>,
    plan: Plan,
}

impl fmt::Debug for RedisBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.inner.client.get_connection_info();
        f.debug_struct("RedisBudget")
            .field("addr", &info.addr().to_string())
            .field("prefix", &self.inner.options.prefix)
            .field("expected_instances", &self.inner.options.expected_instances)
            .field("budget", &self.inner.options.budget)
            .finish_non_exhaustive()
    }
}

impl RedisBudget {
    /// A budget on the Redis at `url` (`redis://[user:password@]host:port/db`, or `rediss://…` for TLS).
    /// Connects lazily, on first use.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that is not a Redis URL or options [`BudgetOptions::check`] refuses.
    pub fn new(url: &str, options: RedisBudgetOptions) -> Result<Self, Error> {
        options.budget.check()?;
        if options.expected_instances == 0 {
            return Err(Error::Config("rate budget: expected instances must be at least 1".into()));
        }
        let client = crate::redis_health::client(url).map_err(|e| Error::Config(format!("rate budget: {e}")))?;
        Ok(RedisBudget {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                options,
                origin: tokio::time::Instant::now(),
                health: Mutex::new(Health::default()),
                outages: Mutex::new(Outages::default()),
                keys: Mutex::new(HashMap::new()),
                reserve: Script::new(include_str!("reserve.lua")),
                block: Script::new(include_str!("block.lua")),
                counters: Counters::default(),
            }),
        })
    }

    /// A budget with the default options.
    ///
    /// # Errors
    /// As [`RedisBudget::new`].
    pub fn open(url: &str) -> Result<Self, Error> {
        Self::new(url, RedisBudgetOptions::default())
    }

    /// The Redis key of `key`: readable (corp, host, endpoint), and exact (a hash of the whole base URL).
    pub fn redis_key(&self, key: &BudgetKey<'_>) -> String {
        let base = key.base_url.trim_end_matches('/');
        let host = url::Url::parse(base)
            .ok()
            .and_then(|u| u.host_str().map(|h| u.port().map_or_else(|| h.to_string(), |p| format!("{h}:{p}"))))
            .unwrap_or_else(|| "?".into());
        let digest = hex::encode(Sha256::digest(base.as_bytes()));
        format!("{}:budget:{}:{host}:{}:{}", self.inner.options.prefix, key.corp, key.endpoint, &digest[..16])
    }

    fn now(&self) -> i64 {
        super::since(self.inner.origin)
    }

    async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let inner = &self.inner;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(inner.options.connect_timeout))
            .set_response_timeout(Some(inner.options.response_timeout))
            .set_min_delay(Duration::from_millis(20))
            .set_number_of_retries(1);
        let create = || async { ConnectionManager::new_lazy_with_config(inner.client.clone(), config) };
        inner.connection.get_or_try_init(create).await.cloned()
    }

    /// Runs `op` on Redis unless Redis is known to be away (then `None` at once); reports an outage once
    /// and a recovery once.
    async fn with_redis<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let retry_after = self.inner.options.retry_after;
        let epoch = lock(&self.inner.health).begin(Instant::now(), retry_after)?;
        let result = match self.connection().await {
            Ok(conn) => op(conn).await,
            Err(e) => Err(e),
        };
        let transition = lock(&self.inner.health).finish(epoch, result.is_ok(), Instant::now(), retry_after);
        match transition {
            Transition::Lost => {
                lock(&self.inner.outages).began += 1;
                self.inner.counters.bump(Count::Outages);
                tracing::warn!(
                    error = %result.as_ref().err().map(ToString::to_string).unwrap_or_default(),
                    expected_instances = self.inner.options.expected_instances,
                    "Redis rate budget unreachable; this instance keeps to its share of the budget in process until it is back"
                );
            }
            Transition::Back => {
                let mut outages = lock(&self.inner.outages);
                (outages.ended, outages.ended_at) = (outages.began, self.now());
                drop(outages);
                self.inner.counters.bump(Count::Recoveries);
                tracing::info!("Redis rate budget reachable again");
            }
            Transition::None => {}
        }
        result.ok()
    }

    /// The arguments of a reservation of `name` at `now`, and whether they hand a fallback's calls back.
    fn call(&self, name: &str, windows: &[Window], now: i64, now_arg: Option<i64>) -> Option<Call> {
        let options = &self.inner.options;
        let (began, ended, ended_at) = {
            let o = lock(&self.inner.outages);
            (o.began, o.ended, o.ended_at)
        };
        let mut keys = lock(&self.inner.keys);
        let key = keys.entry(name.to_string()).or_default();
        let (_, plan, local_plan) = self.plans(key, windows)?;
        let (plan, local_plan) = (plan.clone(), local_plan.clone());
        let mut args = vec![plan.pace, i64::from(options.budget.fail_fast()), plan.keep, now_arg.unwrap_or(-1)];
        let merges = (key.merged < began).then_some(began);
        let debts = match (merges, &key.local) {
            (Some(_), Some(local)) => local.debts(&local_plan, now),
            _ => vec![Vec::new(); plan.long.len()],
        };
        if merges.is_some() {
            // The outage that is ending now (this call is the probe), or one that ended at `ended_at`.
            let hold = micros(options.recovery_hold);
            let hold = if ended < began { hold } else { (ended_at + hold - now).max(0) };
            let local_tat = key.local.as_ref().map_or(0, |l| l.tat - now);
            args.extend([hold, local_tat, key.blocked_until - now]);
        } else {
            args.extend([-1, 0, 0]);
        }
        args.push(plan.long.len() as i64);
        for (w, debts) in plan.long.iter().zip(&debts) {
            args.extend([w.limit as i64, w.span, w.width, debts.len() as i64]);
            for &(end, n) in debts {
                args.extend([end, n as i64]);
            }
        }
        Some(Call { args, merges, local_tat: key.local.as_ref().map(|l| l.tat), plan })
    }

    /// The key's plans for `windows`, made again when the windows change.
    fn plans<'k>(&self, key: &'k mut Key, windows: &[Window]) -> Option<&'k (Vec<Window>, Plan, Plan)> {
        let options = &self.inner.options;
        if key.plans.as_ref().is_none_or(|(w, _, _)| w != windows) {
            let b = &options.budget;
            let plan = Plan::new(windows, b.share, 1, b.margin)?;
            let local = Plan::new(windows, b.share, options.expected_instances, b.margin)?;
            key.plans = Some((windows.to_vec(), plan, local));
        }
        key.plans.as_ref()
    }

    /// Runs `reserve.lua` for `call`; the raw reply.
    async fn run_reserve(&self, redis_key: &str, call: &Call) -> Option<Vec<i64>> {
        let script = &self.inner.reserve;
        self.with_redis(|mut c| async move {
            let mut invocation = script.key(redis_key);
            for (i, a) in call.args.iter().enumerate() {
                // The time is an empty string unless a test gives one.
                if i == 3 && *a < 0 {
                    invocation.arg("");
                } else {
                    invocation.arg(*a);
                }
            }
            invocation.invoke_async::<Vec<i64>>(&mut c).await
        })
        .await
    }

    /// Takes a slot of `key` (on Redis, or from the fallback when Redis is away), and says whether a block
    /// was in force then. `None` when `windows` limit nothing.
    async fn reserve(&self, name: &str, windows: &[Window]) -> Option<(Reservation, bool)> {
        let call = self.call(name, windows, self.now(), None)?;
        if let Some(reply) = self.run_reserve(name, &call).await {
            let now = self.now();
            let mut keys = lock(&self.inner.keys);
            let k = keys.entry(name.to_string()).or_default();
            if let Some(began) = call.merges
                && k.local.as_ref().map(|l| l.tat) == call.local_tat
            {
                k.local = None;
                k.merged = began;
            }
            return Some(match reply.as_slice() {
                [1, left, ..] => {
                    k.blocked_until = k.blocked_until.max(now + left);
                    (Reservation::Blocked(now + left), true)
                }
                [_, wait, left, totals @ ..] => {
                    if *left > 0 {
                        k.blocked_until = k.blocked_until.max(now + left);
                    }
                    let slot = now + wait;
                    let totals = totals.iter().map(|t| u64::try_from(*t).unwrap_or(0)).collect();
                    k.seen = Some((now, slot + call.plan.pace, totals));
                    (Reservation::Slot(slot), *left > 0)
                }
                _ => (Reservation::Slot(now), false),
            });
        }
        // Redis is away: this instance's share, in process.
        let now = self.now();
        let options = &self.inner.options;
        let mut keys = lock(&self.inner.keys);
        let k = keys.entry(name.to_string()).or_default();
        let (_, _, local_plan) = self.plans(k, windows)?.clone();
        let blocked_until = k.blocked_until;
        let seen = k.seen.clone();
        let local = k.local.get_or_insert_with(|| {
            let (at, tat, totals) = seen.unwrap_or((now, now, Vec::new()));
            let mut state = State::seeded(&local_plan, now, tat, at, &totals, options.expected_instances);
            state.block(now, blocked_until - now);
            state
        });
        let blocked = local.blocked_until > now;
        let reservation = local.reserve(&local_plan, now, options.budget.fail_fast());
        if let Reservation::Slot(_) = reservation {
            self.inner.counters.bump(Count::Fallback);
        }
        Some((reservation, blocked))
    }

    /// Whether a block this process learnt of after a slot was taken covers it.
    fn blocked_after(&self, name: &str, slot: i64) -> bool {
        lock(&self.inner.keys).get(name).is_some_and(|k| k.blocked_until > slot)
    }

    /// Runs `reserve.lua` at `now_us` (a time of the test's choosing) and returns its raw reply, without
    /// waiting: for the tests that check it against the in-process schedule.
    #[doc(hidden)]
    pub async fn reserve_at_for_tests(&self, key: &BudgetKey<'_>, windows: &[Window], now_us: i64) -> Option<Vec<i64>> {
        let name = self.redis_key(key);
        let call = self.call(&name, windows, self.now(), Some(now_us))?;
        self.run_reserve(&name, &call).await
    }

    /// Runs `block.lua` at `now_us` (a time of the test's choosing): the block left, in µs.
    #[doc(hidden)]
    pub async fn block_at_for_tests(&self, key: &BudgetKey<'_>, window: Duration, now_us: i64) -> Option<i64> {
        let name = self.redis_key(key);
        let script = &self.inner.block;
        self.with_redis(|mut c| async move {
            script.key(&name).arg(micros(window)).arg(micros(window)).arg(now_us).invoke_async::<i64>(&mut c).await
        })
        .await
    }
}

#[async_trait]
impl RateBudget for RedisBudget {
    async fn acquire(&self, key: &BudgetKey<'_>, windows: &[Window]) -> Result<Acquired, Blocked> {
        let counters = &self.inner.counters;
        let started = self.now();
        let name = self.redis_key(key);
        let mut block_wait = false;
        let mut late_retries = 0;
        // Each turn sleeps until a block ends (a block is recorded only on a 45009) or gives up a slot it woke
        // too late for (at most LATE_RETRIES times), so this ends.
        loop {
            match self.reserve(&name, windows).await {
                None => return Ok(Acquired { waited: Duration::ZERO }),
                Some((Reservation::Blocked(until), _)) => {
                    counters.bump(Count::FailedFast);
                    return Err(Blocked { remaining: schedule::from_micros(until - self.now()) });
                }
                Some((Reservation::Slot(slot), blocked)) => {
                    // Sleep only for a slot still ahead: the timer rounds up to the next millisecond, so
                    // sleeping "until now" would cost a call up to a millisecond for nothing.
                    let ahead = slot > self.now();
                    if ahead {
                        tokio::time::sleep_until(super::instant(self.inner.origin, slot)).await;
                    }
                    // A block this process learnt of while the caller slept: its slot is given up, and a
                    // new one taken after the block (or the call refused).
                    if self.blocked_after(&name, slot) {
                        block_wait = true;
                        continue;
                    }
                    if ahead
                        && late_retries < super::LATE_RETRIES
                        && self.now() - slot > super::late_limit(self.inner.options.budget.margin)
                    {
                        late_retries += 1;
                        counters.bump(Count::Late);
                        continue;
                    }
                    counters.bump(Count::Acquired);
                    if ahead || block_wait {
                        counters.bump(Count::Waited);
                    }
                    if block_wait || blocked {
                        counters.bump(Count::BlockWaits);
                    }
                    return Ok(Acquired { waited: schedule::from_micros(self.now() - started) });
                }
            }
        }
    }

    async fn record_block(&self, key: &BudgetKey<'_>, window: Duration) {
        let name = self.redis_key(key);
        let now = self.now();
        let keep = {
            let mut keys = lock(&self.inner.keys);
            let k = keys.entry(name.clone()).or_default();
            k.blocked_until = k.blocked_until.max(now + micros(window));
            if let Some(local) = &mut k.local {
                local.block(now, micros(window));
            }
            k.plans.as_ref().map_or(micros(window), |(_, plan, _)| plan.keep)
        };
        self.inner.counters.bump(Count::BlocksRecorded);
        let script = &self.inner.block;
        // Redis away: the fallback holds the block (above), and hands it to Redis when it returns.
        self.with_redis(|mut c| async move {
            script.key(&name).arg(micros(window)).arg(keep).arg("").invoke_async::<i64>(&mut c).await
        })
        .await;
    }

    fn stats(&self) -> BudgetStats {
        self.inner.counters.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::schedule::Reservation;

    /// The Redis of the workspace's tests (`WECOM_TEST_REDIS_URL`, which CI sets); `None` elsewhere.
    fn test_redis() -> Option<String> {
        match std::env::var("WECOM_TEST_REDIS_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var_os("CI").is_some() => panic!("WECOM_TEST_REDIS_URL is not set"),
            _ => None,
        }
    }

    /// `reserve.lua` and `block.lua` keep the schedule of `schedule.rs`: the same slots and counts for the
    /// same asks at the same times, bursts, pauses and blocks included.
    #[tokio::test]
    async fn the_lua_schedule_is_the_rust_schedule() {
        let Some(url) = test_redis() else { return };
        let mut options = RedisBudgetOptions {
            prefix: format!("wecom-test:lua-twin:{:016x}", rand::random::<u64>()),
            ..RedisBudgetOptions::default()
        };
        options.budget.margin = Duration::from_millis(7);
        let budget = RedisBudget::new(&url, options.clone()).unwrap();
        let windows = [
            Window::new(50, Duration::from_secs(1)),
            Window::new(400, Duration::from_secs(20)),
            Window::new(900, Duration::from_secs(60)),
        ];
        let plan = Plan::new(&windows, 1.0, 1, options.budget.margin).unwrap();
        let key = BudgetKey { base_url: "http://twin", corp: "ww", endpoint: "get" };
        let mut state = State::default();
        // Redis-like times: µs since 1970.
        let mut now: i64 = 1_700_000_000_000_000;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..3_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            now += match x % 10 {
                0..=5 => 0,
                6..=8 => (x >> 8) as i64 % 40_000,
                _ => (x >> 8) as i64 % 4_000_000,
            };
            if i % 700 == 350 {
                let left = budget.block_at_for_tests(&key, plan.block, now).await.unwrap();
                state.block(now, micros(plan.block));
                assert_eq!(left, state.blocked_until - now);
            }
            let reply = budget.reserve_at_for_tests(&key, &windows, now).await.unwrap();
            let Reservation::Slot(slot) = state.reserve(&plan, now, false) else { panic!("not failing fast") };
            assert_eq!(reply[1], slot - now, "ask {i} at {now}");
            let totals: Vec<i64> = state.totals().iter().map(|t| *t as i64).collect();
            assert_eq!(reply[3..], totals[..], "ask {i} at {now}");
        }
    }

    #[test]
    fn keys_name_corp_host_and_endpoint_and_tell_servers_apart() {
        let budget = RedisBudget::open("redis://127.0.0.1:1/0").unwrap();
        let key = |base_url| BudgetKey { base_url, corp: "ww1", endpoint: "get" };
        let a = budget.redis_key(&key("https://qyapi.weixin.qq.com"));
        assert!(a.starts_with("wecom-groupchat:budget:ww1:qyapi.weixin.qq.com:get:"), "{a}");
        assert_eq!(a, budget.redis_key(&key("https://qyapi.weixin.qq.com/")));
        assert_ne!(a, budget.redis_key(&key("https://qyapi.weixin.qq.com/staging")));
        assert!(RedisBudget::open("http://127.0.0.1:6379").is_err());
        let zero = RedisBudgetOptions { expected_instances: 0, ..RedisBudgetOptions::default() };
        assert!(RedisBudget::new("redis://127.0.0.1:1", zero).is_err());
    }
}
