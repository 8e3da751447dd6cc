//! OS processes share tokens through a real Redis against the simulator: one `gettoken` for a cold fleet
//! of 8 released at once (with the lock contended), exactly one more when every token dies while calls are
//! in flight, a killed lock holder replaced only once its lock expired, and calls that go on when Redis
//! stops in the middle of a refresh.
//!
//! Each worker (`src/bin/token_fleet_worker.rs`) prints `ready`, then runs one phase per `go` line.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wecom_groupchat::token::credentials_key;
use wecom_groupchat_sim::{Faults, SimConfig, Simulator};
use wecom_groupchat_tests::*;

/// errcode of an expired token, which the simulator answers for every token after `invalidate_tokens`.
const EXPIRED_TOKEN: i64 = 42001;

/// A running worker process and the lines it prints.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

/// What a worker reports of one phase.
#[derive(Debug, Clone, Default)]
struct Phase {
    ok: u64,
    err: u64,
    /// Refresh locks this process took.
    lock_taken: u64,
    /// Attempts to take the refresh lock that found another instance holding it.
    lock_busy: u64,
    /// Waits for another instance's token.
    waits: u64,
    line: String,
}

impl Phase {
    fn parse(line: &str) -> Phase {
        let mut phase = Phase { line: line.to_string(), ..Phase::default() };
        for (name, value) in line.split_whitespace().filter_map(|word| word.split_once('=')) {
            let Ok(value) = value.parse() else { continue };
            match name {
                "ok" => phase.ok = value,
                "err" => phase.err = value,
                "lock_taken" => phase.lock_taken = value,
                "lock_busy" => phase.lock_busy = value,
                "waits" => phase.waits = value,
                _ => {}
            }
        }
        phase
    }
}

/// What the workers of one test share: the simulator, the Redis, the key prefix, the chat they read.
struct Fleet<'a> {
    sim: &'a Simulator,
    redis_url: &'a str,
    prefix: &'a str,
    chat_id: &'a str,
    lock_ttl: Duration,
    /// More environment for the workers.
    env: &'a [(&'a str, &'a std::path::Path)],
}

impl Fleet<'_> {
    /// Starts a worker making `calls` calls in each of `phases` phases; waits until it is ready (client
    /// built, Redis connected).
    fn worker(&self, calls: u32, phases: u32) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_token-fleet-worker"))
            .args([
                self.sim.base_url(),
                self.sim.corp_id().to_string(),
                self.redis_url.to_string(),
                self.prefix.to_string(),
                self.chat_id.to_string(),
                calls.to_string(),
                phases.to_string(),
                self.lock_ttl.as_millis().to_string(),
            ])
            .env("WECOM_CORP_SECRET", self.sim.corp_secret())
            .envs(self.env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start token-fleet-worker");
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
        assert_eq!(worker.line(), "ready");
        worker
    }
}

impl Worker {
    /// The next line, waiting at most 60 s.
    fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(60)).expect("the worker printed nothing within 60 s")
    }

    /// Starts the next phase.
    fn go(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The report of phase `n`, which must have made `calls` successful calls.
    fn phase(&self, n: u32, calls: u64) -> Phase {
        let phase = Phase::parse(&self.line());
        assert!(phase.line.starts_with(&format!("phase {n}: ")), "worker line: {}", phase.line);
        assert_eq!((phase.ok, phase.err), (calls, 0), "worker line: {}", phase.line);
        phase
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "worker exited with {status}");
    }
}

fn fleet<'a>(
    sim: &'a Simulator,
    redis_url: &'a str,
    prefix: &'a str,
    chat_id: &'a str,
    lock_ttl: Duration,
) -> Fleet<'a> {
    Fleet { sim, redis_url, prefix, chat_id, lock_ttl, env: &[] }
}

/// Releases every worker at once: the start barrier of a phase.
fn go_all(workers: &mut [Worker]) {
    for w in workers {
        w.go();
    }
}

/// The reports of phase `n` of every worker.
fn phase_all(workers: &[Worker], n: u32, calls: u64) -> Vec<Phase> {
    let phases: Vec<Phase> = workers.iter().map(|w| w.phase(n, calls)).collect();
    for p in &phases {
        eprintln!("{}", p.line);
    }
    phases
}

/// Waits (at most 30 s) until `done` holds.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn simulator(faults: Faults) -> Simulator {
    Simulator::start(SimConfig::default().faults(faults)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_fetch_one_token_and_one_more_after_invalidation() {
    let Some(url) = redis_url() else { return };
    // Every call, gettoken included, takes 400 ms: the refresh lock is held that long, so instances
    // released together find it taken, and calls are still in flight when their token dies.
    let sim = simulator(Faults::none().latency(Duration::from_millis(400))).await;
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let prefix = unique_prefix("fleet8");
    let mut workers: Vec<Worker> =
        (0..8).map(|_| fleet(&sim, &url, &prefix, &chat, Duration::from_secs(5)).worker(100, 2)).collect();

    // Phase 1: cold, every process released at once.
    go_all(&mut workers);
    let cold = phase_all(&workers, 1, 100);
    let contended = cold.iter().filter(|p| p.lock_busy > 0).count();
    eprintln!("cold start: gettoken={} processes that found the lock taken={contended}", sim.gettoken_calls());
    assert_eq!(sim.gettoken_calls(), 1, "one gettoken for 8 processes × 100 concurrent calls, cold");
    // Without the fleet-wide lock every process would fetch: here the others found it taken and waited.
    assert!(contended >= 1 && cold.iter().any(|p| p.waits > 0), "the refresh lock was never contended: {cold:?}");
    assert!(cold.iter().map(|p| p.lock_taken).sum::<u64>() >= 1);

    // Phase 2: every token dies while the calls are in flight (waiting out the simulator's latency).
    let sent_before = sim.calls("get");
    go_all(&mut workers);
    wait_until("half of phase 2's calls reached the simulator", || sim.calls("get") >= sent_before + 400).await;
    let expired_before = sim.stats().answers_with(EXPIRED_TOKEN);
    sim.invalidate_tokens();
    let invalidated = phase_all(&workers, 2, 100);
    let rejected = sim.stats().answers_with(EXPIRED_TOKEN) - expired_before;
    eprintln!(
        "after invalidation: gettoken={} calls rejected in flight={rejected} processes that found the lock taken={}",
        sim.gettoken_calls(),
        invalidated.iter().filter(|p| p.lock_busy > 0).count()
    );
    assert!(rejected >= 1, "no call in flight was rejected: the invalidation came too late");
    assert_eq!(sim.gettoken_calls(), 2, "one refresh for the whole fleet after the token died");
    let phase2 = sim.calls("get") - sent_before;
    assert!((800..=1600).contains(&phase2), "phase 2: every call sent, at most once more after a rejection: {phase2}");
    for w in workers {
        w.finish();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_holder_killed_mid_refresh_is_replaced_after_its_lock_expires() {
    let Some(url) = redis_url() else { return };
    // gettoken takes 1.5 s: the first worker is still fetching, holding the lock, when it is killed.
    let latency = Duration::from_millis(1500);
    let lock_ttl = Duration::from_millis(2500);
    let sim = simulator(Faults::none().latency(latency)).await;
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let prefix = unique_prefix("killed");
    let lock_key = format!("{prefix}:lock:{}", credentials_key(&sim.base_url(), sim.corp_id(), sim.corp_secret()));
    let token_key = format!("{prefix}:token:{}", credentials_key(&sim.base_url(), sim.corp_id(), sim.corp_secret()));
    let mut redis = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();

    let fleet = fleet(&sim, &url, &prefix, &chat, lock_ttl);
    let mut holder = fleet.worker(1, 1);
    let mut waiter = fleet.worker(1, 1);
    holder.go();
    // The simulator counts a gettoken when it arrives, before its latency.
    wait_until("the first worker asked for a token", || sim.gettoken_calls() >= 1).await;
    let first_gettoken = Instant::now();
    // When the holder's lock expires, measured on Redis: a PTTL sent after `asked` ends at `asked + pttl` or later.
    let asked = Instant::now();
    let pttl: i64 = redis::cmd("PTTL").arg(&lock_key).query_async(&mut redis).await.unwrap();
    assert!(pttl > 0, "the refreshing worker holds no lock ({pttl})");
    let lock_expiry = asked + Duration::from_millis(pttl as u64);
    holder.child.kill().unwrap();
    holder.child.wait().unwrap();
    assert!(first_gettoken.elapsed() < latency, "the holder was killed too late: its gettoken may have answered");
    let stored: bool = redis::cmd("EXISTS").arg(&token_key).query_async(&mut redis).await.unwrap();
    assert!(!stored, "the killed holder stored no token");

    waiter.go();
    let released = Instant::now();
    assert!(released + Duration::from_millis(500) < lock_expiry, "the second worker started too late to wait");
    // Record when the second gettoken arrives, while the waiter works.
    let mut second_gettoken = None;
    let line = loop {
        if second_gettoken.is_none() && sim.gettoken_calls() >= 2 {
            second_gettoken = Some(Instant::now());
        }
        if let Ok(line) = waiter.lines.try_recv() {
            break line;
        }
        assert!(released.elapsed() < Duration::from_secs(60), "the second worker never finished");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let report = Phase::parse(&line);
    assert_eq!((report.ok, report.err), (1, 0), "worker line: {line}");
    let second_gettoken = second_gettoken.or_else(|| (sim.gettoken_calls() >= 2).then(Instant::now)).unwrap();
    eprintln!(
        "second gettoken {} the lock's expiry ({:?} after the second worker started); {line}",
        if second_gettoken >= lock_expiry {
            format!("{:?} after", second_gettoken - lock_expiry)
        } else {
            format!("{:?} BEFORE", lock_expiry - second_gettoken)
        },
        second_gettoken - released
    );
    assert!(
        second_gettoken >= lock_expiry,
        "the second worker fetched {:?} before the dead holder's lock expired",
        lock_expiry - second_gettoken
    );
    assert!(
        second_gettoken - lock_expiry < Duration::from_secs(1),
        "the second worker took {:?} after the lock's expiry to refresh",
        second_gettoken - lock_expiry
    );
    assert!(report.lock_busy >= 1 && report.waits >= 1 && report.lock_taken >= 1, "{line}");
    assert_eq!(sim.gettoken_calls(), 2, "the killed holder's fetch and the replacement's, no more");
    waiter.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_go_on_when_redis_stops_mid_run() {
    let Some(mut redis) = OwnRedis::start() else { return };
    // Calls take 500 ms, so that Redis stops and the token dies while they are in flight.
    let sim = simulator(Faults::none().latency(Duration::from_millis(500))).await;
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let prefix = unique_prefix("stop");
    let mut workers: Vec<Worker> =
        (0..4).map(|_| fleet(&sim, &redis.url, &prefix, &chat, Duration::from_secs(5)).worker(50, 3)).collect();
    go_all(&mut workers);
    phase_all(&workers, 1, 50);
    assert_eq!(sim.gettoken_calls(), 1);

    // Phase 2: Redis stops while the calls are in flight, then their token dies: every process must
    // invalidate and refresh without Redis, through the in-process store's own lock.
    let sent_before = sim.calls("get");
    go_all(&mut workers);
    wait_until("phase 2's calls reached the simulator", || sim.calls("get") >= sent_before + 100).await;
    let expired_before = sim.stats().answers_with(EXPIRED_TOKEN);
    redis.stop();
    sim.invalidate_tokens();
    phase_all(&workers, 2, 50);
    let rejected = sim.stats().answers_with(EXPIRED_TOKEN) - expired_before;
    let during_outage = sim.gettoken_calls() - 1;
    eprintln!("Redis stopped: calls rejected in flight={rejected}, gettoken during the outage={during_outage}");
    assert!(rejected >= 1, "no call in flight was rejected: the invalidation came too late");
    assert!(
        (1..=4).contains(&during_outage),
        "each process refreshes on its own without Redis, once at most: {during_outage} gettoken for 4 processes"
    );

    // Phase 3: still no Redis; every process keeps the token it fetched.
    go_all(&mut workers);
    phase_all(&workers, 3, 50);
    assert_eq!(sim.gettoken_calls(), 1 + during_outage, "each process kept the token it fetched during the outage");
    for w in workers {
        w.finish();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_share_tokens_over_tls() {
    let Some(certs) = TestCerts::generate() else { return };
    let tls_port = free_port();
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let tls = [
        "--tls-port".to_string(),
        tls_port.to_string(),
        "--tls-cert-file".into(),
        path(&certs.cert),
        "--tls-key-file".into(),
        path(&certs.key),
        "--tls-ca-cert-file".into(),
        path(&certs.ca),
        "--tls-auth-clients".into(),
        "no".into(),
    ];
    let Some(redis) = OwnRedis::start_with(&tls) else { return };
    let sim = simulator(Faults::none().latency(Duration::from_millis(200))).await;
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let prefix = unique_prefix("tls");
    // The workers trust the test's authority (rustls-native-certs reads SSL_CERT_FILE).
    let tls_url = format!("rediss://localhost:{tls_port}");
    let ca: [(&str, &std::path::Path); 1] = [("SSL_CERT_FILE", &certs.ca)];
    let mut workers: Vec<Worker> = (0..2)
        .map(|_| Fleet { env: &ca, ..fleet(&sim, &tls_url, &prefix, &chat, Duration::from_secs(5)) }.worker(20, 1))
        .collect();
    go_all(&mut workers);
    phase_all(&workers, 1, 20); // every call of the phase succeeded
    assert_eq!(sim.gettoken_calls(), 1, "one gettoken, shared over TLS");
    // Had TLS failed, the workers would have fallen back to memory: the token is in Redis.
    let mut plain = redis::Client::open(redis.url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}:token:{}", credentials_key(&sim.base_url(), sim.corp_id(), sim.corp_secret()));
    let stored: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut plain).await.unwrap();
    assert!(stored, "the token reached Redis over TLS");
    for w in workers {
        w.finish();
    }
}
