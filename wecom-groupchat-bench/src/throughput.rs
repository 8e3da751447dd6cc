//! (2) Throughput: completed calls per second with 1, 8, 64 and 256 calls in flight, for `get` (a chat
//! of 3 members, a different chat each call) and `list` (a page of 1,000), through our client and,
//! for reference, through the floor.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::runtime::Runtime;
use wecom_groupchat::Client;
use wecom_groupchat::endpoint::Endpoint;
use wecom_groupchat::types::{GetRequest, GetResponse, ListRequest, ListResponse};
use wecom_groupchat_sim::{DataSource, Scale, SimConfig};

use crate::floor::{self, Floor};
use crate::host::{self, SimHost};

/// Calls in flight measured.
pub const CONCURRENCY: [usize; 4] = [1, 8, 64, 256];
/// Size of a `list` page.
pub const LIST_PAGE: i64 = wecom_groupchat::types::ListRequest::LIMIT_MAX;
/// Distinct chats the `get` calls cycle through.
const GET_CHATS: usize = 1000;

/// How long each cell runs.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Unmeasured time per caller at the cell's concurrency first (opens the connections).
    pub warmup: Duration,
    /// Measured time per caller, split into `slices` alternating with the other caller's.
    pub measure: Duration,
    /// Alternating slices (ours, floor, floor, ours, …), so that a disturbance hits both alike.
    pub slices: u32,
}

impl Plan {
    /// The full plan or a smoke run.
    pub fn new(quick: bool) -> Self {
        if quick {
            Plan { warmup: Duration::from_millis(50), measure: Duration::from_millis(200), slices: 2 }
        } else {
            Plan { warmup: Duration::from_millis(300), measure: Duration::from_secs(3), slices: 6 }
        }
    }
}

/// One cell of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// `get` or `list`.
    pub endpoint: &'static str,
    /// Calls in flight.
    pub concurrency: usize,
    /// Our client: calls per second.
    pub ours: f64,
    /// The floor: calls per second.
    pub floor: f64,
    /// Failed calls (both sides; should be 0).
    pub errors: u64,
}

/// Runs every cell against `Scale::groups(10_000)`.
pub fn run(rt: &Runtime, sim_threads: usize, plan: Plan) -> Result<Vec<Row>, String> {
    let host = SimHost::start(SimConfig::default().data(DataSource::Scale(Scale::groups(10_000))), sim_threads)?;
    rt.block_on(measure(&host, plan))
}

async fn measure(host: &SimHost, plan: Plan) -> Result<Vec<Row>, String> {
    let sim = host.sim();
    let ours = host.client_builder().build().map_err(|e| e.to_string())?;
    let ids: Arc<Vec<String>> = Arc::new(host::first_chat_ids(&ours, GET_CHATS).await?);
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        ids.iter()
            .map(|id| serde_json::to_vec(&GetRequest::new(id)).map(Bytes::from))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
    );
    let list_body = Bytes::from(serde_json::to_vec(&ListRequest::new(LIST_PAGE)).map_err(|e| e.to_string())?);
    let token = floor::fetch_token(&reqwest::Client::new(), &sim.base_url(), sim.corp_id(), sim.corp_secret()).await?;
    let get_floor = Floor::new(&sim.base_url(), GetRequest::INFO.path, &token)?;
    let list_floor = Floor::new(&sim.base_url(), ListRequest::INFO.path, &token)?;

    let mut rows = Vec::new();
    for endpoint in ["get", "list"] {
        for concurrency in CONCURRENCY {
            let errors = Arc::new(AtomicU64::new(0));
            let calls = [true, false].map(|ours_side| {
                caller(endpoint, ours_side, &ours, &get_floor, &list_floor, &ids, &bodies, &list_body)
            });
            for call in &calls {
                cell(concurrency, plan.warmup, call, &errors).await;
            }
            let slice = plan.measure / plan.slices.max(1);
            let mut done = [(0u64, Duration::ZERO); 2];
            for s in 0..plan.slices.max(1) as usize {
                for k in 0..2 {
                    let i = (s + k) % 2;
                    let (n, took) = cell(concurrency, slice, &calls[i], &errors).await;
                    done[i].0 += n;
                    done[i].1 += took;
                }
            }
            let rate = |(n, took): (u64, Duration)| n as f64 / took.as_secs_f64();
            rows.push(Row {
                endpoint,
                concurrency,
                ours: rate(done[0]),
                floor: rate(done[1]),
                errors: errors.load(Ordering::Relaxed),
            });
        }
    }
    Ok(rows)
}

/// A call of `endpoint` by our client or the floor; `n` picks the chat.
#[allow(clippy::too_many_arguments)]
fn caller(
    endpoint: &'static str,
    ours: bool,
    client: &Client,
    get_floor: &Floor,
    list_floor: &Floor,
    ids: &Arc<Vec<String>>,
    bodies: &Arc<Vec<Bytes>>,
    list_body: &Bytes,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync + Clone + 'static {
    let (client, get_floor, list_floor) = (client.clone(), get_floor.clone(), list_floor.clone());
    let (ids, bodies, list_body) = (ids.clone(), bodies.clone(), list_body.clone());
    move |n: usize| {
        let (client, get_floor, list_floor) = (client.clone(), get_floor.clone(), list_floor.clone());
        let (id, body, list_body) = (ids[n % ids.len()].clone(), bodies[n % bodies.len()].clone(), list_body.clone());
        Box::pin(async move {
            match (endpoint, ours) {
                ("get", true) => client.get(&GetRequest::new(id)).await.is_ok(),
                ("get", false) => get_floor.call::<GetResponse>(body).await.is_ok(),
                (_, true) => client.list(&ListRequest::new(LIST_PAGE)).await.is_ok(),
                (_, false) => list_floor.call::<ListResponse>(list_body).await.is_ok(),
            }
        })
    }
}

/// Runs `concurrency` workers, each calling back to back until `duration` has passed; returns the
/// completed calls and the time until the last one ended (calls still in flight at the deadline are
/// waited for and counted).
async fn cell<F>(concurrency: usize, duration: Duration, call: &F, errors: &Arc<AtomicU64>) -> (u64, Duration)
where
    F: Fn(usize) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync + Clone + 'static,
{
    let started = Instant::now();
    let deadline = started + duration;
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (call, done, errors) = (call.clone(), done.clone(), errors.clone());
        workers.spawn(async move {
            let mut n = w;
            while Instant::now() < deadline {
                if call(n).await {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                n += concurrency;
            }
        });
    }
    while workers.join_next().await.is_some() {}
    (done.load(Ordering::Relaxed), started.elapsed())
}
