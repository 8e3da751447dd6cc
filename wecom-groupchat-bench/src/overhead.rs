//! (1) Client overhead: the same `get` of a 500-member chat through our client and through the floor
//! ([`crate::floor`]), sequential, each over one kept-alive connection to the same simulator, in
//! alternating batches so that drift (CPU frequency, caches, the other core's load) hits both alike.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::runtime::Runtime;
use wecom_groupchat::endpoint::Endpoint;
use wecom_groupchat::types::{GetRequest, GetResponse};
use wecom_groupchat_sim::{DataSource, Scale, SimConfig};

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
        if quick { Plan { warmup: 20, rounds: 4, batch: 10 } } else { Plan { warmup: 300, rounds: 40, batch: 50 } }
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
    /// The floor decoding into the same generated `GetResponse`.
    pub floor: Summary,
    /// The floor decoding into `serde_json::Value` (for reference: the cost of typed decoding).
    pub floor_value: Summary,
    /// ours / floor, medians.
    pub ratio_median: f64,
    /// ours / floor, p99s.
    pub ratio_p99: f64,
}

#[derive(Clone, Copy)]
enum Side {
    Ours,
    Floor,
    FloorValue,
}

/// Runs the measurement against a simulator with `Scale::groups(1_000).large_group_members(500)`.
pub fn run(rt: &Runtime, sim_threads: usize, plan: Plan) -> Result<OverheadResult, String> {
    let host = SimHost::start(
        SimConfig::default().data(DataSource::Scale(Scale::groups(1_000).large_group_members(MEMBERS))),
        sim_threads,
    )?;
    rt.block_on(measure(&host, plan))
}

async fn measure(host: &SimHost, plan: Plan) -> Result<OverheadResult, String> {
    let sim = host.sim();
    let ours = host.client_builder().build().map_err(|e| e.to_string())?;
    let chat_id = host::first_chat_ids(&ours, 1).await?.pop().ok_or("the company has no chat")?;
    let request = GetRequest::new(&chat_id);
    let body = Bytes::from(serde_json::to_vec(&request).map_err(|e| e.to_string())?);

    let http = reqwest::Client::new();
    let token = floor::fetch_token(&http, &sim.base_url(), sim.corp_id(), sim.corp_secret()).await?;
    let floor = Floor::new(&sim.base_url(), GetRequest::INFO.path, &token)?;
    let floor_value = Floor::new(&sim.base_url(), GetRequest::INFO.path, &token)?;

    let check: GetResponse = floor.call(body.clone()).await?;
    let members = check.group_chat.member_list.as_ref().map_or(0, Vec::len);
    if members != MEMBERS {
        return Err(format!("the first chat has {members} members, expected {MEMBERS}"));
    }
    let body_bytes = floor.raw(body.clone()).await?.len();

    let one = |side: Side| {
        let (ours, floor, floor_value, request, body) = (&ours, &floor, &floor_value, &request, body.clone());
        async move {
            let started = Instant::now();
            match side {
                Side::Ours => ours.get(request).await.map(drop).map_err(|e| e.to_string())?,
                Side::Floor => floor.call::<GetResponse>(body).await.map(drop)?,
                Side::FloorValue => floor_value.call_value(body).await.map(drop)?,
            }
            Ok::<Duration, String>(started.elapsed())
        }
    };

    let sides = [Side::Ours, Side::Floor, Side::FloorValue];
    for side in sides {
        for _ in 0..plan.warmup {
            one(side).await?;
        }
    }
    let mut samples: [Vec<Duration>; 3] = Default::default();
    for round in 0..plan.rounds {
        for k in 0..sides.len() {
            let i = (round + k) % sides.len();
            for _ in 0..plan.batch {
                samples[i].push(one(sides[i]).await?);
            }
        }
    }
    let [mut a, mut b, mut c] = samples;
    let ours = Summary::of(&mut a).ok_or("no samples")?;
    let floor = Summary::of(&mut b).ok_or("no samples")?;
    let floor_value = Summary::of(&mut c).ok_or("no samples")?;
    Ok(OverheadResult {
        members,
        body_bytes,
        ratio_median: stats::ratio(ours.median, floor.median),
        ratio_p99: stats::ratio(ours.p99, floor.p99),
        ours,
        floor,
        floor_value,
    })
}
