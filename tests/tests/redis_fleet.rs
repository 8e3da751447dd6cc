//! Eight OS processes share tokens through a real Redis against the simulator: one `gettoken` for the
//! cold fleet, exactly one more after every token is invalidated, a killed lock holder replaced once its
//! lock expires, and calls that go on when Redis stops.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wecom_groupchat_sim::{Faults, SimConfig, Simulator};
use wecom_groupchat_tests::*;

/// A running worker process and the lines it prints.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn start(
        sim: &Simulator,
        redis_url: &str,
        prefix: &str,
        chat_id: &str,
        calls: u32,
        phases: u32,
        lock_ttl_ms: u64,
    ) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_token-fleet-worker"))
            .args([
                sim.base_url(),
                sim.corp_id().to_string(),
                sim.corp_secret().to_string(),
                redis_url.to_string(),
                prefix.to_string(),
                chat_id.to_string(),
                calls.to_string(),
                phases.to_string(),
                lock_ttl_ms.to_string(),
            ])
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
        Worker { stdin: child.stdin.take(), child, lines }
    }

    /// The next line, waiting at most 60 s.
    fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(60)).expect("the worker printed nothing within 60 s")
    }

    fn go(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "worker exited with {status}");
    }
}

fn assert_all_ok(line: &str, phase: u32, calls: u32) {
    assert_eq!(line.trim_end(), format!("phase {phase}: ok={calls} err=0"), "worker line");
}

async fn simulator(faults: Faults) -> Simulator {
    Simulator::start(SimConfig::default().faults(faults)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_processes_fetch_one_token_and_one_more_after_invalidation() {
    let Some(url) = redis_url() else { return };
    let sim = simulator(Faults::none()).await;
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let prefix = unique_prefix("fleet8");
    let mut workers: Vec<Worker> = (0..8).map(|_| Worker::start(&sim, &url, &prefix, &chat, 100, 2, 5000)).collect();
    for w in &workers {
        assert_all_ok(&w.line(), 1, 100);
    }
    assert_eq!(sim.gettoken_calls(), 1, "one gettoken for 8 processes × 100 concurrent calls, cold");

    sim.invalidate_tokens();
    for w in &mut workers {
        w.go();
    }
    for w in &workers {
        assert_all_ok(&w.line(), 2, 100);
    }
    assert_eq!(sim.gettoken_calls(), 2, "one refresh for the whole fleet after the token died");
    let phase2 = sim.calls("get") - 800;
    assert!((800..=1600).contains(&phase2), "phase 2: every call sent, at most once more after a rejection: {phase2}");
    for w in workers {
        w.finish();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_holder_killed_mid_refresh_is_replaced_after_its_lock_expires() {
    let Some(url) = redis_url() else { return };
    // Every call takes 1.5 s, so the first worker is still fetching its token when it is killed.
    let latency = Duration::from_millis(1500);
    let lock_ttl = Duration::from_millis(2500);
    let sim = simulator(Faults::none().latency(latency)).await;
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let prefix = unique_prefix("killed");

    let mut holder = Worker::start(&sim, &url, &prefix, &chat, 1, 1, lock_ttl.as_millis() as u64);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.gettoken_calls() == 0 {
        assert!(Instant::now() < deadline, "the first worker never asked for a token");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // It holds the lock and its gettoken is in flight: kill it before it can store the token.
    let started = Instant::now();
    let waiter = Worker::start(&sim, &url, &prefix, &chat, 1, 1, lock_ttl.as_millis() as u64);
    holder.child.kill().unwrap();
    holder.child.wait().unwrap();

    assert_all_ok(&waiter.line(), 1, 1);
    assert!(
        started.elapsed() >= lock_ttl.saturating_sub(Duration::from_millis(500)),
        "the second worker waited for the dead holder's lock to expire instead of fetching at once"
    );
    assert_eq!(sim.gettoken_calls(), 2, "the killed holder's fetch and the replacement's, no more");
    waiter.finish();
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_go_on_when_redis_stops_mid_run() {
    let Some(mut redis) = OwnRedis::start() else { return };
    let sim = simulator(Faults::none()).await;
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let prefix = unique_prefix("stop");
    let mut workers: Vec<Worker> =
        (0..4).map(|_| Worker::start(&sim, &redis.url, &prefix, &chat, 50, 2, 5000)).collect();
    for w in &workers {
        assert_all_ok(&w.line(), 1, 50);
    }
    assert_eq!(sim.gettoken_calls(), 1);
    redis.stop();
    for w in &mut workers {
        w.go();
    }
    for w in &workers {
        assert_all_ok(&w.line(), 2, 50);
    }
    assert_eq!(sim.gettoken_calls(), 1, "each process kept the token it had written through to memory");
    for w in workers {
        w.finish();
    }
}
