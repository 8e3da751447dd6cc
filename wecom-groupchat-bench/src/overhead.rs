//! (1) Client overhead: the same `get` of a 500-member chat through our client and through the floor
//! ([`crate::floor`]), sequential, each over one kept-alive connection to the same simulator, in
//! alternating batches so that drift (CPU frequency, caches, the other core's load) hits both alike.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::runtime::Runtime;
use wecom_groupchat::endpoint::Endpoint;
use wecom_groupchat::types::{GetRequest, GetResponse};
use wecom_groupchat_sim::{DataSource, Scale, SimConfig};

use crate::cputime::{CpuTime, PerCall};
use crate::floor::{self, Floor};
use crate::host::{self, SimHost};
use crate::stats::{self, Summary};

/// Members of the chat every `get` fetches.
pub const MEMBERS: usize = 500;

/// How many calls.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Unmeasured calls per side first (connections, caches, the token).
    pub warmup: usize,
    /// Rounds; each runs one batch per side, the order rotating from round to round.
    pub rounds: usize,
    /// Calls per batch.
    pub batch: usize,
}

impl Plan {
    /// The full plan (2,000 measured calls per side) or a smoke run.
    pub fn new(quick: bool) -> Self {
        // Small batches, many rounds: a disturbance (another process, a frequency change) lasting a few
        // milliseconds lands on every caller alike.
        if quick { Plan { warmup: 20, rounds: 4, batch: 10 } } else { Plan { warmup: 300, rounds: 200, batch: 10 } }
    }
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct OverheadResult {
    /// Members of the chat.
    pub members: usize,
    /// Size of the answer body.
    pub body_bytes: usize,
    /// Our client, typed `GetResponse`.
    pub ours: Summary,
    /// Our client on a plain `reqwest::Client::new()` (for reference: the cost of the default timeouts).
    pub ours_plain: Summary,
    /// The floor decoding into the same generated `GetResponse`.
    pub floor: Summary,
    /// The floor decoding into `serde_json::Value` (for reference: the cost of typed decoding).
    pub floor_value: Summary,
    /// The floor reading the body as our client does (for reference: the cost of that copy).
    pub floor_copying: Summary,
    /// A second floor, the same as the first (for reference: how far two equal callers differ).
    pub floor_twin: Summary,
    /// ours / floor, medians.
    pub ratio_median: f64,
    /// ours / floor, p99s.
    pub ratio_p99: f64,
    /// 95 % bootstrap interval of `ratio_median` (how far resampling the same calls moves it).
    pub ratio_median_interval: Option<(f64, f64)>,
    /// 95 % bootstrap interval of `ratio_p99`.
    pub ratio_p99_interval: Option<(f64, f64)>,
    /// CPU time, run-queue wait, times run and page faults per call of each caller, in the order of
    /// [`SIDES`], when `/proc` tells.
    pub cpu_per_call: Option<[PerCall; SIDES.len()]>,
}

/// Resamples of the bootstrap intervals of the ratios.
const BOOTSTRAP_RESAMPLES: usize = 1_000;

/// Every caller, in the order of the results.
pub const SIDES: [Side; 6] =
    [Side::Ours, Side::OursPlainHttp, Side::Floor, Side::FloorValue, Side::FloorCopying, Side::FloorTwin];

/// Who makes the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Side {
    /// Our client.
    Ours,
    /// Our client on a plain `reqwest::Client::new()` (no timeouts), via `.http_client(…)`.
    OursPlainHttp,
    /// The floor, decoding into `GetResponse`.
    Floor,
    /// The floor, decoding into `serde_json::Value`.
    FloorValue,
    /// The floor, reading the body as our client does (a fresh buffer and a copy per call).
    FloorCopying,
    /// A second floor, identical to the first, on its own connection (an A/A comparison).
    FloorTwin,
}

/// Runs the measurement against a simulator with `Scale::groups(1_000).large_group_members(500)`.
pub fn run(rt: &Runtime, sim_threads: usize, plan: Plan) -> Result<OverheadResult, String> {
    let host = SimHost::start(
        SimConfig::default().data(DataSource::Scale(Scale::groups(1_000).large_group_members(MEMBERS))),
        sim_threads,
    )?;
    rt.block_on(measure(&host, plan))
}

/// The three callers, ready to call.
struct Callers {
    ours: wecom_groupchat::Client,
    ours_plain: wecom_groupchat::Client,
    floor: Floor,
    floor_value: Floor,
    floor_copying: Floor,
    floor_twin: Floor,
    request: GetRequest,
    body: Bytes,
    members: usize,
    body_bytes: usize,
}

/// The callers of `get` for the chat at `index` in listing order (0: the large chat).
async fn callers(host: &SimHost, index: usize) -> Result<Callers, String> {
    let sim = host.sim();
    let ours = host.client_builder().build().map_err(|e| e.to_string())?;
    let ours_plain = host.client_builder().http_client(reqwest::Client::new()).build().map_err(|e| e.to_string())?;
    let chat_id = host::first_chat_ids(&ours, index + 1).await?.pop().ok_or("the company has too few chats")?;
    let request = GetRequest::new(&chat_id);
    let body = Bytes::from(serde_json::to_vec(&request).map_err(|e| e.to_string())?);

    let http = reqwest::Client::new();
    let token = floor::fetch_token(&http, &sim.base_url(), sim.corp_id(), sim.corp_secret()).await?;
    let floor = Floor::new(&sim.base_url(), GetRequest::INFO.path, &token)?;
    let floor_value = Floor::new(&sim.base_url(), GetRequest::INFO.path, &token)?;
    let floor_copying = Floor::new(&sim.base_url(), GetRequest::INFO.path, &token)?;
    let floor_twin = Floor::new(&sim.base_url(), GetRequest::INFO.path, &token)?;

    let check: GetResponse = floor.call(body.clone()).await?;
    let members = check.group_chat.member_list.as_ref().map_or(0, Vec::len);
    if index == 0 && members != MEMBERS {
        return Err(format!("the first chat has {members} members, expected {MEMBERS}"));
    }
    let body_bytes = floor.raw(body.clone()).await?.len();
    Ok(Callers { ours, ours_plain, floor, floor_value, floor_copying, floor_twin, request, body, members, body_bytes })
}

impl Callers {
    async fn call(&self, side: Side) -> Result<Duration, String> {
        let started = Instant::now();
        match side {
            Side::Ours => self.ours.get(&self.request).await.map(drop).map_err(|e| e.to_string())?,
            Side::OursPlainHttp => self.ours_plain.get(&self.request).await.map(drop).map_err(|e| e.to_string())?,
            Side::Floor => self.floor.call::<GetResponse>(self.body.clone()).await.map(drop)?,
            Side::FloorValue => self.floor_value.call_value(self.body.clone()).await.map(drop)?,
            Side::FloorCopying => self.floor_copying.call_copying::<GetResponse>(self.body.clone()).await.map(drop)?,
            Side::FloorTwin => self.floor_twin.call::<GetResponse>(self.body.clone()).await.map(drop)?,
        }
        Ok(started.elapsed())
    }
}

/// For a profiler (`valgrind --tool=callgrind`): `calls` sequential `get`s of the chat at `index`
/// (0: the 500-member chat, 1 and on: 3-member chats) by one caller only, after a warm-up of 20,
/// against a simulator in this process. The difference between two sides' totals is the difference
/// of their clients, since the simulator does the same work for both. Returns the time the calls
/// took and, where `/proc` tells, what they used per call (CPU, run-queue wait, times run).
pub fn profile(
    sim_threads: usize,
    client_threads: usize,
    side: Side,
    calls: usize,
    index: usize,
) -> Result<(Duration, Option<PerCall>), String> {
    let host = SimHost::start(
        SimConfig::default().data(DataSource::Scale(Scale::groups(1_000).large_group_members(MEMBERS))),
        sim_threads,
    )?;
    let rt = host::client_runtime(client_threads)?;
    rt.block_on(async {
        let callers = callers(&host, index).await?;
        for _ in 0..20 {
            callers.call(side).await?;
        }
        let before = CpuTime::now();
        let started = Instant::now();
        for _ in 0..calls {
            callers.call(side).await?;
        }
        let took = started.elapsed();
        let used = before.zip(CpuTime::now()).map(|(before, after)| after.since(before).per(calls.max(1) as u32));
        Ok((took, used))
    })
}

async fn measure(host: &SimHost, plan: Plan) -> Result<OverheadResult, String> {
    let callers = callers(host, 0).await?;
    let (members, body_bytes) = (callers.members, callers.body_bytes);
    for side in SIDES {
        for _ in 0..plan.warmup {
            callers.call(side).await?;
        }
    }
    let mut samples: [Vec<Duration>; SIDES.len()] = Default::default();
    let mut cpu: Option<[CpuTime; SIDES.len()]> = Some(Default::default());
    for round in 0..plan.rounds {
        for k in 0..SIDES.len() {
            let i = (round + k) % SIDES.len();
            let before = CpuTime::now();
            for _ in 0..plan.batch {
                samples[i].push(callers.call(SIDES[i]).await?);
            }
            let used = before.zip(CpuTime::now()).map(|(before, after)| after.since(before));
            match used {
                Some(used) => cpu.iter_mut().for_each(|c| c[i].add(used)),
                None => cpu = None,
            }
        }
    }
    let calls = (plan.rounds * plan.batch).max(1) as u32;
    let interval = |p: f64| stats::bootstrap_ratio(&samples[0], &samples[2], p, BOOTSTRAP_RESAMPLES, 0.95);
    let (ratio_median_interval, ratio_p99_interval) = (interval(0.50), interval(0.99));
    let [ours, ours_plain, floor, floor_value, floor_copying, floor_twin] =
        samples.map(|mut s| Summary::of(&mut s).expect("at least one round of at least one call"));
    Ok(OverheadResult {
        members,
        body_bytes,
        ratio_median: stats::ratio(ours.median, floor.median),
        ratio_p99: stats::ratio(ours.p99, floor.p99),
        ratio_median_interval,
        ratio_p99_interval,
        ours,
        ours_plain,
        floor,
        floor_value,
        floor_copying,
        floor_twin,
        cpu_per_call: cpu.map(|c| c.map(|t| t.per(calls))),
    })
}
