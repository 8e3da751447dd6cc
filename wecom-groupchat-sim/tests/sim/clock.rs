//! The simulator clock: moved forward from code or over HTTP, it drives token expiry, transfer
//! settling, the daily transfer quota, the on-the-job window and which days have statistics.

use std::time::Duration;

use serde_json::{Value, json};
use wecom_groupchat::bulk::ItemOutcome;
use wecom_groupchat::time::{DAY, day_start, now_unix};
use wecom_groupchat::types::{ChatStatus, FailedChat, ListRequest, OnjobTransferRequest, TransferRequest};
use wecom_groupchat_sim::{ChatData, CompanyData, DataSource, MAX_CLOCK_OFFSET_SECS, Simulator, StaffData};

use crate::common::*;
use crate::transfer::company_with_one_big_resigned_owner;

fn codes(failed: &Option<Vec<FailedChat>>) -> Vec<i64> {
    failed.iter().flatten().map(|f| f.errcode.unwrap_or(0)).collect()
}

/// Moves the clock to `margin` seconds before (negative: after) the next 00:00 UTC+8.
fn advance_to_midnight(sim: &Simulator, margin: i64) {
    let now = sim.now();
    let target = day_start(now) + DAY - margin;
    sim.advance_clock(Duration::from_secs((target - now).max(0) as u64)).unwrap();
}

#[tokio::test]
async fn the_clock_moves_forward_from_code_and_over_http() {
    let sim = start().await;
    assert!((sim.now() - now_unix()).abs() <= 2);
    assert_eq!(sim.clock_offset(), 0);
    let before = sim.now();
    let after = sim.advance_clock(Duration::from_secs(3 * 3600)).unwrap();
    assert!(after >= before + 3 * 3600);
    assert_eq!(sim.clock_offset(), 3 * 3600);

    let raw = Raw::new(&sim).await;
    let clock = raw.control_get("/__sim/clock").await;
    assert_eq!(clock["offset_seconds"], 3 * 3600);
    assert!((clock["now"].as_i64().unwrap() - sim.now()).abs() <= 1);
    let (status, answer) = raw.control_post("/__sim/clock", r#"{"advance_seconds": 3600}"#).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["offset_seconds"], 4 * 3600);

    // Only forward, only known fields, and never past 100 years.
    let huge = format!(r#"{{"advance_seconds": {}}}"#, u64::MAX);
    for body in [r#"{"advance_seconds": -1}"#, r#"{"advance": 1}"#, "", "[]", huge.as_str()] {
        let (status, answer) = raw.control_post("/__sim/clock", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    }
    assert!(sim.advance_clock(Duration::MAX).is_err());
    assert_eq!(sim.clock_offset(), 4 * 3600, "refused advances change nothing");
}

#[tokio::test]
async fn a_clock_offset_at_start_shifts_time_and_absurd_ones_are_refused() {
    let sim = start_with(config().clock_offset(-10 * DAY)).await;
    assert_eq!(sim.clock_offset(), -10 * DAY);
    assert!((sim.now() - (now_unix() - 10 * DAY)).abs() <= 2);
    // The demo company is anchored to the simulated day: nobody joined after it began.
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    let members = sim.group_chat(&chat).unwrap().member_list.unwrap();
    assert!(members.iter().all(|m| m.join_time.unwrap() <= day_start(sim.now())));

    for offset in [i64::MAX, i64::MIN, MAX_CLOCK_OFFSET_SECS + 1] {
        let error = Simulator::start(config().clock_offset(offset)).await.unwrap_err();
        assert!(error.to_string().contains("clock offset"), "{error}");
    }
}

#[tokio::test]
async fn tokens_expire_when_the_clock_passes_their_lifetime() {
    let sim = start().await; // tokens live 7200 s
    let raw = Raw::new(&sim).await;
    let list = || raw.call("list", json!({"limit": 1}));
    assert_eq!(errcode(&list().await), 0);
    sim.advance_clock(Duration::from_secs(7000)).unwrap();
    assert_eq!(errcode(&list().await), 0);
    sim.advance_clock(Duration::from_secs(200)).unwrap();
    assert_eq!(errcode(&list().await), 42001);

    // The SDK client fetches a new token and carries on.
    let client = client(&sim);
    client.list(&ListRequest::new(1)).await.unwrap();
    sim.advance_clock(Duration::from_secs(7200)).unwrap();
    client.list(&ListRequest::new(1)).await.unwrap();
    assert_eq!(sim.gettoken_calls(), 3);
}

#[tokio::test]
async fn transfers_settle_when_the_clock_passes_the_settle_time() {
    let sim = start().await; // transfers settle after an hour
    let client = client(&sim);
    let hints = sim.hints();
    let chat = hints.resigned_owners[0].chat_ids[0].clone();
    let new_owner = hints.eligible_new_owners[0].clone();
    client.transfer(&TransferRequest::new([chat.as_str()], &new_owner)).await.unwrap();
    sim.advance_clock(Duration::from_secs(3500)).unwrap();
    assert_eq!(sim.chat_status(&chat), Some(ChatStatus::Transferring));
    sim.advance_clock(Duration::from_secs(100)).unwrap();
    assert_eq!(sim.chat_status(&chat), Some(ChatStatus::Transferred));
    assert_eq!(sim.group_chat(&chat).unwrap().owner, Some(new_owner));
}

#[tokio::test]
async fn the_daily_transfer_quota_resets_the_next_day() {
    let sim = start_with(config().data(company_with_one_big_resigned_owner(305))).await;
    let client = client(&sim);
    let ids: Vec<String> = (0..305).map(|i| format!("wrBig{i:04}")).collect();
    let report = client.transfer_batched(TransferRequest::new(&ids, "a")).await.unwrap();
    let rest: Vec<String> = report.failed().map(|f| f.id.clone()).collect();
    assert_eq!(rest.len(), 5);
    assert!(report.failed().all(|f| matches!(f.outcome, ItemOutcome::Failed { errcode: Some(45009), .. })));

    // A minute before midnight (UTC+8) it is still the same day.
    advance_to_midnight(&sim, 60);
    let again = client.transfer(&TransferRequest::new(&rest, "a")).await.unwrap();
    assert_eq!(codes(&again.failed_chat_list), [45009; 5]);
    // After midnight the quota is fresh.
    advance_to_midnight(&sim, -1);
    let next_day = client.transfer(&TransferRequest::new(&rest, "a")).await.unwrap();
    assert_eq!(codes(&next_day.failed_chat_list), Vec::<i64>::new());
}

#[tokio::test]
async fn onjob_transfer_has_the_300_a_day_quota_too() {
    let mut data = CompanyData::default();
    data.staff = vec![StaffData::new("busy"), StaffData::new("a"), StaffData::new("b")];
    data.chats = (0..305).map(|i| ChatData::new(format!("wrOnjob{i:04}"), "busy")).collect();
    let sim = start_with(config().data(DataSource::Data(Box::new(data)))).await;
    let client = client(&sim);
    let ids: Vec<String> = (0..305).map(|i| format!("wrOnjob{i:04}")).collect();
    let report = client.onjob_transfer_batched(OnjobTransferRequest::new(&ids, "a")).await.unwrap();
    assert_eq!(report.succeeded().count(), 300);
    let rest: Vec<String> = report.failed().map(|f| f.id.clone()).collect();
    assert!(report.failed().all(|f| matches!(f.outcome, ItemOutcome::Failed { errcode: Some(45009), .. })));
    assert_eq!(rest.len(), 5);
    // Another new owner has a quota of its own; the same one waits for the next day.
    let other = client.onjob_transfer(&OnjobTransferRequest::new(&rest[..1], "b")).await.unwrap();
    assert!(codes(&other.failed_chat_list).is_empty());
    advance_to_midnight(&sim, -1);
    let next_day = client.onjob_transfer(&OnjobTransferRequest::new(&rest[1..], "a")).await.unwrap();
    assert!(codes(&next_day.failed_chat_list).is_empty());
}

#[tokio::test]
async fn the_onjob_window_reopens_after_90_days() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let from = hints.active_owners.iter().find(|o| hints.eligible_new_owners.contains(&o.userid)).unwrap();
    let to: Vec<&String> = hints.eligible_new_owners.iter().filter(|u| **u != from.userid).collect();
    let chat = from.chat_ids[0].as_str();
    let onjob = |new_owner: &str| {
        let request = OnjobTransferRequest::new([chat], new_owner);
        let client = client.clone();
        async move { client.onjob_transfer(&request).await }
    };

    assert!(codes(&onjob(to[0]).await.unwrap().failed_chat_list).is_empty());
    assert!(codes(&onjob(to[1]).await.unwrap().failed_chat_list).is_empty());
    assert_eq!(codes(&onjob(to[2]).await.unwrap().failed_chat_list), [40128]);
    // 89 days later both transfers are still within the 90 natural days.
    sim.advance_clock(Duration::from_secs(89 * DAY as u64)).unwrap();
    assert_eq!(codes(&onjob(to[2]).await.unwrap().failed_chat_list), [40128]);
    // On the 90th day they are not.
    sim.advance_clock(Duration::from_secs(DAY as u64)).unwrap();
    assert!(codes(&onjob(to[2]).await.unwrap().failed_chat_list).is_empty());
    assert!(codes(&onjob(to[3]).await.unwrap().failed_chat_list).is_empty());
    assert_eq!(codes(&onjob(to[4]).await.unwrap().failed_chat_list), [40128]);
    assert_eq!(sim.group_chat(chat).unwrap().owner.as_deref(), Some(to[3].as_str()));
}

fn by_day(raw: &Raw, owner: &str, day: i64) -> impl Future<Output = Value> {
    raw.call("statistic_group_by_day", json!({"day_begin_time": day, "owner_filter": {"userid_list": [owner]}}))
}

#[tokio::test]
async fn statistics_follow_the_clock_past_midnight() {
    // Tokens that outlive the jump to tomorrow.
    let sim = start_with(config().token_ttl(Duration::from_secs(2 * DAY as u64))).await;
    let raw = Raw::new(&sim).await;
    let owner = sim.hints().statistic_owners[0].clone();
    let today = day_start(sim.now());
    let oldest = today - 180 * DAY;
    assert_eq!(errcode(&by_day(&raw, &owner, today).await), 600018, "today has no statistics yet");
    let yesterday = by_day(&raw, &owner, today - DAY).await;
    assert_eq!(errcode(&by_day(&raw, &owner, oldest).await), 0);

    advance_to_midnight(&sim, -1);
    // The old "today" is the new yesterday, with figures that follow on from the day before.
    let answer = by_day(&raw, &owner, today).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    let item = &answer["items"][0];
    assert_eq!(item["stat_time"], today);
    assert_eq!(item["data"]["new_chat_cnt"], 0, "the demo company has no chat created today");
    assert_eq!(item["data"]["chat_total"], yesterday["items"][0]["data"]["chat_total"]);
    assert!(item["data"]["chat_total"].as_i64().unwrap() > 0);
    // And the oldest day moved on with it.
    assert_eq!(errcode(&by_day(&raw, &owner, oldest).await), 600018);
    assert_eq!(errcode(&by_day(&raw, &owner, oldest + DAY).await), 0);
    // The same day always has the same figures.
    assert_eq!(by_day(&raw, &owner, today - DAY).await, yesterday);
}
