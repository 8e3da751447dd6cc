//! (4) Cold stampede: many concurrent calls from one fresh client (empty token cache) must cause
//! exactly one `gettoken`.

use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use wecom_groupchat::types::GetRequest;
use wecom_groupchat_sim::{DataSource, Faults, Scale, SimConfig};

use crate::host::{self, SimHost};

/// Latency the server adds to every call (`gettoken` included), so that the token fetch is still in
/// flight while every call arrives.
pub const LATENCY: Duration = Duration::from_millis(20);

/// What happened.
#[derive(Debug, Clone)]
pub struct StampedeResult {
    /// Concurrent calls.
    pub calls: usize,
    /// `gettoken` calls the simulator saw.
    pub gettoken_calls: u64,
    /// Calls that succeeded.
    pub succeeded: usize,
    /// From the first call to the last answer.
    pub wall: Duration,
}

/// Runs `calls` concurrent `get`s (distinct chats) from a client that has no token yet.
pub fn run(rt: &Runtime, sim_threads: usize, calls: usize) -> Result<StampedeResult, String> {
    let config = SimConfig::default().data(DataSource::Scale(Scale::groups(calls.max(1))));
    let host = SimHost::start(config, sim_threads)?;
    rt.block_on(async {
        let sim = host.sim();
        // A scout client (its own token cache) finds the chat ids; then the counters start from zero.
        let ids = host::first_chat_ids(&host.client_builder().build().map_err(|e| e.to_string())?, calls).await?;
        sim.set_faults(Faults::default().latency(LATENCY)).map_err(|e| e.to_string())?;
        sim.reset_stats();

        let client = host.client_builder().build().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids.into_iter().cycle().take(calls) {
            let client = client.clone();
            tasks.spawn(async move { client.get(&GetRequest::new(id)).await.is_ok() });
        }
        let mut succeeded = 0;
        while let Some(ok) = tasks.join_next().await {
            succeeded += usize::from(ok.unwrap_or(false));
        }
        Ok(StampedeResult { calls, gettoken_calls: sim.gettoken_calls(), succeeded, wall: started.elapsed() })
    })
}
