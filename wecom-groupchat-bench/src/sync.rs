//! (3) Full sync: export every chat (list every page and, overlapped with it, `get` each chat with
//! bounded concurrency) from a simulator that enforces a per-endpoint call-frequency limit (45009 beyond
//! it) and adds latency, with our client's rate budget (in process) set to the same limit. Measures how
//! close to the limit the export runs and whether any 45009 reaches the server or the caller.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt, TryStreamExt};
use tokio::runtime::Runtime;
use wecom_groupchat::budget::{BudgetOptions, MemoryBudget};
use wecom_groupchat::ratelimit::{RateLimits, Window};
use wecom_groupchat::types::{GetRequest, ListRequest};
use wecom_groupchat::{Client, Error};
use wecom_groupchat_sim::{DataSource, Faults, RateLimitRule, Scale, SimConfig};

use crate::host::SimHost;

/// The export's shape and the server's rules.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Chats in the company.
    pub groups: usize,
    /// Calls allowed per window, per endpoint (server and client alike).
    pub calls: u32,
    /// The window.
    pub window: Duration,
    /// Latency the server adds to every call.
    pub latency: Duration,
    /// `get` calls in flight at most.
    pub concurrency: usize,
    /// Page size of `list`.
    pub page: i64,
}

/// The budget's margin for a window: the default one (for WeCom's minute) scaled with the window, so a
/// window compressed 10× in time gets a margin 10× smaller.
pub fn scaled_margin(window: Duration) -> Duration {
    BudgetOptions::default().margin.mul_f64(window.as_secs_f64() / 60.0)
}

/// Every chat id of the company, listed by a task of its own so that the listing runs ahead of the
/// fetching (one page at a time, as it comes) instead of pausing it at every page.
pub fn listed_ids(client: &Client, page: i64) -> impl Stream<Item = Result<String, Error>> + use<> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = client.clone();
    tokio::spawn(async move {
        let mut pages = std::pin::pin!(client.list_stream(ListRequest::new(page)).map_ok(|c| c.chat_id));
        while let Some(item) = pages.next().await {
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                break;
            }
        }
    });
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

impl Plan {
    /// A minute compressed 5× in time (12 s) at 333 calls a second per endpoint (4,000 per 12 s), 20 ms
    /// latency, 10,000 chats; or a smoke run of 300 chats at 200 per second. (Until the rate budget it was
    /// 2,000 per 6 s: compressing time 10× also shrinks the budget's margin 10×, to 50 ms, less than a
    /// loaded 2-core machine may stall a process.)
    pub fn new(quick: bool) -> Self {
        let (groups, calls, window) =
            if quick { (300, 200, Duration::from_secs(1)) } else { (10_000, 4_000, Duration::from_secs(12)) };
        Plan { groups, calls, window, latency: Duration::from_millis(20), concurrency: 32, page: 1000 }
    }

    /// The limit in calls per second.
    pub fn limit_per_s(&self) -> f64 {
        f64::from(self.calls) / self.window.as_secs_f64()
    }
}

/// What the export did.
#[derive(Debug, Clone)]
pub struct SyncResult {
    /// The plan it ran.
    pub plan: Plan,
    /// Whole export: the listing and every get.
    pub wall: Duration,
    /// The listing part (overlapped with the gets).
    pub list_wall: Duration,
    /// Chats listed.
    pub listed: usize,
    /// Chats fetched with `get`.
    pub fetched: usize,
    /// `get` calls per second over the whole export.
    pub get_rate: f64,
    /// `get_rate` as a share of the limit (1.0 = at the limit).
    pub share_of_limit: f64,
    /// 45009 answers the simulator gave.
    pub rate_limited_answers: u64,
    /// Calls the simulator received (retries included), gettoken excluded.
    pub server_calls: u64,
    /// Errors handed to the caller.
    pub errors: usize,
    /// 45009 errors handed to the caller.
    pub rate_limited_errors: usize,
    /// The first error, if any.
    pub first_error: Option<String>,
}

/// Runs the export.
pub fn run(rt: &Runtime, sim_threads: usize, plan: Plan) -> Result<SyncResult, String> {
    let faults = Faults::default().latency(plan.latency).rate_limit(RateLimitRule::new(plan.calls, plan.window));
    let config = SimConfig::default().data(DataSource::Scale(Scale::groups(plan.groups))).faults(faults);
    let host = SimHost::start(config, sim_threads)?;
    rt.block_on(export(&host, plan))
}

async fn export(host: &SimHost, plan: Plan) -> Result<SyncResult, String> {
    let sim = host.sim();
    let budget = MemoryBudget::new(BudgetOptions { margin: scaled_margin(plan.window), ..BudgetOptions::default() })
        .map_err(|e| e.to_string())?;
    let client = host
        .client_builder()
        .rate_limits(RateLimits::uniform([Window::new(plan.calls, plan.window)]))
        .rate_budget(Arc::new(budget))
        .build()
        .map_err(|e| e.to_string())?;
    // The token first, so that the export's clock measures the API calls only.
    client.access_token().await.map_err(|e| e.to_string())?;
    sim.reset_stats();

    let started = Instant::now();
    let list_wall = Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let listed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (seen, done) = (listed.clone(), list_wall.clone());
    let ids = listed_ids(&client, plan.page)
        .inspect(move |id| {
            if id.is_ok() {
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *done.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = started.elapsed();
            }
        })
        .boxed();
    let results: Vec<Result<(), Error>> = ids
        .map(|id| {
            let client = client.clone();
            async move { client.get(&GetRequest::new(id?)).await.map(drop) }
        })
        .buffer_unordered(plan.concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let list_wall = *list_wall.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let listed = listed.load(std::sync::atomic::Ordering::Relaxed);

    let fetched = results.iter().filter(|r| r.is_ok()).count();
    let errors: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let stats = sim.stats();
    let get_rate = fetched as f64 / wall.as_secs_f64();
    Ok(SyncResult {
        plan,
        wall,
        list_wall,
        listed,
        fetched,
        get_rate,
        share_of_limit: get_rate / plan.limit_per_s(),
        rate_limited_answers: stats.rate_limited,
        server_calls: stats.total_calls - stats.gettoken_calls,
        errors: errors.len(),
        rate_limited_errors: errors.iter().filter(|e| matches!(e, Error::RateLimited(_))).count(),
        first_error: errors.first().map(|e| e.to_string()),
    })
}
