use std::collections::HashSet;

use serde_json::json;
use wecom_groupchat::types::{
    AddJoinWayRequest, AutoCreateRoom, DelJoinWayRequest, GetJoinWayRequest, JoinWayScene, UpdateJoinWayRequest,
};

use crate::common::*;

#[tokio::test]
async fn join_ways_are_added_read_overwritten_and_deleted() {
    let sim = start().await;
    let client = client(&sim);
    let chats: Vec<String> = sim.hints().active_owners[0].chat_ids.iter().take(2).cloned().collect();
    let long_remark = "备注".repeat(20);
    let add = AddJoinWayRequest::new(JoinWayScene::QrCode, &chats)
        .remark(&long_remark)
        .room_base_name("销售客服群")
        .room_base_id(10)
        .state("klsdup3kj3s1")
        .mark_source(true);
    let config_id = client.add_join_way(&add).await.unwrap().config_id;
    assert_eq!(config_id.len(), 32);

    let way = client.get_join_way(&GetJoinWayRequest::new(&config_id)).await.unwrap().join_way;
    assert_eq!(way.config_id, config_id);
    assert_eq!(way.scene, Some(JoinWayScene::QrCode));
    assert_eq!(way.remark.as_deref().map(|r| r.chars().count()), Some(30), "remark cut to 30 characters");
    assert!(long_remark.starts_with(way.remark.as_deref().unwrap()));
    assert_eq!(way.auto_create_room, Some(AutoCreateRoom::Yes), "server default");
    assert_eq!(way.room_base_name.as_deref(), Some("销售客服群"));
    assert_eq!(way.room_base_id, Some(10));
    assert_eq!(way.chat_id_list.as_ref(), Some(&chats));
    assert_eq!(way.state.as_deref(), Some("klsdup3kj3s1"));
    assert_eq!(way.mark_source, Some(true));
    assert!(way.qr_code.as_deref().is_some_and(|u| u.starts_with("http")), "scene 2 has a QR code");
    assert_eq!(way.join_way_type, None, "join ways have no `type`");

    // Overwrite: what is left out is gone, not kept.
    let update = UpdateJoinWayRequest::new(&config_id, JoinWayScene::MiniProgram, &chats[..1])
        .auto_create_room(AutoCreateRoom::No);
    client.update_join_way(&update).await.unwrap();
    let way = client.get_join_way(&GetJoinWayRequest::new(&config_id)).await.unwrap().join_way;
    assert_eq!(way.scene, Some(JoinWayScene::MiniProgram));
    assert_eq!(way.qr_code, None, "no QR code for scene 1");
    assert_eq!((way.remark, way.state, way.room_base_name, way.mark_source), (None, None, None, None));
    assert_eq!(way.auto_create_room, Some(AutoCreateRoom::No));
    assert_eq!(way.chat_id_list, Some(chats[..1].to_vec()));

    client.del_join_way(&DelJoinWayRequest::new(&config_id)).await.unwrap();
    let gone = client.get_join_way(&GetJoinWayRequest::new(&config_id)).await.unwrap_err();
    assert_eq!(gone.code(), Some(40058));
    let again = client.del_join_way(&DelJoinWayRequest::new(&config_id)).await.unwrap_err();
    assert_eq!(again.code(), Some(40058));
    let update_gone = client.update_join_way(&update).await.unwrap_err();
    assert_eq!(update_gone.code(), Some(40058));
}

#[tokio::test]
async fn join_way_limits_answer_documented_errcodes() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let chats: Vec<String> = sim.hints().resigned_owners[0].chat_ids.iter().take(6).cloned().collect();
    let add = |body| raw.call("add_join_way", body);
    assert_eq!(errcode(&add(json!({"scene": 2, "chat_id_list": chats})).await), 41091);
    assert_eq!(errcode(&add(json!({"scene": 2, "chat_id_list": chats[..5]})).await), 0);
    assert_eq!(errcode(&add(json!({"scene": 2, "chat_id_list": []})).await), 40058);
    assert_eq!(errcode(&add(json!({"scene": 3, "chat_id_list": chats[..1]})).await), 40058);
    assert_eq!(errcode(&add(json!({"scene": 1, "chat_id_list": ["wrNoSuchChat"]})).await), 40050);
    let state31 = "s".repeat(31);
    assert_eq!(errcode(&add(json!({"scene": 1, "chat_id_list": chats[..1], "state": state31})).await), 40058);
    let state30 = "状".repeat(30);
    assert_eq!(errcode(&add(json!({"scene": 1, "chat_id_list": chats[..1], "state": state30})).await), 0);
    let name41 = "n".repeat(41);
    assert_eq!(errcode(&add(json!({"scene": 1, "chat_id_list": chats[..1], "room_base_name": name41})).await), 40058);
    assert_eq!(errcode(&add(json!({"chat_id_list": chats[..1]})).await), 40063);

    let config_id = sim.hints().join_way_config_ids[0].clone();
    let update = json!({"config_id": config_id, "scene": 2, "chat_id_list": chats});
    assert_eq!(errcode(&raw.call("update_join_way", update).await), 41091);
    // The documented (newer) mark_source field is accepted and returned.
    let added = add(json!({"scene": 2, "chat_id_list": chats[..1], "mark_source": false})).await;
    let way = raw.call("get_join_way", json!({"config_id": added["config_id"]})).await;
    assert_eq!(way["join_way"]["mark_source"], false);
}

#[tokio::test]
async fn config_ids_are_unique_under_concurrency() {
    let sim = start().await;
    let before = sim.join_way_count();
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    let client = client(&sim);
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (client, chat) = (client.clone(), chat.clone());
            tokio::spawn(async move {
                let request = AddJoinWayRequest::new(JoinWayScene::QrCode, [chat]).remark(format!("r{i}"));
                client.add_join_way(&request).await.unwrap().config_id
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        assert!(ids.insert(task.await.unwrap()), "duplicate config id");
    }
    assert_eq!(sim.join_way_count(), before + 60);
}
