//! Where things run: the simulator on a runtime of its own, the clients on another.
//!
//! Separate runtimes keep a busy client from delaying the simulator's executor (and the reverse): each
//! side gets its own worker threads, and the OS shares the machine's cores between them.

use tokio::runtime::{Builder, Runtime};
use wecom_groupchat::ratelimit::RateLimits;
use wecom_groupchat::{Client, ClientBuilder};
use wecom_groupchat_sim::{SimConfig, Simulator};

/// Name of the simulator's threads (how [`crate::cputime`] tells them apart).
pub const SIM_THREAD_NAME: &str = "sim";

/// The runtimes' sizes.
#[derive(Debug, Clone, Copy)]
pub struct Threads {
    /// Worker threads of the simulator's runtime.
    pub sim: usize,
    /// Worker threads of the clients' runtime.
    pub client: usize,
}

/// A runtime for the client side.
pub fn client_runtime(threads: usize) -> Result<Runtime, String> {
    Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("client")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the client runtime: {e}"))
}

/// A simulator serving from its own runtime. Stops when dropped.
#[derive(Debug)]
pub struct SimHost {
    sim: Option<Simulator>,
    runtime: Option<Runtime>,
}

impl SimHost {
    /// Builds the company and starts serving on a free loopback port. Call it outside any runtime.
    pub fn start(config: SimConfig, threads: usize) -> Result<SimHost, String> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name(SIM_THREAD_NAME)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the simulator runtime: {e}"))?;
        let sim = runtime.block_on(Simulator::start(config)).map_err(|e| format!("cannot start the simulator: {e}"))?;
        Ok(SimHost { sim: Some(sim), runtime: Some(runtime) })
    }

    /// The simulator.
    pub fn sim(&self) -> &Simulator {
        self.sim.as_ref().expect("present until dropped")
    }

    /// A client of this simulator as the benchmarks configure it: its corp credentials (one `gettoken`,
    /// then the cached token), client-side rate limits off; every other setting is the default.
    pub fn client_builder(&self) -> ClientBuilder {
        let sim = self.sim();
        Client::builder()
            .base_url(sim.base_url())
            .corp_credentials(sim.corp_id(), sim.corp_secret())
            .rate_limits(RateLimits::off())
    }
}

impl Drop for SimHost {
    fn drop(&mut self) {
        // Dropping the simulator tells its server to stop; the runtime then goes without blocking, so a
        // host may be dropped anywhere (even inside another runtime).
        drop(self.sim.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The first `n` chat ids of the simulator's company, in listing order (with [`Scale`] data the first
/// one is the large chat).
///
/// [`Scale`]: wecom_groupchat_sim::Scale
pub async fn first_chat_ids(client: &Client, n: usize) -> Result<Vec<String>, String> {
    use futures::{StreamExt, TryStreamExt};
    let page = (n as i64).clamp(1, 1000);
    let ids: Vec<String> = client
        .list_stream(wecom_groupchat::types::ListRequest::new(page))
        .map_ok(|c| c.chat_id)
        .take(n)
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(ids)
}
