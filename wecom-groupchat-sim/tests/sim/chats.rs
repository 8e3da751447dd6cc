use std::collections::HashSet;

use futures::TryStreamExt;
use serde_json::json;
use wecom_groupchat::Error;
use wecom_groupchat::types::{
    ChatStatus, GetRequest, ListRequest, MemberType, NeedName, OpengidToChatidRequest, OwnerFilter, StatusFilter,
};

use crate::common::*;

#[tokio::test]
async fn list_pages_through_every_chat_exactly_once() {
    let sim = start().await;
    let client = client(&sim);
    let chats: Vec<_> = client.list_stream(ListRequest::new(37)).try_collect().await.unwrap();
    assert_eq!(chats.len(), sim.hints().chats);
    let ids: HashSet<_> = chats.iter().map(|c| c.chat_id.clone()).collect();
    assert_eq!(ids.len(), chats.len(), "no chat twice");
    assert_eq!(sim.calls("list"), 300_u64.div_ceil(37));
    // The last page says so with an empty cursor.
    let raw = Raw::new(&sim).await;
    let all = raw.call("list", json!({"limit": 1000})).await;
    assert_eq!(all["group_chat_list"].as_array().unwrap().len(), 300);
    assert_eq!(all["next_cursor"], "");
}

#[tokio::test]
async fn list_filters_by_status_and_owner() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let resigned_total: usize = hints.resigned_owners.iter().map(|o| o.chat_ids.len()).sum();
    let resigned: Vec<_> =
        client.list_stream(ListRequest::new(50).status_filter(StatusFilter::Resigned)).try_collect().await.unwrap();
    assert_eq!(resigned.len(), resigned_total);
    assert!(resigned.iter().all(|c| c.status == Some(ChatStatus::Resigned)));
    let transferred: Vec<_> =
        client.list_stream(ListRequest::new(50).status_filter(StatusFilter::Transferred)).try_collect().await.unwrap();
    assert!(!transferred.is_empty());
    assert!(transferred.iter().all(|c| c.status == Some(ChatStatus::Transferred)));
    let transferring = client.list(&ListRequest::new(50).status_filter(StatusFilter::Transferring)).await.unwrap();
    assert!(transferring.group_chat_list.unwrap_or_default().is_empty());

    let owner = &hints.resigned_owners[0];
    let request = ListRequest::new(7).owner_filter(OwnerFilter::new([owner.userid.as_str(), "nobody"]));
    let mine: Vec<String> = client.list_stream(request).map_ok(|c| c.chat_id).try_collect().await.unwrap();
    assert_eq!(mine, owner.chat_ids);
}

#[tokio::test]
async fn list_limits_and_cursors_are_checked() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    assert_eq!(errcode(&raw.call("list", json!({"limit": 0})).await), 40058);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1001})).await), 40058);
    assert_eq!(errcode(&raw.call("list", json!({"status_filter": 0})).await), 40063);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 5, "status_filter": 9})).await), 40058);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 5, "cursor": "forged"})).await), 40058);
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let answer = raw.call("list", json!({"limit": 5, "owner_filter": {"userid_list": many}})).await;
    assert_eq!(errcode(&answer), 40058);
    assert!(answer["errmsg"].as_str().unwrap().contains("owner_filter.userid_list"), "{answer}");
    // The client refuses to send what the server would refuse.
    let error = client(&sim).list(&ListRequest::new(0)).await.unwrap_err();
    assert!(matches!(error, Error::Validation { .. }), "{error}");
}

#[tokio::test]
async fn list_without_owner_filter_fails_above_1000_visible_people() {
    let sim = start_with(config().visible_staff(1001)).await;
    let client = client(&sim);
    let error = client.list(&ListRequest::new(10)).await.unwrap_err();
    assert_eq!(error.code(), Some(81017));
    let owner = sim.hints().active_owners[0].userid.clone();
    let page = client.list(&ListRequest::new(10).owner_filter(OwnerFilter::new([owner]))).await.unwrap();
    assert!(!page.group_chat_list.unwrap().is_empty());
}

#[tokio::test]
async fn get_returns_the_chat_and_names_only_when_asked() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let owner = &hints.resigned_owners[0];
    let chat_id = &owner.chat_ids[0];
    let plain = client.get(&GetRequest::new(chat_id)).await.unwrap().group_chat;
    assert_eq!(&plain.chat_id, chat_id);
    assert_eq!(plain.owner.as_deref(), Some(owner.userid.as_str()));
    assert!(plain.name.is_some() && plain.create_time.is_some() && plain.member_version.is_some());
    let members = plain.member_list.unwrap();
    assert_eq!(members[0].userid.as_ref(), Some(&owner.userid));
    assert_eq!(members[0].member_type, Some(MemberType::Internal));
    assert!(members.iter().all(|m| m.name.is_none()));
    assert!(members.iter().all(|m| m.join_time.is_some() && m.join_scene.is_some()));

    let named = client.get(&GetRequest::new(chat_id).need_name(NeedName::Yes)).await.unwrap().group_chat;
    assert!(named.member_list.unwrap().iter().all(|m| m.name.is_some()));

    // Across the demo: external members with unionids, inviters, join-way states.
    let mut seen = (false, false, false);
    for id in hints.resigned_owners.iter().flat_map(|o| &o.chat_ids) {
        for m in sim.group_chat(id).unwrap().member_list.unwrap() {
            seen.0 |= m.member_type == Some(MemberType::External) && m.unionid.is_some();
            seen.1 |= m.invitor.is_some();
            seen.2 |= m.state.is_some();
        }
    }
    assert_eq!(seen, (true, true, true));
}

#[tokio::test]
async fn get_of_an_unknown_chat_fails() {
    let sim = start().await;
    let error = client(&sim).get(&GetRequest::new("wrNoSuchChat")).await.unwrap_err();
    assert_eq!(error.code(), Some(40050));
    let raw = Raw::new(&sim).await;
    assert_eq!(errcode(&raw.call("get", json!({"chat_id": ""})).await), 40058);
    assert_eq!(errcode(&raw.call("get", json!({"need_name": 1})).await), 40063);
}

#[tokio::test]
async fn opengid_converts_to_a_chat_id() {
    let sim = start().await;
    let client = client(&sim);
    let hint = sim.hints().opengids[0].clone();
    let answer = client.opengid_to_chatid(&OpengidToChatidRequest::new(&hint.opengid)).await.unwrap();
    assert_eq!(answer.chat_id, hint.chat_id);
    let error = client.opengid_to_chatid(&OpengidToChatidRequest::new("oNoSuchGroup")).await.unwrap_err();
    assert_eq!(error.code(), Some(90511));
}

#[tokio::test]
async fn follow_user_list_names_the_staff_with_customer_contact_and_covers_the_81017_listing() {
    use wecom_groupchat::types::GetFollowUserListRequest;
    let visible = wecom_groupchat::api::VISIBLE_STAFF_WITHOUT_OWNER_FILTER as usize + 1;
    let sim = start_with(config().visible_staff(visible)).await;
    let client = client(&sim);
    let hints = sim.hints();
    let users = client.get_follow_user_list(&GetFollowUserListRequest::new()).await.unwrap().follow_user.unwrap();
    let set: HashSet<&str> = users.iter().map(String::as_str).collect();
    assert_eq!(set.len(), users.len(), "each userid once");
    assert!(hints.active_owners.iter().all(|o| set.contains(o.userid.as_str())));
    assert!(hints.without_customer_contact.iter().all(|u| !set.contains(u.as_str())));
    assert!(hints.resigned_staff.iter().all(|u| !set.contains(u.as_str())));

    // Without an owner filter the listing is refused; by batches of the followers and the resigned owners
    // (known from elsewhere) it covers every chat.
    let refused = client.list(&ListRequest::new(1000)).await.unwrap_err();
    assert_eq!(refused.code(), Some(wecom_groupchat::codes::TOO_MANY_ITEMS_REQUESTED));
    let mut owners = users.clone();
    owners.extend(hints.resigned_owners.iter().map(|o| o.userid.clone()));
    let mut listed = HashSet::new();
    for batch in owners.chunks(OwnerFilter::USERID_LIST_MAX_ITEMS) {
        let request = ListRequest::new(1000).owner_filter(OwnerFilter::new(batch.iter().map(String::as_str)));
        let page: Vec<_> = client.list_stream(request).try_collect().await.unwrap();
        listed.extend(page.into_iter().map(|c| c.chat_id));
    }
    assert_eq!(listed.len(), hints.chats);

    // On the wire: a GET with no body (a POST is taken too).
    let raw = Raw::new(&sim).await;
    let url = format!("{}{}?access_token={}", sim.base_url(), path("get_follow_user_list"), raw.token);
    let answer: serde_json::Value = raw.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&answer), 0);
    assert_eq!(answer["follow_user"].as_array().unwrap().len(), users.len());
    let posted = raw.call("get_follow_user_list", json!({})).await;
    assert_eq!(posted["follow_user"], answer["follow_user"]);
}
