//! (7) A peer side by side: the same `get` (sequential, one kept-alive connection) and `list --all`
//! (every chat, pages of 1,000, collected) through our client and through wechatpy, against the same
//! simulator in the same run. wechatpy comes from PyPI into a throwaway virtualenv under `target/`
//! ([`crate::venv`]); when that fails (no PyPI, no `venv`), the peer is skipped with the reason.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde::Deserialize;
use tokio::runtime::Runtime;
use wecom_groupchat::types::{GetRequest, GroupChatListItem, ListRequest};
use wecom_groupchat_sim::{DataSource, Scale, SimConfig};

use crate::host::{self, SimHost};
use crate::stats::Summary;
use crate::venv::{self, WECHATPY_VERSION, last_line};

/// Members of the chat `get` fetches.
pub const MEMBERS: usize = 500;
/// Page size of `list --all`.
pub const PAGE: i64 = wecom_groupchat::types::ListRequest::LIMIT_MAX;

/// How much work.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Chats in the company (`list --all` returns them all).
    pub groups: usize,
    /// Unmeasured `get` calls first.
    pub get_warmup: usize,
    /// Measured `get` calls.
    pub get_calls: usize,
    /// Measured `list --all` rounds.
    pub list_rounds: usize,
}

impl Plan {
    /// The full plan or a smoke run.
    pub fn new(quick: bool) -> Self {
        if quick {
            Plan { groups: 2_000, get_warmup: 10, get_calls: 50, list_rounds: 2 }
        } else {
            Plan { groups: 10_000, get_warmup: 100, get_calls: 1_000, list_rounds: 10 }
        }
    }
}

/// Whether the peer ran.
#[derive(Debug, Clone)]
pub enum PeerOutcome {
    /// It ran.
    Ran(Box<PeerResult>),
    /// It could not: why.
    Skipped(String),
}

/// Both sides' figures.
#[derive(Debug, Clone)]
pub struct PeerResult {
    /// The plan.
    pub plan: Plan,
    /// wechatpy's version.
    pub wechatpy: String,
    /// Python's version.
    pub python: String,
    /// requests' version (wechatpy's HTTP library), when the script tells.
    pub requests: Option<String>,
    /// Our `get` latencies.
    pub ours_get: Summary,
    /// wechatpy's `get` latencies.
    pub theirs_get: Summary,
    /// Our `list --all` times.
    pub ours_list: Summary,
    /// wechatpy's `list --all` times.
    pub theirs_list: Summary,
    /// Setting up the virtualenv and installing wechatpy (not part of any figure).
    pub install: Duration,
}

#[derive(Deserialize)]
struct PeerReport {
    wechatpy: String,
    python: String,
    #[serde(default)]
    requests: Option<String>,
    get_ns: Vec<u64>,
    list_all_ns: Vec<u64>,
}

/// Runs our side, then wechatpy's, against one simulator. `root` is the workspace root.
pub fn run(rt: &Runtime, sim_threads: usize, root: &Path, plan: Plan) -> Result<PeerOutcome, String> {
    let venv = match venv::prepare(root) {
        Ok(venv) => venv,
        Err(reason) => return Ok(PeerOutcome::Skipped(reason)),
    };
    let (python, install) = (venv.python, venv.install);

    let config = SimConfig::default().data(DataSource::Scale(Scale::groups(plan.groups).large_group_members(MEMBERS)));
    let host = SimHost::start(config, sim_threads)?;
    let sim = host.sim();
    let (chat_id, ours_get, ours_list) = rt.block_on(ours(&host, plan))?;

    let script = root.join("wecom-groupchat-bench/peer/wechatpy_bench.py");
    let output = Command::new(&python)
        .arg(&script)
        .args(["--base-url", &sim.base_url(), "--corp-id", sim.corp_id(), "--chat-id", &chat_id])
        .args(["--members", &MEMBERS.to_string(), "--groups", &plan.groups.to_string()])
        .args(["--get-warmup", &plan.get_warmup.to_string(), "--get-calls", &plan.get_calls.to_string()])
        .args(["--list-rounds", &plan.list_rounds.to_string(), "--page", &PAGE.to_string()])
        .env("WECOM_BENCH_CORP_SECRET", sim.corp_secret())
        .env("PYTHONWARNINGS", "ignore")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!("the wechatpy script failed ({}): {}", output.status, last_line(&output.stderr)));
    }
    let report: PeerReport =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("the wechatpy script's output: {e}"))?;
    if report.wechatpy != WECHATPY_VERSION {
        return Err(format!("wechatpy {} was installed, {WECHATPY_VERSION} is pinned", report.wechatpy));
    }
    let summary = |ns: &[u64]| {
        let mut d: Vec<Duration> = ns.iter().map(|&n| Duration::from_nanos(n)).collect();
        Summary::of(&mut d).ok_or_else(|| "the wechatpy script measured nothing".to_string())
    };
    Ok(PeerOutcome::Ran(Box::new(PeerResult {
        plan,
        wechatpy: report.wechatpy,
        python: report.python,
        requests: report.requests,
        ours_get,
        theirs_get: summary(&report.get_ns)?,
        ours_list,
        theirs_list: summary(&report.list_all_ns)?,
        install,
    })))
}

/// Our side of the workload; returns the large chat's id too.
async fn ours(host: &SimHost, plan: Plan) -> Result<(String, Summary, Summary), String> {
    let client = host.client_builder().build().map_err(|e| e.to_string())?;
    let chat_id = host::first_chat_ids(&client, 1).await?.pop().ok_or("the company has no chat")?;
    let request = GetRequest::new(&chat_id);
    let mut get = Vec::with_capacity(plan.get_calls);
    for i in 0..plan.get_warmup + plan.get_calls {
        let started = Instant::now();
        client.get(&request).await.map_err(|e| e.to_string())?;
        if i >= plan.get_warmup {
            get.push(started.elapsed());
        }
    }
    let mut list = Vec::with_capacity(plan.list_rounds);
    for round in 0..=plan.list_rounds {
        let started = Instant::now();
        let all: Vec<GroupChatListItem> =
            client.list_stream(ListRequest::new(PAGE)).try_collect().await.map_err(|e| e.to_string())?;
        if all.len() != plan.groups {
            return Err(format!("listed {} chats of {}", all.len(), plan.groups));
        }
        // Round 0 is a warm-up, as the script's first listing is.
        if round > 0 {
            list.push(started.elapsed());
        }
    }
    let get = Summary::of(&mut get).ok_or("no get samples")?;
    let list = Summary::of(&mut list).ok_or("no list samples")?;
    Ok((chat_id, get, list))
}
