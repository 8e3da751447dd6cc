//! (9) Fleet: N processes (this program, hidden subcommand `fleet-child`) run one full sync together —
//! each lists every page and fetches its part of the chats — through one rate budget on Redis, against one
//! simulator that answers 45009 beyond its scaled limit. Measures the combined `get` rate as a share of
//! the limit and the 45009s the simulator answered, for N = 1, 2, 4, 8; and what one call of the budget
//! costs (one Redis round trip) next to the in-process budget.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use wecom_groupchat::budget::{BudgetKey, BudgetOptions, MemoryBudget, RateBudget, RedisBudget, RedisBudgetOptions};
use wecom_groupchat::ratelimit::{RateLimits, Window};
use wecom_groupchat::redis_store::{RedisStoreOptions, RedisTokenStore};
use wecom_groupchat::types::GetRequest;
use wecom_groupchat::{Client, Error};
use wecom_groupchat_sim::{DataSource, Faults, RateLimitRule, Scale, SimConfig};

use crate::host::SimHost;
use crate::stats::Summary;
use crate::sync::{listed_ids, scaled_margin};

/// The fleets' shape and the server's rules.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Chats in the company.
    pub groups: usize,
    /// Calls allowed per window, per endpoint (server and budget alike).
    pub calls: u32,
    /// The window.
    pub window: Duration,
    /// Latency the server adds to every call.
    pub latency: Duration,
    /// `get` calls in flight at most, per process.
    pub concurrency: usize,
    /// The fleet sizes.
    pub processes: Vec<usize>,
    /// Sequential calls of each budget for its per-call cost.
    pub cost_calls: usize,
}

impl Plan {
    /// The full sync's company and limit (4,000 calls per 12 s, 10,000 chats), for 1, 2, 4 and 8 processes;
    /// or a smoke run of 600 chats at 200 per second for 1 and 2.
    pub fn new(quick: bool) -> Self {
        let sync = crate::sync::Plan::new(quick);
        Plan {
            groups: if quick { 600 } else { sync.groups },
            calls: sync.calls,
            window: sync.window,
            latency: sync.latency,
            concurrency: sync.concurrency,
            processes: if quick { vec![1, 2] } else { vec![1, 2, 4, 8] },
            cost_calls: if quick { 1_000 } else { 20_000 },
        }
    }

    /// The limit in calls per second.
    pub fn limit_per_s(&self) -> f64 {
        f64::from(self.calls) / self.window.as_secs_f64()
    }
}

/// One fleet's sync.
#[derive(Debug, Clone)]
pub struct FleetRow {
    /// Processes.
    pub processes: usize,
    /// From the start barrier to the last process done.
    pub wall: Duration,
    /// Chats fetched by all processes.
    pub fetched: usize,
    /// Combined `get` calls per second over the wall time.
    pub rate: f64,
    /// `rate` as a share of the limit.
    pub share: f64,
    /// 45009 answers the simulator gave.
    pub rate_limited_answers: u64,
    /// `get` calls the simulator received.
    pub get_calls: u64,
    /// Errors the processes saw.
    pub errors: usize,
    /// Slots a process took from its in-process fallback (Redis unreachable): 0 when all went well.
    pub fallback: u64,
    /// Slots given up because a caller woke too late for them (its process did not run in time).
    pub late: u64,
    /// The first error, if any.
    pub first_error: Option<String>,
}

/// What one call of a budget costs, measured sequentially on a budget that never makes a call wait.
#[derive(Debug, Clone)]
pub struct CostRow {
    /// `MemoryBudget`, `RedisBudget`, or Redis's `PING` for reference.
    pub what: &'static str,
    /// Per call.
    pub summary: Summary,
}

/// Everything the section measured.
#[derive(Debug, Clone)]
pub struct FleetResult {
    /// The plan.
    pub plan: Plan,
    /// One row per fleet size.
    pub rows: Vec<FleetRow>,
    /// The budgets' per-call costs.
    pub cost: Vec<CostRow>,
    /// The budget's margin (scaled with the window).
    pub margin: Duration,
    /// `redis-server --version`.
    pub redis_version: String,
}

/// A `redis-server` of the benchmark's own on a free loopback port, stopped on drop.
struct OwnRedis {
    child: Child,
    url: String,
}

impl OwnRedis {
    fn start() -> Result<OwnRedis, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server (install it: apt-get install redis-server): {e}"))?;
        let redis = OwnRedis { child, url: format!("redis://127.0.0.1:{port}") };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(redis);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("redis-server did not start listening".into())
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs every fleet and the cost measurement; `exe` is this benchmark program (the children run it).
pub fn run(rt: &tokio::runtime::Runtime, exe: &Path, sim_threads: usize, plan: Plan) -> Result<FleetResult, String> {
    let redis = OwnRedis::start()?;
    let redis_version = Command::new("redis-server")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .find(|w| w.starts_with("v="))
                .unwrap_or("?")
                .trim_start_matches("v=")
                .to_string()
        })
        .unwrap_or_else(|_| "?".into());
    let margin = scaled_margin(plan.window);
    let mut rows = Vec::new();
    for (run, &n) in plan.processes.iter().enumerate() {
        rows.push(fleet(exe, sim_threads, &plan, n, &redis.url, &format!("bench-fleet-{run}"), margin)?);
        let r = rows.last().expect("just pushed");
        eprintln!(
            "   {n} processes: {:.1} s, {:.1} % of the limit, {} × 45009",
            r.wall.as_secs_f64(),
            r.share * 100.0,
            r.rate_limited_answers
        );
    }
    let cost = rt.block_on(costs(&redis.url, plan.cost_calls))?;
    Ok(FleetResult { plan, rows, cost, margin, redis_version })
}

/// A started child and its lines.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn line(&self, within: Duration) -> Result<String, String> {
        self.lines.recv_timeout(within).map_err(|_| format!("a fleet child printed nothing within {within:?}"))
    }
}

fn fleet(
    exe: &Path,
    sim_threads: usize,
    plan: &Plan,
    n: usize,
    redis_url: &str,
    prefix: &str,
    margin: Duration,
) -> Result<FleetRow, String> {
    let faults = Faults::default().latency(plan.latency).rate_limit(RateLimitRule::new(plan.calls, plan.window));
    let config = SimConfig::default().data(DataSource::Scale(Scale::groups(plan.groups))).faults(faults);
    let host = SimHost::start(config, sim_threads)?;
    let sim = host.sim();
    let mut children = Vec::new();
    for index in 0..n {
        let mut child = Command::new(exe)
            .args(["fleet-child", "--base-url", &sim.base_url(), "--corp-id", sim.corp_id()])
            .args(["--redis-url", redis_url, "--prefix", prefix])
            .args(["--index", &index.to_string(), "--count", &n.to_string()])
            .args(["--calls", &plan.calls.to_string(), "--window-ms", &plan.window.as_millis().to_string()])
            .args(["--margin-ms", &margin.as_millis().to_string(), "--concurrency", &plan.concurrency.to_string()])
            .env("WECOM_BENCH_CORP_SECRET", sim.corp_secret())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run a fleet child: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        children.push(Running { child, lines });
    }
    for c in &children {
        let ready = c.line(Duration::from_secs(60))?;
        if ready != "ready" {
            return Err(format!("a fleet child said `{ready}` instead of `ready`"));
        }
    }
    sim.reset_stats();
    // The start barrier: every child goes at once.
    let started = Instant::now();
    for c in &mut children {
        let stdin = c.child.stdin.as_mut().ok_or("no stdin")?;
        stdin.write_all(b"go\n").and_then(|()| stdin.flush()).map_err(|e| format!("cannot start a child: {e}"))?;
    }
    let mut done = Vec::new();
    for c in &children {
        done.push(c.line(Duration::from_secs(600))?);
    }
    let wall = started.elapsed();
    for mut c in children {
        drop(c.child.stdin.take());
        let status = c.child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("a fleet child exited with {status}"));
        }
    }
    let field = |line: &str, name: &str| -> u64 {
        line.split_whitespace()
            .filter_map(|w| w.split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    };
    let fetched: u64 = done.iter().map(|l| field(l, "fetched")).sum();
    let errors: u64 = done.iter().map(|l| field(l, "errors")).sum();
    let fallback: u64 = done.iter().map(|l| field(l, "fallback")).sum();
    let late: u64 = done.iter().map(|l| field(l, "late")).sum();
    let first_error =
        done.iter().find(|l| field(l, "errors") > 0).and_then(|l| l.split_once(" error: ").map(|(_, e)| e.to_string()));
    let stats = sim.stats();
    let rate = fetched as f64 / wall.as_secs_f64();
    Ok(FleetRow {
        processes: n,
        wall,
        fetched: fetched as usize,
        rate,
        share: rate / plan.limit_per_s(),
        rate_limited_answers: stats.rate_limited,
        get_calls: stats.calls_of("get"),
        errors: errors as usize,
        fallback,
        late,
        first_error,
    })
}

/// Per-call cost of `acquire` on a budget whose pace (1 µs) never makes a sequential caller wait: the
/// in-process budget, the Redis one (a script, one round trip), and a bare `PING` for reference.
async fn costs(redis_url: &str, calls: usize) -> Result<Vec<CostRow>, String> {
    let windows = [Window::new(u32::MAX, Duration::from_secs(1))];
    let key = BudgetKey { base_url: "http://cost.bench", corp: "wwcost", endpoint: "get" };
    let memory = MemoryBudget::new(BudgetOptions::default()).map_err(|e| e.to_string())?;
    let options = RedisBudgetOptions { prefix: "bench-cost".into(), ..RedisBudgetOptions::default() };
    let redis_budget = RedisBudget::new(redis_url, options).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for (what, budget) in [("MemoryBudget", &memory as &dyn RateBudget), ("RedisBudget", &redis_budget)] {
        for _ in 0..calls / 10 {
            budget.acquire(&key, &windows).await.map_err(|e| format!("{e:?}"))?;
        }
        let mut samples = Vec::with_capacity(calls);
        for _ in 0..calls {
            let t = Instant::now();
            budget.acquire(&key, &windows).await.map_err(|e| format!("{e:?}"))?;
            samples.push(t.elapsed());
        }
        if budget.stats().fallback > 0 {
            return Err(format!("{what}: Redis was unreachable during the cost measurement"));
        }
        rows.push(CostRow { what, summary: Summary::of(&mut samples).ok_or("no samples")? });
    }
    let client = redis::Client::open(redis_url).map_err(|e| e.to_string())?;
    let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls + calls / 10 {
        let t = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(|e| e.to_string())?;
        if i >= calls / 10 {
            samples.push(t.elapsed());
        }
    }
    rows.push(CostRow { what: "Redis PING", summary: Summary::of(&mut samples).ok_or("no samples")? });
    Ok(rows)
}

/// The arguments of a fleet child.
#[derive(Debug, Clone, clap::Args)]
pub struct ChildArgs {
    #[arg(long)]
    base_url: String,
    #[arg(long)]
    corp_id: String,
    /// The secret comes from the environment, never the command line.
    #[arg(long, env = "WECOM_BENCH_CORP_SECRET", hide_env_values = true)]
    corp_secret: String,
    #[arg(long)]
    redis_url: String,
    #[arg(long)]
    prefix: String,
    #[arg(long)]
    index: usize,
    #[arg(long)]
    count: usize,
    #[arg(long)]
    calls: u32,
    #[arg(long)]
    window_ms: u64,
    #[arg(long)]
    margin_ms: u64,
    #[arg(long)]
    concurrency: usize,
}

/// One process of a fleet: prints `ready` once its client has a token, waits for a line on stdin, syncs
/// its part (the chats whose position in the listing is `index` modulo `count`) with the listing
/// overlapped, and prints `done fetched=… errors=… fallback=… late=… [error: …]`.
pub fn child(args: ChildArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mut options = RedisBudgetOptions {
            prefix: args.prefix.clone(),
            expected_instances: u32::try_from(args.count).unwrap_or(1),
            ..RedisBudgetOptions::default()
        };
        options.budget.margin = Duration::from_millis(args.margin_ms);
        let budget = Arc::new(RedisBudget::new(&args.redis_url, options).map_err(|e| e.to_string())?);
        let store_options = RedisStoreOptions { prefix: args.prefix.clone(), ..RedisStoreOptions::default() };
        let store = RedisTokenStore::new(&args.redis_url, store_options).map_err(|e| e.to_string())?;
        let client = Client::builder()
            .base_url(args.base_url.clone())
            .corp_credentials(args.corp_id.clone(), args.corp_secret.as_str())
            .token_store(Arc::new(store))
            .rate_limits(RateLimits::uniform([
                Window::new(args.calls, Duration::from_millis(args.window_ms)),
                Window::per_hour(wecom_groupchat::api::RATE_LIMIT_PER_HOUR),
            ]))
            .rate_budget(budget.clone())
            .build()
            .map_err(|e| e.to_string())?;
        client.access_token().await.map_err(|e| e.to_string())?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "ready").and_then(|()| stdout.flush()).map_err(|e| e.to_string())?;
        let mut go = String::new();
        std::io::stdin().lock().read_line(&mut go).map_err(|e| e.to_string())?;

        let (index, count) = (args.index, args.count.max(1));
        let results: Vec<Result<(), Error>> = listed_ids(&client, wecom_groupchat::types::ListRequest::LIMIT_MAX)
            .enumerate()
            .filter(|(i, _)| futures::future::ready(i % count == index))
            .map(|(_, id)| {
                let client = client.clone();
                async move { client.get(&GetRequest::new(id?)).await.map(drop) }
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
        let fetched = results.iter().filter(|r| r.is_ok()).count();
        let errors: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().map(ToString::to_string)).collect();
        let error = errors.first().map(|e| format!(" error: {e}")).unwrap_or_default();
        let stats = budget.stats();
        writeln!(
            stdout,
            "done fetched={fetched} errors={} fallback={} late={}{error}",
            errors.len(),
            stats.fallback,
            stats.late
        )
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())
    })
}
