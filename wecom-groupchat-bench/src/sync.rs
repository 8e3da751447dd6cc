//! (3) Full sync: export every chat (list all, then `get` each with bounded concurrency) from a
//! simulator that enforces a per-endpoint call-frequency limit (45009 beyond it) and adds latency,
//! with our client's own limiter set to the same limit. Measures how close to the limit the export
//! runs and whether any 45009 reaches the server or the caller.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use tokio::runtime::Runtime;
use wecom_groupchat::Error;
use wecom_groupchat::ratelimit::{RateLimits, Window};
use wecom_groupchat::types::{GetRequest, ListRequest};
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

impl Plan {
    /// WeCom-like 2,000 calls a minute per endpoint, 10× faster in time (2,000 per 6 s), 20 ms latency,
    /// 10,000 chats; or a smoke run of 300 chats at 200 per second.
    pub fn new(quick: bool) -> Self {
        let (groups, calls, window) =
            if quick { (300, 200, Duration::from_secs(1)) } else { (10_000, 2_000, Duration::from_secs(6)) };
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
    /// Whole export: list all, then every get.
    pub wall: Duration,
    /// The listing part.
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
    let client = host
        .client_builder()
        .rate_limits(RateLimits::uniform([Window { calls: plan.calls, period: plan.window }]))
        .build()
        .map_err(|e| e.to_string())?;
    // The token first, so that the export's clock measures the API calls only.
    client.access_token().await.map_err(|e| e.to_string())?;
    sim.reset_stats();

    let started = Instant::now();
    let ids: Vec<String> = client
        .list_stream(ListRequest::new(plan.page))
        .map_ok(|c| c.chat_id)
        .try_collect()
        .await
        .map_err(|e| format!("listing failed: {e}"))?;
    let list_wall = started.elapsed();
    let listed = ids.len();

    let results: Vec<Result<(), Error>> = stream::iter(ids)
        .map(|id| {
            let client = client.clone();
            async move { client.get(&GetRequest::new(id)).await.map(drop) }
        })
        .buffer_unordered(plan.concurrency)
        .collect()
        .await;
    let wall = started.elapsed();

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
