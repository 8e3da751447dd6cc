//! Every example against the embedded simulator, as CI runs them: the examples' own code (compiled here
//! from their files) with its output checked — JSON lines that parse, a report row per group, a CSV with
//! its header and a row per day, the events printed.

use std::future::Future;
use std::time::Duration;

use wecom_groupchat_examples::{BoxError, Target};
use wecom_groupchat_sim::SimConfig;

#[allow(dead_code)]
#[path = "../examples/full_sync.rs"]
mod full_sync;

#[allow(dead_code)]
#[path = "../examples/handover.rs"]
mod handover;

#[allow(dead_code)]
#[path = "../examples/stats_csv.rs"]
mod stats_csv;

#[allow(dead_code)]
#[path = "../examples/callback_receiver.rs"]
mod callback_receiver;

/// A bound on each example: a hung one fails its test rather than CI.
async fn bounded<T>(work: impl Future<Output = Result<T, BoxError>>) -> T {
    match tokio::time::timeout(Duration::from_secs(120), work).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("the example failed: {e}"),
        Err(_) => panic!("the example did not finish within 120 s"),
    }
}

async fn simulator() -> Target {
    Target::simulator(SimConfig::default()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_writes_a_json_line_per_chat() {
    let target = simulator().await;
    let mut out = Vec::new();
    let written = bounded(full_sync::run(&target.client, &mut out)).await;
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), written);
    assert!(written >= target.sim.as_ref().unwrap().hints().chats, "{written} chats");
    let mut ids = std::collections::HashSet::new();
    for line in lines {
        let chat: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = chat["chat_id"].as_str().unwrap().to_string();
        assert!(chat["member_list"].is_array(), "{line}");
        assert!(ids.insert(id), "a chat twice");
    }
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handover_reports_a_row_per_chat() {
    let target = simulator().await;
    let hints = target.sim.as_ref().unwrap().hints();
    let resigned = &hints.resigned_owners[0];
    let new_owner = &hints.eligible_new_owners[0];
    let mut out = Vec::new();
    let report =
        bounded(handover::run(&target.client, std::slice::from_ref(&resigned.userid), new_owner, &mut out)).await;
    assert!(report.all_succeeded(), "{report}");
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("chat_id,outcome,errcode,detail"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), resigned.chat_ids.len());
    for (row, chat_id) in rows.iter().zip(&resigned.chat_ids) {
        assert_eq!(*row, format!("{chat_id},transferred,,"));
    }
    // Handed over: nothing of theirs awaits transfer any more.
    let mut again = Vec::new();
    let report =
        bounded(handover::run(&target.client, std::slice::from_ref(&resigned.userid), new_owner, &mut again)).await;
    assert!(report.items.is_empty());
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_csv_writes_a_row_per_day() {
    let target = simulator().await;
    let owners = bounded(stats_csv::every_owner(&target.client)).await;
    assert!(!owners.is_empty());
    let mut out = Vec::new();
    let rows = bounded(stats_csv::run(&target.client, 45, owners, &mut out)).await;
    assert_eq!(rows, 45, "a row per day of the range (two windows of at most 30 days)");
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("day,new_chat_cnt,chat_total,chat_has_msg,new_member_cnt,member_total,member_has_msg,msg_total")
    );
    let mut days = Vec::new();
    let mut total = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 8, "{line}");
        assert_eq!(fields[0].len(), 10, "a YYYY-MM-DD day: {line}");
        for figure in &fields[1..] {
            total += figure.parse::<i64>().unwrap();
        }
        days.push(fields[0].to_string());
    }
    assert!(days.windows(2).all(|w| w[0] < w[1]), "days in order, each once");
    assert!(total > 0, "the demo company has statistics");
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_receiver_prints_the_pushed_events() {
    let mut out = Vec::new();
    let printed = bounded(callback_receiver::run_with_simulator(&mut out)).await;
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), printed);
    assert_eq!(printed, 3, "{text}");
    assert!(lines.iter().all(|l| l.starts_with("change_external_chat chat_id=")), "{text}");
    assert!(lines[0].contains("change_type=update update_detail=change_name"), "{text}");
    assert!(lines[1].contains("update_detail=change_notice"), "{text}");
    assert!(lines[2].contains("update_detail=del_member members="), "{text}");
}
