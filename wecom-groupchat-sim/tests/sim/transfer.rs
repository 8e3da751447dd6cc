use std::time::Duration;

use futures::TryStreamExt;
use serde_json::json;
use wecom_groupchat::bulk::ItemOutcome;
use wecom_groupchat::types::{
    ChatStatus, FailedChat, GetRequest, GroupChatMember, JoinScene, ListRequest, MemberType, NeedName,
    OnjobTransferRequest, OwnerFilter, StatusFilter, TransferRequest,
};
use wecom_groupchat_sim::{ChatData, CompanyData, DataSource, StaffData};

use crate::common::*;

fn codes(failed: &Option<Vec<FailedChat>>) -> Vec<(String, i64)> {
    failed.iter().flatten().map(|f| (f.chat_id.clone(), f.errcode.unwrap_or(0))).collect()
}

#[tokio::test]
async fn transfer_moves_resigned_chats_through_transferring_to_transferred() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let old = &hints.resigned_owners[0];
    let chats: Vec<String> = old.chat_ids[..3].to_vec();
    let new_owner = hints.eligible_new_owners[0].clone();

    let response = client.transfer(&TransferRequest::new(&chats, &new_owner)).await.unwrap();
    assert!(codes(&response.failed_chat_list).is_empty());
    // In progress: listed as transferring, still owned by the resigned owner.
    let transferring: Vec<String> = client
        .list_stream(ListRequest::new(100).status_filter(StatusFilter::Transferring))
        .map_ok(|c| c.chat_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(transferring, chats);
    assert_eq!(sim.group_chat(&chats[0]).unwrap().owner.as_deref(), Some(old.userid.as_str()));

    assert_eq!(sim.settle_transfers(), 3);
    for chat in &chats {
        assert_eq!(sim.chat_status(chat), Some(ChatStatus::Transferred));
        assert_eq!(sim.group_chat(chat).unwrap().owner.as_deref(), Some(new_owner.as_str()));
    }
    let owned = client
        .list(&ListRequest::new(1000).owner_filter(OwnerFilter::new([new_owner.as_str()])))
        .await
        .unwrap()
        .group_chat_list
        .unwrap();
    assert!(chats.iter().all(|c| owned.iter().any(|o| &o.chat_id == c && o.status == Some(ChatStatus::Transferred))));
    // The resigned owner's remaining chats still await transfer.
    assert_eq!(
        sim.hints().resigned_owners.iter().find(|o| o.userid == old.userid).unwrap().chat_ids.len(),
        old.chat_ids.len() - 3
    );
}

#[tokio::test]
async fn transfers_settle_on_their_own() {
    let sim = start_with(config().transfer_settle(Duration::ZERO)).await;
    let hints = sim.hints();
    let chat = hints.resigned_owners[0].chat_ids[0].clone();
    let request = TransferRequest::new([chat.as_str()], &hints.eligible_new_owners[0]);
    client(&sim).transfer(&request).await.unwrap();
    assert_eq!(sim.chat_status(&chat), Some(ChatStatus::Transferred));
}

#[tokio::test]
async fn transfer_fails_per_chat_as_documented() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let resigned = hints.resigned_owners[0].chat_ids[0].clone();
    let active = hints
        .active_owners
        .iter()
        .find(|o| o.userid != hints.eligible_new_owners[0] && hints.eligible_new_owners.contains(&o.userid))
        .unwrap();
    let active_chat = active.chat_ids[0].clone();
    let new_owner = hints.eligible_new_owners[0].clone();
    let transferred: Vec<String> = client
        .list_stream(ListRequest::new(100).status_filter(StatusFilter::Transferred))
        .map_ok(|c| c.chat_id)
        .try_collect()
        .await
        .unwrap();
    let transferred: Vec<String> = transferred
        .into_iter()
        .filter(|c| sim.group_chat(c).unwrap().owner.as_deref() != Some(new_owner.as_str()))
        .collect();

    let chats = [resigned.as_str(), active_chat.as_str(), transferred[0].as_str(), "wrNoSuchChat", resigned.as_str()];
    let response = client.transfer(&TransferRequest::new(chats, &new_owner)).await.unwrap();
    assert_eq!(response.errcode, Some(0));
    assert_eq!(
        codes(&response.failed_chat_list),
        vec![
            (active_chat.clone(), 90500),
            (transferred[0].clone(), 90508),
            ("wrNoSuchChat".to_string(), 40050),
            (resigned.clone(), 90507),
        ]
    );
    let failed = response.failed_chat_list.unwrap();
    assert_eq!(failed[0].errmsg.as_deref(), Some("the owner of this chat is not resigned"));
    // Again while it is still in progress.
    let again = client.transfer(&TransferRequest::new([resigned.as_str()], &new_owner)).await.unwrap();
    assert_eq!(codes(&again.failed_chat_list), vec![(resigned.clone(), 90507)]);
    // Owner unchanged.
    let own = client.transfer(&TransferRequest::new([active_chat.as_str()], &active.userid)).await.unwrap();
    assert_eq!(codes(&own.failed_chat_list), vec![(active_chat, 90504)]);
}

#[tokio::test]
async fn the_new_owner_must_be_active_verified_and_allowed_customer_contact() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let chat = hints.resigned_owners[0].chat_ids[0].clone();
    let cases = [
        ("nobody".to_string(), 40003),
        (hints.resigned_staff[0].clone(), 40003),
        (hints.without_customer_contact[0].clone(), 84074),
        (hints.not_real_name[0].clone(), 40098),
    ];
    for (new_owner, code) in cases {
        let error = client.transfer(&TransferRequest::new([chat.as_str()], &new_owner)).await.unwrap_err();
        assert_eq!(error.code(), Some(code), "{new_owner}: {error}");
        let error = client.onjob_transfer(&OnjobTransferRequest::new([chat.as_str()], &new_owner)).await.unwrap_err();
        assert_eq!(error.code(), Some(code), "{new_owner}: {error}");
    }
    assert_eq!(sim.chat_status(&chat), Some(ChatStatus::Resigned));
    // Too many chats in one call.
    let raw = Raw::new(&sim).await;
    let many: Vec<String> = (0..101).map(|i| format!("wr{i}")).collect();
    let answer = raw.call("transfer", json!({"chat_id_list": many, "new_owner": hints.eligible_new_owners[0]})).await;
    assert_eq!(errcode(&answer), 40058);
    assert_eq!(errcode(&raw.call("transfer", json!({"chat_id_list": [], "new_owner": "x"})).await), 40058);
    assert_eq!(errcode(&raw.call("transfer", json!({"chat_id_list": ["a"]})).await), 40063);
}

pub fn company_with_one_big_resigned_owner(chats: usize) -> DataSource {
    let mut data = CompanyData::default();
    data.staff = vec![StaffData::new("old").resigned(true), StaffData::new("a"), StaffData::new("b")];
    data.chats = (0..chats).map(|i| ChatData::new(format!("wrBig{i:04}"), "old")).collect();
    DataSource::Data(Box::new(data))
}

#[tokio::test]
async fn at_most_300_chats_of_one_person_go_to_one_new_owner_per_day() {
    let sim = start_with(config().data(company_with_one_big_resigned_owner(305))).await;
    let client = client(&sim);
    let ids: Vec<String> = (0..305).map(|i| format!("wrBig{i:04}")).collect();
    let report = client.transfer_batched(TransferRequest::new(&ids, "a")).await.unwrap();
    assert_eq!(report.batches, 4);
    assert_eq!(report.succeeded().count(), 300);
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 5);
    assert!(failed.iter().all(|f| matches!(f.outcome, ItemOutcome::Failed { errcode: Some(45009), .. })));
    // Another new owner has a quota of its own.
    let rest: Vec<&str> = failed.iter().map(|f| f.id.as_str()).collect();
    let response = client.transfer(&TransferRequest::new(rest, "b")).await.unwrap();
    assert!(codes(&response.failed_chat_list).is_empty());
}

#[tokio::test]
async fn onjob_transfer_moves_active_chats_at_most_twice_in_90_days() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let from = hints.active_owners.iter().find(|o| hints.eligible_new_owners.contains(&o.userid)).unwrap().clone();
    let others: Vec<&String> = hints.eligible_new_owners.iter().filter(|u| **u != from.userid).collect();
    let chat = from.chat_ids[0].clone();

    let response = client.onjob_transfer(&OnjobTransferRequest::new([chat.as_str()], others[0])).await.unwrap();
    assert!(codes(&response.failed_chat_list).is_empty());
    // On-the-job transfers take effect at once and keep the status.
    assert_eq!(sim.group_chat(&chat).unwrap().owner.as_deref(), Some(others[0].as_str()));
    let same = client.onjob_transfer(&OnjobTransferRequest::new([chat.as_str()], others[0])).await.unwrap();
    assert_eq!(codes(&same.failed_chat_list), vec![(chat.clone(), 90504)]);
    client.onjob_transfer(&OnjobTransferRequest::new([chat.as_str()], others[1])).await.unwrap();
    let third = client.onjob_transfer(&OnjobTransferRequest::new([chat.as_str()], others[2])).await.unwrap();
    assert_eq!(codes(&third.failed_chat_list), vec![(chat.clone(), 40128)]);
    assert_eq!(sim.group_chat(&chat).unwrap().owner.as_deref(), Some(others[1].as_str()));

    // Chats of resigned owners go through `transfer` instead.
    let resigned = hints.resigned_owners[0].chat_ids[0].clone();
    let response = client.onjob_transfer(&OnjobTransferRequest::new([resigned.as_str()], others[0])).await.unwrap();
    assert_eq!(codes(&response.failed_chat_list), vec![(resigned, 90502)]);
}

#[tokio::test]
async fn resigning_staff_puts_their_chats_up_for_transfer() {
    let sim = start().await;
    let hints = sim.hints();
    let owner = hints.active_owners[0].clone();
    assert!(sim.resign(&owner.userid));
    assert!(!sim.resign("nobody"));
    let after = sim.hints();
    let listed = after.resigned_owners.iter().find(|o| o.userid == owner.userid).unwrap();
    assert!(!listed.chat_ids.is_empty());
    assert!(listed.chat_ids.iter().all(|c| sim.chat_status(c) == Some(ChatStatus::Resigned)));
}

/// The members with this userid.
fn entries<'a>(chat: &'a wecom_groupchat::types::GroupChat, userid: &str) -> Vec<&'a GroupChatMember> {
    chat.member_list.iter().flatten().filter(|m| m.userid.as_deref() == Some(userid)).collect()
}

#[tokio::test]
async fn the_new_owner_joins_the_chat_when_ownership_moves() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let get = |chat: String| {
        let client = client.clone();
        async move { client.get(&GetRequest::new(chat).need_name(NeedName::Yes)).await.unwrap().group_chat }
    };

    // transfer: a new owner who is not in the chat joins it when the transfer settles.
    let chat = hints.resigned_owners[0].chat_ids[0].clone();
    let before = get(chat.clone()).await;
    let new_owner = hints.eligible_new_owners.iter().find(|u| entries(&before, u).is_empty()).unwrap().clone();
    client.transfer(&TransferRequest::new([chat.as_str()], &new_owner)).await.unwrap();
    assert!(entries(&get(chat.clone()).await, &new_owner).is_empty(), "not before it settles");
    let settled_at = sim.now();
    sim.settle_transfers();
    let after = get(chat.clone()).await;
    assert_eq!(after.owner.as_deref(), Some(new_owner.as_str()));
    let joined = entries(&after, &new_owner);
    assert_eq!(joined.len(), 1);
    let member = joined[0];
    assert_eq!(member.member_type, Some(MemberType::Internal));
    assert_eq!(member.join_scene, Some(JoinScene::DirectInvite));
    assert!(member.name.as_deref().is_some_and(|n| !n.is_empty()));
    let join_time = member.join_time.unwrap();
    assert!(join_time >= after.create_time.unwrap() && (settled_at..=sim.now()).contains(&join_time));
    assert_eq!(after.member_list.as_ref().unwrap().len(), before.member_list.as_ref().unwrap().len() + 1);
    assert_ne!(after.member_version, before.member_version);
    assert!(after.admin_list.iter().flatten().all(|a| a.userid.as_deref() != Some(new_owner.as_str())));

    // onjob_transfer: at once. A new owner who is already a member is not listed twice.
    let mut moved = 0;
    for owner in hints.active_owners.iter().filter(|o| !hints.resigned_staff.contains(&o.userid)) {
        let chat = owner.chat_ids[0].clone();
        let before = get(chat.clone()).await;
        let Some(new_owner) = hints.eligible_new_owners.iter().find(|u| **u != owner.userid) else { continue };
        let was_member = !entries(&before, new_owner).is_empty();
        let response = client.onjob_transfer(&OnjobTransferRequest::new([chat.as_str()], new_owner)).await.unwrap();
        assert!(codes(&response.failed_chat_list).is_empty());
        let after = get(chat).await;
        assert_eq!(after.owner.as_ref(), Some(new_owner));
        assert_eq!(entries(&after, new_owner).len(), 1, "exactly once");
        let added = usize::from(!was_member);
        assert_eq!(after.member_list.unwrap().len(), before.member_list.unwrap().len() + added);
        moved += 1;
        if moved == 10 {
            break;
        }
    }
    assert_eq!(moved, 10);
}
