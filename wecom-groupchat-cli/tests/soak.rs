//! Fault soak: a whole export under about 20 % of failing calls finishes in one run, with every chat
//! exactly once and complete. Faults are drawn per request from the seed, so the run is reproducible
//! whatever the concurrency: at 20 % a chat fails its 7 attempts with probability 1.3e-5, so a chosen
//! seed is what keeps the test from being a lottery, not what makes the retries work.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::Sim;
use serde_json::Value;
use wecom_groupchat_sim::{DataSource, Faults, Scale};

const CHATS: usize = 3000;

fn faults() -> Faults {
    // -1, 45033, HTTP 502, truncated JSON, dropped connections, expired tokens: 20 % of calls in all.
    Faults::default()
        .busy(0.04)
        .concurrency(0.03)
        .bad_gateway(0.03)
        .truncate(0.04)
        .drop_connections(0.03)
        .expire_tokens(0.03)
}

#[test]
fn an_export_under_20_percent_faults_finishes_in_one_run() {
    let data = DataSource::Scale(Scale::groups(CHATS).members_per_group(4));
    let sim = Sim::with(common::config().data(data).seed(20261130).faults(faults()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    let started = Instant::now();
    let run = sim.cli().args(["export", "--retries", "6", "--concurrency", "16", "--out"]).arg(&out).run();
    run.ok().stderr_has(&[&format!("{CHATS} chats listed"), &format!("exported {CHATS} chats")]);
    let took = started.elapsed();

    let text = std::fs::read_to_string(&out).unwrap();
    let mut seen: HashMap<String, Value> = HashMap::new();
    for line in text.lines() {
        let chat: Value = serde_json::from_str(line).unwrap();
        let id = chat["chat_id"].as_str().unwrap().to_string();
        assert!(seen.insert(id.clone(), chat).is_none(), "{id} exported twice");
    }
    assert_eq!(seen.len(), CHATS, "every chat, once");
    for (id, chat) in &seen {
        let expected = sim.group_chat(id).expect("a chat of the simulator");
        let members = chat["member_list"].as_array().map_or(0, Vec::len);
        assert_eq!(members, expected.member_list.map_or(0, |m| m.len()), "{id}: its members");
    }
    let stats = sim.stats();
    let injected: u64 = stats.faults.values().sum();
    let share = injected as f64 / stats.total_calls as f64;
    assert!((0.15..0.25).contains(&share), "about 20 % of calls failed: {share:.3} ({stats:?})");
    eprintln!("soak: {} calls, {injected} faults ({:.1} %), {took:?}", stats.total_calls, share * 100.0);
    assert!(took < Duration::from_secs(120), "bounded: {took:?}");
}
