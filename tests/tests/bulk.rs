//! Bulk transfer: any number of chats in batches of at most 100, and a report that accounts for every
//! chat id — transferred, failed with the server's reason, or of unknown outcome.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use wecom_groupchat::Error;
use wecom_groupchat::bulk::ItemOutcome;
use wecom_groupchat::types::{OnjobTransferRequest, TransferRequest};
use wecom_groupchat_tests::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TRANSFER: &str = "/cgi-bin/externalcontact/groupchat/transfer";

fn chat_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("wr-chat-{i:03}")).collect()
}

/// Batch 1: two chats listed as failed (one of them with errcode 0). Batch 2: system busy (a write is not
/// retried, so its chats failed). Batch 3: no answer before the client's timeout (outcome unknown).
struct MixedOutcomes {
    calls: AtomicUsize,
}

impl Respond for MixedOutcomes {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let ids = body["chat_id_list"].as_array().unwrap();
        match self.calls.fetch_add(1, Ordering::SeqCst) {
            0 => ResponseTemplate::new(200).set_body_json(ok(json!({"failed_chat_list": [
                {"chat_id": ids[3], "errcode": 90500, "errmsg": "the owner of this chat is not resigned"},
                {"chat_id": ids[7], "errcode": 0, "errmsg": "listed without a code"},
            ]}))),
            1 => ResponseTemplate::new(200).set_body_json(err(-1, "system busy")),
            _ => ResponseTemplate::new(200).set_body_json(ok(json!({}))).set_delay(Duration::from_secs(3)),
        }
    }
}

#[tokio::test]
async fn two_hundred_fifty_chats_go_in_batches_of_100_100_50_and_every_id_is_accounted_for() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(path(TRANSFER)).respond_with(MixedOutcomes { calls: AtomicUsize::new(0) }).mount(&server).await;
    let client = builder(&server).timeout(Duration::from_millis(300)).build().unwrap();

    let ids = chat_ids(250);
    let mut progress = Vec::new();
    let request = TransferRequest::new(ids.clone(), "new-owner");
    let report =
        wecom_groupchat::bulk::run(&client, request, |p| progress.push((p.batches_done, p.items_done))).await.unwrap();

    let sizes: Vec<usize> = requests_to(&server, TRANSFER)
        .await
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["chat_id_list"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50], "each batch sent once; writes are not retried");
    assert_eq!(progress, [(1, 100), (2, 200), (3, 250)]);

    // Every input id, once, in input order.
    assert_eq!(report.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(report.counts(), (98, 102, 50));
    assert_eq!(
        report.items[3].outcome,
        ItemOutcome::Failed { errcode: Some(90500), errmsg: "the owner of this chat is not resigned".into() }
    );
    assert!(matches!(report.items[7].outcome, ItemOutcome::Failed { errcode: Some(0), .. }), "listed means failed");
    assert!(matches!(&report.items[150].outcome, ItemOutcome::Failed { errcode: Some(-1), .. }));
    assert!(matches!(&report.items[249].outcome, ItemOutcome::Unknown { reason } if reason.contains("timed out")));
    assert!(!report.all_succeeded());
    assert_eq!(report.to_string(), "transfer: 98 succeeded, 102 failed, 50 unknown (3 batches)");
}

#[tokio::test]
async fn the_generated_helper_sends_every_batch_and_reports_success() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(path("/cgi-bin/externalcontact/groupchat/onjob_transfer"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({}))))
        .mount(&server)
        .await;
    let mut ids = chat_ids(201);
    ids.push(ids[0].clone());
    let report = client(&server).onjob_transfer_batched(OnjobTransferRequest::new(ids, "lisi")).await.unwrap();
    assert_eq!(
        (report.counts(), report.batches, report.duplicates.clone()),
        ((201, 0, 0), 3, vec!["wr-chat-000".to_string()])
    );
    assert!(report.all_succeeded());
}

#[tokio::test]
async fn an_invalid_batch_stops_everything_before_anything_is_sent() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    let mut ids = chat_ids(150);
    ids[5] = ids[3].clone(); // a duplicate before it must not shift the position reported
    ids[120] = String::new();
    let error = client(&server).transfer_batched(TransferRequest::new(ids, "x")).await.unwrap_err();
    match &error {
        // The position in the caller's list, not in the second batch.
        Error::Validation { error, .. } => {
            assert_eq!(error.to_string(), "chat_id_list[120]: 0 characters, must not be empty")
        }
        other => panic!("{other:?}"),
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn after_a_rate_limit_the_remaining_batches_are_reported_not_sent() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(path(TRANSFER))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({}))))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(TRANSFER))
        .respond_with(ResponseTemplate::new(200).set_body_json(err(45009, "api freq out of limit")))
        .mount(&server)
        .await;
    let ids = chat_ids(350);
    let mut progress = Vec::new();
    let report = wecom_groupchat::bulk::run(&client(&server), TransferRequest::new(ids.clone(), "new-owner"), |p| {
        progress.push((p.batches_done, p.items_done))
    })
    .await
    .unwrap();
    // 45009 blocks the endpoint for the rest of its window: batches 3 and 4 would only meet it again.
    assert_eq!(hits(&server, TRANSFER).await, 2);
    assert_eq!(report.batches, 2);
    assert_eq!(report.counts(), (100, 250, 0));
    assert_eq!(report.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), ids, "every id, in order");
    assert!(matches!(&report.items[150].outcome, ItemOutcome::Failed { errcode: Some(45009), .. }));
    assert!(
        matches!(&report.items[349].outcome, ItemOutcome::NotSent { errcode: Some(45009), reason } if reason.starts_with("not sent"))
    );
    assert_eq!(progress, [(1, 100), (2, 200), (4, 350)]);
}
