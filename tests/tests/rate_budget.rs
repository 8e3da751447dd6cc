//! The rate budget shared on a real Redis: two budgets (two processes' worth) drawing from one schedule
//! and honouring one block; a budget that keeps to its share while Redis is away and hands its calls back
//! when it returns; and fleets of OS processes (`src/bin/budget_fleet_worker.rs`) each running a full sync
//! against one simulator whose limit is scaled down to 600 calls per 6 s per endpoint (the spec's hourly
//! limit is out of reach): no 45009 at all, a 45009 answered to one process pausing every process, and
//! Redis stopped in the middle of the run. Rates are the benchmark's business (`fleet` section): nothing
//! here measures time.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wecom_groupchat::budget::{BudgetKey, RateBudget, RedisBudget, RedisBudgetOptions, WhenBlocked};
use wecom_groupchat::ratelimit::Window;
use wecom_groupchat_sim::{DataSource, FaultKind, Faults, RateLimitRule, Scale, ScriptedFault, SimConfig, Simulator};
use wecom_groupchat_tests::*;

/// The simulator's scaled limit: 600 calls per 6 s per endpoint.
const CALLS: u32 = 600;
const WINDOW: Duration = Duration::from_secs(6);
/// Chats in the company: two windows' worth of `get`s, so the limit binds.
const CHATS: usize = 1_200;
const PROCESSES: usize = 4;

/// One fleet test at a time: each runs 4 processes and a simulator on a machine that may have 2 cores.
static FLEET: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn key(endpoint: &str) -> BudgetKey<'_> {
    BudgetKey { base_url: "http://sim.test", corp: "ww-budget", endpoint }
}

fn options(prefix: &str) -> RedisBudgetOptions {
    let mut options = RedisBudgetOptions { prefix: prefix.to_string(), ..RedisBudgetOptions::default() };
    options.budget.margin = Duration::ZERO;
    options
}

#[tokio::test]
async fn two_budgets_draw_from_one_schedule_and_honour_one_block() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("budget-share");
    let (a, b) = (RedisBudget::new(&url, options(&prefix)).unwrap(), RedisBudget::new(&url, options(&prefix)).unwrap());
    let windows = [Window::new(10, Duration::from_secs(1))];
    let t0 = 1_000_000_000_000; // µs, a time of the test's choosing (the scripts take it instead of TIME)
    // Interleaved asks from two instances: one schedule, paced at 100 ms, first come first served.
    let mut waits = Vec::new();
    for (i, budget) in [&a, &b, &a, &b].into_iter().enumerate() {
        let reply = budget.reserve_at_for_tests(&key("get"), &windows, t0 + i as i64 * 1_000).await.unwrap();
        waits.push(reply[1] + i as i64 * 1_000);
    }
    assert_eq!(waits, [0, 100_000, 200_000, 300_000], "slots relative to t0");
    // Another endpoint has a schedule of its own.
    assert_eq!(b.reserve_at_for_tests(&key("list"), &windows, t0).await.unwrap()[1], 0);

    // A 45009 answered to `a`: `b` finds the endpoint blocked for the rest of the window.
    assert_eq!(a.block_at_for_tests(&key("get"), Duration::from_secs(1), t0 + 10_000).await, Some(1_000_000));
    let reply = b.reserve_at_for_tests(&key("get"), &windows, t0 + 20_000).await.unwrap();
    assert_eq!(&reply[..3], [0, 990_000, 990_000], "the next slot is the block's end");
    let mut fail_fast = options(&prefix);
    fail_fast.budget.when_blocked = WhenBlocked::FailFast;
    let c = RedisBudget::new(&url, fail_fast).unwrap();
    assert_eq!(c.reserve_at_for_tests(&key("get"), &windows, t0 + 30_000).await.unwrap(), [1, 980_000]);
}

#[tokio::test]
async fn a_blocked_endpoint_fails_fast_without_a_slot_and_waits_otherwise() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("budget-block");
    let mut fail_fast = options(&prefix);
    fail_fast.budget.when_blocked = WhenBlocked::FailFast;
    let (waiting, failing) =
        (RedisBudget::new(&url, options(&prefix)).unwrap(), RedisBudget::new(&url, fail_fast).unwrap());
    let windows = [Window::new(100, Duration::from_secs(1))];
    waiting.acquire(&key("get"), &windows).await.unwrap();
    waiting.record_block(&key("get"), Duration::from_millis(300)).await;
    let blocked = failing.acquire(&key("get"), &windows).await.unwrap_err();
    assert!(blocked.remaining <= Duration::from_millis(300), "{blocked:?}");
    assert_eq!(failing.stats().failed_fast, 1);
    // The other instance, set to wait, waits for the block's end.
    waiting.acquire(&key("get"), &windows).await.unwrap();
    let stats = waiting.stats();
    assert_eq!((stats.acquired, stats.block_waits, stats.blocks_recorded), (2, 1, 1));
}

#[tokio::test]
async fn without_redis_a_budget_keeps_to_its_share_and_hands_its_calls_back() {
    let Some(mut redis) = OwnRedis::start() else { return };
    let prefix = unique_prefix("budget-outage");
    let options = RedisBudgetOptions {
        expected_instances: 4,
        retry_after: Duration::from_millis(50),
        recovery_hold: Duration::from_millis(100),
        ..options(&prefix)
    };
    let budget = RedisBudget::new(&redis.url, options).unwrap();
    let windows = [Window::new(400, Duration::from_secs(1)), Window::new(100_000, Duration::from_secs(3600))];
    for _ in 0..5 {
        budget.acquire(&key("get"), &windows).await.unwrap();
    }
    redis.stop();
    for _ in 0..20 {
        budget.acquire(&key("get"), &windows).await.unwrap();
    }
    let stats = budget.stats();
    assert_eq!((stats.outages, stats.recoveries), (1, 0), "{stats:?}");
    assert!(stats.fallback >= 19, "calls go on in process: {stats:?}");
    assert_eq!(stats.acquired, 25);

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while budget.stats().recoveries == 0 {
        assert!(Instant::now() < deadline, "Redis never used again: {:?}", budget.stats());
        budget.acquire(&key("get"), &windows).await.unwrap();
    }
    // The calls made without Redis are in the fleet's hourly count now (the restarted Redis had none).
    let fallback = budget.stats().fallback;
    let mut conn = redis::Client::open(redis.url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let hash: std::collections::HashMap<String, String> =
        redis::cmd("HGETALL").arg(budget.redis_key(&key("get"))).query_async(&mut conn).await.unwrap();
    let total: u64 = hash.get("w1:total").and_then(|t| t.parse().ok()).unwrap_or(0);
    assert!(total > fallback, "hourly count {total} after {fallback} calls in process: {hash:?}");
    assert_eq!(budget.stats().outages, 1, "one outage, one warning");
}

/// Only a 45009 at the top of an answer blocks: one in a bulk answer's `failed_chat_list` is one chat's
/// daily transfer quota, and the endpoint stays open.
#[tokio::test]
async fn only_a_top_level_45009_blocks_the_endpoint() {
    use wecom_groupchat::budget::{BudgetOptions, MemoryBudget};
    use wecom_groupchat::ratelimit::RateLimits;
    use wecom_groupchat::types::TransferRequest;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let limited = wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT;
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["t1"])).await;
    let transfer = wecom_groupchat::endpoints::by_name("transfer").unwrap().path;
    let quota =
        ok(serde_json::json!({"failed_chat_list": [{"chat_id": "wrA", "errcode": limited, "errmsg": "quota"}]}));
    Mock::given(method("POST"))
        .and(path(transfer))
        .respond_with(ResponseTemplate::new(200).set_body_json(quota))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(transfer))
        .respond_with(ResponseTemplate::new(200).set_body_json(err(limited, "api freq out of limit")))
        .mount(&server)
        .await;
    let options = BudgetOptions { when_blocked: WhenBlocked::FailFast, ..BudgetOptions::default() };
    let budget = std::sync::Arc::new(MemoryBudget::new(options).unwrap());
    let client = builder(&server)
        .rate_limits(RateLimits::uniform([Window::new(100, Duration::from_secs(60))]))
        .rate_budget(budget.clone())
        .build()
        .unwrap();
    let request = TransferRequest::new(["wrA", "wrB"], "lisi");
    // Twice a chat over its daily quota: the endpoint is not blocked.
    for _ in 0..2 {
        let answer = client.transfer(&request).await.unwrap();
        assert_eq!(answer.failed_chat_list.unwrap()[0].errcode, Some(limited));
    }
    assert_eq!(budget.stats().blocks_recorded, 0);
    // A 45009 at the top: blocked; the next call fails fast and is not sent.
    let error = client.transfer(&request).await.unwrap_err();
    assert!(matches!(&error, wecom_groupchat::Error::RateLimited(e) if e.sent), "{error:?}");
    let error = client.transfer(&request).await.unwrap_err();
    assert!(matches!(&error, wecom_groupchat::Error::RateLimited(e) if !e.sent), "{error:?}");
    assert!(error.to_string().contains("not sent"), "{error}");
    assert_eq!(hits(&server, transfer).await, 3, "the fourth call never left");
    assert_eq!(budget.stats().blocks_recorded, 1);
}

/// A running worker process and the lines it prints.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

/// What a worker reports at the end.
#[derive(Debug, Default)]
struct Report {
    fetched: u64,
    errors: u64,
    rate_limited: u64,
    block_waits: u64,
    fallback: u64,
    outages: u64,
    recoveries: u64,
    line: String,
}

impl Report {
    fn parse(line: &str) -> Report {
        let mut r = Report { line: line.to_string(), ..Report::default() };
        for (name, value) in line.split_whitespace().filter_map(|w| w.split_once('=')) {
            let Ok(value) = value.parse() else { continue };
            match name {
                "fetched" => r.fetched = value,
                "errors" => r.errors = value,
                "rate_limited" => r.rate_limited = value,
                "block_waits" => r.block_waits = value,
                "fallback" => r.fallback = value,
                "outages" => r.outages = value,
                "recoveries" => r.recoveries = value,
                _ => {}
            }
        }
        r
    }
}

impl Worker {
    fn start(sim: &Simulator, redis_url: &str, prefix: &str, index: usize, margin: Duration) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_budget-fleet-worker"))
            .args([
                sim.base_url(),
                sim.corp_id().to_string(),
                redis_url.to_string(),
                prefix.to_string(),
                index.to_string(),
                PROCESSES.to_string(),
                CALLS.to_string(),
                WINDOW.as_millis().to_string(),
                margin.as_millis().to_string(),
                "200".to_string(), // retry_after_ms
                "8".to_string(),   // concurrency
            ])
            .env("WECOM_CORP_SECRET", sim.corp_secret())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start budget-fleet-worker");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let worker = Worker { stdin: child.stdin.take(), child, lines };
        assert_eq!(worker.line(Duration::from_secs(60)), "ready");
        worker
    }

    fn line(&self, within: Duration) -> String {
        self.lines.recv_timeout(within).expect("the worker printed nothing in time")
    }

    fn go(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Its report, once it is done (at most 3 minutes), and its exit status checked.
    fn finish(mut self) -> Report {
        let report = Report::parse(&self.line(Duration::from_secs(180)));
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "worker exited with {status}: {}", report.line);
        assert!(report.line.starts_with("done "), "{}", report.line);
        report
    }
}

/// A simulator of `CHATS` chats answering 45009 beyond `CALLS` per `WINDOW` on every endpoint, with 20 ms
/// of latency per call.
async fn simulator() -> Simulator {
    let faults = Faults::none().latency(Duration::from_millis(20)).rate_limit(RateLimitRule::new(CALLS, WINDOW));
    Simulator::start(SimConfig::default().data(DataSource::Scale(Scale::groups(CHATS))).faults(faults)).await.unwrap()
}

/// Starts the fleet, releases it, and waits until `sim` has had `gets` calls of `get`, at most 2 minutes.
async fn progress(sim: &Simulator, gets: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while sim.calls("get") < gets {
        assert!(Instant::now() < deadline, "the fleet stalled at {} gets", sim.calls("get"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn start_fleet(sim: &Simulator, redis_url: &str, prefix: &str, margin: Duration) -> Vec<Worker> {
    let mut workers: Vec<Worker> = (0..PROCESSES).map(|i| Worker::start(sim, redis_url, prefix, i, margin)).collect();
    for w in &mut workers {
        w.go();
    }
    workers
}

fn finish_fleet(workers: Vec<Worker>) -> Vec<Report> {
    let reports: Vec<Report> = workers.into_iter().map(Worker::finish).collect();
    for r in &reports {
        eprintln!("{}", r.line);
    }
    assert_eq!(reports.iter().map(|r| r.fetched).sum::<u64>(), CHATS as u64, "every chat fetched once");
    assert!(reports.iter().all(|r| r.errors == 0), "{reports:?}");
    reports
}

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_sync_at_the_shared_limit_without_a_single_45009() {
    let Some(url) = redis_url() else { return };
    let _one_fleet = FLEET.lock().await;
    let sim = simulator().await;
    let workers = start_fleet(&sim, &url, &unique_prefix("fleet-sync"), Duration::from_millis(200));
    let reports = tokio::task::spawn_blocking(move || finish_fleet(workers)).await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 0, "the simulator answered 45009: {stats:?}");
    assert_eq!(sim.calls("get"), CHATS as u64, "no call sent twice");
    assert!(reports.iter().all(|r| r.rate_limited == 0 && r.fallback == 0), "{reports:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_45009_answered_to_one_process_pauses_every_process() {
    let Some(url) = redis_url() else { return };
    let _one_fleet = FLEET.lock().await;
    let sim = simulator().await;
    let workers = start_fleet(&sim, &url, &unique_prefix("fleet-block"), Duration::from_millis(200));
    // A quarter of the way, the next `get` (whichever process sends it) is answered 45009.
    progress(&sim, CHATS as u64 / 4).await;
    sim.inject(ScriptedFault::new(Some("get"), FaultKind::RateLimited, 1)).unwrap();
    let reports = tokio::task::spawn_blocking(move || finish_fleet(workers)).await.unwrap();
    assert_eq!(reports.iter().map(|r| r.rate_limited).sum::<u64>(), 1, "one process got it: {reports:?}");
    // Every process, not only the one that got it, waited for the block to end before its next call.
    assert!(reports.iter().all(|r| r.block_waits >= 1), "{reports:?}");
    assert_eq!(sim.stats().rate_limited, 1, "the scripted one only: {:?}", sim.stats());
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_stopped_mid_run_no_storm_no_crash_and_recovery() {
    let Some(mut redis) = OwnRedis::start() else { return };
    let _one_fleet = FLEET.lock().await;
    let sim = simulator().await;
    let workers = start_fleet(&sim, &redis.url, &unique_prefix("fleet-outage"), Duration::from_millis(200));
    progress(&sim, CHATS as u64 / 4).await;
    redis.stop();
    // The fleet goes on, each process on its quarter of the budget.
    progress(&sim, CHATS as u64 / 2).await;
    redis.restart();
    let reports = tokio::task::spawn_blocking(move || finish_fleet(workers)).await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 0, "no 45009, let alone a storm: {stats:?}");
    for r in &reports {
        assert!(r.outages >= 1 && r.fallback > 0, "each process noticed and kept to its share: {}", r.line);
        assert!(r.recoveries >= 1, "and used Redis again once it was back: {}", r.line);
    }
}
