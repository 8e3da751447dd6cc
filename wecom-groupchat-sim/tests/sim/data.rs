use futures::TryStreamExt;
use wecom_groupchat::time::day_start;
use wecom_groupchat::types::{
    ChatStatus, GetJoinWayRequest, GetRequest, GroupChat, ListRequest, NeedName, StatusFilter,
};
use wecom_groupchat_sim::{CompanyData, DataSource, Scale, SimConfig, Simulator};

use crate::common::*;

fn example() -> DataSource {
    DataSource::File(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/company.yaml").into())
}

#[tokio::test]
async fn the_example_data_file_loads() {
    let sim = start_with(config().data(example())).await;
    let client = client(&sim);
    let chats: Vec<_> = client.list_stream(ListRequest::new(10)).try_collect().await.unwrap();
    assert_eq!(chats.len(), 4);
    let resigned = client.list(&ListRequest::new(10).status_filter(StatusFilter::Resigned)).await.unwrap();
    assert_eq!(resigned.group_chat_list.unwrap().len(), 2);
    let chat = client
        .get(&GetRequest::new("wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA").need_name(NeedName::Yes))
        .await
        .unwrap()
        .group_chat;
    assert_eq!(chat.owner.as_deref(), Some("LiSi"));
    assert_eq!(chat.notice.as_deref(), Some("文明沟通,拒绝脏话"));
    let members = chat.member_list.unwrap();
    assert_eq!(members[2].unionid.as_deref(), Some("ozynqsulJFCZ2z1aYeS8h-nuasdAAA"));
    assert_eq!(members[2].state.as_deref(), Some("klsdup3kj3s1"));
    assert_eq!(members[1].invitor.as_ref().map(|i| i.userid.as_deref().unwrap_or_default()), Some("LiSi"));
    assert_eq!(chat.admin_list.unwrap()[0].userid.as_deref(), Some("ZhangSan"));
    let way = client.get_join_way(&GetJoinWayRequest::new("9ad7fa5cdaa6511298498f979c472aaa")).await.unwrap();
    assert_eq!(way.join_way.room_base_id, Some(10));
    assert_eq!(sim.chat_status("wrOgQhDgAALPUthpRAKvl7mgiQRwAAA"), Some(ChatStatus::Transferred));
    let hints = sim.hints();
    assert_eq!(hints.eligible_new_owners, ["ZhangSan"]);
    assert_eq!(hints.without_customer_contact, ["WangWu"]);
    assert_eq!(hints.not_real_name, ["ZhaoLiu"]);
}

#[tokio::test]
async fn the_example_json_form_loads_too() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/company.yaml")).unwrap();
    let data = CompanyData::from_yaml_str(&yaml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("company.json");
    std::fs::write(&path, serde_json::to_string_pretty(&data).unwrap()).unwrap();
    let sim = start_with(config().data(DataSource::File(path))).await;
    assert_eq!(sim.hints().chats, 4);
    // Bad files are reported, naming the field.
    std::fs::write(dir.path().join("bad.yaml"), "staff: [{userid: a, resigend: true}]").unwrap();
    let error = Simulator::start(config().data(DataSource::File(dir.path().join("bad.yaml")))).await.unwrap_err();
    assert!(error.to_string().contains("resigend"), "{error}");
}

/// Every chat of a simulator, as `get` with names returns it.
async fn every_chat(sim: &Simulator) -> Vec<GroupChat> {
    let ids: Vec<String> =
        client(sim).list_stream(ListRequest::new(1000)).map_ok(|c| c.chat_id).try_collect().await.unwrap();
    ids.iter().map(|id| sim.group_chat(id).unwrap()).collect()
}

#[tokio::test]
async fn the_demo_company_depends_only_on_the_seed() {
    // The data is anchored to the day (UTC+8): two starts either side of midnight may differ, so try
    // again (at most twice) when the day changed in between.
    for _ in 0..3 {
        let a = start_with(SimConfig::default().seed(1)).await;
        let b = start_with(SimConfig::default().seed(1)).await;
        if day_start(a.now()) != day_start(b.now()) {
            continue;
        }
        assert_eq!(a.hints(), b.hints());
        assert_eq!(every_chat(&a).await, every_chat(&b).await, "times included");
        let c = start_with(SimConfig::default().seed(2)).await;
        assert_ne!(a.hints(), c.hints());
        let hints = a.hints();
        assert_eq!((hints.staff, hints.chats), (40, 300));
        assert_eq!(hints.resigned_staff.len(), 6);
        assert_eq!(hints.join_way_config_ids.len(), 3);
        // A start later the same day gives the same company too.
        let later = start_with(SimConfig::default().seed(1).clock_offset(60)).await;
        if day_start(later.now()) == day_start(a.now()) {
            assert_eq!(every_chat(&later).await, every_chat(&a).await);
        }
        return;
    }
    panic!("the day changed between every pair of starts");
}

#[tokio::test]
async fn no_demo_member_joins_before_the_chat_exists_or_in_the_future() {
    for seed in [1, 2, 20_201_127] {
        let sim = start_with(config().seed(seed)).await;
        let now = sim.now();
        let chats = every_chat(&sim).await;
        assert_eq!(chats.len(), 300);
        for chat in chats {
            let created = chat.create_time.unwrap();
            assert!(created <= now, "{}", chat.chat_id);
            for m in chat.member_list.unwrap() {
                let joined = m.join_time.unwrap();
                assert!(
                    created <= joined && joined <= now,
                    "{} {:?}: {created} ≤ {joined} ≤ {now}",
                    chat.chat_id,
                    m.userid
                );
            }
        }
    }
}

#[tokio::test]
async fn join_ways_in_data_files_follow_the_api_rules() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("scene: 1, chat_id_list: [c, c, c, c, c, c]", "chat_id_list"),
        ("scene: 2, chat_id_list: [c], state: 0123456789012345678901234567890", "state"),
        ("scene: 1, chat_id_list: [c], qr_code: 'https://example.com/qr'", "qr_code"),
    ];
    for (i, (way, field)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("company{i}.yaml"));
        let text = format!(
            "staff: [{{userid: a}}]\nchats: [{{chat_id: c, owner: a}}]\njoin_ways: [{{config_id: w1, {way}}}]\n"
        );
        std::fs::write(&path, text).unwrap();
        let error = Simulator::start(config().data(DataSource::File(path))).await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("join way `w1`") && message.contains(field), "{way}: {message}");
    }
}

#[tokio::test]
async fn large_generated_companies_serve_every_chat() {
    let scale = Scale::groups(10_000).large_group_members(500);
    let sim = start_with(config().data(DataSource::Scale(scale))).await;
    let client = client(&sim);
    let chats: Vec<_> = client.list_stream(ListRequest::new(1000)).try_collect().await.unwrap();
    assert_eq!(chats.len(), 10_000);
    let big = client.get(&GetRequest::new(&chats[0].chat_id)).await.unwrap().group_chat;
    assert_eq!(big.member_list.unwrap().len(), 500);
    let small = client.get(&GetRequest::new(&chats[1].chat_id)).await.unwrap().group_chat;
    assert_eq!(small.member_list.unwrap().len(), 3);
    assert_eq!(sim.hints().staff, 100);
}
